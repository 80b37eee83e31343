"""What a farm worker runs for a bundle's steps: ``faceright farm task gate|chunk|assemble``.

- **gate**: every shot's license, release and model hashes checked on the worker (the engine's
  :meth:`~faceright.engine.jobs.local.LocalEngine.check`); any blocking finding fails the step,
  so no chunk starts. The verdicts go to ``JOB/gate.json``.
- **chunk** ``--frames A-B``: the frames of the chunk not yet done are swapped — verified again
  by the same swap job as ``faceright swap`` — into a staging folder as lossless PNG frames,
  then moved into ``JOB/frames/<shot>/`` and recorded with their sha256 in a span manifest
  written last. A frame counts as done only when a manifest lists it and its bytes still hash to
  the same value: a chunk killed at any moment leaves only its staging folder (removed by the
  next run of any chunk of the shot), and re-running a job redoes exactly what is missing,
  whatever the chunk boundaries of the new run. Each run of frames starts with a key-frame
  pass: it is decoded and analysed from the single-machine run's key frame at or before its
  first frame (those lead-in frames are neither swapped nor written), so face tracking picks
  the same faces.
- **assemble**: the only writer of the shot's output name. The frames are checked complete and
  unchanged, encoded exactly as ``faceright swap`` encodes (same writer, settings, audio, start
  timecode, the AIGC label in the metadata and, for a deliverable, the visible label burned in
  from the first frame), the label proven on the written file, the shot's results written to
  ``JOB/results/<shot>.faceshot.json`` and the job recorded in the ledger.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from faceright.atomic import make_folder, write_replacing
from faceright.compat import file_sha256
from faceright.config import Config
from faceright.errors import FaceRightError, SwapRefusedError
from faceright.findings import Finding, blocking
from faceright.frames import FrameRange
from faceright.shot import FaceShot, FileHash, Results, Verdict

from ..media import SequencePattern, open_sink, open_source
from ..tracks import HISTORY
from faceright.farm.pathmap import PathMapping

log = logging.getLogger(__name__)

FRAME_PATTERN = "frame.%07d.png"


class FarmTaskError(FaceRightError):
    """A farm task cannot do its part (frames missing or changed, a gate that blocks)."""

    exit_code = 1


@dataclass(frozen=True)
class JobFolder:
    root: Path

    def frames(self, shot: FaceShot) -> Path:
        return self.root / "frames" / _safe(shot.shot_id)

    def spans(self, shot: FaceShot) -> Path:
        return self.frames(shot) / "spans"

    def result(self, shot: FaceShot) -> Path:
        return self.root / "results" / f"{_safe(shot.shot_id)}.faceshot.json"


def _safe(shot_id: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in shot_id)


def find_shot(shots: list[FaceShot], shot_id: str) -> FaceShot:
    for shot in shots:
        if shot.shot_id == shot_id:
            return shot
    raise FarmTaskError(f"the bundle has no shot {shot_id!r} (shots: {', '.join(s.shot_id for s in shots)})")


def shot_key(shot: FaceShot) -> str:
    """A digest of what the frames depend on: a changed shot never reuses another's frames."""
    body = json.dumps(shot.to_json() | {"results": None, "output": None}, sort_keys=True).encode("utf-8")
    return hashlib.sha256(body).hexdigest()


def parse_chunk(text: str) -> FrameRange:
    """OpenJD's CONTIGUOUS chunk value: ``A-B``, or ``A`` for a one-frame chunk."""
    text = text.strip()
    return FrameRange.parse(text) if "-" in text else FrameRange.parse(f"{text}-{text}")


def mapped(shot: FaceShot, mapping: PathMapping) -> FaceShot:
    """``shot`` with the farm's path-mapping rules applied to plain paths (root names stay as they are)."""
    if not mapping.rules:
        return shot
    return replace(
        shot, plate=replace(shot.plate, path=mapping.apply(shot.plate.path)),
        donor=replace(shot.donor, image=mapping.apply(shot.donor.image)),
        plate_face=replace(shot.plate_face, image=mapping.apply(shot.plate_face.image)),
        license=replace(shot.license, path=mapping.apply(shot.license.path)),
        release=replace(shot.release, path=mapping.apply(shot.release.path)),
        output=replace(shot.output, path=mapping.apply(shot.output.path)))


