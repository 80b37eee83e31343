"""``faceright demo``: the main job on the embedded example, on a fresh machine.

Makes a 2-second 720p plate from a public-domain portrait that ships in scikit-image, a
face-free cutaway, and a demo studio (a platform and a registry key, a signed likeness
license for the donor — the face from matplotlib's sample portrait — and a signed plate
release for the plate's performer). Then it writes an OTIO timeline of three cuts: sh010
(licensed), the cutaway, and sh030, whose donor is a face no license covers, and publishes
it with `faceright publish`: the publish is blocked, with the reason, and nothing is
swapped or integrated. The second step, printed as a command to copy, publishes the cut in
which sh030 uses the licensed donor: swapped, labelled, in the ledger, with its report.
"""
from __future__ import annotations

import argparse
import importlib
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from faceright.config import Config

if TYPE_CHECKING:   # the demo's and the engine's modules are imported when the demo runs, not for --help
    from ..demo import DemoStudio, PublishExample

#: the code the blocked shot must be refused with: its donor is not the licensed person
EXPECTED_BLOCK = "license.identity_mismatch"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="publish the embedded example: one shot blocked, then the licensed cut "
                                         "(no download, no setup)",
                            description=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--out", type=Path, default=Path("demo"), metavar="DIR",
                        help="folder for the plate, the timelines, the demo studio and the publish (default: ./demo)")
    parser.add_argument("--frames", type=int, default=48, help="plate length in frames (default 48, 2 s at 24 fps)")
    parser.add_argument("--backend", default="auto", metavar="auto|classic|MODEL", help="swap backend of the shots")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class BuiltExample:
    """The embedded example as made in a folder: its timelines, studio, plate and the studio's configuration."""

    example: PublishExample
    studio: DemoStudio
    plate: Path
    donor: Path
    config_file: Path

    def config(self) -> Config:
        """The demo studio's configuration, as `FACERIGHT_HOME=<its home> faceright ...` loads it."""
        return Config.load(self.config_file, environ={"FACERIGHT_HOME": str(self.studio.config.home)})


def build_example(folder: Path, *, frames: int = 48, broll: int = 24, backend: str = "auto",
                  studio_config: Config | None = None) -> BuiltExample:
    """Make the plate, the demo studio (keys, license, release, config.toml) and both timelines in
    ``folder`` (the demo, the tests and the benchmarks share it). ``studio_config`` gives the studio's
    engine and label settings (default: a bare configuration in the folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    from ..demo import PLATE_IMAGE, demo_files, demo_studio, packaged_image, publish_example, write_config, \
        write_demo_plate
    from ..jobs.local import LocalEngine

    files = demo_files(folder)
    write_demo_plate(files.plate, frames=frames)
    performer = packaged_image(*PLATE_IMAGE)
    studio_config = studio_config if studio_config is not None else Config({}, home=folder / "studio-home")
    with LocalEngine(studio_config) as probe:   # the studio's engine settings, for the demo's references
        studio = demo_studio(folder / "demo-studio", studio_config, probe.embedder(), donor=files.donor,
                             performer=performer)
    config_file = write_config(studio)
    example = publish_example(folder, studio, plate=files.plate, donor=files.donor, performer=performer,
                              frames=frames, broll=broll, backend=backend)
    return BuiltExample(example, studio, files.plate, files.donor, config_file)


def run(args: argparse.Namespace) -> int:
    built = build_example(args.out, frames=args.frames, backend=args.backend,
                          studio_config=getattr(args, "config", None) or Config.load())
    studio, example = built.studio, built.example
    print(f"plate:    {built.plate} ({args.frames} frames, 1280×720) from scikit-image's astronaut.png")
    print(f"donor:    {built.donor}")
    print(f"license:  {studio.license} (likeness of the donor, signed by a demo platform key)")
    print(f"release:  {studio.release} (the plate performer's release)")
    if studio.placeholder_labels:
        print("labels:   no studio label configured ([labels] provider_code + `faceright label keygen`): "
              f"the demo labels with the placeholder provider code and a demo key in {studio.license.parent}")
    print(f"timeline: {example.blocked}: sh010 (licensed), a cutaway, sh030 (its donor is not the licensed person)")
    program = _program()
    print(f"\n$ FACERIGHT_HOME={studio.config.home} {program} publish {example.blocked}")
    code, result = _publish(example.blocked, built.config(), args)
    blocked_as_expected = code == 1 and any(EXPECTED_BLOCK in line and example.unlicensed_shot in line
                                            for line in result.blocking)
    if not blocked_as_expected:   # the gate failed open, or something else went wrong: say so, fail
        print(f"demo: error: the publish of {example.blocked} was expected to block {example.unlicensed_shot} "
              f"with {EXPECTED_BLOCK}; it exited {code}")
        return 1
    home = shlex.quote(str(studio.config.home))
    print(f"\nThe publish was blocked on purpose: {example.unlicensed_shot}'s donor is not the person the license "
          "covers, so nothing was swapped or written to the ledger (see the report above).")
    print("Step 2: publish the cut in which sh030 uses the licensed donor (swapped, labelled, ledger, report):\n")
    print(f"  FACERIGHT_HOME={home} {program} publish {shlex.quote(str(example.licensed))}\n")
    return 0


def _program() -> str:
    """How to call faceright again from this shell: ``faceright`` when that is on PATH and is this
    program, else the path it was started by (``.venv/bin/faceright`` on a fresh machine)."""
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started is None or started.name != "faceright":
        return "faceright"   # called from Python (a test, a host): name the command
    on_path = shutil.which("faceright")
    if on_path is not None and Path(on_path).resolve() == started.resolve():
        return "faceright"
    return shlex.quote(os.path.relpath(started) if not started.is_absolute() else str(started))


def _publish(timeline: Path, config: Config, args: argparse.Namespace):
    """Run `faceright publish TIMELINE` as the user would, with the demo studio's configuration."""
    publish_cli = importlib.import_module("faceright.validators.cli")
    options = argparse.Namespace(timeline=timeline, deliverable=None, out=None, ledger=None, engine="local",
                                 json=False, no_progress=args.no_progress, config=config,
                                 verbose=getattr(args, "verbose", 0))
    return publish_cli.run_for_result(options)
