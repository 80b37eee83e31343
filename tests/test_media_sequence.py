"""Image sequences: patterns, file-number ranges, holes, 8/16-bit PNG, EXR, per-frame atomic
writes; read back with OpenCV, Pillow and OpenImageIO directly."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from clips import make_clip, make_sequence, read_index

from faceright.engine.media import (
    FrameRange,
    MissingFramesError,
    OutputExistsError,
    OutputIsSourceError,
    SequencePattern,
    SequenceWriter,
    open_sink,
    open_source,
    probe,
)
from faceright.engine.media import sequence as sequence_module
from faceright.errors import DependencyMissingError, MediaError

LABEL = '{"Label":"1","ContentProducer":"某某影视"}'


@pytest.fixture(scope="module")
def plate(tmp_path_factory, astronaut):
    folder = tmp_path_factory.mktemp("seq")
    return make_sequence(folder / "plate.%04d.png", astronaut, frames=12, first=1001)


def _numbers(reader):
    return [(number, read_index(frame)) for number, frame in reader]


def _partials(folder):
    return [p.name for p in folder.iterdir() if ".partial" in p.name]


def test_patterns_parse_printf_and_hashes():
    assert SequencePattern.parse("/a/plate.%04d.exr").printf == "plate.%04d.exr"
    assert SequencePattern.parse("/a/plate.####.exr").printf == "plate.%04d.exr"
    assert SequencePattern.parse("/a/plate_%d.png").printf == "plate_%d.png"
    assert SequencePattern.parse("/a/plate.1001.png") is None
    pattern = SequencePattern.parse("/a/plate.####.png")
    assert pattern.number_of("plate.1001.png") == 1001
    assert pattern.number_of("plate.12345.png") == 12345          # more digits when needed
    assert pattern.number_of("plate.001.png") is None             # wrong padding
    assert pattern.number_of("plate.01001.png") is None
    assert pattern.path(7).name == "plate.0007.png"
    with pytest.raises(MediaError, match="more than one"):
        SequencePattern.parse("/a/%04d.####.png")


@pytest.mark.parametrize("spelling", ["plate.%04d.png", "plate.####.png"])
def test_probe_reads_numbers_size_and_caller_rate(plate, spelling):
    info = probe(plate.parent / spelling, rate=25)
    assert info.kind == "sequence"
    assert info.frames == FrameRange(1001, 1013) and info.frame_count == 12
    assert (info.width, info.height) == (160, 120)
    assert info.rate == 25 and info.bit_depth == 8 and info.codec == "png"
    assert probe(plate).rate == 24   # the default


@pytest.mark.parametrize("first, end", [(1001, 1013), (1003, 1006), (1012, 1013), (1001, 1002)])
def test_frame_range_uses_file_numbers_exactly(plate, first, end):
    got = _numbers(open_source(plate, FrameRange(first, end)))
    assert got == [(n, n - 1001) for n in range(first, end)]


def test_inclusive_vfx_range_helper(plate):
    assert [n for n, _ in open_source(plate, FrameRange.inclusive(1004, 1006))] == [1004, 1005, 1006]


def test_missing_frames_are_named(tmp_path, astronaut):
    holey = make_sequence(tmp_path / "holey.%04d.png", astronaut, frames=10, first=1001, skip=(1004, 1005, 1008))
    with pytest.raises(MissingFramesError, match=r"missing frames 1004-1005, 1008") as caught:
        probe(holey)
    assert caught.value.missing == [1004, 1005, 1008]
    # a range that avoids the holes reads fine
    assert [n for n, _ in open_source(holey, (1001, 1004))] == [1001, 1002, 1003]
    with pytest.raises(MissingFramesError, match="missing frame 1008"):
        open_source(holey, (1006, 1010))


def test_no_matching_files_says_what_was_looked_for(tmp_path):
    with pytest.raises(MediaError, match=r"no files match .*shot\.%04d\.png"):
        probe(tmp_path / "shot.%04d.png")


def test_sixteen_bit_png_reads_native_and_as_uint8(tmp_path, astronaut):
    seq = make_sequence(tmp_path / "deep.%04d.png", astronaut, frames=3, first=1, bit_depth=16)
    info = probe(seq)
    assert info.bit_depth == 16 and info.pix_fmt == "bgr48"
    native = dict(open_source(seq, dtype="native"))
    eight = dict(open_source(seq))
    assert native[2].dtype == np.uint16 and eight[2].dtype == np.uint8
    direct = cv2.imread(str(tmp_path / "deep.0002.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(native[2], direct)
    assert np.array_equal(eight[2], (direct // 257).astype(np.uint8))
    assert read_index(eight[3]) == 2


def test_sixteen_bit_png_written_is_sixteen_bit_and_exact(tmp_path):
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 65536, (24, 32, 3), dtype=np.uint16) for _ in range(3)]
    with SequenceWriter(tmp_path / "out.####.png", first_frame=1001, bit_depth=16) as writer:
        for frame in frames:
            writer.write(frame)
    for i, frame in enumerate(frames):
        back = cv2.imread(str(tmp_path / f"out.{1001 + i:04d}.png"), cv2.IMREAD_UNCHANGED)
        assert back.dtype == np.uint16 and np.array_equal(back, frame)
    assert writer.frames == FrameRange(1001, 1004)


def test_png_metadata_reads_back_with_pillow_and_the_aigc_label_as_xmp(plate, tmp_path):
    from PIL import Image

    with open_sink(tmp_path / "lab.%04d.png", like=probe(plate),
                   metadata={"AIGC": LABEL, "Software": "faceright"}) as sink:
        for _, frame in open_source(plate, (1001, 1003)):
            sink.write(frame)
    for number in (1001, 1002):
        with Image.open(tmp_path / f"lab.{number}.png") as image:
            assert image.text["Software"] == "faceright" and "AIGC" not in image.text
            assert 'TC260:AIGC="' in image.text["XML:com.adobe.xmp"]       # where `label apply` puts it
    assert probe(tmp_path / "lab.%04d.png").metadata["AIGC"] == LABEL


def test_exr_round_trip_is_exact_for_8_bit_and_carries_metadata(plate, tmp_path):
    oiio = pytest.importorskip("OpenImageIO", reason="EXR needs the optional 'exr' extra (openimageio)")
    out = tmp_path / "plate.%04d.exr"
    frames = dict(open_source(plate, (1001, 1004)))
    with open_sink(out, like=probe(plate), frames=(1001, 1004), metadata={"AIGC": LABEL}) as sink:
        for frame in frames.values():
            sink.write(frame)
    info = probe(out)
    assert info.frames == FrameRange(1001, 1004) and info.codec == "exr" and info.bit_depth == 16
    assert info.color.color_trc == "linear"
    for number, frame in open_source(out):
        assert np.array_equal(frame, frames[number])
    # independent reader: OpenImageIO itself sees half floats, RGB, linear values and the label
    image = oiio.ImageInput.open(str(tmp_path / "plate.1002.exr"))
    spec = image.spec()
    pixels = image.read_image("float")
    image.close()
    assert str(spec.format) == "half" and tuple(spec.channelnames) == ("R", "G", "B")
    assert spec.getattribute("AIGC") == LABEL
    srgb = frames[1002][:, :, ::-1].astype(np.float32) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    assert np.abs(pixels - linear).max() < 2e-3
    float_native = dict(open_source(out, dtype="native"))[1002]
    assert float_native.dtype == np.float32


def test_without_openimageio_exr_is_a_clear_dependency_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "OpenImageIO", None)   # makes `import OpenImageIO` fail
    with pytest.raises(DependencyMissingError, match=r"pip install 'faceright\[exr\]'"):
        SequenceWriter(tmp_path / "x.%04d.exr")
    (tmp_path / "x.0001.exr").write_bytes(b"\x76\x2f\x31\x01")
    with pytest.raises(DependencyMissingError):
        probe(tmp_path / "x.%04d.exr")


def test_metadata_on_a_format_that_cannot_carry_it_is_refused(tmp_path):
    with pytest.raises(MediaError, match="cannot carry metadata"):
        SequenceWriter(tmp_path / "x.%04d.jpg", metadata={"AIGC": LABEL})


@pytest.mark.parametrize("staged", [True, False])
def test_a_failed_sequence_puts_nothing_in_place_unless_written_frame_by_frame(tmp_path, monkeypatch, staged):
    real = sequence_module._encode_opencv
    calls = []

    def failing(path, image, bit_depth, metadata, label=None):
        calls.append(path)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(path, image, bit_depth, metadata, label)

    monkeypatch.setattr(sequence_module, "_encode_opencv", failing)
    frame = np.full((16, 16, 3), 99, np.uint8)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError, match="disk full"):
        with SequenceWriter(out / "out.%04d.png", first_frame=1, staged=staged) as writer:
            for _ in range(5):
                writer.write(frame)
    assert writer.written == [1, 2]
    # staged (the default): the two finished frames never took their names; in place: each frame is whole
    assert sorted(p.name for p in out.iterdir()) == ([] if staged else ["out.0001.png", "out.0002.png"])
    assert [p.name for p in tmp_path.iterdir()] == ["out"]          # no staging folder left beside it


def test_existing_frames_are_refused_unless_overwrite(tmp_path):
    frame = np.zeros((8, 8, 3), np.uint8)
    (tmp_path / "o.0001.png").write_bytes(b"old")
    with pytest.raises(OutputExistsError):
        SequenceWriter(tmp_path / "o.%04d.png", first_frame=1).write(frame)
    assert (tmp_path / "o.0001.png").read_bytes() == b"old"
    with SequenceWriter(tmp_path / "o.%04d.png", first_frame=1, overwrite=True) as writer:
        writer.write(frame)
    assert cv2.imread(str(tmp_path / "o.0001.png")).shape == (8, 8, 3)
    assert _partials(tmp_path) == []


def test_writing_over_the_source_sequence_is_refused(plate, tmp_path):
    with pytest.raises(OutputIsSourceError):
        open_sink(plate.parent / "plate.####.png", like=probe(plate), overwrite=True)
    linked = tmp_path / "alias.1001.png"
    import os
    os.link(plate.parent / "plate.1001.png", linked)
    writer = open_sink(tmp_path / "alias.%04d.png", like=probe(plate), overwrite=True)
    with pytest.raises(OutputIsSourceError):
        writer.write(np.zeros((120, 160, 3), np.uint8))


def test_video_to_sequence_numbers_from_1001_and_sequence_to_video_keeps_count(plate, tmp_path, astronaut):
    clip = make_clip(tmp_path / "clip.mov", astronaut, frames=6, size=(128, 96), audio=False)
    with open_sink(tmp_path / "frames.%04d.png", like=probe(clip), frames=(2, 5)) as sink:
        for _, frame in open_source(clip, (2, 5)):
            sink.write(frame)
    assert _numbers(open_source(tmp_path / "frames.%04d.png")) == [(1001, 2), (1002, 3), (1003, 4)]

    with open_sink(tmp_path / "movie.mp4", like=probe(plate, rate=25)) as sink:
        for _, frame in open_source(plate):
            sink.write(frame)
    movie = probe(tmp_path / "movie.mp4")
    assert movie.frame_count == 12 and movie.rate == 25
    assert [n for _, n in _numbers(open_source(tmp_path / "movie.mp4"))] == list(range(12))


def test_a_still_is_a_one_frame_source(tmp_path, grace_hopper):
    cv2.imwrite(str(tmp_path / "donor.png"), grace_hopper)
    info = probe(tmp_path / "donor.png")
    assert info.kind == "image" and info.frames == FrameRange(0, 1)
    (number, frame), = list(open_source(tmp_path / "donor.png"))
    assert number == 0 and np.array_equal(frame, grace_hopper)


def test_frames_of_different_sizes_are_refused(tmp_path):
    cv2.imwrite(str(tmp_path / "m.0001.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "m.0002.png"), np.zeros((8, 10, 3), np.uint8))
    with pytest.raises(MediaError, match="one size"):
        list(open_source(tmp_path / "m.%04d.png"))


def test_corrupt_frame_names_the_file(tmp_path):
    cv2.imwrite(str(tmp_path / "c.0001.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "c.0002.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(MediaError, match=r"c\.0002\.png is not a PNG image"):
        list(open_source(tmp_path / "c.%04d.png"))


def test_range_beyond_the_files_is_a_range_error_naming_the_span(plate):
    from faceright.engine.media import FrameRangeError

    with pytest.raises(FrameRangeError, match=r"whose files run 1001-1012 "):
        open_source(plate, (1010, 1020))


def test_ten_bit_dpx_round_trips_8_bit_frames_exactly(tmp_path):
    oiio = pytest.importorskip("OpenImageIO", reason="DPX needs the optional 'exr' extra (openimageio)")
    frame = np.random.default_rng(1).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    with SequenceWriter(tmp_path / "scan.%04d.dpx", first_frame=1001) as writer:
        writer.write(frame)
        writer.write(frame[::-1].copy())
    assert probe(tmp_path / "scan.%04d.dpx").frames == FrameRange(1001, 1003)
    back = dict(open_source(tmp_path / "scan.%04d.dpx"))
    assert np.array_equal(back[1001], frame) and np.array_equal(back[1002], frame[::-1])
    image = oiio.ImageInput.open(str(tmp_path / "scan.1001.dpx"))
    assert image.spec().get_int_attribute("oiio:BitsPerSample") == 10
    image.close()


def test_a_jpeg_photo_is_read_upright_as_its_exif_orientation_says(tmp_path, grace_hopper):
    """A phone photo stored sideways with an EXIF rotation: the donor's face must come out upright."""
    from PIL import Image

    from faceright.engine.media import read_image

    path = tmp_path / "donor.jpg"
    sideways = np.ascontiguousarray(np.rot90(grace_hopper))          # how the sensor stored it
    exif = Image.Exif()
    exif[0x0112] = 6                                                    # "rotate 90° clockwise to view"
    Image.fromarray(sideways[..., ::-1]).save(path, exif=exif, quality=95)
    image = read_image(path)
    assert image.shape == grace_hopper.shape
    assert np.abs(image.astype(int) - grace_hopper.astype(int)).mean() < 6


