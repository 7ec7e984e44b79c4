"""Artifacts: no path is both a file and a folder, one symlink rule, log_artifacts all or nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lighttrack.errors import InvalidArgument


@pytest.fixture
def run_id(client):
    return client.create_run(client.create_experiment("artifacts")).info.run_id


def _paths(client, run_id) -> list[str]:
    return [f.path for f in client.list_artifact_files(run_id)]


def test_a_path_cannot_be_a_file_and_a_folder(client, run_id, tmp_path):
    client.log_text(run_id, "file", "d")
    with pytest.raises(InvalidArgument, match="already has a file 'd'"):
        client.log_text(run_id, "nested", "d/e")
    with pytest.raises(InvalidArgument, match="already has a file 'd'"):
        client.log_text(run_id, "deeper", "d/e/f.txt")
    folder = tmp_path / "folder"
    (folder / "e").mkdir(parents=True)
    (folder / "e" / "x.txt").write_text("x")
    with pytest.raises(InvalidArgument, match="already has a file 'd'"):
        client.log_artifacts(run_id, folder, "d")
    client.log_text(run_id, "b", "a/b.txt")
    with pytest.raises(InvalidArgument, match="already has a folder 'a'"):
        client.log_text(run_id, "a", "a")
    single = tmp_path / "a"
    single.write_text("a")
    with pytest.raises(InvalidArgument, match="already has a folder 'a'"):
        client.log_artifact(run_id, single)
    assert _paths(client, run_id) == ["a/b.txt", "d"]
    client.log_text(run_id, "replaced", "d")  # a file may replace a file
    assert client.read_artifact(run_id, "d") == b"replaced"
    out = client.download_artifacts(run_id, "", tmp_path / "out")
    assert (Path(out) / "a" / "b.txt").read_text() == "b"


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    (folder / "plots").mkdir(parents=True)
    (folder / "metrics.json").write_text("{}")
    (folder / "plots" / "loss.txt").write_text("loss")
    return folder


def test_symlinks_inside_the_folder_are_followed(client, run_id, tmp_path):
    folder = _folder(tmp_path)
    (folder / "latest.json").symlink_to("metrics.json")
    (folder / "charts").symlink_to("plots", target_is_directory=True)
    client.log_artifacts(run_id, folder)
    assert _paths(client, run_id) == ["charts/loss.txt", "latest.json", "metrics.json", "plots/loss.txt"]
    assert client.read_artifact(run_id, "charts/loss.txt") == b"loss"


@pytest.mark.parametrize("link", ["outside file", "outside folder", "dangling", "loop"])
def test_a_symlink_leaving_the_folder_is_refused_and_nothing_is_logged(client, run_id, tmp_path, link):
    folder = _folder(tmp_path)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "id_rsa").write_text("private")
    if link == "outside file":
        (folder / "zz-key").symlink_to(secret / "id_rsa")
        why = "outside the folder"
    elif link == "outside folder":
        (folder / "zz-home").symlink_to(secret, target_is_directory=True)
        why = "outside the folder"
    elif link == "dangling":
        (folder / "zz-gone").symlink_to(tmp_path / "nowhere")
        why = "does not exist"
    else:
        (folder / "plots" / "zz-up").symlink_to(folder, target_is_directory=True)
        why = "a loop"
    with pytest.raises(InvalidArgument, match=f"{why}.*nothing was logged"):
        client.log_artifacts(run_id, folder)
    assert _paths(client, run_id) == []  # all or nothing: the good files before it are not there


def test_log_artifacts_is_all_or_nothing_when_a_file_cannot_be_read(client, run_id, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    folder = _folder(tmp_path)
    locked = folder / "zz-locked.txt"
    locked.write_text("no")
    locked.chmod(0)
    with pytest.raises(PermissionError):
        client.log_artifacts(run_id, folder)
    assert _paths(client, run_id) == []


def test_log_artifacts_is_all_or_nothing_when_one_path_conflicts(client, run_id, tmp_path):
    folder = _folder(tmp_path)
    client.log_text(run_id, "a file", "plots")  # the folder's plots/ cannot go in
    with pytest.raises(InvalidArgument, match="already has a file 'plots'"):
        client.log_artifacts(run_id, folder)
    assert _paths(client, run_id) == ["plots"]


def test_a_fifo_is_refused_not_waited_on(client, run_id, tmp_path):
    folder = _folder(tmp_path)
    os.mkfifo(folder / "pipe")
    with pytest.raises(InvalidArgument, match="not a regular file"):
        client.log_artifacts(run_id, folder)
    assert _paths(client, run_id) == []
