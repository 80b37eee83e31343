"""``faceright label``: apply the AIGC labels to a file, prove them, make the studio key.

    faceright label apply IN --out OUT [--visible] [--c2pa]
    faceright label verify FILE [--deliverable] [--c2pa] [--json]
    faceright label keygen

``apply`` and ``verify`` exit 0 only when every label the policy asks for is proven in the
written file; 1 when a label is missing or broken (the findings say which); 2/3 for errors.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from faceright.cli.help_text import plain
from faceright.findings import Finding

EXIT_NOT_PROVEN = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("label", help="apply and verify AIGC labels (metadata, visible text, C2PA)",
                                   description=plain(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="label_command", metavar="ACTION")
    sub.required = True

    apply = sub.add_parser("apply", help="write a labelled copy of a file, then verify it")
    apply.add_argument("input", type=Path, help="video (.mov .mp4 .mkv) or image (.png .jpg .exr)")
    apply.add_argument("--out", type=Path, required=True, help="the labelled copy (never the input)")
    apply.add_argument("--visible", action="store_true", help="burn in the visible label too (a deliverable)")
    apply.add_argument("--c2pa", action="store_true", help="sign a C2PA manifest last (needs faceright[c2pa])")
    apply.add_argument("--plate", type=Path, help="the C2PA ingredient (the source plate); default: the input")
    apply.add_argument("--key", type=Path, help="Ed25519 private key for ReservedCode1 ([labels] signing_key)")
    apply.add_argument("--produce-id", help="ProduceID (default: a new random id)")
    apply.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    apply.add_argument("--json", action="store_true", help="print the verification report as JSON")
    apply.set_defaults(func=run_apply)

    verify = sub.add_parser("verify", help="prove the labels in a file; exit 1 if one is missing")
    verify.add_argument("file", type=Path, help="the labelled video or image")
    verify.add_argument("--deliverable", action="store_true", help="also require the visible label")
    verify.add_argument("--c2pa", action="store_true", help="also require a valid C2PA manifest")
    verify.add_argument("--pubkey", type=Path, help="Ed25519 public key to check ReservedCode1 ([labels] public_key)")
    verify.add_argument("--json", action="store_true", help="print evidence and findings as JSON")
    verify.set_defaults(func=run_verify)

    keygen = sub.add_parser("keygen", help="create the studio's Ed25519 key for ReservedCode1")
    keygen.add_argument("--out", type=Path, help="private key path (default: [labels] signing_key or FACERIGHT_HOME)")
    keygen.set_defaults(func=run_keygen)


def _print_report(report: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    verdict = "PROVEN" if report.proven else "NOT PROVEN"
    print(f"{report.path}: {verdict} ({report.target}: {', '.join(sorted(report.required))})")
    for finding in report.findings:
        print(f"  {_mark(finding)} {finding.code}: {finding.message}")


def _mark(finding: Finding) -> str:
    return {"error": "✗", "warning": "!", "info": "✓"}[finding.severity]


def run_apply(args: argparse.Namespace) -> int:
    from faceright.labels.apply import apply_labels
    from faceright.labels.policy import label_settings

    settings = label_settings(signing_key=args.key)
    result = apply_labels(args.input, args.out, settings, visible=args.visible, c2pa=args.c2pa,
                          produce_id=args.produce_id, plate=args.plate, overwrite=args.overwrite)
    _print_report(result.report, args.json)
    if not args.json:
        print(f"  ProduceID {result.label.ProduceID}, written in {result.seconds:.2f} s")
    return 0 if result.report.proven else EXIT_NOT_PROVEN


def run_verify(args: argparse.Namespace) -> int:
    from faceright.labels.policy import label_settings
    from faceright.labels.verify import verify_file

    settings = label_settings(public_key=args.pubkey)
    report = verify_file(args.file, settings, target="deliverable" if args.deliverable else "shot",
                         require_c2pa=args.c2pa or None)
    _print_report(report, args.json)
    return 0 if report.proven else EXIT_NOT_PROVEN


def run_keygen(args: argparse.Namespace) -> int:
    from faceright.labels.aigc import write_keypair
    from faceright.labels.policy import label_settings

    settings = label_settings(signing_key=args.out)
    write_keypair(settings.signing_key_path, settings.public_key_path)
    print(f"private key: {settings.signing_key_path}\npublic key:  {settings.public_key_path}", file=sys.stdout)
    return 0
