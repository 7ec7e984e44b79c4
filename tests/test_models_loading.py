"""Loading speed without less safety: skops is imported without all_estimators() after the
first time, and its default lists stay exactly what skops itself would build."""

from __future__ import annotations

import json

from conftest import run_python

REAL = ("import skops.io._trusted_types as t, json, sys\n"
        "print(json.dumps([sorted(t.SKLEARN_ESTIMATOR_TYPE_NAMES), t.SCIPY_UFUNC_TYPE_NAMES]))\n")
FAST = (
    "from lighttrack.models.skops_import import skops_io\n"
    "skops_io()\n"
    "import skops.io._trusted_types as t, json, sys, sklearn.utils\n"
    "import skops.io._utils as u\n"
    "print(json.dumps([sorted(t.SKLEARN_ESTIMATOR_TYPE_NAMES), 'torch' in sys.modules,\n"
    "                  sklearn.utils.all_estimators.__module__, t.SCIPY_UFUNC_TYPE_NAMES,\n"
    "                  u.get_public_type_names.__module__]))\n"
)


def test_skops_defaults_are_unchanged_and_torch_is_not_imported_from_the_cache(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    real, ufuncs = json.loads(run_python(REAL, env=env).stdout)
    assert len(real) > 100 and "sklearn.ensemble._forest.RandomForestClassifier" in real
    assert len(ufuncs) > 100 and any(name.endswith(".expit") for name in ufuncs)
    first = json.loads(run_python(FAST, env=env).stdout)   # computes and stores the lists
    assert first[0] == real and first[3] == ufuncs
    assert list((tmp_path / "cache" / "lighttrack").glob("sklearn-estimators-*.json"))
    assert list((tmp_path / "cache" / "lighttrack").glob("skops-public-names-*.json"))
    second = json.loads(run_python(FAST, env=env).stdout)  # from the cache
    assert second[0] == real and second[3] == ufuncs
    assert second[1] is False, "importing skops through lighttrack pulled in torch"
    assert second[2] == "sklearn.utils.discovery"  # the real functions are put back
    assert second[4] == "skops.io._utils"
    # a damaged cache is never believed (the next import recomputes it)
    from lighttrack.models.skops_import import _TypeName  # noqa: F401  (module imports without skops)
    for damaged in ("not json", '{"scipy.special:numpy.ufunc": [1, 2]}'):
        for file in (tmp_path / "cache" / "lighttrack").glob("skops-public-names-*.json"):
            file.write_text(damaged)
        again = json.loads(run_python(FAST, env=env).stdout)
        assert again[3] == ufuncs
