"""Files that appear whole or not at all, and never over their own source: the one atomic writer.

:class:`AtomicOutput` hands out a temporary name in the output's own folder (so the final
rename stays on one file system and is atomic); :meth:`~AtomicOutput.commit` puts it under
the final name, :meth:`~AtomicOutput.discard` removes it. A previous file under the final
name is untouched until the commit and survives a failed write. Two modes:

- **replace** (``overwrite=True``): the commit replaces what is there (``os.replace``), as
  for the keyring, the model manifest, cached revocation lists and ``--overwrite`` renders;
- **never clobber** (``overwrite=False``): the commit hard-links the file in, which fails if
  the name appeared meanwhile, so nothing is ever replaced (signed documents, new renders).

**Partial files.** The temporary name keeps the final suffix, so writers that pick a format
by extension still do, starts with a dot, so file browsers and sequence scanners do not show
it, and names the writer: ``.NAME.TOKEN.HOST.PID.partial.SUFFIX``, e.g.
``.plate.mov.1f3a9c2e.render-07.4242.partial.mov`` (``TOKEN``: 8 random hex digits; ``HOST``:
this machine's name, letters, digits and ``-`` only; ``PID``: the writing process). A writer
may derive more temporary files from its partial by appending to that name
(``....partial.mov.unsigned.mov``); they are partials of the same output.

An interrupted write (Ctrl-C, SIGTERM through the CLI, an exception) removes its partial. A
process that is killed outright (SIGKILL, a crash, a power cut) cannot, so each new
:class:`AtomicOutput` first removes the *stale* partials of its own output
(:func:`remove_stale_partials`). The rule, chosen so that a live writer never loses its file:

- only regular files (never links or folders) in the output's folder whose whole name parses
  as a partial of exactly this output name (same ``NAME``, same suffix; or a temporary derived
  from such a partial, whose name ends in the suffix too) are considered; a user's file,
  another output's partial, anything else is never touched;
- a partial written on this machine (its ``HOST`` is this machine's) is stale as soon as the
  process ``PID`` no longer exists; while that pid is alive it is kept, unless it has not been
  modified for :data:`STALE_PID_REUSED_S` (a day: the pid has been reused by another process);
- a partial from another machine (on a shared folder), or one without a writer in its name
  (an older faceright's ``.NAME.TOKEN.partial.SUFFIX``), or any partial on a system where
  process ids cannot be checked (Windows), is stale once it has not been modified for
  :data:`STALE_AFTER_S` (an hour: a writer that is alive writes far more often than that).

Two machines must not share a host name for the pid rule to hold (containers get their own).

Write failures (a full disk, a read-only or unwritable folder, a file where a folder should
be) become an :class:`~faceright.errors.OutputError` that names the path and what to do
(:func:`write_error`), and leave no partial behind. Media writers
(``faceright.engine.media``) and state files use this same class.
"""
from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from faceright.errors import OutputError, OutputExistsError, OutputIsSourceError

__all__ = ["AtomicOutput", "check_output_path", "same_file", "replacing", "write_replacing", "write_new",
           "make_folder", "write_error", "remove_stale_partials", "staging_folder", "remove_stale_staging", "exchange",
           "exchange_folder", "partial_target",
           "STALE_AFTER_S", "STALE_PID_REUSED_S"]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike

#: seconds without a change after which a partial whose writer cannot be checked is stale
STALE_AFTER_S = 60 * 60
#: seconds without a change after which a partial of a live pid on this machine is stale anyway
STALE_PID_REUSED_S = 24 * 60 * 60

_PARTIAL = re.compile(r"^\.(?P<target>.+)\.(?P<token>[0-9a-f]{8})"
                      r"(?:\.(?P<host>[A-Za-z0-9-]{1,32})\.(?P<pid>[0-9]{1,10}))?\.partial(?P<rest>.*)$", re.S)


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
        raise OutputExistsError(f"the output {path} exists; pass --overwrite to replace it "
                                "(overwrite=True from Python)")
    return path


# -- errors -------------------------------------------------------------------------------------

