"""The swap job: a FaceShot in, a licensed, labelled output out. Nothing is swapped unlicensed.

:func:`swap_shot` is what :class:`~faceright.engine.jobs.local.LocalEngine` (and through it
the CLI, the hosts, the gates and the farm) runs. Before the plate is decoded for the swap,
it reads the donor face and the plate face it will replace (the selected face on the first
frame where one is found) and verifies the likeness license against the donor and the plate
release against the plate face, with the same verifier ``faceright license verify`` uses.
Anything blocking refuses the job with :class:`~faceright.errors.SwapRefusedError` carrying
every finding, and nothing is written.

Then it checks every other input (the output will not replace a source, the range lies inside
the plate, the AIGC label can be made), streams the plate through
:class:`~faceright.engine.pipeline.SwapPipeline` into an atomic writer (the output appears
under its final name only when complete; a failure leaves any previous output untouched),
and proves the label on the written file. The FaceShot comes back with its results: output
hashes, ProduceID, the license and release ids, the verdicts and the models used.

This module sits above the engine proper (media, models, pipeline) and the core's labels and
licenses: it is the one place that combines them.
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

from faceright.compat import file_sha256
from faceright.config import Config
from faceright.engine_client import SwapOutcome
from faceright.errors import ConfigError, FaceRightError, SwapRefusedError
from faceright.findings import Finding
from faceright.labels.aigc import label_signer
from faceright.labels.policy import LabelSettings
from faceright.labels.verify import LabelReport, verify_file
from faceright.labels.visible import VisibleLabel
from faceright.licenses.coverage import Coverage, check_coverage, open_verifier, reference_model
from faceright.licenses.identity import FaceEvidence
from faceright.shot import FaceShot, FileHash, ModelUse, Results, Verdict

from ..models.errors import ModelNotFoundError
from ..media import FrameRange, SequencePattern, SequenceWriter, check_output_path, open_sink, open_source, read_image
from ..media.downgrade import downgrade_finding
from ..media.codecs import choose_codec
from ..media.hwcodecs import CodecPlan, codec_plan
from ..media.sequence import is_sequence_path
from ..swap.pose import TurnedFaceError
from ..analysis import ClipFaceFinder
from ..pipeline import PipelineStats, SwapPipeline
from ..progress import ProgressCallback
from ..runtime import Runtime
from ..select import SELECT_RULES, SelectRule, Selection, TargetTracker
from ..budget import pipeline_sizes, return_freed_memory
from ..threads import apply_opencv_threads
from ..tracks import FaceTracks
from ..types import Donor, Face, cosine

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
    reference_embedding: Any = None      #: or the plate face's reference as an embedding
    swapper: str | None = None           #: model name/path, "classic", or None for the best installed
    detector: str | None = None
    recogniser: str | None = None
    rate: Fraction | None = None         #: frame rate of an image-sequence plate (default 24)
    deliverable: bool = False            #: a deliverable also carries the visible label (burned in)
    overwrite: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)   #: more container metadata for the output
    writer_options: Mapping[str, Any] = field(default_factory=dict)   #: e.g. preset, crf, codec, accurate_color
    reader_options: Mapping[str, Any] = field(default_factory=dict)   #: e.g. accurate_color, threads
    codec: str | None = None             #: a video output's codec name (media/codecs.py); None: the plate's family
    #: the first frames of ``frames`` that are only analysed (faces tracked), neither swapped nor written:
    #: a farm chunk's run starts at the single run's key frame before it
    lead_in: int = 0
    #: the lead-in must leave every face track decided at the first swapped frame (FaceTracks.decided), or
    #: the render stops with LeadInUndecided: a chunk that does not start at the clip's start then reaches back
    settle_lead_in: bool = False

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
        return "reference" if self.target is not None or self.reference_embedding is not None else "largest"


@dataclass(frozen=True)
class SwapResult:
    output: Path
    stats: PipelineStats
    frames: FrameRange
    swapper: str
    donor_face: Face
    label: LabelReport                   #: the label proven (or not) on the written file
    produce_id: str = ""
    models: tuple[ModelUse, ...] = ()
    findings: tuple[Finding, ...] = ()   #: what the render itself noticed (e.g. media.downgraded)


def swap_shot(shot: FaceShot, runtime: Runtime, config: Config, *,
              progress: ProgressCallback | None = None) -> SwapOutcome:
    """Verify ``shot``'s license and release, then swap it; the returned shot carries its results."""
    media = shot.media(config.paths)
    return swap_request(shot, media, request_of(shot, media, config), runtime, config, progress=progress)


