"""Swap a face through a whole clip: the one call the CLI, the hosts and the farm make.

:func:`swap_clip` checks every input before a frame is decoded (the donor shows exactly
one face, the output will not replace a source, the range lies inside the plate, the AIGC
label can be made), then streams the plate through
:class:`~faceright.engine.pipeline.SwapPipeline` into an atomic writer: the output appears
under its final name only when it is complete, and a failure leaves any previous output
untouched.

A swap output is never written unlabelled: every output carries the signed ``AIGC``
metadata object (the writer reads it back before the rename), a deliverable also the
visible text burned into its frames; the label is then proven on the written file by the
label verifier (:attr:`SwapResult.label`).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

from faceright.errors import ConfigError
from faceright.labels.aigc import aigc_metadata
from faceright.labels.policy import LabelSettings
from faceright.labels.verify import LabelReport, verify_file
from faceright.labels.visible import VisibleLabel

from .models.errors import ModelNotFoundError
from .media import FrameRange, SequencePattern, SequenceWriter, check_output_path, open_sink, open_source, read_image
from .analysis import ClipFaceFinder
from .pipeline import PipelineStats, SwapPipeline
from .progress import ProgressCallback
from .runtime import Runtime
from .select import SELECT_RULES, SelectRule, Selection
from .types import Donor, Face, cosine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SwapRequest:
    """What to swap where. ``frames`` is half-open in the plate's own numbering."""

    plate: Path
    donor: Path
    output: Path
    labels: LabelSettings                #: the studio's label policy: who produced it, signed by which key
    frames: FrameRange | None = None
    donor_largest: bool = False          #: a donor image with several faces: take the largest
    target: Path | None = None           #: a reference image of the plate face to replace
    select: SelectRule | None = None     #: default: "reference" with a target image, else "largest"
    threshold: float = 0.35              #: similarity to the target reference that selects a face
    swapper: str | None = None           #: model name/path, "classic", or None for the best installed
    detector: str | None = None
    recogniser: str | None = None
    rate: Fraction | None = None         #: frame rate of an image-sequence plate (default 24)
    deliverable: bool = False            #: a deliverable also carries the visible label (burned in)
    overwrite: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)   #: more container metadata for the output
    writer_options: Mapping[str, Any] = field(default_factory=dict)   #: e.g. preset, crf, codec, accurate_color
    reader_options: Mapping[str, Any] = field(default_factory=dict)   #: e.g. accurate_color, threads

    def __post_init__(self) -> None:
        for name in ("plate", "donor", "output", "target"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(os.fspath(value)))
        if self.select is not None and self.select not in SELECT_RULES:
            raise ValueError(f"select must be one of {SELECT_RULES}, got {self.select!r}")

    @property
    def rule(self) -> SelectRule:
        if self.select is not None:
            return self.select
        return "reference" if self.target is not None else "largest"


@dataclass(frozen=True)
class SwapResult:
    output: Path
    stats: PipelineStats
    frames: FrameRange
    swapper: str
    donor_face: Face
    label: LabelReport                   #: the label proven (or not) on the written file


