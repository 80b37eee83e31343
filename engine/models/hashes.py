"""Model files' sha256, remembered between processes by what the file system says about each file.

The catalog verifies every model by its sha256 in every process (:mod:`.catalog`), and the
prepared-model cache is found by it (:mod:`.prepared`). A studio's models are large (an
inswapper_128 is 554 MB, an ArcFace-R50 166 MB): hashing them costs most of a second of the
cores before a swap's first frame, in each process, for files that did not change.

:class:`RememberedHashes` keeps each file's sha256 in ``hashes.json`` in the model cache folder,
with the file's *stamp*: its device, inode, size, modification time and status-change time
(``st_ctime_ns``), the test git applies to its index. Writing the file, copying or renaming
another onto it, or setting its modification time back (``touch -d``) all change the stamp,
and no user can set ``st_ctime`` back; a file whose stamp differs is hashed again. A file
changed within :data:`RACY_S` of being hashed may share its stamp with the content before the
change (time stamps are as coarse as the kernel's clock tick), so its hash is not remembered:
the next process hashes it again, as git treats a "racily clean" entry.

Trust: an entry is worth what the cache folder beside it is worth, whose prepared graphs are
already what onnxruntime runs for the model. ``faceright models verify`` hashes every file
afresh. A folder that cannot be written only costs each process the hashing (logged once).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

from faceright.atomic import write_replacing
from faceright.errors import FaceRightError

__all__ = ["HASHES_FORMAT", "HASHES_NAME", "RACY_S", "RememberedHashes", "stamp_of"]

log = logging.getLogger(__name__)

HASHES_NAME = "hashes.json"
HASHES_FORMAT = "faceright.model-hashes.1"
#: a file whose status changed less than this many seconds before it was hashed is not remembered
RACY_S = 2.0


def stamp_of(st: os.stat_result) -> list[int]:
    """What must be unchanged for a remembered hash to stand: device, inode, size, mtime, ctime."""
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class RememberedHashes:
    """sha256 by resolved path and stamp, kept in ``folder/hashes.json`` (nothing kept without a folder)."""

    def __init__(self, folder: Path | str | None) -> None:
        self.path = Path(folder) / HASHES_NAME if folder is not None else None
        self._known: dict[str, dict] | None = None
        self._lock = threading.Lock()
        self._unwritable = False

    def __repr__(self) -> str:
        return f"RememberedHashes({self.path})"

    def get(self, path: Path, st: os.stat_result) -> str | None:
        """The sha256 remembered for the file at ``path`` (resolved) with stat ``st``, if its stamp matches."""
        with self._lock:
            item = self._entries().get(str(path))
        if isinstance(item, dict) and item.get("stamp") == stamp_of(st) and _is_sha256(item.get("sha256")):
            return item["sha256"]
        return None

    def put(self, path: Path, st: os.stat_result, sha256: str, *, hashed_at: float | None = None) -> None:
        """Remember ``sha256`` for ``path`` as stamped by ``st`` (taken before it was hashed), unless
        the file changed too shortly before (``hashed_at``, default now) for its stamp to tell."""
        if self.path is None or self._unwritable:
            return
        now = time.time() if hashed_at is None else hashed_at
        if now - st.st_ctime_ns / 1e9 < RACY_S or now - st.st_mtime_ns / 1e9 < RACY_S:
            return
        with self._lock:
            self._known = self._read()   # another process may have remembered others meanwhile
            self._known[str(path)] = {"stamp": stamp_of(st), "sha256": sha256}
            data = {"format": HASHES_FORMAT, "files": self._known}
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_replacing(self.path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8"))
            except (OSError, FaceRightError) as exc:
                self._unwritable = True
                log.warning("model hashes cannot be remembered in %s (%s): each run hashes its models again",
                            self.path, exc)

    def _entries(self) -> dict[str, dict]:
        if self._known is None:
            self._known = self._read()
        return self._known

    def _read(self) -> dict[str, dict]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.info("remembered model hashes %s are unusable (%s): the models are hashed again", self.path, exc)
            return {}
        if not isinstance(data, dict) or data.get("format") != HASHES_FORMAT or not isinstance(data.get("files"), dict):
            return {}
        return dict(data["files"])


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
