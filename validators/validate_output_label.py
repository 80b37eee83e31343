"""The shot's rendered output carries the implicit AIGC label, read back by the independent readers."""
from __future__ import annotations

from typing import Any

import pyblish.api

from faceright import api

from .actions import RepairOutputLabel
from .gate import FACESHOT, OUTPUT_GATE_ORDER, Gate, session_of


class ValidateOutputLabel(Gate, pyblish.api.InstancePlugin):
    """A label counts only when it is read back from the written file: the signed AIGC metadata
    (GB 45438 Annex E) in the container, found by faceright's readers and by ffprobe."""

    label = title = "The shot's output carries the AIGC label"
    repair = "Repair writes the label into the output again (and reruns this check)"
    order = OUTPUT_GATE_ORDER
    families = [FACESHOT]
    actions = [RepairOutputLabel]

    def process(self, instance: Any) -> None:
        session = session_of(instance.context)
        output = instance.data.get("output") or instance.data["faceshot"].media(session.config.paths).output
        report = api.publish_checks.output_label(output, session.config.labels, target="shot")
        instance.data["label_report"] = report
        self.conclude(instance, api.publish_checks.label_findings(report))