def write_error(exc: OSError, path: PathLike) -> OutputError:
    """An :class:`OutputError` for a failed write of ``path``: what went wrong and what to do."""
    path = Path(path)
    folder = path.parent
    code = exc.errno
    if code == errno.ENOSPC:
        why = f"the disk holding {folder} is full (no space left on device); free space there or write elsewhere"
    elif code == getattr(errno, "EDQUOT", None):
        why = f"the disk quota for {folder} is used up; free space there or write elsewhere"
    elif code == errno.EROFS:
        why = f"{folder} is on a read-only file system; write elsewhere"
    elif code in (errno.EACCES, errno.EPERM):
        why = f"permission denied in {folder}; make it writable for this user or write elsewhere"
    elif code == errno.ENOTDIR:
        why = f"a file stands where a folder of {folder} should be; move it away or write elsewhere"
    else:
        why = exc.strerror or str(exc)
    return OutputError(f"cannot write {path}: {why}")


def make_folder(folder: PathLike) -> Path:
    """Create ``folder`` and its parents (if missing); a file in the way, a read-only or unwritable
    parent become an :class:`OutputError` naming the folder and what to do."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder)
        raise OutputError(f"cannot create the folder {folder}: {blocker} is a file, not a folder; "
                          "move it away or choose another location") from exc
    except OSError as exc:
        existing = next((p for p in folder.parents if p.is_dir()), folder.parent)
        raise OutputError(f"cannot create the folder {folder}: "
                          f"{_folder_reason(exc, existing)}") from exc
    return folder


def _folder_reason(exc: OSError, existing: Path) -> str:
    if exc.errno == errno.EROFS:
        return f"{existing} is on a read-only file system; choose another location"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied in {existing}; make it writable for this user or choose another location"
    if exc.errno == errno.ENOSPC:
        return f"the disk holding {existing} is full; free space there or choose another location"
    return exc.strerror or str(exc)


# -- stale partials -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Partial:
    target: str            #: the output's file name
    host: str | None       #: the writer's machine, None in an older faceright's name
    pid: int | None        #: the writer's process id


def _parse_partial(name: str) -> _Partial | None:
    """The partial ``name`` parsed, or None when it is not one. A temporary derived from a partial
    (its name plus more ending in the same suffix) and the partial of such a temporary (a writer
    writing through a second AtomicOutput) belong to the first output."""
    match = _PARTIAL.match(name)
    if match is None:
        return None
    target, rest = match["target"], match["rest"]
    suffix = os.path.splitext(target)[1]
    if not (rest == suffix or (rest.startswith(suffix + ".") and rest.endswith(suffix))):
        return None
    inner = _parse_partial(target) if target.startswith(".") else None
    return _Partial(inner.target if inner is not None else target, match["host"],
                    int(match["pid"]) if match["pid"] else None)


def _host() -> str:
    """This machine's name as it appears in partial names: letters, digits and ``-``."""
    name = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()).strip("-")
    return name[:32] or "host"


def _pid_alive(pid: int) -> bool | None:
    """Whether process ``pid`` exists on this machine; None where that cannot be checked."""
    if os.name != "posix":
        return None             # os.kill(pid, 0) would end the process on Windows
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True             # another user's live process
    except OSError:
        return None
    return True


def _is_stale(partial: _Partial, age_s: float) -> bool:
    if partial.host is not None and partial.pid is not None and partial.host == _host():
        alive = _pid_alive(partial.pid)
        if alive is False:
            return True
        if alive is True:
            return age_s > STALE_PID_REUSED_S
    return age_s > STALE_AFTER_S


