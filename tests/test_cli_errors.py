"""A user's bad input, through the real CLI: one line on stderr naming the path and what to do,
a stable exit code, no traceback, no advice that does not apply, no silent fallback, and no
partial file left behind."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from faceright import atomic
from faceright.cli.main import main
from faceright.errors import ConfigError
from faceright.labels.aigc import build_label
from faceright.labels.policy import LabelSettings
from faceright.licenses import signing

from conftest import TEST_PROVIDER_CODE


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert "Traceback" not in err
    assert lines[0].startswith("faceright: error: ")
    return lines[0]


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".partial" in p.name)


# -- FACERIGHT_HOME and config.toml --------------------------------------------------------------

@pytest.mark.parametrize("below", [False, True], ids=["is a file", "is below a file"])
@pytest.mark.parametrize("argv", [["keyring", "list"], ["label", "keygen"]], ids=["reads", "writes"])
def test_a_faceright_home_that_is_a_file_is_refused_before_any_command(tmp_path, monkeypatch, capsys, below, argv):
    blocker = tmp_path / "state"
    blocker.write_text("not a folder")
    home = blocker / "faceright" if below else blocker
    monkeypatch.setenv("FACERIGHT_HOME", str(home))
    assert main(argv) == 2
    out, err = capsys.readouterr()
    line = _one_line(err)
    assert "FACERIGHT_HOME" in line and str(home) in line and f"{blocker} is a file" in line
    assert "no trusted keys" not in out, "an unusable home must not read as an empty one"
    assert blocker.read_text() == "not a folder"


def test_a_file_where_a_state_folder_belongs_is_named_when_writing(isolated_home, capsys):
    (isolated_home / "labels").write_text("in the way")
    assert main(["label", "keygen"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"{isolated_home / 'labels'} is a file, not a folder" in line and "move it away" in line


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into a read-only folder anyway; the file-in-the-way test covers root")
def test_an_unwritable_faceright_home_is_named_when_writing(isolated_home, capsys):
    isolated_home.chmod(0o555)
    try:
        assert main(["label", "keygen"]) == 2
        line = _one_line(capsys.readouterr().err)
        assert str(isolated_home) in line and "permission denied" in line and "writable" in line
        assert main(["keyring", "list"]) == 0, "reading a read-only home still works"
    finally:
        isolated_home.chmod(0o755)


def test_an_unwritable_faceright_home_is_named_even_as_root(isolated_home, monkeypatch, capsys):
    """The same check where chmod cannot refuse root: the folder's creation fails as it would."""
    real_mkdir = Path.mkdir

    def refused(self, *args, **kwargs):
        if self.is_relative_to(isolated_home) and self != isolated_home:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refused)
    assert main(["label", "keygen"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"cannot create the folder {isolated_home / 'labels'}" in line
    assert f"permission denied in {isolated_home}; make it writable" in line


def test_a_binary_config_file_is_refused_in_one_line(isolated_home, capsys):
    config = isolated_home / "config.toml"
    config.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary")
    assert main(["keyring", "list"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(config) in line and "not UTF-8" in line and "TOML" in line


def test_a_config_file_that_is_not_toml_is_refused_in_one_line(isolated_home, capsys):
    config = isolated_home / "config.toml"
    config.write_text("this = is not = toml\n")
    assert main(["keyring", "list"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(config) in line and "not valid TOML" in line


# -- label verify on files that are not media ------------------------------------------------------

@pytest.mark.parametrize("name, content, words", [
    ("text.mkv", b"hello, this is a text file\n", "is not a Matroska (MKV/WebM) file"),
    ("empty.mp4", b"", "is empty (0 bytes)"),
    ("text.mp4", b"this is not a movie" * 10, "is not an MP4/MOV file"),
    ("photo.png", b"\xff\xd8\xff\xe0 a JPEG named .png", "is not a PNG file"),
])
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_label_verify_on_a_file_that_is_not_media_is_one_error_line(tmp_path, capsys, name, content, words, as_json):
    path = tmp_path / name
    path.write_bytes(content)
    code = main(["label", "verify", str(path), *(["--json"] if as_json else [])])
    out, err = capsys.readouterr()
    assert code == 2
    line = _one_line(err)
    assert str(path) in line and words in line
    assert "movflags" not in out + err and "aigc.absent" not in out, "no advice about a label writer"


def test_a_truncated_mp4_is_not_proven_without_advice_about_the_writer(tmp_path, capsys, astronaut):
    from clips import make_clip

    clip = make_clip(tmp_path / "clip.mp4", astronaut, frames=6, size=(160, 120), audio=False)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[:64])        # the ftyp box, then nothing: starts right, damaged after
    assert main(["label", "verify", str(cut)]) == 1
    out = capsys.readouterr().out
    assert "aigc.reader_failed" in out and "movflags" not in out
    findings = [line for line in out.splitlines() if line.startswith("  ")]
    assert all("✗" in line or "✓" in line or "!" in line for line in findings), "one finding per line"


# -- a full disk or a read-only folder while writing -----------------------------------------------

@pytest.mark.parametrize("code, words", [
    (errno.ENOSPC, "is full (no space left on device); free space there or write elsewhere"),
    (errno.EROFS, "is on a read-only file system; write elsewhere"),
    (errno.EACCES, "permission denied"),
])
def test_a_write_that_fails_midway_names_the_file_and_leaves_no_partial(isolated_home, tmp_path, monkeypatch,
                                                                         capsys, code, words):
    first, second = tmp_path / "first.pub.pem", tmp_path / "second.pub.pem"
    signing.write_key_pair(tmp_path / "first.pem", first)
    signing.write_key_pair(tmp_path / "second.pem", second)
    assert main(["keyring", "add", str(first), "--name", "first"]) == 0
    keyring = isolated_home / "keyring" / "keyring.json"
    before = keyring.read_bytes()

    def failing_write(path: Path, data: bytes) -> None:
        path.write_bytes(data[:len(data) // 2])        # half of it reached the disk
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic, "_write_all", failing_write)
    capsys.readouterr()
    assert main(["keyring", "add", str(second), "--name", "second"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(keyring) in line and words in line
    assert keyring.read_bytes() == before, "the previous keyring is intact"
    assert _hidden(isolated_home) == []


def test_a_new_file_that_cannot_be_written_leaves_nothing(tmp_path, monkeypatch):
    def full(path: Path, data: bytes) -> None:
        path.write_bytes(data[:3])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic, "_write_all", full)
    target = tmp_path / "license.json"
    with pytest.raises(atomic.OutputError, match=r"license\.json: the disk holding .* is full"):
        atomic.write_new(target, b"{\"signed\": true}")
    assert list(tmp_path.iterdir()) == []


def test_printing_to_a_full_disk_is_one_line_not_a_traceback(isolated_home):
    cli = Path(sys.executable).with_name("faceright")
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "faceright.cli.main"]
    with open("/dev/full", "w") as full:
        result = subprocess.run([*command, "license", "template"], stdout=full, stderr=subprocess.PIPE,
                                text=True, timeout=120, check=False)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "No space left on device" in line and "standard output" in line


# -- messages in the CLI's language ------------------------------------------------------------

def test_an_existing_output_names_the_cli_option_that_replaces_it(studio_labels, tmp_path, capsys, astronaut):
    from clips import make_clip

    plate = make_clip(tmp_path / "plate.mov", astronaut, frames=6, size=(160, 120), audio=False)
    out = tmp_path / "out.mov"
    out.write_bytes(b"previous")
    assert main(["label", "apply", str(plate), "--out", str(out)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(out) in line and "pass --overwrite to replace it" in line
    assert out.read_bytes() == b"previous"


def test_a_frame_range_outside_the_plate_is_named_as_frames_takes_it(studio_labels, tmp_path, capsys, astronaut,
                                                                      grace_hopper_path):
    from clips import make_clip

    plate = make_clip(tmp_path / "plate.mov", astronaut, frames=24, size=(160, 120), audio=False)
    code = main(["swap", "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(tmp_path / "o.mov"),
                 "--license", str(tmp_path / "license.json"), "--release", str(tmp_path / "release.json"),
                 "--production", "PRJ-0001", "--platform", "douyin", "--territory", "CN", "--date", "2026-06-01",
                 "--frames", "20-40", "--no-progress"])
    assert code == 2
    line = _one_line(capsys.readouterr().err)
    assert "frames 20-40 are outside" in line and "holds frames 0-23" in line
    assert "[" not in line and ")" not in line.split("(", 1)[0], "no half-open [20, 41) in a CLI message"
    assert not (tmp_path / "o.mov").exists()


def test_an_image_sequence_range_is_named_with_its_file_numbers(tmp_path, astronaut):
    from clips import make_sequence
    from faceright.engine.media import FrameRangeError, open_source

    pattern = make_sequence(tmp_path / "plate.%04d.png", astronaut, frames=4, first=1001, size=(160, 120))
    with pytest.raises(FrameRangeError, match=r"frames 1002-1010 are outside .* whose files run 1001-1004 "):
        open_source(pattern, (1002, 1011))


@pytest.mark.parametrize("value", ["1.5", "-0.2", "nan", "high"])
def test_swap_refuses_a_threshold_that_is_not_a_similarity(value, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["swap", "--threshold", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --threshold" in err and "Traceback" not in err
    assert "[0, 1]" in err or "between 0 and 1" in err


def test_swap_refuses_a_threshold_given_beside_a_shot_file(tmp_path, capsys, studio_labels):
    shot = tmp_path / "shot.json"
    shot.write_text("{}")
    assert main(["swap", "--shot", str(shot), "--threshold", "0.5"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "--shot gives the whole shot; leave out --threshold" in line


# -- the provider code is checked where the label is made ------------------------------------------

@pytest.mark.parametrize("code", ["0011", TEST_PROVIDER_CODE + "X", "ab" + TEST_PROVIDER_CODE[2:],
                                  "11" + TEST_PROVIDER_CODE[2:], "某某科技有限公司"])
def test_a_provider_code_that_is_not_a_tc260_code_makes_no_label(tmp_path, code):
    private = tmp_path / "aigc.pem"
    signing.write_key_pair(private, tmp_path / "aigc.pub.pem")
    with pytest.raises(ConfigError, match=r"\[labels\] provider_code .* is not a 27-character TC260"):
        build_label(LabelSettings(provider_code=code, signing_key=private))


def test_label_apply_with_a_bad_provider_code_writes_nothing(studio_labels, tmp_path, capsys, astronaut):
    from clips import make_clip

    (studio_labels / "config.toml").write_text('[labels]\nprovider_code = "0011ABC"\n')
    plate = make_clip(tmp_path / "plate.mov", astronaut, frames=6, size=(160, 120), audio=False)
    out = tmp_path / "out.mov"
    assert main(["label", "apply", str(plate), "--out", str(out)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "provider_code '0011ABC' (7 characters)" in line and "config.toml" in line
    assert not out.exists() and _hidden(tmp_path) == []
