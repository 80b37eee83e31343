"""`faceright ledger verify / show / export` end to end through `main()`, on a real SQLite ledger.

SQLite only (stdlib), so these run on the host-side Python 3.10 job too; the PostgreSQL
backend's behaviour is in test_ledger.py.
"""
from __future__ import annotations

import json
import sqlite3
import sys
from datetime import datetime, timedelta, timezone

import pytest

from faceright.cli.main import main
from faceright.config import Config
from faceright.ledger import open_ledger

pytestmark = pytest.mark.hostside

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def home(tmp_path, monkeypatch):
    folder = tmp_path / "home"
    monkeypatch.setenv("FACERIGHT_HOME", str(folder))
    return folder


def publish(count: int, url: str | None = None) -> None:
    with open_ledger(Config.load(), url) as ledger:
        for i in range(count):
            ledger.append({"faceshot": f"ep01_sh{i:03d}", "license": "LIC-7", "verdict": "pass"},
                          user=f"artist{i}", at=NOW + timedelta(minutes=i))


def test_verify_says_intact_and_how_many_records(home, capsys):
    publish(3)
    assert main(["ledger", "verify"]) == 0
    out = capsys.readouterr().out
    assert "intact: 3 records" in out
    assert str(home / "ledger" / "ledger.sqlite") in out


def test_verify_exits_1_with_one_line_per_finding_naming_the_record(home, capsys):
    publish(5)
    db = sqlite3.connect(home / "ledger" / "ledger.sqlite")
    db.execute("UPDATE ledger_records SET user_name = 'nobody' WHERE sequence = 2")
    db.execute("DELETE FROM ledger_records WHERE sequence = 4")
    db.commit()
    db.close()
    assert main(["ledger", "verify"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("ledger.edited: record 2 ")
    assert lines[1].startswith("ledger.deleted: record 4 ")


def test_a_missing_ledger_is_an_error_and_is_not_created(home, capsys):
    assert main(["ledger", "verify"]) == 4
    assert "no ledger at" in capsys.readouterr().err
    assert not (home / "ledger" / "ledger.sqlite").exists()


def test_show_prints_a_table_of_the_last_records(home, capsys):
    publish(3)
    assert main(["ledger", "show"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["SEQ", "AT", "(UTC)", "USER", "ENTRY", "HASH"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]
    assert "2026-12-03 09:02:00" in lines[3] and "artist2" in lines[3] and "ep01_sh002" in lines[3]
    assert main(["ledger", "show", "--last", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["3"]


def test_show_refuses_a_last_that_is_not_a_count(home, capsys):
    publish(1)
    with pytest.raises(SystemExit) as caught:
        main(["ledger", "show", "--last", "0"])
    assert caught.value.code == 2
    assert "1 or more" in capsys.readouterr().err


def test_export_writes_every_record_as_a_json_array(home, capsys):
    publish(3)
    assert main(["ledger", "export", "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    with open_ledger(Config.load()) as ledger:
        assert exported == [r.to_json() for r in ledger.records()]
    assert [r["sequence"] for r in exported] == [1, 2, 3]
    assert exported[0]["entry"]["faceshot"] == "ep01_sh000"


def test_export_to_a_file_never_clobbers_unless_asked(home, tmp_path, capsys):
    publish(2)
    out = tmp_path / "ledger.json"
    assert main(["ledger", "export", "--json", "-o", str(out)]) == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 2
    publish(1)
    assert main(["ledger", "export", "--json", "-o", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 2
    assert main(["ledger", "export", "--json", "-o", str(out), "--overwrite"]) == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_export_needs_its_format(home, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["ledger", "export"])
    assert caught.value.code == 2
    assert "--json" in capsys.readouterr().err


def test_url_and_config_choose_the_ledger(home, tmp_path, capsys):
    other = tmp_path / "other.sqlite"
    publish(2, f"sqlite://{other}")
    assert main(["ledger", "verify", "--url", f"sqlite://{other}"]) == 0
    assert "intact: 2 records" in capsys.readouterr().out
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[ledger]\nurl = "{other}"\n', encoding="utf-8")
    assert main(["ledger", "show", "--last", "1"]) == 0
    assert "artist1" in capsys.readouterr().out


def test_a_config_with_too_short_a_retention_is_refused(home, capsys):
    home.mkdir(parents=True)
    (home / "config.toml").write_text("[ledger]\nretention_days = 30\n", encoding="utf-8")
    assert main(["ledger", "verify"]) == 2
    assert "six months" in capsys.readouterr().err


def test_a_postgresql_url_without_psycopg_says_what_to_install(home, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)     # as on `pip install faceright` without [postgres]
    assert main(["ledger", "verify", "--url", "postgresql://ledger@db.example/faceright"]) == 3
    assert "pip install 'faceright[postgres]'" in capsys.readouterr().err


def aged(days: list[int]) -> None:
    now = datetime.now(timezone.utc)
    with open_ledger(Config.load()) as ledger:
        for i, age in enumerate(days):
            ledger.append({"faceshot": f"ep01_sh{i:03d}"}, user="artist", at=now - timedelta(days=age))


def test_prune_removes_only_records_past_retention_and_the_chain_still_verifies(home, capsys):
    aged([400, 380, 30, 1])
    assert main(["ledger", "prune"]) == 0
    assert "2 records older than 365 days removed, 2 kept" in capsys.readouterr().out
    assert main(["ledger", "verify"]) == 0
    assert "intact: 2 records" in capsys.readouterr().out
    assert main(["ledger", "prune"]) == 0
    assert "0 records older than 365 days removed, 2 kept" in capsys.readouterr().out


def test_prune_refuses_a_tampered_ledger_and_keeps_it_whole(home, capsys):
    aged([400, 380, 1])
    db = sqlite3.connect(home / "ledger" / "ledger.sqlite")
    db.execute("UPDATE ledger_records SET user_name = 'nobody' WHERE sequence = 3")
    db.commit()
    db.close()
    assert main(["ledger", "prune"]) == 4
    assert "nothing was pruned" in capsys.readouterr().err
    rows = sqlite3.connect(home / "ledger" / "ledger.sqlite").execute("SELECT count(*) FROM ledger_records").fetchone()
    assert rows == (3,)


def test_show_sums_up_a_publish_by_its_timeline_shots_and_licenses(home, capsys):
    with open_ledger(Config.load()) as ledger:
        ledger.append({"schema": "faceright.publish/1", "timeline": {"path": "/show/ep01.otio", "sha256": "0" * 64},
                       "shots": [{"shot_id": "sh010", "license_id": "LIC-7"}, {"shot_id": "sh030", "license_id": "LIC-7"}]},
                      user="artist", at=NOW)
    assert main(["ledger", "show"]) == 0
    assert "publish ep01.otio: sh010, sh030; license LIC-7" in capsys.readouterr().out
