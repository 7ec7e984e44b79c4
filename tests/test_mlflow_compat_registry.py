"""MLflow's model registry cases (tests/store/model_registry/test_sqlalchemy_store.py and the
registry parts of tests/tracking/test_client.py), ported as tables: sources, int versions,
aliases, ordering, tag limits, no-op deletes, descriptions."""

from __future__ import annotations

import time

import pytest
from compat_backend import is_mlflow, ml  # noqa: F401 - ml is a fixture

def _tick() -> None:
    """Wait for the millisecond clock to move, so timestamps order events (no sleeping: the
    loop ends as soon as the clock ticks, so the test cannot depend on machine load)."""
    start = time.time_ns() // 1_000_000
    while time.time_ns() // 1_000_000 <= start:
        pass


MLMODEL = "flavors:\n  python_function:\n    loader_module: mlflow.pyfunc.model\nmodel_uuid: abc\n"


def _model_folder(tmp_path, name="model"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "MLmodel").write_text(MLMODEL)
    (folder / "data.txt").write_text("weights")
    return folder


@pytest.fixture
def logged(ml, tmp_path):
    """A run holding a model folder at 'model'; returns the run."""
    folder = _model_folder(tmp_path)
    with ml.start_run() as run:
        ml.log_artifacts(str(folder), "model")
    return ml.get_run(run.info.run_id)


SOURCES = [  # the forms MLflow's docs and tests register from
    ("runs uri", lambda run, tmp: f"runs:/{run.info.run_id}/model"),
    ("artifact uri", lambda run, tmp: f"{run.info.artifact_uri}/model"),
]


@pytest.mark.parametrize("what, source", SOURCES, ids=[s[0] for s in SOURCES])
def test_create_model_version_from_a_run(ml, logged, tmp_path, what, source):
    client = ml.MlflowClient()
    client.create_registered_model("m")
    uri = source(logged, tmp_path)
    version = client.create_model_version("m", uri, run_id=logged.info.run_id, run_link="http://x")
    assert version.version == 1 and version.source == uri and version.run_id == logged.info.run_id


def test_create_model_version_from_a_local_folder(ml, tmp_path):
    client = ml.MlflowClient()
    client.create_registered_model("m")
    version = client.create_model_version("m", str(_model_folder(tmp_path, "local")))
    assert version.version == 1
    if not is_mlflow(ml):  # lighttrack copies the folder into the file: the version outlives it
        assert version.source.startswith("runs:/")
        assert "data.txt" in {f.path.split("/")[-1] for f in client.list_artifacts(version.run_id, "model")}


def test_create_model_version_from_an_external_uri(ml):
    client = ml.MlflowClient()
    client.create_registered_model("m")
    version = client.create_model_version("m", "s3://bucket/models/m/1")
    assert version.source == "s3://bucket/models/m/1" and version.version == 1
    if not is_mlflow(ml):
        with pytest.raises(ml.exceptions.MlflowException, match="offline"):
            ml.pyfunc.load_model("models:/m/1")


def test_versions_are_ints_and_both_spellings_are_accepted(ml, logged):
    client = ml.MlflowClient()
    client.create_registered_model("m")
    for _ in range(11):
        client.create_model_version("m", f"runs:/{logged.info.run_id}/model", run_id=logged.info.run_id)
    versions = client.search_model_versions("name = 'm'")
    assert max(v.version for v in versions) == 11
    assert client.get_model_version("m", "10").version == 10
    assert client.get_model_version("m", 10).version == 10
    client.set_registered_model_alias("m", "champ", "10")
    client.set_registered_model_alias("m", "prev", 9)
    assert client.get_registered_model("m").aliases == {"champ": 10, "prev": 9}
    assert client.get_model_version_by_alias("m", "champ").version == 10
    assert client.get_model_version("m", 10).aliases == ["champ"]