#: writes a 20-frame sequence of grey VALUE over OUT (--overwrite), pausing where PAUSE says, then exits
_REWRITE = r"""
import sys, time
import numpy as np
import faceright.atomic as atomic
from faceright.engine.media import SequenceWriter

out, value, pause = sys.argv[1], int(sys.argv[2]), sys.argv[3]
real_exchange = atomic.exchange

def exchange(a, b):
    if pause == "before-exchange":
        print("committing", flush=True); time.sleep(30)
    done = real_exchange(a, b)
    if pause == "after-exchange":
        print("committing", flush=True); time.sleep(30)
    return done

atomic.exchange = exchange
with SequenceWriter(out, first_frame=1, overwrite=True) as writer:
    for n in range(20):
        writer.write(np.full((24, 32, 3), value, np.uint8))
        if pause == "frames" and n == 9:
            print("committing", flush=True); time.sleep(30)
"""


def _generation(folder) -> set[int]:
    """The grey values of the sequence's frames in ``folder``: one value when it is whole."""
    frames = sorted(folder.glob("shot.*.png"))
    assert len(frames) == 20, [p.name for p in frames]
    return {int(cv2.imread(str(p))[0, 0, 0]) for p in frames}


def _others(folder) -> dict[str, tuple[int, bytes]]:
    """The files in ``folder`` that are not the sequence's frames: inode and content."""
    return {p.name: (p.stat().st_ino, p.read_bytes()) for p in folder.iterdir() if not p.name.startswith("shot.")}