def swap_request(shot: FaceShot, media: Any, request: SwapRequest, runtime: Runtime, config: Config, *,
                 progress: ProgressCallback | None = None) -> SwapOutcome:
    """:func:`swap_shot` with the engine's request given: the farm's chunks write a part of the shot's
    range into an intermediate sequence, after the same verification."""
    # the models the documents' evidence and the render need load on a second thread while this one
    # finds the donor's face and the plate's first selected face (onnxruntime releases the GIL while
    # it makes a session): nothing is swapped before the coverage below says so
    # (the swapper after the recognisers, so that the coverage waits for these only); a job refused
    # or failed before its render does not wait for the swapper to finish loading, nor does its process
    loading, warming = load_ahead((load_recognisers, runtime, media), (load_swapper, runtime, request.swapper))
    try:
        prepared = prepare(request, runtime)
        selected = first_selected(media.plate, shot, prepared, keyframe_interval=runtime.settings.keyframe_interval)
        coverage = coverage_of(shot, media, prepared, runtime, config, selected, recognisers=loading.result())
        if coverage.blocks:
            raise SwapRefusedError(
                f"shot {shot.shot_id!r} is not covered, so nothing was swapped or written: {coverage.summary()}",
                findings=list(coverage.findings))
        del selected   # the evidence's frames (25 MB each at 4K) are not kept through the render
    except BaseException:
        warming.cancel()   # not started yet: never started
        raise
    warming.result()   # waits for the swapper; a bug (not a model's FaceRightError, logged there) surfaces here
    result = _render(request, runtime, prepared, progress=progress)
    results = Results(
        outputs=tuple(FileHash(str(p), file_sha256(p)) for p in _written_files(result)),
        produce_id=result.produce_id, license_id=coverage.license_id, release_id=coverage.release_id,
        verdicts=tuple(Verdict(f.code, f.severity, f.message)
                       for f in coverage.findings + result.findings + tuple(result.label.findings)),
        models=tuple(result.models), frames=result.frames, label_proven=result.label.proven)
    stats = result.stats
    return SwapOutcome(shot.with_results(results), result.label, stats.frames, stats.frames_swapped,
                       stats.faces_swapped, stats.seconds, result.swapper, tuple(coverage.findings) + result.findings)


def request_of(shot: FaceShot, media: Any, config: Config) -> SwapRequest:
    """The engine's request for ``shot`` whose files are ``media`` (resolved on this machine)."""
    return SwapRequest(
        plate=media.plate, donor=media.donor, output=media.output, labels=config.labels,
        frames=shot.plate.frames, donor_largest=shot.donor.largest, target=media.plate_face,
        select=shot.plate_face.rule, threshold=shot.plate_face.threshold,
        reference_embedding=shot.plate_face.embedding.values if shot.plate_face.embedding else None,
        swapper=None if shot.swap.backend == "auto" else shot.swap.backend,
        detector=shot.swap.detector, recogniser=shot.swap.recogniser, rate=shot.plate.rate,
        deliverable=shot.output.deliverable, overwrite=shot.output.overwrite,
        writer_options={k: v for k, v in (("preset", shot.swap.preset), ("crf", shot.swap.crf)) if v is not None},
        codec=shot.swap.codec,
    )


def swap_clip_unchecked(request: SwapRequest, runtime: Runtime, *,
                        progress: ProgressCallback | None = None) -> SwapResult:
    """The swap without the license check, for benchmarks and the engine's own tests only.

    Everything a user runs goes through :func:`swap_shot`."""
    return _render(request, runtime, prepare(request, runtime), progress=progress)


