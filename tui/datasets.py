"""How a run's dataset inputs look in the UI: one line of facts per input for the run detail,
and a row per dataset context for compare (name@digest per run, so different data stands out).

Pure functions over ``run.inputs.dataset_inputs`` (no Textual, no SQL). Source, schema and
profile are JSON written by whoever made the file: they are read defensively and shown as
plain text, never as markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tui.format import ellipsize, ellipsize_middle, number

CONTEXT_TAG = "mlflow.data.context"
NO_CONTEXT = "(no context)"
SCHEMA_COLUMNS = 8  # columns named in a schema summary before "+N more"


@dataclass(frozen=True)
class InputRow:
    """One dataset input of a run, in the words the screen shows."""

    context: str  # "" when the input has no mlflow.data.context tag
    name: str
    digest: str
    source_type: str
    source: str
    schema: str
    profile: str
    tags: dict[str, str] = field(default_factory=dict)  # the other input tags

    @property
    def label(self) -> str:
        return f"{self.name}@{self.digest}"


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def source_text(source_type: str, source: str) -> str:
    """``local data/train.csv``, ``http https://...``, ``code train.py``; raw text otherwise."""
    value = _json(source)
    shown = None
    if isinstance(value, dict):
        if isinstance(value.get("uri"), str):
            shown = value["uri"]
        elif isinstance(value.get("url"), str):
            shown = value["url"]
        elif isinstance(value.get("tags"), dict):
            tags = value["tags"]
            shown = str(tags.get("mlflow.source.name") or tags.get("mlflow.user") or "")
    return f"{source_type} {shown if shown is not None else source}".strip()


def _colspec_text(specs: Any) -> str:
    if not isinstance(specs, list):
        return ""
    parts = []
    for spec in specs[:SCHEMA_COLUMNS]:
        if isinstance(spec, dict):
            name = spec.get("name")
            kind = spec.get("type", "?")
            if kind == "tensor" and isinstance(spec.get("tensor-spec"), dict):
                tensor = spec["tensor-spec"]
                kind = f"{tensor.get('dtype', '?')} {tuple(tensor.get('shape') or ())}"
            parts.append(f"{name} {kind}" if name is not None else str(kind))
    more = f" +{len(specs) - SCHEMA_COLUMNS} more" if len(specs) > SCHEMA_COLUMNS else ""
    return ", ".join(parts) + more


def schema_text(schema: Any) -> str:
    """Column names and types (``x double, label long``), or features/targets tensors."""
    value = _json(schema)
    if not isinstance(value, dict):
        return "" if schema is None else ellipsize(str(schema), 80)
    if "mlflow_colspec" in value:
        return _colspec_text(value["mlflow_colspec"])
    tensors = value.get("mlflow_tensorspec")
    if isinstance(tensors, dict):
        parts = [f"{part}: {_colspec_text(_json(tensors.get(part)))}" for part in ("features", "targets")
                 if tensors.get(part)]
        return "; ".join(parts)
    return ellipsize(str(schema), 80)


def profile_text(profile: Any) -> str:
    """``150 rows · 750 values`` for tables, ``features (150, 4) · targets (150,)`` for arrays."""
    value = _json(profile)
    if not isinstance(value, dict):
        return "" if profile is None else ellipsize(str(profile), 80)
    if "num_rows" in value:
        parts = [f"{number(value['num_rows'], 12)} rows"]
        if "num_elements" in value:
            parts.append(f"{number(value['num_elements'], 12)} values")
        return " · ".join(parts)
    shapes = [f"{part} {_shape(value[f'{part}_shape'])}" for part in ("features", "targets")
              if f"{part}_shape" in value]
    return " · ".join(shapes) if shapes else ellipsize(json.dumps(value), 80)


def _shape(shape: Any) -> str:
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {tuple(v) if isinstance(v, list) else v}" for k, v in shape.items()) + "}"
    return str(tuple(shape)) if isinstance(shape, list) else str(shape)


def input_rows(run: Any) -> list[InputRow]:
    """The run's dataset inputs as rows, in logged order."""
    rows = []
    for item in getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []:
        d = item.dataset
        tags = {t.key: t.value for t in item.tags}
        rows.append(InputRow(
            context=tags.pop(CONTEXT_TAG, ""), name=str(d.name), digest=str(d.digest),
            source_type=str(d.source_type), source=source_text(str(d.source_type), d.source),
            schema=schema_text(d.schema), profile=profile_text(d.profile), tags=tags,
        ))
    return rows


def inputs_renderable(rows: list[InputRow], width: int = 100) -> Group:
    """The run detail's Inputs section: per dataset its context, name@digest, source, schema
    and profile (and any other input tags)."""
    parts: list[Any] = [Text(f"\ninputs ({len(rows)})" if rows else "\ninputs", style="bold")]
    if not rows:
        parts.append(Text("no dataset logged (mlflow.log_input)", style="dim italic"))
    for row in rows:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        head = Text(row.context or NO_CONTEXT, style="bold cyan" if row.context else "dim")
        head.append("  ")
        head.append(row.label, style="bold")
        table.add_row("dataset", head)
        table.add_row("source", Text(ellipsize_middle(row.source, max(20, width - 14))))
        for label, value in (("schema", row.schema), ("profile", row.profile)):
            if value:
                table.add_row(label, Text(value))
        for key, value in row.tags.items():
            table.add_row("tag", Text(f"{key} = {value}"))
        parts.extend([table, Text("")])
    return Group(*parts)


def compare_rows(runs: list[Any]) -> list[tuple[str, list[str | None]]]:
    """(context, name@digest per run; None when a run has no input in that context), one row
    per context any run has; several inputs in one context are joined with ", "."""
    per_run = []
    contexts: dict[str, None] = {}
    for run in runs:
        by_context: dict[str, list[str]] = {}
        for row in input_rows(run):
            key = row.context or NO_CONTEXT
            by_context.setdefault(key, []).append(row.label)
            contexts.setdefault(key)
        per_run.append(by_context)
    return [(context, [", ".join(sorted(found[context])) if context in found else None for found in per_run])
            for context in sorted(contexts)]
