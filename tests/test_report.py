"""The publish report page: pictures made from real faces, every text escaped, nothing loaded from
outside, written whole or not at all, and drawn by a real headless Chromium as a reader sees it."""
from __future__ import annotations

import base64
import pickle
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image, ImageDraw, ImageFont
from skimage import data as skimage_data

from faceright.errors import OutputError
from faceright.findings import Finding
from faceright.images import srgb_decode
from faceright.labels.fonts import default_font_path
from faceright.report.html import render_html, write_report
from faceright.report.model import CheckVerdict, LabelEvidence, Picture, PublishReport, ShotSection
from faceright.report.pictures import face_crop, picture

from chromium import dump_dom, screenshot

#: shot ids, license fields and OCR text come from users and files: these must come out as text
INJECTED_ID = "sh020<script>alert('id')</script>"
QUOTED_CAPTION = 'plate "A" frame 1001" onerror="alert(1)'
INJECTED_TERM = '<img src="https://evil.example/x.png">Ann "Lee"'
#: where the astronaut's face is (x0, y0, x1, y1) and Grace Hopper's, in their 512-wide images
ASTRONAUT_FACE = (170.0, 40.0, 270.0, 160.0)
HOPPER_FACE = (160.0, 90.0, 370.0, 340.0)


# -- real images ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def astronaut_bgr() -> np.ndarray:
    """scikit-image's astronaut (RGB there) in OpenCV's BGR order."""
    return cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def hopper_bgr() -> np.ndarray:
    image = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.IMREAD_COLOR)
    assert image is not None
    return image


@pytest.fixture(scope="module")
def labelled_frame(astronaut_bgr) -> np.ndarray:
    """The astronaut with the visible label "AI生成" drawn in its top-left corner by the shipped font."""
    rgb = Image.fromarray(cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2RGB))
    ImageDraw.Draw(rgb).text((12, 8), "AI生成", font=ImageFont.truetype(str(default_font_path()), 40),
                             fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)


def _decode(png: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a PNG OpenCV can decode"
    return image


# -- pictures -------------------------------------------------------------------------------------

def test_a_face_crop_is_the_box_widened_by_the_margin(astronaut_bgr):
    pic = face_crop(astronaut_bgr, ASTRONAUT_FACE, "frame 1001")
    # 100 x 120 box, 35 % more on each side: x 135..305, y -2..202 clipped to 0..202
    assert pic.caption == "frame 1001"
    assert np.array_equal(_decode(pic.png), astronaut_bgr[0:202, 135:305])


def test_a_face_crop_at_the_corner_is_clipped_to_the_image(astronaut_bgr):
    pic = face_crop(astronaut_bgr, (450.5, 400.0, 520.0, 530.0), "edge", margin=0.35)
    # x 426.175..544.325 -> 426..512, y 354.5..575.5 -> 354..512
    assert np.array_equal(_decode(pic.png), astronaut_bgr[354:512, 426:512])


def test_a_big_picture_is_scaled_down_keeping_its_aspect(hopper_bgr):
    assert hopper_bgr.shape[:2] == (600, 512)
    shown = _decode(picture(hopper_bgr, "donor", max_side=256).png)
    assert shown.shape == (256, 218, 3)
    reference = cv2.resize(hopper_bgr, (218, 256), interpolation=cv2.INTER_LINEAR)
    assert np.abs(shown.astype(int) - reference.astype(int)).mean() < 4


def test_a_large_face_crop_is_scaled_to_max_side(hopper_bgr):
    pic = face_crop(hopper_bgr, HOPPER_FACE, "donor", max_side=128)
    # 210 x 250 box + 35 %: x 86.5..443.5 -> 86..444, y 2.5..427.5 -> 2..428: 358 x 426 -> 108 x 128
    assert _decode(pic.png).shape == (128, round(358 * 128 / 426), 3)


def test_float_and_16_bit_plates_become_8_bit_pictures(astronaut_bgr):
    linear = srgb_decode(astronaut_bgr.astype(np.float32) / 255.0)
    from_float = _decode(face_crop(linear, ASTRONAUT_FACE, "exr").png)
    assert np.abs(from_float.astype(int) - astronaut_bgr[0:202, 135:305].astype(int)).max() <= 1
    deep = astronaut_bgr.astype(np.uint16) * 257
    assert np.array_equal(_decode(face_crop(deep, ASTRONAUT_FACE, "tiff").png), astronaut_bgr[0:202, 135:305])
    grey = cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY)
    assert np.array_equal(_decode(picture(grey, "grey").png)[:, :, 0], cv2.resize(
        grey, (256, 256), interpolation=cv2.INTER_AREA))


