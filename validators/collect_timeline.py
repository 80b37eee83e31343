"""Collect a timeline's face shots and its deliverable (the headless publish's collector)."""
from __future__ import annotations

from typing import Any

import pyblish.api

from faceright import api

from .gate import DELIVERABLE, FACESHOT, session_of


class CollectTimeline(pyblish.api.ContextPlugin):
    """Read the OTIO timeline: one ``faceright.faceshot`` instance per clip with faceright data,
    and one ``faceright.deliverable`` for what a viewer gets (the host's render, or the cut)."""

    label = "Collect the timeline's face shots"
    order = pyblish.api.CollectorOrder

    def process(self, context: Any) -> None:
        session = session_of(context)
        if session.timeline is None:
            return   # a host collects its own instances
        timeline = api.read_timeline(session.timeline, outputs=session.shots_folder)
        context.data["faceright_timeline"] = timeline
        for found in timeline.shots:
            instance = context.create_instance(found.shot.shot_id, family=FACESHOT, families=[FACESHOT])
            instance.data.update(faceshot=found.shot, cut=found.cut, label=f"{found.shot.shot_id} ({found.cut.name})")
        self.log.info("%s: %d face shot(s) in %d clip(s), %d problem(s)", session.timeline, len(timeline.shots),
                      len(timeline.cuts), len(timeline.problems))
        name = session.deliverable.name if session.deliverable else f"{timeline.name} (conformed)"
        deliverable = context.create_instance(name, family=DELIVERABLE, families=[DELIVERABLE])
        deliverable.data.update(path=session.deliverable, cuts=timeline.cuts, label=name)
