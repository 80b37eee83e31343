"""Files that appear whole or not at all, and never over their own source: the one atomic writer.

:class:`AtomicOutput` hands out a temporary name in the output's own folder (so the final
rename stays on one file system and is atomic); :meth:`~AtomicOutput.commit` puts it under
the final name, :meth:`~AtomicOutput.discard` removes it. A previous file under the final
name is untouched until the commit and survives a failed write. Two modes:

- **replace** (``overwrite=True``): the commit replaces what is there (``os.replace``), as
  for the keyring, the model manifest, cached revocation lists and ``--overwrite`` renders;
- **never clobber** (``overwrite=False``): the commit hard-links the file in, which fails if
  the name appeared meanwhile, so nothing is ever replaced (signed documents, new renders).

The temporary name keeps the final suffix (``.plate.mov.1f3a9c2e.partial.mov``) so writers
that pick a format by extension still do; it starts with a dot so file browsers and
sequence scanners do not show it. Media writers (``faceright.engine.media``) and state files
use this same class.
"""
from __future__ import annotations

import errno
import logging
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from faceright.errors import OutputError, OutputExistsError, OutputIsSourceError

__all__ = ["AtomicOutput", "check_output_path", "same_file", "replacing", "write_replacing", "write_new"]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file: equal paths, symlinks or hard links."""
    pa, pb = Path(a), Path(b)
    try:
        return os.path.samefile(pa, pb)
    except OSError:
        return pa.resolve(strict=False) == pb.resolve(strict=False)


def check_output_path(path: PathLike, *, sources: Iterable[PathLike] = (), overwrite: bool = False) -> Path:
    """Refuse an output path that is a source, an existing file (unless ``overwrite``), a folder
    or inside a missing folder. Returns the path."""
    path = Path(path)
    for source in sources:
        if same_file(path, source):
            raise OutputIsSourceError(
                f"the output {path} is the source {source} (the same file or a link to it): "
                "faceright never writes over its source media; choose another output name")
    if path.is_dir():
        raise OutputError(f"the output {path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise OutputError(f"the output folder {path.parent} does not exist; create it first")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"the output {path} exists; pass overwrite=True (--overwrite) to replace it")
    return path


class AtomicOutput:
    """A temporary file beside ``path`` that becomes ``path`` on :meth:`commit`.

    Use as a context manager: leaving the block with an exception discards the temporary
    file; leaving it normally does *not* commit (the writer decides when the file is whole).
    """

    def __init__(self, path: PathLike, *, sources: Iterable[PathLike] = (), overwrite: bool = False):
        self.sources = tuple(Path(s) for s in sources)
        self.overwrite = overwrite
        self.path = check_output_path(path, sources=self.sources, overwrite=overwrite)
        self.temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.partial{self.path.suffix}")
        self.committed = False

    def commit(self) -> Path:
        """Move the finished temporary file to the final name; return the final path."""
        if not self.temp.exists():
            raise OutputError(f"nothing was written to {self.temp} for {self.path}")
        try:
            # the sources may have changed since we opened (a link made meanwhile)
            check_output_path(self.path, sources=self.sources, overwrite=True)
            if self.overwrite:
                os.replace(self.temp, self.path)
            else:
                self._link_without_clobbering()
        except BaseException:
            self.discard()
            raise
        self.committed = True
        log.debug("wrote %s", self.path)
        return self.path

    def _link_without_clobbering(self) -> None:
        # link() fails if the target exists: no window in which another file could be replaced
        try:
            os.link(self.temp, self.path)
        except FileExistsError as exc:
            raise OutputExistsError(
                f"the output {self.path} appeared while it was being written; "
                "pass overwrite=True (--overwrite) to replace it") from exc
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise OutputError(f"cannot move {self.temp} to {self.path}: {exc}") from exc
            # a file system without hard links: check, then rename
            if self.path.exists():
                raise OutputExistsError(f"the output {self.path} appeared while it was being written") from exc
            os.replace(self.temp, self.path)
            return
        self.temp.unlink()

    def discard(self) -> None:
        """Remove the temporary file (if any); the final name is left as it was."""
        try:
            self.temp.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not remove the partial output %s: %s", self.temp, exc)

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None and not self.committed:
            self.discard()


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A new empty temporary file beside ``path`` (whose folder is created): it replaces ``path``
    when the block ends normally, and is removed when the block raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with AtomicOutput(path, overwrite=True) as out:
        out.temp.touch()
        yield out.temp
        out.commit()


def write_replacing(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`replacing`."""
    with replacing(path) as temp:
        temp.write_bytes(data)


def write_new(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``, which must not exist, now or when the write ends."""
    with AtomicOutput(path, overwrite=False) as out:
        try:
            out.temp.write_bytes(data)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return out.commit()
