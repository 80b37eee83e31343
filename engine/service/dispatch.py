"""The service's queues: one per device, one job at a time on each, every change in the job store.

:class:`Dispatcher` owns a :class:`DeviceWorker` per configured device. Each worker keeps one
warm in-process engine (its models loaded once, at start) and runs the jobs of its queue one
after another, so GPU work on a device is serialised. A submitted job goes to the device with
the fewest jobs waiting or running; when ``max_queued`` jobs already wait, the submission is
refused at once with ``service.busy`` (HTTP 429 and a Retry-After from the jobs' mean
duration), never held. Cancelling a queued job takes it out of its queue; a running one stops
between two frames (its output's partial file is removed, nothing appears under its name).

What a job does is :func:`faceright.engine.service.runner.run_job`: the shot's license and
release verified with the service's own keyring, the swap, the label proven, the ledger record.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from faceright.config import Config
from faceright.errors import ServiceError
from faceright.service.protocol import JobError, JobProgress, JobView, new_job_id
from faceright.service.settings import ServiceSettings
from faceright.shot import FaceShot

from .store import JobStore, now_text

log = logging.getLogger(__name__)

#: how often a running job's progress is written to the store (the live view is always current)
PROGRESS_WRITE_S = 1.0


@dataclass
class Live:
    """A running job as its worker sees it, between store writes."""

    progress: JobProgress = field(default_factory=JobProgress)
    cancel: threading.Event = field(default_factory=threading.Event)
    stopping: bool = False           #: the service is stopping: the job ends as interrupted, not cancelled
    written: float = 0.0


@dataclass
class Counters:
    """What /metrics reports beyond the store's counts."""

    frames: int = 0
    busy_s: float = 0.0
    jobs_finished: int = 0
    refused_busy: int = 0
    model_load_s: dict[int, float] = field(default_factory=dict)


class DeviceWorker:
    def __init__(self, device: int, dispatcher: Dispatcher) -> None:
        self.device = device
        self.dispatcher = dispatcher
        self.queue: deque[str] = deque()
        self.running: str | None = None
        self.engine: Any = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"faceright-device-{device}", daemon=True)

    @property
    def load(self) -> int:
        return len(self.queue) + (1 if self.running else 0)

    def _loop(self) -> None:
        d = self.dispatcher
        try:
            self.engine = d.engine_factory(self.device)
            started = time.perf_counter()
            d.warm_up(self.engine)
            d.counters.model_load_s[self.device] = time.perf_counter() - started
        except Exception as exc:   # noqa: BLE001 - each job then fails with the same clear message
            log.error("device %d: the engine could not load its models: %s", self.device, exc)
        finally:
            self.ready.set()
        while True:
            with d.condition:
                while not self.queue and not d.stopping:
                    d.condition.wait(0.5)
                if d.stopping:
                    return
                job_id = self.queue.popleft()
                self.running = job_id
                live = d.live[job_id] = Live()
            try:
                d.run(job_id, self.device, self.engine, live)
            except Exception:   # noqa: BLE001 - run() records every failure; this is the last guard
                log.exception("device %d: job %s failed outside its runner", self.device, job_id)
            finally:
                with d.condition:
                    self.running = None
                    d.live.pop(job_id, None)
                    d.condition.notify_all()


