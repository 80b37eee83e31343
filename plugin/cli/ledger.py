"""``faceright ledger``: verify, show and export the publish ledger (for compliance staff).

    faceright ledger verify [--url URL]              exit 0: intact (says how many records); 1: tampered
    faceright ledger show [--last N] [--url URL]
    faceright ledger export --json [-o FILE] [--overwrite] [--url URL]

The ledger is the one ``[ledger] url`` names, else ``$FACERIGHT_HOME/ledger/ledger.sqlite``;
these commands only read it, and a ledger that does not exist is an error, never created.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from faceright.atomic import write_new, write_replacing
from faceright.ledger import LedgerRecord, open_ledger

from .table import format_table

#: how much of an entry's JSON `show` prints in its column
ENTRY_WIDTH = 80


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("ledger", help="the publish ledger: verify, show, export, prune",
                            description="Read the append-only, hash-chained ledger of publishes: check that no "
                                        "record was edited, moved or deleted, list records, export them.")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    cmds = parser.add_subparsers(dest="ledger_command", metavar="ACTION")

    ver = cmds.add_parser("verify", help="check the chain; exit 0 when intact, 1 when a record was tampered with")
    _add_url(ver)
    ver.set_defaults(func=_verify)

    show = cmds.add_parser("show", help="list records as a table")
    show.add_argument("--last", type=_count, metavar="N", help="only the last N records (default: all)")
    _add_url(show)
    show.set_defaults(func=_show)

    exp = cmds.add_parser("export", help="write every record as JSON")
    exp.add_argument("--json", action="store_true", required=True,
                     help="a JSON array of records (sequence, at, user, entry, prev_hash, hash)")
    exp.add_argument("-o", "--output", type=Path, metavar="FILE",
                     help="write to FILE (whole or not at all) instead of the standard output")
    exp.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    _add_url(exp)
    exp.set_defaults(func=_export)

    prune = cmds.add_parser("prune", help="remove records older than [ledger] retention_days (at least 183); "
                                          "a ledger that fails verify is kept whole and refused (exit 4)")
    _add_url(prune)
    prune.set_defaults(func=_prune)


def _add_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", metavar="URL",
                        help="the ledger: sqlite:///abs/path.sqlite, a file path, or postgresql://user@host/db "
                             "(default: [ledger] url, else FACERIGHT_HOME/ledger/ledger.sqlite)")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of records, 1 or more, got {text!r}")
    return value


def _verify(args: argparse.Namespace) -> int:
    with open_ledger(args.config, args.url, create=False) as ledger:
        findings = ledger.verify()
        if not findings:
            count = ledger.count()
            print(f"ledger {ledger.where} is intact: {count} record{'' if count == 1 else 's'}")
            return 0
    for f in findings:
        print(f"{f.code}: {f.message}")
    print(f"ledger {ledger.where} fails verification: {len(findings)} finding(s)", file=sys.stderr)
    return 1


def _entry_text(record: LedgerRecord) -> str:
    """A publish as what compliance staff look for first (timeline, shots, licenses); any other entry as JSON."""
    entry = record.entry
    if isinstance(entry, dict) and entry.get("schema") == "faceright.publish/1":
        timeline = (entry.get("timeline") or {}).get("path") or "?"
        shots = entry.get("shots") or ()
        licenses = sorted({str(s.get("license_id")) for s in shots if s.get("license_id")})
        text = (f"publish {Path(timeline).name}: {', '.join(str(s.get('shot_id')) for s in shots) or 'no face shot'}"
                f"; license {', '.join(licenses) or 'none'}")
    else:
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= ENTRY_WIDTH else text[:ENTRY_WIDTH - 1] + "…"


def _prune(args: argparse.Namespace) -> int:
    with open_ledger(args.config, args.url, create=False) as ledger:
        removed = ledger.prune()
        days, left, where = ledger.settings.retention_days, ledger.count(), ledger.where
    print(f"ledger {where}: {removed} record{'' if removed == 1 else 's'} older than {days} days removed, "
          f"{left} kept; the chain stays verifiable from the first kept record")
    return 0


def _show(args: argparse.Namespace) -> int:
    with open_ledger(args.config, args.url, create=False) as ledger:
        records = ledger.records(last=args.last)
        where = ledger.where
    if not records:
        print(f"ledger {where} has no records")
        return 0
    rows = [("SEQ", "AT (UTC)", "USER", "ENTRY", "HASH")]
    rows += [(str(r.sequence), r.at.strftime("%Y-%m-%d %H:%M:%S"), r.user, _entry_text(r), r.hash[:12])
             for r in records]
    print(format_table(rows))
    return 0


def _export(args: argparse.Namespace) -> int:
    with open_ledger(args.config, args.url, create=False) as ledger:
        records = ledger.records()
    text = json.dumps([r.to_json() for r in records], indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    data = text.encode("utf-8")
    if args.overwrite:
        write_replacing(args.output, data)
    else:
        write_new(args.output, data)
    print(f"exported {len(records)} record(s) to {args.output}", file=sys.stderr)
    return 0
