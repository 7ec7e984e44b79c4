"""Charts drawn with textual-plotext: overlaid metric lines and run scatters.

The widgets keep the full series and downsample at draw time to their own width (see
``tui.series``), and cache what they drew, so re-rendering on focus changes costs nothing.
"""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import Static
from textual_plotext import PlotextPlot

import numpy as np

from tui.format import colour, ellipsize, number, rich_colour
from tui.series import X_AXIS_LABELS, Prepared, Series, prepare


class MetricChart(PlotextPlot):
    """One or more metric series, one line each, with the chosen x axis, smoothing and scale."""

    DEFAULT_CSS = """
    MetricChart { height: 1fr; min-height: 6; }
    """

    def __init__(self, *, empty_text: str = "no points to draw", name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.series: list[Series] = []
        self.axis = "step"
        self.smoothing = 0.0
        self.log_y = False
        self.clip: bool | None = None  # None: clip outliers when one series dwarfs the rest
        self.empty_text = empty_text
        self.prepared: Prepared | None = None
        self._version = 0
        self._cache_key: tuple | None = None
        self._cached: Text | None = None

    def show(self, series: list[Series], *, empty_text: str | None = None) -> None:
        self.series = list(series)
        if empty_text is not None:
            self.empty_text = empty_text
        self._changed()

    def set_options(self, *, axis: str | None = None, smoothing: float | None = None,
                    log_y: bool | None = None, clip: bool | None | str = "keep") -> None:
        if clip != "keep":
            self.clip = clip  # type: ignore[assignment]
        if axis is not None:
            self.axis = axis
        if smoothing is not None:
            self.smoothing = smoothing
        if log_y is not None:
            self.log_y = log_y
        self._changed()

    @property
    def options_text(self) -> str:
        parts = [f"x: {X_AXIS_LABELS[self.axis]}"]
        parts.append(f"EMA {self.smoothing:g}" if self.smoothing else "no smoothing")
        parts.append("log y" if self.log_y else "linear y")
        return " · ".join(parts)

    @property
    def clipping(self) -> bool:
        """Whether the y axis is clipped to the bulk of the points right now."""
        from tui.series import robust_range

        ys = [s.values[np.isfinite(s.values)] for s in self.series]
        return robust_range(ys, self.clip)[1]

    def _changed(self) -> None:
        self._version += 1
        self.refresh()

    def draw(self, width: int, height: int) -> Text:
        """Downsample to ``width`` columns and build the plot (also used by the benchmark)."""
        plt = self.plt
        plt.clear_figure()
        plt.plotsize(width, height)
        plt._set_size(width, height)  # as PlotextPlot.render does: plotsize alone does not stick
        prepared = prepare(self.series, axis=self.axis, buckets=max(16, width * 2),
                           smoothing=self.smoothing, log_y=self.log_y, clip=self.clip)
        self.prepared = prepared
        if not prepared.lines:
            return Text(self.empty_text, style="dim", justify="center")
        if all(line.points <= 1 for line in prepared.lines):
            # one value per run: a number, not a lone dot on a -1..1 axis
            text = Text(justify="center")
            for line in prepared.lines:
                text.append("■\u00a0", style=rich_colour(line.colour))
                text.append(f"{number(float(line.y[-1]), 6)}  (one value, step {int(line.x[-1]):,})\n")
            return text
        for line in prepared.lines:
            plt.plot(line.x.tolist(), line.y.tolist(), marker="braille", color=colour(line.colour))
        plt.xlabel(prepared.x_label)
        if prepared.x_ticks is not None:
            plt.xticks(*prepared.x_ticks)
        if self.log_y:
            plt.yscale("log")
        if prepared.y_range is not None:
            plt.ylim(*prepared.y_range)
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        return Text.from_ansi(plt.build())

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        key = (width, height, self.app.theme, self._version)
        if key != self._cache_key or self._cached is None:
            self._cached = self.draw(width, height) if width > 4 and height > 2 else Text("")
            self._cache_key = key
        return self._cached


class ScatterChart(PlotextPlot):
    """Runs as points: x and y are any param or metric; text values become categories."""

    DEFAULT_CSS = """
    ScatterChart { height: 1fr; min-height: 6; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.points: list[tuple[str, object, object, int]] = []
        self.x_label = ""
        self.y_label = ""
        self._version = 0
        self._cache_key: tuple | None = None
        self._cached: Text | None = None

    def show(self, points: list[tuple[str, object, object, int]], x_label: str, y_label: str) -> None:
        """``points``: (run name, x value, y value, colour index); missing values are skipped."""
        self.points = [p for p in points if p[1] is not None and p[2] is not None]
        self.x_label, self.y_label = x_label, y_label
        self._version += 1
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        key = (width, height, self.app.theme, self._version)
        if key == self._cache_key and self._cached is not None:
            return self._cached
        plt = self.plt
        plt.clear_figure()
        plt.plotsize(width, height)
        plt._set_size(width, height)  # as PlotextPlot.render does: plotsize alone does not stick
        if not self.points or width <= 4 or height <= 2:
            text = Text("no run has both values", style="dim", justify="center")
        else:
            xs, x_ticks = _axis([p[1] for p in self.points])
            ys, y_ticks = _axis([p[2] for p in self.points])
            groups: dict[int, tuple[list[float], list[float]]] = {}
            for (_, _, _, c), x, y in zip(self.points, xs, ys):
                gx, gy = groups.setdefault(c, ([], []))
                gx.append(x)
                gy.append(y)
            for c, (gx, gy) in groups.items():
                plt.scatter(gx, gy, marker="dot" if len(self.points) > 200 else "●", color=colour(c))
            if x_ticks:
                plt.xticks(*x_ticks)
            if y_ticks:
                plt.yticks(*y_ticks)
            plt.xlabel(self.x_label)
            plt.ylabel(self.y_label)
            plt.theme(self._get_plotext_theme_name(self.app.theme))
            text = Text.from_ansi(plt.build())
        self._cached, self._cache_key = text, key
        return text


def _axis(values: list[object]) -> tuple[list[float], tuple[list[float], list[str]] | None]:
    """Numbers stay numbers; if any value is text, every value becomes a category."""
    numbers = []
    for value in values:
        try:
            numbers.append(float(value))  # params are strings: '0.01' is a number here
        except (TypeError, ValueError):
            break
    else:
        return numbers, None
    categories = sorted({str(v) for v in values})
    index = {c: i for i, c in enumerate(categories)}
    return [float(index[str(v)]) for v in values], (
        [float(i) for i in range(len(categories))], [ellipsize(c, 10) for c in categories])


class Legend(Static):
    """Which colour is which run: ``■ name`` items that wrap to the width. With ``keys``, each
    entry shows the key that hides or shows its line; hidden entries are struck through."""

    DEFAULT_CSS = """
    Legend { height: auto; max-height: 4; padding: 0 1; }
    """

    def show(self, entries: list[tuple[str, int]], note: str = "", *, keys: list[str] | None = None,
             hidden: set[int] | None = None) -> None:
        text = Text()
        hidden = hidden or set()
        for i, (label, c) in enumerate(entries):
            if i:
                text.append("  ")
            off = i in hidden
            # one unbreakable piece: the colour square never wraps away from its name
            if keys and i < len(keys):
                text.append(f"{keys[i]}\u00a0", style="bold" if not off else "dim")
            text.append("■\u00a0" if not off else "□\u00a0", style=rich_colour(c))
            text.append(ellipsize(label, 24).replace(" ", "\u00a0"), style="dim strike" if off else "")
        if note:
            text.append(("  " if entries else "") + note, style="dim")
        self.update(text)


class GridChart(MetricChart):
    """A small chart in a grid of every metric: focusable, Enter opens it big."""

    can_focus = True
    BINDINGS = [("enter", "open", "Open big")]
    DEFAULT_CSS = """
    GridChart:focus { border: round $accent; }
    """

    class Open(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def action_open(self) -> None:
        if self.name:
            self.post_message(self.Open(self.name))
