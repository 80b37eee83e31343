"""A Deadline Cloud job bundle (Open Job Description) for face shots: what the farm runs.

    BUNDLE/template.yaml           jobtemplate-2023-09 with the TASK_CHUNKING extension
    BUNDLE/parameter_values.yaml   the values this submission uses (Deadline Cloud's format)
    BUNDLE/asset_references.yaml   the files the job reads and the folder it writes
    BUNDLE/shots.json              the FaceShots, media named root:relative for every platform

The job has one ``Gate`` step, run first on a worker: every shot's likeness license, plate
release and model hashes verified there (``faceright farm task gate``), so a farm-only run
cannot skip the gates; nothing else starts when it fails. Each shot then has a ``Swap <shot>``
step whose one task parameter is a ``CHUNK[INT]`` over the shot's frames (CONTIGUOUS chunks of
``ChunkSize`` frames, a target runtime per chunk, which Deadline Cloud — and ``openjd run`` —
adapt the chunk size to), and an ``Assemble <shot>`` step that depends on it and is the only
writer of the shot's output name. Bundles are written by the core (a host without onnxruntime
can submit); the steps run ``faceright farm task`` on the workers.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceright.atomic import make_folder, write_replacing
from faceright.errors import ShotError
from faceright.shot import FaceShot

TEMPLATE = "template.yaml"
PARAMETERS = "parameter_values.yaml"
ASSETS = "asset_references.yaml"
SHOTS = "shots.json"
#: Deadline Cloud's limit on frames in one chunk (chunks.defaultTaskCount)
MAX_CHUNK = 150
DEFAULT_CHUNK = 24          #: two key-frame intervals of the default engine settings
DEFAULT_TARGET_S = 300
_STEP_NAME = re.compile(r"[^A-Za-z0-9 ._-]")


@dataclass(frozen=True)
class Bundle:
    folder: Path
    shots: tuple[FaceShot, ...]
    steps: tuple[str, ...]

    @property
    def template(self) -> Path:
        return self.folder / TEMPLATE


def step_names(shot: FaceShot) -> tuple[str, str]:
    """The swap and assemble steps of ``shot`` (OpenJD names: 64 characters, a safe alphabet)."""
    label = _STEP_NAME.sub("_", shot.shot_id)[:48]
    return f"Swap {label}", f"Assemble {label}"


def write_bundle(shots: Sequence[FaceShot], folder: Path, *, name: str | None = None, chunk_size: int = DEFAULT_CHUNK,
                 target_runtime_s: int = DEFAULT_TARGET_S, program: str = "faceright",
                 job_folder: str = "job") -> Bundle:
    """Write the bundle for ``shots`` (each with its frame range set) into ``folder``."""
    import yaml

    if not shots:
        raise ShotError("a farm bundle needs at least one face shot")
    if not 1 <= chunk_size <= MAX_CHUNK:
        raise ShotError(f"the chunk size must lie in 1..{MAX_CHUNK} frames (Deadline Cloud's limit), not {chunk_size}")
    ids = [shot.shot_id for shot in shots]
    doubled = sorted({i for i in ids if ids.count(i) > 1})
    if doubled:
        raise ShotError(f"shot ids must be unique in one bundle; {', '.join(doubled)} appear twice")
    names = [step_names(shot) for shot in shots]
    if len({n for pair in names for n in pair}) != 2 * len(shots):
        raise ShotError("two shot ids map to the same step name; give the shots ids that differ in letters or digits")
    for shot in shots:
        if shot.plate.frames is None:
            raise ShotError(f"shot {shot.shot_id!r} has no frame range; the bundle's chunks need one")

    def run(*args: str) -> dict[str, Any]:
        return {"actions": {"onRun": {"command": "{{Param.Faceright}}", "args": [
            "farm", "task", *args, "--shots", "{{Param.Shots}}", "--job", "{{Param.JobFolder}}",
            "--path-mapping", "{{Session.PathMappingRulesFile}}"]}}}

    steps: list[dict[str, Any]] = [{"name": "Gate", "description": "verify every shot's license, release and models "
                                    "on the worker, before any frame is swapped", "script": run("gate")}]
    for shot, (swap, assemble) in zip(shots, names):
        frames = shot.plate.frames
        steps.append({
            "name": swap, "dependencies": [{"dependsOn": "Gate"}],
            "parameterSpace": {"taskParameterDefinitions": [{
                "name": "Frames", "type": "CHUNK[INT]", "range": f"{frames.first}-{frames.last}",
                "chunks": {"defaultTaskCount": "{{Param.ChunkSize}}", "targetRuntimeSeconds": "{{Param.TargetRuntime}}",
                           "rangeConstraint": "CONTIGUOUS"}}]},
            "script": run("chunk", "--shot", shot.shot_id, "--frames", "{{Task.Param.Frames}}"),
        })
        steps.append({"name": assemble, "dependencies": [{"dependsOn": swap}],
                      "script": run("assemble", "--shot", shot.shot_id)})
    template = {
        "specificationVersion": "jobtemplate-2023-09",
        "extensions": ["TASK_CHUNKING"],
        "name": (name or f"faceright {len(shots)} face shot(s)")[:128],
        "description": "faceright face shots: gate, frame chunks, assemble (label proven, ledger)",
        "parameterDefinitions": [
            {"name": "Shots", "type": "PATH", "objectType": "FILE", "dataFlow": "IN", "default": SHOTS,
             "description": "the FaceShots of this job (media named root:relative)"},
            {"name": "JobFolder", "type": "PATH", "objectType": "DIRECTORY", "dataFlow": "OUT", "default": job_folder,
             "description": "where chunks write their frames and the assemble step its records"},
            {"name": "Faceright", "type": "STRING", "default": program,
             "description": "the faceright command on the workers"},
            {"name": "ChunkSize", "type": "INT", "default": chunk_size, "minValue": 1, "maxValue": MAX_CHUNK,
             "description": "frames per chunk (Deadline Cloud adapts it to TargetRuntime)"},
            {"name": "TargetRuntime", "type": "INT", "default": target_runtime_s, "minValue": 0,
             "description": "seconds one chunk should take"},
        ],
        "steps": steps,
    }
    make_folder(folder)
    documents = [shot.to_json() | {"results": None} for shot in shots]
    write_replacing(folder / SHOTS, (json.dumps(documents, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    write_replacing(folder / TEMPLATE, yaml.safe_dump(template, sort_keys=False, allow_unicode=True).encode("utf-8"))
    values = {"parameterValues": [{"name": "ChunkSize", "value": chunk_size},
                                  {"name": "TargetRuntime", "value": target_runtime_s}]}
    write_replacing(folder / PARAMETERS, yaml.safe_dump(values, sort_keys=False).encode("utf-8"))
    assets = {"assetReferences": {"inputs": {"filenames": [SHOTS], "directories": []},
                                  "outputs": {"directories": [job_folder]}, "referencedPaths": []}}
    write_replacing(folder / ASSETS, yaml.safe_dump(assets, sort_keys=False).encode("utf-8"))
    return Bundle(folder, tuple(shots), tuple(s["name"] for s in steps))


def read_shots(path: Path) -> list[FaceShot]:
    """The FaceShots of a bundle's shots.json."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShotError(f"the bundle's shots file {path} cannot be read: {exc}") from None
    if not isinstance(data, list):
        raise ShotError(f"the bundle's shots file {path} must hold a list of FaceShots")
    return [FaceShot.from_json(item) for item in data]
