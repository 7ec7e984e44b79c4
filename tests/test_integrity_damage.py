"""Damaged pages, chunks and blobs: one line naming what is damaged, never a traceback, no side
files next to a file reported untouched; ``info --full`` finds every damaged part; ``recover``
copies what can be read."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from lighttrack import LighttrackClient
from lighttrack.cli import cli
from lighttrack.errors import DamagedFile
from lighttrack.store import close_all
from lighttrack.store.db import forget_checks


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def side_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name + "-"))


def build(path: Path, runs: int = 120) -> list[str]:
    client = LighttrackClient(path)
    exp = client.create_experiment("e")
    ids = []
    for i in range(runs):
        run_id = client.create_run(exp, run_name=f"run-{i}").info.run_id
        for j in range(5):
            client.log_param(run_id, f"p{j}", "v" * 40)
        for step in range(20):
            client.log_metric(run_id, "loss", 1 / (step + 1), step=step)
        ids.append(run_id)
    client.log_text(ids[0], "precious " * 1000, "notes.txt")
    close_all()
    forget_checks()
    return ids


def leaf_pages(path: Path, table: str) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [p for (p,) in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno", (table,))]
    finally:
        conn.close()


def smash_page(path: Path, page: int) -> None:
    size = 4096
    with open(path, "r+b") as f:
        f.seek((page - 1) * size + 300)
        f.write(bytes(range(256)) * 6)


def sql(path: Path, statement: str, *args) -> None:
    conn = sqlite3.connect(path)
    conn.execute(statement, args)
    conn.commit()
    conn.close()


def run_cli(*args: str):
    result = CliRunner().invoke(cli, list(args))
    close_all()
    return result


def test_damaged_pages_behind_a_valid_header_are_one_line_and_leave_no_side_files(tmp_path):
    path = tmp_path / "runs.db"
    build(path)
    smash_page(path, leaf_pages(path, "runs")[1])
    before = digest(path)
    for args in (["runs", "list"], ["experiments", "list"]):
        result = run_cli("--db", str(path), *args)
        if args == ["experiments", "list"] and result.exit_code == 0:
            continue  # counting runs is optional there; where it reads them, it must say so
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0] and "damaged" in lines[0]
        assert "lighttrack recover" in lines[0] and "Traceback" not in result.output
    assert digest(path) == before
    assert side_files(path) == []


def test_info_on_a_damaged_file_reports_instead_of_crashing(tmp_path):
    path = tmp_path / "runs.db"
    build(path)
    smash_page(path, leaf_pages(path, "runs")[1])
    result = run_cli("--db", str(path), "info")
    assert result.exit_code == 1
    assert "runs: unreadable" in result.output and "damaged: file structure" in result.output
    assert "Traceback" not in result.output
    assert side_files(path) == []


def test_text_that_is_no_longer_utf8_is_a_damaged_file_not_a_traceback(tmp_path):
    path = tmp_path / "runs.db"
    build(path, runs=3)
    sql(path, "UPDATE runs SET name = CAST(x'66ff6f' AS TEXT) WHERE name = 'run-1'")
    forget_checks()
    result = run_cli("--db", str(path), "runs", "list")
    assert result.exit_code == 1
    assert "damaged" in result.output and "UnicodeDecodeError" not in result.output
    assert "Traceback" not in result.output


def flip_first_chunk(path: Path) -> tuple[str, str]:
    conn = sqlite3.connect(path)
    chunk_id, data, run = conn.execute(
        "SELECT c.id, c.data, r.uuid FROM metric_chunks c JOIN runs r ON r.id = c.run_id ORDER BY c.id LIMIT 1"
    ).fetchone()
    broken = bytearray(data)
    broken[10] ^= 0xFF
    broken[11] ^= 0x55
    conn.execute("UPDATE metric_chunks SET data = ? WHERE id = ?", (bytes(broken), chunk_id))
    conn.commit()
    conn.close()
    return run, "loss"


def test_a_damaged_metric_chunk_names_the_file_run_and_key(tmp_path):
    path = tmp_path / "runs.db"
    build(path, runs=3)
    run, key = flip_first_chunk(path)
    client = LighttrackClient(path)
    with pytest.raises(DamagedFile) as caught:
        client.get_metric_history(run, key)
    message = caught.value.message
    assert str(path) in message and run in message and repr(key) in message
    with pytest.raises(DamagedFile):
        client.metric_history_arrays(run, key)
    close_all()
    result = run_cli("--db", str(path), "metrics", "export", run)
    assert result.exit_code == 1 and run in result.output
    assert "zlib" not in result.output.lower().split("(")[0] and "Traceback" not in result.output


def test_info_full_lists_every_damaged_chunk_and_blob(tmp_path):
    path = tmp_path / "runs.db"
    ids = build(path, runs=3)
    run, _ = flip_first_chunk(path)
    sql(path, "UPDATE blob_chunks SET data = CAST(replace(CAST(data AS TEXT), 'precious', 'precioux') AS BLOB)")
    forget_checks()
    quick = run_cli("--db", str(path), "info")
    assert quick.exit_code == 0  # the file's structure is fine: only --full looks inside
    full = run_cli("--db", str(path), "info", "--full")
    assert full.exit_code == 1
    assert f"metric 'loss' of run {run}" in full.output
    assert f"'notes.txt' of run {ids[0]}" in full.output and "sha256" in full.output


def test_a_flipped_bit_in_an_artifact_is_an_error_as_it_streams_out(tmp_path):
    path = tmp_path / "runs.db"
    ids = build(path, runs=1)
    sql(path, "UPDATE blob_chunks SET data = CAST(replace(CAST(data AS TEXT), 'precious', 'precioux') AS BLOB)")
    forget_checks()
    client = LighttrackClient(path)
    with pytest.raises(DamagedFile, match="'notes.txt' of run"):
        client.read_artifact(ids[0], "notes.txt")
    target = tmp_path / "out"
    with pytest.raises(DamagedFile, match="sha256"):
        client.download_artifacts(ids[0], "notes.txt", str(target))
    assert not (target / "notes.txt").exists()  # nothing unverified is left on disk


def test_recover_copies_what_can_be_read_and_leaves_the_source_untouched(tmp_path):
    path = tmp_path / "runs.db"
    ids = build(path)
    pages = leaf_pages(path, "runs")
    smash_page(path, pages[1])
    before = digest(path)
    out = tmp_path / "recovered.db"
    result = run_cli("recover", str(path), str(out))
    assert result.exit_code == 0, result.output
    assert "runs:" in result.output and "unreadable" in result.output
    assert digest(path) == before and side_files(path) == []
    client = LighttrackClient(out)
    assert client.file_report(full_check=True).integrity == "ok"
    found = {r.info.run_id for r in client.search_runs(max_results=None)}
    assert ids[0] in found and ids[-1] in found
    assert 0 < len(found) < len(ids)
    assert client.read_artifact(ids[0], "notes.txt") == b"precious " * 1000
    survivor = ids[-1]
    assert len(client.get_metric_history(survivor, "loss")) == 20
    assert client.get_run(survivor).data.params["p0"] == "v" * 40


def test_recover_of_a_whole_file_copies_everything(tmp_path):
    path = tmp_path / "runs.db"
    ids = build(path, runs=5)
    out = tmp_path / "copy.db"
    result = run_cli("recover", str(path), str(out))
    assert result.exit_code == 0 and "recovered all" in result.output
    client = LighttrackClient(out)
    assert {r.info.run_id for r in client.search_runs(max_results=None)} == set(ids)


def test_recover_refuses_a_foreign_file_and_an_existing_output(tmp_path):
    foreign = tmp_path / "other.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    result = run_cli("recover", str(foreign), str(tmp_path / "out.db"))
    assert result.exit_code == 1 and "not a lighttrack file" in result.output
    path = tmp_path / "runs.db"
    build(path, runs=1)
    (tmp_path / "taken.db").write_bytes(b"x")
    result = run_cli("recover", str(path), str(tmp_path / "taken.db"))
    assert result.exit_code == 1 and "already exists" in result.output


def test_recover_leaves_out_a_damaged_chunk_and_recounts_its_series(tmp_path):
    path = tmp_path / "runs.db"
    build(path, runs=2)
    run, key = flip_first_chunk(path)
    forget_checks()
    out = tmp_path / "recovered.db"
    result = run_cli("recover", str(path), str(out))
    assert result.exit_code == 0 and f"lost: metric 'loss' of run {run}" in result.output
    client = LighttrackClient(out)
    assert client.file_report(full_check=True).integrity == "ok"
    left = client.get_metric_history(run, key)
    summary = {s.key: s for s in client.get_metric_summaries(run)}
    assert 0 < len(left) < 20  # the damaged chunk's points are gone, the rest survived
    assert summary[key].count == len(left) and summary[key].step == 19
