"""The publish ledger on both backends: a real SQLite file and a real PostgreSQL server.

Every tampering is done the way a person would do it: SQL run straight on the database
(``sqlite3`` / ``psycopg``), then ``verify()`` must name the record and what happened to it.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import sqlite3
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import rfc8785

from faceright.config import Config
from faceright.errors import ConfigError, DependencyMissingError, LedgerError
from faceright.ledger import GENESIS, open_ledger
from postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def publish_entry(i: int) -> dict:
    """What a publish hands the ledger (the ledger does not look inside)."""
    return {"faceshot": f"ep01_sh{i:03d}", "license": {"id": "LIC-7", "verdict": "pass"},
            "release": {"id": "REL-2", "verdict": "pass"}, "models": {"swapper": "ab" * 32},
            "input": "cd" * 32, "output": "ef" * 32, "produce_id": f"P-{i}", "label": {"proven": True},
            "note": "名字 ✓", "score": 0.5}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'ledger.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(home=tmp_path / "home")


def sql(url: str, *statements: str) -> None:
    """Run ``statements`` on the ledger's database directly, as someone tampering would."""
    if url.startswith("sqlite://"):
        connection = sqlite3.connect(url[len("sqlite://"):])
        try:
            for statement in statements:
                connection.execute(statement)
            connection.commit()
        finally:
            connection.close()
        return
    import psycopg

    with psycopg.connect(url) as connection:
        for statement in statements:
            connection.execute(statement)


def filled(config: Config, url: str, count: int = 5):
    ledger = open_ledger(config, url)
    for i in range(count):
        ledger.append(publish_entry(i), user=f"artist{i % 2}", at=NOW + timedelta(minutes=i))
    return ledger


def verified(config: Config, url: str) -> list[tuple[str, int | None]]:
    with open_ledger(config, url) as ledger:
        return [(f.code, f.detail.get("sequence")) for f in ledger.verify(now=NOW)]


def rehash(prev_hash: str, sequence: int, at: str, user: str, entry: dict) -> str:
    """The chain's formula, written out independently of faceright.ledger.chain."""
    document = rfc8785.dumps({"sequence": sequence, "at": at, "user": user, "entry": entry})
    return hashlib.sha256(prev_hash.encode("ascii") + document).hexdigest()


# -- appending and reading ------------------------------------------------------------------------


def test_records_chain_from_genesis_by_the_documented_formula(config, url):
    with filled(config, url, 3) as ledger:
        records = ledger.records()
    assert [r.sequence for r in records] == [1, 2, 3]
    assert records[0].prev_hash == GENESIS
    for before, record in zip([None, *records], records):
        assert record.prev_hash == (before.hash if before else GENESIS)
        assert record.hash == rehash(record.prev_hash, record.sequence, record.to_json()["at"], record.user,
                                     record.entry)
    assert records[1].entry == publish_entry(1)
    assert records[1].user == "artist1"
    assert records[1].at == NOW + timedelta(minutes=1)
    assert records[1].to_json()["at"] == "2026-12-03T09:01:00.000000Z"


def test_records_last_gives_the_newest_in_sequence_order(config, url):
    with filled(config, url, 5) as ledger:
        assert [r.sequence for r in ledger.records(last=2)] == [4, 5]
        assert [r.sequence for r in ledger.records(last=50)] == [1, 2, 3, 4, 5]
        assert ledger.records(last=0) == []
        assert ledger.count() == 5


def test_an_appended_record_is_what_is_read_back(config, url):
    with open_ledger(config, url) as ledger:
        made = ledger.append({"a": 1.0, "b": [1, "x"]}, user="mei")
        assert ledger.records() == [made]
    assert made.entry == {"a": 1, "b": [1, "x"]}
    assert made.at.tzinfo is not None and abs(datetime.now(timezone.utc) - made.at) < timedelta(minutes=5)
    assert json.loads(json.dumps(made.to_json()))["hash"] == made.hash


