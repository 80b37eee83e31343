"""The service's HTTP API (FastAPI on uvicorn): jobs, their progress as Server-Sent Events, health, metrics.

    POST /v1/jobs                  a FaceShot.1 document → 202 and the job (queued)
    GET  /v1/jobs[?state=&limit=]  the newest jobs
    GET  /v1/jobs/{id}             one job (404 job.unknown: never a guess)
    GET  /v1/jobs/{id}/events      text/event-stream: the job each time it changes, until it finishes
    POST /v1/jobs/{id}/cancel      cancel (queued: at once; running: between two frames)
    POST /v1/jobs/{id}/resume      queue a failed, resumable job again
    GET  /health                   {"status": "ok"} (details with the token)
    GET  /metrics                  Prometheus text
    GET  /openapi.json             this API, described

Every refusal is ``{"error": {"code", "message", "findings"}}`` with a stable code and no stack
trace or server path. In front of the routes: requests from a browser page (an ``Origin``
header) and, on loopback, a ``Host`` that is not a loopback name (DNS rebinding) are refused;
with a token configured every route but /health needs ``Authorization: Bearer <token>``
(compared in constant time); a body larger than ``max_body_bytes`` is refused with 413 before
it is read whole. No CORS headers are ever sent.
"""
# no `from __future__ import annotations`: FastAPI reads the routes' annotations (Request) at definition
import asyncio
import hmac
import json
import logging
from dataclasses import replace
from typing import Any

from faceright import __version__
from faceright.errors import FaceRightError, ServiceError, ShotError
from faceright.service.protocol import API_PREFIX, STATES, USER_HEADER, check_job_id, error_body
from faceright.shot import FaceShot

from .dispatch import Dispatcher
from .guard import check_media, redact
from .metrics import metrics_text
from .runner import error_code

log = logging.getLogger(__name__)

#: how often an event stream looks at its job
EVENT_POLL_S = 0.1
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

FACESHOT_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {
        "type": "object", "title": "FaceShot.1",
        "description": "A FaceShot document (faceright.shot); every media name is root:relative/path",
        "required": ["schema", "shot_id", "plate", "donor", "license", "release", "usage", "output"],
        "properties": {"schema": {"const": "FaceShot.1"}, "shot_id": {"type": "string"}},
    }}},
}


