"""Checking the chain: every way a hand-edited ledger shows, as findings naming the record.

A record is *intact* when it hashes, under its own sequence number, to its stored hash. One
that does not is tried under other sequence numbers: when it hashes under ``s`` it is a whole
record that was *moved* (``ledger.reordered``, written as record ``s``); when it hashes under
none it was *edited* (``ledger.edited``). Sequence numbers the chain should hold (from the
anchor to the head kept in ``ledger_state``) that no record was written as are *deleted*
(``ledger.deleted``), the last one included. Records in the order they were written must
link, each ``prev_hash`` being its predecessor's hash (``ledger.chain_broken`` otherwise: a
record rewritten with a fresh hash, the anchor or head changed). Runs of neighbouring
records with the same finding are one finding (``detail``: ``sequence`` and ``last``).

Finding which number a moved record was written as costs a hash per try: first the numbers
its neighbours suggest (the same shift as the record before it, its predecessor's and its
successor's places, shifts of up to 16), then, within :data:`MAX_TRIES`, every number left unexplained.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Sequence

import rfc8785

from faceright.findings import Finding

from .chain import GENESIS, parse_at

#: at most this many hashes are spent looking for where moved records were written
MAX_TRIES = 200_000
#: shifts tried on every moved record: a deletion followed by renumbering moves the rest by a few
_SMALL_SHIFTS = tuple(d for k in range(1, 17) for d in (k, -k))


@dataclass(frozen=True)
class State:
    """The ``ledger_state`` row: the chain starts after the anchor and ends at the head."""

    anchor_sequence: int
    anchor_hash: str
    anchor_at: str | None
    head_sequence: int
    head_hash: str


class _Row:
    """One stored record as verification sees it (no field trusted to have the right type)."""

    def __init__(self, raw: tuple[Any, ...]) -> None:
        sequence, at, user, entry, prev_hash, digest = raw
        self.position = sequence
        self.prev_hash = prev_hash if isinstance(prev_hash, str) else repr(prev_hash)
        self.hash = digest if isinstance(digest, str) else repr(digest)
        self._at, self._user, self._entry = at, user, entry
        self.original: int | None = None          # the sequence it was written as, once known
        self._base: Any = None
        self._suffix = b""

    def _prepare(self, entry_json: bytes) -> None:
        try:
            head = rfc8785.dumps(self._at) if isinstance(self._at, str) else None
            user = rfc8785.dumps(self._user) if isinstance(self._user, str) else None
        except rfc8785.CanonicalizationError:
            head = user = None
        if head is None or user is None:
            self._base = None
            return
        base = hashlib.sha256(self.prev_hash.encode("utf-8", "replace"))
        base.update(b'{"at":' + head + b',"entry":' + entry_json + b',"sequence":')
        self._base = base
        self._suffix = b',"user":' + user + b"}"

    def hashes_as(self, sequence: int) -> bool:
        if self._base is None:
            return False
        digest = self._base.copy()
        digest.update(str(sequence).encode("ascii") + self._suffix)
        return digest.hexdigest() == self.hash

    def check_own(self) -> bool:
        """Intact under its own number? The stored entry text is tried as it is (the ledger
        writes it canonical), then re-canonicalised (a tool may have reformatted the JSON)."""
        if not isinstance(self.position, int) or not isinstance(self._entry, str):
            self._base = None
            return False
        self._prepare(self._entry.encode("utf-8"))
        if self.hashes_as(self.position):
            self.original = self.position
            return True
        try:
            parsed = json.loads(self._entry)
            canonical = rfc8785.dumps(parsed) if isinstance(parsed, dict) else None
        except (ValueError, rfc8785.CanonicalizationError):
            canonical = None
        if canonical is None:
            self._base = None
            return False
        if canonical != self._entry.encode("utf-8"):
            self._prepare(canonical)
            if self.hashes_as(self.position):
                self.original = self.position
                return True
        return False


def verify_chain(raw_rows: Iterable[tuple[Any, ...]], state: State | None, *, retention_days: int,
                 now: datetime) -> list[Finding]:
    """Findings on the stored rows ``(sequence, at, user, entry, prev_hash, hash)`` and the state
    row (None when it is missing); an empty list when the ledger is intact."""
    findings: list[Finding] = []
    rows = [_Row(r) for r in raw_rows]
    odd = [r for r in rows if not isinstance(r.position, int)]
    rows = sorted((r for r in rows if isinstance(r.position, int)), key=lambda r: r.position)
    for r in odd:
        findings.append(Finding("ledger.edited", "error", f"a ledger record has the sequence number "
                                f"{r.position!r}, which is not a number: the database was edited",
                                {"sequence": None, "stored_sequence": repr(r.position)}))
    if state is None:
        findings.append(Finding("ledger.chain_broken", "error",
                                "the ledger's state row (its anchor and head, table ledger_state) is missing: "
                                "the database was edited outside faceright", {"sequence": None}))
        state = State(0, GENESIS, None, max((r.position for r in rows), default=0), "")
    mismatched = [r for r in rows if not r.check_own()]
    _find_originals(rows, mismatched, state)
    moved = [r for r in mismatched if r.original is not None]
    edited = [r for r in mismatched if r.original is None]
    findings += _runs(moved, "ledger.reordered", lambda r: r.original - r.position)
    findings += _runs(edited, "ledger.edited", lambda r: 0)

    # where each record belongs in the order of writing: its original number, or (edited) its place
    by_original: dict[int, _Row] = {}
    for r in rows:
        by_original.setdefault(r.original if r.original is not None else r.position, r)
    findings += _missing(_gaps(by_original, state.anchor_sequence + 1, state.head_sequence))
    findings += _links(by_original, state, edited={id(r) for r in edited})
    findings += _anchor_age(state, retention_days, now)
    return sorted(findings, key=lambda f: (_key(f.detail.get("sequence")), f.code))


def _key(sequence: Any) -> int:
    return sequence if isinstance(sequence, int) else -1


def _find_originals(rows: Sequence[_Row], mismatched: Sequence[_Row], state: State) -> None:
    """Set ``original`` on the mismatched rows that are whole records moved to another number."""
    if not mismatched:
        return
    by_hash = {r.hash: r for r in rows}
    by_prev = {r.prev_hash: r for r in rows}
    shift: int | None = None
    for r in mismatched:
        if r._base is None:
            continue
        guesses = []
        if shift is not None:
            guesses.append(r.position + shift)
        before, after = by_hash.get(r.prev_hash), by_prev.get(r.hash)
        if r.prev_hash == state.anchor_hash:
            guesses.append(state.anchor_sequence + 1)
        if before is not None and isinstance(before.position, int):
            guesses.append((before.original if before.original is not None else before.position) + 1)
        if after is not None and isinstance(after.position, int):
            guesses.append(after.position - 1)
        guesses += [r.position + d for d in _SMALL_SHIFTS]
        for guess in guesses:
            if guess != r.position and r.hashes_as(guess):
                r.original = guess
                shift = guess - r.position
                break
    left = [r for r in mismatched if r.original is None and r._base is not None]
    if not left:
        return
    taken = {r.original for r in rows if r.original is not None}
    gaps = _gaps(taken, state.anchor_sequence + 1, state.head_sequence)
    positions = [r.position for r in mismatched]
    budget = MAX_TRIES
    for r in left:
        unexplained = (s for first, last in gaps for s in range(first, last + 1))
        for guess in itertools.chain(positions, unexplained):
            if budget <= 0:
                return
            budget -= 1
            if guess != r.position and r.hashes_as(guess):
                r.original = guess
                break


def _runs(rows: Sequence[_Row], code: str, shift_of: Any) -> list[Finding]:
    """One finding per run of neighbouring positions with the same shift."""
    runs: list[list[_Row]] = []
    for r in rows:
        if runs and r.position == runs[-1][-1].position + 1 and shift_of(r) == shift_of(runs[-1][0]):
            runs[-1].append(r)
        else:
            runs.append([r])
    return [_run_finding(code, run) for run in runs]


def _run_finding(code: str, run: list[_Row]) -> Finding:
    first, last = run[0], run[-1]
    detail: dict[str, Any] = {"sequence": first.position}
    names = f"record {first.position}" if len(run) == 1 else f"records {first.position} to {last.position}"
    if len(run) > 1:
        detail["last"] = last.position
    if code == "ledger.reordered":
        detail["written_as"] = first.original
        was = (f"record {first.original}" if len(run) == 1 else f"records {first.original} to {last.original}")
        verb = "was" if len(run) == 1 else "were"
        return Finding(code, "error", f"{names} {verb} written as {was}: records were reordered (their "
                                      "sequence numbers changed in the database)", detail)
    verb = "does" if len(run) == 1 else "do"
    return Finding(code, "error", f"{names} {verb} not match the hash written with it: its time, user, entry "
                                  "or prev_hash was edited in the database", detail)


def _gaps(present: Iterable[int], first: int, last: int) -> list[tuple[int, int]]:
    """The runs ``(from, to)`` of numbers in ``first..last`` not in ``present``, found without
    counting through the range (a head edited to a huge number must not stall verify)."""
    gaps = []
    expected = first
    for number in sorted(n for n in set(present) if first <= n <= last):
        if number > expected:
            gaps.append((expected, number - 1))
        expected = number + 1
    if expected <= last:
        gaps.append((expected, last))
    return gaps


def _missing(gaps: Sequence[tuple[int, int]]) -> list[Finding]:
    out = []
    for first, last in gaps:
        if first == last:
            out.append(Finding("ledger.deleted", "error", f"record {first} is missing: it was deleted",
                               {"sequence": first}))
        else:
            out.append(Finding("ledger.deleted", "error", f"records {first} to {last} are missing: they "
                               "were deleted", {"sequence": first, "last": last}))
    return out


def _links(by_original: dict[int, _Row], state: State, *, edited: set[int]) -> list[Finding]:
    out = []
    for original in sorted(by_original):
        r = by_original[original]
        if original > state.head_sequence:
            out.append(Finding("ledger.chain_broken", "error",
                               f"record {r.position} lies beyond the ledger's head (record {state.head_sequence}): "
                               "it was not appended through faceright", {"sequence": r.position}))
            continue
        if original <= state.anchor_sequence:
            out.append(Finding("ledger.chain_broken", "error",
                               f"record {r.position} lies at or before the anchor left by pruning (record "
                               f"{state.anchor_sequence}): it was put back by hand", {"sequence": r.position}))
            continue
        if id(r) in edited:
            continue            # its prev_hash is not to be trusted; ledger.edited says so already
        if original == state.anchor_sequence + 1:
            if r.prev_hash != state.anchor_hash:
                what = ("does not start the chain: its prev_hash is not the genesis value" if state.anchor_sequence == 0
                        else f"does not follow the anchor left by pruning (record {state.anchor_sequence}'s hash)")
                out.append(Finding("ledger.chain_broken", "error", f"record {r.position} {what}",
                                   {"sequence": r.position}))
            continue
        before = by_original.get(original - 1)
        if before is None:
            continue            # deleted: ledger.deleted says so
        if r.prev_hash != before.hash:
            out.append(Finding("ledger.chain_broken", "error",
                               f"record {r.position} does not follow record {before.position}: its prev_hash is not "
                               f"record {before.position}'s hash (one of them was rewritten with a new hash)",
                               {"sequence": r.position, "previous": before.position}))
    head = by_original.get(state.head_sequence)
    if state.head_hash and head is not None and id(head) not in edited and head.hash != state.head_hash:
        out.append(Finding("ledger.chain_broken", "error",
                           f"record {head.position} is not the record the ledger last wrote (the head's hash "
                           "differs): the end of the chain was rewritten", {"sequence": head.position}))
    return out


def _anchor_age(state: State, retention_days: int, now: datetime) -> list[Finding]:
    """Pruning only ever anchors at a record older than the retention: a younger anchor means
    records were removed by hand and the anchor moved to hide it."""
    if state.anchor_sequence <= 0:
        return []
    try:
        anchor_at = parse_at(state.anchor_at) if isinstance(state.anchor_at, str) else None
    except ValueError:
        anchor_at = None
    if anchor_at is None:
        return [Finding("ledger.chain_broken", "error",
                        f"the anchor left by pruning (record {state.anchor_sequence}) has no readable time: "
                        "the ledger's state was edited", {"sequence": state.anchor_sequence})]
    if anchor_at > now - timedelta(days=retention_days):
        return [Finding("ledger.deleted", "error",
                        f"records up to {state.anchor_sequence} were removed before the retention period "
                        f"({retention_days} days) ended: record {state.anchor_sequence} is dated "
                        f"{state.anchor_at}", {"sequence": state.anchor_sequence})]
    return []
