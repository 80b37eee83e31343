"""The donor face is the licensed person (a gate before the swap)."""
from __future__ import annotations

from typing import Any

from faceright import api

from .gate import ShotGate


class ValidateDonorIdentity(ShotGate):
    """The donor face is the licensed person: every finding of the verification is shown, the blocking ones fail the shot."""

    label = title = "The donor face is the licensed person"
    repair = "use a donor image of the person the license covers (one face, well lit), or the license for the donor you use"

    def findings(self, check: Any, session: api.PublishSession) -> list[api.Finding]:
        return api.publish_checks.identity_findings(check.coverage)