@dataclass(frozen=True)
class Prepared:
    analyser: Any
    donor_image: Any
    donor_face: Face
    selection: Selection


def prepare(request: SwapRequest, runtime: Runtime) -> Prepared:
    """Every check that needs no model but the analyser: output path, donor face, selection."""
    sources = [p for p in (request.plate, request.donor, request.target) if p is not None]
    check_output_path(request.output, sources=sources, overwrite=request.overwrite)
    return prepare_donor(request, runtime.analyser(request.detector, request.recogniser))


def prepare_donor(request: SwapRequest, analyser: Any) -> Prepared:
    """The donor's face and the plate-face selection, with ``analyser``."""
    donor_image = read_image(request.donor)
    donor_face = analyser.one_face(donor_image, what=f"donor image {request.donor}",
                                  largest=request.donor_largest)
    turned = analyser.upside_down(donor_image, donor_face)
    if turned is not None:
        raise TurnedFaceError(
            f"the face in the donor image {request.donor} is upside down (the detector sees it at {turned:.2f} "
            f"turned over, {donor_face.score:.2f} as it is): rotate the image so the head is upright")
    return Prepared(analyser, donor_image, donor_face, _selection(request, analyser, donor_face))


class LeadInUndecided(Exception):
    """A chunk's lead-in ended with a face track whose swap decision its frames did not make (it has
    stayed between the pose limit and the hysteresis margin since the lead-in began): the frames
    before it decide, so the chunk must start further back. Raised before anything is written."""


def _settling(find: Any, tracks: FaceTracks, first: int | None) -> Any:
    """``find`` that raises :class:`LeadInUndecided` when, at its ``first``-th frame (the first swapped),
    ``tracks`` are not :attr:`~faceright.engine.tracks.FaceTracks.decided`; ``find`` itself for None."""
    if first is None:
        return find
    seen = [0]

    def settled(frame: Any, tracker: Any) -> Any:
        found = find(frame, tracker)
        if seen[0] == first and not tracks.decided:
            raise LeadInUndecided(f"a face track is undecided after a lead-in of {first} frames")
        seen[0] += 1
        return found

    return settled


def load_ahead(*steps: tuple[Any, ...]) -> list[Future]:
    """Run each ``(function, *args)`` of ``steps`` in turn on one loading thread; their futures.

    The thread is a daemon: a process whose job was refused exits without waiting for a session
    nobody will use (a pool's workers are joined when the interpreter exits: a real inswapper
    takes seconds to load). A step whose future was cancelled before it started is skipped."""
    futures: list[Future] = [Future() for _ in steps]

    def run() -> None:
        for (function, *args), future in zip(steps, futures):
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except BaseException as exc:  # noqa: BLE001 - raised by whoever asks for the result
                future.set_exception(exc)

    threading.Thread(target=run, name="faceright-load", daemon=True).start()
    return futures


def load_recognisers(runtime: Runtime, media: Any) -> dict[str, Any]:
    """The recognisers the license's and the release's face references were made with, by model id
    (None where this machine has none)."""
    wanted = {m for m in (reference_model(media.license), reference_model(media.release)) if m is not None}
    return {model_id: recogniser_for(runtime, model_id) for model_id in sorted(wanted)}


def load_swapper(runtime: Runtime, swapper: str | None) -> None:
    """The swapper's session made ahead of the render; a failure to load it is left for the render
    to report, in its turn after the coverage."""
    try:
        runtime.swapper(swapper)
    except FaceRightError as exc:
        log.debug("the swapper did not load ahead: %s", exc)