def test_a_reopened_ledger_goes_on_with_the_same_chain(config, url):
    filled(config, url, 2).close()
    with open_ledger(config, url) as ledger:
        third = ledger.append({"x": 3}, user="mei")
        assert third.sequence == 3
        assert third.prev_hash == ledger.records()[1].hash
        assert ledger.verify() == []


def test_an_intact_ledger_verifies_with_no_findings(config, url):
    with filled(config, url, 6) as ledger:
        assert ledger.verify() == []


def test_an_empty_ledger_verifies_with_no_findings(config, url):
    with open_ledger(config, url) as ledger:
        assert ledger.count() == 0
        assert ledger.verify() == []


def test_what_is_not_json_or_has_no_user_or_zone_is_refused(config, url):
    with open_ledger(config, url) as ledger:
        with pytest.raises(LedgerError, match="canonical JSON"):
            ledger.append({"when": datetime.now()}, user="mei")
        with pytest.raises(LedgerError, match="canonical JSON"):
            ledger.append({"big": 2 ** 60}, user="mei")
        with pytest.raises(LedgerError, match="JSON object"):
            ledger.append(["not", "an", "object"], user="mei")  # type: ignore[arg-type]
        with pytest.raises(LedgerError, match="user"):
            ledger.append({"a": 1}, user=" ")
        with pytest.raises(LedgerError, match="time zone"):
            ledger.append({"a": 1}, user="mei", at=datetime(2026, 1, 1))
        assert ledger.count() == 0


# -- tampering, by SQL on the database -------------------------------------------------------------


@pytest.mark.parametrize("column,value", [
    ("entry", """'{"faceshot":"ep01_sh999"}'"""),
    ("user_name", "'someone else'"),
    ("at", "'2020-01-01T00:00:00.000000Z'"),
    ("prev_hash", f"'{'1' * 64}'"),
])
def test_an_edited_record_is_named(config, url, column, value):
    filled(config, url, 5).close()
    sql(url, f"UPDATE ledger_records SET {column} = {value} WHERE sequence = 3")
    assert verified(config, url) == [("ledger.edited", 3)]


def test_a_record_rewritten_with_a_fresh_hash_breaks_the_chain_after_it(config, url):
    with filled(config, url, 5) as ledger:
        third = ledger.records()[2]
    forged = dict(third.entry, output="00" * 32)
    digest = rehash(third.prev_hash, 3, third.to_json()["at"], third.user, forged)
    sql(url, f"UPDATE ledger_records SET entry = '{json.dumps(forged, ensure_ascii=False)}', hash = '{digest}' "
             "WHERE sequence = 3")
    assert verified(config, url) == [("ledger.chain_broken", 4)]


def test_a_rewritten_last_record_does_not_match_the_head(config, url):
    with filled(config, url, 3) as ledger:
        last = ledger.records()[-1]
    digest = rehash(last.prev_hash, 3, last.to_json()["at"], "intruder", last.entry)
    sql(url, f"UPDATE ledger_records SET user_name = 'intruder', hash = '{digest}' WHERE sequence = 3")
    assert verified(config, url) == [("ledger.chain_broken", 3)]


@pytest.mark.parametrize("sequence", [1, 3, 5])
def test_a_deleted_record_is_named_first_middle_or_last(config, url, sequence):
    filled(config, url, 5).close()
    sql(url, f"DELETE FROM ledger_records WHERE sequence = {sequence}")
    assert verified(config, url) == [("ledger.deleted", sequence)]


def test_a_deletion_stays_visible_after_more_publishes(config, url):
    filled(config, url, 4).close()
    sql(url, "DELETE FROM ledger_records WHERE sequence = 4")
    with open_ledger(config, url) as ledger:
        assert ledger.append({"x": 1}, user="mei").sequence == 5
        findings = ledger.verify(now=NOW)
    assert [(f.code, f.detail["sequence"]) for f in findings] == [("ledger.deleted", 4)]
    assert "record 4 is missing" in findings[0].message


