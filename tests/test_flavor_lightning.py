"""PyTorch Lightning autolog (mlflow.pytorch.autolog's Lightning half): per-epoch metrics, optimiser
params, the model at the end."""

from __future__ import annotations

import pytest

lightning = pytest.importorskip("lightning")
import lightning.pytorch as pl  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import lighttrack as mlflow  # noqa: E402
import lighttrack.pytorch  # noqa: E402
from lighttrack.pytorch.autologging import autolog  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


class Tiny(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(3, 1)

    def forward(self, x):
        return self.layer(x)

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


@pytest.fixture
def data():
    torch.manual_seed(0)
    x = torch.rand(16, 3)
    dataset = torch.utils.data.TensorDataset(x, x.sum(dim=1, keepdim=True))
    return torch.utils.data.DataLoader(dataset, batch_size=8)


@pytest.fixture
def autologging():
    yield autolog
    autolog(disable=True)


def _trainer(epochs):
    return pl.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, accelerator="cpu", devices=1)


def test_fit_logs_epochs_optimiser_per_epoch_metrics_and_the_model(autologging, data):
    autologging()
    module = Tiny()
    _trainer(3).fit(module, data, data)
    (run,) = mlflow.MlflowClient().search_runs()
    client = mlflow.MlflowClient()
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.autologging"] == "pytorch"
    assert run.data.params["epochs"] == "3" and run.data.params["optimizer_name"] == "SGD"
    assert run.data.params["lr"] == "0.05"
    for key in ("train_loss", "val_loss"):
        assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [0, 1, 2], key
    assert "model" in {a.path for a in client.list_artifacts(run.info.run_id)}
    x = np.random.rand(4, 3).astype(np.float32)
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(np.asarray(model.predict(x)).reshape(expected.shape), expected, rtol=1e-5)


def test_log_models_false_and_disable(autologging, data):
    autologging(log_models=False)
    _trainer(1).fit(Tiny(), data)
    (run,) = mlflow.MlflowClient().search_runs()
    assert "model" not in {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    autologging(disable=True)
    _trainer(1).fit(Tiny(), data)
    assert len(mlflow.MlflowClient().search_runs()) == 1


def test_pytorch_autolog_entry_point_is_the_lightning_integration(autologging, data):
    lighttrack.pytorch.autolog(log_models=False)
    _trainer(1).fit(Tiny(), data)
    assert len(mlflow.MlflowClient().search_runs()) == 1
