"""A real engine service for tests: the demo studio under a path root, and `faceright engine serve` as a process.

:func:`make_studio` builds the embedded example (plate, keys, signed license and release) in
``folder/show`` and writes the service's config: the studio's own, plus the ``show`` root and
a ``[service]`` table. :class:`ServiceProcess` runs the real command on a free loopback port
and stops it with SIGTERM (or kills it with SIGKILL when a test asks).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from faceright.config import Config


@dataclass(frozen=True)
class Studio:
    root: Path            #: the "show" root's folder on this machine
    home: Path            #: FACERIGHT_HOME of the service (keyring, labels, config.toml, jobs, ledger)
    config_file: Path
    built: Any            #: the BuiltExample

    def config(self) -> Config:
        return Config.load(self.config_file, environ={"FACERIGHT_HOME": str(self.home)})

    def shot(self, shot_id: str, output: str, *, plate: str = "show:small.mp4", donor: str | None = None,
             frames: tuple[int, int] | None = None, overwrite: bool = False, crf: int | None = 0) -> dict[str, Any]:
        """A FaceShot.1 document over the studio's files, every medium named ``show:...`` (``frames``:
        first and end, half-open).

        ``crf`` 0 (lossless) by default: these tests compare the pictures of runs made in different
        processes (service and in-process, farm chunks and one process), and libx264's MB-tree rate
        control reads memory it never initialised on small frames (a 320×180 clip encodes to other
        bytes after the process has encoded a larger one; ``mbtree=0`` or ``psy=0`` make it
        repeatable). Lossless, the decoded pictures are exactly the frames faceright handed the
        encoder, which is what these runs must agree on (:func:`pictures_md5`)."""
        studio = self.built.studio
        from faceright import jsoncodec

        doc: dict[str, Any] = {
            "schema": "FaceShot.1", "shot_id": shot_id, "plate": {"path": plate},
            "donor": {"image": donor or f"show:{self.built.donor.name}"},
            "license": {"path": f"show:{studio.license.relative_to(self.root)}"},
            "release": {"path": f"show:{studio.release.relative_to(self.root)}"},
            "usage": jsoncodec.encode(studio.usage), "output": {"path": output, "overwrite": overwrite},
            "plate_face": {"rule": "largest"}, "swap": {"backend": "classic", **({"crf": crf} if crf is not None else {})},
        }
        if frames is not None:
            doc["plate"]["frames"] = {"first": frames[0], "last": frames[1] - 1}   # FaceShot ranges are inclusive
        return doc


def make_studio(folder: Path, *, plate_frames: int = 6, size: tuple[int, int] = (320, 180),
                service: dict[str, Any] | None = None, long_plate: int = 0, example: tuple[int, int] = (4, 1)) -> Studio:
    """``example``: the embedded example's plate and cutaway lengths (its timelines' cuts); the
    default is the least that builds, a publish's deliverable needs 2 s (48 + 1 frames) for its label."""
    from faceright.engine.cli.demo import build_example
    from faceright.engine.demo import write_demo_plate

    root = folder / "show"
    built = build_example(root, frames=example[0], broll=example[1], backend="classic")
    write_demo_plate(root / "small.mp4", frames=plate_frames, size=size)
    if long_plate:
        write_demo_plate(root / "long.mp4", frames=long_plate, size=size)
    (root / "out").mkdir()
    shutil.copyfile(built.donor, root / built.donor.name)   # the donor ships in matplotlib: bring it under the root
    home = built.studio.config.home
    settings = {"max_queued": 16, **(service or {})}
    lines = [built.config_file.read_text(encoding="utf-8"), "", "[paths.show]", f"linux = {json.dumps(str(root))}",
             "", "[service]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    config_file = home / "config.toml"
    config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Studio(root, home, config_file, built)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def faceright_command(python: str | None = None) -> list[str]:
    return [python or sys.executable, "-m", "faceright.cli.main"]


class ServiceProcess:
    """``faceright engine serve`` for ``studio`` on a free loopback port (or ``listen``)."""

    def __init__(self, studio: Studio, *, listen: str | None = None, env: dict[str, str] | None = None,
                 log: Path | None = None, python: str | None = None) -> None:
        self.studio = studio
        self.python = python
        self.listen = listen or f"127.0.0.1:{free_port()}"
        host, port = self.listen.rsplit(":", 1)
        self.url = f"http://{host}:{port}"
        self.env = {**os.environ, "FACERIGHT_HOME": str(studio.home), **(env or {})}
        self.env.pop("FACERIGHT_SERVICE_URL", None)
        self.log = log or studio.home / f"service-{port}.log"
        self.process: subprocess.Popen | None = None
        self.health_headers: dict[str, str] = {}   #: e.g. the token, for a service that needs one

    def start(self, *, timeout: float = 60.0) -> ServiceProcess:
        self._log = self.log.open("ab")
        self.process = subprocess.Popen([*faceright_command(self.python), "engine", "serve", "--listen", self.listen],
                                        env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited {self.process.returncode}: {self.output()}")
            try:
                health = requests.get(f"{self.url}/health", headers=self.health_headers, timeout=1).json()
                if all(d["ready"] for d in health.get("devices", [])) and health.get("devices"):
                    return self
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the service did not become ready in {timeout} s: {self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._log.close()

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(10)
        self._log.close()
        return code

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def pictures_md5(path: Path | str) -> str:
    """The MD5 of a file's decoded video pictures, as ffmpeg (not faceright) decodes them."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-f", "md5", "-"],
                         check=True, capture_output=True, text=True).stdout
    return out.strip()
