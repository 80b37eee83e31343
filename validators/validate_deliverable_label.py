"""The deliverable carries the explicit and the implicit AIGC label."""
from __future__ import annotations

from typing import Any

import pyblish.api

from faceright import api

from .actions import RepairDeliverableLabel
from .gate import DELIVERABLE, OUTPUT_GATE_ORDER, Gate, session_of


class ValidateDeliverableLabel(Gate, pyblish.api.InstancePlugin):
    """What a viewer gets must show the visible label (人工智能/AI + 生成/合成, from the first frame, for
    at least 2 s, large enough, at an edge), OCR'd from its pixels, and carry the signed AIGC metadata."""

    label = title = "The deliverable carries the visible and the metadata label"
    repair = "Repair writes a labelled copy of the deliverable (burned-in text + metadata) and checks it again"
    order = OUTPUT_GATE_ORDER + 0.05
    families = [DELIVERABLE]
    actions = [RepairDeliverableLabel]

    def process(self, instance: Any) -> None:
        session = session_of(instance.context)
        path = instance.data.get("path")
        if path is None:
            raise api.GateFailed(self.title, [api.Finding(
                "deliverable.missing", "error", "no deliverable was rendered or handed in")], self.repair)
        report = api.publish_checks.output_label(path, session.config.labels, target="deliverable")
        instance.data["label_report"] = report
        self.conclude(instance, api.publish_checks.label_findings(report))
