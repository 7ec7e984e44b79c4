"""The one file: recognised, created, refused when foreign/corrupt/newer, migrated when older."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

import lighttrack
from lighttrack import LighttrackClient
from lighttrack.errors import FileError, NotALighttrackFile, SchemaTooNew
from lighttrack.store import close_all
from lighttrack.store.db import APPLICATION_ID, SCHEMA_VERSION, read_header


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_file_has_our_header_wal_and_schema(db_path):
    client = LighttrackClient(db_path)
    client.create_experiment("e")
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    header = read_header(db_path)
    assert header.application_id == APPLICATION_ID


def test_schema_version_matches_the_number_of_migrations():
    from lighttrack.store.migrations import migrations

    assert SCHEMA_VERSION == len(migrations._migrations)


def _stamped(path: Path, experiment: str, version: int) -> None:
    """A lighttrack file holding one experiment, its user_version then set by hand."""
    LighttrackClient(path).create_experiment(experiment)
    close_all()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def test_a_file_with_every_migration_but_a_low_stamp_opens_and_is_restamped(tmp_path):
    """What a build that applied 0007 before 0004-0006 left: every migration recorded, the
    version one short. It used to be refused on every open as "changed schema version while
    open"."""
    path = tmp_path / "branch.db"
    _stamped(path, "kept", SCHEMA_VERSION - 1)
    assert LighttrackClient(path).get_experiment_by_name("kept") is not None
    close_all()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def _schema(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall(), key=str)
    finally:
        conn.close()


def test_an_older_file_is_backed_up_then_migrated_to_the_same_schema(tmp_path):
    from sqlite_utils import Database

    from lighttrack.store.migrations import migrations

    fresh = tmp_path / "fresh.db"
    LighttrackClient(fresh)
    close_all()
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    last = migrations._migrations[-1].name
    migrations.apply(Database(conn), stop_before=last)
    conn.close()
    before = digest(old)
    LighttrackClient(old).create_experiment("after-upgrade")
    close_all()
    assert _schema(old) == _schema(fresh)
    backups = list(tmp_path.glob("old.db.schema*.bak"))
    assert len(backups) == 1
    assert sqlite3.connect(backups[0]).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION - 1
    assert digest(old) != before


@pytest.mark.parametrize(
    "content",
    [
        b"hello, I am a text file\n" * 10,
        b"",  # handled separately below: an empty file is a new database
        bytes(range(256)) * 8,
        b"SQLite format 3\x00" + b"\x00" * 20,  # too short to be a database
    ],
    ids=["text", "empty", "binary", "short-sqlite-magic"],
)
def test_foreign_files_are_refused_and_left_byte_identical(tmp_path, content):
    path = tmp_path / "foreign.db"
    path.write_bytes(content)
    if not content:
        LighttrackClient(path)  # an empty file holds nothing: it becomes a new database
        return
    before = digest(path)
    with pytest.raises(NotALighttrackFile, match="not a lighttrack database"):
        LighttrackClient(path)
    assert digest(path) == before
    assert not Path(f"{path}-wal").exists()


def test_another_apps_sqlite_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (name TEXT)")
    conn.execute("INSERT INTO people VALUES ('ada')")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(NotALighttrackFile, match="SQLite database but not a lighttrack file"):
        LighttrackClient(path)
    assert digest(path) == before


