"""``mlflow.tracking.fluent`` is lighttrack's fluent module itself (not a copy), so patching
or reading its state here is patching the real thing."""

import sys

from lighttrack import fluent as _fluent

sys.modules[__name__] = _fluent
