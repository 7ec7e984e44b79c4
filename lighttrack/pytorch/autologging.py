"""PyTorch Lightning autologging (MLflow's ``mlflow.pytorch.autolog`` for Lightning): a callback
on every ``Trainer.fit``.

Logged, under MLflow's names: ``epochs`` (max_epochs), ``optimizer_name`` and the first
optimiser's defaults (``lr``, ``weight_decay`` ...), every metric in
``trainer.callback_metrics`` at the end of each training epoch (validation included) with the
epoch as step, and the model at the end through ``lighttrack.pytorch.log_model`` with the first
training batch as input example (when that flavour is installed alongside).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from lighttrack.models.patching import Integration, params_text

integration = Integration("pytorch")
LIGHTNING_MODULES = ("lightning.pytorch", "pytorch_lightning")


def lightning_installed() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(name.split(".")[0]) is not None for name in LIGHTNING_MODULES)


def autolog(
    log_every_n_epoch: int = 1,
    log_every_n_step: int | None = None,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, Any] | None = None,
    checkpoint: bool = False,
) -> None:
    """Turn Lightning autologging on (or off with ``disable=True``); MLflow's switches."""
    from lighttrack.errors import InvalidArgument
    from lighttrack.models.flavor import require

    if log_every_n_epoch is not None and (not isinstance(log_every_n_epoch, int) or log_every_n_epoch < 1):
        raise InvalidArgument(f"log_every_n_epoch must be a positive integer, not {log_every_n_epoch!r}")
    if not integration.configure(
        disable, log_every_n_epoch=log_every_n_epoch, log_every_n_step=log_every_n_step, log_models=log_models,
        exclusive=exclusive, silent=silent, registered_model_name=registered_model_name, extra_tags=extra_tags,
    ):
        return
    found = [m for m in LIGHTNING_MODULES if importlib.util.find_spec(m.split(".")[0]) is not None]
    if not found:
        require("lightning", "pytorch", "pytorch")
    for name in found:
        integration.patch(importlib.import_module(name).Trainer, "fit", _patched_fit(name))


def _callback(module_name: str, n_epoch: int, n_step: int | None):
    pl = importlib.import_module(module_name)

    class LighttrackLightningCallback(pl.Callback):
        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            import lighttrack

            def log_params() -> None:
                params: dict[str, Any] = {"epochs": trainer.max_epochs}
                if trainer.optimizers:
                    optimizer = trainer.optimizers[0]
                    params["optimizer_name"] = type(optimizer).__name__
                    params.update(getattr(optimizer, "defaults", {}))
                lighttrack.log_params(params_text(params))

            integration.safely("log params", log_params)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            epoch = trainer.current_epoch
            if n_epoch and (epoch + 1) % n_epoch == 0:
                self._log(trainer, epoch)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
            if n_step and trainer.global_step % n_step == 0:
                self._log(trainer, trainer.global_step)

        def _log(self, trainer: Any, step: int) -> None:
            import lighttrack

            metrics = {}
            for key, value in trainer.callback_metrics.items():
                try:
                    metrics[key] = float(value)
                except (TypeError, ValueError):
                    continue
            if metrics:
                integration.safely("log metrics", lambda: lighttrack.log_metrics(metrics, step=step))

    return LighttrackLightningCallback()


def _patched_fit(module_name: str):
    def make(original):
        def fit(self: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            if integration.depth > 0 or not integration.wants_run():
                return original(self, model, *args, **kwargs)
            config = integration.config
            with integration.training(), integration.managed_run():
                if not any(type(c).__name__ == "LighttrackLightningCallback" for c in self.callbacks):
                    self.callbacks.append(_callback(module_name, config["log_every_n_epoch"],
                                                    config["log_every_n_step"]))
                result = original(self, model, *args, **kwargs)
                if config["log_models"]:
                    integration.safely("log the model", lambda: _log_model(self, model))
                return result

        return fit

    return make


def _first_input(trainer: Any) -> Any:
    loader = trainer.train_dataloader
    batch = next(iter(loader))
    first = batch[0] if isinstance(batch, (list, tuple)) else batch
    return first[:5].detach().cpu().numpy()


def _log_model(trainer: Any, model: Any) -> None:
    flavour = importlib.import_module("lighttrack.pytorch")
    if not hasattr(flavour, "log_model"):
        raise RuntimeError("lighttrack.pytorch (the model flavour) is not installed, so the model was not logged")
    example = integration.safely("take an input example", lambda: _first_input(trainer))
    flavour.log_model(model, name="model", input_example=example,
                      registered_model_name=integration.config["registered_model_name"])
