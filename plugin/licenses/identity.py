"""Is the face actually used the face the document covers?

A license's likeness reference (and a plate release's face reference) holds an identity
vector, the id of the recogniser model that made it and a cosine threshold. The donor face
of a shot (or the plate face, for a release) is embedded by the same kind of model and
compared: a different model id is a finding, never a silent pass (vectors of two models do
not compare), and a similarity under the threshold is ``identity mismatch``.

The recogniser is injected as a :class:`FaceEmbedder`; this module never builds the engine.
"""
from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from faceright import errors
from faceright.findings import Finding

if TYPE_CHECKING:   # numpy is imported where a vector is computed: a command that checks no face never loads it
    from faceright.vectors import Embedding, Frame

from .document import LikenessReference

log = logging.getLogger(__name__)

#: a reference image is a photo, not a film: refuse anything larger before decoding it
MAX_IMAGE_BYTES = 64 * 1024 * 1024


class FaceEmbedder(Protocol):
    """Finds the one face in an image and returns its identity vector.

    Raises :class:`faceright.errors.NoFaceError` when the image shows no face, and the
    engine's several-faces error (a ``FaceRightError``) when it shows more than one.
    """

    model_id: str

    def embed_one(self, image: Frame, *, what: str) -> Embedding: ...


@dataclass(frozen=True)
class FaceEvidence:
    """The face actually used in a shot: its identity vector, the model that made it, where it came from."""

    embedding: Embedding
    model_id: str
    source: str


@dataclass(frozen=True)
class ReferenceImageFile:
    name: str
    sha256: str
    image: Frame


def read_image(path: Path) -> ReferenceImageFile:
    """Decode an image file (BGR, upright per its EXIF orientation) with the one image decoder,
    and hash its bytes."""
    from faceright.images import read_image as decode

    image = decode(path, max_bytes=MAX_IMAGE_BYTES)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return ReferenceImageFile(path.name, digest.hexdigest(), image)


def evidence_from_image(
    image: Frame, embedder: FaceEmbedder, *, source: str, what: str = "donor"
) -> FaceEvidence | Finding:
    """The face evidence of ``image``, or a blocking finding when it shows no face or several."""
    try:
        embedding = embedder.embed_one(image, what=f"{what} image {source}")
    except errors.FaceRightError as exc:
        if isinstance(exc, errors.MultipleFacesError):  # a NoFaceError subclass: test it first
            return Finding(
                "license.identity_several_faces",
                "error",
                f"the {what} image {source} shows several faces, so it cannot tell whose face is used: "
                f"crop it to the one face ({exc})",
                {"source": source},
            )
        if isinstance(exc, errors.NoFaceError):
            return Finding(
                "license.identity_no_face",
                "error",
                f"no face was found in the {what} image {source}, so the identity cannot be checked ({exc})",
                {"source": source},
            )
        raise
    import numpy as np

    return FaceEvidence(np.asarray(embedding, dtype=np.float32).ravel(), embedder.model_id, source)


def check_identity(
    reference: LikenessReference,
    evidence: FaceEvidence,
    *,
    kind: str = "likeness license",
    min_threshold: float = 0.0,
) -> list[Finding]:
    """Compare the face used with the document's reference; one finding either way."""
    if evidence.model_id != reference.model_id:
        return [
            Finding(
                "license.identity_model_mismatch",
                "error",
                f"the {kind}'s face reference was made by model {reference.model_id!r} but this machine "
                f"recognises faces with {evidence.model_id!r}; their vectors do not compare, so the identity "
                "is unchecked: install that model, or have the issuer re-issue the reference",
                {"reference_model_id": reference.model_id, "model_id": evidence.model_id},
            )
        ]
    threshold = max(reference.threshold, min_threshold)
    try:
        from faceright.vectors import cosine

        similarity = cosine(reference.vector, evidence.embedding)
    except ValueError as exc:
        return [
            Finding(
                "license.identity_model_mismatch",
                "error",
                f"the {kind}'s face reference does not fit model {evidence.model_id!r}: {exc}",
                {"reference_model_id": reference.model_id, "model_id": evidence.model_id},
            )
        ]
    detail = {"similarity": round(similarity, 4), "threshold": threshold, "model_id": evidence.model_id,
              "source": evidence.source}
    if similarity < threshold:
        return [
            Finding(
                "license.identity_mismatch",
                "error",
                f"the face in {evidence.source} is not the face this {kind} covers: similarity "
                f"{similarity:.3f} is below the threshold {threshold:.3f}",
                detail,
            )
        ]
    return [
        Finding(
            "license.identity_match",
            "info",
            f"the face in {evidence.source} matches the {kind}'s reference (similarity {similarity:.3f} "
            f">= {threshold:.3f})",
            detail,
        )
    ]


