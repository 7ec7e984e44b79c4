"""``code_paths`` reach sys.path on load only where the caller opted into running model code.

Each load runs in a fresh interpreter whose sys.path does not hold the source folder, so the
model's class can only come from the model's own ``code/`` copy.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_python

pytest.importorskip("sklearn")

_ESTIMATOR = '''
from sklearn.base import BaseEstimator


class Doubler(BaseEstimator):
    """Predicts twice the first column; its module exists only in the model's code_paths."""

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        import lt_codepath_helper  # imported lazily, after the temporary model copy is gone

        return lt_codepath_helper.twice([row[0] for row in X])
'''
_HELPER = '''
def twice(values):
    return [2 * v for v in values]
'''


@pytest.fixture
def logged(tmp_path: Path) -> dict[str, str]:
    """A pickled Doubler logged with its two modules as code_paths (source folder deleted after)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "lt_codepath_est.py").write_text(_ESTIMATOR)
    (src / "lt_codepath_helper.py").write_text(_HELPER)
    db = tmp_path / "code.db"
    out = run_python(textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(src)!r})
        import lighttrack, lighttrack.sklearn
        from lt_codepath_est import Doubler
        lighttrack.set_tracking_uri({str(db)!r})
        with lighttrack.start_run():
            info = lighttrack.sklearn.log_model(
                Doubler().fit([[1.0]]), name="model", serialization_format="pickle",
                code_paths=[{str(src / "lt_codepath_est.py")!r}, {str(src / "lt_codepath_helper.py")!r}])
        print(json.dumps({{"uri": info.model_uri}}))
    """))
    for file in src.iterdir():
        file.unlink()
    return {"db": str(db), "uri": json.loads(out.stdout.strip().splitlines()[-1])["uri"]}


def _load(logged: dict[str, str], loader: str, allow: bool) -> dict:
    out = run_python(textwrap.dedent(f"""
        import json, sys
        import lighttrack, lighttrack.pyfunc, lighttrack.sklearn
        lighttrack.set_tracking_uri({logged['db']!r})
        before = list(sys.path)
        result = {{}}
        try:
            model = {loader}({logged['uri']!r}, allow_pickle={allow})
            result["prediction"] = [float(v) for v in model.predict([[1.5], [4.0]])]
        except Exception as exc:
            result["error"] = f"{{type(exc).__name__}}: {{exc}}"
        result["added"] = [p for p in sys.path if p not in before]
        result["importable"] = "lt_codepath_est" in sys.modules
        result["files"] = sorted(f.name for p in result["added"] for f in __import__("pathlib").Path(p).iterdir())
        print(json.dumps(result))
    """))
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("loader", ["lighttrack.sklearn.load_model", "lighttrack.pyfunc.load_model"])
def test_pickled_model_whose_class_is_in_code_paths_loads_with_allow_pickle(logged, loader):
    result = _load(logged, loader, allow=True)
    assert result.get("error") is None
    assert result["prediction"] == [3.0, 8.0]
    # one private copy of the checked code/ folder (the temporary download is gone by predict)
    assert len(result["added"]) == 1 and "lighttrack-load-" not in result["added"][0]
    assert result["files"] == ["lt_codepath_est.py", "lt_codepath_helper.py"]
    assert not Path(result["added"][0]).exists()  # removed when that interpreter exited


def test_without_allow_pickle_the_refusal_is_unchanged_and_sys_path_untouched(logged):
    from lighttrack.pyfunc import refuse_pickle

    result = _load(logged, "lighttrack.sklearn.load_model", allow=False)
    assert result["added"] == [] and not result["importable"]
    assert result["error"].startswith("ModelError: ")
    folder_message = result["error"][len("ModelError: "):]
    expected = str(refuse_pickle("the sklearn model at X"))
    assert folder_message.endswith(expected[len("the sklearn model at X"):])
    assert folder_message.startswith("the sklearn model at ")


def test_skops_models_never_put_code_on_sys_path(tmp_path):
    """A skops model builds only allow-listed types: its code folder stays off sys.path."""
    src = tmp_path / "lt_codepath_skops.py"
    src.write_text("VALUE = 1\n")
    out = run_python(textwrap.dedent(f"""
        import json, sys
        from sklearn.linear_model import LinearRegression
        import lighttrack.sklearn
        lighttrack.sklearn.save_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), {str(tmp_path / 'm')!r},
                                      code_paths=[{str(src)!r}])
        before = list(sys.path)
        lighttrack.sklearn.load_model({str(tmp_path / 'm')!r}, allow_pickle=True)
        print(json.dumps([p for p in sys.path if p not in before]))
    """))
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