# -- gate ---------------------------------------------------------------------------------------------


def run_gate(shots: list[FaceShot], job: JobFolder, engine: Any) -> list[Finding]:
    """Check every shot; the blocking findings (empty: the job may go on). ``JOB/gate.json`` records all.
    A shot this job already assembled (its output as recorded) is not checked again: re-running a
    finished job changes nothing."""
    record, blocked = _previous_gate(job), []
    for shot in shots:
        if shot.shot_id in record and already_assembled(shot, job, engine.config) is not None:
            continue
        checked = engine.check(shot)
        findings = list(checked.coverage.findings) + list(checked.models)
        record[shot.shot_id] = {"license_id": checked.coverage.license_id, "release_id": checked.coverage.release_id,
                                "findings": [f.to_json() for f in findings]}
        blocked += [replace(f, message=f"{shot.shot_id}: {f.message}") for f in blocking(findings)]
    make_folder(job.root)
    write_replacing(job.root / "gate.json", (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return blocked


def _previous_gate(job: JobFolder) -> dict[str, Any]:
    try:
        data = json.loads((job.root / "gate.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


# -- chunks -------------------------------------------------------------------------------------------


def done_frames(shot: FaceShot, job: JobFolder) -> dict[int, str]:
    """Frame number -> sha256 of every frame a span manifest lists for this shot (as written)."""
    found: dict[int, str] = {}
    key = shot_key(shot)
    for manifest in sorted(job.spans(shot).glob("*.json")):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if data.get("shot_key") != key:
            continue
        for number, digest in data.get("frames", {}).items():
            found[int(number)] = digest
    return found


def verified(shot: FaceShot, job: JobFolder, numbers: range | list[int]) -> set[int]:
    """The frames among ``numbers`` that are done and whose files still hash as recorded."""
    done = done_frames(shot, job)
    folder = job.frames(shot)
    ok = set()
    for number in numbers:
        digest = done.get(number)
        path = folder / (FRAME_PATTERN % number)
        if digest is not None and path.is_file() and file_sha256(path) == digest:
            ok.add(number)
    return ok


def run_chunk(shot: FaceShot, frames: FrameRange, job: JobFolder, engine: Any, config: Config, *,
              keyframe_interval: int) -> tuple[int, int]:
    """Swap the frames of ``frames`` that are not done yet; ``(frames swapped, frames already done)``."""
    from ..jobs.swap import LeadInUndecided, request_of, swap_request

    whole = shot.plate.frames
    if whole is None or frames.first < whole.first or frames.end > whole.end:
        raise FarmTaskError(f"chunk {frames.to_cli()} lies outside shot {shot.shot_id!r}'s frames "
                            f"{whole.to_cli() if whole else '(none)'}")
    folder = job.frames(shot)
    make_folder(job.spans(shot))
    _remove_stale_staging(folder)
    have = verified(shot, job, range(frames.first, frames.end))
    runs = _missing_runs(frames, have)
    swapped = 0
    media = shot.media(config.paths)
    # an output made from a deep plate's own pixels blends them with the faces' weights: the chunks
    # keep those weights in their frames' alpha channel for the assemble
    weights = _output_keeps_plate(shot, media, config) if runs else False
    for run in runs:
        staging = folder / f".staging-{run.first}-{run.last}-{os.getpid()}"
        pattern = staging / FRAME_PATTERN
        back = HISTORY - 1
        while True:
            # decode from a key frame of the single run at least a track's history before this run, so
            # tracking and smoothing reach the run's first frame as in the single run, and further back
            # while a track's swap decision is one the decoded frames did not make (FaceTracks.decided)
            start = whole.first + max(0, run.first - whole.first - back) // keyframe_interval * keyframe_interval
            make_folder(staging)
            part = replace(shot, plate=replace(shot.plate, frames=FrameRange(start, run.end)),
                           output=replace(shot.output, path=str(pattern), deliverable=False, overwrite=False))
            request = request_of(part, media, config)
            request = replace(request, output=pattern, frames=FrameRange(start, run.end), deliverable=False,
                              lead_in=run.first - start, settle_lead_in=start > whole.first,
                              # the chunk's own staging folder is its staging: frames appear there as they are swapped
                              writer_options={**dict(request.writer_options), "first_frame": run.first,
                                              "staged": False, **({"alpha_channel": True} if weights else {})})
            try:
                swap_request(part, replace(media, output=pattern), request, engine.runtime, config)
            except LeadInUndecided as exc:
                shutil.rmtree(staging, ignore_errors=True)
                log.info("frames %s of shot %r: %s; decoding from further back", run.to_cli(), shot.shot_id, exc)
                back = 2 * back + keyframe_interval
                continue
            except SwapRefusedError:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            break
        digests = {}
        for number in range(run.first, run.end):
            name = FRAME_PATTERN % number
            os.replace(staging / name, folder / name)
            digests[str(number)] = file_sha256(folder / name)
        manifest = {"shot_id": shot.shot_id, "shot_key": shot_key(shot), "first": run.first, "last": run.last,
                    "frames": digests}
        write_replacing(job.spans(shot) / f"{run.first:07d}-{run.last:07d}.json",
                        (json.dumps(manifest, indent=1) + "\n").encode("utf-8"))
        shutil.rmtree(staging, ignore_errors=True)
        swapped += len(run)
    return swapped, len(have)


def _output_keeps_plate(shot: FaceShot, media: Any, config: Config) -> bool:
    from ..jobs.swap import request_of, video_codec
    from ..media import keeps_plate, probe
    from ..media.hwcodecs import CodecPlan

    request = request_of(shot, media, config)
    info = probe(request.plate)
    options, _ = video_codec(request, info, dict(request.writer_options), CodecPlan())   # as the assemble's
    return keeps_plate(info, request.output, **options)


def _chunk_weights(path: Path) -> Any:
    """The faces' weights a chunk stored in its frame's alpha channel (None: none there)."""
    import cv2
    import numpy as np

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4 or not image[:, :, 3].any():
        return None
    return image[:, :, 3].astype(np.float32) / np.float32(255.0)


def _missing_runs(frames: FrameRange, have: set[int]) -> list[FrameRange]:
    runs, start = [], None
    for number in range(frames.first, frames.end):
        if number in have:
            if start is not None:
                runs.append(FrameRange(start, number))
                start = None
        elif start is None:
            start = number
    if start is not None:
        runs.append(FrameRange(start, frames.end))
    return runs


def _remove_stale_staging(folder: Path) -> None:
    """Staging folders of chunks that died (their process is gone) are thrown away."""
    for staging in folder.glob(".staging-*"):
        pid = staging.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        shutil.rmtree(staging, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- assemble -----------------------------------------------------------------------------------------


def run_assemble(shot: FaceShot, job: JobFolder, config: Config, engine: Any) -> FaceShot:
    """Encode the shot's frames into its output, label and prove it, record it; the shot with its results."""
    from faceright.labels.aigc import label_signer
    from faceright.labels.visible import VisibleLabel

    from ..jobs.swap import LabelNotProvenError, StagedProof, request_of, video_codec
    from ..media.hwcodecs import CodecPlan

    whole = shot.plate.frames
    assert whole is not None
    finished = already_assembled(shot, job, config)
    if finished is not None:
        return finished
    missing = sorted(set(range(whole.first, whole.end)) - verified(shot, job, range(whole.first, whole.end)))
    if missing:
        shown = ", ".join(str(n) for n in missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise FarmTaskError(f"shot {shot.shot_id!r} cannot be assembled: {len(missing)} frame(s) are missing or "
                            f"changed ({shown}); re-run the job, and only those chunks run again")
    media = shot.media(config.paths)
    request = request_of(shot, media, config)
    signer = label_signer(config.labels)
    visible = VisibleLabel.from_settings(config.labels) if request.deliverable else None
    sources = [p for p in (request.plate, request.donor, request.target) if p is not None]
    frames_pattern = job.frames(shot) / FRAME_PATTERN
    with open_source(request.plate, whole, rate=request.rate) as plate:
        info, span = plate.info, plate.range
    rate = float(info.rate)
    writer_options, _ = video_codec(request, info, dict(request.writer_options), CodecPlan())   # as the single run's
    proof = StagedProof(request.output, span, request.labels, deliverable=request.deliverable)
    try:
        with open_source(frames_pattern, whole, rate=info.rate) as swapped, \
                open_sink(request.output, like=info, frames=span, label=signer,
                          overwrite=request.overwrite, sources=sources, before_commit=proof,
                          **writer_options) as sink:
            blends = getattr(sink, "takes_alpha", False)
            for index, frame in swapped:
                if visible is not None:
                    frame = visible.burn(frame, index - span.first, rate, len(span))
                if blends:   # the faces' weights the chunk kept, as the single run blends with
                    sink.write(frame, alpha=_chunk_weights(job.frames(shot) / (FRAME_PATTERN % index)))
                else:
                    sink.write(frame)
    except LabelNotProvenError as exc:   # proven on the staged file: an unproven output never takes its name
        raise FarmTaskError(f"{shot.output.path}: the AIGC label is not proven on the assembled file, so nothing "
                            "was put under that name: " + "; ".join(f.message for f in exc.report.findings
                                                                      if f.blocks)) from exc
    written = sink.frames if SequencePattern.parse(request.output) is not None else span
    report = proof.report   # proven on the staged output before it took its name
    gate = _gate_record(job, shot)
    outputs = ([request.output] if SequencePattern.parse(request.output) is None
               else [SequencePattern.parse(request.output).path(n) for n in written])
    results = Results(
        outputs=tuple(FileHash(config.paths.to_ref(str(p)), file_sha256(p)) for p in outputs),
        produce_id=signer.produce_id, license_id=gate.get("license_id"), release_id=gate.get("release_id"),
        verdicts=tuple(Verdict(f["code"], f["severity"], f["message"]) for f in gate.get("findings", []))
        + tuple(Verdict(f.code, f.severity, f.message) for f in report.findings),
        frames=whole, label_proven=report.proven)
    done = shot.with_results(results)
    write_replacing(job.result(shot), done.dumps().encode("utf-8"))
    if not report.proven:
        raise FarmTaskError(f"{shot.output.path}: the AIGC label is not proven on the written file: "
                            + "; ".join(f.message for f in report.findings if f.blocks))
    return done


def already_assembled(shot: FaceShot, job: JobFolder, config: Config) -> FaceShot | None:
    """The shot as a previous assemble of this job wrote it, when every output still has the recorded
    bytes and its label was proven (a re-run after the ledger failed, or of a finished job)."""
    try:
        done = FaceShot.load(job.result(shot))
    except FaceRightError:
        return None
    results = done.results
    if results is None or not results.label_proven or not results.outputs or shot_key(done) != shot_key(shot):
        return None
    for output in results.outputs:
        path = config.paths.resolve(output.path)
        if not path.is_file() or file_sha256(path) != output.sha256:
            return None
    return done


def _gate_record(job: JobFolder, shot: FaceShot) -> dict[str, Any]:
    try:
        return json.loads((job.root / "gate.json").read_text(encoding="utf-8")).get(shot.shot_id, {})
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise FarmTaskError(f"the gate's record {job.root / 'gate.json'} is missing: the Gate step did not run for "
                            "this job folder; run the whole job") from None


def record_in_ledger(shot: FaceShot, job: JobFolder, config: Config, *, user: str) -> dict[str, Any]:
    """Append the assembled shot to the ledger once per job: a re-run finds the record it wrote."""
    from faceright.ledger import open_ledger

    marker = job.result(shot).with_suffix(".ledger.json")
    try:
        return json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        pass
    entry = {"kind": "farm.job", "job": str(job.root.resolve()), "shot": shot.to_json()}
    with open_ledger(config) as ledger:
        written = ledger.append(entry, user=user)
    record = {"sequence": written.sequence, "hash": written.hash}
    write_replacing(marker, (json.dumps(record) + "\n").encode("utf-8"))
    return record
