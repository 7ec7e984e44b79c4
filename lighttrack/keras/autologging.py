"""``lighttrack.keras.autolog()`` (and ``lighttrack.tensorflow.autolog()``): a callback on every
``Model.fit``.

Logged, under MLflow's names: the fit arguments (``epochs``, ``batch_size`` ...), the
optimiser's config as ``optimizer_<key>`` params (``optimizer_name``, ``optimizer_learning_rate`` ...), every metric Keras
reports per epoch with the epoch as step (``loss``, ``val_loss``, ``accuracy`` ...), the model
summary as ``model_summary.txt``, and the model at the end (``.keras``, with a signature from
the first training rows). ``LighttrackCallback`` can also be passed to ``fit`` by hand.
"""

from __future__ import annotations

import inspect
from typing import Any

from lighttrack.models.patching import Integration, params_text, sample_rows

integration = Integration("keras")
_UNLOGGED = ("self", "x", "y", "callbacks", "validation_data", "verbose")


def autolog(
    log_every_epoch: bool = True,
    log_every_n_steps: int | None = None,
    log_models: bool = True,
    log_model_signatures: bool = True,
    save_exported_model: bool = False,
    log_datasets: bool = True,
    log_input_examples: bool = False,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    save_model_kwargs: dict[str, Any] | None = None,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Turn Keras autologging on (or off with ``disable=True``); MLflow's switches."""
    from lighttrack.errors import InvalidArgument

    if save_exported_model:
        raise InvalidArgument("save_exported_model=True is not supported; models are logged as .keras")
    if log_every_epoch and log_every_n_steps is not None:
        raise InvalidArgument("log_every_n_steps must be None when log_every_epoch=True")
    if not log_every_epoch and log_every_n_steps is None:
        raise InvalidArgument("give log_every_n_steps when log_every_epoch=False")
    if not integration.configure(
        disable, log_every_epoch=log_every_epoch, log_every_n_steps=log_every_n_steps, log_models=log_models,
        log_model_signatures=log_model_signatures, log_input_examples=log_input_examples, exclusive=exclusive,
        silent=silent, registered_model_name=registered_model_name, extra_tags=extra_tags,
    ):
        return
    from lighttrack.keras import _keras

    integration.patch(_keras().Model, "fit", _patched_fit)


def _callback_class():
    from lighttrack.keras import _keras

    keras = _keras()

    class LighttrackCallback(keras.callbacks.Callback):
        """Optimiser params and the summary at the start, metrics per epoch (or every n steps)."""

        def __init__(self, log_every_epoch: bool = True, log_every_n_steps: int | None = None) -> None:
            super().__init__()
            self.log_every_epoch = log_every_epoch
            self.log_every_n_steps = log_every_n_steps

        def on_train_begin(self, logs: dict | None = None) -> None:
            import lighttrack

            def log_optimizer() -> None:
                config = self.model.optimizer.get_config()
                # MLflow's names: the config's "name" becomes optimizer_name ("adam")
                lighttrack.log_params(params_text({f"optimizer_{k}": v for k, v in config.items()}))

            integration.safely("log the optimiser", log_optimizer)

            def log_summary() -> None:
                lines: list[str] = []
                self.model.summary(print_fn=lambda line, *a, **k: lines.append(line))
                lighttrack.log_text("\n".join(lines), "model_summary.txt")

            integration.safely("log the model summary", log_summary)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if self.log_every_epoch and logs:
                self._log(logs, epoch)

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if self.log_every_n_steps and logs:
                step = int(self.model.optimizer.iterations.numpy())
                if step % self.log_every_n_steps == 0:
                    self._log(logs, step)

        def _log(self, logs: dict, step: int) -> None:
            import lighttrack

            metrics = {k: float(v) for k, v in logs.items() if _is_number(v)}
            integration.safely("log metrics", lambda: lighttrack.log_metrics(metrics, step=step))

    return LighttrackCallback


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def LighttrackCallback(log_every_epoch: bool = True, log_every_n_steps: int | None = None) -> Any:
    """A Keras callback logging to the active run (MLflow's ``MlflowCallback``); pass it to fit."""
    return _callback_class()(log_every_epoch, log_every_n_steps)


def _patched_fit(original):
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if integration.depth > 0 or not integration.wants_run():
            return original(self, *args, **kwargs)
        with integration.training(), integration.managed_run():
            import lighttrack

            bound = inspect.signature(original).bind(self, *args, **kwargs)
            bound.apply_defaults()
            call = dict(bound.arguments)
            logged = {k: v for k, v in call.items() if k not in _UNLOGGED and k != "kwargs"}
            integration.safely("log params", lambda: lighttrack.log_params(params_text(logged)))
            config = integration.config
            callbacks = list(call.get("callbacks") or [])
            if not any(type(c).__name__ == "LighttrackCallback" for c in callbacks):
                callbacks.append(LighttrackCallback(config["log_every_epoch"], config["log_every_n_steps"]))
            bound.arguments["callbacks"] = callbacks
            x = call.get("x")
            history = original(*bound.args, **bound.kwargs)
            if config["log_models"]:
                integration.safely("log the model", lambda: _log_model(self, x))
            return history

    return fit


def _log_model(model: Any, x: Any) -> None:
    import lighttrack.keras
    from lighttrack.models.signature import infer_signature

    config = integration.config
    rows = sample_rows(x) if x is not None and hasattr(x, "__getitem__") and not isinstance(x, dict) else None
    signature = None
    if rows is not None and config["log_model_signatures"]:
        signature = integration.safely("infer a signature",
                                       lambda: infer_signature(rows, model.predict(rows, verbose=0)))
    lighttrack.keras.log_model(model, name="model", signature=signature or False,
                               input_example=rows if config["log_input_examples"] else None,
                               registered_model_name=config["registered_model_name"])