def test_deleted_runs_are_one_finding(config, url):
    filled(config, url, 8).close()
    sql(url, "DELETE FROM ledger_records WHERE sequence BETWEEN 3 AND 6")
    with open_ledger(config, url) as ledger:
        (finding,) = ledger.verify(now=NOW)
    assert (finding.code, finding.detail) == ("ledger.deleted", {"sequence": 3, "last": 6})


def test_swapped_records_are_reordered(config, url):
    filled(config, url, 5).close()
    sql(url, "UPDATE ledger_records SET sequence = -2 WHERE sequence = 2",
        "UPDATE ledger_records SET sequence = 2 WHERE sequence = 4",
        "UPDATE ledger_records SET sequence = 4 WHERE sequence = -2")
    with open_ledger(config, url) as ledger:
        findings = ledger.verify(now=NOW)
    assert [(f.code, f.detail["sequence"], f.detail["written_as"]) for f in findings] == [
        ("ledger.reordered", 2, 4), ("ledger.reordered", 4, 2)]


def test_a_deletion_hidden_by_renumbering_is_found(config, url):
    filled(config, url, 7).close()
    sql(url, "DELETE FROM ledger_records WHERE sequence = 3",
        *(f"UPDATE ledger_records SET sequence = {s - 1} WHERE sequence = {s}" for s in range(4, 8)))
    with open_ledger(config, url) as ledger:
        findings = ledger.verify(now=NOW)
    assert [(f.code, f.detail) for f in findings] == [
        ("ledger.deleted", {"sequence": 3}),
        ("ledger.reordered", {"sequence": 3, "last": 6, "written_as": 4}),
    ]


def test_a_forged_record_beyond_the_head_breaks_the_chain(config, url):
    with filled(config, url, 2) as ledger:
        last = ledger.records()[-1]
    at = "2026-12-03T10:00:00.000000Z"
    digest = rehash(last.hash, 3, at, "intruder", {"x": 1})
    sql(url, "INSERT INTO ledger_records (sequence, at, user_name, entry, prev_hash, hash) "
             f"""VALUES (3, '{at}', 'intruder', '{{"x":1}}', '{last.hash}', '{digest}')""")
    assert verified(config, url) == [("ledger.chain_broken", 3)]


def test_a_head_moved_far_ahead_reads_as_the_deletion_it_claims(config, url):
    filled(config, url, 3).close()
    sql(url, "UPDATE ledger_records SET user_name = 'x' WHERE sequence = 2",
        f"UPDATE ledger_state SET head_sequence = {10 ** 12}")
    with open_ledger(config, url) as ledger:
        findings = ledger.verify(now=NOW)
    assert [(f.code, f.detail) for f in findings] == [
        ("ledger.edited", {"sequence": 2}), ("ledger.deleted", {"sequence": 4, "last": 10 ** 12})]


def test_a_lost_state_row_is_found_and_stops_appends(config, url):
    filled(config, url, 2).close()
    sql(url, "DELETE FROM ledger_state")
    assert verified(config, url) == [("ledger.chain_broken", None)]
    with open_ledger(config, url) as ledger, pytest.raises(LedgerError, match="state row"):
        ledger.append({"x": 1}, user="mei")


def test_a_dropped_state_table_is_refused_not_recreated(config, url):
    filled(config, url, 2).close()
    sql(url, "DROP TABLE ledger_state")
    with pytest.raises(LedgerError, match="lacks its table ledger_state"):
        open_ledger(config, url)


def test_an_entry_that_is_not_json_any_more_is_edited_and_named_when_read(config, url):
    filled(config, url, 3).close()
    sql(url, "UPDATE ledger_records SET entry = 'not json' WHERE sequence = 2")
    assert verified(config, url) == [("ledger.edited", 2)]
    with open_ledger(config, url) as ledger, pytest.raises(LedgerError, match="record 2"):
        ledger.records()