def test_a_box_outside_the_image_or_empty_is_refused(astronaut_bgr):
    with pytest.raises(ValueError, match="outside the 512x512 image"):
        face_crop(astronaut_bgr, (600.0, 600.0, 700.0, 700.0), "nowhere")
    with pytest.raises(ValueError, match="is empty"):
        face_crop(astronaut_bgr, (200.0, 100.0, 200.0, 150.0), "flat")
    with pytest.raises(ValueError, match="not a finite number"):
        face_crop(astronaut_bgr, (float("nan"), 0.0, 10.0, 10.0), "nan")


# -- a realistic publish ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crops(astronaut_bgr, hopper_bgr, labelled_frame) -> dict[str, np.ndarray]:
    """The arrays each Picture of the report shows, cut here independently of face_crop."""
    swapped = astronaut_bgr.copy()
    swapped[40:160, 170:270] = cv2.resize(hopper_bgr[90:340, 160:370], (100, 120), interpolation=cv2.INTER_AREA)
    return {"before": astronaut_bgr[0:202, 135:305], "after": swapped[0:202, 135:305],
            "donor": cv2.resize(hopper_bgr[2:428, 86:444], (215, 256), interpolation=cv2.INTER_AREA),
            "label": labelled_frame[0:64, 0:200], "swapped": swapped}


def _aigc(produce_id: str) -> dict[str, str]:
    return {"Label": "1", "ContentProducer": "001191110000MA0000000X10002", "ProduceID": produce_id,
            "ReservedCode1": "ED25519:" + "Qk" * 43, "ContentPropagator": "", "PropagateID": "",
            "ReservedCode2": ""}


