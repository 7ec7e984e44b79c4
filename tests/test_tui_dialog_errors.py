"""Every dialog that writes stays open when the write is refused, shows why, and keeps what
was typed or chosen (it used to close and lose it: only the alias dialog did this)."""

from __future__ import annotations

import pytest

pytest.importorskip("textual")

from test_tui_helpers import build_registry, build_sample, run_async_tests, settle  # noqa: E402,F401
from textual.widgets import Input, TextArea  # noqa: E402

from tui.app import make_app  # noqa: E402

LONG = "n" * 501  # names hold at most 500 characters


def shown_error(dialog) -> str:
    error = dialog.query_one(".dialog-error")
    assert error.has_class("-shown")
    return str(error.render())


async def open_runs(pilot, name: str) -> None:
    screen = pilot.app.screen
    screen.query_one("#experiments-table").move_cursor(
        row=next(i for i, r in enumerate(screen.rows) if r.experiment.name == name))
    await pilot.press("enter")
    await settle(pilot)


async def test_a_refused_run_rename_keeps_the_dialog_and_the_name(client):
    build_sample(client)
    async with make_app(client, live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_runs(pilot, "iris-forest")
        await pilot.press("r")
        dialog = pilot.app.screen
        dialog.query_one("#prompt-input", Input).value = LONG
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen is dialog and "at most 500" in shown_error(dialog)
        assert dialog.query_one("#prompt-input", Input).value == LONG
        dialog.query_one("#prompt-input", Input).value = "renamed"
        await pilot.press("enter")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "RunsScreen"
        assert any(r.info.run_name == "renamed" for r in client.search_runs(None))


async def test_a_refused_tag_keeps_the_editor_with_the_key_and_value(client):
    build_sample(client)
    async with make_app(client, live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_runs(pilot, "iris-forest")
        await pilot.press("t")
        await settle(pilot)
        dialog = pilot.app.screen
        dialog.query_one("#tag-key", Input).value = "k" * 300
        dialog.query_one("#tag-value", Input).value = "v1"
        dialog.query_one("#tag-value", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen is dialog and "300 characters" in shown_error(dialog)
        assert dialog.query_one("#tag-key", Input).value == "k" * 300
        assert dialog.query_one("#tag-value", Input).value == "v1"


async def test_a_refused_description_keeps_the_text(client):
    build_sample(client)
    async with make_app(client, live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_runs(pilot, "iris-forest")
        await pilot.press("enter")  # the run's detail
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        dialog = pilot.app.screen
        assert type(dialog).__name__ == "PromptDialog"
        dialog.query_one("#prompt-area", TextArea).text = "x" * 9000
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is dialog and "8,000" in shown_error(dialog)
        assert dialog.query_one("#prompt-area", TextArea).text == "x" * 9000


async def test_a_refused_experiment_name_keeps_the_dialog(client):
    build_sample(client)
    async with make_app(client, live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n", *"mnist-cnn", "enter")  # a name in use
        await settle(pilot)
        dialog = pilot.app.screen
        assert type(dialog).__name__ == "PromptDialog" and "already exists" in shown_error(dialog)
        assert dialog.query_one("#prompt-input", Input).value == "mnist-cnn"


async def test_a_refused_stage_change_keeps_the_dialog_and_the_choice(client):
    ids = build_sample(client)
    build_registry(client, ids)
    async with make_app(client, live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("s", "down")  # v2 (Staging) -> None
        dialog = pilot.app.screen
        client.delete_model_version("iris-classifier", "2")  # meanwhile, elsewhere
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen is dialog and "2" in shown_error(dialog)
        assert dialog._stage() == "None"


async def test_a_refused_delete_keeps_the_confirmation_with_the_error(client):
    build_sample(client)
    async with make_app(client, live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_runs(pilot, "iris-forest")
        run_id = pilot.app.screen.query_one("#runs-table").cursor_key
        await pilot.press("d")
        dialog = pilot.app.screen
        client.delete_run(run_id)
        client.gc()  # gone for good, meanwhile, elsewhere
        await pilot.press("y")
        await settle(pilot)
        assert pilot.app.screen is dialog and run_id in shown_error(dialog)


run_async_tests(globals())
