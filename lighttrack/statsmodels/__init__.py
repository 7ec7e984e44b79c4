"""``lighttrack.statsmodels``: statsmodels results in MLflow's format, as ``mlflow.statsmodels``.

statsmodels has no format of its own besides pickle (``results.save``), so that is what is
written, as MLflow does. Unpickling runs arbitrary code, so loading needs ``allow_pickle=True``
(or ``LIGHTTRACK_ALLOW_PICKLE=1``), and the refusal says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models import ModelInfo
from lighttrack.models.mlmodel import Model
from lighttrack.models.signature import ModelSignature

FLAVOR_NAME = "statsmodels"
EXTRA = "statsmodels"
DATA_FILE = "model.statsmodels"


def _statsmodels():
    from lighttrack.models.flavor import require

    return require("statsmodels", EXTRA, FLAVOR_NAME)


def save_model(
    statsmodels_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    remove_data: bool = False,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    _run_id: str | None = None,
    _artifact_path: str | None = None,
) -> Model:
    """Write fitted statsmodels results (``model.fit()``'s return) as an MLflow model folder."""
    from lighttrack.models import flavor

    statsmodels = _statsmodels()
    if not (callable(getattr(statsmodels_model, "save", None)) and hasattr(statsmodels_model, "model")):
        raise InvalidArgument(
            "statsmodels_model must be fitted statsmodels results (what model.fit() returns), "
            f"not {type(statsmodels_model).__name__}"
        )
    flavor.check_code_paths(code_paths)
    folder = flavor.new_model_folder(path)
    statsmodels_model.save(str(folder / DATA_FILE), remove_data)
    meta = flavor.start_model(folder, input_example=input_example, signature=signature,
                              predict=_StatsmodelsWrapper(statsmodels_model).predict, run_id=_run_id,
                              artifact_path=_artifact_path, metadata=metadata)
    code = flavor.copy_code_paths(folder, code_paths)
    return flavor.finish_model(
        meta, folder, flavor=FLAVOR_NAME, loader_module="mlflow.statsmodels", model_path=None, code=code,
        flavor_conf={"statsmodels_version": statsmodels.__version__, "data": DATA_FILE},
        packages=["statsmodels"], pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
        pyfunc_conf={"data": DATA_FILE},
    )


def log_model(
    statsmodels_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    remove_data: bool = False,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    await_registration_for: int | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    **kwargs: Any,  # MLflow 3's params, tags, model_type, step, model_id
) -> ModelInfo:
    """Save the results into the active run (started if none) and register them when asked."""
    from lighttrack.models.flavor import log_with_arguments

    return log_with_arguments(save_model, locals())


def _load(folder: Path, meta: Model, allow_pickle: bool | None) -> Any:
    from lighttrack.models.files import flavor_conf, inside
    from lighttrack.pyfunc import pickle_allowed, refuse_pickle

    conf = flavor_conf(meta, FLAVOR_NAME, folder)
    data = inside(folder, conf.get("data", DATA_FILE), "MLmodel's statsmodels.data")
    if not pickle_allowed(allow_pickle):
        raise refuse_pickle(f"the statsmodels model at {folder}")
    from lighttrack.models.code_paths import add_model_code

    add_model_code(folder, meta, FLAVOR_NAME)
    _statsmodels()
    import statsmodels.iolib.api as smio

    try:
        return smio.load_pickle(str(data))
    except Exception as exc:
        raise ModelError(f"the statsmodels model at {folder} could not be read: {exc}") from None


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None, *,
               allow_pickle: bool | None = None, verify: bool = True) -> Any:
    """The fitted statsmodels results, from any model URI or folder (needs ``allow_pickle``;
    ``verify=False`` for a model without file hashes, such as MLflow's)."""
    from lighttrack.models.files import opened_model

    with opened_model(model_uri, dst_path, verify) as (folder, meta):
        return _load(folder, meta, allow_pickle)


class _StatsmodelsWrapper:
    """MLflow's predict contract: time-series models take one row with ``start`` and ``end``."""

    def __init__(self, results: Any) -> None:
        self.raw_model = results

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        from statsmodels.tsa.base.tsa_model import TimeSeriesModel

        if isinstance(self.raw_model.model, TimeSeriesModel):
            columns = getattr(data, "columns", ())
            if len(data) != 1 or "start" not in columns or "end" not in columns:
                raise InvalidArgument("a time-series model predicts from one row with columns 'start' and 'end'")
            return self.raw_model.predict(start=data["start"].iloc[0], end=data["end"].iloc[0])
        return self.raw_model.predict(data)


def _load_pyfunc(folder: Path, meta: Model, allow_pickle: bool | None = None) -> _StatsmodelsWrapper:
    return _StatsmodelsWrapper(_load(folder, meta, allow_pickle))
