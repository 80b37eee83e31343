"""What travels between the engine service and its clients: job ids, states, and the JSON of a job.

A job id is ``job_`` and 32 hex digits of a random UUID: two jobs never share one, a shot id
or a frame number is never mistaken for one, and a malformed id is refused before any lookup.
A job is in exactly one :data:`STATES`; only ``done`` means an output was written, labelled and
proven. A job the service lost track of (it was killed while the job ran) comes back as
``failed`` with ``resumable: true`` and the code ``job.interrupted`` — never as done — and an
id the service does not know is answered 404 ``job.unknown``, which a client reports as such.

    {"id": "job_…", "state": "running", "shot_id": "sh010", "device": 0, "attempts": 1,
     "submitted_at": "…Z", "started_at": "…Z", "finished_at": null,
     "progress": {"done": 31, "total": 96, "fps": 22.4},
     "resumable": false, "error": null, "outcome": null, "ledger": null}
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from faceright.errors import ServiceError
from faceright.findings import Finding

API_PREFIX = "/v1"
JobState = Literal["queued", "running", "done", "failed", "cancelled"]
STATES: tuple[JobState, ...] = ("queued", "running", "done", "failed", "cancelled")
FINISHED: frozenset[str] = frozenset({"done", "failed", "cancelled"})
_JOB_ID = re.compile(r"^job_[0-9a-f]{32}$")

#: the header a token travels in (``Authorization: Bearer <token>``)
AUTH_HEADER = "Authorization"
#: who submits (attribution in the ledger; the token, not this, is what admits a request)
USER_HEADER = "X-Faceright-User"


def new_job_id() -> str:
    return f"job_{uuid.uuid4().hex}"


def check_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        raise ServiceError(f"{job_id!r} is not a faceright job id (job_ and 32 hex digits, as `faceright engine "
                           "jobs` lists them)", code="job.bad_id", status=400)
    return job_id


@dataclass(frozen=True)
class JobProgress:
    done: int = 0
    total: int | None = None
    fps: float = 0.0


@dataclass(frozen=True)
class JobError:
    code: str
    message: str
    findings: tuple[Finding, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "findings": [f.to_json() for f in self.findings]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobError:
        return cls(str(data["code"]), str(data["message"]), tuple(finding_of(f) for f in data.get("findings") or ()))


@dataclass(frozen=True)
class JobView:
    """A job as the service reports it."""

    id: str
    state: JobState
    shot_id: str
    device: int | None = None
    attempts: int = 0
    submitted_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    progress: JobProgress = field(default_factory=JobProgress)
    resumable: bool = False
    error: JobError | None = None
    outcome: Mapping[str, Any] | None = None     #: see :func:`outcome_json`, once done
    ledger: Mapping[str, Any] | None = None      #: {"sequence", "hash"} of the job's ledger record

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "state": self.state, "shot_id": self.shot_id, "device": self.device,
            "attempts": self.attempts, "submitted_at": self.submitted_at, "started_at": self.started_at,
            "finished_at": self.finished_at,
            "progress": {"done": self.progress.done, "total": self.progress.total, "fps": round(self.progress.fps, 3)},
            "resumable": self.resumable, "error": self.error.to_json() if self.error else None,
            "outcome": dict(self.outcome) if self.outcome is not None else None,
            "ledger": dict(self.ledger) if self.ledger is not None else None,
        }

    @classmethod
    def from_json(cls, data: Any) -> JobView:
        try:
            state = data["state"]
            if state not in STATES:
                raise ValueError(f"unknown state {state!r}")
            progress = data.get("progress") or {}
            return cls(
                id=check_job_id(data["id"]), state=state, shot_id=str(data["shot_id"]), device=data.get("device"),
                attempts=int(data.get("attempts") or 0), submitted_at=data.get("submitted_at"),
                started_at=data.get("started_at"), finished_at=data.get("finished_at"),
                progress=JobProgress(int(progress.get("done") or 0), progress.get("total"),
                                     float(progress.get("fps") or 0.0)),
                resumable=bool(data.get("resumable")),
                error=JobError.from_json(data["error"]) if data.get("error") else None,
                outcome=data.get("outcome"), ledger=data.get("ledger"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ServiceError(f"the service answered a job this client cannot read ({exc}); are the client's and "
                               "the service's faceright versions the same?", code="service.bad_answer") from None


def finding_of(data: Mapping[str, Any]) -> Finding:
    return Finding(str(data["code"]), data["severity"], str(data["message"]), dict(data.get("detail") or {}))


# -- a finished swap --------------------------------------------------------------------------------


def outcome_json(outcome: Any) -> dict[str, Any]:
    """A :class:`~faceright.engine_client.SwapOutcome` as JSON (the shot with its results, the label proof)."""
    return {
        "shot": outcome.shot.to_json(), "label": outcome.label.to_json(), "frames": outcome.frames,
        "frames_swapped": outcome.frames_swapped, "faces_swapped": outcome.faces_swapped,
        "seconds": outcome.seconds, "swapper": outcome.swapper,
        "findings": [f.to_json() for f in outcome.findings],
    }


def outcome_of(data: Mapping[str, Any]) -> Any:
    """The :class:`~faceright.engine_client.SwapOutcome` of :func:`outcome_json`'s document."""
    from faceright.engine_client import SwapOutcome
    from faceright.labels.verify import LabelReport
    from faceright.shot import FaceShot

    label = data["label"]
    report = LabelReport(Path(label["file"]), label["target"], frozenset(label["required"]),
                         [finding_of(f) for f in label.get("findings") or ()], dict(label.get("evidence") or {}))
    return SwapOutcome(FaceShot.from_json(data["shot"]), report, int(data["frames"]), int(data["frames_swapped"]),
                       int(data["faces_swapped"]), float(data["seconds"]), str(data["swapper"]),
                       tuple(finding_of(f) for f in data.get("findings") or ()))


def error_body(code: str, message: str, findings: tuple[Finding, ...] | list[Finding] = ()) -> dict[str, Any]:
    """The body of every refusal: ``{"error": {"code", "message", "findings"}}``."""
    return {"error": JobError(code, message, tuple(findings)).to_json()}
