"""The engine's OCR backend: reading text from pixels, so a visible label is proven whoever rendered it.

It implements the core's :class:`faceright.labels.ocr.OcrBackend` seam and is found by the
core through the ``faceright.ocr`` entry point, so the core never imports the engine.

The backend runs PaddleOCR's PP-OCRv4 Chinese/English detection (DB) and recognition (CTC)
networks with onnxruntime. The ONNX files come from the ``rapidocr-onnxruntime`` wheel, used
only as a carrier of those files: it is installed with ``--no-deps`` (its declared
dependencies are the GUI ``opencv-python`` and CPU ``onnxruntime``, which would clash with
faceright's headless OpenCV and with ``onnxruntime-gpu``), and is never imported. Pre- and
post-processing are done here with numpy and headless OpenCV, so no pyclipper/shapely either.
The files are checked by sha256 before use; a configured folder (``[labels] ocr_models``) can
hold the same two files instead.
"""
from __future__ import annotations

import importlib.util
import logging
import math
from pathlib import Path

import cv2
import numpy as np

from faceright.compat import file_digest
from faceright.errors import DependencyMissingError, ModelError
from faceright.labels.ocr import OcrBackend, TextBox  # noqa: F401  (the seam this module implements)

from .runtime import import_onnxruntime

log = logging.getLogger(__name__)

CARRIER_PACKAGE = "rapidocr_onnxruntime"
CARRIER_INSTALL = "pip install --no-deps rapidocr-onnxruntime==1.4.4"
DET_MODEL = "ch_PP-OCRv4_det_infer.onnx"
REC_MODEL = "ch_PP-OCRv4_rec_infer.onnx"
#: sha256 of the files as shipped in rapidocr-onnxruntime 1.4.4
MODEL_SHA256 = {
    DET_MODEL: "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
    REC_MODEL: "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
}

_DET_SHORT_SIDE = 512      # det input: the shorter side is scaled to this (label text >= 5 % is >= 25 px)
_DET_THRESH = 0.3          # probability threshold of the DB map
_DET_BOX_THRESH = 0.5      # mean probability a candidate box needs
_DET_UNCLIP = 1.6          # DB's expansion of the shrunk text kernel
_REC_HEIGHT = 48
_REC_MIN_SCORE = 0.5
_STRONG_EDGE = 0.5         # a strong edge: gradient >= this share of the crop's 99th percentile
_INK_ROW_SHARE = 0.2       # a glyph row holds >= this share of the strong pixels of the fullest row
_MEASURE_HEIGHT = 48       # text-line crops taller than this are measured scaled down to it


def _carrier_models_dir() -> Path | None:
    spec = importlib.util.find_spec(CARRIER_PACKAGE)   # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def find_models(models_dir: Path | None = None) -> tuple[Path, Path]:
    """The det and rec ONNX files, checked by sha256; a clear error when they are missing."""
    folder = models_dir if models_dir is not None else _carrier_models_dir()
    if folder is None:
        raise DependencyMissingError(
            f"no OCR models: the visible label is read by PP-OCRv4, whose ONNX files ship in the "
            f"rapidocr-onnxruntime wheel; install it without its dependencies: `{CARRIER_INSTALL}` "
            f"(or set [labels] ocr_models to a folder holding {DET_MODEL} and {REC_MODEL})"
        )
    paths = []
    for name in (DET_MODEL, REC_MODEL):
        path = folder / name
        if not path.is_file():
            raise DependencyMissingError(f"OCR model {path} is missing (expected {DET_MODEL} and {REC_MODEL} in {folder})")
        with path.open("rb") as fh:
            found = file_digest(fh, "sha256").hexdigest()
        if found != MODEL_SHA256[name]:
            raise ModelError(f"OCR model {path} has sha256 {found}, expected {MODEL_SHA256[name]} (PP-OCRv4 from rapidocr-onnxruntime 1.4.4)")
        paths.append(path)
    return paths[0], paths[1]


