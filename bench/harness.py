"""The benchmark harness: a registry of workloads, the context they run in, and statistics.

Standard library only: this module is imported both by lighttrack's interpreter and by the
interpreter that has ``mlflow`` installed (which may be a separate virtualenv without
lighttrack's dependencies), so nothing here may import lighttrack, mlflow, numpy or rich at
module level.

Adding a workload
-----------------
Put a function in any ``bench/workloads_*.py`` module (they are discovered by name)::

    from harness import Row, workload

    @workload("sklearn", title="sklearn log_model / load", order=90, repeat=5, rows=[
        Row("log_model", "log_model, forest on iris", "s", budget=0.3),
        Row("load", "load_model", "s", budget=0.05),
    ])
    def sklearn_model(ctx):
        ...
        ctx.record("log_model", seconds)

    @sklearn_model.mlflow          # optional: the same workload through MLflow
    def _(ctx):
        ...

``ctx.record(row, value)`` adds one sample (call it once per repeat); the table shows the
median. ``ctx.skip(reason)`` marks a workload that cannot run yet (say, a feature not built).
"""

from __future__ import annotations

import gc
import importlib
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / ".cache"
MLFLOW_VENV_PYTHON = BENCH_DIR / ".mlflow-venv" / "bin" / "python"


# ------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Row:
    """One line of the table. ``budget`` is the target from DESIGN.md section 10 (None: the row
    is for information); ``better`` says which way is good ("lower" for times and sizes,
    "higher" for throughputs), which decides pass/miss and the direction of the MLflow ratio."""

    key: str
    label: str
    unit: str
    budget: float | None = None
    better: str = "lower"

    @property
    def budget_text(self) -> str:
        if self.budget is None:
            return ""
        op = "<=" if self.better == "lower" else ">="
        budget = f"{int(self.budget):,}" if float(self.budget).is_integer() else f"{self.budget:g}"
        return f"{op} {budget} {self.unit}"

    def passes(self, value: float) -> bool | None:
        if self.budget is None or value is None or math.isnan(value):
            return None
        return value <= self.budget if self.better == "lower" else value >= self.budget


@dataclass
class Workload:
    name: str
    title: str
    rows: list[Row]
    run: Callable[[Context], None]
    repeat: int = 5
    order: int = 100
    mlflow_repeat: int | None = None  # MLflow is ~1,000x slower: fewer repeats by default
    mlflow_run: Callable[[Context], None] | None = None

    def default_repeat(self, side: str) -> int:
        if side == "mlflow" and self.mlflow_repeat is not None:
            return self.mlflow_repeat
        return self.repeat

    def mlflow(self, fn: Callable[[Context], None]) -> Callable[[Context], None]:
        """Decorator: the same workload through the real ``mlflow`` package."""
        self.mlflow_run = fn
        return fn

    def row(self, key: str) -> Row:
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(f"workload {self.name} has no row {key!r}")


REGISTRY: dict[str, Workload] = {}


def workload(
    name: str, *, title: str, rows: list[Row], repeat: int = 5, order: int = 100,
    mlflow_repeat: int | None = None,
):
    """Register a lighttrack workload function ``fn(ctx)``; returns the Workload (so that
    ``@<fn>.mlflow`` can attach the MLflow version)."""

    def register(fn: Callable[[Context], None]) -> Workload:
        if name in REGISTRY:
            raise ValueError(f"two workloads are named {name!r}")
        wl = Workload(name=name, title=title, rows=list(rows), run=fn, repeat=repeat, order=order,
                      mlflow_repeat=mlflow_repeat)
        REGISTRY[name] = wl
        return wl

    return register


def discover() -> dict[str, Workload]:
    """Import every ``bench/workloads_*.py`` and return the registry in table order."""
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    for path in sorted(BENCH_DIR.glob("workloads_*.py")):
        importlib.import_module(path.stem)
    return dict(sorted(REGISTRY.items(), key=lambda item: (item[1].order, item[0])))


# -------------------------------------------------------------------------------- context
class Skip(Exception):
    """Raised by ``ctx.skip``: the workload cannot run here (the reason goes in the table)."""


@dataclass
class RowResult:
    samples: list[float] = field(default_factory=list)
    value: float | None = None  # headline when it is not simply the median of the samples
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        values = [s for s in self.samples if s is not None and not math.isnan(s)]
        median = self.value if self.value is not None else (statistics.median(values) if values else None)
        return {
            "median": median,
            "min": min(values) if values else None,
            "max": max(values) if values else None,
            "samples": self.samples,
            "notes": self.notes,
            "extra": self.extra,
        }


