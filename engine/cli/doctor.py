"""``faceright doctor``: can the engine run here, on what, with which models — and what is missing.

    faceright doctor [--json] [--no-load]

Exit 0 when the engine can run (onnxruntime usable, a detector and a recogniser that load,
media libraries present); 1 otherwise. Warnings (no swap model, OpenCV 5, a model whose hash
does not match) do not change the exit code.
"""
from __future__ import annotations

import argparse
import json

from typing import TYPE_CHECKING

from faceright.cli.table import format_table

if TYPE_CHECKING:   # the diagnosis imports the runtime: when the command runs, not for --help
    from faceright.engine.environment import Diagnosis


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("doctor", help="check onnxruntime, providers, GPUs, models and media libraries",
                            description="Report what the engine can use on this machine and what is missing.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--no-load", action="store_true",
                        help="do not build the chosen models' sessions (faster; does not prove they run)")
    parser.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from faceright.engine.environment import diagnose
    from faceright.engine.settings import engine_settings

    report = diagnose(engine_settings(), load=not args.no_load)
    if args.json:
        print(json.dumps(_as_json(report), indent=2))
    else:
        print(_as_text(report))
    return 0 if report.can_run else 1


def _as_json(report: Diagnosis) -> dict:
    return {
        "can_run": report.can_run,
        "onnxruntime": {
            "version": report.onnxruntime_version,
            "distributions": [{"name": n, "version": v} for n, v in report.onnxruntime_distributions],
            "available_providers": list(report.available_providers),
            "configured_providers": list(report.configured_providers),
            "used_providers": list(report.used_providers),
        },
        "cuda_devices": list(report.cuda_devices),
        "models_folder": report.models_folder,
        "models": {
            c.kind: {
                "name": c.model.name if c.model else None,
                "family": c.model.family if c.model else None,
                "source": c.model.source if c.model else None,
                "status": c.model.status if c.model else None,
                "loads": c.loads,
                "note": c.note,
            }
            for c in report.choices
        },
        "libraries": dict(report.libraries),
        "findings": [f.to_json() for f in report.findings],
    }


def _as_text(report: Diagnosis) -> str:
    dists = ", ".join(f"{n} {v}" for n, v in report.onnxruntime_distributions) or "none installed"
    rows: list[tuple[str, str]] = [
        ("onnxruntime", f"{report.onnxruntime_version or 'not importable'} (distribution: {dists})"),
        ("providers", f"available: {', '.join(report.available_providers) or 'none'}"),
        ("", f"configured: {', '.join(report.configured_providers)}"),
        ("", f"used: {', '.join(report.used_providers) or 'none'}"),
        ("CUDA devices", "; ".join(report.cuda_devices) or "none found"),
        ("models folder", report.models_folder),
    ]
    for choice in report.choices:
        if choice.model is None:
            text = choice.note
        else:
            m = choice.model
            loads = {True: ", loads", False: ", DOES NOT LOAD", None: ""}[choice.loads]
            text = f"{m.name} ({m.family}, {m.source}, {m.status}, sha256 {m.short_sha}{loads})"
        rows.append((choice.kind, text))
    for name, version in report.libraries:
        rows.append((name, version))
    lines = format_table(rows).splitlines()
    if report.findings:
        lines.append("")
        for finding in report.findings:
            lines.append(f"{finding.severity}: {finding.message} [{finding.code}]")
    lines.append("")
    if report.can_run:
        where = "GPU" if any(p != "CPUExecutionProvider" for p in report.used_providers) else "CPU"
        lines.append(f"the engine can run here (on {where})")
    else:
        lines.append("the engine cannot run here: fix the errors above")
    return "\n".join(lines)
