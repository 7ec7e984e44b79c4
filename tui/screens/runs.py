"""Runs: the heart of the UI. A page of runs of the chosen experiment(s) with status, name,
start, duration, user and chosen param/metric/tag columns; server-side sort and filter
(the full search grammar), marks for compare, parent/child grouping, and edits.

Only one page (``PAGE_SIZE`` top-level runs) is ever in the table: moving past its last row
loads the next page through ``search_runs(page_token=...)``, so 100,000 runs cost what 100 do.
"""

from __future__ import annotations

import gc

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Header, Input, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker

from lighttrack.entities import ViewType
from lighttrack.errors import InvalidArgument

from tui.widgets.footer import FittedFooter
from tui.adapter import PARENT_TAG, RunQuery, RunRow, RunsPage
from tui.format import duration, ellipsize, ellipsize_middle, rich_colour, short_labels, status_text, when
from tui.messages import ExperimentNamesLoaded, FilterRejected, PagePrefetched, RunsLoaded
from tui.paging import Pager
from tui.screens.base import DataScreen
from tui.screens.dialogs import ColumnChooser, SortDialog
from tui.screens.runs_edits import RunEdits
from tui.screens.runs_paging import RunPaging
from tui.screens.runs_columns import (
    ATTRIBUTES, NARROW_WIDTHS, OPTIONAL_ATTRIBUTES, Sort, column_label, data_widths, default_columns, name_width,
    value_text,
)
from tui.state import RunsView, load_view, save_view
from tui.screens.experiments import NEXT_VIEW, VIEW_NAMES
from tui.widgets.tables import Column, KeyTable

PAGE_SIZE = 100
CACHED_PAGES = 6
MARK = "●"


class FilterInput(Input):
    """The filter box: Enter applies, Esc goes back to the table."""

    BINDINGS = [
        Binding("escape", "leave", "Back to table", id="filter.leave", tooltip="Leave the filter box"),
    ]

    def action_leave(self) -> None:
        self.screen.query_one("#runs-table").focus()


