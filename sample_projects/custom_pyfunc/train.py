"""A custom pyfunc model with an artifact.

``IrisNamer`` is a ``PythonModel``: it holds a fitted scaler + LogisticRegression pipeline,
and its ``load_context`` reads the class names from a JSON file logged beside the model as an
artifact, so ``predict`` answers "setosa" rather than 0. Load it back (it is pickled, so only
when you trust it) with::

    mlflow.pyfunc.load_model(f"runs:/{run_id}/model", allow_pickle=True).predict(rows)
"""

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lighttrack as mlflow
import lighttrack.pyfunc


class IrisNamer(lighttrack.pyfunc.PythonModel):
    """Preprocessing + model in one object, answering with class names."""

    def __init__(self, pipeline):
        self.pipeline = pipeline
        self.classes = None

    def load_context(self, context):
        with open(context.artifacts["classes"]) as f:
            self.classes = json.load(f)["classes"]

    def predict(self, context, model_input, params=None):
        rows = np.asarray(model_input, dtype=float)
        if rows.ndim == 1:
            rows = rows.reshape(1, -1)
        return [self.classes[i] for i in self.pipeline.predict(rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--C", default="1.0")
    parser.add_argument("--max-iter", default="200")
    args = parser.parse_args()

    data = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.3, random_state=1)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=float(args.C), max_iter=int(args.max_iter)))
    pipeline.fit(X_train, y_train)

    with mlflow.start_run(), tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params({"C": args.C, "max_iter": args.max_iter})
        mlflow.log_metric("accuracy", accuracy_score(y_test, pipeline.predict(X_test)))
        classes_file = Path(tmp) / "classes.json"
        classes_file.write_text(json.dumps({"classes": list(data.target_names)}))
        info = lighttrack.pyfunc.log_model(
            name="model", python_model=IrisNamer(pipeline), artifacts={"classes": str(classes_file)},
            input_example=X_test[:2],
        )
        print(f"logged {info.model_uri}: predicts {IrisNamer(pipeline).pipeline.predict(X_test[:3])} "
              f"-> {[data.target_names[i] for i in pipeline.predict(X_test[:3])]}")


if __name__ == "__main__":
    main()