class Context:
    """What a workload function gets: sizes, repeats, fresh temp folders, and a place to
    record samples. ``side`` is "lighttrack" or "mlflow"."""

    def __init__(self, side: str, *, quick: bool, repeat: int, workload: Workload) -> None:
        self.side = side
        self.quick = quick
        self.repeat = repeat
        self.workload = workload
        self.results: dict[str, RowResult] = {}
        self._base = Path(tempfile.mkdtemp(prefix=f"ltbench-{workload.name}-{side}-"))
        self._count = 0
        self.python = sys.executable

    # sizes ------------------------------------------------------------------------------
    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    # temp folders -----------------------------------------------------------------------
    def tempdir(self) -> Path:
        """A new, empty folder (removed when the workload ends). On the MLflow side it also
        becomes the working directory, so MLflow's ./mlruns-style defaults land inside it."""
        self._count += 1
        folder = self._base / f"t{self._count}"
        folder.mkdir()
        if self.side == "mlflow":
            os.chdir(folder)
        return folder

    def drop(self, folder: Path) -> None:
        """Remove a temp folder early (big files), leaving the working directory valid."""
        if Path.cwd().resolve().is_relative_to(folder.resolve()):
            os.chdir(self._base)
        shutil.rmtree(folder, ignore_errors=True)

    def cleanup(self) -> None:
        os.chdir(BENCH_DIR)
        shutil.rmtree(self._base, ignore_errors=True)

    # results ----------------------------------------------------------------------------
    def _row(self, key: str) -> RowResult:
        self.workload.row(key)  # a typo in a row name fails loudly
        return self.results.setdefault(key, RowResult())

    def record(self, key: str, value: float) -> None:
        self._row(key).samples.append(float(value))

    def headline(self, key: str, value: float) -> None:
        """Set the shown value explicitly (e.g. median(import) - median(pass))."""
        self._row(key).value = float(value)

    def note(self, key: str, text: str) -> None:
        notes = self._row(key).notes
        if text not in notes:
            notes.append(text)

    def extra(self, key: str, name: str, value) -> None:
        self._row(key).extra[name] = value

    def size_of(self, key: str, n: int) -> None:
        """How many points/runs a row measured, when its unit is a total (ms, s): the MLflow
        ratio is only shown when both sides measured the same size."""
        self._row(key).extra["n"] = n

    def skip(self, reason: str):
        raise Skip(reason)

    # progress ---------------------------------------------------------------------------
    def progress(self, total: int, description: str) -> Progress:
        return Progress(total, f"[{self.side}] {description}")


class Progress:
    """A progress bar on stderr: rich's when rich is importable and stderr is a terminal,
    otherwise a line every 10%."""

    def __init__(self, total: int, description: str) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.description = description
        self._rich = None
        self._next_line = 0.1
        self._start = time.perf_counter()
        if sys.stderr.isatty():
            try:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress
                from rich.progress import TextColumn, TimeElapsedColumn, TimeRemainingColumn
            except ImportError:
                pass
            else:
                self._rich = RichProgress(
                    TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True,
                )
                self._task = self._rich.add_task(description, total=self.total)

    def __enter__(self) -> Progress:
        if self._rich is not None:
            self._rich.start()
        else:
            print(f"{self.description}: 0/{self.total:,}", file=sys.stderr, flush=True)
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._rich is not None:
            self._rich.advance(self._task, n)
        elif self.done / self.total >= self._next_line:
            self._next_line += 0.1
            elapsed = time.perf_counter() - self._start
            print(f"{self.description}: {self.done:,}/{self.total:,} ({elapsed:.0f} s)", file=sys.stderr, flush=True)

    def __exit__(self, *exc) -> None:
        if self._rich is not None:
            self._rich.stop()
        elapsed = time.perf_counter() - self._start
        print(f"{self.description}: {self.done:,} done in {elapsed:.1f} s", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------- timing
class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``; collects garbage first so a previous
    step's garbage is not charged to this one."""

    def __enter__(self) -> Timer:
        gc.collect()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def noisy_loss(n: int, seed: int = 0) -> list[float]:
    """A realistic training curve: exponential decay to a floor, with multiplicative noise
    (full-precision float64, like a real loss)."""
    import random

    rnd = random.Random(seed)
    scale = max(n / 5, 1)
    gauss = rnd.gauss
    exp = math.exp
    return [(2.3 * exp(-i / scale) + 0.05) * (1 + 0.05 * gauss(0, 1)) for i in range(n)]


def file_bytes(path: Path) -> int:
    """Size of a SQLite file plus its -wal (should be 0 after a checkpoint)."""
    total = path.stat().st_size
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        total += wal.stat().st_size
    return total


def checkpoint(path: Path) -> None:
    """Fold the WAL into the main file and truncate it, so the file size is the data size."""
    import sqlite3

    conn = sqlite3.connect(str(path))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        conn.close()


def fmt(value: float | None) -> str:
    """Numbers the way the table shows them: 3 significant digits, thousands separated."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    if magnitude == 0:
        return "0"
    return f"{value:.3g}"


def iter_chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
