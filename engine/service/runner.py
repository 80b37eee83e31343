"""One job on the service: the same swap job as in-process, with the service's keyring and roots.

The shot is read from the store as the client sent it, less any ``results`` (the client's word
counts for nothing); its media are checked against the roots again (a symlink may have changed
since the submission), then :meth:`LocalEngine.swap` verifies the likeness license and the plate
release with the service's own keyring and revocation lists, swaps, labels by the studio's
policy and proves the label on the written file. A job is ``done`` only when all of that held
and its ledger record is written; the ledger is written before the job is reported done, and
a ledger that cannot be reached leaves the job failed and resumable (resuming then only writes
the record: the output is already proven).
"""
from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from faceright.errors import FaceRightError, JobCancelledError, LedgerError, ServiceError, SwapRefusedError
from faceright.findings import Finding
from faceright.progress import Progress
from faceright.service.protocol import JobError, JobProgress, outcome_json
from faceright.shot import FaceShot

from .dispatch import Dispatcher, Live
from .guard import as_refs, check_media, redact, redact_json
from .store import now_text

log = logging.getLogger(__name__)


def run_job(d: Dispatcher, job_id: str, device: int, engine: Any, live: Live) -> None:
    store, roots = d.store, d.config.paths
    found = store.shot_of(job_id)
    if found is None:
        return
    shot_json, user = found
    view = store.get(job_id)
    attempts = (view.attempts if view else 0) + 1
    store.update(job_id, state="running", started_at=now_text(), attempts=attempts, device=device,
                 done=0, fps=0.0)
    if view is not None and view.outcome is not None:      # resumed after the ledger failed
        _finish(d, job_id, view.outcome, user)
        return

    def fail(code: str, message: str, findings: list[Finding] | tuple[Finding, ...] = (), *,
             resumable: bool = False, state: str = "failed") -> None:
        safe = tuple(replace(f, message=redact(f.message, roots), detail={}) for f in findings)
        store.update(job_id, state=state, finished_at=now_text(), resumable=resumable,
                     error=JobError(code, redact(message, roots), safe), done=live.progress.done,
                     total=live.progress.total, fps=live.progress.fps)

    def progress(report: Progress) -> None:
        if live.cancel.is_set():
            raise JobCancelledError("cancelled between frames")
        d.report(job_id, live, JobProgress(report.done, report.total, report.fps))

    try:
        if engine is None:
            raise ServiceError("the engine on this device could not load its models; `faceright doctor` on the "
                               "service's machine says why", code="engine.unavailable")
        shot = FaceShot.loads(shot_json)
        shot = replace(shot, results=None)
        check_media(shot, roots)
        check_models(shot, engine)
        if live.cancel.is_set():
            raise JobCancelledError("cancelled before it started")
        outcome = engine.swap(shot, progress=progress)
    except JobCancelledError:
        if live.stopping:
            fail("job.interrupted", "the service stopped while this job ran; nothing was left under its output's "
                 "name: resume it", resumable=True)
        else:
            fail("job.cancelled", "cancelled; nothing was left under the output's name", state="cancelled")
        return
    except SwapRefusedError as exc:
        fail("shot.not_covered", str(exc), exc.findings)
        return
    except ServiceError as exc:
        fail(exc.code, str(exc))
        return
    except FaceRightError as exc:
        fail(error_code(exc), str(exc))
        return
    except Exception:   # noqa: BLE001 - a client gets no traceback; the service's log has it
        log.exception("job %s failed", job_id)
        fail("job.internal", "the engine failed on this job; the service's log names the cause", resumable=True)
        return
    done = outcome_json(replace(outcome, shot=as_refs(outcome.shot, roots)))
    done["label"]["file"] = roots.to_ref(done["label"]["file"])
    done = redact_json(done, roots)     # messages and evidence name files by their root: names
    live.progress = JobProgress(outcome.frames, outcome.frames, outcome.fps)
    store.update(job_id, done=outcome.frames, total=outcome.frames, fps=outcome.fps)
    if not outcome.label.proven:
        fail("label.not_proven", "the AIGC label could not be proven on the finished output"
             + (", so it was not put under its name: " if not outcome.shot.results.outputs else ": ")
             + "; ".join(f.message for f in outcome.label.findings if f.blocks), outcome.label.findings)
        return
    store.update(job_id, outcome=done)
    _finish(d, job_id, done, user)


def _finish(d: Dispatcher, job_id: str, outcome: dict[str, Any], user: str) -> None:
    """Write the job's ledger record, then report it done."""
    record = None
    if d.settings.ledger:
        from faceright.ledger import open_ledger

        entry = {"kind": "engine.job", "job": job_id, "service": d.store.owner, "shot": outcome["shot"],
                 "label": outcome["label"], "frames": outcome["frames"], "swapper": outcome["swapper"]}
        try:
            with open_ledger(d.config) as ledger:
                written = ledger.append(entry, user=user)
            record = {"sequence": written.sequence, "hash": written.hash}
        except LedgerError as exc:
            d.store.update(job_id, state="failed", finished_at=now_text(), resumable=True, error=JobError(
                "ledger.unreachable", f"the output is written and its label proven, but the ledger refused the "
                f"record ({redact(str(exc), d.config.paths)}); resume the job once the ledger is back"))
            return
    d.store.update(job_id, state="done", finished_at=now_text(), ledger=record, resumable=False, error=None)


def check_models(shot: FaceShot, engine: Any) -> None:
    """Each model the client chose must be one the service's catalog lists by name (or ``auto`` /
    ``classic``): the catalog would open any other name that is a file, e.g. in the service's folder."""
    names = {model.name for model in engine.runtime.catalog.all()} | {"classic"}
    for member in ("backend", "detector", "recogniser"):
        choice = getattr(shot.swap, member)
        if choice is not None and choice != "auto" and choice not in names:
            raise ServiceError(f"swap.{member} {choice!r} is not a model installed on the service (installed: "
                               f"{', '.join(sorted(names))}); name one of them, or leave it to the service",
                               code="model.not_found")


def error_code(exc: FaceRightError) -> str:
    """A stable code from the error's class: ``MediaNotFoundError`` → ``media.not_found``."""
    words = [w.lower() for w in re.findall(r"[A-Z][a-z0-9]*", type(exc).__name__.removesuffix("Error"))]
    if not words:
        return "engine.error"
    return f"{words[0]}.{'_'.join(words[1:]) or 'error'}"
