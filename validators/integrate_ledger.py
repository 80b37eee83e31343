"""Write the publish into the ledger: only a publish with no error anywhere, every gate having run."""
from __future__ import annotations

from typing import Any

import pyblish.api

from faceright import api

from .gate import session_of


def require_clean(context: Any) -> None:
    """Refuse to integrate after any error of any step, or when a gate did not run (pyblish itself
    goes on to integrate after an extractor's or a later gate's error)."""
    from . import GATES, plugins

    loaded = {plugin.__name__: plugin for plugin in plugins()}
    gates = [loaded[name] for name in GATES if name in loaded]
    problems = api.publish_results.problems(context.data.get("results", ()), gates, context)
    problems += [f"the gate {name} failed to load" for name in GATES if name not in loaded]
    if problems:
        raise api.GateFailed("Nothing is integrated after an error", [
            api.Finding("publish.not_integrated", "error", line) for line in problems])


class IntegrateLedger(pyblish.api.ContextPlugin):
    """Append who published what and when, the FaceShots with their license and release ids and
    verdicts, the model hashes, input and output hashes, ProduceIDs and label evidence, chained by hash."""

    label = "Record the publish in the ledger"
    order = pyblish.api.IntegratorOrder

    def process(self, context: Any) -> None:
        require_clean(context)
        session = session_of(context)
        entry = api.publish_results.ledger_entry(session, context)
        with api.open_ledger(session.config, session.ledger_url) as ledger:
            session.ledger_record = ledger.append(entry, user=session.user)
        self.log.info("ledger record %d (%s)", session.ledger_record.sequence, session.ledger_record.hash[:16])
