"""The models the swap will use are catalogued, with their registered hashes."""
from __future__ import annotations

from typing import Any

from faceright import api

from .gate import ShotGate


class ValidateModels(ShotGate):
    """Which detector, recogniser and swap model made a face must be provable later: each model file
    the shot uses must be registered in the catalog with its sha256, and the file must still match it."""

    label = title = "The models used are catalogued, with matching hashes"
    repair = "register each model named with `faceright models add FILE` (a TD checks where it came from first)"

    def findings(self, check: Any, session: api.PublishSession) -> list[api.Finding]:
        return list(check.models)