class Dispatcher:
    def __init__(self, config: Config, settings: ServiceSettings, store: JobStore, *,
                 engine_factory: Callable[[int], Any], runner: Callable[..., None],
                 warm_up: Callable[[Any], None] = lambda engine: None) -> None:
        self.config = config
        self.settings = settings
        self.store = store
        self.engine_factory = engine_factory
        self.runner = runner
        self.warm_up = warm_up
        self.condition = threading.Condition()
        self.live: dict[str, Live] = {}
        self.counters = Counters()
        self.stopping = False
        self.workers = {device: DeviceWorker(device, self) for device in settings.devices}
        self._durations: deque[float] = deque(maxlen=50)

    # -- life ---------------------------------------------------------------------------------------

    def start(self) -> list[str]:
        """Recover the store (running jobs become interrupted), queue what was queued, start the
        workers; returns the ids of the interrupted jobs."""
        interrupted, queued = self.store.recover()
        for job_id in interrupted:
            log.warning("job %s was running when the service stopped: reported failed, resumable", job_id)
        with self.condition:
            for job_id in queued:
                self._assign(job_id)
        for worker in self.workers.values():
            worker.thread.start()
        return interrupted

    def wait_ready(self, timeout: float | None = None) -> bool:
        return all(w.ready.wait(timeout) for w in self.workers.values())

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking jobs; running ones end between frames as interrupted (resumable), queued
        ones stay queued in the store for the next start."""
        with self.condition:
            self.stopping = True
            for live in self.live.values():
                live.stopping = True
                live.cancel.set()
            self.condition.notify_all()
        deadline = time.monotonic() + timeout
        for worker in self.workers.values():
            if worker.thread.is_alive():
                worker.thread.join(max(0.0, deadline - time.monotonic()))
            if worker.engine is not None:
                try:
                    worker.engine.close()
                except Exception:   # noqa: BLE001 - closing at exit; the log says it
                    log.exception("device %d: closing the engine failed", worker.device)

    # -- requests -----------------------------------------------------------------------------------

    def submit(self, shot: FaceShot, shot_json: str, user: str) -> JobView:
        with self.condition:
            if self.stopping:
                raise ServiceError("the service is stopping; submit again when it is back", code="service.stopping",
                                   status=503, retry_after=5.0)
            waiting = sum(len(w.queue) for w in self.workers.values())
            if waiting >= self.settings.max_queued:
                self.counters.refused_busy += 1
                raise ServiceError(f"the service's queue is full ({waiting} jobs waiting); submit again later",
                                   code="service.busy", status=429, retry_after=self.retry_after(waiting))
            view = JobView(id=new_job_id(), state="queued", shot_id=shot.shot_id, submitted_at=now_text())
            device = self._least_loaded()
            view = replace(view, device=device)
            self.store.add(view, shot_json, user)
            self.workers[device].queue.append(view.id)
            self.condition.notify_all()
        return view

    def cancel(self, job_id: str) -> JobView:
        with self.condition:
            view = self.view(job_id)
            if view.finished:
                return view
            for worker in self.workers.values():
                if job_id in worker.queue:
                    worker.queue.remove(job_id)
                    self.store.update(job_id, state="cancelled", finished_at=now_text(),
                                      error=JobError("job.cancelled", "cancelled before it started"))
                    return self.view(job_id)
            live = self.live.get(job_id)
            if live is not None:
                live.cancel.set()
        return self.view(job_id)

    def resume(self, job_id: str) -> JobView:
        with self.condition:
            view = self.view(job_id)
            if not (view.state == "failed" and view.resumable):
                raise ServiceError(f"job {job_id} is {view.state}{' and not resumable' if view.state == 'failed' else ''}"
                                   "; only a failed, resumable job can be resumed", code="job.not_resumable",
                                   status=409)
            self.store.update(job_id, state="queued", resumable=False, error=None, finished_at=None)
            self._assign(job_id)
            self.condition.notify_all()
        return self.view(job_id)

    def view(self, job_id: str) -> JobView:
        found = self.store.get(job_id)
        if found is None:
            raise ServiceError(f"the service knows no job {job_id} (it may belong to another service, or be "
                               "mistyped)", code="job.unknown", status=404)
        live = self.live.get(job_id)
        if live is not None and found.state == "running":
            found = replace(found, progress=live.progress)
        return found

    def list(self, *, state: str | None = None, limit: int = 100) -> list[JobView]:
        views = self.store.list(state=state, limit=limit)
        live = dict(self.live)
        return [replace(v, progress=live[v.id].progress) if v.state == "running" and v.id in live else v
                for v in views]

    # -- for the runner -----------------------------------------------------------------------------

    def run(self, job_id: str, device: int, engine: Any, live: Live) -> None:
        started = time.perf_counter()
        self.runner(self, job_id, device, engine, live)
        seconds = time.perf_counter() - started
        with self.condition:
            self._durations.append(seconds)
            self.counters.jobs_finished += 1
            self.counters.frames += live.progress.done
            self.counters.busy_s += seconds

    def report(self, job_id: str, live: Live, progress: JobProgress) -> None:
        """A running job's progress: always live, written to the store every PROGRESS_WRITE_S."""
        live.progress = progress
        now = time.monotonic()
        if now - live.written >= PROGRESS_WRITE_S:
            live.written = now
            self.store.update(job_id, done=progress.done, total=progress.total, fps=progress.fps)

    def retry_after(self, waiting: int) -> float:
        mean = sum(self._durations) / len(self._durations) if self._durations else 5.0
        return max(1.0, round(mean * max(1, waiting) / len(self.workers), 1))

    def queue_lengths(self) -> dict[int, int]:
        with self.condition:
            return {d: len(w.queue) for d, w in self.workers.items()}

    def running_jobs(self) -> dict[int, str | None]:
        with self.condition:
            return {d: w.running for d, w in self.workers.items()}

    def _least_loaded(self) -> int:
        return min(self.workers.values(), key=lambda w: (w.load, w.device)).device

    def _assign(self, job_id: str) -> None:
        device = self._least_loaded()
        self.store.update(job_id, device=device)
        self.workers[device].queue.append(job_id)
