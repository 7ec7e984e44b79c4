"""A model file from anyone never decides what code runs (issue 9, section 1).

Every malicious file here is crafted for real: a skops model whose MLmodel lists ``posix.system``
or ``builtins.eval`` as trusted, a ``pickled_model`` pointing out of the folder, a model whose
hashes were deleted. Each test fails on the code before the loader decided trust itself.
"""

from __future__ import annotations

import builtins
import os
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import lighttrack.pyfunc
import lighttrack.sklearn
from lighttrack.cli import cli
from lighttrack.errors import ModelError
from lighttrack.models.trust import UntrustedModel, is_allowed_class, skops_types

X = np.random.default_rng(0).random((30, 3))
Y = (X[:, 0] > 0.5).astype(int)


def _edit_mlmodel(folder: Path, change) -> None:
    meta = yaml.safe_load((folder / "MLmodel").read_text())
    change(meta)
    (folder / "MLmodel").write_text(yaml.safe_dump(meta))


@pytest.fixture(scope="module")
def forest():
    return RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, Y)


def test_the_allow_list_admits_classes_never_functions_or_file_readers():
    for name in ("sklearn.tree._tree.Tree", "numpy.ndarray", "numpy.dtype", "numpy.float64",
                 "sklearn.ensemble._forest.RandomForestClassifier", "scipy.sparse._csr.csr_matrix",
                 "numpy.random._generator.Generator", "builtins.dict"):
        assert is_allowed_class(name), name
    for name in ("builtins.eval", "builtins.exec", "posix.system", "os.system", "numpy.load",
                 "numpy.lib._npyio_impl.load", "numpy.memmap", "numpy.log1p", "scipy.LowLevelCallable",
                 "sklearn.utils._testing.TempMemmap", "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
                 "numpy", "sklearn", "subprocess.Popen", "functools.partial"):
        assert not is_allowed_class(name), name


def test_a_skops_model_whose_mlmodel_trusts_os_system_is_refused_naming_it(tmp_path):
    # Saving records the types found (posix.system) as MLflow's skops_trusted_types: the file
    # "trusts" a shell command runner on its own. Loading must not take that record's word.
    path = tmp_path / "evil"
    lighttrack.sklearn.save_model(FunctionTransformer(func=os.system, validate=False).fit(X), path,
                                  pyfunc_predict_fn="transform")
    recorded = yaml.safe_load((path / "MLmodel").read_text())["flavors"]["sklearn"]["skops_trusted_types"]
    assert "posix.system" in recorded
    with pytest.raises(UntrustedModel, match=r"posix\.system.*its MLmodel lists posix\.system as trusted"):
        lighttrack.sklearn.load_model(str(path))
    with pytest.raises(UntrustedModel, match="posix.system"):
        lighttrack.pyfunc.load_model(str(path))
    # Named explicitly by the caller, it loads, and it really is a shell runner.
    marker = tmp_path / "ran"
    loaded = lighttrack.sklearn.load_model(str(path), trusted_types=["posix.system"])
    loaded.transform(f"touch {marker}")
    assert marker.exists()


def test_a_hand_edited_schema_naming_builtins_eval_is_refused(tmp_path, forest):
    # Craft the file the way an attacker would: the types list in MLmodel and a schema that
    # rebuilds builtins.eval, with fresh hashes so integrity checks pass.
    import io
    import json
    import zipfile

    from lighttrack.models.mlmodel import Model, record_hashes

    path = tmp_path / "m"
    lighttrack.sklearn.save_model(FunctionTransformer(func=np.log1p).fit(X), path, pyfunc_predict_fn="transform")
    raw = (path / "model.skops").read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(members["schema.json"])

    def swap(node):
        if isinstance(node, dict):
            if node.get("__class__") == "log1p":
                node.update({"__class__": "eval", "__module__": "builtins"})
            for value in node.values():
                swap(value)
        elif isinstance(node, list):
            for value in node:
                swap(value)

    swap(schema)
    members["schema.json"] = json.dumps(schema).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    (path / "model.skops").write_bytes(out.getvalue())
    assert "builtins.eval" in skops_types(out.getvalue())
    _edit_mlmodel(path, lambda m: m["flavors"]["sklearn"].update(skops_trusted_types=["builtins.eval"]))
    meta = Model.load(path)
    record_hashes(meta, path)
    meta.save(path / "MLmodel")
    with pytest.raises(UntrustedModel, match="builtins.eval"):
        lighttrack.pyfunc.load_model(str(path))