@pytest.mark.parametrize("shared", [False, True], ids=["own-folder", "shared-folder"])
@pytest.mark.parametrize("pause", ["frames", "before-exchange", "after-exchange"])
def test_a_sequence_overwritten_and_killed_at_any_point_is_whole_old_or_whole_new(tmp_path, pause, shared):
    """SIGKILL while the new frames are written, just before the folders are exchanged, just after:
    a reader sees the whole old sequence or the whole new one, never a mix; the next write cleans up.
    In a folder shared with other files (another sequence, notes) they stay the same files throughout."""
    import signal
    import subprocess

    out = tmp_path / "renders" / "sh010"
    out.mkdir(parents=True)
    if shared:
        (out / "notes.txt").write_text("take 3 is the one")
        cv2.imwrite(str(out / "other.0001.png"), np.full((4, 4, 3), 9, np.uint8))
        (out / "latest.png").symlink_to("other.0001.png")
    others = _others(out)
    pattern = str(out / "shot.%04d.png")
    subprocess.run([sys.executable, "-c", _REWRITE, pattern, "50", "none"], check=True)
    assert _generation(out) == {50}
    child = subprocess.Popen([sys.executable, "-c", _REWRITE, pattern, "200", pause], stdout=subprocess.PIPE)
    assert child.stdout.readline().strip() == b"committing"
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    seen = _generation(out)
    assert seen == ({200} if pause == "after-exchange" else {50})
    assert _others(out) == others
    left = [p.name for p in (tmp_path / "renders").iterdir() if p.name != "sh010"]
    assert len(left) == 1 and left[0].endswith(".partial.staging")   # what the killed writer left
    subprocess.run([sys.executable, "-c", _REWRITE, pattern, "120", "none"], check=True)
    assert _generation(out) == {120}
    assert _others(out) == others
    assert [p.name for p in (tmp_path / "renders").iterdir()] == ["sh010"]   # its staging folder removed
    if shared:
        assert (out / "latest.png").is_symlink() and os.readlink(out / "latest.png") == "other.0001.png"


