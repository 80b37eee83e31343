"""Every clip faceright was asked to handle can be read: none is skipped."""
from __future__ import annotations

from typing import Any

import pyblish.api

from faceright import api

from .gate import Gate


class ValidateTimeline(Gate, pyblish.api.ContextPlugin):
    """A clip with faceright data that cannot be used (no media, malformed FaceShot, moved or retimed
    since the shot was made, a duplicate shot id) blocks: it is never left out of the publish."""

    label = title = "Every face shot on the timeline can be read"
    repair = "fix the clip named in each finding (its media, its range or its faceright data) and publish again"
    order = pyblish.api.ValidatorOrder

    def process(self, context: Any) -> None:
        timeline = context.data.get("faceright_timeline")
        if timeline is None:
            return   # a host's own collector made the instances
        findings = [api.Finding(p.code, "error", p.message, {"clip": p.clip}) for p in timeline.problems]
        if not timeline.shots and not findings:
            findings.append(api.Finding("timeline.no_face_shots", "warning",
                                        f"{timeline.path} has no clip with faceright data: nothing is swapped"))
        self.conclude(context, findings)
