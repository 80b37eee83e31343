"""Path roots: one media name for Windows artists, Linux farms and Mac editors.

A FaceShot may name media as ``root:relative/path``. The TD maps each root per platform:

    [paths.show]
    linux = "/mnt/show"
    windows = "S:/show"
    darwin = "/Volumes/show"

:meth:`PathRoots.resolve` turns a name into this machine's path and refuses anything that
would leave the root: ``..``, an absolute or drive-letter path after the colon, or a
symlink whose target lies outside. :meth:`PathRoots.to_ref` goes the other way, for a host
that hands over a bare path (Resolve exports bare Windows paths such as ``S:\\show\\a.mov``).
A name without a root (``plate.mov``, ``/tmp/plate.mov``, ``C:\\plate.mov``) is a plain local path.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Literal, Mapping

from .errors import ConfigError, PathRootError

Platform = Literal["linux", "windows", "darwin"]
PLATFORMS: tuple[Platform, ...] = ("linux", "windows", "darwin")

#: a root name: two characters at least, so that ``C:`` stays a Windows drive
_REF = re.compile(r"^(?P<root>[A-Za-z][A-Za-z0-9_.-]+):(?P<rel>.*)$")


def this_platform() -> Platform:
    if sys.platform.startswith("win"):
        return "windows"
    return "darwin" if sys.platform == "darwin" else "linux"


def split_ref(name: str) -> tuple[str, str] | None:
    """``(root, relative)`` of a ``root:relative/path`` name, or None for a plain path."""
    match = _REF.match(name)
    if match is None or match["rel"].startswith("//"):   # a URL (file://...) is not a root name
        return None
    return match["root"], match["rel"]


@dataclass(frozen=True)
class PathRoots:
    """The TD's roots: ``{name: {platform: prefix}}``."""

    roots: Mapping[str, Mapping[Platform, str]] = field(default_factory=dict)
    platform: Platform = field(default_factory=this_platform)

    @classmethod
    def from_table(cls, table: Mapping[str, Any] | None, *, platform: Platform | None = None) -> PathRoots:
        """From the config's ``[paths]`` table, refusing unknown platforms and non-string prefixes."""
        roots: dict[str, dict[Platform, str]] = {}
        for name, prefixes in (table or {}).items():
            where = f"[paths.{name}]"
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]+", name):
                raise ConfigError(f"{where}: a root name is a letter then letters, digits, '_', '.' or '-' "
                                  "(two characters at least, so it cannot be read as a drive letter)")
            if not isinstance(prefixes, Mapping):
                raise ConfigError(f"{where} must be a table of platform = prefix, e.g. linux = \"/mnt/show\"")
            unknown = sorted(set(prefixes) - set(PLATFORMS))
            if unknown:
                raise ConfigError(f"{where}: unknown platform(s) {', '.join(unknown)}; known: {', '.join(PLATFORMS)}")
            for key, value in prefixes.items():
                if not isinstance(value, str) or not value:
                    raise ConfigError(f"{where}.{key} must be a folder path string")
            roots[name] = dict(prefixes)
        return cls(roots, platform or this_platform())

    # -- name -> path ---------------------------------------------------------------------------

    def resolve(self, name: str | os.PathLike[str]) -> Path:
        """This machine's path for ``name``; a plain path is returned as it is."""
        text = os.fspath(name)
        ref = split_ref(text)
        if ref is None:
            return Path(text)
        root, rel = ref
        prefix = self._prefix(root, text)
        parts = _relative_parts(rel, text)
        base = Path(prefix)
        path = base.joinpath(*parts)
        real_base, real = Path(os.path.realpath(base)), Path(os.path.realpath(path))
        if real != real_base and real_base not in real.parents:
            raise PathRootError(f"{text!r} leads to {real}, outside root {root!r} ({real_base}) through a "
                                "symbolic link; media must stay inside their root")
        return path

    def _prefix(self, root: str, text: str) -> str:
        prefixes = self.roots.get(root)
        if prefixes is None:
            known = ", ".join(sorted(self.roots)) or "none configured"
            raise PathRootError(f"{text!r} names root {root!r}, which the config's [paths] table does not "
                                f"define (roots: {known}); a TD adds [paths.{root}] with a prefix per platform")
        prefix = prefixes.get(self.platform)
        if prefix is None:
            raise PathRootError(f"root {root!r} has no {self.platform} prefix in [paths.{root}], so {text!r} "
                                f"cannot be found on this machine (set {self.platform} = \"...\")")
        return prefix

    # -- path -> name ---------------------------------------------------------------------------

    def to_ref(self, path: str | os.PathLike[str]) -> str:
        """``root:relative`` for a path under one of the roots (any platform's prefix, either
        slash), else the path unchanged. The longest matching prefix wins."""
        text = os.fspath(path)
        if split_ref(text) is not None:
            return text
        best: tuple[int, str, str] | None = None
        for root, prefixes in self.roots.items():
            for platform, prefix in prefixes.items():
                rel = _under(text, prefix, windows=platform == "windows")
                if rel is not None and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), root, rel)
        return text if best is None else f"{best[1]}:{best[2]}"


def _relative_parts(rel: str, text: str) -> tuple[str, ...]:
    if not rel:
        raise PathRootError(f"{text!r} names a root but no file in it")
    normal = rel.replace("\\", "/")
    if normal.startswith("/") or PureWindowsPath(rel).drive:
        raise PathRootError(f"{text!r}: the part after the root must be relative, not {rel!r}")
    parts = tuple(p for p in PurePosixPath(normal).parts if p not in ("", "."))
    if ".." in parts:
        raise PathRootError(f"{text!r} climbs out of its root with '..'; name the file inside the root")
    return parts


def _under(text: str, prefix: str, *, windows: bool) -> str | None:
    if windows:
        path, base = PureWindowsPath(text), PureWindowsPath(prefix)
        if not path.drive:
            return None
        norm = [p.lower() for p in path.parts]
        if norm[: len(base.parts)] != [p.lower() for p in base.parts]:
            return None
        return "/".join(path.parts[len(base.parts):]) or None
    posix, root = PurePosixPath(text.replace("\\", "/")), PurePosixPath(prefix)
    if not posix.is_absolute() or posix.parts[: len(root.parts)] != root.parts:
        return None
    return "/".join(posix.parts[len(root.parts):]) or None
