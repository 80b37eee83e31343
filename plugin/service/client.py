"""The engine service's client: the ``remote`` :class:`~faceright.engine_client.EngineClient`.

It speaks HTTP with ``requests`` and imports no onnxruntime, so Nuke's and Resolve's Pythons
use the studio's GPU engine with nothing heavy installed. :meth:`RemoteEngine.swap` submits the
FaceShot, follows the job's progress (Server-Sent Events, reconnecting when the stream drops)
and returns the same :class:`~faceright.engine_client.SwapOutcome` the in-process engine
does; the service refuses an unlicensed shot with the same :class:`SwapRefusedError` and
findings. Interrupting the wait (Ctrl-C) cancels the job on the service.

The service runs swap jobs. Checks, labelling and conforms (the publish gates' work) stay
in-process: the client hands them to the ``local`` engine when this installation has one, and
says what to install when it has not.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faceright.config import Config
from faceright.errors import ServiceError, SwapRefusedError
from faceright.progress import Progress, ProgressCallback
from faceright.shot import FaceShot

from .protocol import API_PREFIX, AUTH_HEADER, USER_HEADER, JobView, check_job_id, finding_of, outcome_of
from .settings import ServiceSettings, service_settings

if TYPE_CHECKING:
    from faceright.engine_client import SwapOutcome

log = logging.getLogger(__name__)

#: codes of a refusal that is the license/release verdict, raised as SwapRefusedError like in-process
REFUSAL_CODES = frozenset({"shot.not_covered"})


class RemoteEngine:
    """The engine service at ``settings.url`` (``[service] url`` or ``FACERIGHT_SERVICE_URL``)."""

    name = "remote"

    def __init__(self, config: Config, *, url: str | None = None, settings: ServiceSettings | None = None,
                 session: Any = None, **_: Any) -> None:
        import requests

        self.config = config
        self.settings = settings if settings is not None else service_settings(config, url=url)
        if not self.settings.url:
            raise ServiceError("no engine service is configured: set [service] url (or FACERIGHT_SERVICE_URL) to "
                               "the URL `faceright engine serve` printed, or use the in-process engine",
                               code="service.not_configured")
        self.url = self.settings.url.rstrip("/")
        self._requests = requests
        self._session = session or requests.Session()
        token = self.settings.token()
        if token:
            self._session.headers[AUTH_HEADER] = f"Bearer {token}"
        self._session.headers[USER_HEADER] = _user()
        self._local: Any = None

    # -- jobs -----------------------------------------------------------------------------------

    def submit(self, shot: FaceShot) -> JobView:
        """Queue ``shot`` on the service; a full queue raises ServiceError ``service.busy`` (``retry_after``)."""
        body = json.dumps(rooted(shot, self.config.paths).to_json(), ensure_ascii=False).encode("utf-8")
        return JobView.from_json(self._call("POST", "/jobs", data=body,
                                            headers={"Content-Type": "application/json"}))

    def job(self, job_id: str) -> JobView:
        return JobView.from_json(self._call("GET", f"/jobs/{check_job_id(job_id)}"))

    def jobs(self, *, state: str | None = None, limit: int = 100) -> list[JobView]:
        params = {"limit": str(limit), **({"state": state} if state else {})}
        return [JobView.from_json(j) for j in self._call("GET", "/jobs", params=params)["jobs"]]

    def cancel(self, job_id: str) -> JobView:
        """Cancel a queued job at once, a running one between two frames (nothing is left under its output)."""
        return JobView.from_json(self._call("POST", f"/jobs/{check_job_id(job_id)}/cancel"))

    def resume(self, job_id: str) -> JobView:
        """Queue a failed-and-resumable job (e.g. interrupted by a restart) again."""
        return JobView.from_json(self._call("POST", f"/jobs/{check_job_id(job_id)}/resume"))

    def follow(self, job_id: str, *, progress: ProgressCallback | None = None,
               timeout_s: float | None = None) -> JobView:
        """Wait for the job to finish, reporting its progress; the stream is reopened when it drops."""
        check_job_id(job_id)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        started = time.monotonic()
        drops = 0
        while True:
            try:
                for view in self._events(job_id):
                    if progress is not None and view.state == "running":
                        progress(Progress(view.progress.done, view.progress.total, time.monotonic() - started))
                    if view.finished:
                        return view
                    if deadline is not None and time.monotonic() > deadline:
                        raise ServiceError(f"job {job_id} did not finish within {timeout_s:.0f} s; it goes on "
                                           "on the service (`faceright engine jobs`)", code="job.timeout")
            except ServiceError as exc:
                if exc.code != "service.unreachable":
                    raise
                drops += 1
                if drops > 5:
                    raise
                log.info("the progress stream of %s dropped (%s); reopening", job_id, exc)
                time.sleep(min(0.2 * 2 ** drops, 3.0))
                continue
            view = self.job(job_id)    # the stream ended without a finished job: ask once
            if view.finished:
                return view

    def result(self, job_id: str) -> SwapOutcome:
        view = self.job(job_id)
        return self._outcome(view)

    def swap(self, shot: FaceShot, *, progress: ProgressCallback | None = None) -> SwapOutcome:
        """Submit ``shot``, follow it and return its outcome, as the in-process engine would."""
        view = self.submit(shot)
        try:
            view = self.follow(view.id, progress=progress)
        except KeyboardInterrupt:
            try:
                self.cancel(view.id)
            except ServiceError as exc:
                log.warning("could not cancel job %s on %s: %s", view.id, self.url, exc)
            raise
        return self._outcome(view)

    def _outcome(self, view: JobView) -> SwapOutcome:
        if view.state == "done" and view.outcome is not None:
            return outcome_of(view.outcome)
        if view.error is not None and view.error.code in REFUSAL_CODES:
            raise SwapRefusedError(view.error.message, findings=list(view.error.findings))
        if view.error is not None:
            hint = " (resume it with `faceright engine resume ID`)" if view.resumable else ""
            raise ServiceError(f"job {view.id} ({view.shot_id}) {view.state}: {view.error.message}{hint}",
                               code=view.error.code)
        raise ServiceError(f"job {view.id} ({view.shot_id}) is {view.state}, not done: it has no result yet",
                           code="job.not_done")

    # -- the service ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health", prefix="")

    def metrics(self) -> str:
        return self._request("GET", "/metrics", prefix="").text

    # -- what stays in-process ------------------------------------------------------------------

    def _in_process(self) -> Any:
        if self._local is None:
            from faceright.engine_client import open_engine

            self._local = open_engine(self.config, name="local")
        return self._local

    def check(self, shot: FaceShot) -> Any:
        return self._in_process().check(shot)

    def apply_labels(self, src: Path, dst: Path, settings: Any, **options: Any) -> Any:
        return self._in_process().apply_labels(src, dst, settings, **options)

    def conform(self, clips: Sequence[Any], output: Path, settings: Any, *, overwrite: bool = False,
                progress: ProgressCallback | None = None) -> Any:
        return self._in_process().conform(clips, output, settings, overwrite=overwrite, progress=progress)

    def embedder(self) -> Any:
        return self._in_process().embedder()

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None
        self._session.close()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP -----------------------------------------------------------------------------------

    def _events(self, job_id: str) -> Iterator[JobView]:
        response = self._request("GET", f"/jobs/{job_id}/events", stream=True,
                                 headers={"Accept": "text/event-stream"}, read_timeout=None)
        with response:
            data: list[str] = []
            try:
                for line in response.iter_lines(decode_unicode=True):
                    if line is None:
                        continue
                    if line == "":
                        if data:
                            yield JobView.from_json(json.loads("\n".join(data)))
                            data = []
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip(" "))
            except self._requests.RequestException as exc:
                raise ServiceError(f"the progress stream from {self.url} broke: {exc}",
                                   code="service.unreachable") from None

    def _call(self, method: str, path: str, *, prefix: str = API_PREFIX, **kwargs: Any) -> Any:
        response = self._request(method, path, prefix=prefix, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ServiceError(f"{self.url} answered {method} {path} with something that is not JSON: is it a "
                               "faceright engine service?", code="service.bad_answer") from None

    def _request(self, method: str, path: str, *, prefix: str = API_PREFIX, stream: bool = False,
                 read_timeout: float | None | str = "default", **kwargs: Any) -> Any:
        url = f"{self.url}{prefix}{path}"
        timeout = (self.settings.timeout_s, self.settings.timeout_s if read_timeout == "default" else read_timeout)
        try:
            response = self._session.request(method, url, timeout=timeout, stream=stream, **kwargs)
        except self._requests.RequestException as exc:
            raise ServiceError(f"cannot reach the engine service at {self.url} ({type(exc).__name__}); is "
                               "`faceright engine serve` running there, and is [service] url right?",
                               code="service.unreachable") from None
        if response.status_code >= 400:
            raise _refusal(response, f"{method} {prefix}{path}")
        return response


def _refusal(response: Any, what: str) -> ServiceError | SwapRefusedError:
    retry = response.headers.get("Retry-After")
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
        findings = [finding_of(f) for f in error.get("findings") or ()]
    except (ValueError, KeyError, TypeError):
        code, message, findings = f"http.{response.status_code}", f"{what} answered HTTP {response.status_code}", []
    response.close()
    if code in REFUSAL_CODES:
        return SwapRefusedError(message, findings=findings)
    return ServiceError(message, code=code, status=response.status_code,
                        retry_after=float(retry) if retry and retry.replace(".", "", 1).isdigit() else None)


def rooted(shot: FaceShot, roots: Any) -> FaceShot:
    """``shot`` with every plain media path under one of the roots named ``root:relative`` (the service
    opens only such names; a path outside every root is left for the service to refuse by name)."""
    from dataclasses import replace

    def ref(name: str | None) -> str | None:
        if name is None:
            return None
        path = Path(name)
        return roots.to_ref(str(path.absolute()) if not path.is_absolute() and ":" not in name else name)

    return replace(
        shot, plate=replace(shot.plate, path=ref(shot.plate.path)), donor=replace(shot.donor, image=ref(shot.donor.image)),
        plate_face=replace(shot.plate_face, image=ref(shot.plate_face.image)),
        license=replace(shot.license, path=ref(shot.license.path)),
        release=replace(shot.release, path=ref(shot.release.path)),
        output=replace(shot.output, path=ref(shot.output.path)), results=None)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def remote_engine(config: Config, **options: Any) -> RemoteEngine:
    """The ``faceright.engines: remote`` entry point."""
    return RemoteEngine(config, **options)