def _report(astronaut_bgr, hopper_bgr, crops, *, passed: bool) -> PublishReport:
    """Two shots (sh020 blocked when not ``passed``), the checks that judged them, the deliverable."""
    before = face_crop(astronaut_bgr, ASTRONAUT_FACE, QUOTED_CAPTION)
    after = face_crop(crops["swapped"], ASTRONAUT_FACE, "render v003, frame 1001")
    donor = face_crop(hopper_bgr, HOPPER_FACE, "grace_hopper.jpg")
    label_crop = picture(crops["label"], "frame 1, top-left corner")
    proven = LabelEvidence(
        path="/shows/abc/sh010/render/sh010_v003.mov", proven=True, metadata=_aigc("fr-0001"),
        readers=("ffprobe", "mp4 udta/meta"), visible_text="AI生成", visible_crop=label_crop,
        findings=(Finding("aigc.signature_valid", "info", "ReservedCode1 is signed by the studio key"),))
    missing = LabelEvidence(
        path="/shows/abc/sh020/render/sh020_v001.mov", proven=False,
        findings=(Finding("aigc.absent", "error", "no AIGC metadata in the container"),))
    shots = (
        ShotSection("sh010", True, before, after, donor, license_id="LIC-2026-0042", release_id="REL-0007",
                    license_terms={"Licensor": "Grace Hopper Estate", "Productions": "ABC season 1",
                                   "Term": "2026-01-01 to 2027-12-31"},
                    release_terms={"Performer": "Stand-in 04", "Consent": "signed 2026-03-02"},
                    output="/shows/abc/sh010/render/sh010_v003.mov", label=proven),
        ShotSection(INJECTED_ID, passed, before, None if not passed else after, donor,
                    license_id="LIC-2026-0043", license_terms={"Licensor": INJECTED_TERM},
                    output=None if not passed else "/shows/abc/sh020/render/sh020_v001.mov",
                    label=missing if not passed else proven),
    )
    verdicts = [
        CheckVerdict("ValidateLicense", "Likeness license covers this use", "sh010", True,
                     (Finding("license.signature_ok", "info", "signed by Studio Issuer 2026"),)),
        CheckVerdict("ValidateLabel", "Output carries the AIGC label", "sh010", True),
    ]
    blocking: tuple[str, ...] = ()
    if not passed:
        verdicts += [
            CheckVerdict("ValidateLicense", "Likeness license covers this use", INJECTED_ID, False,
                         (Finding("license.expired", "error", "license LIC-2026-0043 expired on 2026-11-30",
                                  {"expires": "2026-11-30"}),
                          Finding("license.revocation_pending", "warning", "the revocation list is 20 h old")),
                         repair="Ask the licensor for a renewed license and attach it to the shot."),
            CheckVerdict("ValidateRelease", "Plate performer's release is on file", INJECTED_ID, False,
                         (Finding("release.plate_face_missing", "error", "no plate release is attached"),),
                         repair="Attach the performer's signed release to the shot."),
            CheckVerdict("ValidateDeliverableLabel", "Deliverable carries the visible AI label", "abc_reel1",
                         False, error="KeyError: 'frames'"),
        ]
        blocking = (f"{INJECTED_ID}: license.expired: license LIC-2026-0043 expired on 2026-11-30",
                    f"{INJECTED_ID}: release.plate_face_missing: no plate release is attached",
                    "ValidateDeliverableLabel crashed: KeyError: 'frames'")
    return PublishReport(
        publish_id="pub-20261203-0007", timeline="abc_reel1.otio", user="mlee",
        started=datetime(2026, 12, 3, 7, 42, 33, tzinfo=timezone.utc), passed=passed,
        verdicts=tuple(verdicts), shots=shots,
        deliverable=replace(proven, path="/shows/abc/deliver/abc_reel1.mov", findings=()),
        blocking=blocking, ledger="sequence 12, hash 9f2c1e77" if passed else None, seconds=12.4)


@pytest.fixture(scope="module")
def blocked(astronaut_bgr, hopper_bgr, crops) -> PublishReport:
    return _report(astronaut_bgr, hopper_bgr, crops, passed=False)


@pytest.fixture(scope="module")
def passed(astronaut_bgr, hopper_bgr, crops) -> PublishReport:
    return _report(astronaut_bgr, hopper_bgr, crops, passed=True)


