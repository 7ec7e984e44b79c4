"""A footer that shows the keys that fit, most useful first, instead of cutting the row.

Textual's footer lays every key out in one row; at 120 columns the runs screen's keys ran off
the edge, with no sign that any were missing. This one keeps the screen's keys in the order
the screen lists them (most useful first), always keeps ``?`` (every key, in the key panel),
and leaves out what does not fit the width.
"""

from __future__ import annotations

from collections import defaultdict

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

ALWAYS = ("toggle_keys",)
PALETTE_ROOM = 14  # the command palette key at the right edge


class FittedFooter(Footer):
    def on_resize(self) -> None:
        self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        by_action: defaultdict[str, list] = defaultdict(list)
        for _, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip))
        entries = [bindings[0] for bindings in by_action.values()]

        def width(entry) -> int:
            binding = entry[0]
            return len(self.app.get_key_display(binding)) + len(binding.description) + 3

        room = max(0, (self.size.width or self.app.size.width) - PALETTE_ROOM)
        used = sum(width(e) for e in entries if e[0].action in ALWAYS)
        chosen = []
        for entry in entries:
            if entry[0].action in ALWAYS:
                chosen.append(entry)
            elif used + width(entry) <= room:
                used += width(entry)
                chosen.append(entry)
        self.styles.grid_size_columns = len(chosen)
        for binding, enabled, tooltip in chosen:
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                            disabled=not enabled, tooltip=tooltip).data_bind(compact=Footer.compact)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            try:
                _node, binding, enabled, tooltip = active[self.app.COMMAND_PALETTE_BINDING]
            except KeyError:
                return
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                            classes="-command-palette", disabled=not enabled, tooltip=binding.tooltip
                            or binding.description)
