"""Pilot tests of the registry screens: models, versions, stage changes with and without
archiving (checked through the API), aliases, descriptions, history, jump to the source run."""

from __future__ import annotations

import pytest

pytest.importorskip("textual")

from lighttrack.client import LighttrackClient  # noqa: E402
from test_tui_helpers import _utc, build_registry, build_sample, run_async_tests, settle, table_column  # noqa: E402,F401

from tui.app import make_app  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(LighttrackClient, "search_registered_models"),
                                reason="the model registry is not in this lighttrack yet")
NAME = "iris-classifier"


@pytest.fixture
def sample(client):
    ids = build_sample(client)
    build_registry(client, ids)
    return ids


async def open_model(pilot) -> None:
    await pilot.press("m")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def stages(client) -> dict[str, str]:
    return {str(v.version): v.current_stage for v in client.search_model_versions(f"name = '{NAME}'")}


async def test_models_list_shows_latest_versions_per_stage_and_aliases(client, sample):
    async with make_app(client, live=False).run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        screen = pilot.app.screen
        assert type(screen).__name__ == "RegistryScreen"
        table = screen.query_one("#models-table")
        assert table_column(table, "name") == [NAME]
        assert table_column(table, "latest") == ["Production v1 · Staging v2"]
        assert table_column(table, "aliases") == ["@champion→v1"]


