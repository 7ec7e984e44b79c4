"""Parallel coordinates for a sweep: one vertical axis per varying param and the metric
last, one line per run, coloured by the metric (dark to bright = low to high), so "which
learning rates give the best accuracy" reads at a glance. MLflow's web UI has this view; here
it is drawn with plotext in the terminal.

Each axis is scaled to 0..1 over its own values: numbers linearly (log10 when they span two
decades or more), text values as evenly spaced categories named in the axis label.
"""

from __future__ import annotations

import math
import random

from rich.text import Text
from textual_plotext import PlotextPlot

from lighttrack.entities import Run

from tui.format import ellipsize, number

MAX_AXES = 7
MAX_LINES = 400  # lines drawn; more runs are sampled (evenly, the same each time)
#: Low -> high metric (viridis-like: tells order apart on dark and light backgrounds).
GRADIENT = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]


def axes_for(runs: list[Run], primary: str | None) -> tuple[list[str], str | None]:
    """The params whose values vary (up to MAX_AXES - 1) and the metric to colour by."""
    params = sorted({k for run in runs for k in run.data.params})
    moving = [k for k in params if len({run.data.params.get(k) for run in runs}) > 1][: MAX_AXES - 1]
    metrics = sorted({k for run in runs for k in run.data.metrics})
    if primary in metrics:
        return moving, primary
    varying = [k for k in metrics if len({run.data.metrics.get(k) for run in runs}) > 1]
    return moving, (varying or metrics or [None])[0]


def scale(values: list[object]) -> tuple[list[float | None], str]:
    """0..1 positions for one axis and a short note of its range (or its categories)."""
    present = [v for v in values if v is not None]
    try:
        numbers = [float(v) for v in present]  # params are text: '0.01' is a number here
    except (TypeError, ValueError):
        categories = sorted({str(v) for v in present})
        index = {c: i for i, c in enumerate(categories)}
        span = max(1, len(categories) - 1)
        return ([None if v is None else index[str(v)] / span for v in values],
                "/".join(ellipsize(c, 6) for c in categories[:4]) + ("/…" if len(categories) > 4 else ""))
    if not numbers:
        return [None] * len(values), ""
    lo, hi = min(numbers), max(numbers)
    log = lo > 0 and hi / lo >= 100
    f = (lambda x: math.log10(x)) if log else (lambda x: x)
    a, b = f(lo), f(hi)
    width = (b - a) or 1.0
    positions = [None if v is None else (f(float(v)) - a) / width for v in values]
    return positions, f"{number(lo)}..{number(hi)}" + (" log" if log else "")


class ParallelChart(PlotextPlot):
    DEFAULT_CSS = """
    ParallelChart { height: 1fr; min-height: 8; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs: list[Run] = []
        self.params: list[str] = []
        self.metric: str | None = None
        self.note = ""
        self._version = 0
        self._cache_key: tuple | None = None
        self._cached: Text | None = None

    def show_runs(self, runs: list[Run], primary: str | None = None) -> None:
        self.params, self.metric = axes_for(runs, primary)
        runs = [r for r in runs if self.metric is None or r.data.metrics.get(self.metric) is not None]
        if len(runs) > MAX_LINES:
            runs = random.Random(0).sample(runs, MAX_LINES)
            self.note = f" · {MAX_LINES} of the runs drawn"
        else:
            self.note = ""
        self.runs = runs
        self._version += 1
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        key = (width, height, self.app.theme, self._version)
        if key == self._cache_key and self._cached is not None:
            return self._cached
        text = self._draw(width, height)
        self._cached, self._cache_key = text, key
        return text

    def _draw(self, width: int, height: int) -> Text:
        if not self.runs or self.metric is None or not self.params or width <= 10 or height <= 4:
            return Text("parallel coordinates need runs with a metric and a param that varies", style="dim",
                        justify="center")
        plt = self.plt
        plt.clear_figure()
        plt.plotsize(width, height)
        plt._set_size(width, height)  # as PlotextPlot.render does: plotsize alone does not stick
        columns = [scale([r.data.params.get(p) for r in self.runs]) for p in self.params]
        metric_values = [r.data.metrics.get(self.metric) for r in self.runs]
        metric_pos, metric_note = scale(metric_values)
        columns.append((metric_pos, metric_note))
        # lowest first, so the best runs are drawn last (on top)
        order = sorted(range(len(self.runs)), key=lambda i: metric_pos[i] if metric_pos[i] is not None else -1)
        for i in order:
            xs, ys = [], []
            for axis, (positions, _) in enumerate(columns):
                if positions[i] is not None:
                    xs.append(float(axis))
                    ys.append(positions[i])
            shade = GRADIENT[min(len(GRADIENT) - 1, int((metric_pos[i] or 0) * len(GRADIENT)))]
            plt.plot(xs, ys, marker="braille", color=shade)
        labels = [f"{ellipsize(name, 14)}" for name in self.params] + [f"{ellipsize(self.metric, 14)}"]
        plt.xticks(list(range(len(labels))), labels)
        plt.yticks([0, 1], ["low", "high"])
        plt.xlim(-0.2, len(labels) - 0.8)
        ranges = " · ".join(f"{name}: {note}" for name, (_, note) in zip(self.params + [self.metric], columns))
        plt.title(ellipsize(f"colour = {self.metric} (dark low, bright high){self.note}", width - 4))
        plt.xlabel(ellipsize(ranges, width - 4))
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        return Text.from_ansi(plt.build())
