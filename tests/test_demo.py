"""The README's first command: `faceright demo` on the embedded example."""
from __future__ import annotations

import hashlib
import json

import av

from faceright.cli.main import main


def test_demo_swaps_the_embedded_example_and_reports_the_identity_shift(tmp_path, capsys):
    code = main(["demo", "--out", str(tmp_path), "--frames", "48", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    for name in ("plate.mp4", "swapped.mp4"):
        with av.open(str(tmp_path / name)) as container:
            stream = container.streams.video[0]
            assert (stream.width, stream.height) == (1280, 720)
            assert sum(1 for _ in container.decode(video=0)) == 48
    assert "label: proven in the file (metadata, visible)" in out
    studio = tmp_path / "demo-studio"
    assert main(["label", "verify", str(tmp_path / "swapped.mp4"), "--deliverable",
                 "--pubkey", str(studio / "demo-aigc-ed25519.pub.pem")]) == 0
    # the unlicensed variant was refused and left nothing behind
    assert "refused" in out and "license.platform_out_of_scope" in out
    assert not (tmp_path / "refused.mp4").exists()
    # the results name the documents that covered the output, and the output's real hash
    results = json.loads((tmp_path / "shot.json").read_text())["results"]
    assert results["license_id"] == json.loads((studio / "likeness-license.json").read_text())["body"]["license_id"]
    assert results["release_id"] == json.loads((studio / "plate-release.json").read_text())["body"]["release_id"]
    assert results["outputs"] == [{"path": str(tmp_path / "swapped.mp4"),
                                   "sha256": hashlib.sha256((tmp_path / "swapped.mp4").read_bytes()).hexdigest()}]
    line = next(line for line in out.splitlines() if line.startswith("identity"))
    before, after = (float(x) for x in line.split(": plate ")[1].split(" → output "))
    assert after >= 0.40 and after > before + 0.25, line