def swap_clip(request: SwapRequest, runtime: Runtime, *, progress: ProgressCallback | None = None) -> SwapResult:
    """Replace the selected face of ``request.plate`` by the donor's, into ``request.output``."""
    sources = [p for p in (request.plate, request.donor, request.target) if p is not None]
    check_output_path(request.output, sources=sources, overwrite=request.overwrite)
    metadata = {**request.metadata, **aigc_metadata(request.labels)}   # refuses an unconfigured label first
    visible = VisibleLabel.from_settings(request.labels) if request.deliverable else None
    analyser = runtime.analyser(request.detector, request.recogniser)
    donor_image = read_image(request.donor)
    donor_face = analyser.one_face(donor_image, what=f"donor image {request.donor}",
                                  largest=request.donor_largest)
    selection = _selection(request, analyser, donor_face)
    swapper = runtime.swapper(request.swapper)
    donor_face = _donor_identity(swapper, runtime, donor_image, donor_face)
    finder = ClipFaceFinder(analyser, keyframe_interval=runtime.settings.keyframe_interval)
    pipeline = SwapPipeline(
        finder.faces, swapper, Donor(donor_image, donor_face), selection,
        queue_size=runtime.settings.queue_size, batch_size=runtime.settings.batch_size,
    )
    with open_source(request.plate, request.frames, rate=request.rate, **dict(request.reader_options)) as source:
        span = source.range
        rate = float(source.info.rate)
        with open_sink(request.output, like=source.info, frames=span, metadata=metadata,
                       overwrite=request.overwrite, sources=sources, **dict(request.writer_options)) as sink:
            def write(index: int, frame: Any) -> None:
                if visible is not None:   # the label's clock starts at the output's first frame
                    frame = visible.burn(frame, index - span.first, rate, len(span))
                sink.write(frame)

            stats = pipeline.run(source, write, total=len(span), progress=progress)
        written = sink.frames if isinstance(sink, SequenceWriter) else span   # a sequence's own file numbers
    label = prove_label(request.output, written, request.labels, deliverable=request.deliverable)
    if not label.proven:
        log.error("the label of %s is not proven: %s", request.output,
                  "; ".join(f.message for f in label.findings if f.blocks))
    log.info("swapped %d face(s) in %d of %d frames of %s into %s (%.1f fps)", stats.faces_swapped,
             stats.frames_swapped, stats.frames, request.plate, request.output, stats.fps)
    return SwapResult(request.output, stats, span, getattr(swapper, "model_id", type(swapper).__name__), donor_face,
                      label)


def prove_label(output: Path, frames: FrameRange, labels: LabelSettings, *, deliverable: bool) -> LabelReport:
    """Verify the written output's label. An image sequence is many files (``frames``: their
    numbers): each frame's metadata is checked, and for a deliverable the visible text on the
    first frame."""
    target = "deliverable" if deliverable else "shot"
    pattern = SequencePattern.parse(output)
    if pattern is None:
        return verify_file(output, labels, target=target)
    first = verify_file(pattern.path(frames.first), labels, target=target)
    for number in list(frames)[1:]:
        report = verify_file(pattern.path(number), labels, target="shot")
        if not report.proven:
            return report
    return first


def _donor_identity(swapper: Any, runtime: Runtime, image: Any, face: Face) -> Face:
    """The donor face with the embedding the swapper needs (inswapper: a 512-d ArcFace one).

    The analyser's recogniser may be another (the shipped SFace is 128-d); then a recogniser
    of the right size is looked up in the catalog, or the user is told which model to add.
    """
    dim = getattr(swapper, "embedding_dim", None)
    if dim is None or (face.embedding is not None and face.embedding.shape[-1] == dim):
        return face
    for model in runtime.catalog.all():
        if model.kind != "recogniser" or model.status == "mismatch":
            continue
        recogniser = runtime.load(model, "recogniser")
        if recogniser.dim == dim:
            return face.with_embedding(recogniser.embed(image, [face])[0])
    raise ModelNotFoundError(
        f"the swap model {getattr(swapper, 'model_id', swapper)} needs the donor's {dim}-d ArcFace embedding, "
        f"and no {dim}-d recogniser is installed: put one (e.g. w600k_r50.onnx) in {runtime.catalog.folder} "
        "and register it with `faceright models add FILE`, or use --backend classic"
    )


def _selection(request: SwapRequest, analyser: Any, donor_face: Face) -> Selection:
    rule = request.rule
    if rule != "reference":
        return Selection(rule=rule)
    if request.target is None:
        raise ConfigError("the 'reference' selection needs a target reference image (--target)")
    target_face = analyser.one_face(read_image(request.target), what=f"target reference image {request.target}")
    similarity = cosine(target_face.embedding, donor_face.embedding)
    if similarity > 0.6:
        log.warning("the target reference looks like the donor (similarity %.2f): is --target the plate face?",
                    similarity)
    return Selection(rule="reference", reference_embedding=target_face.embedding, threshold=request.threshold)
