"""C2PA provenance for a labelled output (optional extra ``faceright[c2pa]`` = c2pa-python).

The manifest says the plate was opened (``c2pa.opened``, the plate as ``parentOf``
ingredient) and edited with a trained model composited in (``c2pa.edited``,
digitalSourceType ``compositeWithTrainedAlgorithmicMedia``). It is signed **last**, after
the burn-in and the AIGC metadata: signing hashes the file, and any later change breaks it.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceright import __version__
from faceright.errors import ConfigError, DependencyMissingError, MediaError
from faceright.findings import Finding

log = logging.getLogger(__name__)

COMPOSITE_WITH_TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
MIME_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
              ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_INSTALL = "pip install 'faceright[c2pa]'"


def require_c2pa() -> Any:
    try:
        import c2pa
    except ImportError as exc:
        raise DependencyMissingError(f"C2PA signing and reading need c2pa-python: {_INSTALL}") from exc
    return c2pa


def available() -> bool:
    try:
        require_c2pa()
    except DependencyMissingError:
        return False
    return True


def mime_type(path: Path) -> str:
    try:
        return MIME_TYPES[path.suffix.lower()]
    except KeyError as exc:
        raise MediaError(f"{path}: C2PA is supported here for {', '.join(sorted(MIME_TYPES))}") from exc


def _read_pem(path: Path | None, what: str, option: str) -> bytes:
    if path is None:
        raise ConfigError(f"C2PA signing needs {what}: set [labels] {option} in config.toml")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"C2PA {what} {path} cannot be read: {exc}") from exc


def sign(src: Path, dst: Path, *, plate: Path | None, cert_chain: Path | None, key: Path | None,
         title: str | None = None) -> None:
    """Write ``dst``: ``src`` with a signed manifest; ``plate`` (the source media) becomes the ingredient."""
    c2pa = require_c2pa()
    chain = _read_pem(cert_chain, "a certificate chain (leaf then CA, PEM)", "c2pa_cert_chain")
    private = _read_pem(key, "the leaf's private key (PEM)", "c2pa_key")
    fmt = mime_type(src)
    ingredient = plate if plate is not None else src
    manifest = {
        "claim_generator_info": [{"name": "faceright", "version": __version__}],
        "title": title or dst.name,
        "format": fmt,
        "assertions": [{
            "label": "c2pa.actions.v2",
            "data": {"actions": [
                {"action": "c2pa.opened", "parameters": {"ingredientIds": ["plate"]}},
                {"action": "c2pa.edited", "digitalSourceType": COMPOSITE_WITH_TRAINED,
                 "softwareAgent": {"name": "faceright", "version": __version__},
                 "description": "face replaced with a licensed likeness; AIGC label applied"},
            ]},
        }],
    }
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private, None))
        with c2pa.Builder.from_json(manifest) as builder:
            with ingredient.open("rb") as fh:
                builder.add_ingredient({"title": ingredient.name, "relationship": "parentOf", "label": "plate"},
                                       mime_type(ingredient) if ingredient.suffix.lower() in MIME_TYPES else fmt, fh)
            with src.open("rb") as source, dst.open("wb") as dest:
                builder.sign(signer, fmt, source, dest)
    except c2pa.C2paError as exc:
        raise MediaError(f"C2PA signing of {src} failed: {exc}") from exc


@dataclass
class C2paEvidence:
    present: bool
    state: str | None = None                 #: Valid / Trusted / Invalid
    failures: list[str] = field(default_factory=list)
    source_types: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"present": self.present, "state": self.state, "failures": self.failures,
                "digital_source_types": self.source_types, "actions": self.actions}


def read(path: Path, trust_anchors: Path | None = None) -> C2paEvidence:
    c2pa = require_c2pa()
    context = None
    if trust_anchors is not None:
        settings = c2pa.Settings.from_dict({"verify": {"verify_trust": True},
                                            "trust": {"trust_anchors": trust_anchors.read_text()}})
        context = c2pa.Context(settings=settings)
    with path.open("rb") as stream:
        try:
            reader = c2pa.Reader(mime_type(path), stream, context=context)
        except c2pa.C2paError as exc:
            text = str(exc)
            if "ManifestNotFound" in text or "JumbfNotFound" in text or "no JUMBF" in text.lower():
                return C2paEvidence(present=False)
            return C2paEvidence(present=True, state="Invalid", failures=[f"unreadable: {text}"])
        return _evidence(reader, path)


def _evidence(reader: Any, path: Path) -> C2paEvidence:
    with reader:
        state = str(reader.get_validation_state())
        results = reader.get_validation_results() or {}
        manifest = json.loads(reader.json()).get("manifests", {})
        active = reader.get_active_manifest() or {}
    failures = _walk_failures(results)
    actions, source_types = [], []
    for assertion in active.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                actions.append(action.get("action", ""))
                if action.get("digitalSourceType"):
                    source_types.append(action["digitalSourceType"])
    log.debug("C2PA of %s: %s, %d manifests", path, state, len(manifest))
    return C2paEvidence(present=True, state=state, failures=failures, source_types=source_types, actions=actions)


def _walk_failures(results: Any) -> list[str]:
    """Codes of every failure entry in c2pa's validation results (any nesting)."""
    codes: list[str] = []
    if isinstance(results, dict):
        for key, value in results.items():
            if key == "failure" and isinstance(value, list):
                codes += [str(item.get("code")) for item in value if isinstance(item, dict)]
            else:
                codes += _walk_failures(value)
    elif isinstance(results, list):
        for item in results:
            codes += _walk_failures(item)
    return codes


def findings(evidence: C2paEvidence, *, required: bool) -> list[Finding]:
    if not evidence.present:
        return [Finding("c2pa.absent", "error", "no C2PA manifest in the file, and one is required")] if required else []
    out: list[Finding] = []
    # an untrusted signer is not a broken manifest: trust is the reader's configuration
    real = [code for code in evidence.failures if code != "signingCredential.untrusted"]
    if evidence.state == "Invalid" or real:
        mismatch = [code for code in real if "mismatch" in code.lower()]
        if mismatch:
            out.append(Finding("c2pa.hash_mismatch", "error",
                               f"the C2PA manifest's asset hash no longer matches the file ({', '.join(mismatch)}): "
                               f"it was changed after signing", {"failures": real}))
        else:
            out.append(Finding("c2pa.invalid", "error", f"the C2PA manifest does not validate: {', '.join(real) or evidence.state}",
                               {"failures": real}))
    if COMPOSITE_WITH_TRAINED not in evidence.source_types:
        out.append(Finding("c2pa.source_type", "error",
                           f"the C2PA manifest declares no {COMPOSITE_WITH_TRAINED.rsplit('/', 1)[1]} action "
                           f"(found {', '.join(evidence.source_types) or 'none'})"))
    if not out:
        trusted = evidence.state == "Trusted"
        out.append(Finding("c2pa.valid", "info",
                           "the C2PA manifest validates" + ("" if trusted else " (signer not in the configured trust anchors)"),
                           {"state": evidence.state}))
    return out
