"""Packed metric chunks round-trip every value exactly, NaN and infinities included."""

from __future__ import annotations

import math
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from lighttrack.store import codec

int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
float64 = st.floats(allow_nan=True, allow_infinity=True)


def same_float(a: float, b: float) -> bool:
    return struct.pack("<d", a) == struct.pack("<d", b)  # bit-identical, -0.0 and NaN payload too


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(int64, int64, float64), max_size=300))
def test_round_trip_pure_python_and_numpy(points):
    steps = [p[0] for p in points]
    timestamps = [p[1] for p in points]
    values = [p[2] for p in points]
    blob = codec.encode(steps, timestamps, values)
    s, t, v = codec.decode(blob)
    assert list(s) == steps and list(t) == timestamps
    assert all(same_float(a, b) for a, b in zip(v, values)) and len(v) == len(values)
    ns, nt, nv = codec.decode_numpy(blob)
    assert ns.tolist() == steps and nt.tolist() == timestamps
    assert all(same_float(a, b) for a, b in zip(nv.tolist(), values))


def test_typical_training_curve_is_under_12_bytes_a_point():
    n = codec.CHUNK_POINTS
    steps = list(range(n))
    timestamps = [1_764_000_000_000 + i * 7 for i in range(n)]
    values = [math.exp(-i / 2000) + 0.01 * math.sin(i) for i in range(n)]
    assert len(codec.encode(steps, timestamps, values)) / n < 12
