"""The model registry: models, versions, stages with history, aliases, tags, search, CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import lighttrack as mlflow
import lighttrack.sklearn
from lighttrack.errors import AlreadyExists, InvalidArgument, InvalidState, NotFound


@pytest.fixture
def model_uris():
    """Three logged models (runs), as registry sources."""
    X, y = load_iris(return_X_y=True)
    uris = []
    for c in (0.1, 1.0, 10.0):
        with mlflow.start_run():
            model = LogisticRegression(C=c, max_iter=500).fit(X, y)
            info = mlflow.sklearn.log_model(model, name="model")
            uris.append(f"runs:/{info.run_id}/model")  # MLflow 2's form, which keeps working
    return uris


def test_register_versions_and_read_them_back(client, model_uris):
    v1 = mlflow.register_model(model_uris[0], "clf", tags={"team": "a"})
    v2 = mlflow.register_model(model_uris[1], "clf")
    assert (v1.version, v2.version) == (1, 2) and v1.current_stage == "None"
    assert v1.run_id == model_uris[0].split("/")[1] and v1.source == model_uris[0] and v1.tags == {"team": "a"}
    model = client.get_registered_model("clf")
    assert [v.version for v in model.latest_versions] == [2]
    assert client.get_model_version_download_uri("clf", 2) == model_uris[1]
    with pytest.raises(AlreadyExists):
        client.create_registered_model("clf")
    with pytest.raises(NotFound, match="no version 9"):
        client.get_model_version("clf", 9)
    with pytest.raises(NotFound):
        client.get_registered_model("nope")
    with pytest.raises(NotFound, match="holds no model"):
        client.create_model_version("clf", f"runs:/{v1.run_id}/not-there")
    with pytest.raises(NotFound, match="no model folder"):  # a local path is copied in, so it must exist
        client.create_model_version("clf", "/some/local/path")


def test_stage_changes_archive_existing_and_keep_history(client, model_uris):
    for uri in model_uris:
        mlflow.register_model(uri, "clf")
    client.transition_model_version_stage("clf", 1, "production")
    assert client.get_model_version("clf", 1).current_stage == "Production"
    client.transition_model_version_stage("clf", 2, "Production", archive_existing_versions=True)
    assert client.get_model_version("clf", 1).current_stage == "Archived"
    client.transition_model_version_stage("clf", 3, "STAGING")
    latest = {v.current_stage: v.version for v in client.get_latest_versions("clf")}
    assert latest == {"Archived": 1, "Production": 2, "Staging": 3}
    assert [v.version for v in client.get_latest_versions("clf", ["Production"])] == [2]
    client.transition_model_version_stage("clf", 1, "None")  # reactivated
    with pytest.raises(InvalidArgument, match="None, Staging, Production, Archived"):
        client.transition_model_version_stage("clf", 1, "Live")
    stages = [(e.version, e.event, e.from_value, e.to_value) for e in client.get_model_history("clf")
              if e.event == "stage"]
    assert stages == [("1", "stage", "None", "Production"), ("1", "stage", "Production", "Archived"),
                      ("2", "stage", "None", "Production"), ("3", "stage", "None", "Staging"),
                      ("1", "stage", "Archived", "None")]
    assert all(e.user_id and e.timestamp for e in client.get_model_history("clf"))


def test_aliases(client, model_uris):
    for uri in model_uris[:2]:
        mlflow.register_model(uri, "clf")
    client.set_registered_model_alias("clf", "champion", 1)
    client.set_registered_model_alias("clf", "champion", 2)
    assert client.get_model_version_by_alias("clf", "champion").version == 2
    assert client.get_registered_model("clf").aliases == {"champion": 2}
    assert client.get_model_version("clf", 2).aliases == ["champion"]
    for bad in ("latest", "V3", "has space", "a/b"):
        with pytest.raises(InvalidArgument):
            client.set_registered_model_alias("clf", bad, 1)
    client.delete_registered_model_alias("clf", "champion")
    with pytest.raises(NotFound):
        client.get_model_version_by_alias("clf", "champion")
    events = [(e.event, e.alias, e.from_value, e.to_value) for e in client.get_model_history("clf")
              if e.alias]
    assert events == [("alias_set", "champion", None, "1"), ("alias_set", "champion", "1", "2"),
                      ("alias_removed", "champion", "2", None)]


def test_tags_descriptions_rename_and_delete(client, model_uris):
    mlflow.register_model(model_uris[0], "clf")
    client.set_registered_model_tag("clf", "owner", "ada")
    client.set_model_version_tag("clf", 1, "validated", "yes")
    client.update_registered_model("clf", "iris classifier")
    client.update_model_version("clf", 1, "first try")
    client.rename_registered_model("clf", "iris")
    model = client.get_registered_model("iris")
    assert model.tags == {"owner": "ada"} and model.description == "iris classifier"
    version = client.get_model_version("iris", 1)
    assert version.tags == {"validated": "yes"} and version.description == "first try"
    client.delete_model_version_tag("iris", 1, "validated")
    client.delete_registered_model_tag("iris", "owner")
    client.transition_model_version_stage("iris", 1, "Production")
    with pytest.raises(InvalidState, match="Production"):
        client.delete_registered_model("iris")
    assert client.get_registered_model("iris").name == "iris"  # nothing changed
    client.delete_registered_model("iris", force=True)
    with pytest.raises(NotFound):
        client.get_registered_model("iris")


def test_delete_a_version(client, model_uris):
    for uri in model_uris[:2]:
        mlflow.register_model(uri, "clf")
    client.set_registered_model_alias("clf", "old", 1)
    client.delete_model_version("clf", 1)
    assert [v.version for v in client.search_model_versions("name = 'clf'")] == [2]
    assert client.get_registered_model("clf").aliases == {}
    assert mlflow.register_model(model_uris[2], "clf").version == 3  # numbers are never reused


def test_registry_search(client, model_uris):
    mlflow.register_model(model_uris[0], "iris-a")
    mlflow.register_model(model_uris[1], "iris-b")
    mlflow.register_model(model_uris[2], "wine")
    client.set_registered_model_tag("wine", "domain", "drinks")
    client.transition_model_version_stage("iris-b", 1, "Production")
    client.set_registered_model_alias("iris-a", "best", 1)
    assert [m.name for m in client.search_registered_models("name LIKE 'iris%'")] == ["iris-a", "iris-b"]
    assert [m.name for m in client.search_registered_models("tags.domain = 'drinks'")] == ["wine"]
    assert [v.name for v in client.search_model_versions("current_stage = 'Production'")] == ["iris-b"]
    run_id = model_uris[2].split("/")[1]
    assert [v.name for v in client.search_model_versions(f"run_id = '{run_id}'")] == ["wine"]
    assert [v.name for v in client.search_model_versions("alias = 'best'")] == ["iris-a"]
    page = client.search_registered_models(max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_registered_models(max_results=2, page_token=page.token)
    assert [m.name for m in rest] == ["wine"]


def test_models_cli(db_path, model_uris, tmp_path):
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(lighttrack.cli.cli, ["--db", str(db_path), *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    import lighttrack.cli

    assert "registered clf version 1" in run("models", "register", model_uris[0], "clf").output
    run("models", "register", model_uris[1], "clf")
    assert "is now Production" in run("models", "stage", "clf", "1", "production").output
    run("models", "stage", "clf", "2", "Production", "--archive-existing")
    run("models", "alias", "clf", "champion", "2")
    run("models", "describe", "clf", "the classifier")
    run("models", "describe", "clf", "second", "--version", "2")
    listing = json.loads(run("models", "list", "--format", "json").output)
    assert listing[0]["name"] == "clf" and "@champion=v2" in listing[0]["aliases"]
    versions = json.loads(run("models", "versions", "clf", "--format", "json").output)
    assert [(v["version"], v["stage"]) for v in versions] == [(2, "Production"), (1, "Archived")]
    history = json.loads(run("models", "history", "clf", "--format", "json").output)
    assert [h["to"] for h in history if h["event"] == "stage"] == ["Production", "Archived", "Production"]
    assert "the classifier" in run("models", "show", "clf").output

    (tmp_path / "in.json").write_text(json.dumps({"inputs": [[5.1, 3.5, 1.4, 0.2]]}))
    out = run("models", "predict", "-m", "models:/clf@champion", "-i", str(tmp_path / "in.json")).output
    assert json.loads(out) == {"predictions": [0]}
    (tmp_path / "in.csv").write_text("a,b,c,d\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    run("models", "predict", "-m", "models:/clf/Production", "-i", str(tmp_path / "in.csv"), "-o",
        str(tmp_path / "out.csv"))
    assert (tmp_path / "out.csv").read_text() == "prediction\n0\n2\n"

    run("models", "export", "models:/clf/2", str(tmp_path / "exported"))
    assert (tmp_path / "exported" / "MLmodel").exists()
    assert "imported" in run("models", "import", str(tmp_path / "exported"), "copied").output
    imported = lighttrack.MlflowClient().get_model_version("copied", 1)
    assert imported.source.startswith("runs:/")
    assert lighttrack.pyfunc.load_model("models:/copied/1").predict([[5.1, 3.5, 1.4, 0.2]]).tolist() == [0]

    result = run("models", "delete", "clf", ok=False)
    assert result.exit_code == 1 and "Production" in result.output
    assert "removed clf@champion" in run("models", "unalias", "clf", "champion").output
    run("models", "delete", "clf", "--version", "1")
    run("models", "delete", "clf", "--force")
    result = run("models", "stage", "clf", "1", "Production", ok=False)
    assert result.exit_code == 1 and result.output.startswith("Error: no registered model")
