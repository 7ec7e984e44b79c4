"""The overlaid metric chart outside the UI: ``lighttrack plot`` writes it as SVG (the same
plotext drawing the UI shows, through Rich's SVG export) or as PNG (with matplotlib, when it
is installed). No Textual here: a script or CI job can draw a chart without the UI.
"""

from __future__ import annotations

import io
from pathlib import Path

from tui.format import PALETTE, colour, ellipsize, short_labels
from tui.series import Series, dropped_notes, prepare


def chart_text(series: list[Series], *, width: int = 100, height: int = 28, title: str = "",
               axis: str = "step", smoothing: float = 0.0, log_y: bool = False,
               clip: bool | None = None, dark: bool = True) -> str:
    """The chart as ANSI text (what a terminal of ``width`` x ``height`` would show)."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    prepared = prepare(series, axis=axis, buckets=max(16, width * 2), smoothing=smoothing,
                       log_y=log_y, clip=clip)
    for line in prepared.lines:
        plt.plot(line.x.tolist(), line.y.tolist(), marker="braille", color=colour(line.colour),
                 label=ellipsize(line.label, 30))
    plt.xlabel(prepared.x_label)
    if prepared.x_ticks is not None:
        plt.xticks(*prepared.x_ticks)
    if log_y:
        plt.yscale("log")
    if prepared.y_range is not None:
        plt.ylim(*prepared.y_range)
    if title:
        plt.title(title)
    plt.theme("dark" if dark else "clear")
    text = plt.build()
    notes = dropped_notes(series, log_y) + (["y clipped to the bulk of the points (--outliers shows every point)"] if prepared.clipped else [])
    return text + ("\n" + "\n".join(notes) if notes else "")


def save_svg(path: Path, text: str, title: str) -> None:
    from rich.console import Console
    from rich.text import Text

    lines = text.splitlines()
    width = max((len(Text.from_ansi(line).plain) for line in lines), default=80)
    console = Console(record=True, width=width + 2, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor")
    console.print(Text.from_ansi(text))
    path.write_text(console.export_svg(title=title), encoding="utf-8")


def png_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def save_png(path: Path, series: list[Series], *, title: str, axis: str = "step", smoothing: float = 0.0,
             log_y: bool = False, clip: bool | None = None) -> None:
    """The same lines (same downsampling, smoothing, clipping and colours) drawn by matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    prepared = prepare(series, axis=axis, buckets=1000, smoothing=smoothing, log_y=log_y, clip=clip)
    figure, axes = pyplot.subplots(figsize=(10, 5.5), dpi=120)
    for line in prepared.lines:
        r, g, b = PALETTE[line.colour % len(PALETTE)]
        axes.plot(line.x, line.y, color=(r / 255, g / 255, b / 255), linewidth=1.2, label=line.label)
    axes.set_xlabel(prepared.x_label)
    axes.set_title(title)
    if log_y:
        axes.set_yscale("log")
    if prepared.y_range is not None:
        axes.set_ylim(*prepared.y_range)
    if prepared.x_ticks is not None:
        axes.set_xticks(prepared.x_ticks[0], prepared.x_ticks[1])
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def labelled(series: list[Series], names: list[str]) -> list[Series]:
    """Give each series a short label that tells the runs apart (as compare's legend does)."""
    for s, label in zip(series, short_labels(names, 30)):
        s.label = label
    return series
