"""``faceright demo``: the main job on the embedded example, on a fresh machine.

Makes a 2-second 720p plate from a public-domain portrait that ships in scikit-image; makes a
demo studio (a platform and a registry key, a signed likeness license for the donor — the
face from matplotlib's sample portrait — and a signed plate release for the plate's
performer); shows that a shot without them is refused; swaps the licensed shot as a labelled
deliverable (signed AIGC metadata + the visible "AI生成" text), proves the label in the
written file, and says how far the identity moved (judged by the shipped SFace recogniser on
the faces re-detected in the files).
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from faceright.cli.swap import print_refusal, report_label
from faceright.config import Config
from faceright.errors import SwapRefusedError
from faceright.progress import TerminalProgress
from faceright.shot import DocumentRef, Donor, FaceShot, Output, Plate, PlateFace

from ..demo import PLATE_IMAGE, demo_files, demo_studio, packaged_image, write_demo_plate
from ..jobs.local import LocalEngine
from ..media import open_source, read_image
from ..types import cosine


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="swap the embedded example, licensed and labelled (no download, no setup)",
                            description=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--out", type=Path, default=Path("demo"), metavar="DIR",
                        help="folder for plate.mp4, swapped.mp4, shot.json and the demo studio (default: ./demo)")
    parser.add_argument("--frames", type=int, default=48, help="plate length in frames (default 48, 2 s at 24 fps)")
    parser.add_argument("--backend", default="auto", metavar="auto|classic|MODEL", help="swap backend")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    files = demo_files(args.out)
    write_demo_plate(files.plate, frames=args.frames)
    print(f"plate:   {files.plate} ({args.frames} frames, 1280×720) from scikit-image's astronaut.png")
    print(f"donor:   {files.donor}")
    studio_config = getattr(args, "config", None) or Config.load()
    with LocalEngine(studio_config) as probe:   # the studio's engine settings, for the demo's references
        studio = demo_studio(args.out / "demo-studio", studio_config, probe.embedder(),
                             donor=files.donor, performer=packaged_image(*PLATE_IMAGE))
    print(f"license: {studio.license} (likeness of the donor, signed by a demo platform key)")
    print(f"release: {studio.release} (the plate performer's release)")
    if studio.placeholder_labels:
        print("labels:  no studio label configured ([labels] provider_code + `faceright label keygen`): "
              f"the demo labels with the placeholder provider code and a demo key in {studio.license.parent}")
    shot = FaceShot(
        shot_id="demo_sh010", plate=Plate(str(files.plate)), donor=Donor(str(files.donor)),
        license=DocumentRef(str(studio.license)), release=DocumentRef(str(studio.release)), usage=studio.usage,
        output=Output(str(files.output), deliverable=True, overwrite=True), plate_face=PlateFace("largest"),
    )
    shot = replace(shot, swap=replace(shot.swap, backend=args.backend))
    with LocalEngine(studio.config) as engine:
        # 1. a shot whose license does not cover its use is refused, and nothing is written
        unlicensed = replace(shot, usage=replace(shot.usage, platform="kuaishou"),
                             output=replace(shot.output, path=str(args.out / "refused.mp4")))
        try:
            engine.swap(unlicensed)
        except SwapRefusedError as exc:
            print("refused: the same shot for a platform the license does not name (kuaishou):")
            print_refusal(exc, indent="  ")
        else:   # pragma: no cover - the gate failed open
            raise AssertionError("the demo's unlicensed shot was swapped: the license gate is broken")
        # 2. the licensed shot
        with TerminalProgress("swap", disable=args.no_progress) as bar:
            outcome = engine.swap(shot, progress=bar)
        analyser = engine.runtime.analyser()
        donor = analyser.one_face(read_image(files.donor), what="donor")
        middle = outcome.frames // 2
        plate_face, swapped_face = (
            analyser.one_face(_frame_at(path, middle), what=str(path)) for path in (files.plate, files.output)
        )
    results = outcome.shot.results
    (args.out / "shot.json").write_text(outcome.shot.dumps(), encoding="utf-8")
    print(f"output:  {files.output}: {outcome.faces_swapped} faces swapped in {outcome.frames} frames "
          f"with {outcome.swapper}, {outcome.fps:.1f} fps")
    print(f"covered: license {results.license_id}, release {results.release_id}; "
          f"ProduceID {results.produce_id} (all in {args.out / 'shot.json'})")
    print(f"identity (SFace cosine to the donor, frame {middle}): plate {cosine(plate_face.embedding, donor.embedding):.2f}"
          f" → output {cosine(swapped_face.embedding, donor.embedding):.2f}")
    return report_label(outcome.label)


def _frame_at(path: Path, index: int):
    with open_source(path, (index, index + 1)) as source:
        return next(iter(source))[1]
