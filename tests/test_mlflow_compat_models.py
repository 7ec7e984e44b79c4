"""MLflow's model cases (tests/models/test_signature.py, test_model.py and the sklearn flavor's
conda_env tests), ported as tables."""

from __future__ import annotations

import pytest
import yaml

import lighttrack as mlflow
from lighttrack.models import ModelSignature, infer_signature, set_signature
from lighttrack.types import ColSpec, DataType, Schema

INFER = [  # (model input, expected input JSON of the signature), as MLflow 3.17 infers them
    ([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
     '[{"type": "long", "name": "a", "required": true}, {"type": "string", "name": "b", "required": true}]'),
    ([{"a": 1.5, "b": "x"}],
     '[{"type": "double", "name": "a", "required": true}, {"type": "string", "name": "b", "required": true}]'),
    ([1, 2, 3], '[{"type": "long", "required": true}]'),
    (["a", "b"], '[{"type": "string", "required": true}]'),
    ({"x": [1.0, 2.0]}, '[{"type": "double", "name": "x", "required": true}]'),
]


@pytest.mark.parametrize("data, expected", INFER)
def test_infer_signature_from_python_data(data, expected):
    assert infer_signature(data).to_dict()["inputs"] == expected


SIGNATURE_ARGS = [  # ModelSignature's argument checks: (kwargs, error type)
    ({"inputs": {"a": 1}}, TypeError),
    ({"outputs": [1, 2]}, TypeError),
    ({"inputs": "x"}, TypeError),
    ({}, ValueError),
    ({"inputs": None, "outputs": None}, ValueError),
]


@pytest.mark.parametrize("kwargs, error", SIGNATURE_ARGS)
def test_model_signature_argument_checks(kwargs, error):
    with pytest.raises(error):
        ModelSignature(**kwargs)


def test_model_signature_accepts_schemas():
    signature = ModelSignature(inputs=Schema([ColSpec(DataType.double, "x")]))
    assert signature.outputs is None and signature.inputs.input_names() == ["x"]


@pytest.fixture
def fitted():
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])


CONDA_ENVS = ["dict", "file"]


@pytest.mark.parametrize("form", CONDA_ENVS)
def test_save_model_writes_the_conda_env_given(tmp_path, fitted, form):
    env = {"name": "custom", "channels": ["conda-forge"],
           "dependencies": ["python=3.11.7", "pip", {"pip": ["scikit-learn", "my-extra-package==1.0"]}]}
    argument = env
    if form == "file":
        argument = tmp_path / "env.yaml"
        argument.write_text(yaml.safe_dump(env))
    mlflow.sklearn.save_model(fitted, tmp_path / "model", conda_env=argument)
    assert yaml.safe_load((tmp_path / "model" / "conda.yaml").read_text()) == env
    requirements = (tmp_path / "model" / "requirements.txt").read_text().split()
    assert "my-extra-package==1.0" in requirements


def test_log_model_writes_the_conda_env_given(fitted):
    env = {"name": "logged", "dependencies": ["python=3.11", {"pip": ["scikit-learn"]}]}
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(fitted, name="m", conda_env=env)
    local = mlflow.artifacts.download_artifacts(info.model_uri)
    assert yaml.safe_load(open(f"{local}/conda.yaml")) == env


def test_set_signature_on_a_logged_and_a_saved_model(tmp_path, fitted):
    import numpy as np

    with mlflow.start_run():
        info = mlflow.sklearn.log_model(fitted, name="m")
    signature = infer_signature(np.array([[1.0]]), np.array([1.0]))
    set_signature(info.model_uri, signature)
    assert mlflow.models.get_model_info(info.model_uri).signature == signature
    assert mlflow.pyfunc.load_model(info.model_uri).predict(np.array([[3.0]])).tolist() == pytest.approx([3.0])
    mlflow.sklearn.save_model(fitted, tmp_path / "saved")
    set_signature(str(tmp_path / "saved"), signature)
    assert mlflow.models.Model.load(tmp_path / "saved").signature == signature


def test_set_signature_refuses_registry_uris_and_non_signatures(fitted):
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(fitted, name="m", registered_model_name="reg")
    with pytest.raises(mlflow.MlflowException, match="read-only"):
        set_signature("models:/reg/1", infer_signature([1.0]))
    with pytest.raises(mlflow.MlflowException, match="ModelSignature"):
        set_signature(info.model_uri, {"inputs": "x"})


def test_get_model_info_from_models_model(fitted):
    from lighttrack.models.model import get_model_info

    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(fitted, name="m")
    found = get_model_info(info.model_uri)
    assert found.run_id == run.info.run_id and "sklearn" in found.flavors


def test_download_artifacts_takes_the_run_artifact_uri(fitted):
    with mlflow.start_run() as run:
        mlflow.log_text("hello", "notes/a.txt")
    for uri in (f"runs:/{run.info.run_id}/notes/a.txt", f"{run.info.artifact_uri}/notes/a.txt"):
        path = mlflow.artifacts.download_artifacts(artifact_uri=uri)
        assert open(path).read() == "hello"
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/a.txt") == "hello"


def test_registering_the_artifact_uri_idiom_loads(fitted):
    import numpy as np

    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(fitted, name="model")
    client = mlflow.MlflowClient()
    client.create_registered_model("idiom")
    version = client.create_model_version("idiom", f"{run.info.artifact_uri}/model", run.info.run_id)
    model = mlflow.pyfunc.load_model(f"models:/idiom/{version.version}")
    assert model.predict(np.array([[4.0]])).tolist() == pytest.approx([4.0])


class AddN(mlflow.pyfunc.PythonModel):  # MLflow's examples/pyfunc model
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input.apply(lambda column: column + self.n)


def test_a_model_pickled_by_this_process_loads_back_without_allow_pickle(tmp_path):
    import pandas as pd

    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="model", python_model=AddN(n=5))
    assert mlflow.pyfunc.load_model(info.model_uri).predict(pd.DataFrame([[1, 2]])).values.tolist() == [[6, 7]]
    # a model this process did not pickle (another process's, another machine's) is still refused
    mlflow.pyfunc.save_model(tmp_path / "saved", python_model=AddN(n=1))
    mlflow.pyfunc._pickled_here.clear()
    with pytest.raises(mlflow.MlflowException, match="allow_pickle"):
        mlflow.pyfunc.load_model(str(tmp_path / "saved"))
