"""Old home of scikit-learn autologging, kept so ``import lighttrack.sklearn_autolog`` works.

The code lives in ``lighttrack.sklearn.autologging`` (every flavour keeps its autolog beside it);
this name is the very same module object, so its state (patched ``fit`` methods) is shared.
"""

import sys

from lighttrack.sklearn import autologging as _autologging

sys.modules[__name__] = _autologging
