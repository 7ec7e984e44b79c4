"""``lighttrack models``: the registry from the shell, plus predict, export and import."""

from __future__ import annotations

import json
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import click

from lighttrack.cli.common import client_from, emit, format_option, when


@click.group()
def models() -> None:
    """Registered models: versions, stages, aliases, predict, export, import."""


def _latest(model) -> str:
    return ", ".join(f"v{v.version} {v.current_stage}" for v in model.latest_versions)


@models.command("list")
@click.option("--filter", "filter_string", help="e.g. \"name LIKE 'iris%'\".")
@format_option()
@click.pass_context
def list_models(ctx, filter_string: str | None, output_format: str) -> None:
    """List registered models with their latest version per stage and aliases."""
    found = client_from(ctx).search_registered_models(filter_string, max_results=None)
    rows = [[m.name, _latest(m), ", ".join(f"@{a}=v{v}" for a, v in m.aliases.items()),
             when(m.last_updated_timestamp), m.description] for m in found]
    emit(["name", "latest versions", "aliases", "updated", "description"], rows, output_format, keep_columns=1)


@models.command("show")
@click.argument("name")
@click.pass_context
def show(ctx, name: str) -> None:
    """Show a registered model: description, tags, aliases, latest versions."""
    model = client_from(ctx).get_registered_model(name)
    click.echo(f"model {model.name}   updated {when(model.last_updated_timestamp)}")
    if model.description:
        click.echo(f"  {model.description}")
    for key, value in sorted(model.tags.items()):
        click.echo(f"  tag {key} = {value}")
    for alias, version in model.aliases.items():
        click.echo(f"  @{alias} -> version {version}")
    for v in model.latest_versions:
        click.echo(f"  latest {v.current_stage}: version {v.version} from {v.source}")


@models.command("versions")
@click.argument("name")
@format_option()
@click.pass_context
def versions(ctx, name: str, output_format: str) -> None:
    """List every version of model NAME."""
    found = client_from(ctx).search_model_versions(f"name = {json.dumps(name)}", order_by=["version DESC"])
    rows = [[v.version, v.current_stage, ", ".join(v.aliases), (v.run_id or "")[:8], when(v.creation_timestamp),
             v.description] for v in found]
    emit(["version", "stage", "aliases", "run", "created", "description"], rows, output_format, keep_columns=2)


@models.command("register")
@click.argument("model_uri")
@click.argument("name")
@click.pass_context
def register(ctx, model_uri: str, name: str) -> None:
    """Register MODEL_URI (runs:/RUN/PATH or models:/...) as a new version of NAME."""
    from lighttrack.models.logged import register_model

    version = register_model(model_uri, name, client=client_from(ctx))
    click.echo(f"registered {name} version {version.version}")


@models.command("stage")
@click.argument("name")
@click.argument("version")
@click.argument("stage")
@click.option("--archive-existing", is_flag=True, help="Archive the versions already in STAGE.")
@click.pass_context
def stage(ctx, name: str, version: str, stage: str, archive_existing: bool) -> None:
    """Move VERSION of NAME to STAGE (None, Staging, Production, Archived)."""
    moved = client_from(ctx).transition_model_version_stage(name, version, stage, archive_existing)
    click.echo(f"{name} version {moved.version} is now {moved.current_stage}")


@models.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version")
@click.pass_context
def alias(ctx, name: str, alias: str, version: str) -> None:
    """Point ALIAS of model NAME at VERSION (models:/NAME@ALIAS)."""
    client_from(ctx).set_registered_model_alias(name, alias, version)
    click.echo(f"{name}@{alias} -> version {version}")


@models.command("unalias")
@click.argument("name")
@click.argument("alias")
@click.pass_context
def unalias(ctx, name: str, alias: str) -> None:
    """Remove ALIAS from model NAME."""
    client_from(ctx).delete_registered_model_alias(name, alias)
    click.echo(f"removed {name}@{alias}")


@models.command("describe")
@click.argument("name")
@click.argument("description")
@click.option("--version", help="Describe this version instead of the model.")
@click.pass_context
def describe(ctx, name: str, description: str, version: str | None) -> None:
    """Set the DESCRIPTION of model NAME (or of one --version)."""
    client = client_from(ctx)
    if version:
        client.update_model_version(name, version, description)
    else:
        client.update_registered_model(name, description)
    click.echo("description updated")


@models.command("delete")
@click.argument("name")
@click.option("--version", help="Delete only this version.")
@click.option("--force", is_flag=True, help="Delete even with versions in Production.")
@click.pass_context
def delete(ctx, name: str, version: str | None, force: bool) -> None:
    """Delete model NAME (all versions), or one --version of it."""
    client = client_from(ctx)
    if version:
        client.delete_model_version(name, version)
        click.echo(f"deleted {name} version {version}")
    else:
        client.delete_registered_model(name, force=force)
        click.echo(f"deleted model {name}")


