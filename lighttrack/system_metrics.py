"""System metrics: CPU, memory, disk, network and GPUs, sampled while a run is active.

A daemon thread samples every ``sampling_interval`` seconds, averages ``samples_before_logging``
samples, and appends the result to the file's buffered metric writer under MLflow's names
(``system/cpu_utilization_percentage``, ``system/gpu_0_utilization_percentage``...), so it costs
no extra transaction and round-trips with MLflow. The switches mirror MLflow's, under
lighttrack's prefix (``LIGHTTRACK_ENABLE_SYSTEM_METRICS_LOGGING``...); MLflow's own variables are
honoured too, so a script written for ``import mlflow`` behaves the same.

Unlike MLflow, which logs every GPU on the node (mlflow#13398), only the GPUs the job may use are
logged (``CUDA_VISIBLE_DEVICES``, SLURM's ``SLURM_STEP_GPUS``/``SLURM_JOB_GPUS``), each named by
its real index on the node. psutil and nvidia-ml-py are optional (``lighttrack[system-metrics]``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from lighttrack.errors import InvalidArgument, LighttrackError

log = logging.getLogger("lighttrack")

ENABLE_ENV = "LIGHTTRACK_ENABLE_SYSTEM_METRICS_LOGGING"
INTERVAL_ENV = "LIGHTTRACK_SYSTEM_METRICS_SAMPLING_INTERVAL"
SAMPLES_ENV = "LIGHTTRACK_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING"
NODE_ENV = "LIGHTTRACK_SYSTEM_METRICS_NODE_ID"
#: MLflow's names for the same switches, read when lighttrack's are not set.
MLFLOW_NAMES = {
    ENABLE_ENV: "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING",
    INTERVAL_ENV: "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL",
    SAMPLES_ENV: "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING",
    NODE_ENV: "MLFLOW_SYSTEM_METRICS_NODE_ID",
}
DEFAULT_INTERVAL = 10.0  # MLflow's defaults
DEFAULT_SAMPLES = 1
PREFIX = "system/"
INSTALL_HINT = "system metrics need psutil: pip install 'lighttrack[system-metrics]' (or pip install psutil)"


class SystemMetricsUnavailable(LighttrackError):
    """psutil is not installed, so system metrics cannot be sampled."""


# ------------------------------------------------------------------------------ switches
def _env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    value = environ.get(name)
    if value is None or value == "":
        value = environ.get(MLFLOW_NAMES[name])
    return value if value not in (None, "") else None


def _truthy(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise InvalidArgument(f"{name}={text!r}: use true or false (1/0)")


def enable_system_metrics_logging() -> None:
    """Log system metrics for every run started from now on (as MLflow's function of that name)."""
    os.environ[ENABLE_ENV] = "true"


def disable_system_metrics_logging() -> None:
    os.environ[ENABLE_ENV] = "false"


def set_system_metrics_sampling_interval(interval: float | None) -> None:
    """Seconds between samples; ``None`` goes back to the default (10 s)."""
    if interval is None:
        os.environ.pop(INTERVAL_ENV, None)
        return
    os.environ[INTERVAL_ENV] = str(_positive_float(interval, "sampling interval"))


def set_system_metrics_samples_before_logging(samples: int | None) -> None:
    """How many samples are averaged into one logged point; ``None``: the default (1)."""
    if samples is None:
        os.environ.pop(SAMPLES_ENV, None)
        return
    os.environ[SAMPLES_ENV] = str(_positive_int(samples, "samples before logging"))


def set_system_metrics_node_id(node_id: str | None) -> None:
    """Names this node in the metric keys (``system/<node>/cpu_...``), for multi-node jobs."""
    if node_id is None:
        os.environ.pop(NODE_ENV, None)
    else:
        os.environ[NODE_ENV] = str(node_id)


def _positive_float(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not number > 0 or number != number or number == float("inf"):
        raise InvalidArgument(f"system metrics {what} must be a positive number of seconds, not {value!r}")
    return number


def _positive_int(value: Any, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or number < 1 or str(number) != str(value).strip():
        raise InvalidArgument(f"system metrics {what} must be a whole number >= 1, not {value!r}")
    return number


def wanted(log_system_metrics: bool | None, environ: Mapping[str, str] | None = None) -> bool:
    """The argument decides when given; else the environment switch (default off)."""
    if log_system_metrics is not None:
        return bool(log_system_metrics)
    text = _env(ENABLE_ENV, environ)
    return _truthy(ENABLE_ENV, text) if text is not None else False


def settings(environ: Mapping[str, str] | None = None) -> tuple[float, int, str | None]:
    """(sampling interval, samples before logging, node id), checked."""
    interval = _env(INTERVAL_ENV, environ)
    samples = _env(SAMPLES_ENV, environ)
    return (
        _positive_float(interval, "sampling interval") if interval is not None else DEFAULT_INTERVAL,
        _positive_int(samples, "samples before logging") if samples is not None else DEFAULT_SAMPLES,
        _env(NODE_ENV, environ),
    )


# ------------------------------------------------------------------------------- GPUs
def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _slurm_indexes(environ: Mapping[str, str]) -> list[int] | None:
    """SLURM's physical GPU indexes of this step/job (``SLURM_STEP_GPUS`` beats ``SLURM_JOB_GPUS``)."""
    for name in ("SLURM_STEP_GPUS", "SLURM_JOB_GPUS"):
        text = environ.get(name)
        if text:
            parts = _split(text)
            if parts and all(p.isdigit() for p in parts):
                return [int(p) for p in parts]
    return None


def select_gpus(environ: Mapping[str, str], devices: list[tuple[int, str]]) -> list[tuple[int, int]]:
    """Which GPUs this job may use: (NVML index to read, real index to name it by).

    ``devices`` is what NVML sees: (index, uuid) for each. SLURM's variables name physical
    indexes; inside a device cgroup NVML may see only the job's GPUs, numbered from 0, and then
    they are matched in order. ``CUDA_VISIBLE_DEVICES`` holds indexes or ``GPU-<uuid>`` prefixes
    (an empty value or ``-1`` hides every GPU). Nothing set: every GPU NVML sees.
    """
    seen = {index for index, _ in devices}
    slurm = _slurm_indexes(environ)
    if slurm is not None:
        if all(i in seen for i in slurm):
            return [(i, i) for i in slurm]
        if len(devices) == len(slurm):  # a cgroup shows only the job's GPUs, renumbered
            return [(index, real) for (index, _), real in zip(sorted(devices), slurm)]
        return [(i, i) for i in slurm if i in seen]
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return [(i, i) for i, _ in sorted(devices)]
    chosen: list[tuple[int, int]] = []
    for part in _split(visible):
        if part.lstrip("-").isdigit():
            index = int(part)
            if index < 0:
                break  # CUDA stops at the first invalid entry; -1 hides the rest
            if index in seen:
                chosen.append((index, index))
            else:
                break
        else:
            matches = [i for i, uuid in devices if uuid.lower().startswith(part.lower())]
            if len(matches) != 1:
                break
            chosen.append((matches[0], matches[0]))
    return list(dict.fromkeys(chosen))


class _Gpus:
    """Per-GPU readings through NVML; absent library or driver: no GPUs, said once in the log."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.handles: list[tuple[int, Any]] = []
        self._nvml: Any = None
        try:
            import pynvml
        except ImportError:
            return
        try:
            pynvml.nvmlInit()
            devices = []
            for index in range(pynvml.nvmlDeviceGetCount()):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                uuid = pynvml.nvmlDeviceGetUUID(handle)
                devices.append((index, uuid.decode() if isinstance(uuid, bytes) else str(uuid)))
            self.handles = [(real, pynvml.nvmlDeviceGetHandleByIndex(index))
                            for index, real in select_gpus(environ, devices)]
            self._nvml = pynvml
        except Exception as exc:  # no driver on this box (NVMLError_LibraryNotFound...): CPU only
            log.debug("lighttrack: no GPU metrics: %s", exc)
            self.handles = []

    def sample(self, out: dict[str, float]) -> None:
        nvml = self._nvml
        for real, handle in self.handles:
            name = f"gpu_{real}_"
            try:
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
                out[name + "memory_usage_percentage"] = 100.0 * memory.used / memory.total
                out[name + "memory_usage_megabytes"] = memory.used / 1e6
                out[name + "utilization_percentage"] = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            except Exception as exc:
                log.debug("lighttrack: GPU %s unreadable: %s", real, exc)
                continue
            try:
                power = nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
                limit = nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0
                out[name + "power_usage_watts"] = power
                out[name + "power_usage_percentage"] = 100.0 * power / limit if limit else 0.0
            except Exception:  # some boards do not report power
                pass


# ----------------------------------------------------------------------------- sampling
class Sampler:
    """Reads the machine once per call; counters (network, disk I/O) are since the sampler began,
    as MLflow's are."""

    def __init__(self, environ: Mapping[str, str] | None = None, disk_path: str = "/") -> None:
        try:
            import psutil
        except ImportError:
            raise SystemMetricsUnavailable(INSTALL_HINT) from None
        self.psutil = psutil
        self.disk_path = disk_path
        psutil.cpu_percent(interval=None)  # primes the counter: the first real call is a delta
        net = psutil.net_io_counters()
        self._net0 = (net.bytes_recv, net.bytes_sent) if net else (0, 0)
        disk = self._disk_io()
        self._disk0 = disk
        self.gpus = _Gpus(os.environ if environ is None else environ)

    def _disk_io(self) -> tuple[int, int]:
        try:
            io = self.psutil.disk_io_counters()
        except Exception:  # containers without /proc/diskstats
            io = None
        return (io.read_bytes, io.write_bytes) if io else (0, 0)

    def sample(self) -> dict[str, float]:
        ps = self.psutil
        out: dict[str, float] = {"cpu_utilization_percentage": float(ps.cpu_percent(interval=None))}
        memory = ps.virtual_memory()
        out["system_memory_usage_megabytes"] = memory.used / 1e6
        out["system_memory_usage_percentage"] = memory.used / memory.total * 100
        disk = ps.disk_usage(self.disk_path)
        out["disk_usage_percentage"] = float(disk.percent)
        out["disk_usage_megabytes"] = disk.used / 1e6
        out["disk_available_megabytes"] = disk.free / 1e6
        read, written = self._disk_io()
        out["disk_read_megabytes"] = (read - self._disk0[0]) / 1e6
        out["disk_write_megabytes"] = (written - self._disk0[1]) / 1e6
        net = ps.net_io_counters()
        if net:
            out["network_receive_megabytes"] = (net.bytes_recv - self._net0[0]) / 1e6
            out["network_transmit_megabytes"] = (net.bytes_sent - self._net0[1]) / 1e6
        self.gpus.sample(out)
        return out


#: Counters since the start: the last sample is the value, not the mean.
_CUMULATIVE = ("network_receive_megabytes", "network_transmit_megabytes", "disk_read_megabytes",
               "disk_write_megabytes")


def aggregate(samples: list[dict[str, float]]) -> dict[str, float]:
    """The mean of each reading over the samples (the last value for running totals)."""
    out: dict[str, float] = {}
    for key in dict.fromkeys(k for s in samples for k in s):
        values = [s[key] for s in samples if key in s]
        out[key] = values[-1] if key in _CUMULATIVE else sum(values) / len(values)
    return out


class SystemMetricsMonitor:
    """The thread: sample, average, append to the buffered writer, until ``stop()``."""

    def __init__(self, run_id: str, add: Callable[[str, str, float, int, int], None],
                 interval: float, samples_before_logging: int, node_id: str | None = None,
                 first_step: int = 0, sampler: Sampler | None = None) -> None:
        self.run_id = run_id
        self._add = add
        self.interval = interval
        self.samples_before_logging = samples_before_logging
        self.prefix = PREFIX + (f"{node_id}/" if node_id else "")
        self.step = first_step
        self.sampler = sampler or Sampler()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lighttrack-system-metrics", daemon=True)

    def start(self) -> SystemMetricsMonitor:
        self._thread.start()
        return self

    def _loop(self) -> None:
        samples: list[dict[str, float]] = []
        while True:
            stopped = self._stop.wait(self.interval)
            try:
                samples.append(self.sampler.sample())
            except Exception as exc:  # a reading failed: skip it, keep the run going
                log.debug("lighttrack: system metrics sample failed: %s", exc)
            if samples and (len(samples) >= self.samples_before_logging or stopped):
                self.publish(aggregate(samples))
                samples = []
            if stopped:
                return

    def publish(self, readings: dict[str, float]) -> None:
        timestamp = time.time_ns() // 1_000_000
        for key, value in readings.items():
            self._add(self.run_id, self.prefix + key, float(value), timestamp, self.step)
        self.step += 1

    def stop(self) -> None:
        """Take a last sample (so a short run still has one point) and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=max(5.0, self.interval))


def prepare() -> tuple[Sampler, tuple[float, int, str | None]]:
    """Check everything the sampler needs (psutil, the settings) before a run is created."""
    chosen = settings()
    return Sampler(), chosen


def start_for_run(run_id: str, add: Callable[[str, str, float, int, int], None],
                  prepared: tuple[Sampler, tuple[float, int, str | None]] | None = None,
                  first_step: int = 0) -> SystemMetricsMonitor:
    """Start the sampler thread for a run with the settings in force."""
    sampler, (interval, samples, node_id) = prepared or prepare()
    return SystemMetricsMonitor(run_id, add, interval, samples, node_id, first_step, sampler).start()
