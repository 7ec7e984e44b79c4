"""The code as it was: what a run needs beyond its git commit to be rebuilt and rerun.

MLflow records the commit only, so a run started from a dirty working tree cannot be
reproduced. lighttrack also stores, as the run's artifacts under ``lighttrack-source/``, the
uncommitted diff against that commit and the untracked files (bounded, configurable), and
tags the run with ``lighttrack.source.snapshot``. ``snapshot`` takes it when a run starts;
``rebuild`` turns it back into a working tree (``lighttrack runs checkout``, and
``lighttrack run --version RUN``).
"""

from __future__ import annotations

SNAPSHOT_DIR = "lighttrack-source"
SNAPSHOT_TAG = "lighttrack.source.snapshot"
MANIFEST = f"{SNAPSHOT_DIR}/manifest.json"
DIFF = f"{SNAPSHOT_DIR}/diff.patch"
UNTRACKED_DIR = f"{SNAPSHOT_DIR}/untracked"
