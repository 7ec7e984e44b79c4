"""Packing a metric's history into compact chunks.

A chunk holds up to ``CHUNK_POINTS`` points as three arrays — steps, timestamps (ms) and
values (float64, so NaN and ±inf survive) — each delta-encoded where that helps,
byte-shuffled (byte 0 of every number, then byte 1, ...) and zlib-compressed together.
Shuffling puts the mostly-zero high bytes of deltas and the slowly-changing exponent bytes of
values side by side, which is what lets zlib get a typical training curve under 12 bytes a
point (SQLite's row-per-point layout costs >= 30). Everything here is C-speed stdlib
(array, bytes slicing, zlib, itertools.accumulate); numpy is used only when the caller asks
for numpy arrays and it is installed.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from collections.abc import Sequence
from itertools import accumulate

CHUNK_POINTS = 8192
_FORMAT = 1
_HEADER = struct.Struct("<BBI")  # format, flags, point count
_STEPS_DELTA = 1
_TIMESTAMPS_DELTA = 2
_LEVEL = 6


def _deltas(numbers: array) -> array | None:
    """First number, then differences; None when a difference overflows int64."""
    try:
        out = array("q", [numbers[0]])
        out.extend([b - a for a, b in zip(numbers, numbers[1:])])
        return out
    except OverflowError:
        return None


def _shuffle(raw: bytes) -> bytes:
    return b"".join(raw[i::8] for i in range(8))


def _unshuffle(shuffled: bytes | memoryview, count: int) -> bytearray:
    out = bytearray(count * 8)
    for i in range(8):
        out[i::8] = shuffled[i * count:(i + 1) * count]
    return out


def encode(steps: Sequence[int], timestamps: Sequence[int], values: Sequence[float]) -> bytes:
    """Pack equal-length step/timestamp/value sequences into one compressed chunk."""
    count = len(values)
    step_arr = steps if isinstance(steps, array) and steps.typecode == "q" else array("q", steps)
    ts_arr = (
        timestamps if isinstance(timestamps, array) and timestamps.typecode == "q"
        else array("q", timestamps)
    )
    value_arr = values if isinstance(values, array) and values.typecode == "d" else array("d", values)
    if not (len(step_arr) == len(ts_arr) == count):
        raise ValueError("steps, timestamps and values must have the same length")
    flags = 0
    if count:
        step_deltas = _deltas(step_arr)
        if step_deltas is not None:
            step_arr, flags = step_deltas, flags | _STEPS_DELTA
        ts_deltas = _deltas(ts_arr)
        if ts_deltas is not None:
            ts_arr, flags = ts_deltas, flags | _TIMESTAMPS_DELTA
    body = _shuffle(step_arr.tobytes()) + _shuffle(ts_arr.tobytes()) + _shuffle(value_arr.tobytes())
    return _HEADER.pack(_FORMAT, flags, count) + zlib.compress(body, _LEVEL)


class DamagedChunk(ValueError):
    """A chunk whose bytes do not decode: the caller names the file, run and metric."""


def _split(blob: bytes) -> tuple[int, int, bytes]:
    try:
        fmt, flags, count = _HEADER.unpack_from(blob)
        if fmt != _FORMAT:
            raise DamagedChunk(f"unknown metric chunk format {fmt}")
        body = zlib.decompress(memoryview(blob)[_HEADER.size:])
    except (struct.error, zlib.error, TypeError) as exc:
        raise DamagedChunk(str(exc)) from None
    if len(body) != 24 * count:
        raise DamagedChunk(f"chunk holds {len(body):,} bytes for {count:,} points")
    return flags, count, body


def decode(blob: bytes) -> tuple[array, array, array]:
    """Unpack a chunk into ``array('q')`` steps, ``array('q')`` timestamps, ``array('d')`` values."""
    flags, count, body = _split(blob)
    view = memoryview(body)
    size = count * 8
    steps = array("q", _unshuffle(view[:size], count))
    timestamps = array("q", _unshuffle(view[size:2 * size], count))
    values = array("d", _unshuffle(view[2 * size:], count))
    if flags & _STEPS_DELTA:
        steps = array("q", accumulate(steps))
    if flags & _TIMESTAMPS_DELTA:
        timestamps = array("q", accumulate(timestamps))
    return steps, timestamps, values


def decode_numpy(blob: bytes):  # -> tuple[np.ndarray, np.ndarray, np.ndarray]
    """The same as ``decode`` with numpy doing the work: the fast path for long histories."""
    import numpy as np

    flags, count, body = _split(blob)
    planes = np.frombuffer(body, dtype=np.uint8)

    def column(index: int, dtype: str):
        block = planes[index * 8 * count:(index + 1) * 8 * count].reshape(8, count)
        return np.ascontiguousarray(block.T).view(dtype).reshape(count)

    steps = column(0, "<i8")
    timestamps = column(1, "<i8")
    values = column(2, "<f8")
    if flags & _STEPS_DELTA:
        steps = np.cumsum(steps)
    if flags & _TIMESTAMPS_DELTA:
        timestamps = np.cumsum(timestamps)
    return steps, timestamps, values
