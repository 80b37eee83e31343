"""Plate performer's release covers the plate (a gate before the swap)."""
from __future__ import annotations

from typing import Any

from faceright import api

from .gate import ShotGate


class ValidatePlateRelease(ShotGate):
    """Plate performer's release covers the plate: every finding of the verification is shown, the blocking ones fail the shot."""

    label = title = "Plate performer's release covers the plate"
    repair = "get a signed plate release from the performer whose face is replaced, covering this use; check the shot's plate_face selection picks that performer"

    def findings(self, check: Any, session: api.PublishSession) -> list[api.Finding]:
        return api.publish_checks.release_findings(check.coverage)
