"""Artifacts live inside the file: deduplicated, chunked, and never escaping the run."""

from __future__ import annotations

import hashlib
import os

import pytest

from lighttrack.errors import UnsafeArtifactPath
from lighttrack.store.artifacts import CHUNK_BYTES, normalise_path


@pytest.mark.parametrize(
    "path",
    ["../evil.txt", "a/../../evil", "/etc/passwd", "a\\..\\evil", "C:/x.txt", "~/x", "a/\x00b", "..", "x/.."],
)
def test_escaping_paths_are_refused(path):
    with pytest.raises(UnsafeArtifactPath, match="artifact path"):
        normalise_path(path)


@pytest.mark.parametrize(
    "path, normal", [("a/./b//c", "a/b/c"), ("./x.txt", "x.txt"), ("dir/", "dir"), ("", ""), (None, "")]
)
def test_paths_are_normalised(path, normal):
    assert normalise_path(path) == normal


def test_logging_an_escaping_path_writes_nothing(client, tmp_path):
    run = client.create_run(client.create_experiment("e")).info.run_id
    for bad in ("../x.txt", "/abs.txt", "a\\b.txt"):
        with pytest.raises(UnsafeArtifactPath):
            client.log_text(run, "x", bad)
    local = tmp_path / "f.txt"
    local.write_text("x")
    with pytest.raises(UnsafeArtifactPath):
        client.log_artifact(run, local, "../outside")
    assert client.store.conn.execute("SELECT count(*) FROM artifacts").fetchone()[0] == 0
    assert client.store.conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 0


def test_download_never_writes_outside_the_target(client, tmp_path):
    run = client.create_run(client.create_experiment("e")).info.run_id
    client.log_text(run, "inside", "sub/file.txt")
    # Plant a hostile row as a foreign tool might (the API itself refuses such paths).
    conn = client.store.conn
    conn.execute("UPDATE artifacts SET path = '../../escaped.txt'")
    target = tmp_path / "target"
    with pytest.raises(UnsafeArtifactPath, match="outside"):
        client.download_artifacts(run, "", target)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path.parent / "escaped.txt").exists()


def test_same_content_is_stored_once(client, tmp_path):
    exp = client.create_experiment("e")
    payload = os.urandom(300_000)
    for i in range(5):
        run = client.create_run(exp).info.run_id
        client.log_bytes(run, payload, f"copy{i}.bin")
    conn = client.store.conn
    assert conn.execute("SELECT count(*) FROM artifacts").fetchone()[0] == 5
    assert conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 1


def test_large_file_is_chunked_and_streams_back_byte_identical(client, tmp_path):
    run = client.create_run(client.create_experiment("e")).info.run_id
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(5):
            f.write(os.urandom(CHUNK_BYTES // 2 + 12345))
    client.log_artifact(run, big)
    (chunks, largest) = client.store.conn.execute(
        "SELECT count(*), max(length(data)) FROM blob_chunks"
    ).fetchone()
    assert chunks == 3 and largest <= CHUNK_BYTES
    out = client.download_artifacts(run, "big.bin", tmp_path / "out")
    assert hashlib.sha256(open(out, "rb").read()).digest() == hashlib.sha256(big.read_bytes()).digest()


def test_relogging_a_path_replaces_it(client):
    run = client.create_run(client.create_experiment("e")).info.run_id
    client.log_text(run, "v1", "a.txt")
    client.log_text(run, "v2", "a.txt")
    assert client.read_artifact(run, "a.txt") == b"v2"
    assert len(client.list_artifacts(run)) == 1


def test_empty_file_round_trips(client, tmp_path):
    run = client.create_run(client.create_experiment("e")).info.run_id
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    client.log_artifact(run, empty)
    assert client.read_artifact(run, "empty.txt") == b""
    assert (tmp_path / "dl" / "empty.txt").exists() is False
    client.download_artifacts(run, "", tmp_path / "dl")
    assert (tmp_path / "dl" / "empty.txt").read_bytes() == b""
