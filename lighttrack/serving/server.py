"""Starting and stopping the scoring server: the port, the model, uvicorn, signals.

The port is bound before the model is loaded, so "port in use" is said at once; the model is
loaded before a request is accepted, so ``/ping`` never answers 200 for a server that cannot
predict. Either failure is a ``LighttrackError`` (one line, exit 1 from the CLI). SIGINT and
SIGTERM stop accepting, let running requests finish, write the request log and end its run,
and the command exits 0. With ``--workers N`` uvicorn's supervisor runs N processes on the
one socket; each loads the model, follows the registry and (with ``--log-requests``) writes
its own serving run.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import threading
from dataclasses import asdict, dataclass
from typing import Any

from lighttrack.errors import InvalidArgument, LighttrackError, ModelError

_OPTIONS_ENV = "LIGHTTRACK_SERVE_OPTIONS"  # how worker processes learn what to serve


@dataclass(frozen=True)
class ServeOptions:
    model_uri: str
    tracking_uri: str  # the file's path
    host: str = "127.0.0.1"
    port: int = 5001
    workers: int = 1
    log_requests: bool = False
    log_interval: float = 5.0
    batching: bool = True
    allow_pickle: bool | None = None
    trust_code: bool | None = None
    follow_interval: float = 0.25


def _need_serve_extra() -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ModelError("serving needs uvicorn and starlette: pip install 'lighttrack[serve]'") from None


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or one clear error (port in use, address not here)."""
    if not 0 <= port <= 65535:
        raise InvalidArgument(f"--port must be 0-65535, not {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InvalidArgument(f"port {port} on {host} is in use: stop what listens there or choose another --port") from None
        raise InvalidArgument(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _parts(options: ServeOptions):
    """Model slot, follower, request log and app for one process."""
    from lighttrack.client import LighttrackClient
    from lighttrack.serving.app import build_app
    from lighttrack.serving.follow import ModelSlot, RegistryFollower, followed_name, load

    import lighttrack

    lighttrack.set_tracking_uri(options.tracking_uri)  # models:/ and runs:/ resolve in this file
    client = LighttrackClient(options.tracking_uri)
    served = load(options.model_uri, client, options.allow_pickle, options.trust_code)
    slot = ModelSlot(served)
    follower = None
    if followed_name(options.model_uri) is not None:
        follower = RegistryFollower(slot, options.tracking_uri, options.allow_pickle, options.follow_interval,
                                    trust_code=options.trust_code)
        follower.start()
    log = None
    if options.log_requests:
        from lighttrack.serving.request_log import RequestLog

        log = RequestLog(client, options.model_uri, served.version, options.log_interval)

    def shutdown() -> None:
        if follower is not None:
            follower.stop()
        if log is not None:
            log.close()

    return slot, build_app(slot, batching=options.batching, request_log=log, on_shutdown=shutdown)


def worker_app():
    """uvicorn's factory in each worker process (``--workers N``)."""
    options = ServeOptions(**json.loads(os.environ[_OPTIONS_ENV]))
    return _parts(options)[1]


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, minus re-raising SIGINT/SIGTERM after a graceful stop: the
        command then ends normally (exit 0) instead of dying of the signal."""

        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


def startup_line(options: ServeOptions, version: str | None) -> str:
    what = options.model_uri + (f" (version {version})" if version else "")
    host = f"[{options.host}]" if ":" in options.host else options.host
    line = f"serving {what} on http://{host}:{options.port} with {options.workers} worker(s)"
    from lighttrack.serving.follow import followed_name

    if followed_name(options.model_uri) is not None:
        line += "; following the registry (a moved alias or stage is loaded and swapped in)"
    if options.host in ("0.0.0.0", "::", ""):
        line += f"; listening on every network interface ({options.host}): reachable from other machines"
    elif options.host not in ("127.0.0.1", "localhost", "::1"):
        line += f"; listening on {options.host}"
    return line


def serve(options: ServeOptions, echo: Any = print) -> None:
    """Run until SIGINT/SIGTERM. Raises LighttrackError (before serving) for what the user can fix."""
    _need_serve_extra()
    if options.workers < 1:
        raise InvalidArgument(f"--workers must be 1 or more, not {options.workers}")
    import uvicorn

    sock = bind(options.host, options.port)
    try:
        if options.port == 0:
            options = ServeOptions(**{**asdict(options), "port": sock.getsockname()[1]})
        common = dict(log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=30)
        if options.workers == 1:
            try:
                slot, app = _parts(options)
            except LighttrackError:
                raise
            except Exception as exc:
                raise ModelError(f"cannot load {options.model_uri}: {type(exc).__name__}: {exc}") from None
            echo(startup_line(options, slot.current.version))
            _server_class()(uvicorn.Config(app, **common)).run(sockets=[sock])
        else:
            from lighttrack.serving.follow import load
            from lighttrack.client import LighttrackClient

            import lighttrack

            lighttrack.set_tracking_uri(options.tracking_uri)
            served = load(options.model_uri, LighttrackClient(options.tracking_uri), options.allow_pickle,
                          options.trust_code)
            os.environ[_OPTIONS_ENV] = json.dumps(asdict(options))
            from uvicorn.supervisors import Multiprocess

            config = uvicorn.Config("lighttrack.serving.server:worker_app", factory=True,
                                    workers=options.workers, **common)
            echo(startup_line(options, served.version))
            del served
            Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
    echo(f"stopped serving {options.model_uri}")
