"""``lighttrack plot RUN... --metric KEY -o out.svg``: the UI's overlaid chart, without the UI.

The drawing lives in ``tui.plotting`` (plotext and numpy, never Textual), loaded only when
this command runs, so the core's import stays light (checked by a test).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from lighttrack.client import LighttrackClient
from lighttrack.config import resolve_path

FORMATS = (".svg", ".png")


@click.command()
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@click.option("-m", "--metric", "metric", required=True, metavar="KEY", help="The metric to draw, one line per run.")
@click.option("-o", "--output", "output", required=True, metavar="FILE",
              help="Where to write the chart: .svg (always) or .png (needs matplotlib).")
@click.option("--x", "axis", type=click.Choice(["step", "relative", "wall"]), default="step", show_default=True,
              help="The x axis: step, relative time or wall time.")
@click.option("--ema", "smoothing", type=click.FloatRange(0, 0.999), default=0.0, show_default=True,
              help="Exponential moving average weight (0 = raw points).")
@click.option("--log-y", is_flag=True, help="A log scale for the y axis.")
@click.option("--outliers/--clip-outliers", "keep_outliers", default=None,
              help="Show every point / clip y to the 1-99% quantiles (default: clip when one run dwarfs the rest).")
@click.option("--size", default="100x28", show_default=True, metavar="COLSxROWS",
              help="The SVG's size in terminal cells.")
@click.option("--light", is_flag=True, help="Light background (SVG).")
@click.pass_context
def plot(ctx: click.Context, runs: tuple[str, ...], metric: str, output: str, axis: str, smoothing: float,
         log_y: bool, keep_outliers: bool | None, size: str, light: bool) -> None:
    """Draw a metric of one or more runs, overlaid, into an SVG or PNG file."""
    target = Path(output)
    if target.suffix.lower() not in FORMATS:
        raise click.ClickException(f"{output}: the output must end in .svg or .png")
    try:
        cols, rows = (int(part) for part in size.lower().split("x"))
        if not (20 <= cols <= 1000 and 8 <= rows <= 500):
            raise ValueError
    except ValueError:
        raise click.ClickException(f"--size {size!r}: expected COLSxROWS such as 100x28 (20-1000 x 8-500)") from None
    path = resolve_path((ctx.obj or {}).get("tracking_uri"))
    if not path.exists():
        raise click.ClickException(f"{path}: no such file")
    client = LighttrackClient(path)
    plotting = importlib.import_module("tui.plotting")
    series, names = [], []
    for i, text in enumerate(runs):
        run = client.get_run(client.resolve_run_id(text))
        if metric not in run.data.metrics:
            have = ", ".join(sorted(run.data.metrics)) or "none"
            raise click.ClickException(f"run {run.info.run_name} has no metric {metric!r} (its metrics: {have})")
        steps, timestamps, values = client.metric_history_arrays(run.info.run_id, metric)
        series.append(plotting.Series(run.info.run_name, steps, timestamps, values, i))
        names.append(run.info.run_name)
    plotting.labelled(series, names)
    clip = None if keep_outliers is None else not keep_outliers
    title = f"{metric} · {len(series)} run(s)"
    if target.suffix.lower() == ".png":
        if not plotting.png_available():
            raise click.ClickException("PNG output needs matplotlib (pip install matplotlib); .svg works without it")
        plotting.save_png(target, series, title=title, axis=axis, smoothing=smoothing, log_y=log_y, clip=clip)
    else:
        text = plotting.chart_text(series, width=cols, height=rows, title=title, axis=axis, smoothing=smoothing,
                                   log_y=log_y, clip=clip, dark=not light)
        plotting.save_svg(target, text, title)
    click.echo(f"wrote {target} ({metric}, {len(series)} run(s))")
