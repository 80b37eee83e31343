"""The shot's content is allowed by the license (a gate before the swap)."""
from __future__ import annotations

from typing import Any

from faceright import api

from .gate import ShotGate


class ValidateContentTags(ShotGate):
    """The shot's content is allowed by the license: every finding of the verification is shown, the blocking ones fail the shot."""

    label = title = "The shot's content is allowed by the license"
    repair = "remove the prohibited content from the shot, or get a license that allows it"

    def findings(self, check: Any, session: api.PublishSession) -> list[api.Finding]:
        return api.publish_checks.content_findings(check.coverage)