def host_of(header: str) -> str:
    """The host name of a Host header (``[::1]:8765`` → ``[::1]``, ``localhost:8765`` → ``localhost``)."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def create_app(dispatcher: Dispatcher, *, token: str | None, loopback: bool) -> Any:
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, PlainTextResponse
    from sse_starlette.sse import EventSourceResponse
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    settings = dispatcher.settings
    roots = dispatcher.config.paths
    app = FastAPI(title="faceright engine service", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json",
                  description="Licensed face swaps queued on the studio's GPU machines. Media are named "
                              "root:relative/path inside the service's path roots.")

    def refusal(status: int, code: str, message: str, *, findings: Any = (), retry_after: float | None = None) -> Any:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else None
        if status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
        return JSONResponse(error_body(code, message, list(findings)), status_code=status, headers=headers)

    @app.middleware("http")
    async def guard_requests(request: Request, call_next: Any) -> Any:
        if request.headers.get("origin") is not None:
            return refusal(403, "request.cross_origin", "the service takes no requests from web pages (an Origin "
                           "header was sent); use faceright's client")
        if loopback:
            if host_of(request.headers.get("host") or "") not in LOOPBACK_HOSTS:
                return refusal(403, "request.bad_host", "this service listens on loopback and answers only requests "
                               "addressed to it there (Host 127.0.0.1 or localhost)")
        if token is not None and request.url.path != "/health":
            given = request.headers.get("authorization") or ""
            if not given:
                return refusal(401, "auth.missing", "this service needs its token: Authorization: Bearer <token> "
                               "(faceright's client sends [service] token_file or FACERIGHT_SERVICE_TOKEN)")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
                return refusal(401, "auth.invalid", "the token given is not this service's; check [service] "
                               "token_file or FACERIGHT_SERVICE_TOKEN")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return refusal(413, "request.too_large", f"the request body is larger than the service accepts "
                           f"({settings.max_body_bytes} bytes); a FaceShot is a few KB")
        try:
            return await call_next(request)
        except Exception:   # noqa: BLE001 - the client gets a code; the log has the traceback
            log.exception("%s %s failed", request.method, request.url.path)
            return refusal(500, "service.internal", "the service failed on this request; its log names the cause")

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Any:
        return refusal(exc.status or 400, exc.code, redact(str(exc), roots), retry_after=exc.retry_after)

    @app.exception_handler(FaceRightError)
    async def _our_error(request: Request, exc: FaceRightError) -> Any:
        return refusal(400, error_code(exc), redact(str(exc), roots))

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Any:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return refusal(400, "request.invalid", f"the request is malformed: {problems}")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Any:
        return refusal(exc.status_code, f"http.{exc.status_code}", str(exc.detail))

    async def read_body(request: Request) -> bytes:
        from starlette.requests import ClientDisconnect

        chunks, size = [], 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > settings.max_body_bytes:
                    raise ServiceError(f"the request body is larger than the service accepts "
                                       f"({settings.max_body_bytes} bytes); a FaceShot is a few KB",
                                       code="request.too_large", status=413)
                chunks.append(chunk)
        except ClientDisconnect:    # a client gone mid-body is no failure of the service (no traceback logged)
            raise ServiceError("the client went away before its request body arrived", code="request.incomplete",
                               status=400) from None
        return b"".join(chunks)

    @app.post(f"{API_PREFIX}/jobs", status_code=202, summary="Submit a FaceShot as a swap job",
              openapi_extra={"requestBody": FACESHOT_BODY})
    async def submit(request: Request) -> Any:
        body = await read_body(request)
        try:
            shot = FaceShot.loads(body, what="the request body")
        except ShotError as exc:
            raise ServiceError(str(exc), code="shot.invalid", status=400) from None
        check_media(shot, roots)
        user = (request.headers.get(USER_HEADER) or "unknown").strip()[:100] or "unknown"
        shot_json = json.dumps(shot.to_json() | {"results": None}, ensure_ascii=False)
        view = await run_in_threadpool(dispatcher.submit, shot, shot_json, user)
        return JSONResponse(view.to_json(), status_code=202)

    @app.get(f"{API_PREFIX}/jobs", summary="The newest jobs")
    async def jobs(state: str | None = None, limit: int = 100) -> Any:
        if state is not None and state not in STATES:
            raise ServiceError(f"state {state!r} is not one of {', '.join(STATES)}", code="request.invalid")
        if not 1 <= limit <= 1000:
            raise ServiceError("limit must lie in 1..1000", code="request.invalid")
        views = await run_in_threadpool(dispatcher.list, state=state, limit=limit)
        return {"jobs": [v.to_json() for v in views]}

    @app.get(f"{API_PREFIX}/jobs/{{job_id}}", summary="One job")
    async def job(job_id: str) -> Any:
        return (await run_in_threadpool(dispatcher.view, check_job_id(job_id))).to_json()

    @app.post(f"{API_PREFIX}/jobs/{{job_id}}/cancel", summary="Cancel a job")
    async def cancel(job_id: str) -> Any:
        return (await run_in_threadpool(dispatcher.cancel, check_job_id(job_id))).to_json()

    @app.post(f"{API_PREFIX}/jobs/{{job_id}}/resume", summary="Queue a failed, resumable job again")
    async def resume(job_id: str) -> Any:
        return (await run_in_threadpool(dispatcher.resume, check_job_id(job_id))).to_json()

    @app.get(f"{API_PREFIX}/jobs/{{job_id}}/events", summary="The job's progress as Server-Sent Events")
    async def events(job_id: str, request: Request) -> Any:
        first = await run_in_threadpool(dispatcher.view, check_job_id(job_id))   # 404 before the stream opens

        async def stream() -> Any:
            view, last = first, None
            while True:
                data = json.dumps(view.to_json(), ensure_ascii=False)
                if data != last:
                    yield {"event": "job", "data": data}
                    last = data
                if view.finished or await request.is_disconnected():
                    return
                await asyncio.sleep(EVENT_POLL_S)
                live = dispatcher.live.get(job_id)
                if live is not None and view.state == "running":
                    view = replace(view, progress=live.progress)   # while it runs: memory only, no store read
                else:
                    view = await run_in_threadpool(dispatcher.view, job_id)

        return EventSourceResponse(stream(), ping=10)

    @app.get("/health", summary="Is the service up")
    async def health(request: Request) -> Any:
        authorised = token is None or hmac.compare_digest(
            (request.headers.get("authorization") or "").partition(" ")[2].strip().encode(), token.encode())
        body: dict[str, Any] = {"status": "stopping" if dispatcher.stopping else "ok"}
        if authorised:
            queued, running = dispatcher.queue_lengths(), dispatcher.running_jobs()
            body |= {"version": __version__, "devices": [
                {"device": d, "ready": dispatcher.workers[d].ready.is_set(), "engine": dispatcher.workers[d].engine is not None,
                 "queued": queued[d], "running": running[d]} for d in dispatcher.workers]}
        return JSONResponse(body, status_code=503 if dispatcher.stopping else 200)

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics() -> Any:
        text = await run_in_threadpool(metrics_text, dispatcher)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    return app
