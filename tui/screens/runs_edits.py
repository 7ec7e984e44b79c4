"""Edits from the runs screen: rename, tags, delete and restore. Rename and delete write from
their dialogs (a refusal keeps the dialog open, see ``tui.screens.saving``)."""

from __future__ import annotations

from textual import work

from tui.messages import ActionDone
from tui.screens.dialogs import ConfirmDialog, PromptDialog, TagEditor


class RunEdits:
    """Mixin for ``RunsScreen`` (which owns ``_current``, ``_targets``, ``marked`` and the caches)."""

    def action_rename(self) -> None:
        row = self._current()
        if row is None:
            return

        adapter = self.adapter

        def save(name: str) -> None:  # in the dialog: a refused name keeps it open with the text
            if name.strip() and name.strip() != row.run.info.run_name:
                adapter.rename_run(row.run_id, name.strip())

        def done(name: str | None) -> None:
            if name and name.strip() and name.strip() != row.run.info.run_name:
                self.post_message(ActionDone(f"renamed to {name.strip()}"))
        self.app.push_screen(PromptDialog("Rename run", "New name:", row.run.info.run_name, save=save), done)

    def action_tags(self) -> None:
        row = self._current()
        if row is None:
            return
        self.app.push_screen(TagEditor(row.run_id, row.run.info.run_name, row.run.data.tags),
                             lambda changed: self.reload() if changed else None)

    def action_delete(self) -> None:
        targets = self._targets()
        if not targets:
            return
        names = ", ".join(name for _, name in targets[:5]) + (" ..." if len(targets) > 5 else "")

        adapter, ids = self.adapter, [i for i, _ in targets]

        def done(yes: bool | None) -> None:
            if yes:
                self.post_message(ActionDone(f"deleted {len(ids)} run(s)"))
        self.app.push_screen(ConfirmDialog("Delete runs", f"Delete {len(targets)} run(s): {names}?\n"
                                           "Restore them with u (press v to see deleted runs).", "Delete",
                                           save=lambda: adapter.delete_runs(ids)), done)

    def action_restore(self) -> None:
        targets = self._targets()
        if not targets:
            return
        self.write("restore", [i for i, _ in targets])

    @work(thread=True, group="write", exit_on_error=False, description="Saving")
    def write(self, what: str, *args) -> None:
        self.adapter.restore_runs(args[0])
        self.post_message(ActionDone(f"restored {len(args[0])} run(s)"))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, timeout=3)
        if message.text.startswith(("deleted", "restored")):
            self.marked.clear()
            self.colours.clear()
        self.totals.clear()  # a delete or restore changes how many runs match
        self.pages.clear()
        self.reload()
