"""The production's tier is within the license (a gate before the swap)."""
from __future__ import annotations

from typing import Any

from faceright import api

from .gate import ShotGate


class ValidateTier(ShotGate):
    """The production's tier is within the license: every finding of the verification is shown, the blocking ones fail the shot."""

    label = title = "The production's tier is within the license"
    repair = "set the shot's tier (and budget) to what the production is, or get a license for that tier"

    def findings(self, check: Any, session: api.PublishSession) -> list[api.Finding]:
        return api.publish_checks.tier_findings(check.coverage)
