"""What every faceright publish plugin shares: the session, the artist's text, failing with findings.

A gate asks one function of :mod:`faceright.api` for its findings, logs each, keeps them on
the instance (``instance.data["faceright_verdicts"]``) for the report, and raises
:class:`~faceright.api.GateFailed` when any blocks. Pyblish records the error and goes on
with the next gate, so the artist sees every problem of a publish at once.
"""
from __future__ import annotations

from typing import Any

import pyblish.api

from faceright import api

FACESHOT = "faceright.faceshot"
DELIVERABLE = "faceright.deliverable"
#: gates on what the extractors wrote run after them and before the integrators
OUTPUT_GATE_ORDER = pyblish.api.ExtractorOrder + 0.3


def session_of(context: Any) -> api.PublishSession:
    session = context.data.get("faceright")
    if not isinstance(session, api.PublishSession):
        raise api.GateFailed("faceright publish session", [api.Finding(
            "publish.no_session", "error",
            "this publish was started without faceright's session (context.data['faceright']): start it with "
            "`faceright publish` or the host's faceright menu")])
    return session


class Gate:
    """Mixin for a check: ``title`` (artist-facing), ``repair`` (how to fix), ``findings()`` (the check)."""

    title = ""
    repair: str | None = None

    def conclude(self, target: Any, findings: list[api.Finding]) -> None:
        """Log and keep ``findings`` on ``target`` (instance or context); fail when any blocks."""
        for finding in findings:
            level = {"error": self.log.error, "warning": self.log.warning}.get(finding.severity, self.log.info)
            level("%s: %s", finding.code, finding.message)
        target.data.setdefault("faceright_verdicts", {})[type(self).__name__] = list(findings)
        if api.blocking(findings):
            raise api.GateFailed(self.title, findings, self.repair)


class ShotGate(Gate, pyblish.api.InstancePlugin):
    """A check of one face shot before it is swapped (at ValidatorOrder: a failure stops extraction)."""

    order = pyblish.api.ValidatorOrder
    families = [FACESHOT]

    def process(self, instance: Any) -> None:
        session = session_of(instance.context)
        check = session.shot_check(instance.data["faceshot"])
        self.conclude(instance, self.findings(check, session))

    def findings(self, check: Any, session: api.PublishSession) -> list[api.Finding]:  # pragma: no cover
        raise NotImplementedError
