"""``lighttrack models serve``, ``generate-dockerfile`` and ``build-docker``.

Attached to the ``models`` group in ``cli/__init__.py``. uvicorn and starlette are imported
only when a server starts (the ``serve`` extra).
"""

from __future__ import annotations

from pathlib import Path

import click

from lighttrack.cli.common import client_from

_URI_HELP = "runs:/..., models:/NAME/VERSION|STAGE|latest, models:/NAME@ALIAS or a model folder."


@click.command("serve")
@click.option("-m", "--model-uri", required=True, help=_URI_HELP)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 makes the model reachable from other machines.")
@click.option("-p", "--port", default=5001, show_default=True, type=int, help="Port to listen on (0: any free one).")
@click.option("-w", "--workers", default=1, show_default=True, type=int, help="Server processes.")
@click.option("--log-requests", is_flag=True,
              help="Record a serving run in the file: request count, latency p50/p99, errors, a sample table.")
@click.option("--log-interval", default=5.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between request-log metric points.")
@click.option("--no-batching", is_flag=True,
              help="Predict every request on its own (default: rows of requests that queue together share one "
                   "predict call, for row-wise flavours only).")
@click.option("--allow-pickle", is_flag=True, help="Allow loading pickle-based models (runs their code).")
@click.option("--trust-code", is_flag=True,
              help="Allow a model from code to run its Python file (review it first: lighttrack models show-code).")
@click.pass_context
def serve(ctx, model_uri: str, host: str, port: int, workers: int, log_requests: bool, log_interval: float,
          no_batching: bool, allow_pickle: bool, trust_code: bool) -> None:
    """Serve a model over MLflow's scoring protocol (POST /invocations, GET /ping /health /version)."""
    from lighttrack.serving.server import ServeOptions, serve as run_server

    client = client_from(ctx)
    options = ServeOptions(
        model_uri=model_uri, tracking_uri=str(client.path), host=host, port=port, workers=workers,
        log_requests=log_requests, log_interval=log_interval, batching=not no_batching,
        allow_pickle=allow_pickle or None, trust_code=trust_code or None,
    )
    run_server(options, echo=lambda line: click.echo(line, err=True))


@click.command("generate-dockerfile")
@click.option("-m", "--model-uri", required=True, help=_URI_HELP)
@click.option("-o", "-d", "--output-directory", "directory", required=True,
              type=click.Path(file_okay=False, path_type=Path), help="New or empty folder to write.")
@click.pass_context
def generate_dockerfile(ctx, model_uri: str, directory: Path) -> None:
    """Write a folder (model, lighttrack, Dockerfile) whose image serves the model on port 8080."""
    from lighttrack.serving.dockerfile import generate

    client_from(ctx)
    _point_api_at(ctx)
    dockerfile = generate(model_uri, directory)
    click.echo(f"wrote {dockerfile}; build it with: docker build -t IMAGE {directory}")


@click.command("build-docker")
@click.option("-m", "--model-uri", required=True, help=_URI_HELP)
@click.option("-n", "--name", "image", required=True, help="Image name, e.g. iris-forest:3.")
@click.pass_context
def build_docker(ctx, model_uri: str, image: str) -> None:
    """Build a Docker image that serves the model on port 8080 (needs a Docker engine)."""
    import tempfile

    from lighttrack.serving.dockerfile import build, docker_engine

    docker_engine()  # says in one line when there is none, before anything is exported
    client_from(ctx)
    _point_api_at(ctx)
    with tempfile.TemporaryDirectory(prefix="lighttrack-docker-") as tmp:
        build(model_uri, image, Path(tmp) / "context")
    click.echo(f"built image {image}: docker run -p 8080:8080 {image}")


def _point_api_at(ctx) -> None:
    uri = (ctx.obj or {}).get("tracking_uri")
    if uri:
        import lighttrack

        lighttrack.set_tracking_uri(uri)


COMMANDS = (serve, generate_dockerfile, build_docker)