def test_a_truncated_lighttrack_file_is_refused_untouched(tmp_path):
    path = tmp_path / "whole.db"
    client = LighttrackClient(path)
    run = client.create_run(client.create_experiment("e"))
    client.log_text(run.info.run_id, "x" * 200_000, "big.txt")
    client.set_terminated(run.info.run_id)
    close_all()
    data = path.read_bytes()
    cut = tmp_path / "cut.db"
    cut.write_bytes(data[: len(data) // 2])
    before = digest(cut)
    with pytest.raises(FileError, match="truncated"):
        LighttrackClient(cut)
    assert digest(cut) == before


def test_a_newer_schema_is_refused_naming_both_versions(tmp_path):
    path = tmp_path / "newer.db"
    _stamped(path, "e", SCHEMA_VERSION + 7)
    before = digest(path)
    with pytest.raises(SchemaTooNew) as error:
        LighttrackClient(path)
    assert f"schema version {SCHEMA_VERSION + 7}" in str(error.value)
    assert f"up to schema version {SCHEMA_VERSION}" in str(error.value)
    assert digest(path) == before


def test_tracking_uri_precedence(tmp_path, monkeypatch):
    from lighttrack import config

    config.set_tracking_uri(None)
    assert lighttrack.get_tracking_uri() == f"sqlite:///{tmp_path / 'lighttrack.db'}"
    monkeypatch.setenv("LIGHTTRACK_TRACKING_URI", f"sqlite:///{tmp_path / 'env.db'}")
    assert lighttrack.get_tracking_uri().endswith("/env.db")
    lighttrack.set_tracking_uri(tmp_path / "set.db")
    assert lighttrack.get_tracking_uri().endswith("/set.db")
    assert LighttrackClient(tmp_path / "arg.db").path.name == "arg.db"
    lighttrack.set_tracking_uri("sqlite:///rel.db")
    assert lighttrack.get_tracking_uri() == f"sqlite:///{tmp_path / 'rel.db'}"


@pytest.mark.parametrize("uri", ["http://localhost:5000", "postgresql://x/y", "", ":memory:"])
def test_unsupported_tracking_uris_are_refused_with_the_allowed_forms(uri):
    with pytest.raises(lighttrack.LighttrackError, match="sqlite:///"):
        lighttrack.set_tracking_uri(uri)


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileError, match="does not exist"):
        LighttrackClient(tmp_path / "no" / "such" / "dir.db")


def test_every_entity_has_a_global_uuid(client):
    exp = client.create_experiment("e")
    run = client.create_run(exp)
    client.log_text(run.info.run_id, "hi", "a.txt")
    assert len(exp) == 32 and int(exp, 16) >= 0
    assert len(run.info.run_id) == 32
    conn = client.store.conn
    (artifact_uuid,) = conn.execute("SELECT uuid FROM artifacts").fetchone()
    assert len(artifact_uuid) == 32
    (store_uuid,) = conn.execute("SELECT value FROM meta WHERE key = 'store_uuid'").fetchone()
    assert len(store_uuid) == 32


def test_a_schema_1_file_with_runs_upgrades_and_keeps_them(tmp_path):
    """The first shipped schema (0001_tracking) holding data, upgraded to the registry schema."""
    from sqlite_utils import Database

    from lighttrack.store.migrations import migrations

    old = tmp_path / "v1.db"
    conn = sqlite3.connect(old, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    migrations.apply(Database(conn), stop_before="0002_registry")
    conn.executescript(
        """
        INSERT INTO meta VALUES ('store_uuid', 'aaaa');
        INSERT INTO experiments (id, uuid, name, artifact_location, creation_time, last_update_time)
            VALUES (1, 'e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1', 'old-exp', 'x', 1, 1);
        INSERT INTO runs (id, uuid, experiment_id, name, status, start_time, end_time, artifact_uri)
            VALUES (1, 'r1r1r1r1r1r1r1r1r1r1r1r1r1r1r1r1', 1, 'old-run', 'FINISHED', 1, 2, 'x');
        INSERT INTO params VALUES (1, 'lr', '0.1', 0.1);
        """
    )
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    client = LighttrackClient(old)
    run = client.get_run("r1r1r1r1r1r1r1r1r1r1r1r1r1r1r1r1")
    assert run.info.run_name == "old-run" and run.data.params == {"lr": "0.1"}
    client.create_registered_model("now-possible")
    assert len(list(tmp_path.glob("v1.db.schema1-*.bak"))) == 1


def test_a_lighttrack_header_over_garbage_is_refused_untouched(tmp_path):
    """Our own header, a page count the header does not vouch for, then noise."""
    good = tmp_path / "good.db"
    LighttrackClient(good).create_experiment("e")
    close_all()
    header = bytearray(good.read_bytes()[:100])
    header[28:32] = bytes(4)
    bad = tmp_path / "bad.db"
    bad.write_bytes(bytes(header) + bytes(range(256)) * 32)
    before = digest(bad)
    with pytest.raises(FileError, match="damaged"):
        LighttrackClient(bad)
    assert digest(bad) == before
