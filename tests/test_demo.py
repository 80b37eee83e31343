"""The README's first command: `faceright demo` on the embedded example."""
from __future__ import annotations

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
    assert main(["label", "verify", str(tmp_path / "swapped.mp4"), "--deliverable",
                 "--pubkey", str(tmp_path / "demo-aigc-ed25519.pub.pem")]) == 0
    line = next(line for line in out.splitlines() if line.startswith("identity"))
    before, after = (float(x) for x in line.split(": plate ")[1].split(" → output "))
    assert after >= 0.40 and after > before + 0.25, line
