"""Swap each face shot through the engine client (in-process by default, a service later)."""
from __future__ import annotations

from typing import Any

import pyblish.api

from faceright import api

from .gate import FACESHOT, session_of


class ExtractFaceShot(pyblish.api.InstancePlugin):
    """The engine verifies the license and the release once more itself, swaps, labels the output and
    proves the label; the shot comes back with its results (hashes, ids, ProduceID, models)."""

    label = "Swap the face shot"
    order = pyblish.api.ExtractorOrder
    families = [FACESHOT]

    def process(self, instance: Any) -> None:
        session = session_of(instance.context)
        shot = instance.data["faceshot"]

        def progress(p: api.Progress) -> None:
            session.progress(f"swap {shot.shot_id}", p.done, p.total)

        api.make_output_folder(shot.media(session.config.paths).output)
        try:
            outcome = session.engine.swap(shot, progress=progress)
        except api.SwapRefusedError as exc:
            raise api.GateFailed("The engine refused the shot", list(exc.findings),
                                 "see the license and release gates' findings") from None
        session.outcomes[shot.shot_id] = outcome
        instance.data["outcome"] = outcome
        instance.data["output"] = shot.media(session.config.paths).output
        self.log.info("%s: %d face(s) swapped in %d frames, %.1f fps", shot.shot_id, outcome.faces_swapped,
                      outcome.frames, outcome.fps)