def coverage_of(shot: FaceShot, media: Any, prepared: Prepared, runtime: Runtime, config: Config,
                selected: list[tuple[int, Any, Face]], *, recognisers: Mapping[str, Any] | None = None) -> Coverage:
    """Verify the documents with evidence made by the recogniser each document's reference was
    made with, when this machine has it (else the analyser's: the verifier names the mismatch).
    ``recognisers``: those already loaded, by model id (:func:`load_recognisers`)."""
    def evidence(wanted: str | None, image: Any, face: Face, source: str) -> FaceEvidence:
        known = recognisers is not None and wanted in recognisers
        recogniser = (recognisers[wanted] if known else recogniser_for(runtime, wanted)) or prepared.analyser.recogniser
        if recogniser is prepared.analyser.recogniser and face.embedding is not None:
            return FaceEvidence(face.embedding, recogniser.model_id, source)
        return FaceEvidence(recogniser.embed(image, [face])[0], recogniser.model_id, source)

    wanted_license = reference_model(media.license)
    wanted_release = reference_model(media.release)
    donor = evidence(wanted_license, prepared.donor_image, prepared.donor_face, str(media.donor))
    plate = [evidence(wanted_release, frame, face, f"{media.plate} frame {index}")
             for index, frame, face in selected]
    with open_verifier(config) as verifier:
        return check_coverage(shot, verifier, license_path=media.license, release_path=media.release,
                              donor=donor, plate=plate)


def recogniser_for(runtime: Runtime, model_id: str | None) -> Any:
    """A recogniser of the catalog whose model id is ``model_id`` (None when there is none)."""
    if model_id is None:
        return None
    for model in runtime.catalog.all():
        if model.kind == "recogniser" and model.status != "mismatch" and model.model_id == model_id:
            return runtime.load(model, "recogniser")
    return None


def first_selected(plate: Path, shot: FaceShot, prepared: Prepared, *,
                   keyframe_interval: int = 12) -> list[tuple[int, Any, Face]]:
    """The faces the selection picks on the first frame of the range where it picks any, each with its
    embedding: found as the swap's pipeline finds them (:meth:`ClipFaceFinder.targets`), so the
    faces verified are the faces swapped."""
    tracker = TargetTracker(prepared.selection)
    finder = ClipFaceFinder(prepared.analyser, keyframe_interval=keyframe_interval)
    with open_source(plate, shot.plate.frames, rate=shot.plate.rate) as source:
        for index, frame in source:
            chosen = finder.targets(frame, tracker)
            if chosen:
                if prepared.analyser.recogniser is not None and any(f.embedding is None for f in chosen):
                    chosen = prepared.analyser.embed(frame, chosen)   # the evidence: each face's identity
                return [(index, frame, face) for face in chosen]
    return []