def remove_stale_partials(folder: PathLike, target: str | Callable[[str], bool]) -> list[Path]:
    """Remove the stale partials (see the module's rule) of the output ``target`` in ``folder``:
    one file name, or a test on file names (every frame file of a sequence). Returns what was removed."""
    folder = Path(folder)
    wanted = (lambda name: name == target) if isinstance(target, str) else target
    prefix = f".{target}." if isinstance(target, str) else "."
    nested = "." + prefix
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        log.debug("cannot look for stale partials in %s: %s", folder, exc)
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith((prefix, nested)) or ".partial" not in entry.name:
            continue
        partial = _parse_partial(entry.name)
        if partial is None or not wanted(partial.target):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
            if not _is_stale(partial, age):
                continue
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("could not remove the stale partial output %s: %s", entry.path, exc)
            continue
        log.info("removed the stale partial output %s (its writer is gone)", entry.path)
        removed.append(Path(entry.path))
    return removed


def partial_target(name: str) -> str | None:
    """The output a partial's file name belongs to (``.out.0001.png.1f3a9c2e.host.42.partial.png`` →
    ``out.0001.png``), or None when ``name`` is not a partial's."""
    partial = _parse_partial(name)
    return partial.target if partial is not None else None


# -- staging folders: a whole image sequence at once ----------------------------------------------

def staging_folder(folder: PathLike) -> Path:
    """A new hidden staging folder beside ``folder`` (same parent, so the same file system), named as a
    partial of ``folder``: ``.NAME.TOKEN.HOST.PID.partial.staging``. Created empty."""
    folder = Path(folder)
    stage = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}.{_host()}.{os.getpid()}.partial.staging")
    try:
        stage.mkdir()
    except OSError as exc:
        raise write_error(exc, stage) from exc
    return stage


def remove_stale_staging(folder: PathLike) -> list[Path]:
    """Remove the staging folders of ``folder`` whose writer is gone (the partials' rule)."""
    import shutil

    folder = Path(folder)
    removed = []
    try:
        entries = [e for e in os.scandir(folder.parent) if e.name.startswith(f".{folder.name}.")]
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        partial = _parse_partial(entry.name)
        if partial is None or partial.target != folder.name or not entry.name.endswith(".partial.staging"):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or not _is_stale(partial, now - entry.stat().st_mtime):
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        log.info("removed the stale staging folder %s (its writer is gone)", entry.path)
        removed.append(Path(entry.path))
    return removed


