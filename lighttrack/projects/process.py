"""The child process: started in its own process group, its stdout and stderr streamed live to
ours *and* into files, signals passed on to it.

The child gets a process group of its own so that a signal reaches everything the command
started (``bash -c`` and what it runs), and so that Ctrl-C in the terminal reaches lighttrack
first, which passes it on and records the run as KILLED. A child that ignores the signal is
killed after ``GRACE_SECONDS``.
"""

from __future__ import annotations

import codecs
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

GRACE_SECONDS = float(os.environ.get("LIGHTTRACK_KILL_GRACE", "10"))
#: after the child exits, how long to wait for processes it left behind to close the pipes
DRAIN_SECONDS = 2.0


class _Sink:
    """One of our own output streams, written with bytes when it can take them."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.buffer = getattr(stream, "buffer", None)
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def write(self, data: bytes) -> None:
        try:
            if self.buffer is not None:
                self.buffer.write(data)
                self.buffer.flush()
            else:
                self.stream.write(self.decoder.decode(data))
                self.stream.flush()
        except (OSError, ValueError):
            pass  # our terminal went away; the log files still get everything


class ChildProcess:
    """A running command whose output is teed to our stdout/stderr and to two files."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], log_dir: Path) -> None:
        self.log_dir = log_dir
        self.stdout_path = log_dir / "stdout.txt"
        self.stderr_path = log_dir / "stderr.txt"
        stdin = subprocess.DEVNULL if _is_tty(sys.stdin) else None
        self.proc = subprocess.Popen(
            argv, cwd=str(cwd), env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            process_group=0,
        )
        self.pid = self.proc.pid
        self.signalled: int | None = None
        self._signalled_at: float | None = None
        self._escalated = False
        self._stop_reading = threading.Event()
        self._reader = threading.Thread(target=self._tee, name=f"lighttrack-tee-{self.pid}", daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ output
    def _tee(self) -> None:
        selector = selectors.DefaultSelector()
        files = {
            self.proc.stdout.fileno(): (open(self.stdout_path, "wb"), _Sink(sys.stdout)),
            self.proc.stderr.fileno(): (open(self.stderr_path, "wb"), _Sink(sys.stderr)),
        }
        for fd in files:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        try:
            while selector.get_map() and not self._stop_reading.is_set():
                for key, _ in selector.select(timeout=0.2):
                    fd = key.fd
                    try:
                        data = os.read(fd, 65536)
                    except BlockingIOError:
                        continue
                    if not data:
                        selector.unregister(fd)
                        continue
                    log, sink = files[fd]
                    log.write(data)
                    log.flush()
                    sink.write(data)
        finally:
            selector.close()
            for log, _ in files.values():
                log.close()

    # ------------------------------------------------------------------ signals
    def send(self, signum: int) -> None:
        """Pass a signal to the child's whole process group (a second one kills it)."""
        if self.proc.poll() is not None:
            return
        if self.signalled is not None and signum in (signal.SIGINT, signal.SIGTERM):
            self.kill()
            return
        self.signalled = self.signalled or signum
        self._signalled_at = time.monotonic()
        _killpg(self.pid, signum)

    def kill(self) -> None:
        self._escalated = True
        _killpg(self.pid, signal.SIGKILL)

    # --------------------------------------------------------------------- wait
    def wait(self) -> int:
        """Wait for the child (killing it if it outlives the grace period after a signal), then
        for its output to be drained; returns its exit code."""
        while True:
            try:
                code = self.proc.wait(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                if (self._signalled_at is not None and not self._escalated
                        and time.monotonic() - self._signalled_at > GRACE_SECONDS):
                    self.kill()
        if self.signalled is not None:
            _killpg(self.pid, signal.SIGKILL)  # anything it started and left behind
        self._reader.join(DRAIN_SECONDS)
        if self._reader.is_alive():  # something it started still holds the pipes open
            self._stop_reading.set()
            self._reader.join(1.0)
        for pipe in (self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()
            except OSError:
                pass
        return code


def _killpg(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _is_tty(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def exit_code_for(returncode: int | None, signalled: int | None) -> int:
    """What ``lighttrack run`` exits with: the child's code, or 128+N after signal N."""
    if signalled is not None:
        return 128 + signalled
    if returncode is None:
        return 1
    if returncode < 0:
        return 128 - returncode
    return returncode


class SignalForwarding:
    """While active (main thread only), SIGINT/SIGTERM/SIGHUP go to the child instead of
    stopping us; one that arrives before the child exists is remembered."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.child: ChildProcess | None = None
        self.pending: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> SignalForwarding:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                try:
                    self._previous[signum] = signal.signal(signum, self._handle)
                except (ValueError, OSError):
                    pass
        return self

    def _handle(self, signum, frame) -> None:
        if self.child is not None:
            self.child.send(signum)
        else:
            self.pending = self.pending or signum

    def attach(self, child: ChildProcess) -> None:
        self.child = child
        if self.pending is not None:
            child.send(self.pending)

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            try:
                signal.signal(signum, previous)
            except (ValueError, OSError, TypeError):
                pass
        self._previous.clear()