class PaddleOcr:
    """PP-OCRv4 det + rec on onnxruntime; one session per model, owned by this object."""

    name = "pp-ocrv4-onnxruntime"

    def __init__(self, det_path: Path, rec_path: Path, *, providers: tuple[str, ...] = ("CPUExecutionProvider",),
                 threads: int = 0) -> None:
        ort = import_onnxruntime()   # the engine's one way in: refuses a missing or doubled onnxruntime
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        available = set(ort.get_available_providers())
        chosen = [p for p in providers if p in available] or ["CPUExecutionProvider"]
        self._det = ort.InferenceSession(str(det_path), sess_options=options, providers=chosen)
        self._rec = ort.InferenceSession(str(rec_path), sess_options=options, providers=chosen)
        characters = self._rec.get_modelmeta().custom_metadata_map.get("character")
        if not characters:
            raise ModelError(f"{rec_path} carries no 'character' list in its metadata; it is not a PP-OCR rec model")
        # CTC classes: 0 = blank, then the dictionary, then a space
        self._characters = ["<blank>"] + characters.splitlines() + [" "]

    @classmethod
    def from_settings(cls, models_dir: Path | None = None) -> "PaddleOcr":
        det, rec = find_models(models_dir)
        return cls(det, rec)

    # -- detection ----------------------------------------------------------------------
    def _detect(self, frame: np.ndarray, ratio: float) -> list[tuple[int, int, int, int]]:
        h, w = frame.shape[:2]
        rh = max(32, int(round(h * ratio / 32)) * 32)
        rw = max(32, int(round(w * ratio / 32)) * 32)
        image = cv2.resize(frame, (rw, rh)).astype(np.float32)
        image = (image / 255.0 - 0.5) / 0.5          # PP-OCR det takes BGR in [-1, 1]
        tensor = image.transpose(2, 0, 1)[None].astype(np.float32)
        prob = self._det.run(None, {self._det.get_inputs()[0].name: tensor})[0][0, 0]
        mask = (prob > _DET_THRESH).astype(np.uint8)
        mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        sx, sy = w / rw, h / rh
        boxes = []
        for contour in contours:
            x, y, cw, ch = cv2.boundingRect(contour)
            if min(cw, ch) < 3:
                continue
            region = prob[y:y + ch, x:x + cw]
            inside = mask[y:y + ch, x:x + cw].astype(bool)
            if float(region[inside].mean()) < _DET_BOX_THRESH:
                continue
            area = cv2.contourArea(contour)
            perimeter = cv2.arcLength(contour, True)
            grow = area * _DET_UNCLIP / perimeter if perimeter else 0.0   # DB's unclip distance
            x1 = max(0, int(math.floor((x - grow) * sx)))
            y1 = max(0, int(math.floor((y - grow) * sy)))
            x2 = min(w, int(math.ceil((x + cw + grow) * sx)))
            y2 = min(h, int(math.ceil((y + ch + grow) * sy)))
            if x2 - x1 >= 4 and y2 - y1 >= 4:
                boxes.append((x1, y1, x2, y2))
        return boxes

    # -- recognition --------------------------------------------------------------------
    def _recognise(self, crop: np.ndarray) -> tuple[str, float]:
        h, w = crop.shape[:2]
        width = max(_REC_HEIGHT, int(math.ceil(_REC_HEIGHT * w / h)))
        image = cv2.resize(crop, (width, _REC_HEIGHT)).astype(np.float32)
        image = (image / 255.0 - 0.5) / 0.5          # rec takes BGR in [-1, 1], as PaddleOCR feeds it
        padded_width = max(320, width)
        tensor = np.zeros((1, 3, _REC_HEIGHT, padded_width), np.float32)
        tensor[0, :, :, :width] = image.transpose(2, 0, 1)
        probs = self._rec.run(None, {self._rec.get_inputs()[0].name: tensor})[0][0]
        index = probs.argmax(axis=1)
        best = probs.max(axis=1)
        keep = np.ones_like(index, dtype=bool)
        keep[1:] = index[1:] != index[:-1]
        keep &= index != 0
        text = "".join(self._characters[i] for i in index[keep] if i < len(self._characters))
        score = float(best[keep].mean()) if keep.any() else 0.0
        return text, score

    def read(self, frame: np.ndarray) -> list[TextBox]:
        _check_frame(frame)
        return self._read(frame, _DET_SHORT_SIDE / min(frame.shape[:2]), 0, 0)

    def read_region(self, frame: np.ndarray, box: tuple[int, int, int, int]) -> list[TextBox]:
        _check_frame(frame)
        height, width = frame.shape[:2]
        x1, y1, x2, y2 = box
        pad = (y2 - y1) + 16                  # room around the line, so the detector sees its edges
        cx1, cy1 = max(0, x1 - pad), max(0, y1 - pad)
        cx2, cy2 = min(width, x2 + pad), min(height, y2 + pad)
        return self._read(frame[cy1:cy2, cx1:cx2], _DET_SHORT_SIDE / min(height, width), cx1, cy1)

    def _read(self, image: np.ndarray, ratio: float, dx: int, dy: int) -> list[TextBox]:
        found = []
        for x1, y1, x2, y2 in self._detect(image, ratio):
            crop = image[y1:y2, x1:x2]
            text, score = self._recognise(crop)
            text = text.strip()
            if not text or score < _REC_MIN_SCORE:
                continue
            found.append(TextBox(text, score, (x1 + dx, y1 + dy, x2 + dx, y2 + dy), glyph_height(crop)))
        found.sort(key=lambda b: (b.box[1], b.box[0]))
        return found


