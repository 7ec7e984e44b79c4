"""Metric series for charts: pick the x axis, downsample, smooth, and scale.

A terminal chart is at most a few hundred dots wide, so a series is cut into one bucket per
dot column and each bucket keeps its minimum and its maximum, in the order they came: a
spike of one point in a million still shows. Everything here is numpy and runs in a
fraction of the time the points take to read, so a 1,000,000-point metric draws in well
under 200 ms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

X_AXES = ("step", "relative", "wall")
X_AXIS_LABELS = {"step": "step", "relative": "relative time", "wall": "wall time"}
SMOOTHING_STEPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)


@dataclass
class Series:
    """One metric of one run, as read through ``client.metric_history_arrays``."""

    label: str
    steps: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray
    colour: int = 0
    run_id: str = ""  # whose series it is (compare hides and shows lines by run)

    def __len__(self) -> int:
        return int(len(self.values))


@dataclass
class Line:
    """What a chart draws for one series: already downsampled x and y."""

    label: str
    x: np.ndarray
    y: np.ndarray
    colour: int
    points: int  # how many points the series had before downsampling


@dataclass
class Prepared:
    lines: list[Line]
    x_label: str
    x_ticks: tuple[list[float], list[str]] | None = None
    notes: list[str] = field(default_factory=list)
    y_range: tuple[float, float] | None = None  # set when outliers are clipped away
    clipped: bool = False


def x_values(series: Series, axis: str) -> np.ndarray:
    """Seconds for time axes (relative to the run's first point), steps otherwise."""
    if axis == "step":
        return series.steps.astype(np.float64, copy=False)
    seconds = series.timestamps.astype(np.float64) / 1000.0
    if axis == "relative" and len(seconds):
        return seconds - seconds.min()
    return seconds


def downsample(x: np.ndarray, y: np.ndarray, buckets: int,
               lo: float | None = None, hi: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Keep each bucket's min and max (in the order they occur) over ``buckets`` equal slices
    of x, plus the last point; series shorter than two points a bucket come back unchanged
    (sorted by x)."""
    if len(x) == 0:
        return x, y
    if len(x) > 1 and np.any(np.diff(x) < 0):
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    if len(x) <= 2 * buckets:
        return x, y
    lo = float(x[0]) if lo is None else lo
    hi = float(x[-1]) if hi is None else hi
    if hi <= lo:
        return np.array([x[0], x[0]]), np.array([y.min(), y.max()])
    index = ((x - lo) * (buckets / (hi - lo))).astype(np.int64)
    np.clip(index, 0, buckets - 1, out=index)
    starts = np.flatnonzero(np.diff(index, prepend=-1))
    ends = np.append(starts[1:], len(x))
    mins = np.minimum.reduceat(y, starts)
    maxs = np.maximum.reduceat(y, starts)
    # Within a bucket, min first if the minimum came first: the line keeps its direction.
    argmin_first = _min_before_max(y, starts, ends, mins)
    first = np.where(argmin_first, mins, maxs)
    second = np.where(argmin_first, maxs, mins)
    bucket_x = x[starts]
    # ... and the last point itself, so the line ends at the latest value and step.
    xs = np.append(np.repeat(bucket_x, 2), x[-1])
    ys = np.append(np.column_stack([first, second]).ravel(), y[-1])
    return xs, ys


def _min_before_max(y: np.ndarray, starts: np.ndarray, ends: np.ndarray, mins: np.ndarray) -> np.ndarray:
    """Per bucket: draw the minimum first? Yes when the bucket rises (its first value is not
    above its last): at a dot's width, that is the direction the line travels."""
    return y[starts] <= y[ends - 1]


def smooth(y: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average (weight 0 = off, 0.99 = very smooth)."""
    if weight <= 0 or len(y) == 0:
        return y
    out = np.empty(len(y), dtype=np.float64)
    last = 0.0
    debias = 0.0
    for i, value in enumerate(y.tolist()):
        last = last * weight + (1 - weight) * value
        debias = debias * weight + (1 - weight)
        out[i] = last / debias
    return out


def smooth_large(x: np.ndarray, y: np.ndarray, weight: float, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Smoothing for long series: average into buckets first, then smooth the bucket means with
    the weight scaled to the points per bucket (same curve, a thousand times less work)."""
    if len(x) > 1 and np.any(np.diff(x) < 0):
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    lo, hi = float(x[0]), float(x[-1])
    if hi <= lo or len(x) <= 4 * buckets:
        return x, smooth(y, weight)
    index = ((x - lo) * (buckets / (hi - lo))).astype(np.int64)
    np.clip(index, 0, buckets - 1, out=index)
    starts = np.flatnonzero(np.diff(index, prepend=-1))
    ends = np.append(starts[1:], len(x))
    counts = ends - starts
    means = np.add.reduceat(y, starts) / counts
    per_bucket = float(np.mean(counts))
    # each mean is drawn at its bucket's last x, so the curve reaches the last point
    return x[ends - 1], smooth(means, weight ** per_bucket)


def robust_range(ys: list[np.ndarray], clip: bool | None) -> tuple[tuple[float, float] | None, bool]:
    """The y range to draw: every point, or the bulk of them. With ``clip`` None the bulk is
    used only when one series dwarfs the rest (its span over 10x the median span: a diverged
    run; the range then covers the other runs), so a single run's spike is never hidden
    unasked. With ``clip`` True and no such run, the bulk is the 1st..99th percentile of every
    point. Returns (range or None, whether clipped)."""
    finite = [y for y in ys if len(y)]
    if not finite or clip is False:
        return None, False
    spans = np.array([float(y.max() - y.min()) for y in finite])
    typical = float(np.median(spans))
    calm = [y for y, span in zip(finite, spans) if span <= 10 * typical] if len(finite) >= 2 else []
    if calm and len(calm) < len(finite) and typical > 0:
        lo = min(float(y.min()) for y in calm)
        hi = max(float(y.max()) for y in calm)
    else:
        if clip is None:
            return None, False  # automatic clipping is for a run that dwarfs the others only
        sample = np.concatenate([y if len(y) <= 20_000 else y[:: len(y) // 20_000 + 1] for y in finite])
        lo, hi = (float(v) for v in np.percentile(sample, [1, 99]))
    spread = hi - lo
    pad = spread * 0.1 if spread > 0 else 1.0
    return (lo - pad, hi + pad), True


def step_ticks(lo: float, hi: float, count: int = 5) -> tuple[list[float], list[str]] | None:
    """Whole-number ticks for a step axis (never 249.8)."""
    if hi <= lo:
        return None
    raw = (hi - lo) / max(1, count - 1)
    magnitude = 10 ** np.floor(np.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = max(1, int(round(step)))
    first = int(np.ceil(lo / step) * step)
    ticks = list(range(first, int(hi) + 1, step))
    return ([float(t) for t in ticks], [f"{t:,}" for t in ticks]) if ticks else None


def prepare(series: list[Series], *, axis: str = "step", buckets: int = 200,
            smoothing: float = 0.0, log_y: bool = False, clip: bool | None = False) -> Prepared:
    """Turn full series into the few hundred points a chart of ``buckets`` dot columns needs."""
    notes: list[str] = []
    xs = []
    for s in series:
        x = x_values(s, axis)
        y = s.values.astype(np.float64, copy=False)
        finite = np.isfinite(y)
        if not finite.all():
            notes.append(f"{s.label}: {int((~finite).sum())} NaN/inf point(s) not drawn")
            x, y = x[finite], y[finite]
        if log_y:
            positive = y > 0
            if not positive.all():
                notes.append(f"{s.label}: {int((~positive).sum())} point(s) <= 0 not drawn on a log scale")
                x, y = x[positive], y[positive]
        xs.append((s, x, y))
    present = [x for _, x, _ in xs if len(x)]
    lo = min(float(x.min()) for x in present) if present else 0.0
    hi = max(float(x.max()) for x in present) if present else 1.0
    lines = []
    for s, x, y in xs:
        if len(x) == 0:
            continue
        if smoothing > 0:
            if len(x) > 4 * buckets:
                x, y = smooth_large(x, y, smoothing, buckets)
            else:
                if len(x) > 1 and np.any(np.diff(x) < 0):
                    order = np.argsort(x, kind="stable")
                    x, y = x[order], y[order]
                y = smooth(y, smoothing)
        dx, dy = downsample(x, y, buckets, lo, hi)
        lines.append(Line(s.label, dx, dy, s.colour, len(s)))
    y_range, clipped = robust_range([y for _, _, y in xs], clip)
    if clipped:
        notes.append("y axis clipped to the bulk of the points (o shows every point)")
    x_label, ticks = axis_labels(axis, lo, hi)
    if axis == "step":
        return Prepared(lines, x_label, step_ticks(lo, hi), notes, y_range, clipped)
    if ticks is not None:
        # Time axes are drawn in the unit the labels name.
        scale = ticks[2]
        for line in lines:
            line.x = line.x / scale
        ticks = ([t / scale for t in ticks[0]], ticks[1])
    return Prepared(lines, x_label, ticks, notes, y_range, clipped)


def axis_labels(axis: str, lo: float, hi: float) -> tuple[str, tuple[list[float], list[str], float] | None]:
    """The x label, and for time axes the tick positions, their labels and the unit scale."""
    if axis == "step":
        return "step", None
    span = max(hi - lo, 1e-9)
    if axis == "relative":
        unit, scale = ("s", 1.0) if span < 180 else ("min", 60.0) if span < 3 * 3600 else ("h", 3600.0)
        ticks = list(np.linspace(lo, hi, 5))
        return f"relative time ({unit})", (ticks, [f"{t / scale:.4g}" for t in ticks], scale)
    fmt = "%H:%M:%S" if span < 600 else "%H:%M" if span < 86400 else "%m-%d %H:%M"
    ticks = list(np.linspace(lo, hi, 4 if span >= 86400 else 5))
    return "wall time", (ticks, [datetime.fromtimestamp(t).strftime(fmt) for t in ticks], 1.0)


def dropped_notes(series: list[Series], log_y: bool = False) -> list[str]:
    """What a chart of ``series`` will leave out (NaN/inf points; <= 0 on a log scale), per
    series label, without drawing it."""
    notes = []
    for s in series:
        y = s.values.astype(np.float64, copy=False)
        bad = int((~np.isfinite(y)).sum())
        if bad:
            notes.append(f"{s.label}: {bad} NaN/inf point(s) not drawn")
        if log_y:
            low = int((y[np.isfinite(y)] <= 0).sum())
            if low:
                notes.append(f"{s.label}: {low} point(s) <= 0 not drawn on a log scale")
    return notes


def next_axis(axis: str) -> str:
    return X_AXES[(X_AXES.index(axis) + 1) % len(X_AXES)]


def next_smoothing(weight: float) -> float:
    for step in SMOOTHING_STEPS:
        if step > weight + 1e-9:
            return step
    return 0.0