def _grey(path) -> int:
    return int(cv2.imread(str(path))[0, 0, 0])


def test_a_partial_re_render_is_put_in_place_in_one_step_with_the_frames_it_keeps(tmp_path, monkeypatch):
    """Frames 5–9 of 20 rendered again: one exchange; the other 15 old frames are the same files."""
    import faceright.atomic as atomic

    out = tmp_path / "sh010"
    out.mkdir()
    with SequenceWriter(out / "shot.%04d.png", first_frame=1) as writer:
        for _ in range(20):
            writer.write(np.full((8, 8, 3), 40, np.uint8))
    kept = {p.name: p.stat().st_ino for p in out.iterdir() if not 5 <= int(p.name.split(".")[1]) <= 9}
    exchanges = []
    real = atomic.exchange
    monkeypatch.setattr(atomic, "exchange", lambda a, b: exchanges.append(b) or real(a, b))
    with SequenceWriter(out / "shot.%04d.png", first_frame=5, overwrite=True) as writer:
        for _ in range(5):
            writer.write(np.full((8, 8, 3), 160, np.uint8))
    assert len(exchanges) == 1
    assert {n: _grey(out / f"shot.{n:04d}.png") for n in range(1, 21)} == \
        {n: 160 if 5 <= n <= 9 else 40 for n in range(1, 21)}
    assert {name: (out / name).stat().st_ino for name in kept} == kept
    assert [p.name for p in tmp_path.iterdir()] == ["sh010"]