def _render(request: SwapRequest, runtime: Runtime, prepared: Prepared, *,
            progress: ProgressCallback | None = None) -> SwapResult:
    sources = [p for p in (request.plate, request.donor, request.target) if p is not None]
    signer = label_signer(request.labels)        # refuses an unconfigured label before any work
    apply_opencv_threads(runtime.settings.opencv_threads)   # the stages share the cores (engine/threads.py)
    metadata = dict(request.metadata)
    visible = VisibleLabel.from_settings(request.labels) if request.deliverable else None
    swapper = runtime.swapper(request.swapper)
    donor_face = _donor_identity(swapper, runtime, prepared.donor_image, prepared.donor_face)
    finder = ClipFaceFinder(prepared.analyser, keyframe_interval=runtime.settings.keyframe_interval)
    codecs = _codec_plan(request, runtime)
    reader_options = {**codecs.reader_options, **request.reader_options}
    writer_options = {**request.writer_options, **codecs.writer_options}
    with open_source(request.plate, request.frames, rate=request.rate, **reader_options) as source:
        settings = runtime.settings
        writer_options, substituted = video_codec(request, source.info, writer_options, codecs)
        downgraded = downgrade_finding(source.info, request.output, writer_options)
        media_findings = tuple(f for f in (substituted, downgraded) if f is not None)
        for finding in media_findings:   # reach the CLI, the service and the publish report as warnings
            log.info("%s", finding.message)
        tracks = FaceTracks(float(source.info.rate), limits=getattr(swapper, "limits", None),
                            smooth=settings.smooth_landmarks)
        sizes = pipeline_sizes(source.info.width, source.info.height, queue_size=settings.queue_size,
                               batch_size=settings.batch_size, memory_mb=settings.frame_memory_mb)
        return_freed_memory(sizes.frame_bytes)
        pipeline = SwapPipeline(
            finder.faces, swapper, Donor(prepared.donor_image, donor_face), prepared.selection,
            queue_size=sizes.queue_size, batch_size=sizes.batch_size,
            find_targets=_settling(lambda frame, tracker: tracks.update(finder.targets(frame, tracker)), tracks,
                                   request.lead_in if request.settle_lead_in else None),
        )
        span = source.range
        rate = float(source.info.rate)
        proof = StagedProof(request.output, span, request.labels, deliverable=request.deliverable)
        try:
            with open_sink(request.output, like=source.info, frames=span, metadata=metadata,
                           overwrite=request.overwrite, sources=sources, before_commit=proof,
                           label=signer, **writer_options) as sink:
                blends = getattr(sink, "takes_alpha", False)   # a deep plate's writer blends with the faces' weights

                def write(index: int, frame: Any, alpha: Any = None) -> None:
                    if visible is not None:   # the label's clock starts at the output's first frame
                        frame = visible.burn(frame, index - span.first, rate, len(span))
                    if blends:
                        sink.write(frame, alpha=alpha)
                    else:
                        sink.write(frame)

                stats = pipeline.run(source, write, total=len(span), progress=progress,
                                     swap_from=span.first + request.lead_in if request.lead_in else None,
                                     with_alpha=blends, frames_owned=getattr(source, "fresh_frames", False))
        except LabelNotProvenError:
            pass   # the staged file is gone; the report says why
        written = sink.frames if isinstance(sink, SequenceWriter) else span   # a sequence's own file numbers
    label = proof.report   # the writers prove before they put anything in place (before_commit)
    if not label.proven:
        log.error("the label of %s is not proven, so nothing was put under that name: %s", request.output,
                  "; ".join(f.message for f in label.findings if f.blocks))
    log.info("swapped %d face(s) in %d of %d frames of %s into %s (%.1f fps)", stats.faces_swapped,
             stats.frames_swapped, stats.frames, request.plate, request.output, stats.fps)
    def used(backend: Any, kind: str) -> ModelUse:
        model_id = getattr(backend, "model_id", type(backend).__name__)
        file = runtime.loaded_models.get(model_id)
        return ModelUse(file.name if file else model_id, kind, file.sha256 if file else None)

    models = [used(m, kind) for kind, m in (("detector", getattr(prepared.analyser, "detector", None)),
                              ("recogniser", getattr(prepared.analyser, "recogniser", None)),
                              ("swapper", swapper)) if m is not None]
    return SwapResult(request.output, stats, written, getattr(swapper, "model_id", type(swapper).__name__),
                      donor_face, label, signer.produce_id, tuple(models),
                      media_findings)


def video_codec(request: SwapRequest, plate: Any, writer_options: dict[str, Any],
                codecs: CodecPlan) -> tuple[dict[str, Any], Finding | None]:
    """The writer options with the video codec the output gets: the request's own codec option as it
    is, else ``request.codec`` or the plate's family (media/codecs.py); NVENC stays only for H.264 4:2:0.
    With them, a ``media.codec_substituted`` warning when the plate's family could not be kept."""
    if is_sequence_path(request.output) or "codec" in request.writer_options:
        return writer_options, None
    choice = choose_codec(plate, request.output, request.codec)
    note = None if choice.note is None else Finding(
        "media.codec_substituted", "warning", f"{request.output}: {choice.note}",
        {"plate_codec": plate.codec, "written": choice.name})
    if choice.name == "h264" and codecs.writer_options.get("codec"):
        return writer_options, note      # the GPU's H.264 encoder (media/hwcodecs.py)
    nvenc = set(codecs.writer_options)
    return {**{k: v for k, v in writer_options.items() if k not in nvenc or k in request.writer_options},
            **choice.writer_options}, note


