"""MLflow's CLI spellings on lighttrack's commands, where MLflow has the same command.

Added here, on the finished commands, rather than in each command's module: the shorter
lighttrack forms stay as they are and every MLflow spelling is listed in one place (which is
also what ``lighttrack --help`` shows). An extra option spelling is one more entry in the
option's ``opts``; an argument that MLflow passes as an option becomes optional, with the
option feeding it.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

#: (MLflow command, lighttrack command) for the --help epilog
MAPPING = [
    ("mlflow experiments search", "lighttrack experiments list (or: experiments search)"),
    ("mlflow experiments create -n NAME", "lighttrack experiments create NAME (-n/--experiment-name too)"),
    ("mlflow experiments delete --experiment-id ID", "lighttrack experiments delete ID (--experiment-id too)"),
    ("mlflow experiments restore --experiment-id ID", "lighttrack experiments restore ID (--experiment-id too)"),
    ("mlflow experiments rename --experiment-id ID --new-name N", "lighttrack experiments rename ID N"),
    ("mlflow runs list --experiment-id ID", "lighttrack runs list -x ID (--experiment-id too)"),
    ("mlflow runs describe --run-id ID", "lighttrack runs show ID (or: runs describe --run-id ID)"),
    ("mlflow runs delete/restore --run-id ID", "lighttrack runs delete/restore ID (--run-id too)"),
    ("mlflow models predict -m URI -i IN -o OUT -t csv", "lighttrack models predict (same options; --input-path/--output-path too)"),
    ("mlflow models serve -m URI", "lighttrack models serve -m URI"),
    ("mlflow run URI -v VERSION -P k=v", "lighttrack run URI (-v/--version, -P the same)"),
    ("mlflow gc", "lighttrack gc"),
    ("mlflow server / mlflow ui", "lighttrack ui (a terminal UI; no web server)"),
]


def _option(command: click.Command, name: str) -> click.Option:
    return next(p for p in command.params if isinstance(p, click.Option) and p.name == name)


def add_spelling(command: click.Command, name: str, *spellings: str) -> None:
    """One more way to write an existing option."""
    _option(command, name).opts.extend(spellings)


def argument_as_option(command: click.Command, argument: str, *decls: str, help: str) -> None:
    """Let MLflow's ``--experiment-id ID`` stand for the positional ARGUMENT (one of them is needed)."""
    target = next(p for p in command.params if isinstance(p, click.Argument) and p.name == argument)
    target.required = False
    alias = f"_mlflow_{argument}"
    command.params.append(click.Option([alias, *decls], help=help, metavar=argument.upper()))
    callback = command.callback

    @functools.wraps(callback)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        given = kwargs.pop(alias, None)
        if kwargs.get(argument) in (None, ()) and given is not None:
            kwargs[argument] = (given,) if target.nargs == -1 else given
        if kwargs.get(argument) in (None, ()):
            raise click.UsageError(f"give {argument.upper()} (or {decls[-1]})")
        return callback(*args, **kwargs)

    command.callback = wrapped


def _describe(show: click.Command) -> click.Command:
    """``runs describe --run-id ID``: MLflow's name for ``runs show``, with its JSON by default."""
    fmt = _option(show, "output_format")

    @click.command("describe", help="MLflow's `runs describe --run-id ID`: the same as `runs show ID --format json`.")
    @click.option("--run-id", "run", required=True, help="The run (id, id prefix or name).")
    @click.option("--format", "output_format", type=fmt.type, default="json", show_default=True, help="Output format.")
    @click.pass_context
    def describe(ctx: click.Context, run: str, output_format: str) -> None:
        ctx.invoke(show, run=run, output_format=output_format)

    return describe


def _content_type(predict: click.Command) -> None:
    """``-t/--content-type csv|json``: MLflow reads the input by this, lighttrack by the file's
    suffix; a file whose suffix disagrees is read as the type given."""
    predict.params.append(click.Option(
        ["-t", "--content-type"], "content_type", type=click.Choice(["json", "csv", "parquet"]),
        help="Input format (default: from the file's suffix), as MLflow's -t."))
    callback = predict.callback

    @functools.wraps(callback)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        content_type = kwargs.pop("content_type", None)
        source: Path = kwargs["input_path"]
        if content_type is None or source.suffix.lower() == f".{content_type}":
            return callback(*args, **kwargs)
        with tempfile.TemporaryDirectory(prefix="lighttrack-predict-") as tmp:
            typed = Path(tmp) / f"input.{content_type}"
            shutil.copyfile(source, typed)
            kwargs["input_path"] = typed
            return callback(*args, **kwargs)

    predict.callback = wrapped


def install(cli: click.Group) -> None:
    experiments = cli.commands["experiments"]
    runs = cli.commands["runs"]
    models = cli.commands["models"]
    experiments.add_command(experiments.commands["list"], "search")
    argument_as_option(experiments.commands["create"], "name", "-n", "--experiment-name",
                       help="MLflow's spelling of NAME.")
    for verb in ("delete", "restore"):
        argument_as_option(experiments.commands[verb], "experiment", "--experiment-id",
                           help="MLflow's spelling of EXPERIMENT.")
    add_spelling(runs.commands["list"], "experiments", "--experiment-id")
    for verb in ("delete", "restore"):
        argument_as_option(runs.commands[verb], "run_ids", "--run-id", help="MLflow's spelling of one RUN_ID.")
    runs.add_command(_describe(runs.commands["show"]))
    predict = models.commands["predict"]
    add_spelling(predict, "input_path", "--input-path")
    add_spelling(predict, "output_path", "--output-path")
    _content_type(predict)
    add_spelling(cli.commands["run"], "version", "-v")
    lines = "\n".join(f"  {theirs:<52} -> {ours}" for theirs, ours in MAPPING)
    cli.epilog = "\b\nMLflow commands and where they are here:\n" + lines