@models.command("history")
@click.argument("name")
@format_option()
@click.pass_context
def history(ctx, name: str, output_format: str) -> None:
    """Every stage and alias change of model NAME: who, when, from, to."""
    events = client_from(ctx).get_model_history(name)
    rows = [[when(e.timestamp), e.version or "", e.event + (f" @{e.alias}" if e.alias else ""),
             e.from_value or "", e.to_value or "", e.user_id] for e in events]
    emit(["when", "version", "event", "from", "to", "who"], rows, output_format, keep_columns=5)


def _read_input(path: Path):
    """The input file as a DataFrame or array; anything malformed is a one-line error naming it."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _non_empty(path, _read_csv(path))
    if suffix == ".parquet":
        try:
            import pandas as pd

            return _non_empty(path, pd.read_parquet(path))
        except ImportError:
            raise click.ClickException("reading parquet needs pandas and pyarrow: pip install pandas pyarrow") from None
        except (ValueError, OSError) as exc:
            raise click.ClickException(f"{path}: not a readable parquet file ({exc})") from None
    if suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{path}: not valid JSON ({exc})") from None
        try:
            return _non_empty(path, _json_input(data))
        except (KeyError, TypeError, ValueError) as exc:
            raise click.ClickException(
                f"{path}: not an input MLflow reads ({type(exc).__name__}: {exc}); give "
                '{"dataframe_split": {"columns": [...], "data": [[...]]}}, {"dataframe_records": [...]}, '
                '{"inputs": [...]} or {"instances": [...]}'
            ) from None
    raise click.ClickException(f"input must be .csv, .json or .parquet, not {path.name}")


def _read_csv(path: Path):
    try:
        import pandas as pd
    except ImportError:
        import numpy as np

        return np.genfromtxt(path, delimiter=",", skip_header=1)
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise click.ClickException(f"{path}: the CSV file is empty (it needs a header row and data rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: not a readable CSV file ({exc})") from None


def _json_input(data):
    if isinstance(data, dict) and ("dataframe_split" in data or "dataframe_records" in data or "columns" in data):
        import pandas as pd

        if "dataframe_records" in data:
            return pd.DataFrame(data["dataframe_records"])
        split = data.get("dataframe_split", data)
        return pd.DataFrame(split["data"], columns=split.get("columns"))
    import numpy as np

    if isinstance(data, dict):
        if "inputs" not in data and "instances" not in data:
            raise KeyError("no 'inputs', 'instances', 'dataframe_split' or 'dataframe_records' key")
        data = data.get("inputs", data.get("instances"))
    return np.asarray(data)


def _non_empty(path: Path, data):
    if len(data) == 0:
        raise click.ClickException(f"{path}: no input rows to predict on")
    return data


@models.command("predict")
@click.option("-m", "--model-uri", required=True, help="runs:/..., models:/NAME/VERSION|STAGE|latest, models:/NAME@ALIAS or a folder.")
@click.option("-i", "--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Input rows: .csv, .json (MLflow serving formats) or .parquet.")
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write predictions here (.json or .csv) instead of stdout.")
@click.option("--allow-pickle", is_flag=True, help="Allow loading pickle-based models (runs their code).")
@click.option("--trust", "trusted_types", multiple=True, metavar="TYPE",
              help="Also trust this type in a skops model (repeatable), e.g. --trust mypkg.MyEstimator.")
@click.option("--no-verify", is_flag=True, help="Load a model that records no file hashes (MLflow's), unchecked.")
@click.option("--trust-code", is_flag=True,
              help="Allow a model from code to run its Python file (review it first: lighttrack models show-code).")
@click.pass_context
def predict(ctx, model_uri: str, input_path: Path, output_path: Path | None, allow_pickle: bool,
            trusted_types: tuple[str, ...], no_verify: bool, trust_code: bool) -> None:
    """Load a model and predict on an input file."""
    import lighttrack.pyfunc

    if output_path is not None and not output_path.absolute().parent.is_dir():
        raise click.ClickException(
            f"cannot write {output_path}: the folder {output_path.absolute().parent} does not exist (create it first)")
    data = _read_input(input_path)  # a bad input file is reported before the model is loaded
    client_from(ctx)  # the model URI resolves against the chosen file
    _point_api_at(ctx)
    with _warnings_as_notes():
        model = lighttrack.pyfunc.load_model(model_uri, allow_pickle=allow_pickle or None,
                                             trusted_types=list(trusted_types), verify=not no_verify,
                                             trust_code=trust_code or None)
    try:
        result = model.predict(data)
    except (ValueError, TypeError, KeyError) as exc:  # the model's own complaint about the input
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise click.ClickException(f"the model cannot predict on {input_path}: {text}") from None
    values = _plain(result)
    if output_path is not None and output_path.suffix.lower() == ".csv":
        if not isinstance(values, list) or any(isinstance(v, (dict, list)) for v in values):
            raise click.ClickException("these predictions are not one value per row: write them as .json")
        output_path.write_text("prediction\n" + "\n".join(map(str, values)) + "\n")
        return
    text = json.dumps({"predictions": values})
    if output_path is not None:
        output_path.write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")


@models.command("show-code")
@click.argument("model_uri")
@click.option("--no-verify", is_flag=True, help="Show the code of a model that records no file hashes (MLflow's).")
@click.pass_context
def show_code(ctx, model_uri: str, no_verify: bool) -> None:
    """Print a model-from-code model's Python file (without running it), to review before --trust-code."""
    from lighttrack.models.from_code import show_code as read_code

    client_from(ctx)
    _point_api_at(ctx)
    with _warnings_as_notes():
        name, digest, text = read_code(model_uri, verify=not no_verify)
    click.echo(f"# {name} (sha256 {digest}): loading this model runs this file", err=True)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _plain(result):
    """Predictions as JSON values: arrays, Series, DataFrames (records) and dicts of outputs
    (ONNX, multi-output models) alike."""
    if isinstance(result, dict):
        return {str(k): _plain(v) for k, v in result.items()}
    if type(result).__name__ == "DataFrame":
        return [{str(k): _plain(v) for k, v in row.items()} for row in result.to_dict(orient="records")]
    if hasattr(result, "tolist"):
        return result.tolist()
    if isinstance(result, (list, tuple)):
        return [_plain(v) for v in result]
    return result