class Page(HTMLParser):
    """The page as a browser's parser reads it: elements with their attributes, the visible text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in_style = False
        self.style = ""
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False if tag == "style" else self._in_style

    def handle_data(self, data):
        if self._in_style:
            self.style += data
        else:
            self.text.append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


# -- the page's content -----------------------------------------------------------------------------

def test_a_blocked_page_shows_every_verdict_finding_and_repair(blocked):
    page = Page(render_html(blocked))
    words = page.words
    assert "BLOCKED" in words and "PASSED" in words           # the banner, and the shot that passed
    assert [h for h in page.tags("header") if "blocked" in (h.get("class") or "")]
    for line in blocked.blocking:
        assert line in words
    for verdict in blocked.verdicts:
        assert verdict.title in words and verdict.plugin in words
        for finding in verdict.findings:
            assert f"{finding.severity} {finding.code} {finding.message}" in words
        if verdict.repair:
            assert verdict.repair in words
    assert "expires: 2026-11-30" in words
    assert words.count("FAIL") >= 2 and "ERROR" in words
    assert "The check itself failed , so it counts as failed: KeyError: 'frames'" in words
    assert "abc_reel1.otio" in words and "mlee" in words and "pub-20261203-0007" in words
    assert "2026-12-03 07:42:33 UTC" in words and "12.4 s" in words
    assert "5 checks, 3 failed" in words and "2 shots, 1 blocked" in words


def test_each_shot_card_shows_its_terms_output_and_label_evidence(blocked):
    words = Page(render_html(blocked)).words
    assert "Likeness license LIC-2026-0042 Licensor Grace Hopper Estate Productions ABC season 1" in words
    assert "Plate release REL-0007 Performer Stand-in 04 Consent signed 2026-03-02" in words
    assert "Plate release none given" in words                       # sh020 has no release
    assert "Output /shows/abc/sh010/render/sh010_v003.mov" in words
    assert "No output was written" in words
    assert "Label 1 (AI-generated) ContentProducer 001191110000MA0000000X10002 ProduceID fr-0001" in words
    assert "ContentPropagator (empty)" in words
    assert "Found by ffprobe mp4 udta/meta" in words
    assert "OCR read AI生成" in words
    assert "NOT PROVEN" in words and "no reader found it" in words
    assert "error aigc.absent no AIGC metadata in the container" in words
    assert "2 checks failed: Likeness license covers this use , Plate performer's release is on file" in words
    assert "Ledger nothing recorded: the publish was blocked" in words


def test_the_ledger_line_of_a_passed_publish_is_shown(passed):
    page = Page(render_html(passed))
    assert "Ledger sequence 12, hash 9f2c1e77" in page.words
    assert not [s for s in page.tags("section") if s.get("id") == "blocking"]
    assert [h for h in page.tags("header") if "passed" in (h.get("class") or "")]


def test_an_empty_publish_still_renders():
    page = Page(render_html(PublishReport("p1", "t.otio", "u", datetime(2026, 1, 2, 3, 4, 5), False)))
    assert "No check ran." in page.words
    assert "No blocking reason was recorded" in page.words
    assert "2026-01-02 03:04:05" in page.words and "Duration —" in page.words


def test_injected_markup_and_quotes_come_out_as_text(blocked):
    text = render_html(blocked)
    page = Page(text)
    assert "<script" not in text.lower()
    assert not page.tags("script")
    assert INJECTED_ID in page.words                                  # shot id, verdict, blocking line
    assert INJECTED_TERM in page.words                                # a license term
    alts = [img.get("alt") for img in page.tags("img")]
    assert QUOTED_CAPTION in alts                                      # the quote did not end the attribute
    assert all(set(img) == {"src", "width", "height", "alt"} for img in page.tags("img"))
    assert "evil.example" not in " ".join(str(v) for _, attrs in page.elements for v in attrs.values())


def test_the_page_loads_nothing_from_outside(blocked):
    page = Page(render_html(blocked))
    for tag, attrs in page.elements:
        for name in ("src", "href"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("data:image/png;base64,", "#")), f"<{tag} {name}={value[:60]}>"
    assert not page.tags("link") and not page.tags("iframe") and not page.tags("object")
    assert "http://" not in page.style and "https://" not in page.style
    assert "url(data:font/otf;base64," in page.style                  # the CJK label font is inlined
    csp = [m for m in page.tags("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in (csp[0].get("content") or "")


def test_the_pictures_decode_back_to_the_crops(blocked, crops):
    images = [_decode(base64.b64decode(img["src"].split(",", 1)[1])) for img in Page(render_html(blocked)).tags("img")]
    # sh010: before, after, donor; its label crop; sh020: before, donor; the deliverable's label crop
    assert [i.shape[:2] for i in images] == [(202, 170), (202, 170), (256, 215), (64, 200),
                                             (202, 170), (256, 215), (64, 200)]
    assert np.array_equal(images[0], crops["before"])
    assert np.array_equal(images[1], crops["after"])
    assert np.abs(images[2].astype(int) - crops["donor"].astype(int)).mean() < 2
    assert np.array_equal(images[3], crops["label"])


def test_the_page_is_utf8_with_the_chinese_label(blocked, tmp_path):
    path = write_report(blocked, tmp_path / "report.html")
    raw = path.read_bytes()
    assert raw.startswith(b"<!DOCTYPE html>")
    assert raw.index(b'<meta charset="utf-8">') < 200
    assert "AI生成".encode("utf-8") in raw
    assert raw.decode("utf-8") == render_html(blocked)


# -- writing --------------------------------------------------------------------------------------

def test_a_new_report_replaces_the_previous_one_and_leaves_no_partial(blocked, passed, tmp_path):
    path = tmp_path / "reports" / "publish.html"
    assert write_report(blocked, path) == path
    write_report(passed, path)
    assert path.read_text(encoding="utf-8") == render_html(passed)
    assert sorted(p.name for p in path.parent.iterdir()) == ["publish.html"]


#: writes a report with files limited to 64 KiB, so the write fails as on a full disk
FAILING_WRITE = textwrap.dedent('''
    import pickle, resource, signal, sys
    from pathlib import Path
    from faceright.errors import OutputError
    from faceright.report.html import write_report

    report = pickle.loads(sys.stdin.buffer.read())
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    try:
        write_report(report, Path(sys.argv[1]))
    except OutputError as exc:
        print(exc)
        sys.exit(0)
    sys.exit("the write did not fail")
''')


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_failed_write_leaves_the_previous_report_intact(blocked, passed, tmp_path):
    path = tmp_path / "publish.html"
    path.write_text("<p>the previous report</p>", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", FAILING_WRITE, str(path)], input=pickle.dumps(passed),
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert f"cannot write {path}" in done.stdout.decode()
    assert path.read_text(encoding="utf-8") == "<p>the previous report</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["publish.html"]


def test_a_report_into_a_file_where_a_folder_should_be_is_refused(blocked, tmp_path):
    (tmp_path / "reports").write_text("not a folder")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        write_report(blocked, tmp_path / "reports" / "publish.html")


# -- in a real browser ------------------------------------------------------------------------------

def _banner_colour(shot: np.ndarray) -> np.ndarray:
    """The median BGR of the banner's top padding (rows 2..10, all across: no text there)."""
    return np.median(shot[2:10].reshape(-1, 3), axis=0)


