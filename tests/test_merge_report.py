"""merge says exactly what happened: the tie rule, no false notes on a re-merge, no side files
left beside the source."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from lighttrack import LighttrackClient, sync
from lighttrack.cli import cli
from lighttrack.store import close_all


def _tied_pair(tmp_path: Path) -> tuple[Path, Path, str]:
    """One run on two machines, both ending at the same millisecond, each with something extra."""
    here, there = tmp_path / "here.db", tmp_path / "there.db"
    client = LighttrackClient(here)
    run_id = client.create_run(client.create_experiment("shared"), start_time=1_700_000_000_000).info.run_id
    client.log_param(run_id, "lr", "0.1")
    client.set_tag(run_id, "side", "here")
    client.set_terminated(run_id, end_time=1_700_000_100_000)
    close_all()
    sync.backup(there, here)
    other = LighttrackClient(there)
    other.set_tag(run_id, "side", "there")  # on both sides: this file's value is kept
    other.set_tag(run_id, "extra", "yes")
    other.log_metric(run_id, "extra_metric", 1.0, timestamp=1_700_000_050_000, step=3)
    other.log_param(run_id, "only_there", "1")
    other.log_text(run_id, "only there", "notes/there.txt")
    close_all()
    return here, there, run_id


def test_a_tie_keeps_this_files_values_and_adds_the_sources_extra_keys(tmp_path):
    here, there, run_id = _tied_pair(tmp_path)
    report = sync.merge(there, here)
    assert (report.runs_combined, report.runs_kept, report.runs_replaced) == (1, 0, 0)
    (note,) = report.notes
    assert "both finished at 1700000100000 ms (a tie)" in note and "which finished later" not in note
    assert "1 param(s), 1 tag(s), 1 metric(s), 1 artifact(s)" in note
    run = LighttrackClient(here).get_run(run_id)
    assert run.data.tags["side"] == "here" and run.data.tags["extra"] == "yes"
    assert run.data.params == {"lr": "0.1", "only_there": "1"}
    assert run.data.metrics == {"extra_metric": 1.0}
    history = LighttrackClient(here).get_metric_history(run_id, "extra_metric")
    assert [(m.step, m.timestamp) for m in history] == [(3, 1_700_000_050_000)]
    assert LighttrackClient(here).read_artifact(run_id, "notes/there.txt") == b"only there"
    close_all()
    again = sync.merge(there, here)
    assert not again.changed and again.runs_combined == 0 and again.runs_kept == 1
    assert "already holds every key" in again.notes[0]


def test_a_tie_leaves_out_an_artifact_path_that_would_clash(tmp_path):
    here, there, run_id = _tied_pair(tmp_path)
    LighttrackClient(here).log_text(run_id, "a file here", "notes")  # 'notes' is a folder there
    close_all()
    report = sync.merge(there, here)
    assert "1 artifact path(s) that clash" in report.notes[0]
    files = [f.path for f in LighttrackClient(here).list_artifact_files(run_id)]
    assert files == ["notes"]
    out = LighttrackClient(here).download_artifacts(run_id, "", tmp_path / "out")
    assert (Path(out) / "notes").read_text() == "a file here"


def test_remerging_a_same_named_model_says_nothing_about_appended_versions(tmp_path):
    here, there = tmp_path / "here.db", tmp_path / "there.db"
    for path in (here, there):  # the same name, created separately: different ids
        client = LighttrackClient(path)
        run_id = client.create_run(client.create_experiment("e")).info.run_id
        client.log_text(run_id, "flavors: {}\n", "model/MLmodel")
        client.create_registered_model("shared-model")
        client.create_model_version("shared-model", f"runs:/{run_id}/model", run_id=run_id)
        close_all()
    first = sync.merge(there, here)
    assert first.versions_added == 1
    assert any("its 1 new version(s) were appended" in n for n in first.notes)
    assert any("its 1 new run(s) joined" in n for n in first.notes)
    close_all()
    result = CliRunner().invoke(cli, ["--db", str(here), "merge", str(there)], catch_exceptions=False)
    assert result.exit_code == 0
    assert "appended" not in result.output and "joined" not in result.output
    assert "nothing new" in result.output


def test_merge_leaves_no_wal_or_shm_beside_the_source(tmp_path):
    here, there, _ = _tied_pair(tmp_path)
    assert not Path(f"{there}-wal").exists() and not Path(f"{there}-shm").exists()
    before = there.read_bytes()
    result = CliRunner().invoke(cli, ["--db", str(here), "merge", str(there)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("there")) == ["there.db"]
    assert there.read_bytes() == before


def test_merge_keeps_the_side_files_of_a_source_another_connection_has_open(tmp_path):
    here, there, _ = _tied_pair(tmp_path)
    holder = LighttrackClient(there)  # another user of the source, with its WAL open
    holder.get_run(holder.search_runs(None)[0].info.run_id)
    assert Path(f"{there}-wal").exists()
    sync.merge(there, here)
    assert Path(f"{there}-wal").exists() and Path(f"{there}-shm").exists()
    assert len(holder.search_runs(None)) == 1
