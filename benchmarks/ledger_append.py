"""Records per second of the publish ledger: append, then verify (not a test).

    python benchmarks/ledger_append.py [--records 10000] [--url postgresql://user@host/db]

Appends ``--records`` records of a realistic publish entry (about 2 KB of JSON: FaceShot,
license and release verdicts, model, input and output hashes, ProduceID, label evidence), each
in its own transaction as a publish does, to a fresh SQLite file, and to the PostgreSQL
database ``--url`` names when given (its ledger tables must not exist yet, or be empty); then
verifies the whole chain. Prints one line per measurement.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path

from faceright.config import Config
from faceright.ledger import open_ledger


def entry(i: int) -> dict:
    """A publish as the integrator records it (the ledger does not interpret it)."""
    digest = lambda text: hashlib.sha256(f"{text}{i}".encode()).hexdigest()  # noqa: E731
    return {
        "faceshot": {"schema": "FaceShot.1", "shot_id": f"ep{i // 1000:02d}_sh{i % 1000:03d}",
                     "plate": {"path": f"plates:ep01/sh{i:04d}/plate.%04d.exr", "frames": {"first": 1001, "last": 1096},
                               "rate": "24000/1001", "colour_space": "ACEScg"},
                     "swap": {"backend": "inswapper", "model": "inswapper_128.onnx", "mask": "occlusion",
                              "blend": 0.85}},
        "license": {"id": f"LIC-2026-{i:06d}", "issuer_key": digest("key"), "verdict": "pass",
                    "findings": [{"code": "license.ok", "severity": "info", "message": "covers this use"}]},
        "release": {"id": f"REL-2026-{i:06d}", "verdict": "pass", "findings": []},
        "models": {"detector": digest("det"), "recogniser": digest("rec"), "swapper": digest("swap")},
        "input": {"path": f"plates:ep01/sh{i:04d}/plate.%04d.exr", "sha256": digest("in")},
        "output": {"path": f"renders:ep01/sh{i:04d}/swap_v001.mov", "sha256": digest("out")},
        "produce_id": f"P{i:012d}",
        "label": {"proven": True, "readers": ["ffprobe", "mp4 udta/meta"],
                  "aigc": {"Label": "1", "ContentProducer": "001191110000MA0000000X10002",
                           "ProduceID": f"P{i:012d}", "ReservedCode1": digest("sig"),
                           "ContentPropagator": "001191110000MA0000000X10002", "PropagateID": f"Q{i:012d}",
                           "ReservedCode2": digest("sig2")},
                  "visible_text": "AI生成 人工智能合成", "visible": {"height_ratio": 0.052, "seconds": 2.0}},
        "verdicts": [{"plugin": name, "passed": True} for name in
                     ("ValidateLicense", "ValidateRelease", "ValidateLabel", "ValidateVisibleLabel", "ValidateModels")],
        "host": {"name": "nuke", "version": "15.1v3", "machine": "render-07"},
    }


def run(name: str, url: str, count: int, home: Path) -> None:
    with open_ledger(Config(home=home), url) as ledger:
        if ledger.count():
            raise SystemExit(f"{name}: the ledger at {ledger.where} is not empty; give an empty database")
        entries = [entry(i) for i in range(count)]
        size = sum(len(json.dumps(e, separators=(",", ":"), ensure_ascii=False).encode()) for e in entries) / count
        start = time.perf_counter()
        for i, e in enumerate(entries):
            ledger.append(e, user=f"artist{i % 7}")
        elapsed = time.perf_counter() - start
        print(f"{name:10} append  {count / elapsed:8.0f} records/s  ({count} records of {size / 1024:.1f} KB, "
              f"{elapsed:.1f} s)")
        start = time.perf_counter()
        findings = ledger.verify()
        elapsed = time.perf_counter() - start
        print(f"{name:10} verify  {count / elapsed:8.0f} records/s  ({len(findings)} findings, {elapsed:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="how many records to append")
    parser.add_argument("--url", help="also a PostgreSQL database: postgresql://user@host/db")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run("sqlite", str(Path(folder) / "ledger.sqlite"), args.records, Path(folder))
        if args.url:
            run("postgresql", args.url, args.records, Path(folder))


if __name__ == "__main__":
    main()