@contextmanager
def _warnings_as_notes():
    """A load warning (unverified model) reaches the user as one line on stderr, not a stack."""
    from lighttrack.models.files import UnverifiedModelWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnverifiedModelWarning)
        yield
    for item in caught:
        if issubclass(item.category, UnverifiedModelWarning):
            click.echo(f"warning: {item.message}", err=True)
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


def _point_api_at(ctx) -> None:
    uri = (ctx.obj or {}).get("tracking_uri")
    if uri:
        import lighttrack

        lighttrack.set_tracking_uri(uri)


@models.command("export")
@click.argument("model_uri")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def export(ctx, model_uri: str, directory: Path) -> None:
    """Write MODEL_URI as a self-contained MLflow model DIRECTORY (no lighttrack file needed)."""
    import shutil

    from lighttrack.pyfunc import open_model_folder

    if directory.exists() and any(directory.iterdir()):
        raise click.ClickException(f"{directory} exists and is not empty: choose a new folder")
    _point_api_at(ctx)
    folder, _, tmp = open_model_folder(model_uri)  # checks the hashes before anything is written
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, directory, dirs_exist_ok=True)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    click.echo(f"exported {model_uri} to {directory}")


@models.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("name")
@click.pass_context
def import_model(ctx, directory: Path, name: str) -> None:
    """Store an MLflow model DIRECTORY in the file and register it as a new version of NAME."""
    from lighttrack.models.logged import register_model

    version = register_model(str(directory), name, client=client_from(ctx))
    click.echo(f"imported {directory} as {name} version {version.version} ({version.source})")


@models.command("convert")
@click.argument("model_uri")
@click.option("--to", "target", type=click.Choice(["onnx"]), required=True, help="The format to convert to.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Write the converted model to this new folder (default: log it beside the original).")
@click.option("--allow-pickle", is_flag=True, help="Allow loading a pickle-based sklearn model (runs its code).")
@click.option("--trust", "trusted_types", multiple=True, metavar="TYPE", help="Also trust this skops type.")
@click.option("--no-verify", is_flag=True, help="Convert a model that records no file hashes, unchecked.")
@click.pass_context
def convert(ctx, model_uri: str, target: str, output: Path | None, allow_pickle: bool,
            trusted_types: tuple[str, ...], no_verify: bool) -> None:
    """Convert a scikit-learn MODEL_URI to ONNX (skl2onnx): portable, no Python code to trust."""
    from lighttrack.onnx.convert import convert as to_onnx

    if output is not None and output.exists() and any(output.iterdir()):
        raise click.ClickException(f"{output} exists and is not empty: choose a new folder")
    client = client_from(ctx)
    _point_api_at(ctx)
    with _warnings_as_notes():
        where = to_onnx(model_uri, output, trusted_types=list(trusted_types), verify=not no_verify,
                        allow_pickle=allow_pickle or None, client=client)
    click.echo(f"converted {model_uri} to ONNX: {where}")