class RunsScreen(RunPaging, RunEdits, DataScreen):
    AUTO_FOCUS = "#runs-table"
    BINDINGS = [
        Binding("space", "mark", "Mark", id="runs.mark", tooltip="Mark or unmark the run (for compare, delete...)"),
        Binding("c", "compare", "Compare", id="runs.compare", tooltip="Compare the marked runs side by side"),
        Binding("slash", "filter", "Filter", id="runs.filter",
                tooltip="Type a search filter, e.g. metrics.acc > 0.9 and params.lr = '0.01'"),
        Binding("s", "sort", "Sort", id="runs.sort", tooltip="Sort by a column (on the server, over every page)"),
        Binding("S", "reverse", "Reverse", id="runs.reverse", tooltip="Reverse the sort order"),
        Binding("C", "columns", "Columns", id="runs.columns", tooltip="Choose the param, metric and tag columns"),
        Binding("g", "group", "Group", id="runs.group", tooltip="Group child runs under their parent run"),
        Binding("f", "fold", "Fold", id="runs.fold", tooltip="Fold or unfold the children of this parent run (grouped)"),
        Binding("F", "fold_all", "Fold all", id="runs.fold_all", tooltip="Fold (or unfold) every parent run's children"),
        Binding("M", "logged_models", "Logged models", id="runs.logged_models",
                tooltip="The experiment's logged models: search, open, register"),
        Binding("p", "scatter", "Scatter", id="runs.scatter",
                tooltip="Scatter plot of a param or metric against another over the filtered runs"),
        Binding("P", "parallel", "Parallel", id="runs.parallel",
                tooltip="Parallel coordinates over the filtered runs: varying params -> the metric"),
        Binding("r", "rename", "Rename", id="runs.rename", tooltip="Rename the run"),
        Binding("t", "tags", "Tags", id="runs.tags", tooltip="Edit the run's tags"),
        Binding("d", "delete", "Delete", id="runs.delete", tooltip="Delete the marked runs (or this one); restorable"),
        Binding("u", "restore", "Restore", id="runs.restore", tooltip="Restore deleted runs (press v to see them)"),
        Binding("v", "view", "Active/deleted", id="runs.view", tooltip="Cycle between active, deleted and all runs"),
        Binding("A", "mark_page", "Mark page", id="runs.mark_page", tooltip="Mark (or unmark) every run on this page"),
        Binding("right_square_bracket", "page(1)", "Next page", id="runs.next_page", tooltip="Show the next page of runs"),
        Binding("left_square_bracket", "page(-1)", "Prev page", id="runs.prev_page",
                tooltip="Show the previous page of runs"),
        Binding("left_curly_bracket", "first_page", "First page", id="runs.first_page",
                tooltip="Jump to the first page of runs"),
        Binding("right_curly_bracket", "last_page", "Last page", id="runs.last_page",
                tooltip="Jump to the last page of runs"),
    ]

    def __init__(self, experiment_ids: list[str], names: dict[str, str] | None = None) -> None:
        super().__init__()
        self.experiment_ids = tuple(experiment_ids)
        self.names = names or {}
        self.filter_text = ""
        self.sort: Sort | None = None
        self.view_type = ViewType.ACTIVE_ONLY
        self.grouped = False
        self.pager = Pager(PAGE_SIZE, self._token_at)
        self.page: RunsPage | None = None
        self.columns: list[str] | None = None  # chosen data columns (metrics.x, params.y, tags.z)
        self.attributes = list(OPTIONAL_ATTRIBUTES)
        self.marked: dict[str, str] = {}
        self.colours: dict[str, int] = {}  # marked run -> palette index, kept while marked
        self.folded: set[str] = set()
        self._labels: dict[str, str] = {}  # run id -> the name as cut for this page  # parent runs whose children are hidden (grouped view)
        self.pending_cursor: int | None = None
        self.filter_error = ""
        self.focus_table_when_loaded = False
        self.pages: dict[tuple[RunQuery, str | None], RunsPage] = {}  # shown and read-ahead pages
        # How many runs a filter matches, counted once: paging and re-sorting do not change
        # it, and counting 100k runs costs as much as reading a page (dropped on file changes).
        self.totals: dict[tuple, int] = {}

    @property
    def screen_name(self) -> str:  # type: ignore[override]
        names = [self.names.get(i, i[:8]) for i in self.experiment_ids]
        return "Runs · " + ellipsize(", ".join(names) or "all experiments", 50)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filter-bar"):
            yield Label("filter", id="filter-label")
            yield FilterInput(placeholder="metrics.acc > 0.9 and params.lr = '0.01'   (/ to type, Enter applies)",
                              id="filter")
        yield Static(id="filter-error")
        yield KeyTable(id="runs-table", pages=True, fixed_columns=3)
        yield Static(id="runs-status", classes="status-line")
        yield FittedFooter()

    def on_mount(self) -> None:
        self.app.sub_title = self.screen_name
        self._restore_view()
        table = self.query_one("#runs-table", KeyTable)
        table.loading = True
        table.focus()
        self.reload()
        if any(i not in self.names for i in self.experiment_ids):
            self.load_names()

    # --------------------------------------------------------- remembered per experiment
    def _restore_view(self) -> None:
        view = load_view(self.experiment_ids)
        if view is None:
            return
        self.columns = view.columns
        if view.attributes is not None:
            self.attributes = [a for a in OPTIONAL_ATTRIBUTES if a in view.attributes]
        if view.sort is not None:
            self.sort = Sort(*view.sort)
        if view.filter_text:
            self.filter_text = view.filter_text
            self.query_one("#filter", Input).value = view.filter_text

    def _save_view(self) -> None:
        save_view(self.experiment_ids, RunsView(
            columns=self.columns, attributes=list(self.attributes),
            sort=(self.sort.column, self.sort.descending) if self.sort else None,
            filter_text=self.filter_text))

    @work(thread=True, exclusive=True, group="names", exit_on_error=False, description="Reading experiment names")
    def load_names(self) -> None:
        self.post_message(ExperimentNamesLoaded(self.adapter.experiment_names(self.experiment_ids)))

    def on_experiment_names_loaded(self, message: ExperimentNamesLoaded) -> None:
        self.names.update(message.names)
        if self.app.screen is self:
            self.app.sub_title = self.screen_name

    # -------------------------------------------------------------------- loading
    def run_query(self) -> RunQuery:
        return RunQuery(self.experiment_ids, self.filter_text,
                        (self.sort.order_by(),) if self.sort else (), self.view_type, self.grouped, PAGE_SIZE)

    def _token_at(self, offset: int) -> str | None:
        return self.adapter.page_token_at(offset)

    @staticmethod
    def _count_key(query: RunQuery) -> tuple:
        return (query.experiment_ids, query.filter_text, query.view_type, query.grouped)

    def reload(self, live: bool = False) -> None:
        if live:
            self.pages.clear()  # the file changed: cached pages may be stale
            self.totals.clear()
            if self.pager.busy:
                return  # the page on its way is read after this change anyway
            index = self.pager.index
        else:
            index = self.pager.loading if self.pager.busy else self.pager.index
            self.pager.loading = index
        self.load_page(self.run_query(), self.pager.token(index), live, index)

    def restart(self) -> None:
        """The query changed: back to the first page."""
        self.pager.reset()
        self.pending_cursor = 0
        self.pages.clear()
        self.busy()
        self.reload()

    def busy(self) -> None:
        """Say "loading" in the status line; the rows stay (and keep focus) until the answer
        comes. (Only the very first load covers the table with a loading indicator.)"""
        # (its size never changes: one full-width line, so no layout pass: 15-20 ms at 120x40)
        self.query_one("#runs-status", Static).update(Text("loading…", style="italic"), layout=False)

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False, description="Loading runs")
    def load_page(self, query: RunQuery, token: str | None, live: bool, index: int) -> None:
        worker = get_current_worker()
        known = self.totals.get(self._count_key(query))
        try:
            page = self.adapter.runs_page(query, token, with_total=known is None)
            if known is not None:
                page.total = known
        except InvalidArgument as exc:
            if not worker.is_cancelled:
                self.post_message(FilterRejected(query.filter_text, exc.message))
            return
        if not worker.is_cancelled:
            self.post_message(RunsLoaded(page, live, index))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A page load that failed (not a bad filter: that is FilterRejected) must not leave
        the pager waiting for it forever."""
        if event.state == WorkerState.ERROR and event.worker.group == "runs":
            self.pager.failed()
            self._status()
        super().on_worker_state_changed(event)

    def on_filter_rejected(self, message: FilterRejected) -> None:
        self.pager.failed()
        self.query_one("#runs-table", KeyTable).loading = False
        self.load_finished()
        self.filter_error = message.error
        error = self.query_one("#filter-error", Static)
        error.update(Text(message.error))
        error.add_class("-shown")
        filter_box = self.query_one("#filter", Input)
        filter_box.add_class("-error")
        filter_box.focus()
        self.focus_table_when_loaded = False
        self._status()

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        page = message.page
        if page.query != self.run_query() or not self.pager.accepts(message.index, message.live):
            return  # an answer to a question no longer asked
        if page.total is None:
            page.total = self.totals.get(self._count_key(page.query))  # (read-ahead pages skip the count)
        if page.total is not None:
            self.totals[self._count_key(page.query)] = page.total
        self.page = page
        if self.filter_error:
            self.filter_error = ""
            self.query_one("#filter-error", Static).remove_class("-shown")
            self.query_one("#filter", Input).remove_class("-error")
        queued = self.pager.arrived(message.index, page.next_token, page.total)
        if self.columns is None and page.rows:
            self.columns = default_columns([row.run for row in page.rows], page.primary_metric)
        self._show()
        if self.focus_table_when_loaded:
            self.focus_table_when_loaded = False
            self.query_one("#runs-table", KeyTable).focus()
        self._remember(page)
        if queued:
            self.action_page(queued)
        else:
            self.query_one("#runs-table", KeyTable).when_drawn(self._page_drawn, page.query, page.next_token,
                                                               not message.live)

    def _remember(self, page: RunsPage) -> None:
        self.pages[(page.query, page.token)] = page
        while len(self.pages) > CACHED_PAGES:
            self.pages.pop(next(iter(self.pages)))

    def _page_drawn(self, query: RunQuery, next_token: str | None, new_page: bool) -> None:
        """Once a page is on the screen (while its reader looks at it), two things that would
        have slowed drawing it: collect the garbage of the page before, and read ahead.

        A page change leaves ~30k objects in reference cycles (DataTable's caches are linked
        lists); a full collection of them took 40-140 ms wherever it fell, often inside the
        next page change. A reading thread started before the drawing shared the GIL with it.
        (A live refresh updates cells in place, and comes every second: no collection.)"""
        if new_page:
            gc.collect()
        if next_token is not None and query == self.run_query() and (query, next_token) not in self.pages:
            self.prefetch(query, next_token)

    @work(thread=True, exclusive=True, group="prefetch", exit_on_error=False, description="Reading ahead")
    def prefetch(self, query: RunQuery, token: str) -> None:
        page = self.adapter.runs_page(query, token, with_total=False)
        if not get_current_worker().is_cancelled:
            self.post_message(PagePrefetched(page))

    def on_page_prefetched(self, message: PagePrefetched) -> None:
        if message.page.query == self.run_query():
            self._remember(message.page)

    # ------------------------------------------------------------------ rendering
    @property
    def narrow(self) -> bool:
        """Below 100 columns the fixed columns shrink so data columns still show at 80."""
        return self.size.width < 100

    def _columns(self) -> list[Column]:
        rows = self.page.rows if self.page else []
        widths = data_widths(self.columns or [], [row.run for row in rows])
        fixed = {}
        for key in ["attr.status", *self.attributes]:
            label, width, _ = ATTRIBUTES[key]
            fixed[key] = NARROW_WIDTHS.get(key, width) if self.narrow else width
        others = 1 + 2 + sum(w + 2 for w in fixed.values()) + sum(w + 2 for w in widths.values())
        longest = max((len(self._row_name(row)) for row in rows), default=4)
        widths["attr.name"] = name_width(longest, self.size.width, others, self.narrow)
        columns = [Column("mark", " ", 1)]
        for key in ["attr.status", "attr.name", *self.attributes]:
            width = widths.get(key) or fixed[key]
            columns.append(Column(key, self._label(key, ATTRIBUTES[key][0], width), width))
        for key in self.columns or []:
            columns.append(Column(key, self._label(key, column_label(key), widths[key]), widths[key]))
        return columns

    def _row_name(self, row: RunRow, name: str | None = None) -> str:
        name = row.run.info.run_name if name is None else name
        if row.depth:
            return "└ " + name
        if row.children:
            return f"{'▸' if row.run_id in self.folded else '▾'} {name} ({row.children})"
        return name

    def _name_labels(self, rows: list[RunRow], width: int) -> dict[str, str]:
        """When the names do not fit, the words every name on the page shares are dropped
        (``…lr0.001-bs256-seed3``), so a cut never leaves a column of identical names."""
        decorated = [self._row_name(row) for row in rows]
        if all(len(name) <= width for name in decorated) or len(rows) < 2:
            return {}
        room = width - max(len(d) - len(row.run.info.run_name) for d, row in zip(decorated, rows))
        labels = short_labels([row.run.info.run_name for row in rows], max(6, room))
        return {row.run_id: label for row, label in zip(rows, labels)}

    def _visible_rows(self) -> list[RunRow]:
        rows = self.page.rows if self.page else []
        if not self.folded:
            return rows
        return [r for r in rows if not (r.depth and r.run.data.tags.get(PARENT_TAG) in self.folded)]

    def action_fold(self) -> None:
        row = self._current()
        if row is None or not self.grouped:
            self.notify("press g to group child runs under their parents first", severity="warning")
            return
        parent = row.run.data.tags.get(PARENT_TAG) if row.depth else row.run_id
        if not row.depth and not row.children:
            return
        self.folded ^= {parent}
        self._show()
        table = self.query_one("#runs-table", KeyTable)
        table.move_cursor(row=table.get_row_index(parent), animate=False)

    def action_fold_all(self) -> None:
        if not self.grouped or self.page is None:
            return
        parents = {r.run_id for r in self.page.rows if r.children}
        self.folded = set() if parents <= self.folded else self.folded | parents
        self._show()

    def _label(self, key: str, label: str, width: int) -> str:
        """The header, cut with an ellipsis to its column, with the sort arrow kept."""
        if self.sort and self.sort.column == key:
            arrow = "▼" if self.sort.descending else "▲"
            return f"{ellipsize(label, max(1, width - 2))} {arrow}"
        return ellipsize(label, width)

    def _cells(self, row: RunRow, columns: list[Column]) -> list[Text]:
        run = row.run
        info = run.info
        deleted = info.lifecycle_stage == "deleted"
        cells: list[Text] = []
        for column in columns:
            key = column.key
            width = column.width or 12
            if key == "mark":
                if info.run_id in self.marked:
                    # the run's colour, the same in compare's columns, chart lines and legend
                    cells.append(Text(MARK, style=f"bold {rich_colour(self.colours[info.run_id])}"))
                else:
                    cells.append(Text(" "))
            elif key == "attr.status":
                cells.append(status_text(info.status))
            elif key == "attr.name":
                name = ellipsize_middle(self._row_name(row, self._labels.get(row.run_id)), width)
                cells.append(Text(name, style="strike dim" if deleted else "bold"))
            elif key == "attr.start":
                cells.append(Text(ellipsize(when(info.start_time)[5:] if self.narrow else when(info.start_time), width)))
            elif key == "attr.duration":
                cells.append(Text(duration(info.start_time, info.end_time, info.status), justify="right"))
            elif key == "attr.user":
                cells.append(Text(ellipsize(info.user_id or "", width)))
            else:
                kind, name = key.split(".", 1)
                value = value_text(run, kind, name)
                cells.append(Text(ellipsize(value, width), justify="right" if kind == "metrics" else "left"))
        return cells

    def _show(self) -> None:
        table = self.query_one("#runs-table", KeyTable)
        table.loading = False
        self.load_finished()
        columns = self._columns()
        visible = self._visible_rows()
        self._labels = self._name_labels(visible, next(c.width for c in columns if c.key == "attr.name") or 22)
        rows = [(row.run_id, self._cells(row, columns)) for row in visible]
        cursor = self.pending_cursor
        if cursor == -1:
            cursor = len(rows) - 1
        self.pending_cursor = None
        table.fill(columns, rows, cursor=cursor)
        self._status()

    def _status(self) -> None:
        parts = []
        page = self.page
        if self.filter_error:
            parts.append("filter not applied: fix it and press Enter")
        if page is not None:
            first = self.pager.index * PAGE_SIZE
            top = sum(1 for r in page.rows if r.depth == 0)
            total = page.total if page.total is not None else 0
            noun = "top-level runs" if self.grouped else "runs"
            if top:
                parts.append(f"{noun} {first + 1:,}–{first + top:,} of {total:,}")
            else:
                parts.append(f"no {VIEW_NAMES[self.view_type]} {noun}" + (" match" if self.filter_text else ""))
        if self.sort:
            parts.append(f"by {column_label(self.sort.column)} {'▼' if self.sort.descending else '▲'}")
        if self.view_type != ViewType.ACTIVE_ONLY:
            parts.append(f"showing {VIEW_NAMES[self.view_type]}")
        if self.grouped:
            parts.append("grouped")
        if self.marked:
            parts.append(f"{len(self.marked)} marked")
        self.query_one("#runs-status", Static).update(Text(" · ".join(parts)), layout=False)

    def on_resize(self) -> None:
        if self.page is not None:
            self._show()

    @on(KeyTable.EdgeReached, "#runs-table")
    def edge(self, event: KeyTable.EdgeReached) -> None:
        self.action_page(event.direction, at_edge=True)

    # --------------------------------------------------------------------- actions
    def _current(self) -> RunRow | None:
        key = self.query_one("#runs-table", KeyTable).cursor_key
        if self.page is None or key is None:
            return None
        return next((row for row in self.page.rows if row.run_id == key), None)

    def _targets(self) -> list[tuple[str, str]]:
        if self.marked:
            return list(self.marked.items())
        row = self._current()
        return [(row.run_id, row.run.info.run_name)] if row else []

    @on(KeyTable.RowSelected, "#runs-table")
    def open_run(self, event: KeyTable.RowSelected) -> None:
        self.lt_app.open_run(event.row_key.value)

    @on(DataTable.HeaderSelected, "#runs-table")
    def header_clicked(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key and key != "mark":
            self.sort_by(key, not (self.sort and self.sort.column == key and self.sort.descending))

    def sort_by(self, column: str, descending: bool) -> None:
        self.sort = Sort(column, descending)
        self._save_view()
        self.restart()

    def action_sort(self) -> None:
        attributes = [(key, label) for key, (label, _, _) in ATTRIBUTES.items()]

        def done(key: str | None) -> None:
            if key:
                numeric = key.startswith("metrics.") or key in ("attr.start", "attr.duration")
                self.sort_by(key, numeric)
        self.app.push_screen(SortDialog(self.experiment_ids, attributes, self.sort.column if self.sort else None,
                                        "type to search · Enter sorts (metrics and times high to low; S reverses)"),
                             done)

    def action_reverse(self) -> None:
        sort = self.sort or Sort("attr.start", True)
        self.sort_by(sort.column, not sort.descending)

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    @on(Input.Submitted, "#filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        self.filter_text = event.value.strip()
        self._save_view()
        self.focus_table_when_loaded = True  # (a loading table cannot take focus yet)
        self.restart()

    def action_mark(self) -> None:
        row = self._current()
        if row is None:
            return
        if row.run_id in self.marked:
            self._unmark(row.run_id)
        else:
            self._mark(row.run_id, row.run.info.run_name)
        self._show()
        table = self.query_one("#runs-table", KeyTable)
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def action_mark_page(self) -> None:
        if self.page is None:
            return
        ids = {row.run_id: row.run.info.run_name for row in self.page.rows}
        if all(i in self.marked for i in ids):
            for i in ids:
                self._unmark(i)
        else:
            for i, name in ids.items():
                if i not in self.marked:
                    self._mark(i, name)
        self._show()

    def _mark(self, run_id: str, name: str) -> None:
        """A marked run takes the first palette colour no other marked run has."""
        used = set(self.colours.values())
        self.colours[run_id] = next(i for i in range(len(used) + 1) if i not in used)
        self.marked[run_id] = name

    def _unmark(self, run_id: str) -> None:
        self.marked.pop(run_id, None)
        self.colours.pop(run_id, None)

    def action_compare(self) -> None:
        if len(self.marked) < 2:
            self.notify("mark two or more runs with Space first", severity="warning")
            return
        self.lt_app.open_compare(list(self.marked), [self.colours[i] for i in self.marked])

    def action_logged_models(self) -> None:
        from tui.screens.logged_models import LoggedModelsScreen

        self.app.push_screen(LoggedModelsScreen(list(self.experiment_ids)))

    def action_scatter(self) -> None:
        from tui.screens.scatter import ScatterScreen

        self.app.push_screen(ScatterScreen(self.run_query()))

    def action_parallel(self) -> None:
        from tui.screens.scatter import ScatterScreen

        self.app.push_screen(ScatterScreen(self.run_query(), view="parallel"))

    def action_columns(self) -> None:
        fixed = [(key, f"attribute: {ATTRIBUTES[key][0]}") for key in OPTIONAL_ATTRIBUTES]
        chosen = list(self.attributes) + list(self.columns or [])

        def done(keys: list[str] | None) -> None:
            if keys is None:
                return
            self.attributes = [k for k in OPTIONAL_ATTRIBUTES if k in keys]
            self.columns = [k for k in keys if not k.startswith("attr.")]
            self._save_view()
            self._show()
        self.app.push_screen(ColumnChooser(self.experiment_ids, chosen, fixed), done)

    def action_group(self) -> None:
        self.grouped = not self.grouped  # the status line says "grouped"
        self.restart()

    def action_view(self) -> None:
        self.view_type = NEXT_VIEW[self.view_type]
        self.restart()
