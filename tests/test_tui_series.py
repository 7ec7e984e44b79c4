"""Chart data: min/max-per-column downsampling keeps spikes, smoothing, axes, and the
1,000,000-point budget."""

from __future__ import annotations


import numpy as np
import pytest

from tui.series import Series, downsample, next_axis, next_smoothing, prepare, smooth


def series(n: int, label: str = "loss") -> Series:
    steps = np.arange(n, dtype=np.int64)
    return Series(label, steps, 1_704_067_200_000 + steps * 1000, np.sin(steps / 50.0))


def test_downsampling_keeps_one_spike_in_a_million():
    values = np.random.default_rng(0).normal(0, 1, 1_000_000)
    values[123_457] = 1000.0
    values[654_321] = -1000.0
    x = np.arange(len(values), dtype=np.float64)
    dx, dy = downsample(x, values, 200)
    assert len(dx) == len(dy) <= 401
    assert dy.max() == 1000.0 and dy.min() == -1000.0


def test_downsampling_keeps_the_direction_within_a_bucket():
    x = np.arange(1000, dtype=np.float64)
    rising = x.copy()
    dx, dy = downsample(x, rising, 10)
    assert list(dy[:2]) == [0.0, 99.0]  # min first when the bucket rises
    dx, dy = downsample(x, -rising, 10)
    assert list(dy[:2]) == [0.0, -99.0]  # max first when it falls


def test_short_series_are_drawn_as_they_are_and_unsorted_steps_are_sorted():
    x = np.array([3.0, 1.0, 2.0])
    y = np.array([30.0, 10.0, 20.0])
    dx, dy = downsample(x, y, 100)
    assert list(dx) == [1.0, 2.0, 3.0] and list(dy) == [10.0, 20.0, 30.0]


def test_smoothing_is_a_debiased_moving_average():
    y = np.array([1.0, 1.0, 1.0, 5.0])
    assert list(smooth(y, 0.0)) == list(y)
    out = smooth(y, 0.5)
    assert out[0] == pytest.approx(1.0) and out[2] == pytest.approx(1.0)
    assert 1.0 < out[3] < 5.0


def test_nan_and_non_positive_values_are_left_out_with_a_note():
    s = series(10)
    s.values = np.array([1.0, float("nan"), 2.0, -1.0, 3.0, 0.0, 4.0, 5.0, float("inf"), 6.0])
    prepared = prepare([s], log_y=True)
    assert np.all(prepared.lines[0].y > 0)
    assert len(prepared.notes) == 2


def test_time_axes_are_labelled_in_a_readable_unit():
    prepared = prepare([series(7200)], axis="relative")
    assert prepared.x_label == "relative time (min)"
    assert prepared.lines[0].x.max() == pytest.approx(7199 / 60)
    prepared = prepare([series(100)], axis="wall")
    assert prepared.x_label == "wall time" and prepared.x_ticks[1][0] == "00:00:00"


def test_option_cycles():
    assert [next_axis(a) for a in ("step", "relative", "wall")] == ["relative", "wall", "step"]
    weights = [0.0]
    for _ in range(6):
        weights.append(next_smoothing(weights[-1]))
    assert weights == [0.0, 0.6, 0.8, 0.9, 0.95, 0.99, 0.0]


def test_a_million_points_become_a_chart_sized_line_over_the_whole_range():
    """How fast is bench/tui_bench.py's job (1M points, <= 200 ms read+draw); this checks what
    comes out: a few hundred points spanning every step, the smoothed line reaching the last."""
    big = series(1_000_000)
    for smoothing in (0.0, 0.9):
        line = prepare([big], buckets=240, smoothing=smoothing).lines[0]
        assert len(line.x) <= 4 * 240
        assert line.x.min() <= 1_000_000 / 240 and line.x.max() == 999_999  # first bucket to last step
        assert line.points == 1_000_000
