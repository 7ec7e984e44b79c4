"""Moving runs between experiments: one transaction, recorded, children follow, merge settles."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import lighttrack
from lighttrack import LighttrackClient
from lighttrack.cli import cli
from lighttrack.errors import InvalidArgument, InvalidState, NotFound
from lighttrack.store import close_all
from lighttrack.sync import merge
from lighttrack.util import now_ms


def _run(client: LighttrackClient, experiment: str, parent: str | None = None, name: str | None = None) -> str:
    tags = {"mlflow.parentRunId": parent} if parent else None
    run = client.create_run(experiment, tags=tags, run_name=name)
    client.log_param(run.info.run_id, "lr", "0.1")
    client.log_metric(run.info.run_id, "loss", 0.5, step=3)
    client.log_text(run.info.run_id, "hello", "notes/readme.txt")
    client.set_terminated(run.info.run_id)
    return run.info.run_id


@pytest.fixture
def two(client):
    return client, client.create_experiment("a"), client.create_experiment("b")


def _experiment_of(client: LighttrackClient, run_id: str) -> str:
    return client.get_run(run_id).info.experiment_id


def test_move_run_keeps_everything_reachable_and_records_history(two):
    client, a, b = two
    run_id = _run(client, a)
    assert client.move_run(run_id, b) == [run_id]
    run = client.get_run(run_id)
    assert run.info.experiment_id == b
    assert run.data.params == {"lr": "0.1"} and run.data.metrics == {"loss": 0.5}
    assert client.read_artifact(run_id, "notes/readme.txt") == b"hello"
    assert [r.info.run_id for r in client.search_runs([b])] == [run_id]
    assert client.search_runs([a]) == []
    (move,) = client.get_run_moves(run_id)
    assert (move.from_experiment_id, move.from_experiment_name, move.to_experiment_id, move.to_experiment_name) \
        == (a, "a", b, "b")
    assert move.with_parent is None and move.user_id and move.host


def test_children_move_with_their_parent_at_every_depth(two):
    client, a, b = two
    parent = _run(client, a)
    child = _run(client, a, parent)
    grandchild = _run(client, a, child)
    unrelated = _run(client, a)
    assert client.move_run(parent, b) == [parent, child, grandchild]
    assert [_experiment_of(client, r) for r in (parent, child, grandchild, unrelated)] == [b, b, b, a]
    assert client.get_run_moves(grandchild)[0].with_parent == parent


def test_without_children_moves_only_the_runs_given(two):
    client, a, b = two
    parent = _run(client, a)
    child = _run(client, a, parent)
    assert client.move_run(parent, b, include_children=False) == [parent]
    assert _experiment_of(client, child) == a
    assert client.get_run_moves(child) == []


@pytest.mark.parametrize("problem", ["unknown run", "deleted run", "deleted experiment", "same experiment"])
def test_a_bad_batch_moves_nothing(two, problem):
    client, a, b = two
    good = [_run(client, a), _run(client, a)]
    target = b
    if problem == "unknown run":
        bad, error, match = "f" * 32, NotFound, "no run with id"
    elif problem == "deleted run":
        bad = _run(client, a)
        client.delete_run(bad)
        error, match = InvalidState, "is deleted: restore it"
    elif problem == "deleted experiment":
        bad = _run(client, a)
        target = client.create_experiment("gone")
        client.delete_experiment(target)
        error, match = InvalidState, "experiment 'gone' .* is deleted"
    else:
        bad = _run(client, b)
        error, match = InvalidArgument, "already in experiment 'b'"
    with pytest.raises(error, match=match):
        client.move_run([*good, bad], target)
    assert [_experiment_of(client, r) for r in good] == [a, a]
    assert all(client.get_run_moves(r) == [] for r in good)


def test_fluent_runs_from_a_moved_run_still_resolve(two):
    client, a, b = two
    lighttrack.set_tracking_uri(client.path)
    with lighttrack.start_run(experiment_id=a) as active:
        lighttrack.log_metric("x", 1.0)
    client.move_run(active.info.run_id, b)
    assert lighttrack.get_run(active.info.run_id).info.experiment_id == b
    assert [r.info.run_id for r in lighttrack.search_runs([b], output_format="list")] == [active.info.run_id]


def _invoke(path, *args, code=0):
    result = CliRunner().invoke(cli, ["--db", str(path), *args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def test_cli_moves_by_prefix_and_name_and_show_lists_the_history(two, db_path):
    client, a, b = two
    first, second = _run(client, a, name="first"), _run(client, a, name="second")
    child = _run(client, a, first)
    out = _invoke(db_path, "runs", "move", first[:8], "second", "--to", "b")
    assert "moved 2 run(s) to experiment 'b' (and 1 child run(s) with them)" in out
    assert child in out
    shown = _invoke(db_path, "runs", "show", child)
    assert "moves:" in shown and f"from 'a' ({a}) to 'b' ({b})" in shown and f"with its parent run {first}" in shown
    record = json.loads(_invoke(db_path, "runs", "show", second, "--format", "json"))
    assert record["experiment_id"] == b and record["moves"][0]["to_experiment_name"] == "b"


def test_cli_errors_are_one_line_and_nothing_moves(two, db_path):
    client, a, b = two
    run_id = _run(client, a)
    out = _invoke(db_path, "runs", "move", run_id, "nosuchrun", "--to", "b", code=1)
    assert "no run matches 'nosuchrun'" in out and "Traceback" not in out
    out = _invoke(db_path, "runs", "move", run_id, "--to", "a", code=1)
    assert "already in experiment 'a'" in out
    assert _experiment_of(client, run_id) == a


# ------------------------------------------------------------------------------- merge
def _copy(tmp_path, name: str, client: LighttrackClient):
    """A second machine: the same file, copied."""
    import shutil

    close_all()
    shutil.copy(client.path, tmp_path / name)
    return LighttrackClient(tmp_path / name)


def test_merge_brings_a_move_over_and_a_re_merge_changes_nothing(tmp_path):
    here = LighttrackClient(tmp_path / "here.db")
    a, b = here.create_experiment("a"), here.create_experiment("b")
    run_id = _run(here, a)
    there = _copy(tmp_path, "there.db", here)
    there.move_run(run_id, b)
    close_all()
    report = merge(tmp_path / "there.db", tmp_path / "here.db")
    assert report.runs_moved == 1 and any("was moved in the source" in n for n in report.notes)
    here = LighttrackClient(tmp_path / "here.db")
    assert _experiment_of(here, run_id) == b
    assert len(here.get_run_moves(run_id)) == 1
    close_all()
    again = merge(tmp_path / "there.db", tmp_path / "here.db")
    assert not again.changed and again.runs_moved == 0 and again.notes == []


def test_the_later_move_wins_whichever_way_the_files_are_merged(tmp_path):
    here = LighttrackClient(tmp_path / "here.db")
    a, b, c = (here.create_experiment(n) for n in "abc")
    run_id = _run(here, a)
    there = _copy(tmp_path, "there.db", here)
    here = LighttrackClient(tmp_path / "here.db")
    here.move_run(run_id, b)       # earlier
    earlier = here.get_run_moves(run_id)[0].timestamp
    while now_ms() <= earlier:     # two files know nothing of each other's clocks: wait out the ms
        pass
    there.move_run(run_id, c)      # later
    close_all()
    import shutil

    shutil.copy(tmp_path / "here.db", tmp_path / "here-copy.db")
    forward = merge(tmp_path / "there.db", tmp_path / "here.db")
    assert forward.runs_moved == 1
    assert any("moved on both sides: the source's move is later" in n for n in forward.notes)
    backward = merge(tmp_path / "here-copy.db", tmp_path / "there.db")
    assert backward.runs_moved == 0
    assert any("kept this file's later move to 'c'" in n for n in backward.notes)
    close_all()
    for path in ("here.db", "there.db"):
        merged = LighttrackClient(tmp_path / path)
        assert _experiment_of(merged, run_id) == c
        assert [m.to_experiment_name for m in merged.get_run_moves(run_id)] == ["b", "c"]
    close_all()
    assert not merge(tmp_path / "there.db", tmp_path / "here.db").changed


def test_export_carries_the_history_of_the_runs_it_carries(tmp_path):
    here = LighttrackClient(tmp_path / "here.db")
    a, b = here.create_experiment("a"), here.create_experiment("b")
    run_id = _run(here, a)
    here.move_run(run_id, b)
    close_all()
    from lighttrack.sync import export

    export(tmp_path / "sub.db", experiments=["b"], source=tmp_path / "here.db")
    close_all()
    sub = LighttrackClient(tmp_path / "sub.db")
    assert _experiment_of(sub, run_id) == b
    assert [m.from_experiment_name for m in sub.get_run_moves(run_id)] == ["a"]
