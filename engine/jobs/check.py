"""The checks a swap runs first, on their own: for the publish gates, nothing is swapped or written.

:func:`check_shot` reads the donor face and the plate face the swap would replace, verifies
the likeness license and the plate release against them exactly as :func:`.swap.swap_shot`
does (the same functions), and says whether every model the swap would use is in the
catalog with its registered sha256. It also returns crops of those faces, for the report.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from faceright.config import Config
from faceright.engine_client import FaceCrop, ShotCheck
from faceright.errors import FaceRightError
from faceright.findings import Finding
from faceright.shot import FaceShot

from ..runtime import Runtime
from .swap import coverage_of, first_selected, prepare, request_of

log = logging.getLogger(__name__)

#: a crop for a report: the face box grown by this share of its size on each side
CROP_MARGIN = 0.35


def check_shot(shot: FaceShot, runtime: Runtime, config: Config) -> ShotCheck:
    """License, release and model findings for ``shot``, with its donor and plate face crops."""
    media = shot.media(config.paths)
    request = request_of(shot, media, config)
    prepared = prepare(request, runtime, output_folder_made=False)
    selected = first_selected(media.plate, shot, prepared)
    coverage = coverage_of(shot, media, prepared, runtime, config, selected)
    donor = FaceCrop(str(media.donor), None, _box(prepared.donor_face.box),
                     crop(prepared.donor_image, prepared.donor_face.box))
    plate = tuple(FaceCrop(f"{media.plate} frame {index}", index, _box(face.box), crop(frame, face.box))
                  for index, frame, face in selected)
    return ShotCheck(shot, coverage, tuple(model_findings(runtime, prepared.analyser, request.swapper)), donor, plate)


def model_findings(runtime: Runtime, analyser: Any, swapper_name: str | None) -> list[Finding]:
    """One finding per model the shot uses: catalogued with a matching sha256 (info), or not (error)."""
    try:
        swapper = runtime.swapper(swapper_name)
    except FaceRightError as exc:
        return [Finding("models.swapper_unavailable", "error", f"the swap backend cannot be loaded: {exc}")]
    found: list[Finding] = []
    for kind, backend in (("detector", getattr(analyser, "detector", None)),
                          ("recogniser", getattr(analyser, "recogniser", None)), ("swapper", swapper)):
        if backend is None:
            continue
        model_id = getattr(backend, "model_id", None)
        model = runtime.loaded_models.get(model_id) if model_id else None
        if model is None:
            found.append(Finding("models.weight_free", "info",
                                 f"the {kind} ({type(backend).__name__}) uses no model file", {"kind": kind}))
            continue
        detail = {"kind": kind, "name": model.name, "path": str(model.path), "sha256": model.sha256,
                  "expected_sha256": model.expected_sha256}
        if model.status == "verified":
            found.append(Finding("models.catalogued", "info",
                                 f"the {kind} {model.name!r} is catalogued and its sha256 {model.short_sha} matches",
                                 detail))
        elif model.status == "mismatch":
            found.append(Finding("models.hash_mismatch", "error",
                                 f"the {kind} {model.name!r} ({model.path}) has sha256 {model.sha256}, not the "
                                 f"catalogued {model.expected_sha256}: the file was changed or replaced; restore it "
                                 "or register the new file with `faceright models add`", detail))
        else:
            found.append(Finding("models.not_catalogued", "error",
                                 f"the {kind} {model.name!r} ({model.path}) is not registered with its sha256, so "
                                 f"what it is cannot be proven: `faceright models add {model.path}`", detail))
    return found


def crop(image: np.ndarray, box: Any, margin: float = CROP_MARGIN) -> np.ndarray:
    """The region around ``box`` (grown by ``margin`` of its size), clipped to the image, as BGR uint8."""
    from faceright.images import to_uint8

    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    height, width = image.shape[:2]
    left, top = max(0, int(x1 - margin * w)), max(0, int(y1 - margin * h))
    right, bottom = min(width, int(np.ceil(x2 + margin * w))), min(height, int(np.ceil(y2 + margin * h)))
    region = image[top:bottom, left:right]
    return np.ascontiguousarray(to_uint8(region) if region.dtype != np.uint8 else region)


def _box(box: Any) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return (x1, y1, x2, y2)