def test_files_added_or_replaced_in_a_shared_folder_during_the_exchange_are_not_lost(tmp_path, monkeypatch):
    """Another process writes into the folder between the links and the exchange: its work ends up
    in the folder the readers see, not in the old folder that is removed."""
    import faceright.atomic as atomic

    out = tmp_path / "sh010"
    out.mkdir()
    (out / "notes.txt").write_text("v1")
    real = atomic.exchange

    def busy_neighbour(a, b):
        (out / "added.txt").write_text("new")
        (out / "notes.tmp").write_text("v2")
        os.replace(out / "notes.tmp", out / "notes.txt")
        return real(a, b)

    monkeypatch.setattr(atomic, "exchange", busy_neighbour)
    with SequenceWriter(out / "shot.%04d.png", first_frame=1) as writer:
        writer.write(np.full((8, 8, 3), 70, np.uint8))
    assert sorted(p.name for p in out.iterdir()) == ["added.txt", "notes.txt", "shot.0001.png"]
    assert (out / "notes.txt").read_text() == "v2" and (out / "added.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["sh010"]


def test_a_folder_holding_folders_gets_its_frames_one_by_one_and_its_folders_untouched(tmp_path, monkeypatch):
    import faceright.atomic as atomic

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.txt").write_text("keep me")
    monkeypatch.setattr(atomic, "exchange", lambda a, b: pytest.fail("a folder with folders was exchanged"))
    frame = np.full((8, 8, 3), 70, np.uint8)
    with SequenceWriter(tmp_path / "a.%04d.png", first_frame=1) as writer:
        for _ in range(3):
            writer.write(frame)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.0001.png", "a.0002.png", "a.0003.png", "sub"]
    assert (tmp_path / "sub" / "x.txt").read_text() == "keep me"


def test_a_symlinked_output_folder_stays_a_symlink_and_gets_the_frames(tmp_path):
    real = tmp_path / "disk" / "sh010"
    real.mkdir(parents=True)
    (tmp_path / "show").mkdir()
    link = tmp_path / "show" / "sh010"
    link.symlink_to(real, target_is_directory=True)
    frame = np.full((8, 8, 3), 33, np.uint8)
    for value in (33, 99):   # a first write and an --overwrite: both exchange the real folder, not the link
        with SequenceWriter(link / "shot.%04d.png", first_frame=1, overwrite=True) as writer:
            for _ in range(3):
                writer.write(np.full_like(frame, value))
        assert link.is_symlink() and link.resolve() == real.resolve()
        assert sorted(p.name for p in real.iterdir()) == ["shot.0001.png", "shot.0002.png", "shot.0003.png"]
        assert int(cv2.imread(str(real / "shot.0002.png"))[0, 0, 0]) == value
    assert sorted(p.name for p in (tmp_path / "show").iterdir()) == ["sh010"]
    assert sorted(p.name for p in (tmp_path / "disk").iterdir()) == ["sh010"]


def test_a_mount_point_output_folder_is_staged_inside_and_filled_frame_by_frame(tmp_path, monkeypatch):
    """A folder that is a mount point has no sibling on its file system: the staging goes inside it."""
    out = tmp_path / "mnt"
    out.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == out.resolve() or real_ismount(p))
    with SequenceWriter(out / "shot.%04d.png", first_frame=1) as writer:
        for _ in range(2):
            writer.write(np.full((8, 8, 3), 5, np.uint8))
        (staging,) = out.iterdir()                                          # nothing in place before the close
        assert staging.name.startswith("..faceright-staging.") and staging.name.endswith(".partial.staging")
    assert sorted(p.name for p in out.iterdir()) == ["shot.0001.png", "shot.0002.png"]
    assert [p.name for p in tmp_path.iterdir()] == ["mnt"]


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="only root can give a folder away")
def test_a_folder_another_user_owns_keeps_its_owner(tmp_path, monkeypatch):
    """Exchanging it would hand the folder to whoever rendered last: its frames go in one by one."""
    import faceright.atomic as atomic

    out = tmp_path / "sh010"
    out.mkdir()
    os.chown(out, 4321, 4321)
    monkeypatch.setattr(atomic, "exchange", lambda a, b: pytest.fail("another user's folder was exchanged"))
    with SequenceWriter(out / "shot.%04d.png", first_frame=1) as writer:
        writer.write(np.full((8, 8, 3), 70, np.uint8))
    assert (out.stat().st_uid, out.stat().st_gid) == (4321, 4321)
    assert [p.name for p in out.iterdir()] == ["shot.0001.png"]