def test_sklearn_estimators_load_with_no_trust_record_at_all(tmp_path, forest):
    """A forest's Tree, a boosted ensemble's loss, a scaler pipeline: all allow-listed classes."""
    models = {"forest": forest, "boost": GradientBoostingClassifier(n_estimators=3).fit(X, Y),
              "pipe": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)}
    for name, model in models.items():
        lighttrack.sklearn.save_model(model, tmp_path / name)
        _edit_mlmodel(tmp_path / name, lambda m: m["flavors"]["sklearn"].pop("skops_trusted_types"))
        from lighttrack.models.mlmodel import Model, record_hashes

        meta = Model.load(tmp_path / name)
        record_hashes(meta, tmp_path / name)
        meta.save(tmp_path / name / "MLmodel")
        loaded = lighttrack.sklearn.load_model(str(tmp_path / name))
        assert np.array_equal(loaded.predict(X), model.predict(X)), name


@pytest.mark.parametrize("escape", ["../../evil.skops", "/tmp/evil.skops", "sub/../../evil.skops"])
def test_pickled_model_pointing_outside_the_folder_is_refused(tmp_path, forest, escape):
    base = tmp_path / "a" / "b"
    base.mkdir(parents=True)
    lighttrack.sklearn.save_model(forest, base / "m")
    evil = LogisticRegression().fit(X, 1 - Y)  # a different model: loading it would be silent
    lighttrack.sklearn.save_model(evil, tmp_path / "other")
    target = (base / "m" / escape).resolve() if not escape.startswith("/") else Path(escape)
    if not escape.startswith("/"):
        (tmp_path / "other" / "model.skops").replace(target)
    _edit_mlmodel(base / "m", lambda m: m["flavors"]["sklearn"].update(pickled_model=escape))
    with pytest.raises(ModelError, match="outside the model folder|not a relative path"):
        lighttrack.sklearn.load_model(str(base / "m"))
    with pytest.raises(ModelError, match="outside the model folder|not a relative path"):
        lighttrack.pyfunc.load_model(str(base / "m"), verify=False)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path, forest):
    lighttrack.sklearn.save_model(forest, tmp_path / "m")
    lighttrack.sklearn.save_model(LogisticRegression().fit(X, Y), tmp_path / "other")
    (tmp_path / "m" / "link.skops").symlink_to(tmp_path / "other" / "model.skops")
    _edit_mlmodel(tmp_path / "m", lambda m: m["flavors"]["sklearn"].update(pickled_model="link.skops"))
    with pytest.raises(ModelError, match="outside the model folder"):
        lighttrack.sklearn.load_model(str(tmp_path / "m"))


def test_a_path_inside_the_folder_but_not_hashed_is_refused(tmp_path, forest):
    lighttrack.sklearn.save_model(forest, tmp_path / "m")
    lighttrack.sklearn.save_model(LogisticRegression().fit(X, 1 - Y), tmp_path / "other")
    (tmp_path / "other" / "model.skops").replace(tmp_path / "m" / "planted.skops")
    _edit_mlmodel(tmp_path / "m", lambda m: m["flavors"]["sklearn"].update(pickled_model="planted.skops"))
    with pytest.raises(ModelError, match="file_hashes does not cover"):
        lighttrack.sklearn.load_model(str(tmp_path / "m"))