def _find(shot: np.ndarray, png: bytes) -> tuple[float, tuple[int, int]]:
    """Where the picture ``png`` was drawn in ``shot``, and how well it matches there (1: exactly)."""
    template = _decode(png)
    scores = cv2.matchTemplate(shot, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (x, y) = cv2.minMaxLoc(scores)
    return best, (x, y)


def test_chromium_draws_a_blocked_report_red_with_its_pictures(blocked, tmp_path):
    page = write_report(blocked, tmp_path / "blocked.html")
    shot = cv2.imread(str(screenshot(page, tmp_path / "blocked.png", width=1280, height=1800)), cv2.IMREAD_COLOR)
    assert shot.shape == (1800, 1280, 3)
    b, g, r = _banner_colour(shot)
    assert r > 150 and g < 80 and b < 80, f"the banner is not red: BGR {(b, g, r)}"
    first = blocked.shots[0].before
    score, (x, y) = _find(shot, first.png)
    assert score > 0.95, f"the first thumbnail is not on the page (best match {score:.2f})"
    h, w = _decode(first.png).shape[:2]
    region = shot[y:y + h, x:x + w]
    assert region.std() > 20                                          # a face, not a flat box
    assert y > 200 and x < 640                                        # in the first card, under the checks
    # the DOM Chromium built: the 7 pictures, and the injected script stayed text
    dom = Page(dump_dom(page))
    assert len(dom.tags("img")) == 7
    assert not dom.tags("script")
    assert INJECTED_ID in dom.words


def test_chromium_draws_a_passed_report_green(passed, tmp_path):
    page = write_report(passed, tmp_path / "passed.html")
    shot = cv2.imread(str(screenshot(page, tmp_path / "passed.png")), cv2.IMREAD_COLOR)
    b, g, r = _banner_colour(shot)
    assert g > 100 and r < 60 and b < 100, f"the banner is not green: BGR {(b, g, r)}"
    score, _ = _find(shot, passed.shots[1].after.png)
    assert score > 0.95, f"the second shot's result thumbnail is not on the page (best match {score:.2f})"
