"""ElasticNet on sklearn's wine data: predict alcohol from the other 12 measurements.

Logs alpha and l1_ratio, rmse / mae / r2 on a held-out quarter, and the model (scaler +
ElasticNet) with a signature inferred from the training data.
"""

import argparse

import numpy as np
from sklearn.datasets import load_wine
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lighttrack as mlflow
import lighttrack.sklearn  # noqa: F401
from lighttrack.models import infer_signature


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alpha", default="0.1")
    parser.add_argument("--l1-ratio", default="0.1")
    args = parser.parse_args()
    alpha, l1_ratio = float(args.alpha), float(args.l1_ratio)

    data = load_wine()
    X = data.data[:, 1:]  # everything but alcohol...
    y = data.data[:, 0]  # ...which is the target
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=42)

    with mlflow.start_run():
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        model = make_pipeline(StandardScaler(), ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42))
        model.fit(X_train, y_train)
        predicted = model.predict(X_test)
        rmse = float(np.sqrt(mean_squared_error(y_test, predicted)))
        mae = float(mean_absolute_error(y_test, predicted))
        r2 = float(r2_score(y_test, predicted))
        mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2})
        mlflow.set_tag("target", data.feature_names[0])
        signature = infer_signature(X_train, model.predict(X_train))
        mlflow.sklearn.log_model(model, name="model", signature=signature, input_example=X_train[:3])
        print(f"ElasticNet(alpha={alpha}, l1_ratio={l1_ratio}): rmse={rmse:.4f} mae={mae:.4f} r2={r2:.4f}")


if __name__ == "__main__":
    main()
