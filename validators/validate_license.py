"""Likeness license is trusted and covers this use (a gate before the swap)."""
from __future__ import annotations

from typing import Any

from faceright import api

from .actions import RefreshRevocations
from .gate import ShotGate


class ValidateLicense(ShotGate):
    """Likeness license is trusted and covers this use: every finding of the verification is shown, the blocking ones fail the shot."""

    label = title = "Likeness license is trusted and covers this use"
    actions = [RefreshRevocations]
    repair = "have the licensor's platform issue a license that covers this production, platform, territory and date (or renew it); a TD trusts new issuers with `faceright keyring add`"

    def findings(self, check: Any, session: api.PublishSession) -> list[api.Finding]:
        return api.publish_checks.license_findings(check.coverage)
