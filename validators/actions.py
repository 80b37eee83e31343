"""Repair actions: where the fix is mechanical, do it, then run the same check again.

A repair that cannot make its check pass fails itself (pyblish shows it failed), so a Repair
button never claims to have fixed what it did not.
"""
from __future__ import annotations

from typing import Any

import pyblish.api

from faceright import api


def failed_instances(context: Any, plugin: type) -> list[Any]:
    """The instances ``plugin`` failed on in this publish."""
    return [r["instance"] for r in context.data.get("results", ())
            if r.get("error") is not None and r.get("plugin") is plugin and r.get("instance") is not None]


class _Repair(pyblish.api.Action):
    on = "failed"
    icon = "wrench"

    def process(self, context: Any, plugin: type) -> None:
        from .gate import session_of

        session = session_of(context)
        for instance in failed_instances(context, plugin):
            self.fix(session, instance)
            plugin().process(instance)          # the same check: raises when the fix did not fix it
            self.log.info("repaired %s: %s passes now", instance, plugin.__name__)

    def fix(self, session: api.PublishSession, instance: Any) -> None:  # pragma: no cover
        raise NotImplementedError


class RepairOutputLabel(_Repair):
    """Write the AIGC metadata into the shot's output again (a labelled copy replaces it atomically)."""

    label = "Apply the AIGC label"

    def fix(self, session: api.PublishSession, instance: Any) -> None:
        output = instance.data.get("output") or instance.data["faceshot"].media(session.config.paths).output
        api.relabel(session.engine, output, session.config.labels, visible=False)


class RepairDeliverableLabel(_Repair):
    """Write a labelled copy of the deliverable beside it (burned-in text + metadata): never over the
    host's render; the copy becomes the deliverable."""

    label = "Apply the visible and metadata label"

    def fix(self, session: api.PublishSession, instance: Any) -> None:
        instance.data["path"] = api.labelled_copy(session.engine, instance.data["path"], session.config.labels)


class RefreshRevocations(_Repair):
    """Fetch the registries' revocation lists again (the cached one is missing or too old)."""

    label = "Refresh the revocation lists"

    def fix(self, session: api.PublishSession, instance: Any) -> None:
        shot = instance.data["faceshot"]
        session.checks.pop(shot.shot_id, None)       # the check runs again with the fresh lists
        findings = api.refresh_revocations(session.config, shot)
        if api.blocking(findings):
            raise api.GateFailed("Refresh the revocation lists", findings)
