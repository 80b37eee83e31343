"""Render the deliverable: the host's own render when it hands one in, else faceright conforms the cut."""
from __future__ import annotations

from typing import Any

import pyblish.api

from faceright import api

from .gate import DELIVERABLE, session_of


class ExtractDeliverable(pyblish.api.InstancePlugin):
    """For a timeline with one video track of cuts: each clip's source range in order (a face shot's
    clip from its swapped output), audio kept, the visible label burned in from the first frame."""

    label = "Render the deliverable"
    order = pyblish.api.ExtractorOrder + 0.2
    families = [DELIVERABLE]

    def process(self, instance: Any) -> None:
        session = session_of(instance.context)
        if instance.data.get("path") is not None:
            self.log.info("the host's render %s is the deliverable", instance.data["path"])
            return
        clips, findings = api.conform_clips(instance.data.get("cuts", ()), session.outcomes, session.config.paths)
        if api.blocking(findings):
            raise api.GateFailed("The deliverable can be rendered", findings,
                                 "hand in the host's render with --deliverable FILE")
        output = session.out / f"{session.publish_name}.mp4"

        def progress(p: api.Progress) -> None:
            session.progress("deliverable", p.done, p.total)

        result = session.engine.conform(clips, output, session.config.labels, overwrite=True, progress=progress)
        session.conformed = result
        instance.data["path"] = result.output
        self.log.info("conformed %d clip(s), %d frames into %s", len(clips), result.frames, result.output)
