"""System metrics: the switches, MLflow's names, the GPU choice, and a clean fallback without NVML."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import pytest

import lighttrack
from lighttrack import system_metrics
from lighttrack.errors import InvalidArgument

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _clean_switches(monkeypatch):
    """The setters write os.environ themselves (as MLflow's do): put every switch back after
    each test, so no other test's runs start sampling."""
    names = (*system_metrics.MLFLOW_NAMES, *system_metrics.MLFLOW_NAMES.values(),
             "CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS")
    saved = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ.pop(name, None)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _system_keys(run_id: str) -> set[str]:
    return {k for k in lighttrack.get_run(run_id).data.metrics if k.startswith("system/")}


# --------------------------------------------------------------------------- logging
def test_start_run_logs_system_metrics_under_mlflow_names():
    lighttrack.set_system_metrics_sampling_interval(0.05)
    with lighttrack.start_run(log_system_metrics=True) as run:
        pass
    keys = _system_keys(run.info.run_id)
    for name in ("cpu_utilization_percentage", "system_memory_usage_megabytes", "system_memory_usage_percentage",
                 "disk_usage_percentage", "disk_usage_megabytes", "disk_available_megabytes",
                 "network_receive_megabytes", "network_transmit_megabytes"):
        assert f"system/{name}" in keys
    history = lighttrack.LighttrackClient().get_metric_history(run.info.run_id, "system/system_memory_usage_percentage")
    assert history and history[0].step == 0 and 0 < history[0].value <= 100


def test_samples_are_averaged_and_steps_count_up():
    points = []
    readings = iter([{"cpu_utilization_percentage": 10.0, "network_receive_megabytes": 1.0},
                     {"cpu_utilization_percentage": 30.0, "network_receive_megabytes": 3.0}] * 5)

    class Scripted:
        def sample(self):
            return next(readings)

    monitor = system_metrics.SystemMetricsMonitor(
        "r", lambda *point: points.append(point), interval=0.001, samples_before_logging=2,
        node_id="node7", sampler=Scripted(),  # type: ignore[arg-type]
    )
    monitor.publish(system_metrics.aggregate([next(readings), next(readings)]))
    monitor.publish(system_metrics.aggregate([next(readings), next(readings)]))
    by_key = {(key, step): value for _, key, value, _, step in points}
    assert by_key[("system/node7/cpu_utilization_percentage", 0)] == 20.0  # the mean
    assert by_key[("system/node7/network_receive_megabytes", 1)] == 3.0  # a running total: the last
    assert {step for *_, step in points} == {0, 1}


def test_off_by_default_and_the_env_switch_turns_it_on(monkeypatch):
    with lighttrack.start_run() as quiet:
        pass
    assert _system_keys(quiet.info.run_id) == set()
    monkeypatch.setenv("LIGHTTRACK_ENABLE_SYSTEM_METRICS_LOGGING", "true")
    monkeypatch.setenv("LIGHTTRACK_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.05")
    with lighttrack.start_run() as loud:
        pass
    assert "system/cpu_utilization_percentage" in _system_keys(loud.info.run_id)


def test_mlflow_variable_names_work_and_the_argument_wins(monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "true")
    assert system_metrics.wanted(None)
    assert not system_metrics.wanted(False)
    lighttrack.disable_system_metrics_logging()  # lighttrack's switch beats MLflow's
    assert not system_metrics.wanted(None)
    lighttrack.enable_system_metrics_logging()
    assert system_metrics.wanted(None)
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "3")
    assert system_metrics.settings()[1] == 3


@pytest.mark.parametrize("name, value", [
    ("LIGHTTRACK_SYSTEM_METRICS_SAMPLING_INTERVAL", "0"),
    ("LIGHTTRACK_SYSTEM_METRICS_SAMPLING_INTERVAL", "soon"),
    ("LIGHTTRACK_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "2.5"),
    ("LIGHTTRACK_ENABLE_SYSTEM_METRICS_LOGGING", "perhaps"),
])
def test_bad_settings_are_refused_before_a_run_exists(monkeypatch, name, value):
    monkeypatch.setenv("LIGHTTRACK_ENABLE_SYSTEM_METRICS_LOGGING", "true")
    monkeypatch.setenv(name, value)
    with pytest.raises(InvalidArgument, match=r"system metrics|LIGHTTRACK_ENABLE"):
        lighttrack.start_run()
    assert lighttrack.search_runs(search_all_experiments=True) == []


def test_setters_refuse_bad_values():
    with pytest.raises(InvalidArgument, match="positive number"):
        lighttrack.set_system_metrics_sampling_interval(-1)
    with pytest.raises(InvalidArgument, match="whole number"):
        lighttrack.set_system_metrics_samples_before_logging(0)


def test_without_psutil_the_switch_says_what_to_install(tmp_path):
    script = (
        "import sys; sys.modules['psutil'] = None\n"
        "import lighttrack\n"
        f"lighttrack.set_tracking_uri({str(tmp_path / 'no.db')!r})\n"
        "try:\n"
        "    lighttrack.start_run(log_system_metrics=True)\n"
        "except lighttrack.LighttrackError as e:\n"
        "    print('ERR', e)\n"
        "print('RUNS', len(lighttrack.search_runs(search_all_experiments=True)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": ROOT}).stdout
    assert "pip install 'lighttrack[system-metrics]'" in out
    assert "RUNS 0" in out