def test_reformatted_but_equal_entry_json_still_verifies(config, url):
    with filled(config, url, 3) as ledger:
        entry = ledger.records()[1].entry
    pretty = json.dumps(entry, indent=4, ensure_ascii=True)   # what a database tool might write back
    sql(url, f"UPDATE ledger_records SET entry = '{pretty}' WHERE sequence = 2")
    assert verified(config, url) == []


# -- two publishers at once -------------------------------------------------------------------------


def _publisher(url: str, home: str, user: str, count: int, start) -> None:
    with open_ledger(Config(home=Path(home)), url) as ledger:
        start.wait(timeout=60)
        for i in range(count):
            ledger.append({"publisher": user, "i": i}, user=user)


def test_two_publishers_at_once_make_one_chain(config, url):
    open_ledger(config, url).close()            # the tables exist before the race
    count = 40
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(2)
    workers = [spawn.Process(target=_publisher, args=(url, str(config.home), name, count, start))
               for name in ("mei", "ren")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    with open_ledger(config, url) as ledger:
        records = ledger.records()
        assert ledger.verify() == []
    assert [r.sequence for r in records] == list(range(1, 2 * count + 1))
    for name in ("mei", "ren"):
        assert [r.entry["i"] for r in records if r.user == name] == list(range(count))


# -- retention and pruning ------------------------------------------------------------------------


def aged(config: Config, url: str, days_old: list[float]):
    ledger = open_ledger(config, url)
    for i, days in enumerate(days_old):
        ledger.append(publish_entry(i), user="mei", at=NOW - timedelta(days=days))
    return ledger


def test_pruning_removes_only_records_older_than_retention_and_still_verifies(config, url):
    with aged(config, url, [400, 380, 366, 364, 10]) as ledger:
        assert ledger.prune(NOW) == 3
        records = ledger.records()
        assert [r.sequence for r in records] == [4, 5]
        assert ledger.verify(now=NOW) == []
        assert ledger.prune(NOW) == 0
        assert ledger.append({"x": 1}, user="mei").sequence == 6
        assert ledger.verify(now=NOW) == []


def test_pruning_stops_at_the_first_young_record(config, url):
    with aged(config, url, [400, 10, 400]) as ledger:
        assert ledger.prune(NOW) == 1
        assert [r.sequence for r in ledger.records()] == [2, 3]


def test_pruning_can_empty_the_ledger_and_appends_go_on_from_the_anchor(config, url):
    with aged(config, url, [500, 400]) as ledger:
        assert ledger.prune(NOW) == 2
        assert ledger.records() == []
        assert ledger.verify(now=NOW) == []
        assert ledger.append({"x": 1}, user="mei").sequence == 3
        assert ledger.verify(now=NOW) == []


def test_tampering_after_pruning_is_found(config, url):
    aged(config, url, [400, 390, 100, 50, 10]).prune(NOW)
    sql(url, "UPDATE ledger_records SET user_name = 'x' WHERE sequence = 4")
    assert verified(config, url) == [("ledger.edited", 4)]
    sql(url, "DELETE FROM ledger_records WHERE sequence = 3")
    assert verified(config, url) == [("ledger.deleted", 3), ("ledger.edited", 4)]


def test_a_changed_anchor_breaks_the_chain(config, url):
    aged(config, url, [400, 390, 100]).prune(NOW)
    sql(url, f"UPDATE ledger_state SET anchor_hash = '{'2' * 64}'")
    assert verified(config, url) == [("ledger.chain_broken", 3)]


def test_young_records_removed_by_hand_behind_a_moved_anchor_are_found(config, url):
    with aged(config, url, [100, 50, 10]) as ledger:
        second = ledger.records()[1]
    sql(url, "DELETE FROM ledger_records WHERE sequence <= 2",
        f"UPDATE ledger_state SET anchor_sequence = 2, anchor_hash = '{second.hash}', "
        f"anchor_at = '{second.to_json()['at']}'")
    assert verified(config, url) == [("ledger.deleted", 2)]


def test_a_tampered_ledger_is_not_pruned(config, url):
    aged(config, url, [400, 390, 10]).close()
    sql(url, "UPDATE ledger_records SET user_name = 'x' WHERE sequence = 1")
    with open_ledger(config, url) as ledger:
        with pytest.raises(LedgerError, match="nothing was pruned"):
            ledger.prune(NOW)
        assert ledger.count() == 3


# -- settings, URLs, errors ------------------------------------------------------------------------


def test_retention_shorter_than_six_months_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="six months"):
        Config({"ledger": {"retention_days": 100}}, home=tmp_path).ledger
    assert Config({"ledger": {"retention_days": 183}}, home=tmp_path).ledger.retention_days == 183
    assert Config(home=tmp_path).ledger.retention_days == 365
    with pytest.raises(ConfigError, match="retention_days"):
        Config({"ledger": {"retension_days": 400}}, home=tmp_path).ledger


