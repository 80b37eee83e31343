"""``faceright demo``: the main job on the embedded example, on a fresh machine.

Makes a 2-second 720p plate from a public-domain portrait that ships in scikit-image, swaps
in the face from matplotlib's sample portrait as a labelled deliverable (signed AIGC
metadata + the visible "AI生成" text), proves the label in the written file, and says how far
the identity moved (judged by the shipped SFace recogniser on the faces re-detected in the files).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from faceright.cli.swap import report_label
from faceright.demo import demo_files, demo_labels, write_demo_plate
from faceright.engine.media import open_source, read_image
from faceright.engine.progress import TerminalProgress
from faceright.engine.runtime import Runtime
from faceright.engine.settings import engine_settings
from faceright.engine.swap_clip import SwapRequest, swap_clip
from faceright.engine.types import cosine


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="swap the embedded example (no download, no setup)",
                            description=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--out", type=Path, default=Path("demo"), metavar="DIR",
                        help="folder for plate.mp4 and swapped.mp4 (default: ./demo)")
    parser.add_argument("--frames", type=int, default=48, help="plate length in frames (default 48, 2 s at 24 fps)")
    parser.add_argument("--backend", default="auto", metavar="auto|classic|MODEL", help="swap backend")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    files = demo_files(args.out)
    write_demo_plate(files.plate, frames=args.frames)
    print(f"plate:  {files.plate} ({args.frames} frames, 1280×720) from scikit-image's astronaut.png")
    print(f"donor:  {files.donor}")
    labels, placeholder = demo_labels(args.out)
    if placeholder:
        print("labels: no studio label configured ([labels] provider_code + `faceright label keygen`): "
              f"the demo labels its output with the placeholder provider code and a demo key in {args.out}")
    request = SwapRequest(plate=files.plate, donor=files.donor, output=files.output, overwrite=True,
                          labels=labels, deliverable=True,
                          swapper=None if args.backend == "auto" else args.backend)
    with Runtime(engine_settings()) as runtime, TerminalProgress("swap", disable=args.no_progress) as bar:
        result = swap_clip(request, runtime, progress=bar)
        analyser = runtime.analyser()
        donor = analyser.one_face(read_image(files.donor), what="donor")
        middle = len(result.frames) // 2
        plate_face, swapped_face = (
            analyser.one_face(_frame_at(path, middle), what=str(path)) for path in (files.plate, files.output)
        )
    stats = result.stats
    print(f"output: {files.output}: {stats.faces_swapped} faces swapped in {stats.frames} frames "
          f"with {result.swapper}, {stats.fps:.1f} fps")
    print(f"identity (SFace cosine to the donor, frame {middle}): plate {cosine(plate_face.embedding, donor.embedding):.2f}"
          f" → output {cosine(swapped_face.embedding, donor.embedding):.2f}")
    return report_label(result.label)


def _frame_at(path: Path, index: int):
    with open_source(path, (index, index + 1)) as source:
        return next(iter(source))[1]