def exchange(a: PathLike, b: PathLike) -> bool:
    """Swap the names of ``a`` and ``b`` in one step (Linux ``renameat2(RENAME_EXCHANGE)``): whoever
    looks sees one or the other, never neither nor a mix. False where the system or the file system
    cannot (another OS, an old kernel, some network file systems): the caller then does without."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(os.fspath(a)), at_fdcwd, os.fsencode(os.fspath(b)), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV, errno.EBUSY):
        return False
    raise write_error(OSError(err, os.strerror(err), os.fspath(b)), Path(b))



def exchange_folder(stage: PathLike, folder: PathLike, ours: Callable[[str], bool]) -> bool:
    """Put ``stage`` in ``folder``'s place in one step (:func:`exchange`), keeping everything else
    ``folder`` holds: each of its entries that ``ours(name)`` does not claim is hard-linked into
    ``stage`` first (the same file, not a copy; a symbolic link is made again), so a reader of the
    folder sees all of the old entries or all of the new ones, and the other files are untouched.
    Afterwards, what another process added to or replaced in ``folder`` while this ran is moved
    over from the old folder (now at ``stage``'s name), which is then removed.

    False, with ``folder`` unchanged and ``stage`` holding whatever was linked, where the exchange
    cannot keep that promise: ``folder`` holds a folder (it cannot be linked), belongs to another
    user or group (an exchange would change its owner), a file cannot be linked (another file
    system's rules, ``fs.protected_hardlinks``), or the system has no exchange."""
    import shutil

    stage, folder = Path(stage), Path(folder)
    try:
        here = os.stat(folder)
        if not hasattr(os, "getuid") or here.st_uid != os.getuid():
            return False
        if os.stat(stage).st_gid != here.st_gid:
            os.chown(stage, -1, here.st_gid)
        os.chmod(stage, here.st_mode & 0o7777)
        linked: dict[str, int] = {}
        for entry in os.scandir(folder):
            if ours(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                return False
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), stage / entry.name)
            else:
                os.link(entry.path, stage / entry.name, follow_symlinks=False)
            linked[entry.name] = entry.inode()
    except OSError as exc:
        log.info("%s: its frames are put in place one by one (%s)", folder, exc)
        return False
    if not exchange(stage, folder):
        return False
    moved_all = True
    for entry in os.scandir(stage):      # the old folder now: what changed there meanwhile goes over
        if ours(entry.name) or linked.get(entry.name) == entry.inode():
            continue
        try:
            if entry.name in linked:     # replaced while this ran: the newer file wins
                os.replace(entry.path, folder / entry.name)
            elif not os.path.lexists(folder / entry.name):   # added while this ran
                os.rename(entry.path, folder / entry.name)
        except OSError as exc:
            log.warning("could not move %s into %s after the exchange: %s", entry.path, folder, exc)
            moved_all = False
    if moved_all:
        shutil.rmtree(stage, ignore_errors=True)
    else:   # never removed as a stale staging folder: what is left there is someone's
        kept = stage.with_name(f".{folder.name}.kept-{secrets.token_hex(4)}")
        os.rename(stage, kept)
        log.warning("%s keeps what could not be moved back into %s", kept, folder)
    return True


# -- the writer ---------------------------------------------------------------------------------

class AtomicOutput:
    """A temporary file beside ``path`` that becomes ``path`` on :meth:`commit`.

    Use as a context manager: leaving the block with an exception (KeyboardInterrupt included)
    discards the temporary file; leaving it normally does *not* commit (the writer decides when
    the file is whole). The stale partials of ``path`` are removed first, unless
    ``clean_stale=False`` (a caller that has cleaned a whole sequence's folder once).
    """

    def __init__(self, path: PathLike, *, sources: Iterable[PathLike] = (), overwrite: bool = False,
                 clean_stale: bool = True):
        self.sources = tuple(Path(s) for s in sources)
        self.overwrite = overwrite
        self.path = check_output_path(path, sources=self.sources, overwrite=overwrite)
        if clean_stale:
            remove_stale_partials(self.path.parent, self.path.name)
        self.temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.{_host()}.{os.getpid()}"
                                        f".partial{self.path.suffix}")
        self.committed = False

    def commit(self) -> Path:
        """Move the finished temporary file to the final name; return the final path."""
        if not self.temp.exists():
            raise OutputError(f"nothing was written to {self.temp} for {self.path}")
        try:
            # the sources may have changed since we opened (a link made meanwhile)
            check_output_path(self.path, sources=self.sources, overwrite=True)
            if self.overwrite:
                try:
                    os.replace(self.temp, self.path)
                except OSError as exc:
                    raise write_error(exc, self.path) from exc
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
                "pass --overwrite to replace it (overwrite=True from Python)") from exc
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise write_error(exc, self.path) from exc
            # a file system without hard links: check, then rename
            if self.path.exists():
                raise OutputExistsError(f"the output {self.path} appeared while it was being written") from exc
            try:
                os.replace(self.temp, self.path)
            except OSError as replace_exc:
                raise write_error(replace_exc, self.path) from replace_exc
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


def _write_all(path: Path, data: bytes) -> None:
    """Write ``data`` to the new file ``path`` (the one place the helpers below write bytes)."""
    with path.open("wb") as fh:
        fh.write(data)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A new empty temporary file beside ``path`` (whose folder is created): it replaces ``path``
    when the block ends normally, and is removed when the block raises."""
    make_folder(path.parent)
    with AtomicOutput(path, overwrite=True) as out:
        try:
            out.temp.touch()
        except OSError as exc:
            raise write_error(exc, path) from exc
        yield out.temp
        out.commit()


def write_replacing(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`replacing`."""
    with replacing(path) as temp:
        try:
            _write_all(temp, data)
        except OSError as exc:
            raise write_error(exc, path) from exc


def write_new(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``, which must not exist, now or when the write ends."""
    with AtomicOutput(path, overwrite=False) as out:
        try:
            _write_all(out.temp, data)
        except OSError as exc:
            raise write_error(exc, path) from exc
        return out.commit()
