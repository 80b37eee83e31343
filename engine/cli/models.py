"""``faceright models``: list, verify and register the face models the engine uses.

    faceright models list [--json]
    faceright models verify [NAME...] [--json]      (exit 1 when a file is wrong, truncated, corrupt or missing)
    faceright models add FILE [--name NAME]

``--models-dir DIR`` (before the action) overrides ``[engine] models_dir`` / ``FACERIGHT_MODELS``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from faceright.cli.table import format_table

if TYPE_CHECKING:   # the catalog (and onnx under it) is imported when an action runs, not for --help
    from faceright.engine.models.catalog import Catalog, Check


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "models", help="list, verify and register face models",
        description="The face models faceright knows: the user's (models folder) and the shipped ones.",
    )
    parser.add_argument("--models-dir", type=Path, metavar="DIR",
                        help="models folder (default: [engine] models_dir, FACERIGHT_MODELS, or FACERIGHT_HOME/models)")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    cmds = parser.add_subparsers(dest="models_command", metavar="ACTION")

    lst = cmds.add_parser("list", help="a table of every model: kind, family, source, hash, status")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(func=_list)

    ver = cmds.add_parser("verify", help="check each model file's sha256 (hashed afresh), size and readability")
    ver.add_argument("names", nargs="*", metavar="NAME", help="only these models (default: all)")
    ver.add_argument("--json", action="store_true", help="machine-readable output")
    ver.set_defaults(func=_verify)

    add = cmds.add_parser("add", help="register a model file's sha256 (copied into the models folder if outside)")
    add.add_argument("file", type=Path, metavar="FILE", help="the .onnx model file to register")
    add.add_argument("--name", help="catalog name (default: the file name without .onnx)")
    add.set_defaults(func=_add)


def _catalog(args: argparse.Namespace, *, remembered: bool = True) -> Catalog:
    from faceright.engine.models.catalog import Catalog
    from faceright.engine.settings import engine_settings

    return Catalog.from_settings(engine_settings(models_dir=args.models_dir), remembered=remembered)


def _check_json(check: Check) -> dict:
    return {
        "name": check.name, "path": str(check.path) if check.path else None, "source": check.source,
        "kind": check.kind, "family": check.family, "status": check.status, "ok": check.ok,
        "expected_sha256": check.expected_sha256, "actual_sha256": check.actual_sha256, "message": check.message,
        "warning": check.warning,
    }


def _list(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    checks = catalog.verify()
    if args.json:
        print(json.dumps({"models_folder": str(catalog.folder), "models": [_check_json(c) for c in checks]}, indent=2))
        return 0
    rows = [("NAME", "KIND", "FAMILY", "SOURCE", "SHA256", "STATUS")]
    for c in checks:
        rows.append((c.name, c.kind or "-", c.family or "-", c.source,
                     (c.actual_sha256 or "")[:12] or "-", c.status))
    print(format_table(rows))
    print(f"\nmodels folder: {catalog.folder}{'' if catalog.folder.is_dir() else ' (does not exist yet)'}")
    for c in checks:
        if c.warning:
            print(f"warning: {c.warning}")
        elif c.status not in ("verified", "unverified"):
            print(f"{c.status}: {c.message}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    checks = _catalog(args, remembered=False).verify(args.names)   # every file hashed afresh
    failed = [c for c in checks if not c.ok]
    if args.json:
        print(json.dumps({"ok": not failed, "models": [_check_json(c) for c in checks]}, indent=2))
        return 1 if failed else 0
    for c in checks:
        label = {"verified": "ok", "unverified": "unverified"}.get(c.status, "FAILED")
        print(f"{label:10}  {c.name}: {c.message}")
    unverified = sum(c.status == "unverified" for c in checks)
    summary = f"{len(checks) - len(failed)} of {len(checks)} model(s) usable"
    if unverified:
        summary += f", {unverified} without a registered sha256"
    if failed:
        print(f"{summary}; {len(failed)} failed: {', '.join(c.name for c in failed)}", file=sys.stderr)
        return 1
    print(summary)
    return 0


def _add(args: argparse.Namespace) -> int:
    model = _catalog(args).add(args.file, name=args.name)
    print(f"registered {model.name!r}: {model.family} {model.kind}, sha256 {model.sha256}, {model.path}")
    return 0
