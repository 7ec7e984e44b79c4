"""Durability under contention: what a crash loses, and whether readers are ever refused.

``crash_loss``: the README promises that a crash loses at most the last flush interval of
metrics. One process logs a point every millisecond whose value is the wall-clock time it was
logged; three other processes write the same file as hard as they can (metrics in a tight loop
and a 1 MiB artifact every half second). The logging process is SIGKILLed at a random moment;
the loss is the kill time minus the newest value that reached the file.

``reader_refusals``: readers open the file over and over (each open runs the pre-open header
check again) while two processes log 10 MB artifacts (each one a WAL far bigger than the
auto-checkpoint, so checkpoints run all the time). Every refusal of this intact file counts.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time

from harness import Row, workload
from workloads_core import _child_env

TARGET = """
import sys, time, lighttrack as mlflow
mlflow.set_tracking_uri(sys.argv[1])
run = mlflow.start_run(run_name="target")
print(run.info.run_id, time.time(), flush=True)
i = 0
while True:
    mlflow.log_metric("wall", time.time(), step=i)
    i += 1
    time.sleep(0.001)
"""

OTHER = """
import sys, time, lighttrack as mlflow
mlflow.set_tracking_uri(sys.argv[1])
blob = "x" * (1 << 20)
with mlflow.start_run(run_name="other"):
    print("ready", flush=True)
    i, last = 0, 0.0
    while True:
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        i += 1
        if time.monotonic() - last > 0.5:
            last = time.monotonic()
            mlflow.log_text(blob, f"blob-{i}.txt")
"""

ARTIFACT_WRITER = """
import os, sys, lighttrack as mlflow
mlflow.set_tracking_uri(sys.argv[1])
folder, count = sys.argv[2], int(sys.argv[3])
with mlflow.start_run(run_name="artifacts"):
    for i in range(count):
        local = os.path.join(folder, f"a{os.getpid()}-{i}.bin")
        with open(local, "wb") as f:
            f.write(os.urandom(10 * 1024 * 1024))
        mlflow.log_artifact(local, f"part{i}")
        os.remove(local)
"""

READER = """
import sys, lighttrack
from lighttrack import LighttrackClient
from lighttrack.errors import LighttrackError
from lighttrack.store import close_all
path, stop = sys.argv[1], sys.argv[2]
import os
opens = refusals = 0
first = ""
while not os.path.exists(stop):
    try:
        LighttrackClient(path, readonly=True).search_runs(max_results=5)
    except LighttrackError as exc:
        refusals += 1
        first = first or exc.message
    opens += 1
    close_all()  # forgets the header check too: the next open checks again
print(opens, refusals, first.replace(chr(10), " "), flush=True)
"""


@workload("crash_loss", title="crash loss under contention", order=120, repeat=8, rows=[
    Row("worst", "metrics lost by SIGKILL, 3 other writers (worst)", "s", budget=0.5),
    Row("median", "metrics lost by SIGKILL, 3 other writers (median)", "s"),
])
def crash_loss(ctx):
    from lighttrack import LighttrackClient
    from lighttrack.store import close_all

    losses = []
    for _ in range(ctx.repeat if not ctx.quick else 3):
        path = str(ctx.tempdir() / "crash.db")
        LighttrackClient(path).create_experiment("warm")  # the file exists before anyone races
        close_all()
        env = _child_env()
        others = [subprocess.Popen([ctx.python, "-c", OTHER, path], env=env, stdout=subprocess.PIPE,
                                   text=True) for _ in range(3)]
        for proc in others:
            proc.stdout.readline()
        target = subprocess.Popen([ctx.python, "-c", TARGET, path], env=env, stdout=subprocess.PIPE,
                                  text=True)
        run_id, started = target.stdout.readline().split()
        time.sleep(1.0 + random.random() * 2.0)
        killed_at = time.time()
        target.send_signal(signal.SIGKILL)
        target.wait()
        for proc in others:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        values = [p.value for p in LighttrackClient(path).get_metric_history(run_id, "wall")]
        close_all()
        loss = killed_at - max(values, default=float(started))
        losses.append(loss)
        ctx.record("median", loss)
        ctx.record("worst", loss)
    ctx.headline("worst", max(losses))
    from lighttrack.store.writer import FLUSH_SECONDS

    ctx.note("worst", f"flush every {FLUSH_SECONDS} s on a fixed schedule; {len(losses)} kills")


@workload("reader_refusals", title="readers while 10 MB artifacts are written", order=121, repeat=1, rows=[
    Row("refusals", "reader opens refused while 2 processes log 10 MB artifacts", "opens", budget=0),
    Row("opens", "reader opens in that time", "opens", better="higher"),
])
def reader_refusals(ctx):
    from lighttrack import LighttrackClient
    from lighttrack.store import close_all

    folder = ctx.tempdir()
    path = str(folder / "shared.db")
    LighttrackClient(path).create_experiment("warm")
    close_all()
    env = _child_env()
    stop = folder / "stop"
    count = ctx.size(12, 4)
    writers = [subprocess.Popen([ctx.python, "-c", ARTIFACT_WRITER, path, str(folder), str(count)], env=env)
               for _ in range(2)]
    readers = [subprocess.Popen([ctx.python, "-c", READER, path, str(stop)], env=env, stdout=subprocess.PIPE,
                                text=True) for _ in range(2)]
    for proc in writers:
        proc.wait()
    stop.touch()
    opens = refusals = 0
    for proc in readers:
        line = proc.stdout.readline().split(maxsplit=2)
        proc.wait()
        opens += int(line[0])
        refusals += int(line[1])
        if len(line) > 2:
            ctx.note("refusals", line[2][:160])
    ctx.record("refusals", refusals)
    ctx.record("opens", opens)