def test_model_versions_default_to_last_updated_first(ml, logged):
    client = ml.MlflowClient()
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", f"runs:/{logged.info.run_id}/model", run_id=logged.info.run_id)
        _tick()
    client.update_model_version("m", 1, description="touched last")
    order = [v.version for v in client.search_model_versions("name = 'm'")]
    assert order[0] == 1 and sorted(order) == [1, 2, 3]


REGISTERED_ORDERS = [  # test_search_registered_model_order_by
    (["name DESC"], ["c", "b", "a"]),
    (["name ASC"], ["a", "b", "c"]),
    (["timestamp DESC"], ["b", "c", "a"]),
    (["last_updated_timestamp ASC"], ["a", "c", "b"]),
]


@pytest.mark.parametrize("order_by, expected", REGISTERED_ORDERS)
def test_search_registered_models_order(ml, order_by, expected):
    client = ml.MlflowClient()
    for name in ("a", "c", "b"):
        client.create_registered_model(name)
        _tick()
    client.set_registered_model_tag("b", "touch", "1")  # b is the most recently updated
    assert [m.name for m in ml.search_registered_models(order_by=order_by)] == expected


def test_fluent_registry_searches(ml, logged):
    ml.register_model(f"runs:/{logged.info.run_id}/model", "fluent-model")
    assert [m.name for m in ml.search_registered_models(filter_string="name = 'fluent-model'")] == ["fluent-model"]
    found = ml.search_model_versions(filter_string=f"run_id = '{logged.info.run_id}'")
    assert [(v.name, v.version) for v in found] == [("fluent-model", 1)]


def test_search_model_versions_by_source_path(ml, logged):
    client = ml.MlflowClient()
    client.create_registered_model("m")
    source = f"runs:/{logged.info.run_id}/model"
    client.create_model_version("m", source, run_id=logged.info.run_id)
    found = client.search_model_versions(f"source_path = '{source}'")
    assert [v.version for v in found] == [1]


REGISTRY_TAG_LIMITS = [(100_000, True), (100_001, False)]  # MLflow 3.17: registry tags 100,000


@pytest.mark.parametrize("length, accepted", REGISTRY_TAG_LIMITS)
def test_registry_tag_limits(ml, logged, length, accepted):
    client = ml.MlflowClient()
    client.create_registered_model("m")
    client.create_model_version("m", f"runs:/{logged.info.run_id}/model", run_id=logged.info.run_id)
    for call in (lambda: client.set_registered_model_tag("m", "k", "x" * length),
                 lambda: client.set_model_version_tag("m", "1", "k", "x" * length)):
        if accepted:
            call()
        else:
            with pytest.raises(ml.exceptions.MlflowException) as info:
                call()
            assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_deleting_a_missing_registry_tag_is_a_no_op(ml, logged):
    client = ml.MlflowClient()
    client.create_registered_model("m")
    client.create_model_version("m", f"runs:/{logged.info.run_id}/model", run_id=logged.info.run_id)
    client.delete_registered_model_tag("m", "never-set")
    client.delete_model_version_tag("m", "1", "never-set")
    assert client.get_registered_model("m").tags == {}


def test_new_model_has_no_description(ml):
    client = ml.MlflowClient()
    assert client.create_registered_model("m").description is None
    assert client.get_registered_model("m").description is None


REGISTRY_ERRORS = [
    ("duplicate model", lambda c: [c.create_registered_model("x"), c.create_registered_model("x")],
     "RESOURCE_ALREADY_EXISTS"),
    ("missing model", lambda c: c.get_registered_model("nope"), "RESOURCE_DOES_NOT_EXIST"),
    ("missing version", lambda c: [c.create_registered_model("y"), c.get_model_version("y", 3)],
     "RESOURCE_DOES_NOT_EXIST"),
]


@pytest.mark.parametrize("what, call, code", REGISTRY_ERRORS, ids=[e[0] for e in REGISTRY_ERRORS])
def test_registry_error_codes(ml, what, call, code):
    with pytest.raises(ml.exceptions.MlflowException) as info:
        call(ml.MlflowClient())
    assert info.value.error_code == code
