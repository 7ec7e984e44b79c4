"""The core stays light: importing lighttrack loads no Textual, sklearn, numpy, pandas or tui,
and the TUI never speaks SQL."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT, run_python

HEAVY = ("textual", "sklearn", "numpy", "pandas", "tui", "sqlite_utils", "rich", "click")


def test_import_lighttrack_loads_nothing_heavy():
    code = (
        "import sys, lighttrack\n"
        "lighttrack.set_tracking_uri\n"  # touching a lazy export must not pull them in either
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    assert run_python(code).stdout.strip() == ""


def test_logging_a_run_loads_no_ui_or_ml_libraries(tmp_path):
    code = (
        "import sys, lighttrack as mlflow\n"
        f"mlflow.set_tracking_uri({str(tmp_path / 'x.db')!r})\n"
        "with mlflow.start_run():\n"
        "    mlflow.log_param('a', 1); mlflow.log_metric('m', 1.0)\n"
        "print(','.join(m for m in ('textual', 'sklearn', 'tui', 'pandas') if m in sys.modules))\n"
    )
    assert run_python(code).stdout.strip() == ""


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_source_never_imports_tui_or_textual():
    for path in (ROOT / "lighttrack").rglob("*.py"):
        bad = {n for n in _imports(path) if n.split(".")[0] in ("tui", "textual")}
        assert not bad, f"{path} imports {bad}"


def test_tui_never_runs_sql():
    for path in (ROOT / "tui").rglob("*.py"):
        imports = _imports(path)
        assert not {n for n in imports if n.split(".")[0] in ("sqlite3", "sqlite_utils")}, path
        assert not {n for n in imports if n.startswith("lighttrack.store")}, f"{path} reaches into the store"


FRAMEWORKS = ("xgboost", "lightgbm", "statsmodels", "keras", "tensorflow", "torch", "lightning")


def test_framework_flavours_import_no_framework_until_used():
    """``import lighttrack`` and even ``import lighttrack.xgboost`` (and the others) load no ML
    framework: it is imported when a model is saved or loaded, or autolog is turned on."""
    code = (
        "import sys, lighttrack\n"
        "import lighttrack.xgboost, lighttrack.lightgbm, lighttrack.statsmodels, lighttrack.keras\n"
        "import lighttrack.tensorflow, lighttrack.autologging\n"
        "lighttrack.xgboost.save_model, lighttrack.keras.autolog\n"
        f"print(','.join(m for m in {FRAMEWORKS!r} if m in sys.modules))\n"
    )
    assert run_python(code).stdout.strip() == ""
