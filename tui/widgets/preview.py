"""Artifact preview: text, JSON, YAML, Python (with colours), CSV as a table, images as
terminal pixels when Pillow is installed."""

from __future__ import annotations

import csv
import io
import json

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from tui.format import ellipsize, size_text

PREVIEW_LIMIT = 2 * 1024 * 1024  # bytes read for a preview; bigger files say so instead
TABLE_ROWS = 500
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
SYNTAX_BY_SUFFIX = {
    ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".py": "python", ".toml": "toml",
    ".sh": "bash", ".sql": "sql", ".md": "markdown", ".ini": "ini", ".cfg": "ini",
    ".html": "html", ".xml": "xml", ".js": "javascript",
}
SPECIAL_NAMES = {"MLmodel": "yaml", "MLproject": "yaml", "conda.yaml": "yaml",
                 "python_env.yaml": "yaml", "requirements.txt": "text"}


def kind_of(path: str) -> str:
    """What a preview does with a file: "table", "image", a Pygments lexer name, or "text"."""
    name = path.rsplit("/", 1)[-1]
    if name in SPECIAL_NAMES:
        return SPECIAL_NAMES[name]
    lower = name.lower()
    suffix = lower[lower.rfind("."):] if "." in lower else ""
    if suffix in (".csv", ".tsv"):
        return "table"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return SYNTAX_BY_SUFFIX.get(suffix, "text")


class HalfBlockImage:
    """A Pillow image drawn with '▀' cells: two pixels a cell, scaled to the width."""

    def __init__(self, image, max_height: int = 60) -> None:
        self.image = image.convert("RGB")
        self.max_height = max_height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, min(options.max_width, self.image.width))
        height = max(2, round(self.image.height * width / self.image.width))
        if height > self.max_height * 2:
            height = self.max_height * 2
            width = max(1, round(self.image.width * height / self.image.height))
        height += height % 2
        pixels = self.image.resize((width, height)).load()
        for y in range(0, height, 2):
            for x in range(width):
                top, bottom = pixels[x, y], pixels[x, y + 1]
                yield Segment("▀", Style(color=f"rgb{top}", bgcolor=f"rgb{bottom}"))
            yield Segment.line()


class ArtifactPreview(VerticalScroll):
    """Shows one artifact; ``show`` picks the presentation from the file name."""

    DEFAULT_CSS = """
    ArtifactPreview { height: 1fr; }
    ArtifactPreview > #preview-text { width: 100%; }  /* long lines wrap: nothing is cut off */
    ArtifactPreview > #preview-table { height: auto; max-height: 100%; display: none; }
    ArtifactPreview.-table > #preview-table { display: block; }
    ArtifactPreview.-table > #preview-text { display: none; }
    """

    def compose(self) -> ComposeResult:
        yield Static(Text("select a file to preview it", style="dim"), id="preview-text")
        yield DataTable(id="preview-table", zebra_stripes=True)

    def message(self, text: str) -> None:
        self.remove_class("-table")
        self.query_one("#preview-text", Static).update(Text(text, style="dim"))

    def show(self, path: str, data: bytes | None, size: int | None, note: str = "") -> None:
        text_widget = self.query_one("#preview-text", Static)
        self.scroll_home(animate=False)
        if data is None:
            self.message(note or f"{path}: {size_text(size)}, too big to preview")
            return
        kind = kind_of(path)
        if kind == "table":
            if self._table(path, data):
                self.add_class("-table")
                return
            kind = "text"
        self.remove_class("-table")
        if kind == "image":
            text_widget.update(self._image(path, data))
            return
        try:
            content = data.decode("utf-8")
        except UnicodeDecodeError:
            text_widget.update(Text(f"{path}: binary file, {size_text(len(data))}", style="dim"))
            return
        if kind == "json":
            try:
                content = json.dumps(json.loads(content), indent=2, ensure_ascii=False)
            except ValueError:
                pass
        if kind == "text":
            text_widget.update(Text(content))
        else:
            text_widget.update(Syntax(content, kind, theme="ansi_dark" if self.app.current_theme.dark
                                      else "ansi_light", word_wrap=True, line_numbers=False,
                                      background_color="default"))

    def _table(self, path: str, data: bytes) -> bool:
        try:
            content = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return False
        delimiter = "\t" if path.lower().endswith(".tsv") else ","
        rows = []
        for i, row in enumerate(csv.reader(io.StringIO(content), delimiter=delimiter)):
            if i > TABLE_ROWS:
                break
            rows.append(row)
        if not rows:
            return False
        table = self.query_one("#preview-table", DataTable)
        table.clear(columns=True)
        width = max(len(r) for r in rows)
        header = rows[0] + [""] * (width - len(rows[0]))
        for i, name in enumerate(header):
            table.add_column(ellipsize(name, 20), key=f"c{i}")
        for row in rows[1:]:
            cells = [ellipsize(c, 24) for c in row] + [""] * (width - len(row))
            table.add_row(*cells[:width])
        return True

    def _image(self, path: str, data: bytes):
        try:
            from PIL import Image
        except ImportError:
            return Text(f"{path}: an image ({size_text(len(data))}); install Pillow to see it here",
                        style="dim")
        try:
            image = Image.open(io.BytesIO(data))
            image.load()
        except Exception as exc:  # Pillow raises many kinds for a bad file
            return Text(f"{path}: cannot read this image ({exc})", style="dim")
        return HalfBlockImage(image)
