"""The scoring server as a starlette application (MLflow's routes, lighttrack's model slot).

``/ping`` and ``/health`` answer 200 once a model is loaded (the server loads it before it
binds, so always), ``/version`` names the lighttrack version and the model version being
served, ``/invocations`` predicts. Parsing happens on the event loop (it is small and
GIL-bound), predicting in the batcher's thread for row-wise flavours or in the thread pool.
"""

from __future__ import annotations

import json
import time
from contextlib import asynccontextmanager
from typing import Any, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lighttrack.serving.batching import Batcher, predict_one
from lighttrack.serving.follow import ModelSlot
from lighttrack.serving.protocol import CONTENT_TYPE_JSON, ScoringError, parse_request


def _lighttrack_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("lighttrack")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_app(slot: ModelSlot, *, batching: bool = True, request_log: Any = None,
              on_shutdown: Callable[[], None] | None = None) -> Starlette:
    """The application for one model slot. ``request_log`` has ``record(...)`` (RequestLog)."""
    batcher: Batcher | None = Batcher() if batching else None
    version = _lighttrack_version()

    async def ping(request: Request) -> Response:
        return Response("\n", status_code=200 if slot.current is not None else 503, media_type=CONTENT_TYPE_JSON)

    async def version_info(request: Request) -> Response:
        body = {"lighttrack": version, **slot.current.describe(), "swaps": slot.swaps}
        return Response(json.dumps(body), media_type=CONTENT_TYPE_JSON)

    async def invocations(request: Request) -> Response:
        started = time.perf_counter()
        served = slot.current  # read once: a swap during this request does not change its model
        body = await request.body()
        try:
            parsed = parse_request(body, request.headers.get("content-type"), served.schema)
            if batcher is not None and Batcher.can_batch(served, parsed):
                answer = await batcher.predict(served, parsed)
            else:
                answer = await run_in_threadpool(predict_one, served, parsed)
            response = Response(answer, media_type=CONTENT_TYPE_JSON)
        except ScoringError as exc:
            answer = exc.body()
            response = Response(answer, status_code=exc.status, media_type=exc.media_type)
        if request_log is not None:
            request_log.record(time.perf_counter() - started, response.status_code, served.version, body, answer)
        return response

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        if batcher is not None:
            batcher.stop()
        if on_shutdown is not None:
            on_shutdown()

    app = Starlette(routes=[
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version_info, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
    ], lifespan=lifespan)
    app.state.batcher = batcher
    app.state.slot = slot
    return app
