"""Which kind and family a model is, decided by its signature alone (insightface-style).

File names never matter: ``scrfd_10g_bnkps.onnx`` renamed to ``a.onnx`` is still SCRFD. The
rules, tried in this order:

========== ========== ====================================================================
kind       family     signature
========== ========== ====================================================================
swapper    inswapper  2 inputs: an image ``[N,3,128,128]`` and a latent ``[N,512]``; one image
                      output; a 512×512 initializer (``emap``, else the last initializer)
detector   retinaface 1 image input; 3 outputs ``[N,anchors,·]`` whose last axes are 4, 2, 10
                      where known (loc, conf, landmarks; exports often leave them symbolic)
detector   yunet      1 image input; 12 outputs: six of width 1 (cls, obj), three of 4, three of 10
detector   scrfd      1 image input; 6, 9, 10 or 15 outputs in groups score / bbox (/ kps) with
                      last axes 1 / 4 (/ 10) where known
recogniser sface      1 square image input ≥ 112, side divisible by 16 and not 192 (insightface's
                      landmark models); one output ``[N,128]``
recogniser arcface    as sface, with any other embedding width (512 for ArcFace r50/r100)
========== ========== ====================================================================

Anything else raises :class:`UnknownModelError` naming the file and its signature.
:func:`backend_class` maps a route to the class that wraps it, from the registries the
backend packages keep (``faceright.engine.detect.DETECTORS`` ...), imported on first use.
"""
from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from faceright.errors import DependencyMissingError

from ..types import MODEL_KINDS, ModelKind
from .errors import ModelError, ModelRoleError, UnknownModelError
from .signature import Signature, TensorSpec

__all__ = [
    "FAMILIES",
    "REGISTRIES",
    "Route",
    "backend_class",
    "check_role",
    "emap_initializer",
    "route",
]

#: every family routing can answer, per kind
FAMILIES: dict[ModelKind, tuple[str, ...]] = {
    "detector": ("scrfd", "retinaface", "yunet"),
    "recogniser": ("arcface", "sface"),
    "swapper": ("inswapper",),
}

#: where each kind's family → class registry lives (module, attribute)
REGISTRIES: dict[ModelKind, tuple[str, str]] = {
    "detector": ("faceright.engine.detect", "DETECTORS"),
    "recogniser": ("faceright.engine.recognise", "RECOGNISERS"),
    "swapper": ("faceright.engine.swap", "SWAPPERS"),
}

SWAP_SIZE = 128
LANDMARK_SIZE = 192   #: insightface's 2d106 / 3d68 landmark models; never a recogniser (as insightface routes)
LATENT_DIM = 512
SCRFD_OUTPUT_COUNTS = {6: (3, False), 9: (3, True), 10: (5, False), 15: (5, True)}  # outputs → (strides, kps)

_KNOWN = (
    "detectors SCRFD (6/9/10/15 outputs), RetinaFace (loc/conf/landmarks), YuNet (12 outputs); "
    "recognisers ArcFace / SFace (square ≥112 input → one embedding); "
    "swapper inswapper (128×128 target + 512 latent, with an emap initializer)"
)


@dataclass(frozen=True)
class Route:
    """The answer of :func:`route`: what a model is, and why routing thinks so."""

    kind: ModelKind
    family: str
    reason: str = ""


def _is_image(spec: TensorSpec, size: int | None = None) -> bool:
    """A ``[N,3,H,W]`` tensor (H, W of ``size`` when given and known)."""
    if spec.rank != 4 or spec.dim(1) != 3:
        return False
    if size is None:
        return True
    return all(d == size for d in spec.shape[2:])


def _last(spec: TensorSpec) -> int | None:
    d = spec.dim(-1)
    return d if isinstance(d, int) else None


def emap_initializer(signature: Signature) -> str | None:
    """The name of the swapper's 512×512 ``emap``: the initializer so named, else the last one if 512×512."""
    square = (LATENT_DIM, LATENT_DIM)
    named = signature.initializer("emap")
    if named is not None and named.shape == square:
        return named.name
    if signature.initializers and signature.initializers[-1].shape == square:
        return signature.initializers[-1].name
    return None