def test_deleting_the_hashes_does_not_switch_verification_off(tmp_path, forest):
    lighttrack.sklearn.save_model(forest, tmp_path / "m")
    data = bytearray((tmp_path / "m" / "model.skops").read_bytes())
    _edit_mlmodel(tmp_path / "m", lambda m: m.pop("file_hashes"))
    with pytest.raises(ModelError, match="records no file hashes.*verify=False"):
        lighttrack.sklearn.load_model(str(tmp_path / "m"))
    with pytest.raises(ModelError, match="records no file hashes"):
        lighttrack.pyfunc.load_model(str(tmp_path / "m"))
    with pytest.warns(UserWarning, match="without checking its files' hashes"):
        loaded = lighttrack.sklearn.load_model(str(tmp_path / "m"), verify=False)
    assert np.array_equal(loaded.predict(X), forest.predict(X))
    assert data  # the file itself was untouched: only the record went


def test_cli_predict_refuses_untrusted_types_and_unhashed_models_in_one_line(tmp_path):
    path = tmp_path / "evil"
    lighttrack.sklearn.save_model(FunctionTransformer(func=builtins.abs, validate=False).fit(X), path,
                                  pyfunc_predict_fn="transform")
    rows = tmp_path / "rows.json"
    rows.write_text('{"inputs": [[-1.0, 2.0]]}')
    runner = CliRunner()
    base = ["--db", str(tmp_path / "t.db"), "models", "predict", "-m", str(path), "-i", str(rows)]
    refused = runner.invoke(cli, base)
    assert refused.exit_code == 1
    assert "builtins.abs" in refused.output and "--trust" in refused.output
    assert "Traceback" not in refused.output and len(refused.output.strip().splitlines()) == 1
    trusted = runner.invoke(cli, base + ["--trust", "builtins.abs"])
    assert trusted.exit_code == 0, trusted.output
    assert '"predictions": [[1.0, 2.0]]' in trusted.output

    _edit_mlmodel(path, lambda m: m.pop("file_hashes"))
    unhashed = runner.invoke(cli, base + ["--trust", "builtins.abs"])
    assert unhashed.exit_code == 1 and "--no-verify" in unhashed.output
    assert "Traceback" not in unhashed.output
    loaded = runner.invoke(cli, base + ["--trust", "builtins.abs", "--no-verify"])
    assert loaded.exit_code == 0, loaded.output
    assert "without checking" in loaded.output  # the warning reaches the user


def test_the_skops_floor_has_the_code_execution_fixes():
    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    (skops,) = [d for d in pyproject["project"]["dependencies"] if d.startswith("skops")]
    floor = tuple(int(p) for p in re.search(r">=\s*([\d.]+)", skops).group(1).split("."))
    assert floor >= (0, 12, 0), skops  # CVE-2025-54412/54413 were fixed in 0.12.0


def test_a_skops_model_is_read_once_and_only_what_needs_skops_goes_to_skops(tmp_path, monkeypatch):
    """One parse of the schema gives both the type list the loader checks and what lighttrack's
    reader builds from; skops is used only for a file with parts the reader leaves to it (here
    a numpy function, which the caller must name), and then audits it too."""
    from lighttrack.models import skops_import, skops_reader

    parsed = []
    real = skops_reader.SkopsFile.__init__
    monkeypatch.setattr(skops_reader.SkopsFile, "__init__",
                        lambda self, *a, **k: parsed.append(1) or real(self, *a, **k))
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(X, Y)
    lighttrack.sklearn.save_model(forest, tmp_path / "forest")  # saving is skops' job
    monkeypatch.setattr(skops_import, "skops_io", lambda: pytest.fail("skops was used to load"))
    parsed.clear()
    assert lighttrack.sklearn.load_model(tmp_path / "forest").predict(X).tolist() == forest.predict(X).tolist()
    assert parsed == [1]
    monkeypatch.undo()

    with_function = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(X, Y)
    lighttrack.sklearn.save_model(with_function, tmp_path / "function")
    with pytest.raises(UntrustedModel, match="numpy.log1p"):
        lighttrack.sklearn.load_model(tmp_path / "function")
    loaded = lighttrack.sklearn.load_model(tmp_path / "function", trusted_types=["numpy.log1p"])
    assert loaded.predict(X).tolist() == with_function.predict(X).tolist()
