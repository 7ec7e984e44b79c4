"""Snapshots of every screen at 120x40 and 80x24, on fixed data (names, params, metrics and
times are fixed; run ids are never on these screens). Update with --snapshot-update after a
deliberate change, and look at the report before committing."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("pytest_textual_snapshot")

from lighttrack.client import LighttrackClient  # noqa: E402
from test_tui_helpers import _utc, build_registry, build_sample, settle  # noqa: E402,F401

from tui.app import make_app  # noqa: E402

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]
HAS_REGISTRY = hasattr(LighttrackClient, "search_registered_models")


@pytest.fixture
def sample(client, monkeypatch):
    ids = build_sample(client)
    if HAS_REGISTRY:
        build_registry(client, ids, monkeypatch)
    return ids


def shoot(snap_compare, client, size, steps=(), **kwargs) -> bool:
    """Open the app, run ``steps`` (keys, or callables taking the pilot), wait for the
    workers after each, and compare the screen."""
    async def run_before(pilot) -> None:
        await settle(pilot)
        for step in steps:
            if callable(step):
                result = step(pilot)
                if result is not None:
                    await result
            else:
                await pilot.press(step)
            await settle(pilot)
        pilot.app.clear_notifications()
        # The footer redraws its keys a frame after focus settles: ask for it and wait, so the
        # picture never catches it half-way.
        pilot.app.screen.refresh_bindings()
        for _ in range(3):
            await asyncio.sleep(0.03)
            await pilot.pause()

    kwargs.setdefault("live", False)
    return snap_compare(make_app(client, **kwargs), terminal_size=size, run_before=run_before)


def to_experiment(name):
    async def step(pilot):
        screen = pilot.app.screen
        row = next(i for i, r in enumerate(screen.rows) if r.experiment.name == name)
        screen.query_one("#experiments-table").move_cursor(row=row)
    return step


@pytest.mark.parametrize("size", SIZES)
def test_experiments_screen(snap_compare, client, sample, size):
    assert shoot(snap_compare, client, size, [to_experiment("iris-forest")])


@pytest.mark.parametrize("size", SIZES)
def test_runs_screen_with_marks(snap_compare, client, sample, size):
    assert shoot(snap_compare, client, size, ["down", "space"], experiment_ids=[sample["iris-forest"]])


@pytest.mark.parametrize("size", SIZES)
def test_runs_screen_with_a_filter_error(snap_compare, client, sample, size):
    keys = ["slash", *"params.lr <", "enter"]
    assert shoot(snap_compare, client, size, keys, experiment_ids=[sample["iris-forest"]])


@pytest.mark.parametrize("size", SIZES)
def test_runs_screen_grouped(snap_compare, client, sample, size):
    assert shoot(snap_compare, client, size, ["g"], experiment_ids=[sample["mnist-cnn"]])


@pytest.mark.parametrize("size", SIZES)
def test_runs_sort_dialog_offers_every_key(snap_compare, client, sample, size):
    assert shoot(snap_compare, client, size, ["s"], experiment_ids=[sample["iris-forest"]])


@pytest.mark.parametrize("size", SIZES)
def test_runs_grouped_and_folded(snap_compare, client, sample, size):
    assert shoot(snap_compare, client, size, ["g", "f"], experiment_ids=[sample["mnist-cnn"]])


@pytest.mark.parametrize("size", SIZES)
def test_parallel_coordinates(snap_compare, client, sample, size):
    assert shoot(snap_compare, client, size, ["P"], experiment_ids=[sample["iris-forest"]])


@pytest.mark.parametrize("size", SIZES)
def test_compare_all_metrics_grid(snap_compare, client, sample, size):
    runs = [sample["forest-a"], sample["forest-b"], sample["forest-c"]]
    assert shoot(snap_compare, client, size, [lambda pilot: pilot.app.open_compare(runs), "3"])


@pytest.mark.parametrize("size", SIZES)
def test_run_detail_metrics_and_chart(snap_compare, client, sample, size):
    assert shoot(snap_compare, client, size, ["down"], run_id=sample["forest-b"])


@pytest.mark.parametrize("size", SIZES)
def test_run_detail_artifact_preview(snap_compare, client, sample, size):
    def choose(pilot):
        tree = pilot.app.screen.query_one("#artifact-tree")
        node = next(n for n in tree.root.children if n.data and n.data[0] == "config.json")
        tree.focus()
        tree.move_cursor(node)
    assert shoot(snap_compare, client, size, ["6", choose], run_id=sample["forest-a"])


@pytest.mark.parametrize("size", SIZES)
def test_compare_table(snap_compare, client, sample, size):
    runs = [sample["forest-a"], sample["forest-b"], sample["forest-c"]]
    assert shoot(snap_compare, client, size, [lambda pilot: pilot.app.open_compare(runs)])


@pytest.mark.parametrize("size", SIZES)
def test_compare_overlaid_charts(snap_compare, client, sample, size):
    runs = [sample["forest-a"], sample["forest-b"], sample["forest-c"]]
    assert shoot(snap_compare, client, size, [lambda pilot: pilot.app.open_compare(runs), "2", "s"])


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.skipif(not HAS_REGISTRY, reason="no model registry in this lighttrack yet")
def test_registry_models(snap_compare, client, sample, size):
    assert shoot(snap_compare, client, size, ["m"])


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.skipif(not HAS_REGISTRY, reason="no model registry in this lighttrack yet")
def test_model_versions(snap_compare, client, sample, size):
    assert shoot(snap_compare, client, size, ["m", "enter"])


@pytest.mark.parametrize("size", SIZES)
def test_light_theme_runs_screen(snap_compare, client, sample, size):
    assert shoot(snap_compare, client, size, [], experiment_ids=[sample["iris-forest"]], theme="light")
