"""The checks a swap runs first, on their own: for the publish gates, nothing is swapped or written.

:func:`check_shot` reads the donor face and the plate face the swap would replace, verifies
the likeness license and the plate release against them exactly as :func:`.swap.swap_shot`
does (the same functions), and says whether every model the swap would use is in the
catalog with its registered sha256. It also returns crops of those faces, for the report.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from faceright.config import Config
from faceright.engine_client import FaceCrop, ShotCheck
from faceright.errors import FaceRightError
from faceright.findings import Finding
from faceright.licenses.coverage import DocumentCache, check_coverage, open_verifier, reference_model
from faceright.licenses.identity import FaceEvidence
from faceright.shot import FaceShot

from ..media import check_output_path, open_source
from ..runtime import Runtime
from .swap import Prepared, first_selected, prepare_donor, recogniser_for, request_of

log = logging.getLogger(__name__)

#: a crop for a report: the face box grown by this share of its size on each side
CROP_MARGIN = 0.35


class CheckCache:
    """What checking many shots shares, kept for an engine's life: the analyser, each donor image's
    face and identity (by the file's content hash), each plate's first selected faces (by the file's
    version and range), each signed document (by its file's version), the verifier and its keyring."""

    def __init__(self) -> None:
        self.analysers: dict[tuple[Any, Any], Any] = {}
        self.donors: dict[tuple[Any, ...], Prepared] = {}
        self.donor_crops: dict[tuple[Any, ...], FaceCrop] = {}
        self.plates: dict[tuple[Any, ...], list[tuple[int, Any, Any]]] = {}
        self.evidence: dict[tuple[Any, ...], FaceEvidence] = {}
        self.models: dict[tuple[Any, ...], list[Finding]] = {}
        self.documents = DocumentCache()
        self._verifier: Any = None
        self._stack = contextlib.ExitStack()

    def verifier(self, config: Config) -> Any:
        if self._verifier is None:
            self._verifier = self._stack.enter_context(open_verifier(config))
        return self._verifier

    def close(self) -> None:
        self._stack.close()
        self._verifier = None


def file_version(path: Path | None) -> tuple[Any, ...] | None:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return (str(path),)   # reading it fails later, with the reader's own message
    return (str(path.absolute()), stat.st_size, stat.st_mtime_ns)


def check_shot(shot: FaceShot, runtime: Runtime, config: Config, cache: CheckCache | None = None) -> ShotCheck:
    """License, release and model findings for ``shot``, with its donor and plate face crops."""
    cache = cache if cache is not None else CheckCache()
    media = shot.media(config.paths)
    request = request_of(shot, media, config)
    sources = [p for p in (request.plate, request.donor, request.target) if p is not None]
    if request.output.parent.is_dir():   # a publish makes the output folder when it extracts
        check_output_path(request.output, sources=sources, overwrite=request.overwrite)
    key = (request.detector, request.recogniser)
    if key not in cache.analysers:
        cache.analysers[key] = runtime.analyser(*key)
    analyser = cache.analysers[key]
    reference = shot.plate_face.embedding.vector if shot.plate_face.embedding else None
    donor_key = (file_version(media.donor), request.donor_largest, key, request.rule, request.threshold,
                 file_version(media.plate_face), reference)
    if donor_key not in cache.donors:
        cache.donors[donor_key] = prepare_donor(request, analyser)
    prepared = cache.donors[donor_key]
    plate_key = (file_version(media.plate), shot.plate.frames, shot.plate.rate, donor_key)
    if plate_key not in cache.plates:
        cache.plates[plate_key] = [(index, face, crop(frame, face.box))
                                   for index, frame, face in first_selected(media.plate, shot, prepared,
                                                                keyframe_interval=runtime.settings.keyframe_interval)]
    selected = cache.plates[plate_key]
    load = cache.documents
    wanted_license, wanted_release = reference_model(media.license, load), reference_model(media.release, load)

    def evidence(cache_key: tuple[Any, ...], wanted: str | None, image: Any, face: Any, source: str) -> FaceEvidence:
        full = (cache_key, wanted)
        if full not in cache.evidence:
            recogniser = recogniser_for(runtime, wanted) or analyser.recogniser
            if recogniser.model_id == analyser.recogniser.model_id and face.embedding is not None:
                vector = face.embedding
            else:
                vector = recogniser.embed(image, [face])[0]
            cache.evidence[full] = FaceEvidence(vector, recogniser.model_id, source)
        return cache.evidence[full]

    donor_evidence = evidence(("donor", donor_key), wanted_license, prepared.donor_image, prepared.donor_face,
                              str(media.donor))
    plate_evidence = [evidence(("plate", plate_key, n), wanted_release, image, face,
                               f"{media.plate} frame {index}")
                      for n, (index, face, image) in enumerate(_plate_images(media.plate, shot, selected, wanted_release,
                                                                             analyser))]
    coverage = check_coverage(shot, cache.verifier(config), license_path=media.license, release_path=media.release,
                              donor=donor_evidence, plate=plate_evidence, load=load)
    if donor_key not in cache.donor_crops:   # one crop per donor, however many shots use it
        cache.donor_crops[donor_key] = FaceCrop(str(media.donor), None, _box(prepared.donor_face.box),
                                                crop(prepared.donor_image, prepared.donor_face.box))
    donor = cache.donor_crops[donor_key]
    plate = tuple(FaceCrop(f"{media.plate} frame {index}", index, _box(face.box), image)
                  for index, face, image in selected)
    model_key = (key, request.swapper)
    if model_key not in cache.models:
        cache.models[model_key] = model_findings(runtime, analyser, request.swapper)
    return ShotCheck(shot, coverage, tuple(cache.models[model_key]), donor, plate)


def _plate_images(plate: Path, shot: FaceShot, selected: list[tuple[int, Any, Any]], wanted: str | None,
                  analyser: Any) -> list[tuple[int, Any, Any]]:
    """``selected`` with the whole frame each face is on when another recogniser must embed it
    (the cache keeps only crops); the crop suffices when the analyser's embedding is the one wanted."""
    if wanted is None or wanted == analyser.recogniser.model_id:
        return selected
    frames = {}
    with open_source(plate, shot.plate.frames, rate=shot.plate.rate) as source:
        for index, frame in source:
            if index in {i for i, _, _ in selected}:
                frames[index] = frame
                break
    return [(index, face, frames.get(index, image)) for index, face, image in selected]


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
