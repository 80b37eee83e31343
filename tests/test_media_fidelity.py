"""A float or 16-bit plate keeps its own pixels outside the swap (engine/media/fidelity.py).

Plates are written by OpenImageIO (EXR: half and float, RGBA, PIZ/DWAA, a data window inside the
display window, highlights above 1.0, a studio attribute) and OpenCV (16-bit RGBA PNG); outputs
are read back by the same independent libraries, never by faceright's reader.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceright.engine.media import open_sink, open_source
from faceright.labels.aigc import label_signer
from faceright.labels.verify import verify_file

pytest_plugins = ("label_fixtures",)   # keys, settings, ocr, still, plate

oiio = pytest.importorskip("OpenImageIO", reason="deep plates need the exr extra (openimageio), part of faceright[test]")

H, W = 60, 90
FACE = (slice(20, 44), slice(30, 66))      # where the stand-in "swap" paints


def _write_exr(path, pixels, *, kind="half", compression="piz", window=(0, 0)):
    spec = oiio.ImageSpec(W, H, 4, kind)
    spec.channelnames = ("R", "G", "B", "A")
    spec.x, spec.y = window
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, W + 2 * window[0], H + 2 * window[1]
    spec.attribute("compression", compression)
    spec.attribute("studio:shot", "ep01_sh010")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec) and out.write_image(pixels)
    out.close()


def _read_exr(path):
    image = oiio.ImageInput.open(str(path))
    spec = oiio.ImageSpec(image.spec())
    pixels = image.read_image(0, 0, 0, spec.nchannels, "float")
    image.close()
    return pixels, spec


def _plate_pixels(seed):
    rng = np.random.default_rng(seed)
    pixels = rng.random((H, W, 4), dtype=np.float32) * 0.9
    pixels[:6, :10, :3] = 4.0                   # a highlight far from the face
    pixels[30:34, 40:44, :3] = 6.0              # and one under it
    pixels[:, :, 3] = rng.random((H, W), dtype=np.float32)
    return pixels


def _swap_like(frame):
    frame = frame.copy()
    frame[FACE] = (40, 150, 210)
    return frame


def _render(plate, out, **sink_options):
    with open_source(plate) as source, open_sink(out, like=source.info, **sink_options) as sink:
        for _, frame in source:
            sink.write(_swap_like(frame))


@pytest.mark.parametrize("kind, compression, written", [("half", "piz", "piz"), ("float", "zip", "zip"),
                                                        ("half", "dwaa", "zip"), ("float", "b44", "zip")])
def test_an_exr_plate_comes_back_exact_outside_the_swap_in_its_own_type_and_header(tmp_path, kind, compression,
                                                                                   written):
    """Lossless compressions are kept; a lossy one (DWAA, B44) would lose the plate's pixels again in
    the rewrite, so that frame is written with ZIP (lossless) instead, and the run says so."""
    (tmp_path / "out").mkdir()
    for number in (1001, 1002):
        _write_exr(tmp_path / f"plate.{number}.exr", _plate_pixels(number), kind=kind, compression=compression,
                   window=(4, 3))
    _render(tmp_path / "plate.%04d.exr", tmp_path / "out" / "shot.%04d.exr")
    for number in (1001, 1002):
        plate, plate_spec = _read_exr(tmp_path / f"plate.{number}.exr")
        out, spec = _read_exr(tmp_path / "out" / f"shot.{number}.exr")
        assert str(spec.format) == kind and spec.getattribute("compression").startswith(written)
        assert list(spec.channelnames) == ["R", "G", "B", "A"]
        assert (spec.x, spec.y, spec.full_width, spec.full_height) == (plate_spec.x, plate_spec.y,
                                                                         plate_spec.full_width, plate_spec.full_height)
        assert spec.getattribute("studio:shot") == "ep01_sh010"
        outside = np.ones((H, W), bool)
        outside[FACE] = False
        assert np.array_equal(out[outside], plate[outside])             # every channel, bit for bit
        assert np.array_equal(out[:, :, 3], plate[:, :, 3])             # alpha everywhere
        assert (out[:6, :10, :3] > 3.9).all()                           # the highlight, not clipped to 1.0
        assert len(np.unique(out[outside][:, :3])) > 1000               # not quantised to 256 levels
        # inside: the swap's colour in linear light (sRGB-decoded 8-bit), the highlight under the face replaced
        wanted = ((np.array([210, 150, 40]) / 255.0 + 0.055) / 1.055) ** 2.4
        assert np.allclose(out[FACE][:, :, :3], wanted, atol=0.01)


def test_an_exr_swap_output_with_its_label_is_proven_and_the_label_is_bound_to_its_pixels(tmp_path, settings):
    _write_exr(tmp_path / "plate.1001.exr", _plate_pixels(1))
    (tmp_path / "out").mkdir()
    _render(tmp_path / "plate.%04d.exr", tmp_path / "out" / "shot.%04d.exr", label=label_signer(settings))
    report = verify_file(tmp_path / "out" / "shot.1001.exr", settings)
    assert report.proven and "aigc.content_bound" in {f.code for f in report.findings}, report.findings
    assert _read_exr(tmp_path / "out" / "shot.1001.exr")[1].getattribute("studio:shot") == "ep01_sh010"


def test_a_16_bit_rgba_png_plate_keeps_its_depth_alpha_and_values_outside_the_swap(tmp_path):
    (tmp_path / "out").mkdir()
    rng = np.random.default_rng(5)
    plate = rng.integers(0, 65536, (H, W, 4), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "plate.0001.png"), plate)
    _render(tmp_path / "plate.%04d.png", tmp_path / "out" / "shot.%04d.png")
    out = cv2.imread(str(tmp_path / "out" / "shot.0001.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == plate.shape
    outside = np.ones((H, W), bool)
    outside[FACE] = False
    assert np.array_equal(out[outside], plate[outside]) and np.array_equal(out[:, :, 3], plate[:, :, 3])
    assert (np.abs(out[FACE][:, :, :3].astype(int) // 257 - [40, 150, 210]) <= 1).all()


def test_an_8_bit_plate_is_written_as_before(tmp_path):
    (tmp_path / "out").mkdir()
    cv2.imwrite(str(tmp_path / "plate.0001.png"), np.full((H, W, 3), 77, np.uint8))
    _render(tmp_path / "plate.%04d.png", tmp_path / "out" / "shot.%04d.png")
    out = cv2.imread(str(tmp_path / "out" / "shot.0001.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint8 and (out[FACE] == (40, 150, 210)).all() and (out[0, 0] == 77).all()


# --------------------------------------------------------------------------- 10-bit video plates

VH, VW = 96, 128
VFACE = (slice(30, 62), slice(40, 88))


def _write_deep_clip(path, codec, pix_fmt, options, frames=3, seed=7):
    """A clip whose samples use all 10 bits: smooth 16-bit gradients plus noise, converted by swscale."""
    import av

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:VH, 0:VW]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = VW, VH, pix_fmt
        stream.options = dict(options)
        for i in range(frames):
            base = np.stack([x * 400 + 2000 * i, y * 500, (x + y) * 220], axis=2).astype(np.float64)
            rgb = np.clip(base + rng.normal(0, 300, base.shape) + 6000, 0, 65535).astype(np.uint16)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb48le").reformat(format=pix_fmt)
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _ffmpeg_planes(path, pix_fmt):
    """Every frame's planes as ffmpeg (not faceright's reader) decodes them: [(Y, Cb, Cr[, A]), ...]."""
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg): the independent decoder of these tests")
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"],
                         check=True, capture_output=True).stdout
    samples = np.frombuffer(raw, np.uint16)
    chroma = (VH // 2 if "420" in pix_fmt else VH, VW if "444" in pix_fmt else VW // 2)
    shapes = [(VH, VW), chroma, chroma] + ([(VH, VW)] if pix_fmt.startswith("yuva") else [])
    size = sum(h * w for h, w in shapes)
    frames = []
    for start in range(0, len(samples), size):
        planes, at = [], start
        for h, w in shapes:
            planes.append(samples[at:at + h * w].reshape(h, w).astype(np.int32))
            at += h * w
        frames.append(planes)
    return frames


def _render_video(clip, out, **sink_options):
    with open_source(clip) as source, open_sink(out, like=source.info, audio=False, **sink_options) as sink:
        for _, frame in source:
            frame = frame.copy()
            frame[VFACE] = (40, 150, 210)
            sink.write(frame)


@pytest.mark.parametrize("pix_fmt", ["yuv444p10le", "yuv420p10le"])
def test_a_10_bit_lossless_plate_comes_back_sample_for_sample_outside_the_swap(tmp_path, pix_fmt):
    from faceright.engine.media import probe
    from faceright.engine.media.codecs import choose_codec

    plate = _write_deep_clip(tmp_path / "plate.mkv", "ffv1", pix_fmt, {})
    choice = choose_codec(probe(plate), tmp_path / "out.mkv", None)      # FFV1 in → FFV1 of the plate's format out
    assert choice.writer_options == {"codec": "ffv1", "pix_fmt": pix_fmt}
    _render_video(plate, tmp_path / "out.mkv", **choice.writer_options)
    before, after = _ffmpeg_planes(plate, pix_fmt), _ffmpeg_planes(tmp_path / "out.mkv", pix_fmt)
    assert len(before) == len(after) == 3
    outside = np.ones((VH, VW), bool)
    outside[VFACE] = False
    for plate_planes, out_planes in zip(before, after):
        for a, b in zip(plate_planes, out_planes):
            keep = outside if a.shape == outside.shape else outside[::2, ::2] & outside[1::2, 1::2]
            assert np.array_equal(a[keep], b[keep])                    # luma and chroma, every sample
        assert len(np.unique(out_planes[0][outside] % 4)) == 4        # 10-bit values, not 8-bit ones scaled
        # inside: the swap's colour (BGR 40, 150, 210 → BT.601 limited-range 10-bit luma), with the plate's
        # detail finer than the 8-bit copy (at most one 8-bit step: 4 codes)
        luma = 64 + (0.299 * 210 + 0.587 * 150 + 0.114 * 40) * 876 / 255
        assert np.abs(out_planes[0][VFACE] - luma).max() <= 4.5


def test_a_prores_hq_plate_keeps_its_10_bits_outside_the_swap_where_the_8_bit_path_did_not(tmp_path):
    plate = _write_deep_clip(tmp_path / "plate.mov", "prores_ks", "yuv422p10le", {"profile": "3"})
    options = {"codec": "prores_ks", "pix_fmt": "yuv422p10le", "codec_options": {"profile": "3"}}
    _render_video(plate, tmp_path / "kept.mov", **options)
    _render_video(plate, tmp_path / "eight.mov", plate=None, **options)     # the swap's 8-bit frames, encoded
    before = _ffmpeg_planes(plate, "yuv422p10le")
    kept, eight = (_ffmpeg_planes(tmp_path / n, "yuv422p10le") for n in ("kept.mov", "eight.mov"))
    outside = np.ones((VH, VW), bool)
    outside[VFACE] = False
    error_kept = np.mean([np.abs(a[0] - b[0])[outside].mean() for a, b in zip(before, kept)])
    error_eight = np.mean([np.abs(a[0] - b[0])[outside].mean() for a, b in zip(before, eight)])
    assert error_kept < 0.5 * error_eight, (error_kept, error_eight)      # ProRes's own loss only
    luma = 64 + (0.299 * 210 + 0.587 * 150 + 0.114 * 40) * 876 / 255
    assert abs(np.mean([f[0][VFACE].mean() for f in kept]) - luma) < 3


def test_a_prores_4444_plate_keeps_its_alpha_by_default(tmp_path):
    import av

    from faceright.engine.media import probe
    from faceright.engine.media.codecs import choose_codec

    rng = np.random.default_rng(3)
    with av.open(str(tmp_path / "plate.mov"), "w") as out:
        stream = out.add_stream("prores_ks", rate=24)
        stream.width, stream.height, stream.pix_fmt = VW, VH, "yuva444p10le"
        stream.options = {"profile": "4"}
        for i in range(2):
            rgba = rng.integers(4000, 60000, (VH, VW, 4), dtype=np.uint16)
            rgba[:, :, 3] = np.linspace(0, 65535, VW, dtype=np.uint16)[None, :]   # a ramp of alpha
            frame = av.VideoFrame.from_ndarray(rgba, format="rgba64le")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    choice = choose_codec(probe(tmp_path / "plate.mov"), tmp_path / "out.mov", None)
    assert choice.writer_options["pix_fmt"] == "yuva444p10le"
    _render_video(tmp_path / "plate.mov", tmp_path / "out.mov", **choice.writer_options)
    before = _ffmpeg_planes(tmp_path / "plate.mov", "yuva444p10le")
    after = _ffmpeg_planes(tmp_path / "out.mov", "yuva444p10le")
    for a, b in zip(before, after):
        assert np.abs(a[3] - b[3]).max() <= 2        # the alpha ramp, under the face too (ProRes codes it lossless-ish)
        assert a[3][:, 0].mean() < 80 and a[3][:, -1].mean() > 940


# --------------------------------------------------------------------------- 16-bit TIFF and 10-bit DPX plates

def _write_oiio_plate(path, pixels, bits, **attributes):
    spec = oiio.ImageSpec(W, H, pixels.shape[2], "uint16")
    spec.attribute("oiio:BitsPerSample", bits)
    for key, value in attributes.items():
        spec.attribute(key, value)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    assert out.write_image(pixels)
    out.close()


def _read_codes(path, bits):
    image = oiio.ImageInput.open(str(path))
    spec = oiio.ImageSpec(image.spec())
    pixels = image.read_image(0, 0, 0, spec.nchannels, "uint16")
    image.close()
    return (pixels.astype(np.int64) * ((1 << bits) - 1) + 32767) // 65535, spec   # the file's own code values


@pytest.mark.parametrize("suffix, bits", [(".dpx", 10), (".tif", 16)])
def test_a_deep_dpx_or_tiff_plate_keeps_its_code_values_and_carries_a_label_bound_to_them(tmp_path, settings, suffix,
                                                                                       bits):
    (tmp_path / "out").mkdir()
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 1 << bits, (H, W, 3))
    extra = {"dpx:Transfer": "Logarithmic"} if suffix == ".dpx" else {"Copyright": "studio"}
    _write_oiio_plate(tmp_path / f"plate.1001{suffix}", (codes * 65535 // ((1 << bits) - 1)).astype(np.uint16),
                      bits, **extra)
    plate_codes, plate_spec = _read_codes(tmp_path / f"plate.1001{suffix}", bits)
    assert np.array_equal(plate_codes, codes)
    _render(tmp_path / f"plate.%04d{suffix}", tmp_path / "out" / f"shot.%04d{suffix}", label=label_signer(settings))
    out = tmp_path / "out" / f"shot.1001{suffix}"
    out_codes, spec = _read_codes(out, bits)
    assert spec.get_int_attribute("oiio:BitsPerSample") == bits
    key = next(iter(extra))
    assert spec.getattribute(key) == extra[key]                          # the plate's header kept
    outside = np.ones((H, W), bool)
    outside[FACE] = False
    assert np.array_equal(out_codes[outside], plate_codes[outside])      # every code value, bit for bit
    assert len(np.unique(out_codes[outside] % 4)) == 4                   # deeper than 8 bits
    report = verify_file(out, settings)
    assert report.proven and "aigc.content_bound" in {f.code for f in report.findings}, report.findings
    if suffix == ".tif":   # Pillow, another TIFF reader, finds the XMP packet in IFD 0
        from PIL import Image

        with Image.open(out) as image:
            xmp = image.tag_v2[700]
        assert b"TC260:AIGC" in (xmp if isinstance(xmp, bytes) else str(xmp).encode())
    # the same label carried over onto the untouched plate: not the plate's label
    from faceright.labels.metadata import read_metadata, write_image

    (value,) = {o.value for o in read_metadata(out).occurrences}
    replayed = tmp_path / f"replayed{suffix}"
    write_image(tmp_path / f"plate.1001{suffix}", replayed, value)
    assert len(read_metadata(replayed).occurrences) == 1
    codes_found = {f.code for f in verify_file(replayed, settings).findings}
    assert "aigc.content_mismatch" in codes_found, codes_found


def test_an_8_bit_tiff_output_carries_its_label_too(tmp_path, settings):
    (tmp_path / "out").mkdir()
    cv2.imwrite(str(tmp_path / "plate.0001.png"), np.full((H, W, 3), 77, np.uint8))
    _render(tmp_path / "plate.%04d.png", tmp_path / "out" / "shot.%04d.tif", label=label_signer(settings))
    out = tmp_path / "out" / "shot.0001.tif"
    assert (cv2.imread(str(out))[FACE] == (40, 150, 210)).all()          # OpenCV reads the TIFF it wrote
    report = verify_file(out, settings)
    assert report.proven and "aigc.content_bound" in {f.code for f in report.findings}, report.findings


@pytest.mark.parametrize("suffix, bits", [(".dpx", 10), (".tif", 16)])
def test_label_apply_labels_a_dpx_or_tiff_and_verify_proves_it(tmp_path, settings, suffix, bits):
    from faceright.engine.jobs.label import apply_labels

    rng = np.random.default_rng(2)
    _write_oiio_plate(tmp_path / f"frame{suffix}", rng.integers(0, 65536, (H, W, 3), dtype=np.uint16), bits)
    apply_labels(tmp_path / f"frame{suffix}", tmp_path / f"labelled{suffix}", settings)
    report = verify_file(tmp_path / f"labelled{suffix}", settings)
    assert report.proven and "aigc.content_bound" in {f.code for f in report.findings}, report.findings
    assert np.array_equal(_read_codes(tmp_path / f"labelled{suffix}", bits)[0],
                          _read_codes(tmp_path / f"frame{suffix}", bits)[0])


# --------------------------------------------------------------------------- blended with the faces' weights

def _soft_swap(frame, alpha, colour=(40, 150, 210)):
    """A stand-in swap that blends ``colour`` in with ``alpha`` as paste-back does (8-bit, display)."""
    face = np.empty_like(frame)
    face[:] = colour
    return np.clip(face * alpha[:, :, None] + frame * (1.0 - alpha[:, :, None]) + 0.5, 0, 255).astype(np.uint8)


def test_an_exr_highlight_under_the_face_s_soft_edge_keeps_what_the_face_does_not_cover(tmp_path):
    pixels = np.full((H, W, 4), 0.2, np.float32)
    pixels[:, :, :3] = 4.0                                     # a light over the whole frame
    pixels[:, :, 3] = 1.0
    _write_exr(tmp_path / "plate.1001.exr", pixels, kind="float", compression="zip")
    alpha = np.zeros((H, W), np.float32)
    alpha[FACE] = np.linspace(0.0, 1.0, FACE[1].stop - FACE[1].start, dtype=np.float32)[None, :]
    (tmp_path / "with").mkdir()
    (tmp_path / "without").mkdir()
    for folder, weights in (("with", alpha), ("without", None)):
        with open_source(tmp_path / "plate.%04d.exr") as source, \
                open_sink(tmp_path / folder / "shot.%04d.exr", like=source.info) as sink:
            assert sink.takes_alpha
            for _, frame in source:
                sink.write(_soft_swap(frame, alpha), alpha=weights)
    blended = _read_exr(tmp_path / "with" / "shot.1001.exr")[0][:, :, :3]
    clipped = _read_exr(tmp_path / "without" / "shot.1001.exr")[0][:, :, :3]
    quarter = FACE[1].start + (FACE[1].stop - FACE[1].start) // 4       # alpha ≈ 0.25 there
    column = blended[FACE[0], quarter]
    weight = alpha[FACE[0].start, quarter]
    face = ((np.array([210, 150, 40]) / 255.0 + 0.055) / 1.055) ** 2.4   # the face's colour, linear RGB
    assert np.allclose(column, (1 - weight) * 4.0 + weight * face, rtol=0.08)   # the blend in linear light
    assert (clipped[FACE[0], quarter] <= 1.0).all()                    # without the weights: clipped to the face
    assert np.allclose(blended[FACE[0], FACE[1].stop - 1], face, atol=0.02)    # where the face covers all of it
    outside = np.ones((H, W), bool)
    outside[FACE] = False
    assert (blended[outside] == 4.0).all()


def test_a_10_bit_super_white_under_the_face_s_soft_edge_is_blended_in_the_plate_s_samples(tmp_path):
    import av

    with av.open(str(tmp_path / "plate.mkv"), "w") as out:        # luma 1000: above 8-bit video's white (940)
        stream = out.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = VW, VH, "yuv444p10le"
        frame = av.VideoFrame(VW, VH, "yuv444p10le")
        for number, value in enumerate((1000, 512, 512)):
            frame.planes[number].update(np.full((VH, frame.planes[number].line_size // 2), value, "<u2").tobytes())
        frame.pts = 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    alpha = np.zeros((VH, VW), np.float32)
    alpha[VFACE] = 0.5
    results = {}
    for name, weights in (("with", alpha), ("without", None)):
        with open_source(tmp_path / "plate.mkv") as source, \
                open_sink(tmp_path / f"{name}.mkv", like=source.info, audio=False, codec="ffv1",
                          pix_fmt="yuv444p10le") as sink:
            assert sink.takes_alpha
            for _, picture in source:
                sink.write(_soft_swap(picture, alpha), alpha=weights)
        results[name] = _ffmpeg_planes(tmp_path / f"{name}.mkv", "yuv444p10le")[0][0]
    # the swap's half-white half-face, plus half of what the 8-bit copy clipped off the plate (1000 - 940)
    assert abs((results["with"][VFACE] - results["without"][VFACE]).mean() - 30) <= 2
    outside = np.ones((VH, VW), bool)
    outside[VFACE] = False
    assert (results["with"][outside] == 1000).all()
