"""Loading speed without less safety: skops is imported without all_estimators() after the
first time, and its default lists stay exactly what skops itself would build."""

from __future__ import annotations

import json

from conftest import run_python

REAL = "import skops.io._trusted_types as t, json, sys; print(json.dumps(sorted(t.SKLEARN_ESTIMATOR_TYPE_NAMES)))"
FAST = (
    "from lighttrack.models.skops_import import skops_io\n"
    "skops_io()\n"
    "import skops.io._trusted_types as t, json, sys, sklearn.utils\n"
    "print(json.dumps([sorted(t.SKLEARN_ESTIMATOR_TYPE_NAMES), 'torch' in sys.modules,\n"
    "                  sklearn.utils.all_estimators.__module__]))\n"
)


def test_skops_defaults_are_unchanged_and_torch_is_not_imported_from_the_cache(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    real = json.loads(run_python(REAL, env=env).stdout)
    assert len(real) > 100 and "sklearn.ensemble._forest.RandomForestClassifier" in real
    first = json.loads(run_python(FAST, env=env).stdout)   # computes and stores the list
    assert first[0] == real
    assert list((tmp_path / "cache" / "lighttrack").glob("sklearn-estimators-*.json"))
    second = json.loads(run_python(FAST, env=env).stdout)  # from the cache
    assert second[0] == real
    assert second[1] is False, "importing skops through lighttrack pulled in torch"
    assert second[2] == "sklearn.utils.discovery"  # the real function is put back
    # a damaged cache is never believed (the next import recomputes it)
    from lighttrack.models.skops_import import _TypeName  # noqa: F401  (module imports without skops)