def check_image(
    reference: LikenessReference,
    image: Frame,
    embedder: FaceEmbedder,
    *,
    source: str,
    kind: str = "likeness license",
    what: str = "donor",
    min_threshold: float = 0.0,
) -> list[Finding]:
    """Find the one face in ``image`` and compare it with the reference."""
    evidence = evidence_from_image(image, embedder, source=source, what=what)
    if isinstance(evidence, Finding):
        return [evidence]
    return check_identity(reference, evidence, kind=kind, min_threshold=min_threshold)


class ReferenceImagesError(errors.LicenseError):
    """Reference images cannot make a likeness reference (no face, several faces, several people)."""


def make_reference(
    images: Sequence[ReferenceImageFile], embedder: FaceEmbedder, *, threshold: float
) -> dict[str, Any]:
    """The JSON ``likeness`` (or ``face``) block for a document, from reference images of one person.

    The vector is the normalised mean of the images' vectors. Images that do not look like
    one another at ``threshold`` are refused: a reference must show one person.
    """
    if not images:
        raise ReferenceImagesError("a likeness reference needs at least one reference image")
    if not 0.0 < threshold <= 1.0:
        raise ReferenceImagesError(f"threshold must be in (0, 1], got {threshold}")
    import numpy as np

    from faceright.vectors import cosine

    vectors = []
    for item in images:
        try:
            vec = np.asarray(embedder.embed_one(item.image, what=f"reference image {item.name}"), dtype=np.float32)
        except errors.FaceRightError as exc:
            raise ReferenceImagesError(f"reference image {item.name}: {exc}") from exc
        vectors.append(vec.ravel() / max(float(np.linalg.norm(vec)), 1e-12))
    for i in range(len(vectors)):
        for j in range(i + 1, len(vectors)):
            sim = cosine(vectors[i], vectors[j])
            if sim < threshold:
                raise ReferenceImagesError(
                    f"reference images {images[i].name} and {images[j].name} do not show the same person "
                    f"(similarity {sim:.3f} < {threshold}); a reference must show one person"
                )
    mean = np.mean(np.stack(vectors), axis=0)
    mean = (mean / float(np.linalg.norm(mean))).astype("<f4")
    log.info("likeness reference from %d image(s), model %s", len(images), embedder.model_id)
    return {
        "model_id": embedder.model_id,
        "dim": int(mean.shape[0]),
        "embedding": base64.b64encode(mean.tobytes()).decode("ascii"),
        "threshold": threshold,
        "images": [{"sha256": item.sha256, "name": item.name} for item in images],
    }


class AnalyserEmbedder:
    """A :class:`FaceEmbedder` over the engine's ``FaceAnalyser`` (detector + recogniser)."""

    def __init__(self, analyser: Any) -> None:
        recogniser = getattr(analyser, "recogniser", None)
        if recogniser is None:
            raise errors.ConfigError("the face analyser has no recogniser, so identities cannot be compared")
        self.analyser = analyser
        self.model_id: str = recogniser.model_id

    def embed_one(self, image: Frame, *, what: str) -> Embedding:
        face = self.analyser.one_face(image, what=what)
        if face.embedding is None:
            raise errors.ConfigError(f"the face analyser gave no identity vector for the {what}")
        return face.embedding
