"""The command palette: jump to any experiment, run (by name or id prefix) or model, and run
any action of the current screen (every binding is also a palette command, see
``LighttrackApp.get_system_commands``)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from lighttrack.errors import LighttrackError

if TYPE_CHECKING:
    from tui.adapter import JumpTarget
    from tui.app import LighttrackApp

KIND_LABELS = {"experiment": "Experiment", "run": "Run", "model": "Model"}


class JumpProvider(Provider):
    """Experiments, runs and models by name; runs also by id prefix (4+ hex characters)."""

    @property
    def lt_app(self) -> "LighttrackApp":
        return self.app  # type: ignore[return-value]

    async def _targets(self, text: str) -> list["JumpTarget"]:
        # The palette's search is async: the read runs in a thread with its own connection.
        try:
            return await asyncio.to_thread(self.lt_app.adapter.jump_targets, text)
        except LighttrackError:
            return []

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for target in await self._targets(query):
            title = f"{KIND_LABELS[target.kind]}: {target.label}"
            score = max(matcher.match(title), 0.5 if query.lower() in title.lower() else 0.3)
            yield Hit(score, matcher.highlight(title), partial(self.lt_app.jump, target), text=title,
                      help=target.help)

    async def discover(self) -> Hits:
        try:
            rows = await asyncio.to_thread(self.lt_app.adapter.experiments)
        except LighttrackError:
            return
        from tui.adapter import JumpTarget

        for row in rows[:50]:
            target = JumpTarget("experiment", row.experiment_id, row.experiment.name, "experiment: open its runs")
            yield DiscoveryHit(f"Experiment: {row.experiment.name}", partial(self.lt_app.jump, target),
                               help=f"{row.run_count:,} runs")
