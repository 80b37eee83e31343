"""Every faceright gate is loaded and registered; none failed to import or was taken away."""
from __future__ import annotations

from typing import Any

import pyblish.api

from faceright import api

from .gate import Gate


class ValidateGates(Gate, pyblish.api.ContextPlugin):
    """A publish must not lose a check silently: a plugin file that failed to import, or a gate
    deregistered or missing from the plugins discovered, blocks the publish."""

    label = title = "faceright's publish gates are all in place"
    repair = ("reinstall faceright (pip install faceright) and restart the host; a TD who removed a gate on "
              "purpose must not: the publish refuses to run without it")
    order = pyblish.api.ValidatorOrder

    def process(self, context: Any) -> None:
        from . import expected_plugins, load_errors

        findings = [api.Finding("publish.plugin_import_failed", "error",
                                f"faceright's plugin module {name} failed to import: {error}", {"module": name})
                    for name, error in load_errors().items()]
        present = {plugin.__name__ for plugin in pyblish.api.discover()} | set(context.data.get("faceright_plugins", ()))
        for name in expected_plugins():
            if name not in present:
                findings.append(api.Finding("publish.plugin_missing", "error",
                                            f"the gate {name} is not registered with pyblish, so its check would "
                                            "not run", {"plugin": name}))
        if not findings:
            findings.append(api.Finding("publish.gates_present", "info",
                                        f"all {len(expected_plugins())} faceright plugins are loaded"))
        self.conclude(context, findings)
