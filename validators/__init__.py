"""faceright's Pyblish plugins: one file and one class per step, registered explicitly.

``register()`` imports every module of :data:`PLUGIN_MODULES` by name (never by scanning a
folder) and registers its plugin class with pyblish. A module that fails to import is not
skipped: its error is kept, and :class:`ValidateGates` blocks the publish with it. The
integrators refuse to write anything unless every gate of :data:`GATES` ran without error.

    import faceright.validators
    faceright.validators.register()          # in the host's start-up (menu.py, the Resolve script)
"""
from __future__ import annotations

import importlib
from typing import Any

#: module -> class, in publish order; each is one step of the publish
PLUGIN_MODULES: dict[str, str] = {
    "collect_timeline": "CollectTimeline",
    "validate_gates": "ValidateGates",
    "validate_timeline": "ValidateTimeline",
    "validate_license": "ValidateLicense",
    "validate_plate_release": "ValidatePlateRelease",
    "validate_donor_identity": "ValidateDonorIdentity",
    "validate_content_tags": "ValidateContentTags",
    "validate_tier": "ValidateTier",
    "validate_models": "ValidateModels",
    "extract_face_shot": "ExtractFaceShot",
    "extract_deliverable": "ExtractDeliverable",
    "validate_output_label": "ValidateOutputLabel",
    "validate_output_identity": "ValidateOutputIdentity",
    "validate_deliverable_label": "ValidateDeliverableLabel",
    "integrate_ledger": "IntegrateLedger",
    "integrate_report": "IntegrateReport",
}
#: the checks that must each have run (on every instance of their family) before anything is integrated
GATES: tuple[str, ...] = tuple(name for name in PLUGIN_MODULES.values() if name.startswith("Validate"))

_load_errors: dict[str, str] = {}


def plugins() -> list[type]:
    """faceright's plugin classes, imported by name; the modules that fail are remembered (:func:`load_errors`)."""
    found = []
    _load_errors.clear()   # what this call found, not a module that is no longer expected
    for module_name, class_name in PLUGIN_MODULES.items():
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
            found.append(getattr(module, class_name))
        except Exception as exc:   # any failure of a plugin file is reported by ValidateGates, never swallowed
            _load_errors[module_name] = f"{type(exc).__name__}: {exc}"
    return found


def load_errors() -> dict[str, str]:
    """Modules of :data:`PLUGIN_MODULES` that failed to import at the last :func:`plugins`, with why."""
    return dict(_load_errors)


def expected_plugins() -> tuple[str, ...]:
    return tuple(PLUGIN_MODULES.values())


def expected_gates() -> tuple[str, ...]:
    return GATES


def register() -> list[type]:
    """Register faceright's plugins with pyblish (the gate that reports load errors first of all)."""
    import pyblish.api

    loaded = plugins()
    for plugin in loaded:
        pyblish.api.register_plugin(plugin)
    return loaded


def deregister() -> None:
    import pyblish.api

    for plugin in plugins():
        pyblish.api.deregister_plugin(plugin)


__all__ = ["GATES", "PLUGIN_MODULES", "deregister", "expected_gates", "expected_plugins", "load_errors", "plugins",
           "register"]


def __getattr__(name: str) -> Any:   # faceright.validators.ValidateLicense etc., imported on first use
    module = {v: k for k, v in PLUGIN_MODULES.items()}.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
