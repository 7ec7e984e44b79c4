"""MLflow's model format, shared by every flavour: MLmodel, signatures, examples, URIs, trust.

How a flavour plugs in (see lighttrack/sklearn/ and lighttrack/pytorch/ for whole examples).
A flavour is a package ``lighttrack/<name>/__init__.py`` (MLflow's import path) with
``save_model``, ``log_model``, ``load_model`` and ``_load_pyfunc``; its autolog lives beside it
in ``lighttrack/<name>/autologging.py``. Nothing framework-specific is imported at module level.

Saving (``lighttrack.models.flavor``)::

    folder = new_model_folder(path)                     # refuses a non-empty target first
    ... write the framework's own file(s) into folder ...
    meta = start_model(folder, input_example=..., signature=..., predict=fn,
                       run_id=_run_id, artifact_path=_artifact_path, metadata=metadata)
    finish_model(meta, folder, flavor="<name>", flavor_conf={...MLflow's keys...},
                 loader_module="mlflow.<name>", model_path="<file>",
                 packages=["<pip name>", ...],           # pinned to the installed versions
                 pip_requirements=..., extra_pip_requirements=..., code=copy_code_paths(folder, code_paths))
    # finish_model writes requirements.txt/python_env.yaml/conda.yaml, the python_function
    # block, the flavour block, file_hashes of every file, then MLmodel.

Logging: ``log_model`` keeps MLflow's full signature and its body is
``return log_with_arguments(save_model, locals())``: the model (save_model's first parameter)
and every argument save_model also takes go to ``log_flavor_model(save_model, artifact_path,
name, registered_model_name, model, **save_kwargs)`` (save_model must accept ``_run_id=`` and
``_artifact_path=`` keywords and take the path right after the model).

Autolog: ``lighttrack.models.patching.Integration`` holds one library's switches and patches;
gradient-boosting libraries (XGBoost, LightGBM) share their whole training loop
(``lighttrack.models.booster_autolog``: patched ``train``/``fit``, best iteration, feature
importance, the model) and pass in only their callback and where example rows come from.

Loading (``lighttrack.models.files``)::

    with opened_model(model_uri, dst_path, verify) as (folder, meta):   # paths + hashes checked
        conf = flavor_conf(meta, "<name>", folder)
        file = inside(folder, conf["data"])                # a path from MLmodel, contained
        ...

Trust: a format that unpickles checks ``lighttrack.pyfunc.pickle_allowed(allow_pickle)`` and
raises ``refuse_pickle(what)`` otherwise; skops data goes through
``lighttrack.models.trust.check_types``. ``verify=False`` is the only way past missing hashes.

Pyfunc: ``_load_pyfunc(folder, meta, *, allow_pickle=None, trusted_types=None)`` returns an
object with ``predict(data, params=None)`` (and ``raw_model``); lighttrack.pyfunc finds it from
``loader_module`` ``mlflow.<name>`` for every name in ``pyfunc.KNOWN_FLAVOURS`` (or
``pyfunc.register_loader``), checks the input against the signature first
(``signature.enforce``; tensors from any framework are accepted via ``signature.as_array``).
A framework that is missing: ``flavor.require("torch", extra="pytorch")`` — one line naming the extra.
"""

#: mlflow.models names that live in models/evaluation (loaded on first use: it is larger)
_EVALUATION_NAMES = ("evaluate", "make_metric", "EvaluationMetric", "EvaluationArtifact", "EvaluationResult",
                     "MetricThreshold", "list_evaluators")

from lighttrack.models.logged import ModelInfo
from lighttrack.models.mlmodel import Model
from lighttrack.models.signature import ColSpec, ModelSignature, Schema, TensorSpec, infer_signature

from lighttrack.models.from_code import set_model

__all__ = ["ColSpec", "Model", "ModelInfo", "ModelSignature", "Schema", "TensorSpec", "infer_signature",
           "get_model_info", "set_signature", "set_model", *_EVALUATION_NAMES]


def set_signature(model_uri: str, signature: ModelSignature) -> None:
    """Replace the signature of a saved or logged model (see ``models.signature_update``)."""
    from lighttrack.models.signature_update import set_signature as update

    update(model_uri, signature)


def get_model_info(model_uri: str) -> ModelInfo:
    """The metadata of a logged model, without loading it."""
    import tempfile
    from pathlib import Path

    from lighttrack.models.uri import download_model, to_runs_uri

    with tempfile.TemporaryDirectory() as tmp:
        folder = download_model(model_uri, Path(tmp))
        model = Model.load(folder)
    from lighttrack.models.uri import logged_model_id

    uri = str(model_uri)
    if uri.startswith("models:/") and not logged_model_id(uri):
        uri = to_runs_uri(uri)
    return ModelInfo(
        artifact_path=model.artifact_path or "", flavors=model.flavors, model_uri=uri,
        model_uuid=model.model_uuid, run_id=model.run_id or "",
        saved_input_example_info=model.saved_input_example_info, signature=model.signature,
        utc_time_created=model.utc_time_created, mlflow_version=model.mlflow_version, metadata=model.metadata,
        model_id=model.extra.get("model_id"),
    )


def __getattr__(name: str):
    if name in _EVALUATION_NAMES or name == "evaluation":
        import importlib

        evaluation = importlib.import_module("lighttrack.models.evaluation")
        return evaluation if name == "evaluation" else getattr(evaluation, name)
    raise AttributeError(f"module 'lighttrack.models' has no attribute {name!r}")