def _codec_plan(request: SwapRequest, runtime: Runtime) -> CodecPlan:
    """NVDEC/NVENC for this swap per ``[engine] gpu_codecs`` (media/hwcodecs.py); the CPU's codecs
    without GPU sessions, so a CPU machine neither probes nor changes."""
    settings = runtime.settings
    if settings.gpu_codecs == "off" or (settings.gpu_codecs == "auto" and not runtime.on_gpu):
        return CodecPlan()
    plan = codec_plan(settings.gpu_codecs, sessions_on_gpu=runtime.on_gpu,
                      video_in=not is_sequence_path(request.plate), video_out=not is_sequence_path(request.output),
                      writer_options=request.writer_options, device_id=settings.device_id, nvenc=runtime.nvenc())
    for note in plan.notes:
        log.info("%s: %s", request.output, note)
    return plan


def _written_files(result: SwapResult) -> list[Path]:
    if not result.label.proven:   # an output whose label was not proven on its staged file(s) never took its name
        return []
    pattern = SequencePattern.parse(result.output)
    return [result.output] if pattern is None else [pattern.path(n) for n in result.frames]


class LabelNotProvenError(FaceRightError):
    """The label could not be proven on a staged output, which was therefore not put in place."""

    def __init__(self, report: LabelReport) -> None:
        super().__init__(f"the label of {report.path} is not proven: "
                         + "; ".join(f.message for f in report.findings if f.blocks))
        self.report = report


class StagedProof:
    """``before_commit`` for a video writer: prove the label on the finished temporary file, before it
    takes the output's name (issue 8: an unproven deliverable never appears). The report names the
    output, not the temporary file (a staged sequence is proven in its staging folder the same way)."""

    def __init__(self, output: Path, frames: FrameRange, labels: LabelSettings, *, deliverable: bool) -> None:
        self.output, self.frames, self.labels, self.deliverable = Path(output), frames, labels, deliverable
        self.report: LabelReport | None = None

    def __call__(self, staged: Path, frames: FrameRange | None = None) -> None:
        """``staged``: the finished temporary file, or a staged sequence's pattern and its ``frames``."""
        report = prove_label(staged, frames or self.frames, self.labels, deliverable=self.deliverable)
        if SequencePattern.parse(staged) is not None:   # frames in a staging folder: name the output's folder
            self.report = replace(_renamed(report, Path(staged).parent, self.output.parent), path=self.output)
        else:
            self.report = _renamed(report, Path(staged), self.output)
        if not report.proven:
            raise LabelNotProvenError(self.report)


def _renamed(report: LabelReport, staged: Path, final: Path) -> LabelReport:
    """``report`` as if made on ``final``: the staged file's name replaced in its messages and evidence."""
    def swap(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(str(staged), str(final)).replace(staged.name, final.name)
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(swap(v) for v in value)
        return value

    findings = [replace(f, message=swap(f.message), detail=swap(dict(f.detail))) for f in report.findings]
    return replace(report, path=final, findings=findings, evidence=swap(report.evidence))


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
    candidates = [m for m in runtime.catalog.all() if m.kind == "recogniser" and m.status != "mismatch"]
    candidates.sort(key=lambda m: m.status != "verified")   # a verified model before an unregistered file
    for model in candidates:
        recogniser = runtime.load(model, "recogniser")
        if recogniser.dim == dim:
            if model.status != "verified":
                log.warning("the donor's %d-d identity comes from %s, which is not registered: register it with "
                            "`faceright models add %s`", dim, model.path, model.path)
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
        if request.reference_embedding is not None:
            return Selection(rule="reference", reference_embedding=request.reference_embedding,
                             threshold=request.threshold)
        raise ConfigError("the 'reference' selection needs a target reference image (--target)")
    target_face = analyser.one_face(read_image(request.target), what=f"target reference image {request.target}")
    similarity = cosine(target_face.embedding, donor_face.embedding)
    if similarity > 0.6:
        log.warning("the target reference looks like the donor (similarity %.2f): is --target the plate face?",
                    similarity)
    return Selection(rule="reference", reference_embedding=target_face.embedding, threshold=request.threshold)
