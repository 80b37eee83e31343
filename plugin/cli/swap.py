"""``faceright swap``: replace a face through a clip or an image sequence.

    faceright swap --donor face.jpg --plate plate.mov --out out.mov
                   [--target plate_face.jpg | --select largest|all] [--frames 1001-1048]
                   [--backend auto|classic|MODEL] [--providers CUDAExecutionProvider,CPUExecutionProvider]
"""
from __future__ import annotations

import argparse
import re
from fractions import Fraction
from pathlib import Path

from faceright.engine.media import FrameRange
from faceright.engine.progress import TerminalProgress
from faceright.engine.runtime import Runtime
from faceright.engine.select import SELECT_RULES
from faceright.engine.settings import engine_settings
from faceright.engine.swap_clip import SwapRequest, swap_clip
from faceright.errors import ConfigError
from faceright.labels.policy import label_settings

_RANGE = re.compile(r"^\s*(-?\d+)\s*[-:]\s*(-?\d+)\s*$")


def parse_frames(text: str) -> FrameRange:
    """``FIRST-LAST`` with both ends included (VFX style: 1001-1048), as a half-open FrameRange."""
    match = _RANGE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"frame range {text!r} must look like FIRST-LAST, e.g. 1001-1048 or 0-47")
    first, last = int(match[1]), int(match[2])
    if last < first:
        raise argparse.ArgumentTypeError(f"frame range {text!r}: the last frame comes before the first")
    return FrameRange.inclusive(first, last)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "swap", help="replace a face in a clip or image sequence by a donor's face",
        description="Replace the selected face of the plate by the donor's face. The output is written to a "
                    "temporary name and appears only when complete; the plate is never modified.",
    )
    parser.add_argument("--donor", type=Path, required=True, metavar="IMAGE", help="image of the face to put in")
    parser.add_argument("--donor-largest", action="store_true",
                        help="the donor image may show several faces: use the largest")
    parser.add_argument("--plate", type=Path, required=True, metavar="MEDIA",
                        help="the plate: a MOV/MP4/MKV file or an image sequence (plate.%%04d.png, plate.####.exr)")
    parser.add_argument("--out", type=Path, required=True, metavar="MEDIA", help="output clip or sequence")
    parser.add_argument("--target", type=Path, metavar="IMAGE",
                        help="reference image of the plate face to replace (selects it by identity)")
    parser.add_argument("--select", choices=SELECT_RULES,
                        help="which faces to replace: by the --target reference, the largest, or all "
                             "(default: reference with --target, else largest)")
    parser.add_argument("--threshold", type=float, default=0.35,
                        help="similarity to the --target reference that selects a face (default 0.35)")
    parser.add_argument("--frames", type=parse_frames, metavar="FIRST-LAST",
                        help="frames to process, both ends included (video frames count from 0; "
                             "sequences use their file numbers)")
    parser.add_argument("--rate", type=Fraction, help="frame rate of an image-sequence plate (default 24)")
    parser.add_argument("--backend", default="auto", metavar="auto|classic|MODEL",
                        help="swap backend: auto (the installed swap model, else classic), classic "
                             "(no model), or a swap model's catalog name or file")
    parser.add_argument("--detector", metavar="MODEL", help="detector model name or file (default: best available)")
    parser.add_argument("--recogniser", metavar="MODEL", help="recogniser model name or file")
    parser.add_argument("--providers", metavar="LIST",
                        help="onnxruntime providers in order of preference, comma-separated "
                             "(default: TensorRT, CUDA, CPU — those available)")
    parser.add_argument("--models-dir", type=Path, metavar="DIR", help="models folder")
    parser.add_argument("--preset", metavar="NAME",
                        help="libx264 preset of a video output (default veryfast; ultrafast is about 1.5× faster "
                             "and makes larger files)")
    parser.add_argument("--crf", type=int, metavar="N", help="libx264 quality, lower is better (default 18)")
    parser.add_argument("--deliverable", action="store_true",
                        help="the output is a deliverable: burn in the visible AIGC label too "
                             "(every output carries the signed AIGC metadata)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    providers = None
    if args.providers:
        providers = tuple(p.strip() for p in args.providers.split(",") if p.strip())
        if not providers:
            raise ConfigError("--providers: give at least one onnxruntime provider name")
    settings = engine_settings(models_dir=args.models_dir, providers=providers)
    request = SwapRequest(
        labels=label_settings(), deliverable=args.deliverable,
        plate=args.plate, donor=args.donor, donor_largest=args.donor_largest, output=args.out, frames=args.frames, target=args.target,
        select=args.select, threshold=args.threshold,
        swapper=None if args.backend == "auto" else args.backend,
        detector=args.detector, recogniser=args.recogniser, rate=args.rate, overwrite=args.overwrite,
        writer_options={k: v for k, v in (("preset", args.preset), ("crf", args.crf)) if v is not None},
    )
    with Runtime(settings) as runtime, TerminalProgress("swap", disable=args.no_progress) as bar:
        result = swap_clip(request, runtime, progress=bar)
    stats = result.stats
    print(f"{result.output}: {stats.faces_swapped} face(s) swapped in {stats.frames_swapped}/{stats.frames} frames "
          f"with {result.swapper} ({stats.fps:.1f} fps)")
    return report_label(result.label)


def report_label(report) -> int:
    """Print the label verdict of a written output; 0 when proven, 1 when not."""
    kinds = ", ".join(sorted(report.required))
    if report.proven:
        print(f"label: proven in the file ({kinds})")
        return 0
    print(f"label: NOT proven ({kinds}):")
    for finding in report.findings:
        if finding.blocks:
            print(f"  {finding.code}: {finding.message}")
    return 1