# ------------------------------------------------------------------------------ GPUs
NODE = [(0, "GPU-aaaa-0"), (1, "GPU-bbbb-1"), (2, "GPU-cccc-2"), (3, "GPU-dddd-3")]


@pytest.mark.parametrize("env, expected", [
    ({}, [(0, 0), (1, 1), (2, 2), (3, 3)]),
    ({"CUDA_VISIBLE_DEVICES": "2,3"}, [(2, 2), (3, 3)]),
    ({"CUDA_VISIBLE_DEVICES": ""}, []),
    ({"CUDA_VISIBLE_DEVICES": "-1"}, []),
    ({"CUDA_VISIBLE_DEVICES": "1,-1,2"}, [(1, 1)]),  # CUDA stops at the first invalid entry
    ({"CUDA_VISIBLE_DEVICES": "GPU-cccc"}, [(2, 2)]),  # a uuid prefix
    ({"CUDA_VISIBLE_DEVICES": "3,9"}, [(3, 3)]),
    ({"SLURM_JOB_GPUS": "1,3"}, [(1, 1), (3, 3)]),
    ({"SLURM_STEP_GPUS": "2", "SLURM_JOB_GPUS": "1,2"}, [(2, 2)]),
    # SLURM sets CUDA_VISIBLE_DEVICES relative to the job; its own variables name the real ones
    ({"SLURM_JOB_GPUS": "3", "CUDA_VISIBLE_DEVICES": "0"}, [(3, 3)]),
])
def test_only_the_jobs_gpus_named_by_real_index(env, expected):
    assert system_metrics.select_gpus(env, NODE) == expected


def test_a_device_cgroup_renumbers_but_the_real_index_names_the_metric():
    seen_in_cgroup = [(0, "GPU-cccc-2"), (1, "GPU-dddd-3")]
    assert system_metrics.select_gpus({"SLURM_JOB_GPUS": "2,3", "CUDA_VISIBLE_DEVICES": "0,1"},
                                      seen_in_cgroup) == [(0, 2), (1, 3)]


def test_no_nvidia_driver_means_no_gpu_metrics_and_no_error():
    pytest.importorskip("pynvml")  # the test extra installs nvidia-ml-py; this box has no driver
    sampler = system_metrics.Sampler()
    assert sampler.gpus.handles == []
    assert not any(k.startswith("gpu_") for k in sampler.sample())


def test_gpu_readings_use_the_real_index(monkeypatch):
    """NVML's own library cannot run without a GPU here: a stand-in module with NVML's call
    names checks the readings and names (what a real driver returns is NVML's business)."""
    memory = types.SimpleNamespace(used=2_000_000_000, total=8_000_000_000)
    fake = types.SimpleNamespace(
        nvmlInit=lambda: None, nvmlDeviceGetCount=lambda: 4,
        nvmlDeviceGetHandleByIndex=lambda i: f"h{i}", nvmlDeviceGetUUID=lambda h: f"GPU-{h}",
        nvmlDeviceGetMemoryInfo=lambda h: memory,
        nvmlDeviceGetUtilizationRates=lambda h: types.SimpleNamespace(gpu=int(h[1:]) * 10),
        nvmlDeviceGetPowerUsage=lambda h: 150_000, nvmlDeviceGetEnforcedPowerLimit=lambda h: 300_000,
    )
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    readings: dict[str, float] = {}
    system_metrics._Gpus({"CUDA_VISIBLE_DEVICES": "3"}).sample(readings)
    assert readings == {
        "gpu_3_memory_usage_percentage": 25.0, "gpu_3_memory_usage_megabytes": 2000.0,
        "gpu_3_utilization_percentage": 30.0, "gpu_3_power_usage_watts": 150.0,
        "gpu_3_power_usage_percentage": 50.0,
    }


def test_a_resumed_run_goes_on_from_its_last_system_step():
    lighttrack.set_system_metrics_sampling_interval(0.05)
    with lighttrack.start_run(log_system_metrics=True) as run:
        pass
    with lighttrack.start_run(run_id=run.info.run_id, log_system_metrics=True):
        pass
    history = lighttrack.LighttrackClient().get_metric_history(run.info.run_id, "system/cpu_utilization_percentage")
    steps = [m.step for m in history]
    assert steps == sorted(steps) and len(steps) == len(set(steps)) >= 2
