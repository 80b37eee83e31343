"""The face in the rendered output is the licensed donor."""
from __future__ import annotations

from typing import Any

import pyblish.api

from faceright import api

from .gate import FACESHOT, OUTPUT_GATE_ORDER, Gate, session_of


class ValidateOutputIdentity(Gate, pyblish.api.InstancePlugin):
    """What no one checks today: the face in the rendered frames, where the plate face was and over the
    shot's range, is re-detected and compared with the license's reference, so a render of the wrong
    take or an unswapped plate cannot publish."""

    label = title = "The face in the rendered output is the licensed donor"
    repair = "render the shot again from the licensed donor (or hand in the right render)"
    order = OUTPUT_GATE_ORDER
    families = [FACESHOT]

    def process(self, instance: Any) -> None:
        session = session_of(instance.context)
        shot = instance.data["faceshot"]
        media = shot.media(session.config.paths)
        check = session.shot_check(shot)
        if media.license is None:
            raise api.GateFailed(self.title, [api.Finding(
                "output.identity_unchecked", "error", "the shot names its license by id only, so the output's face "
                "cannot be compared with the license's reference")], self.repair)
        faces = api.publish_checks.output_faces(check.plate, shot.plate.frames)
        findings = api.publish_checks.output_identity(
            instance.data.get("output") or media.output, media.license, session.engine.embedder(), faces=faces,
            min_threshold=session.config.licenses.min_match_threshold)
        self.conclude(instance, findings)
