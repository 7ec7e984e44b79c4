"""``--log-requests``: a serving run in the file, so the TUI shows a live model like a training.

Every few seconds the server writes, as metrics over time: ``requests`` and ``errors`` (totals
so far), ``requests_per_s``, ``latency_p50_ms`` and ``latency_p99_ms`` (over that interval),
and ``model_version`` when the served version is a number. A sample of requests (input,
predictions, status, latency, version: the first 50, then a uniform reservoir of 50 more) is
written as the table artifact ``serving/requests.json`` every minute and at shutdown, when
the run ends FINISHED. Recording a request is an append under a lock; the writing happens in
the log's own thread, never in a request.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from lighttrack.entities import Metric, RunTag

EXPERIMENT = "serving"
TABLE_FILE = "serving/requests.json"
SAMPLE_FIRST = 50
SAMPLE_RESERVOIR = 50
SAMPLE_MAX_BYTES = 64 * 1024  # a larger body is sampled as its size, not its text


@dataclass
class _Request:
    time_ms: int
    latency_ms: float
    status: int
    version: str | None
    body: bytes
    answer: bytes


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (what load testers report)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def _text(data: bytes) -> str:
    if len(data) > SAMPLE_MAX_BYTES:
        return f"({len(data):,} bytes, larger than the {SAMPLE_MAX_BYTES // 1024} KiB kept per sample)"
    return data.decode("utf-8", errors="replace")


class RequestLog:
    """Collects requests in memory and writes them to a serving run from its own thread."""

    def __init__(self, client: Any, model_uri: str, version: str | None, interval: float = 5.0,
                 experiment: str = EXPERIMENT) -> None:
        import os

        self.client = client
        self.interval = interval
        exp = client.get_experiment_by_name(experiment)
        experiment_id = exp.experiment_id if exp else client.create_experiment(experiment)
        run = client.create_run(
            experiment_id, run_name=f"serve {model_uri}"[:250],
            tags={"lighttrack.serving.model_uri": model_uri, "lighttrack.serving.pid": str(os.getpid())},
        )
        self.run_id = run.info.run_id
        self._lock = threading.Lock()
        self._window: list[float] = []
        self._total = 0
        self._errors = 0
        self._step = 0
        self._version = version
        self._samples: list[_Request] = []
        self._seen_for_sample = 0
        self._random = random.Random(0)
        self._sample_changed = False
        self._window_start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lighttrack-request-log", daemon=True)
        self._thread.start()

    def record(self, latency_s: float, status: int, version: str | None, body: bytes, answer: bytes) -> None:
        latency_ms = latency_s * 1000
        with self._lock:
            self._window.append(latency_ms)
            self._total += 1
            if status >= 400:
                self._errors += 1
            self._version = version
            self._seen_for_sample += 1
            if len(self._samples) < SAMPLE_FIRST + SAMPLE_RESERVOIR:
                slot = len(self._samples)
            else:
                slot = self._random.randrange(self._seen_for_sample - SAMPLE_FIRST) + SAMPLE_FIRST
                if slot >= len(self._samples):
                    return
            entry = _Request(int(time.time() * 1000), latency_ms, status, version, body, answer)
            if slot == len(self._samples):
                self._samples.append(entry)
            else:
                self._samples[slot] = entry
            self._sample_changed = True

    def _loop(self) -> None:
        ticks = 0
        while not self._stop.wait(self.interval):
            ticks += 1
            self._write(table=ticks % max(1, int(60 / self.interval)) == 0)

    def _write(self, table: bool) -> None:
        with self._lock:
            window, self._window = self._window, []
            total, errors, version = self._total, self._errors, self._version
            now = time.monotonic()
            seconds, self._window_start = now - self._window_start, now
            samples = list(self._samples) if (table and self._sample_changed) else None
            if samples is not None:
                self._sample_changed = False
            step = self._step
            self._step += 1
        window.sort()
        stamp = int(time.time() * 1000)
        metrics = [Metric("requests", float(total), stamp, step), Metric("errors", float(errors), stamp, step),
                   Metric("requests_per_s", len(window) / seconds if seconds > 0 else 0.0, stamp, step)]
        if window:
            metrics += [Metric("latency_p50_ms", _percentile(window, 50), stamp, step),
                        Metric("latency_p99_ms", _percentile(window, 99), stamp, step)]
        if version is not None and str(version).isdigit():  # the registry gives ints (MLflow's SQL store)
            metrics.append(Metric("model_version", float(version), stamp, step))
        try:
            self.client.log_batch(self.run_id, metrics=metrics,
                                  tags=[RunTag("lighttrack.serving.version", version or "")])
            if samples is not None:
                self.client.log_table(self.run_id, self._table(samples), TABLE_FILE)
        except Exception as exc:  # a busy file must not stop serving; the next interval tries again
            print(f"lighttrack serve: could not write the request log ({exc})", file=sys.stderr, flush=True)

    @staticmethod
    def _table(samples: list[_Request]) -> dict[str, list[Any]]:
        ordered = sorted(samples, key=lambda r: r.time_ms)
        return {
            "time_ms": [r.time_ms for r in ordered],
            "status": [r.status for r in ordered],
            "latency_ms": [round(r.latency_ms, 3) for r in ordered],
            "version": [r.version for r in ordered],
            "input": [_text(r.body) for r in ordered],
            "predictions": [_text(r.answer) for r in ordered],
        }

    def close(self) -> None:
        """Write what is left and end the run FINISHED (at shutdown)."""
        self._stop.set()
        self._thread.join(timeout=30)
        with self._lock:
            self._sample_changed = True
        self._write(table=True)
        self.client.set_terminated(self.run_id, "FINISHED")
