"""MLflow's classic example scripts, run with only their imports renamed.

These are copies written here from the examples' calls (examples/quickstart/mlflow_tracking.py,
sklearn_elasticnet_wine/train.py, sklearn_logistic_regression/train.py, sklearn_autolog/*.py,
pyfunc, hyperparam/search_random.py with a stand-in train step); nothing is downloaded. Each runs
in a fresh interpreter in its own folder, as a user would run it, on the default ./lighttrack.db.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT

from lighttrack import LighttrackClient

QUICKSTART = """
import os
from random import randint, random
import lighttrack as mlflow
from lighttrack import log_artifacts, log_metric, log_param

if __name__ == "__main__":
    print("Running mlflow_tracking.py")
    log_param("param1", randint(0, 100))
    log_metric("foo", random())
    log_metric("foo", random() + 1)
    log_metric("foo", random() + 2)
    if not os.path.exists("outputs"):
        os.makedirs("outputs")
    with open("outputs/test.txt", "w") as f:
        f.write("hello world!")
    log_artifacts("outputs")
"""

ELASTICNET = """
import sys
import warnings
from urllib.parse import urlparse
import numpy as np
import pandas as pd
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
import lighttrack as mlflow
import lighttrack.sklearn
from lighttrack.models import infer_signature

def eval_metrics(actual, pred):
    rmse = np.sqrt(mean_squared_error(actual, pred))
    mae = mean_absolute_error(actual, pred)
    r2 = r2_score(actual, pred)
    return rmse, mae, r2

if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    np.random.seed(40)
    data = pd.read_csv("wine-quality.csv", sep=";")
    train, test = train_test_split(data)
    train_x = train.drop(["quality"], axis=1)
    test_x = test.drop(["quality"], axis=1)
    train_y = train[["quality"]]
    test_y = test[["quality"]]
    alpha = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    l1_ratio = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    with mlflow.start_run():
        lr = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42)
        lr.fit(train_x, train_y)
        predicted_qualities = lr.predict(test_x)
        (rmse, mae, r2) = eval_metrics(test_y, predicted_qualities)
        print(f"Elasticnet model (alpha={alpha:f}, l1_ratio={l1_ratio:f}):")
        print(f"  RMSE: {rmse}")
        mlflow.log_param("alpha", alpha)
        mlflow.log_param("l1_ratio", l1_ratio)
        mlflow.log_metric("rmse", rmse)
        mlflow.log_metric("r2", r2)
        mlflow.log_metric("mae", mae)
        predictions = lr.predict(train_x)
        signature = infer_signature(train_x, predictions)
        tracking_url_type_store = urlparse(mlflow.get_tracking_uri()).scheme
        if tracking_url_type_store != "file":
            mlflow.sklearn.log_model(lr, "model", registered_model_name="ElasticnetWineModel", signature=signature)
        else:
            mlflow.sklearn.log_model(lr, "model", signature=signature)
"""

LOGISTIC = """
import numpy as np
from sklearn.linear_model import LogisticRegression
import lighttrack as mlflow
import lighttrack.sklearn

if __name__ == "__main__":
    X = np.array([-2, -1, 0, 1, 2, 1]).reshape(-1, 1)
    y = np.array([0, 0, 1, 1, 1, 0])
    lr = LogisticRegression()
    lr.fit(X, y)
    score = lr.score(X, y)
    print(f"Score: {score}")
    mlflow.log_metric("score", score)
    mlflow.sklearn.log_model(lr, "model")
    print(f"Model saved in run {mlflow.active_run().info.run_uuid}")
"""

AUTOLOG_UTILS = """
import lighttrack as mlflow
from lighttrack import MlflowClient

def yield_artifacts(run_id, path=None):
    client = MlflowClient()
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            yield from yield_artifacts(run_id, item.path)
        else:
            yield item.path

def fetch_logged_data(run_id):
    client = MlflowClient()
    data = client.get_run(run_id).data
    tags = {k: v for k, v in data.tags.items() if not k.startswith("mlflow.")}
    artifacts = list(yield_artifacts(run_id))
    return {"params": data.params, "metrics": data.metrics, "tags": tags, "artifacts": artifacts}
"""

AUTOLOG = """
from pprint import pprint
import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
import lighttrack as mlflow
from utils import fetch_logged_data

