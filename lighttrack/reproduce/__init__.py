"""The code as it was: what a run needs beyond its git commit to be rebuilt and rerun.

MLflow records the commit only, so a run started from a dirty working tree cannot be
reproduced. lighttrack also stores, as the run's artifact ``lighttrack-source.tar``, the
uncommitted diff against that commit and the untracked files (bounded, configurable), and
tags the run with ``lighttrack.source.snapshot``. ``snapshot`` takes it when a run starts;
``rebuild`` turns it back into a working tree (``lighttrack runs checkout``, and
``lighttrack run --version RUN``).

One tar, not a folder of artifacts: a sweep links the same snapshot to every run it starts,
and one artifact row per run is what keeps that off the 1,000-run budget (each row costs
about as much as a tenth of a whole run).
"""

from __future__ import annotations

SNAPSHOT_ARTIFACT = "lighttrack-source.tar"
SNAPSHOT_TAG = "lighttrack.source.snapshot"
#: Members of the tar.
MANIFEST = "manifest.json"
DIFF = "diff.patch"
UNTRACKED_DIR = "untracked"
