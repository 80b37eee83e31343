"""faceright.compat gives 3.10 (Nuke 15) what 3.11 added, with the same results."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from faceright.compat import file_sha256, parse_instant, tomllib

pytestmark = pytest.mark.hostside


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-02T00:00:00Z", datetime(2026, 1, 2, tzinfo=timezone.utc)),
    ("2026-01-02T09:30:00+08:00", datetime(2026, 1, 2, 9, 30, tzinfo=timezone(timedelta(hours=8)))),
    ("2026-01-02T00:00:00.5Z", datetime(2026, 1, 2, 0, 0, 0, 500000, tzinfo=timezone.utc)),
    ("2026-01-02T00:00:00.1234567+00:00", datetime(2026, 1, 2, 0, 0, 0, 123456, tzinfo=timezone.utc)),
    ("2026-01-02T00:00:00", datetime(2026, 1, 2)),
])
def test_parse_instant_reads_rfc3339(text, expected):
    assert parse_instant(text) == expected
    assert parse_instant(text).utcoffset() == expected.utcoffset()


def test_parse_instant_refuses_what_is_not_a_date_time():
    with pytest.raises(ValueError):
        parse_instant("next tuesday")


def test_file_sha256_is_hashlib_sha256(tmp_path):
    path = tmp_path / "blob.bin"
    data = bytes(range(256)) * 5000   # more than one read chunk
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_tomllib_reads_toml():
    assert tomllib.loads('[engine]\nproviders = ["CPUExecutionProvider"]\n') == {"engine": {"providers": ["CPUExecutionProvider"]}}
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads("[engine")