def main():
    mlflow.sklearn.autolog()
    X = np.array([[1, 1], [1, 2], [2, 2], [2, 3]])
    y = np.dot(X, np.array([1, 2])) + 3
    with mlflow.start_run() as run:
        pipe = Pipeline([("scaler", StandardScaler()), ("lr", LinearRegression())])
        pipe.fit(X, y)
        print(f"Logged data and model in run: {run.info.run_id}")
    for key, data in fetch_logged_data(run.info.run_id).items():
        print(f"---------- logged {key} ----------")
        pprint(data)

if __name__ == "__main__":
    main()
"""

PYFUNC = """
import pandas as pd
import lighttrack as mlflow
import lighttrack.pyfunc

class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input.apply(lambda column: column + self.n)

with mlflow.start_run():
    model_info = mlflow.pyfunc.log_model(name="model", python_model=AddN(n=5))

loaded_model = mlflow.pyfunc.load_model(model_info.model_uri)
model_input = pd.DataFrame([range(10)])
model_output = loaded_model.predict(model_input)
assert model_output.equals(pd.DataFrame([range(5, 15)]))
print("pyfunc ok")
"""

HYPERPARAM_MLPROJECT = """
name: HyperparameterSearch
python_env: python_env.yaml
entry_points:
  train:
    parameters:
      training_data: {type: string, default: "data.csv"}
      epochs: {type: int, default: 32}
      learning_rate: {type: float, default: 1e-1}
      momentum: {type: float, default: .0}
      seed: {type: int, default: 97531}
    command: "python train.py {training_data} --epochs {epochs} --learning-rate {learning_rate} --momentum {momentum} --seed {seed}"
  random:
    parameters:
      max_runs: {type: int, default: 3}
      epochs: {type: int, default: 4}
      metric: {type: string, default: "rmse"}
      seed: {type: int, default: 97531}
    command: "python search_random.py --max-runs {max_runs} --epochs {epochs} --metric {metric} --seed {seed}"
"""

#: the stand-in train step: the example's Keras training replaced by a formula, same logging
HYPERPARAM_TRAIN = """
import argparse
import lighttrack as mlflow

parser = argparse.ArgumentParser()
parser.add_argument("training_data")
parser.add_argument("--epochs", type=int)
parser.add_argument("--learning-rate", type=float)
parser.add_argument("--momentum", type=float)
parser.add_argument("--seed", type=int)
args = parser.parse_args()
with mlflow.start_run():
    loss = (args.learning_rate - 0.01) ** 2 + args.momentum
    for epoch in range(args.epochs):
        loss = (args.learning_rate - 0.01) ** 2 + args.momentum / (epoch + 1)
        mlflow.log_metrics({"train_rmse": loss, "val_rmse": loss * 1.1}, step=epoch)
    # the example's checkpoint callback logs the final scores at train end, even for 0 epochs
    mlflow.log_metrics({"train_rmse": loss, "val_rmse": loss * 1.1, "test_rmse": loss * 1.2})
"""

HYPERPARAM_SEARCH = """
import argparse
import numpy as np
import lighttrack as mlflow
import lighttrack.projects
from lighttrack.tracking import MlflowClient

_inf = np.finfo(np.float64).max

parser = argparse.ArgumentParser()
parser.add_argument("--max-runs", type=int)
parser.add_argument("--epochs", type=int)
parser.add_argument("--metric")
parser.add_argument("--seed", type=int)
args = parser.parse_args()
np.random.seed(args.seed)
tracking_client = MlflowClient()

def new_eval(nepochs, experiment_id, null_train_loss, null_valid_loss, null_test_loss, return_all=False):
    def eval(params):
        lr, momentum = params
        with mlflow.start_run(nested=True) as child_run:
            p = mlflow.projects.run(
                uri=".", entry_point="train", run_id=child_run.info.run_id,
                parameters={"training_data": "data.csv", "epochs": str(nepochs),
                            "learning_rate": str(lr), "momentum": str(momentum), "seed": str(args.seed)},
                experiment_id=experiment_id, synchronous=False, env_manager="local",
            )
            succeeded = p.wait()
            mlflow.log_params({"lr": lr, "momentum": momentum})
        if succeeded:
            training_run = tracking_client.get_run(p.run_id)
            metrics = training_run.data.metrics
            train_loss = min(null_train_loss, metrics[f"train_{args.metric}"])
            valid_loss = min(null_valid_loss, metrics[f"val_{args.metric}"])
            test_loss = min(null_test_loss, metrics[f"test_{args.metric}"])
        else:
            tracking_client.set_terminated(p.run_id, "FAILED")
            train_loss, valid_loss, test_loss = null_train_loss, null_valid_loss, null_test_loss
        mlflow.log_metrics({f"train_{args.metric}": train_loss, f"val_{args.metric}": valid_loss,
                            f"test_{args.metric}": test_loss})
        return (train_loss, valid_loss, test_loss) if return_all else valid_loss
    return eval