def test_the_default_ledger_is_the_sqlite_file_in_faceright_home(tmp_path):
    config = Config(home=tmp_path / "home")
    with open_ledger(config) as ledger:
        ledger.append({"x": 1}, user="mei")
    assert (tmp_path / "home" / "ledger" / "ledger.sqlite").is_file()
    configured = Config({"ledger": {"url": str(tmp_path / "elsewhere.sqlite")}}, home=tmp_path / "home")
    with open_ledger(configured) as ledger:
        assert ledger.where == str(tmp_path / "elsewhere.sqlite")
        assert ledger.count() == 0


def test_a_plain_path_and_a_sqlite_url_name_the_same_file(tmp_path, config):
    path = tmp_path / "same.sqlite"
    with open_ledger(config, str(path)) as ledger:
        ledger.append({"x": 1}, user="mei")
    with open_ledger(config, f"sqlite://{path}") as ledger:
        assert ledger.count() == 1


def test_unusable_urls_are_refused_with_what_to_give(config, tmp_path):
    with pytest.raises(ConfigError, match="absolute path"):
        open_ledger(config, "sqlite://relative.sqlite")
    with pytest.raises(ConfigError, match="mysql"):
        open_ledger(config, "mysql://db/ledger")
    with pytest.raises(LedgerError, match="no ledger at"):
        open_ledger(config, str(tmp_path / "missing.sqlite"), create=False)
    assert not (tmp_path / "missing.sqlite").exists()
    (tmp_path / "not-a-db.sqlite").write_text("hello, I am a text file, not a database" * 100)
    with pytest.raises(LedgerError, match="not-a-db.sqlite"):
        open_ledger(config, str(tmp_path / "not-a-db.sqlite"))


def test_a_postgresql_url_without_psycopg_says_what_to_install(config, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)    # as on an installation without the extra
    with pytest.raises(DependencyMissingError, match=r"pip install 'faceright\[postgres\]'"):
        open_ledger(config, "postgresql://ledger@db.example/faceright")


def test_an_unreachable_server_is_our_error_without_the_password(config, tmp_path):
    url = f"postgresql://ledger:s3cret@/faceright?host={tmp_path}"        # no server on that socket
    with pytest.raises(LedgerError) as caught:
        open_ledger(config, url)
    assert "s3cret" not in str(caught.value)
    assert "cannot reach the ledger database" in str(caught.value)
    assert caught.value.exit_code == 4


def test_a_database_without_a_ledger_is_not_created_by_readers(config, postgres_url):
    with pytest.raises(LedgerError, match="no faceright ledger"):
        open_ledger(config, postgres_url, create=False)
    with open_ledger(config, postgres_url) as ledger:
        assert ledger.count() == 0
