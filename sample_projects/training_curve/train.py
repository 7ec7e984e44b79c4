"""Per-epoch training curves: SGDClassifier with partial_fit on the digits data.

Each epoch goes once over the training set in shuffled mini-batches, then logs train_loss,
val_loss, train_accuracy and val_accuracy at step=epoch, so a chart of the run shows learning
(and, with a high learning rate, over-shooting) as it happens.
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import lighttrack as mlflow
import lighttrack.sklearn  # noqa: F401


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", default="30")
    parser.add_argument("--learning-rate", default="0.01")
    parser.add_argument("--batch-size", default="64")
    parser.add_argument("--sleep", default="0", help="seconds to pause after each epoch")
    args = parser.parse_args()
    epochs, eta0 = int(args.epochs), float(args.learning_rate)
    batch_size, pause = int(args.batch_size), float(args.sleep)

    data = load_digits()
    X_train, X_val, y_train, y_val = train_test_split(data.data, data.target, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
    classes = np.unique(data.target)
    model = SGDClassifier(loss="log_loss", learning_rate="invscaling", eta0=eta0, power_t=0.25, random_state=0)
    rng = np.random.default_rng(0)

    with mlflow.start_run():
        mlflow.log_params({"epochs": args.epochs, "learning_rate": args.learning_rate,
                           "batch_size": args.batch_size, "sleep": args.sleep})
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(X_train))
            for start in range(0, len(order), batch_size):
                batch = order[start:start + batch_size]
                model.partial_fit(X_train[batch], y_train[batch], classes=classes)
            mlflow.log_metrics({
                "train_loss": log_loss(y_train, model.predict_proba(X_train), labels=classes),
                "val_loss": log_loss(y_val, model.predict_proba(X_val), labels=classes),
                "train_accuracy": accuracy_score(y_train, model.predict(X_train)),
                "val_accuracy": accuracy_score(y_val, model.predict(X_val)),
            }, step=epoch)
            print(f"epoch {epoch}/{epochs}: val_accuracy {accuracy_score(y_val, model.predict(X_val)):.3f}",
                  flush=True)
            if pause:
                time.sleep(pause)
        mlflow.sklearn.log_model(model, name="model", input_example=X_val[:2])


if __name__ == "__main__":
    main()
