"""One publish in progress: what the plugins share, and the error a gate fails with.

A :class:`PublishSession` sits in ``context.data["faceright"]``: the configuration, the engine
client (in-process by default, a service later), where outputs and the report go, and what
each step found (the engine's :class:`~faceright.engine_client.ShotCheck` per shot, computed
once and read by every gate; the swap outcomes; the deliverable). It never decides: the
gates do, with :mod:`faceright.publish.checks`.
"""
from __future__ import annotations

import getpass
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from faceright.config import Config
from faceright.errors import FaceRightError
from faceright.findings import Finding, blocking
from faceright.shot import FaceShot

log = logging.getLogger(__name__)

#: ``on_progress(stage, done, total)``: a host's or the terminal's view of the publish
StageProgress = Callable[[str, int, int | None], None]


class GateFailed(FaceRightError):
    """A publish gate found something blocking. Raised inside a pyblish plugin, recorded in the
    context's results (pyblish never raises it to the caller), shown with every finding."""

    exit_code = 1

    def __init__(self, title: str, findings: list[Finding], repair: str | None = None) -> None:
        lines = "; ".join(f"{f.code}: {f.message}" for f in blocking(findings)) or "failed"
        super().__init__(f"{title}: {lines}")
        self.title = title
        self.findings = list(findings)
        self.repair = repair


def current_user() -> str:
    """Who publishes: ``user@host`` (FACERIGHT_USER when the farm or a service publishes for someone)."""
    name = os.environ.get("FACERIGHT_USER")
    if name:
        return name
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass
class PublishSession:
    config: Config
    engine: Any                                  #: an :class:`~faceright.engine_client.EngineClient`
    out: Path                                    #: the publish folder: outputs, the deliverable, the report
    timeline: Path | None = None                 #: the OTIO file the headless collector reads
    deliverable: Path | None = None              #: the host's own render, when it hands one in
    ledger_url: str | None = None                #: None: the configured ledger
    user: str = field(default_factory=current_user)
    publish_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0))
    on_progress: StageProgress | None = None
    checks: dict[str, Any] = field(default_factory=dict)      #: shot id -> ShotCheck, or the error it raised
    outcomes: dict[str, Any] = field(default_factory=dict)    #: shot id -> SwapOutcome
    conformed: Any = None                                     #: the ConformResult of a rendered deliverable
    report_path: Path | None = None
    ledger_record: Any = None

    def shot_check(self, shot: FaceShot) -> Any:
        """The engine's :class:`ShotCheck` of ``shot``, computed once; its error re-raised as a :class:`GateFailed`."""
        if shot.shot_id not in self.checks:
            try:
                self.checks[shot.shot_id] = self.engine.check(shot)
            except FaceRightError as exc:
                self.checks[shot.shot_id] = exc
        found = self.checks[shot.shot_id]
        if isinstance(found, FaceRightError):
            code = getattr(found, "code", None) or f"shot.{type(found).__name__}"
            raise GateFailed(f"shot {shot.shot_id!r} cannot be checked",
                             [Finding(code, "error", str(found))],
                             "fix the shot's files (plate, donor, license, release) named in the message")
        return found

    def progress(self, stage: str, done: int, total: int | None) -> None:
        if self.on_progress is not None:
            self.on_progress(stage, done, total)

    @property
    def publish_name(self) -> str:
        """The deliverable's and the report's file stem: the timeline's, else the publish id's."""
        return self.timeline.stem if self.timeline is not None else f"publish-{self.publish_id[:8]}"

    @property
    def shots_folder(self) -> Path:
        return self.out / "shots"
