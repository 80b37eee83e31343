"""``faceright swap``: replace a licensed face through a clip or an image sequence.

    faceright swap --donor face.jpg --plate plate.mov --out out.mov
                   --license likeness.json --release plate-release.json
                   --production PRJ-0001 --platform douyin --territory CN --date 2026-05-01
                   [--target plate_face.jpg | --select largest|all] [--frames 1001-1048]
                   [--backend auto|classic|MODEL]
    faceright swap --shot shot.json [--results shot-done.json]

The command builds one :class:`~faceright.shot.FaceShot` (or reads it) and hands it to the
engine client. The engine verifies the likeness license against the donor face and the plate
release against the plate face before it swaps; a shot they do not cover exits 1 with every
finding and writes nothing.
"""
from __future__ import annotations

import argparse
import sys
import typing
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from faceright.engine_client import open_engine
from faceright.errors import ConfigError, FrameRangeError, SwapRefusedError
from faceright.frames import FrameRange
from faceright.progress import TerminalProgress
from faceright.shot import DocumentRef, Donor, FaceRule, FaceShot, Output, Plate, PlateFace, SwapSettings, VIDEO_CODECS

from .usage_options import add_usage_arguments, usage_from_args

SELECT_RULES = typing.get_args(FaceRule)


def parse_frames(text: str) -> FrameRange:
    """``FIRST-LAST`` with both ends included (VFX style: 1001-1048), as a half-open FrameRange."""
    try:
        return FrameRange.parse(text)
    except FrameRangeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_threshold(text: str) -> float:
    """``--threshold``: a cosine similarity in [0, 1], as a FaceShot's ``plate_face.threshold``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a similarity between 0 and 1, "
                                         "e.g. 0.35") from None
    if not 0.0 <= value <= 1.0:     # also refuses nan
        raise argparse.ArgumentTypeError(
            f"{text} is outside [0, 1]: it is the cosine similarity a plate face needs to the --target "
            "reference (default 0.35; higher selects fewer faces)")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "swap", help="replace a licensed face in a clip or image sequence by the donor's face",
        description="Replace the selected face of the plate by the donor's face, after the engine has verified "
                    "the likeness license (donor) and the plate release (plate performer). The output is written "
                    "to a temporary name and appears only when complete; the plate is never modified.",
    )
    parser.add_argument("--shot", type=Path, metavar="SHOT.json",
                        help="a FaceShot document with everything below (then no other shot options)")
    parser.add_argument("--results", type=Path, metavar="SHOT.json",
                        help="write the FaceShot with its results (output hashes, ids, verdicts, models) here")
    parser.add_argument("--shot-id", help="the shot's id (default: the output file's name)")
    parser.add_argument("--donor", type=Path, metavar="IMAGE", help="image of the face to put in")
    parser.add_argument("--donor-largest", action="store_true",
                        help="the donor image may show several faces: use the largest")
    parser.add_argument("--plate", type=Path, metavar="MEDIA",
                        help="the plate: a MOV/MP4/MKV file or an image sequence (plate.%%04d.png, plate.####.exr)")
    parser.add_argument("--out", type=Path, metavar="MEDIA", help="output clip or sequence")
    parser.add_argument("--license", type=Path, metavar="LICENSE.json", help="the donor's signed likeness license")
    parser.add_argument("--release", type=Path, metavar="RELEASE.json",
                        help="the plate performer's signed plate release")
    parser.add_argument("--target", type=Path, metavar="IMAGE",
                        help="reference image of the plate face to replace (selects it by identity)")
    parser.add_argument("--select", choices=SELECT_RULES,
                        help="which faces to replace: by the --target reference, the largest, or all "
                             "(default: reference with --target, else largest)")
    parser.add_argument("--threshold", type=parse_threshold,
                        help="similarity to the --target reference that selects a face (default 0.35)")
    parser.add_argument("--allow-no-faces", action="store_true",
                        help="when no plate face is selected, write the plate through unchanged (still labelled) "
                             "instead of refusing the shot; for batch runs")
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
    parser.add_argument("--codec", choices=VIDEO_CODECS, metavar="NAME",
                        help="a video output's codec: " + ", ".join(VIDEO_CODECS) + " (default auto: the plate's "
                             "family, depth and chroma, e.g. ProRes 422 HQ for a ProRes plate; .mp4 holds only H.264)")
    parser.add_argument("--deliverable", action="store_true",
                        help="the output is a deliverable: burn in the visible AIGC label too "
                             "(every output carries the signed AIGC metadata)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_usage_arguments(parser, required=False)
    parser.set_defaults(func=run)


_SHOT_OPTIONS = ("donor", "plate", "out", "license", "release", "target", "select", "threshold", "frames", "rate",
                 "detector",
                 "recogniser", "preset", "crf", "codec", "production", "platform", "territory", "date", "shot_id")


def shot_from_args(args: argparse.Namespace) -> FaceShot:
    """The FaceShot the options describe (or the ``--shot`` file), refusing what is missing or mixed."""
    if args.shot is not None:
        mixed = [f"--{name.replace('_', '-')}" for name in _SHOT_OPTIONS if getattr(args, name, None) is not None]
        if mixed:
            raise ConfigError(f"--shot gives the whole shot; leave out {', '.join(mixed)}")
        shot = FaceShot.load(args.shot)
        if args.overwrite or args.deliverable:
            shot = replace(shot, output=replace(shot.output, overwrite=shot.output.overwrite or args.overwrite,
                                                deliverable=shot.output.deliverable or args.deliverable))
        if args.allow_no_faces:
            shot = replace(shot, plate_face=replace(shot.plate_face, when_none="pass_through"))
        return shot
    needed = {"--donor": args.donor, "--plate": args.plate, "--out": args.out, "--license": args.license,
              "--release": args.release, "--production": args.production, "--platform": args.platform,
              "--territory": args.territory, "--date": args.date}
    missing = [name for name, value in needed.items() if value is None]
    if missing:
        raise ConfigError(f"swap needs {', '.join(missing)} (or --shot SHOT.json): no face is swapped without "
                          "the donor's likeness license, the plate performer's release and where the shot is used")
    rule = args.select or ("reference" if args.target is not None else "largest")
    return FaceShot(
        shot_id=args.shot_id or args.out.name,
        plate=Plate(str(args.plate), args.frames, args.rate),
        donor=Donor(str(args.donor), args.donor_largest),
        license=DocumentRef(str(args.license)), release=DocumentRef(str(args.release)),
        usage=usage_from_args(args),
        output=Output(str(args.out), deliverable=args.deliverable, overwrite=args.overwrite),
        plate_face=PlateFace(rule, image=None if args.target is None else str(args.target),
                             **({} if args.threshold is None else {"threshold": args.threshold}),
                             when_none="pass_through" if args.allow_no_faces else "refuse"),
        swap=SwapSettings(args.backend, args.detector, args.recogniser, args.preset, args.crf, args.codec),
    )


def run(args: argparse.Namespace) -> int:
    shot = shot_from_args(args)
    overrides = {}
    if args.providers:
        providers = tuple(p.strip() for p in args.providers.split(",") if p.strip())
        if not providers:
            raise ConfigError("--providers: give at least one onnxruntime provider name")
        overrides["providers"] = providers
    if args.models_dir is not None:
        overrides["models_dir"] = args.models_dir
    with open_engine(getattr(args, "config", None), **overrides) as engine:
        try:
            with TerminalProgress("swap", disable=args.no_progress) as bar:
                outcome = engine.swap(shot, progress=bar)
        except SwapRefusedError as exc:
            print(f"faceright: shot {shot.shot_id!r} refused, nothing was written:", file=sys.stderr)
            print_refusal(exc, file=sys.stderr)
            return exc.exit_code
    results = outcome.shot.results
    for finding in outcome.findings:
        if finding.severity == "warning":
            print(f"faceright: warning {finding.code}: {finding.message}", file=sys.stderr)
    print(f"{shot.output.path}: {outcome.faces_swapped} face(s) swapped in {outcome.frames_swapped}/{outcome.frames} "
          f"frames with {outcome.swapper} ({outcome.fps:.1f} fps)")
    if not outcome.label.proven and not results.outputs:
        print(f"{shot.output.path}: not written: its AIGC label could not be proven on the finished file "
              "(a file already there is kept)", file=sys.stderr)
    print(f"covered by license {results.license_id} and release {results.release_id}; ProduceID {results.produce_id}")
    if args.results is not None:
        from faceright.atomic import write_replacing

        write_replacing(args.results, outcome.shot.dumps().encode("utf-8"))
        print(f"results: {args.results}")
    return report_label(outcome.label)


def print_refusal(exc: SwapRefusedError, *, indent: str = "  ", file=None) -> None:
    """The errors and warnings of a refused swap, errors first; the passed checks as a count."""
    order = {"error": 0, "warning": 1}
    shown = sorted((f for f in exc.findings if f.severity in order), key=lambda f: order[f.severity])
    for finding in shown:
        print(f"{indent}{finding.severity:7} {finding.code}: {finding.message}", file=file)
    passed = len(exc.findings) - len(shown)
    if passed:
        print(f"{indent}({passed} other check(s) passed)", file=file)


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