def _route_swapper(sig: Signature, source: str) -> Route | None:
    if len(sig.inputs) != 2:
        return None
    images = [s for s in sig.inputs if _is_image(s, SWAP_SIZE)]
    latents = [s for s in sig.inputs if s.rank == 2 and s.dim(1) == LATENT_DIM]
    if len(images) != 1 or len(latents) != 1:
        return None
    if len(sig.outputs) != 1 or not _is_image(sig.outputs[0]):
        raise UnknownModelError(
            f"model file {source} takes a 128×128 target and a 512 latent like inswapper, but it does not "
            f"return one image: {sig.describe()}"
        )
    emap = emap_initializer(sig)
    if emap is None:
        raise UnknownModelError(
            f"model file {source} has inswapper's inputs but no 512×512 'emap' initializer, which the "
            f"source latent is computed with: {sig.describe()}"
        )
    return Route("swapper", "inswapper", f"2 inputs (128×128 target, 512 latent), emap initializer {emap!r}")


def _route_detector(sig: Signature) -> Route | None:
    if len(sig.inputs) != 1 or not _is_image(sig.inputs[0]):
        return None
    outs = sig.outputs
    lasts = [_last(o) for o in outs]
    if len(outs) == 3 and all(o.rank == 3 for o in outs) and all(
        last is None or last == want for last, want in zip(lasts, (4, 2, 10))
    ):
        return Route("detector", "retinaface", "3 outputs [N,anchors,·]: loc (4), conf (2), landmarks (10)")
    if len(outs) == 12 and Counter(lasts) == Counter({1: 6, 4: 3, 10: 3}):
        return Route("detector", "yunet", "12 outputs: cls + obj (1), bbox (4), kps (10) at 3 strides")
    if len(outs) in SCRFD_OUTPUT_COUNTS:
        strides, kps = SCRFD_OUTPUT_COUNTS[len(outs)]
        widths = [1] * strides + [4] * strides + ([10] * strides if kps else [])
        if all(last is None or last == want for last, want in zip(lasts, widths)):
            return Route("detector", "scrfd", f"{len(outs)} outputs: score / bbox{' / kps' if kps else ''} "
                                              f"at {strides} strides")
    return None


def _route_recogniser(sig: Signature) -> Route | None:
    if len(sig.inputs) != 1 or len(sig.outputs) != 1:
        return None
    image, out = sig.inputs[0], sig.outputs[0]
    if not _is_image(image):
        return None
    h, w = image.dim(2), image.dim(3)
    if not (isinstance(h, int) and h == w and h >= 112 and h % 16 == 0) or h == LANDMARK_SIZE:
        return None
    dim = _last(out)
    if out.rank != 2 or dim is None:
        return None
    family = "sface" if dim == 128 else "arcface"
    return Route("recogniser", family, f"square {h}×{h} input → {dim}-d embedding")


def route(signature: Signature, *, source: str | Path = "<model>") -> Route:
    """The kind and family of the model with ``signature``; ``source`` names it in errors."""
    source = str(source)
    for rule in (lambda s: _route_swapper(s, source), _route_detector, _route_recogniser):
        found = rule(signature)
        if found is not None:
            return found
    hint = ""
    if len(signature.inputs) == 1 and _is_image(signature.inputs[0]):
        side = signature.inputs[0].dim(2)
        if side == 192:
            hint = " (a 192×192 input is insightface's landmark model, which faceright does not use)"
        elif side == 96:
            hint = " (a 96×96 input is insightface's gender/age model, which faceright does not use)"
    raise UnknownModelError(
        f"model file {source} matches no model family faceright knows{hint}: {signature.describe()}. "
        f"Known: {_KNOWN}"
    )


def check_role(found: Route, kind: ModelKind, *, source: str | Path = "<model>") -> None:
    """Refuse a model asked to serve as ``kind`` when routing found another kind."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"kind must be one of {MODEL_KINDS}, got {kind!r}")
    if found.kind != kind:
        raise ModelRoleError(
            f"model file {source} cannot be used as a {kind}: by its inputs and outputs it is a "
            f"{found.family} {found.kind} ({found.reason})"
        )


def backend_class(kind: ModelKind, family: str) -> type[Any]:
    """The class registered for ``family`` in ``kind``'s registry (imported on first use)."""
    module_name, attribute = REGISTRIES[kind]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DependencyMissingError(
            f"cannot load a {family} {kind}: {module_name} does not import ({exc})"
        ) from exc
    registry = getattr(module, attribute, None)
    if not isinstance(registry, Mapping):
        raise ModelError(f"{module_name} has no {attribute} registry: cannot load a {family} {kind}")
    try:
        return registry[family]
    except KeyError:
        raise ModelError(
            f"no {kind} backend for the {family} family in {module_name}.{attribute}; "
            f"available: {', '.join(sorted(registry)) or 'none'}"
        ) from None
