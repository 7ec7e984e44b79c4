"""A run's system metrics (``system/...``: CPU, memory, disk, network, each GPU) on their own:
a table of last/min/max grouped by device, and a chart of the highlighted one."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from lighttrack.entities import MetricSummary

from tui.format import ellipsize, number
from tui.widgets.chart import MetricChart
from tui.widgets.tables import Column, KeyTable

PREFIX = "system/"
#: (what the key starts with after system/ and any node id, the group shown)
GROUPS = (("cpu_", "CPU"), ("system_memory_", "memory"), ("disk_", "disk"), ("network_", "network"),
          ("gpu_", "GPU"))


def system_summaries(summaries: list[MetricSummary]) -> list[MetricSummary]:
    return [s for s in summaries if s.key.startswith(PREFIX)]


def describe(key: str) -> tuple[str, str, str]:
    """(node, group, reading) of a ``system/[node/]reading`` key, for display and ordering."""
    rest = key[len(PREFIX):]
    node, _, reading = rest.rpartition("/")
    for start, group in GROUPS:
        if reading.startswith(start):
            if group == "GPU":  # gpu_3_utilization_percentage -> "GPU 3", "utilization_percentage"
                index, _, what = reading[len(start):].partition("_")
                return node, f"GPU {index}", what
            return node, group, reading[len(start):] if group != "CPU" else reading
    return node, "other", reading


def _order(summary: MetricSummary) -> tuple:
    node, group, reading = describe(summary.key)
    names = [g for _, g in GROUPS]
    base = group.split(" ")[0]
    gpu = int(group.split(" ")[1]) if group.startswith("GPU ") and group.split(" ")[1].isdigit() else -1
    return node, names.index(base) if base in names else len(names), gpu, reading


class SystemMetricsPanel(Vertical):
    DEFAULT_CSS = """
    SystemMetricsPanel #system-table { height: auto; max-height: 50%; }
    SystemMetricsPanel #system-chart { height: 1fr; min-height: 8; }
    """

    def compose(self) -> ComposeResult:
        yield KeyTable(id="system-table", openable=False)
        yield MetricChart(id="system-chart", empty_text="no system metrics: start_run(log_system_metrics=True)")

    def fill(self, summaries: list[MetricSummary]) -> list[str]:
        """Show these summaries; returns the keys in the order shown."""
        chosen = sorted(system_summaries(summaries), key=_order)
        multi_node = len({describe(s.key)[0] for s in chosen}) > 1
        columns = [Column("group", "device", 12 if multi_node else 9), Column("key", "reading", 28),
                   Column("last", "last", 10), Column("min", "min", 10), Column("max", "max", 10),
                   Column("points", "points", 8)]
        rows = []
        for s in chosen:
            node, group, reading = describe(s.key)
            device = f"{node}/{group}" if multi_node and node else group
            rows.append((s.key, [Text(device, style="bold"), Text(ellipsize(reading, 28)),
                                 Text(number(s.value), justify="right"), Text(number(s.min), justify="right"),
                                 Text(number(s.max), justify="right"), Text(f"{s.count:,}", justify="right")]))
        self.query_one("#system-table", KeyTable).fill(columns, rows)
        return [s.key for s in chosen]