with mlflow.start_run() as run:
    experiment_id = run.info.experiment_id
    _, null_valid_loss, null_test_loss = new_eval(0, experiment_id, _inf, _inf, _inf, True)(params=[0, 0])
    runs = [(np.random.uniform(1e-5, 1e-1), np.random.uniform(0, 1.0)) for _ in range(args.max_runs)]
    best_train_loss = best_val_loss = best_test_loss = _inf
    best_run = None
    for lr, momentum in runs:
        train_loss, val_loss, test_loss = new_eval(args.epochs, experiment_id, _inf, _inf, _inf, True)((lr, momentum))
        if val_loss < best_val_loss:
            best_val_loss, best_train_loss, best_test_loss = val_loss, train_loss, test_loss
    mlflow.set_tag("best_run", "found")
    mlflow.log_metrics({f"train_{args.metric}": best_train_loss, f"val_{args.metric}": best_val_loss,
                        f"test_{args.metric}": best_test_loss})
    children = tracking_client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    print("children", len(children))
"""


def _wine_csv() -> str:
    lines = ["fixed acidity;volatile acidity;citric acid;alcohol;quality"]
    for i in range(60):
        lines.append(f"{7 + i % 5};{0.3 + (i % 7) / 10};{(i % 3) / 10};{9 + i % 4};{5 + (i % 4 + i % 3) // 2}")
    return "\n".join(lines) + "\n"


EXAMPLES = {
    "quickstart": ({"mlflow_tracking.py": QUICKSTART}, ["mlflow_tracking.py"]),
    "sklearn_elasticnet_wine": ({"train.py": ELASTICNET, "wine-quality.csv": _wine_csv()}, ["train.py", "0.3", "0.7"]),
    "sklearn_logistic_regression": ({"train.py": LOGISTIC}, ["train.py"]),
    "sklearn_autolog": ({"utils.py": AUTOLOG_UTILS, "pipeline.py": AUTOLOG}, ["pipeline.py"]),
    "pyfunc": ({"train.py": PYFUNC}, ["train.py"]),
    "hyperparam": ({"MLproject": HYPERPARAM_MLPROJECT, "train.py": HYPERPARAM_TRAIN,
                    "search_random.py": HYPERPARAM_SEARCH, "data.csv": "x\n1\n",
                    "python_env.yaml": "python: '3.11'\ndependencies: []\n"},
                   ["search_random.py", "--max-runs", "2", "--epochs", "3", "--metric", "rmse", "--seed", "1"]),
}


def _run_example(tmp_path, name):
    files, argv = EXAMPLES[name]
    folder = tmp_path / name
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(textwrap.dedent(text).lstrip())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIGHTTRACK_", "MLFLOW_"))}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, *argv], cwd=folder, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return folder, result


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_mlflow_example_runs_with_imports_renamed(tmp_path, name):
    folder, result = _run_example(tmp_path, name)
    client = LighttrackClient(folder / "lighttrack.db")
    runs = list(client.search_runs(None))
    assert runs and all(r.info.status == "FINISHED" for r in runs), [(r.info.run_name, r.info.status) for r in runs]
    if name == "quickstart":
        (run,) = runs
        assert len(client.get_metric_history(run.info.run_id, "foo")) == 3
        assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["test.txt"]
    elif name == "sklearn_elasticnet_wine":
        assert runs[0].data.params == {"alpha": "0.3", "l1_ratio": "0.7"}
        assert {"rmse", "r2", "mae"} <= set(runs[0].data.metrics)
        assert client.get_model_version("ElasticnetWineModel", 1).run_id == runs[0].info.run_id
    elif name == "sklearn_logistic_regression":
        assert f"Model saved in run {runs[0].info.run_id}" in result.stdout
    elif name == "sklearn_autolog":
        assert "---------- logged artifacts ----------" in result.stdout and "model/MLmodel" in result.stdout
    elif name == "pyfunc":
        assert "pyfunc ok" in result.stdout
    elif name == "hyperparam":
        assert "children 3" in result.stdout  # the null run and two random ones, each a child
        parent = next(r for r in runs if "best_run" in r.data.tags)
        trained = [r for r in runs if r.data.tags.get("mlflow.source.type") == "PROJECT"]
        assert len(trained) == 3 and "val_rmse" in parent.data.metrics