async def test_versions_show_stage_aliases_source_run_description_and_tags(client, sample):
    async with make_app(client, live=False).run_test(size=(130, 30)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        table = pilot.app.screen.query_one("#versions-table")
        assert table_column(table, "version") == ["v2", "v1"]
        assert table_column(table, "stage") == ["Staging", "Production"]
        assert table_column(table, "aliases") == ["", "@champion"]
        assert table_column(table, "run") == ["forest-a", "forest-a"]
        assert table_column(table, "description") == ["", "first cut"]
        assert table_column(table, "tags") == ["validated=yes", ""]


async def test_stage_change_without_archiving_keeps_the_others(client, sample):
    async with make_app(client, live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("s")  # v2 (Staging): the dialog offers None, Production, Archived
        dialog = pilot.app.screen
        assert type(dialog).__name__ == "StageDialog"
        await pilot.press("down", "down")  # nothing is preselected: None, then Production
        assert "now in Production: v1" in str(dialog.query_one("#stage-note").content)
        await pilot.press("enter")
        await settle(pilot)
        confirm = pilot.app.screen  # into Production: a second step naming both versions
        assert type(confirm).__name__ == "ConfirmDialog"
        assert "v2" in confirm.question and "v1 is in Production now" in confirm.question
        await pilot.press("y")
        await settle(pilot)
        assert stages(client) == {"1": "Production", "2": "Production"}


async def test_stage_change_with_archiving_archives_the_version_there(client, sample):
    async with make_app(client, live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("s", "down", "down", "a", "enter")
        await settle(pilot)
        assert "will be archived" in pilot.app.screen.question
        await pilot.press("y")
        await settle(pilot)
        assert stages(client) == {"1": "Archived", "2": "Production"}
        table = pilot.app.screen.query_one("#versions-table")
        assert table_column(table, "stage") == ["Production", "Archived"]
        history = [(e.version, e.event, e.from_value, e.to_value) for e in client.get_model_history(NAME)]
        assert ("2", "stage", "Staging", "Production") in history
        assert ("1", "stage", "Production", "Archived") in history


async def test_s_then_enter_changes_nothing_and_leaving_production_asks_twice(client, sample):
    async with make_app(client, live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("s", "enter")  # nothing preselected: Enter alone moves nothing
        await settle(pilot)
        assert stages(client) == {"1": "Production", "2": "Staging"}
        await pilot.press("escape")
        await settle(pilot)
        table = pilot.app.screen.query_one("#versions-table")
        table.move_cursor(row=table.get_row_index("1"))  # v1, in Production
        await pilot.press("s", "down", "enter")  # -> None (out of Production)
        await settle(pilot)
        confirm = pilot.app.screen
        assert "OUT of Production" in confirm.question and "no version will be in Production" in confirm.question
        await pilot.press("n")
        await settle(pilot)
        assert stages(client) == {"1": "Production", "2": "Staging"}


async def test_cancelling_the_stage_dialog_changes_nothing(client, sample):
    async with make_app(client, live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("s", "down", "a", "escape")
        await settle(pilot)
        assert stages(client) == {"1": "Production", "2": "Staging"}


async def test_a_refused_alias_keeps_the_dialog_open_with_the_error_and_the_text(client, sample):
    async with make_app(client, live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("a", *"latest", "enter")
        await settle(pilot)
        dialog = pilot.app.screen
        assert type(dialog).__name__ == "PromptDialog"
        error = dialog.query_one("#prompt-error")
        assert error.has_class("-shown") and "latest" in str(error.render())
        assert dialog.query_one("#prompt-input").value == "latest"
        await pilot.press("ctrl+a", "ctrl+k", *"stable", "enter")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ModelScreen"
        assert client.get_registered_model(NAME).aliases["stable"] == 2


async def test_set_and_remove_aliases(client, sample):
    async with make_app(client, live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("a", *"challenger", "enter")
        await settle(pilot)
        assert client.get_registered_model(NAME).aliases == {"champion": 1, "challenger": 2}
        assert table_column(pilot.app.screen.query_one("#versions-table"), "aliases")[0] == "@challenger"
        await pilot.press("A")  # choose which alias to remove
        dialog = pilot.app.screen
        options = dialog.query_one("#choices")
        options.highlighted = [options.get_option_at_index(i).id for i in range(options.option_count)].index("champion")
        await pilot.press("enter")
        await settle(pilot)
        assert client.get_registered_model(NAME).aliases == {"challenger": 2}


async def test_edit_version_and_model_descriptions(client, sample):
    async with make_app(client, live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("e", *"ready for review", "ctrl+s")
        await settle(pilot)
        assert client.get_model_version(NAME, "2").description == "ready for review"
        await pilot.press("E", "ctrl+a", *"served by the batch job", "ctrl+s")
        await settle(pilot)
        assert "served by the batch job" in client.get_registered_model(NAME).description


async def test_history_lists_every_stage_and_alias_change_newest_first(client, sample):
    async with make_app(client, live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("h")
        await pilot.pause()
        screen = pilot.app.screen
        assert screen.query_one("#model-tabs").active == "tab-history"
        changes = table_column(screen.query_one("#history-table"), "change")
        assert changes[0] == "alias @champion → v1"
        assert "stage None → Production" in changes and "version created" in changes


async def test_enter_on_a_version_jumps_to_its_source_run(client, sample):
    async with make_app(client, live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "RunDetailScreen"
        assert pilot.app.screen.run_id == sample["forest-a"]
        await pilot.press("7")  # the run's models tab lists the registered versions
        from rich.console import Console
        import io

        console = Console(width=120, file=io.StringIO(), record=True, color_system=None)
        console.print(pilot.app.screen.query_one("#models-text").content)
        text = console.export_text()
        assert "iris-classifier v2 (Staging)" in text and "iris-classifier v1 (Production)" in text


async def test_the_palette_finds_models(client, sample):
    async with make_app(client, live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        targets = pilot.app.adapter.jump_targets("iris-cl")
        assert ("model", NAME) in [(t.kind, t.ident) for t in targets]
        pilot.app.jump(next(t for t in targets if t.kind == "model"))
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ModelScreen"


async def test_registry_refreshes_live_when_another_thread_changes_a_stage(client, sample):
    import threading

    async with make_app(client, live=True, poll_interval=0.05).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_model(pilot)
        thread = threading.Thread(target=lambda: client.transition_model_version_stage(NAME, "2", "Archived"))
        thread.start()
        thread.join()
        table = pilot.app.screen.query_one("#versions-table")
        for _ in range(200):
            await pilot.pause(0.02)
            if table_column(table, "stage")[0] == "Archived":
                break
        assert table_column(table, "stage")[0] == "Archived"


run_async_tests(globals())
