"""State files written whole or not at all: a temporary file beside the target, renamed over it.

The keyring, the model manifest and the cached revocation lists are rewritten in place; a
crash or a full disk must leave the previous file, never half of a new one. (Media outputs,
which must also never replace their source, go through
:class:`faceright.engine.media.atomic.AtomicOutput`.)
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["replacing", "write_replacing"]


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A new empty temporary file beside ``path`` (whose folder is created): it replaces ``path``
    when the block ends normally, and is removed when the block raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_replacing(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`replacing`."""
    with replacing(path) as temp:
        temp.write_bytes(data)
