"""What the service accepts from a client: a FaceShot whose media all lie inside the TD's roots.

A client names media only as ``root:relative/path`` (the core's path roots). A plain path —
absolute, relative, ``C:\\...``, ``\\\\server\\share`` — is refused: the service never opens a
path a client spelled for its own machine. Each name is resolved by
:meth:`~faceright.paths.PathRoots.resolve` (no ``..``, no absolute part, backslashes read as
separators) and then checked again *after* every symlink is resolved (ComfyUI's /view hole was
a containment check made before): inputs must be regular files inside their root — not a
folder, a device, a FIFO or a socket — and the output's folder must exist inside its root,
with no symlink at the output's own name.

Messages name media by their ``root:`` names: no server path reaches a client (:func:`redact`).
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

from faceright.errors import PathRootError, ServiceError
from faceright.paths import PathRoots, split_ref
from faceright.shot import FaceShot, FileHash

#: the FaceShot members that name media, and whether each is read (input) or written (output)
MEDIA = (("plate.path", True), ("donor.image", True), ("plate_face.image", True), ("license.path", True),
         ("release.path", True), ("output.path", False))
#: a model chosen by a client (swap.backend/detector/recogniser): a catalog name, never a path (the
#: catalog opens a name with a separator or an .onnx suffix as a file on the service's machine)
_MODEL_NAME = re.compile(r"(?![.~\s])(?!.*\.onnx\s*$)[^/\\:\x00-\x1f]{1,200}", re.IGNORECASE)


def names_of(shot: FaceShot) -> list[tuple[str, str, bool]]:
    """``(member, name, is_input)`` for every media name the shot gives."""
    found = []
    for member, is_input in MEDIA:
        obj: Any = shot
        for part in member.split("."):
            obj = getattr(obj, part)
        if obj is not None:
            found.append((member, obj, is_input))
    return found


def check_media(shot: FaceShot, roots: PathRoots) -> None:
    """Refuse (``ServiceError`` with a ``path.*`` code, HTTP 400) any media name the service must not open."""
    if not roots.roots:
        raise ServiceError("the service has no path roots ([paths] in its config), so it can open no media",
                           code="path.no_roots", status=503)
    for member, name, is_input in names_of(shot):
        check_name(member, name, roots, is_input=is_input)
    for member in ("backend", "detector", "recogniser"):
        choice = getattr(shot.swap, member)
        if choice is not None and not _MODEL_NAME.fullmatch(choice):
            raise ServiceError(f"swap.{member} {choice!r} is not a model name: the service uses only the models "
                               "installed on it, by catalog name (`faceright models list` there), never a file a "
                               "client names", code="shot.invalid", status=400)


def check_name(member: str, name: str, roots: PathRoots, *, is_input: bool) -> Path:
    if split_ref(name) is None:
        raise ServiceError(f"{member} {name!r} is not a root:relative/path name; the service opens media only "
                           f"inside its roots ({', '.join(sorted(roots.roots))})", code="path.not_rooted", status=400)
    root = split_ref(name)[0]   # type: ignore[index]
    if "\x00" in name:     # no file name holds a NUL (os.path would raise ValueError: a 500)
        raise ServiceError(f"{member} {name!r} holds a NUL character, which no file name inside a root can",
                           code="path.outside_roots", status=400)
    try:
        path = roots.resolve(name)
    except PathRootError as exc:
        # resolve() names where a symlink leads, a path of this machine outside every root: never sent
        message = (f"{name!r} leads outside its root through a symbolic link; media must stay inside their root"
                   if "symbolic link" in str(exc) else redact(str(exc), roots))
        raise ServiceError(f"{member}: {message}", code="path.outside_roots", status=400) from None
    real_root = Path(os.path.realpath(roots.roots[root][roots.platform]))   # resolve() found the prefix
    if is_input:
        real = Path(os.path.realpath(path))
        _inside(member, name, real, real_root)
        try:
            mode = os.stat(real).st_mode
        except OSError:
            raise ServiceError(f"{member} {name!r} does not exist on the service's machine", code="path.missing",
                               status=400) from None
        if not stat.S_ISREG(mode):
            raise ServiceError(f"{member} {name!r} is not a regular file (a folder, device, FIFO or socket); the "
                               "service reads media files only", code="path.not_a_file", status=400)
        return path
    if path.is_symlink():
        raise ServiceError(f"{member} {name!r} is a symbolic link; the service writes outputs only under real "
                           "names inside its roots", code="path.outside_roots", status=400)
    parent = Path(os.path.realpath(path.parent))
    _inside(member, name, parent, real_root, allow_root=True)
    if not parent.is_dir():
        raise ServiceError(f"{member} {name!r}: its folder does not exist on the service's machine; make it first",
                           code="path.missing", status=400)
    if path.exists() and not path.is_file():
        raise ServiceError(f"{member} {name!r} exists and is not a regular file", code="path.not_a_file", status=400)
    return path


def _inside(member: str, name: str, real: Path, real_root: Path, *, allow_root: bool = False) -> None:
    if (allow_root and real == real_root) or real_root in real.parents:
        return
    raise ServiceError(f"{member} {name!r} leads outside its root through a symbolic link; media must stay inside "
                       "their root", code="path.outside_roots", status=400)


def redact(message: str, roots: PathRoots) -> str:
    """``message`` with this machine's root prefixes written as ``root:`` (longest first)."""
    prefixes: list[tuple[str, str]] = []
    for root, by_platform in roots.roots.items():
        prefix = by_platform.get(roots.platform)
        if prefix:
            for form in {prefix, os.path.realpath(prefix)}:
                prefixes.append((form.rstrip("/\\"), root))
    for prefix, root in sorted(prefixes, key=lambda p: -len(p[0])):
        message = message.replace(prefix + os.sep, f"{root}:").replace(prefix, f"{root}:")
    return message


def redact_json(value: Any, roots: PathRoots) -> Any:
    """Every string in a JSON value passed through :func:`redact`."""
    if isinstance(value, str):
        return redact(value, roots)
    if isinstance(value, dict):
        return {k: redact_json(v, roots) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_json(v, roots) for v in value]
    return value


def as_refs(shot: FaceShot, roots: PathRoots) -> FaceShot:
    """The shot with its results' output files named as ``root:`` names, as the client gave them."""
    if shot.results is None:
        return shot
    outputs = tuple(FileHash(roots.to_ref(o.path), o.sha256) for o in shot.results.outputs)
    return shot.with_results(replace(shot.results, outputs=outputs))
