"""Write the publish's HTML report (a blocked publish's report is written by the publish itself)."""
from __future__ import annotations

from typing import Any

import pyblish.api

from faceright import api

from .gate import session_of
from .integrate_ledger import require_clean


class IntegrateReport(pyblish.api.ContextPlugin):
    """One page that opens with no server: before/after face crops, every gate's verdict with its
    sentence and repair, the license terms, the label evidence, the ledger record."""

    label = "Write the publish report"
    order = pyblish.api.IntegratorOrder + 0.1

    def process(self, context: Any) -> None:
        require_clean(context)
        session = session_of(context)
        session.report_path = api.publish_results.write_report(session, context)
        self.log.info("report: %s", session.report_path)