def _check_frame(frame: np.ndarray) -> None:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an H×W×3 uint8 BGR frame, got {frame.shape} {frame.dtype}")


def glyph_height(crop: np.ndarray) -> int:
    """Height of the text's glyphs in a text-line crop, measured from its pixels.

    Glyph outlines are the strongest edges in a text line (text is drawn to contrast with
    its plate; an outline or a box only sharpens them): pixels whose gradient is at least
    half the crop's 99th percentile are "strong", and the glyph rows are the run of rows,
    around the row with most strong pixels, that hold at least a fifth as many. Looking at
    edges rather than at one brightness works for light, dark, outlined and boxed text.
    Measured against the rendered ink of known labels it reads within about ±15 %; on a
    busy plate small text can read larger.
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
    if gray.shape[0] < 3 or gray.shape[1] < 3:
        return int(gray.shape[0])
    # measure at a fixed scale: thick strokes of large text would otherwise leave edge-free rows
    scale = min(1.0, _MEASURE_HEIGHT / gray.shape[0])
    if scale < 1.0:
        gray = cv2.resize(gray, (max(3, round(gray.shape[1] * scale)), _MEASURE_HEIGHT), interpolation=cv2.INTER_AREA)
    magnitude = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3))
    level = float(np.percentile(magnitude, 99))
    if level <= 0.0:
        return 0
    counts = (magnitude >= _STRONG_EDGE * level).sum(axis=1)
    peak = int(counts.argmax())
    inked = counts >= _INK_ROW_SHARE * counts[peak]
    top, bottom = _last_inked(inked, peak, -1), _last_inked(inked, peak, 1)
    return int(round((bottom - top + 1) / scale))


def _last_inked(inked: np.ndarray, start: int, step: int) -> int:
    """The last inked row from ``start`` going ``step``; one blank row may fall between strokes, two end the text."""
    row, last, gap = start, start, 0
    while 0 <= row + step < len(inked):
        row += step
        if inked[row]:
            last, gap = row, 0
        else:
            gap += 1
            if gap > 1:
                break
    return last


def paddle_backend(models_dir: Path | None = None) -> PaddleOcr:
    """The engine's OCR backend (entry point ``faceright.ocr: paddle``)."""
    return PaddleOcr.from_settings(models_dir)
