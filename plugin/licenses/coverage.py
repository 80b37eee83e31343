"""Does a FaceShot's likeness license and plate release cover it? One answer for every caller.

The swap job, the CLI, the publish gates and the service all ask this with the same
:class:`~faceright.licenses.verify.Verifier`: the license is checked against the donor face
that will be put in, the release against the plate face(s) that will be replaced. Each
document must be of its kind (a license where a license belongs); a document named only by
an id needs the studio's license store, which this faceright does not have yet, so it blocks
and says to give the file.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceright.config import Config
from faceright.errors import FaceRightError
from faceright.findings import Finding, blocking
from faceright.shot import DocumentRef, FaceShot

from . import document as doc_mod
from .identity import FaceEvidence
from .revocation import RegistryClient, RevocationChecker
from .strictjson import DocumentFormatError
from .verify import Verifier


@dataclass(frozen=True)
class Coverage:
    """The findings for the license and for the release, and the ids of what covered the shot."""

    license: tuple[Finding, ...]
    release: tuple[Finding, ...]
    license_id: str | None
    release_id: str | None

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.license + self.release

    @property
    def blocks(self) -> bool:
        return bool(blocking(list(self.findings)))

    def summary(self) -> str:
        lines = [f"{f.severity} {f.code}: {f.message}" for f in blocking(list(self.findings))]
        return "; ".join(lines)


@contextmanager
def open_verifier(config: Config) -> Iterator[Verifier]:
    """A :class:`Verifier` with the TD's keyring, settings and revocation store (online when configured)."""
    settings = config.licenses
    keyring = config.keyring()
    offline = settings.revocation_mode == "offline"
    with nullcontext() if offline else _http_session() as session:   # offline work never imports requests
        client = None if offline else RegistryClient(session, settings)
        checker = RevocationChecker(keyring, settings, config.revocation_store(), client)
        yield Verifier(keyring, settings, checker)


def _http_session() -> Any:
    import requests

    return requests.Session()


Loader = Callable[..., "doc_mod.SignedDocument"]


class DocumentCache:
    """Signed documents parsed once per file version (path, size, mtime): a long timeline names
    the same few licenses thousands of times. A changed file is read again."""

    def __init__(self) -> None:
        self._documents: dict[tuple[str, int, int, int], doc_mod.SignedDocument] = {}

    def __call__(self, path: Path, *, max_bytes: int = doc_mod.strictjson.DEFAULT_MAX_BYTES) -> doc_mod.SignedDocument:
        stat = Path(path).stat()
        key = (str(Path(path).absolute()), stat.st_size, stat.st_mtime_ns, max_bytes)
        if key not in self._documents:
            self._documents[key] = doc_mod.load_signed(path, max_bytes=max_bytes)
        return self._documents[key]


def check_coverage(
    shot: FaceShot,
    verifier: Verifier,
    *,
    license_path: Path | None,
    release_path: Path | None,
    donor: FaceEvidence | Finding | None,
    plate: Sequence[FaceEvidence | Finding],
    load: Loader | None = None,
) -> Coverage:
    """Verify the shot's license against ``donor`` and its release against every face in ``plate``
    (the faces the swap will replace; none found is itself a blocking finding). ``load`` reads a
    signed document (default: from its file each time; a :class:`DocumentCache` reads it once)."""
    load = load or doc_mod.load_signed
    lic, lic_id = _one(shot.license, license_path, "likeness license", doc_mod.LikenessLicense, verifier, shot,
                       [donor], load)
    rel, rel_id = _one(shot.release, release_path, "plate release", doc_mod.PlateRelease, verifier, shot,
                       list(plate) or [_no_plate_face(shot)], load)
    return Coverage(tuple(lic), tuple(rel), lic_id, rel_id)


def _no_plate_face(shot: FaceShot) -> Finding:
    """The selection picked no face on the plate: refused, unless the shot lets the plate pass through."""
    rule = shot.plate_face.rule
    which = {"reference": "matches the reference image (plate_face.image, --target)",
             "largest": "was found", "all": "was found"}[rule]
    if shot.plate_face.when_none == "pass_through":
        return Finding("release.plate_face_missing", "warning",
                       f"no face on the plate {which}: nothing is swapped and the plate passes through unchanged "
                       "(plate_face.when_none = pass_through, --allow-no-faces)", {"rule": rule})
    return Finding("release.plate_face_missing", "error",
                   f"no face on the plate {which} within the frame range, so there is nothing to swap and the plate "
                   "release cannot be checked: check --target/--select/--threshold and --frames, or pass "
                   "--allow-no-faces (plate_face.when_none = pass_through) to write such plates unchanged in a "
                   "batch", {"rule": rule})


def reference_model(path: Path | None, load: Loader | None = None) -> str | None:
    """The model id a document's face reference was made with (None when it cannot be read:
    :func:`check_coverage` then reports why)."""
    if path is None:
        return None
    try:
        return (load or doc_mod.load_signed)(path).document.reference.model_id
    except (FaceRightError, OSError):
        return None


def _one(ref: DocumentRef, path: Path | None, kind: str, cls: type, verifier: Verifier, shot: FaceShot,
         faces: Sequence[FaceEvidence | Finding | None], load: Loader) -> tuple[list[Finding], str | None]:
    code = "license" if cls is doc_mod.LikenessLicense else "release"
    if path is None:
        return [Finding(f"{code}.store_missing", "error",
                        f"the shot names its {kind} by id {ref.id!r} only, and no license store is configured to "
                        f"find it; give the {kind} file's path in the FaceShot (or --{code})", {"id": ref.id})], None
    try:
        signed = load(path, max_bytes=verifier.settings.max_document_bytes)
    except (DocumentFormatError, OSError) as exc:
        return [Finding("license.malformed", "error", f"cannot use the {kind} {path}: {exc}",
                        {"path": str(path)})], None
    document = signed.document
    if not isinstance(document, cls):
        return [Finding(f"{code}.wrong_kind", "error",
                        f"{path} is a {document.KIND}, but the shot needs a {kind} here", {"path": str(path)})], None
    if ref.id is not None and ref.id != document.doc_id:
        return [Finding(f"{code}.id_mismatch", "error",
                        f"the shot names {kind} {ref.id!r} but {path} is {document.doc_id!r}",
                        {"path": str(path), "id": ref.id})], document.doc_id
    findings: list[Finding] = []
    for face in faces:
        for finding in verifier.verify(signed, shot.usage, face):
            if finding not in findings:
                findings.append(finding)
    return findings, document.doc_id
