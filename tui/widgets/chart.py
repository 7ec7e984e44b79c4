"""Charts drawn with textual-plotext: overlaid metric lines and run scatters.

The widgets keep the full series and downsample at draw time to their own width (see
``tui.series``), and cache what they drew, so re-rendering on focus changes costs nothing.
"""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static
from textual_plotext import PlotextPlot

from tui.format import colour, ellipsize, ellipsize_middle, number, rich_colour
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
                text.append(f"{ellipsize_middle(line.label, 30)}: {number(float(line.y[-1]), 6)}"
                            f"  (one value, step {int(line.x[-1]):,})\n")
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
    """Runs as points: x and y are any param or metric; text values become categories.
    Focusable: ←/→ pick a dot (in x order), Enter opens its run, L toggles a log x axis."""

    can_focus = True
    BINDINGS = [
        Binding("right", "pick(1)", "Next dot", show=False),
        Binding("left", "pick(-1)", "Previous dot", show=False),
        Binding("enter", "open", "Open run", id="scatter.open", tooltip="Open the run of the picked dot"),
        Binding("L", "log_x", "Log x", id="scatter.log_x", tooltip="Toggle a log scale for the x axis"),
    ]
    DEFAULT_CSS = """
    ScatterChart { height: 1fr; min-height: 6; }
    ScatterChart:focus { border: round $accent; }
    """

    class Picked(Message):
        """The picked dot changed (the screen says whose it is)."""

    class OpenRun(Message):
        def __init__(self, run_id: str) -> None:
            super().__init__()
            self.run_id = run_id

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.points: list[tuple[str, object, object, int]] = []
        self.run_ids: list[str] = []
        self.x_label = ""
        self.y_label = ""
        self.log_x = False
        self.log_x_choice: bool | None = None  # None: automatic (decades of positive values)
        self.picked: int | None = None  # index into points
        self._version = 0
        self._cache_key: tuple | None = None
        self._cached: Text | None = None

    def show(self, points: list[tuple[str, object, object, int]], x_label: str, y_label: str, *,
             run_ids: list[str] | None = None, log_x: bool = False) -> None:
        """``points``: (run name, x value, y value, colour index); missing values are skipped."""
        ids = run_ids or [""] * len(points)
        kept = [(p, i) for p, i in zip(points, ids) if p[1] is not None and p[2] is not None]
        old = self.run_ids[self.picked] if self.picked is not None and self.picked < len(self.run_ids) else None
        self.points = [p for p, _ in kept]
        self.run_ids = [i for _, i in kept]
        self.picked = self.run_ids.index(old) if old in self.run_ids else None
        self.x_label, self.y_label = x_label, y_label
        self.log_x = log_x
        self._version += 1
        self.refresh()

    def _order(self) -> list[int]:
        xs, _ = _axis([p[1] for p in self.points])
        ys, _ = _axis([p[2] for p in self.points])
        return sorted(range(len(self.points)), key=lambda i: (xs[i], ys[i]))

    def action_pick(self, step: int) -> None:
        if not self.points:
            return
        order = self._order()
        at = order.index(self.picked) if self.picked in order else (-1 if step > 0 else 0)
        self.picked = order[(at + step) % len(order)]
        self._version += 1
        self.refresh()
        self.post_message(self.Picked())

    def action_open(self) -> None:
        if self.picked is not None and self.run_ids[self.picked]:
            self.post_message(self.OpenRun(self.run_ids[self.picked]))

    def action_log_x(self) -> None:
        self.log_x_choice = not self.log_x
        self.post_message(self.Picked())  # the screen redraws with the new choice

    def picked_text(self) -> str:
        if self.picked is None or self.picked >= len(self.points):
            return ""
        name, x, y, _ = self.points[self.picked]

        def shown(value: object) -> str:
            return number(value) if isinstance(value, float) else str(value)
        return f"● {name}: {self.x_label}={shown(x)}, {self.y_label}={shown(y)}"

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
            if self.log_x and x_ticks is None:
                xs = [math.log10(v) for v in xs]
                x_ticks = _log_ticks(min(xs), max(xs))
            groups: dict[int, tuple[list[float], list[float]]] = {}
            for (_, _, _, c), x, y in zip(self.points, xs, ys):
                gx, gy = groups.setdefault(c, ([], []))
                gx.append(x)
                gy.append(y)
            for c, (gx, gy) in groups.items():
                plt.scatter(gx, gy, marker="dot" if len(self.points) > 200 else "●", color=colour(c))
            if self.picked is not None and self.picked < len(xs):
                plt.scatter([xs[self.picked]], [ys[self.picked]], marker="◉", color="white"
                            if self.app.current_theme.dark else "black")
            if x_ticks:
                plt.xticks(*x_ticks)
            if y_ticks:
                plt.yticks(*y_ticks)
            plt.xlabel(self.x_label + (" (log)" if self.log_x else ""))
            plt.ylabel(self.y_label)
            plt.theme(self._get_plotext_theme_name(self.app.theme))
            text = Text.from_ansi(plt.build())
        self._cached, self._cache_key = text, key
        return text


def _log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Ticks at whole decades of a log10 axis, labelled with the values (0.001, 0.01...)."""
    first, last = math.floor(lo), math.ceil(hi)
    ticks = [float(t) for t in range(first, last + 1)]
    return ticks, [f"{10 ** t:g}" for t in ticks]


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
