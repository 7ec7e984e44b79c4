"""A RandomForest on iris: the example MLflow's introduction uses, as a project.

Run it with ``lighttrack run sample_projects/iris_forest -P n_estimators=50``, or directly with
``python train.py --n-estimators 50`` (then it starts a run of its own).
"""

import argparse

from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import cross_val_score, train_test_split

import lighttrack as mlflow
import lighttrack.sklearn  # noqa: F401  (mlflow.sklearn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-estimators", default="100")
    parser.add_argument("--max-depth", default="0", help="0 grows the trees fully")
    parser.add_argument("--test-size", default="0.2")
    parser.add_argument("--register-as", default="", help="register the model under this name")
    args = parser.parse_args()
    n_estimators, max_depth, test_size = int(args.n_estimators), int(args.max_depth), float(args.test_size)

    data = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=test_size, random_state=42
    )
    # Inside `lighttrack run` this resumes the run it created (LIGHTTRACK_RUN_ID).
    with mlflow.start_run():
        # The values exactly as given, which is what `lighttrack run` logged for them too.
        mlflow.log_params({"n_estimators": args.n_estimators, "max_depth": args.max_depth,
                           "test_size": args.test_size})
        model = RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth or None, random_state=42)
        model.fit(X_train, y_train)
        y_pred = model.predict(X_test)
        mlflow.log_metric("accuracy", accuracy_score(y_test, y_pred))
        mlflow.log_metric("f1_macro", f1_score(y_test, y_pred, average="macro"))
        mlflow.log_metric("cv_accuracy", float(cross_val_score(model, data.data, data.target, cv=3).mean()))
        mlflow.log_dict({"features": list(data.feature_names), "classes": list(data.target_names)}, "dataset.json")
        info = mlflow.sklearn.log_model(
            model, name="model", input_example=X_test[:3], registered_model_name=args.register_as or None
        )
        print(f"accuracy {accuracy_score(y_test, y_pred):.3f}; model at {info.model_uri}")
        if info.registered_model_version:
            print(f"registered as {args.register_as} version {info.registered_model_version}")


if __name__ == "__main__":
    main()
