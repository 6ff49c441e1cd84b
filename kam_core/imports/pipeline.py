"""The import pipeline: read → find the header → map → clean → validate → load.

``prepare_import`` does all the reading and checking in a private in-memory
DuckDB and writes nothing; its :class:`ImportPlan` carries the validation
report and the accepted rows. ``commit_import`` loads those rows into the
store in one transaction (all rows or none). ``undo_import`` removes an import
as a whole.

Cells arrive as text (see ``readers``); the parsing rules live in SQL macros
(``clean.install_macros``) so a million rows are cleaned in the engine.
"""
from __future__ import annotations

import concurrent.futures
import csv
import hashlib
import io
import json
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from kam_core.permissions import User, require
from kam_core.safe_text import FORMULA_START, safe_text
from kam_core.sales import lines
from kam_core.store import Store
from kam_core.imports import accounts as acc
from kam_core.imports import clean, detect, headers, mapping, readers
from kam_core.imports.errors import DecisionNeeded, ImportRejected

ACCOUNT_SOURCES = ("supplier", "brand", "product-prefix")
UNITS = {"yuan": 1, "thousand": 1_000, "wan": 10_000}
DATE_ORDERS = ("ymd", "dmy", "mdy")
TEXT_FIELDS = lines.TEXT_FIELDS
NUMBER_FIELDS = ("qty", "amount", "cost", "profit", "unit_price")
MONEY_FIELDS = ("amount", "cost", "profit", "unit_price")
# What the store's columns hold (sales and inventory): money DECIMAL(18,4) and qty
# DECIMAL(18,3), so a value's size must stay below 10^14 and 10^15; the import's
# totals are DECIMAL(18,2), below 10^16. (DuckDB casts a double to a decimal by
# multiplying in floating point: exact below ~9·10^11 yuan a line, within a few
# ten-thousandths above: 99999999999999 is stored as …999.0016.)
VALUE_BOUNDS = {"qty": 10**15, "amount": 10**14, "cost": 10**14, "profit": 10**14, "unit_price": 10**14}
TOTAL_BOUND = 10**16
# Labels of totals and subtotal rows (a cell that is only this, or starts with a Chinese one).
# The characters a cell matching TOTALS_PATTERN can start with (before lower()).
_TOTALS_FIRST_CHARS = "\t\n\f\r 小合总共累gGsStT"
TOTALS_PATTERN = r"^\s*(小计|合计|总计|总合计|共计|累计|合\s*计|总\s*计)|^\s*(grand\s+)?(sub)?total\s*[:：]?\s*$"
MAX_REPORTED_REJECTS = 100_000

Progress = Callable[[float, str], None]


@dataclass
class ImportOptions:
    """What the user decided (or the command line said) about one file."""

    sheets: list[str] | None = None
    mapping: dict[str, str] = field(default_factory=dict)   # field -> header, overrides the suggestion
    header_row: int | None = None                           # the header's row number as the user sees it
    account_from: str = "supplier"
    date_order: str | None = None
    unit: str | None = None                                 # forces one unit for every money column
    kind: str = "sales"                                     # sales | inventory
    force: bool = False                                     # import the same bytes again


@dataclass
class ValidationReport:
    """Everything the user should see before confirming an import."""

    data: dict[str, Any]
    rejected: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {**self.data, "rejected_rows": self.rejected[:1000]}

    def to_text(self) -> str:
        d = self.data
        lines = [
            f"file: {d['file_name']} ({d['format']}, {d['size_bytes']:,} bytes, sha256 {d['sha256'][:12]}…)",
        ]
        if d.get("encoding"):
            lines.append(f"encoding: {d['encoding']}, delimiter: {d.get('delimiter')!r}")
        for s in d["sheets"]:
            lines.append(f"sheet: {s['name']} — header at row {s['header_row']}"
                         + (f", title: {s['title']}" if s.get("title") else ""))
        lines.append("mapping: " + ", ".join(f"{k}←{v}" for k, v in d["mapping"].items()))
        lines.append("units: " + ", ".join(f"{k}×{v}" for k, v in d["units"].items()))
        lines.append(f"account from: {d['account_from']}; date order: {d['date_order']}")
        lines.append(f"rows read: {d['rows_read']:,}; accepted: {d['rows_accepted']:,}; "
                     f"skipped: {d['rows_skipped']:,} {d['skipped_by_reason']}; "
                     f"rejected: {d['rows_rejected']:,} {d['rejected_by_reason']}")
        lines.append(f"dates: {d['date_min']} … {d['date_max']}")
        lines.append("totals: " + ", ".join(f"{k} {v:,.2f}" for k, v in d["totals"].items() if v is not None))
        r = d["reconciliation"]
        if r["file_total"] is None:
            lines.append("reconciliation: the file has no totals row to check against")
        else:
            lines.append(f"reconciliation: file total {r['file_total']:,.2f} vs parsed {r['parsed_total']:,.2f} "
                         f"(+ rejected {r['rejected_amount']:,.2f}) → {r['status']}")
        for w in d["warnings"]:
            lines.append(f"warning: {w}")
        for row in self.rejected[:20]:
            lines.append(f"rejected: sheet {row['sheet']} row {row['row']} {row['column']}={row['value']!r}: {row['reason']}")
        if len(self.rejected) > 20:
            lines.append(f"… and {len(self.rejected) - 20:,} more rejected cells (see the CSV report)")
        return "\n".join(lines)

    def rejected_csv(self) -> bytes:
        """The rejected rows as CSV (UTF-8 with BOM so Excel opens it), formula-safe."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["sheet", "row", "column", "value", "reason"])
        for r in self.rejected:
            w.writerow([safe_text(r["sheet"]), r["row"], safe_text(r["column"]), safe_text(r["value"]), r["reason"]])
        return ("\ufeff" + buf.getvalue()).encode("utf-8")

    def to_csv(self) -> bytes:
        """The whole report as CSV: summary lines, then every rejected cell."""
        buf = io.StringIO()
        w = csv.writer(buf)
        for line in self.to_text().splitlines():
            w.writerow([safe_text(line)])
        w.writerow([])
        return ("\ufeff" + buf.getvalue()).encode("utf-8") + self.rejected_csv()[3:]


@dataclass
class ImportPlan:
    """A checked import, ready to commit; nothing has been written yet."""

    file_name: str
    sha256: str
    options: ImportOptions
    report: ValidationReport
    new_aliases: list[tuple[str, str, str]]  # (alias_key, alias, account)
    signature: str
    mapping: dict[str, str]
    # The checked lines are already in the store's table, inside an open
    # transaction of this staging cursor: invisible to every other cursor until
    # commit_import commits it; close() rolls it back.
    staging: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    sheets: tuple[str, ...] = ()
    import_id: int | None = None
    # what prepare_import was given, to check the file again if a concurrent
    # change makes the commit conflict
    source: dict[str, Any] | None = field(default=None, repr=False)

    def rows(self) -> pa.Table:
        """The accepted rows as they will be loaded (for tests and previews)."""
        return lines.import_rows(self.staging, self.options.kind, self.import_id, self.sheets)

    def close(self) -> None:
        """Drop the checked lines (after commit, or when the plan is dropped)."""
        if self.staging is not None:
            try:
                self.staging.execute("rollback")
            except duckdb.Error:
                pass  # committed already, or no transaction open
            self.staging.close()
            self.staging = None


# --------------------------------------------------------------------------- helpers

def _q(name: str) -> str:
    """Quote an identifier we generated ourselves (grid columns c0…cN)."""
    return '"' + name.replace('"', '""') + '"'


_BESIDE_READ = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="kam-beside-read")
# DuckDB scans one Arrow batch per thread; batches as long as its row groups (122,880 lines)
# let each thread write whole row groups (200k-line workbook: the load 0.31 → 0.28 s).
_SCAN_BATCH = 122_880


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _grid_rows(table: pa.Table, n: int) -> list[list[str | None]]:
    cols = [c for c in table.column_names if c != "_row"]
    head = table.slice(0, n).select(cols).to_pylist()
    return [[r[c] for c in cols] for r in head]


def _refuse_duplicate(store: Store, sha: str) -> None:
    """``DecisionNeeded("duplicate_file")`` if these bytes are in a loaded import (a fresh
    cursor: a staging transaction does not see imports committed since it began)."""
    dup = store.cursor().execute(
        "select id, file_name, imported_at from imports where sha256 = ? and status = 'loaded' order by id limit 1",
        [sha]).fetchone()
    if dup is not None:
        when = f"{dup[2]:%Y-%m-%d %H:%M}"
        raise DecisionNeeded("duplicate_file",
                             f"these exact bytes were already imported as import {dup[0]} ({dup[1]}, {when}); "
                             "importing them again would count every line twice. Use --force to import anyway.",
                             ["force"], details={"id": dup[0], "file": dup[1], "when": when})


def _staging_cursor(store: Store) -> duckdb.DuckDBPyConnection:
    con = store.connection.cursor()
    try:
        clean.install_macros(con, temporary=True)
    except BaseException:
        con.close()
        raise
    return con


def _close_quietly(staging: concurrent.futures.Future) -> None:
    try:
        staging.result().close()
    except Exception:  # noqa: BLE001 - the error that got us here is the one to report
        pass


def _saved_profile(store: Store, signature: str) -> tuple[dict[str, str], dict[str, Any]] | None:
    row = store.cursor().execute(
        "select mapping, options from mapping_profiles where signature = ?", [signature]).fetchone()
    if row is None:
        return None
    return json.loads(row[0]), json.loads(row[1] or "{}")


# --------------------------------------------------------------------------- prepare

def import_limits(settings: dict[str, Any]) -> detect.Limits:
    """The reading limits, with the department's column limit (the setting ``import_max_columns``)."""
    return detect.Limits(max_columns=int(settings["import_max_columns"]))


def inspect_file(data: bytes, file_name: str, limits: detect.Limits | None = None) -> tuple[str, list[readers.SheetInfo]]:
    """The file's real format and its sheets, after the safety checks; raises ImportRejected."""
    limits = limits or detect.Limits()
    if len(data) > limits.max_bytes:
        raise ImportRejected("too_large", f"the file is {len(data) / 1e6:.0f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB")
    fmt = detect.sniff_format(data, file_name)
    return fmt, readers.read_workbook(data, fmt, limits=limits, list_only=True)[0]


def prepare_import(store: Store, data: bytes, file_name: str, options: ImportOptions | None = None,
                   progress: Progress | None = None, limits: detect.Limits | None = None) -> ImportPlan:
    """Read, map, clean and validate one file; raise or return a plan. Writes nothing."""
    options = options or ImportOptions()
    report_progress = progress or (lambda f, m: None)
    if limits is None:
        from kam_core.settings import get_settings

        limits = import_limits(get_settings(store))
    if options.account_from not in ACCOUNT_SOURCES:
        raise ImportRejected("bad_option", f"account source must be one of {', '.join(ACCOUNT_SOURCES)}")
    if options.unit is not None and options.unit not in UNITS:
        raise ImportRejected("bad_option", f"unit must be one of {', '.join(UNITS)}")
    if options.date_order is not None and options.date_order not in DATE_ORDERS:
        raise ImportRejected("bad_option", f"date order must be one of {', '.join(DATE_ORDERS)}")
    if options.kind not in ("sales", "inventory"):
        raise ImportRejected("bad_option", "kind must be sales or inventory")

    if len(data) > limits.max_bytes:
        raise ImportRejected("too_large", f"the file is {len(data) / 1e6:.0f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB")
    # The hash runs beside the parser (hashlib lets go of the GIL): a file that
    # was imported before always reads cleanly, so checking it after reading
    # refuses the same files. The staging cursor and its macros are made meanwhile too.
    report_progress(0.05, "reading")   # before the cursor is made: a page's progress bar can raise (a rerun)
    hashing = _BESIDE_READ.submit(_sha256, data)
    staging = _BESIDE_READ.submit(_staging_cursor, store)
    try:
        fmt = detect.sniff_format(data, file_name)
        try:
            _, grids = readers.read_workbook(data, fmt, options.sheets, limits)
        finally:
            sha = hashing.result()
        if not options.force:
            _refuse_duplicate(store, sha)
        con = staging.result()
    except BaseException:
        _close_quietly(staging)
        raise
    # Staging runs on a cursor of its own in the store's engine: its temp tables
    # are invisible to every other cursor, and the lines it loads stay in its
    # open transaction until commit_import commits them.
    try:
        plan = _prepare(store, con, data, file_name, sha, fmt, grids, options, report_progress)
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        con.close()
        raise
    plan.source = {"data": data, "file_name": file_name, "options": options, "limits": limits}
    return plan


def _prepare(store, con, data, file_name, sha, fmt, grids, options, report_progress) -> ImportPlan:
    sheet_reports: list[dict] = []
    raw_parts: list[str] = []
    bodies: list[pa.Table] = []                 # each sheet's rows under its header
    grid_names: list[dict[str, str]] = []       # c0…cN → that sheet's grid column
    columns: list[str] | None = None
    signature = None
    encoding = delimiter = None
    date1904 = False
    sheet_names = [g.sheet for g in grids]
    for i, grid in enumerate(grids):
        sheet = grid.sheet
        report_progress(0.1 + 0.4 * i / len(grids), f"checking {sheet}")
        encoding, delimiter, date1904 = grid.encoding, grid.delimiter, grid.date1904
        table = grid.table
        if table.num_rows == 0:
            raise ImportRejected("empty", f"sheet {sheet!r} is empty")
        sample = _grid_rows(table, 30)
        guess = headers.find_header(sample)
        if options.header_row is not None:
            found = pa.compute.index(table.column("_row"), options.header_row).as_py()
            if found < 0:
                raise ImportRejected("bad_option", f"row {options.header_row} is not in sheet {sheet!r}")
            guess = headers.build_header(_grid_rows(table, found + 1), found, 1)
            header_idx, cols, title = found, list(guess.columns), guess.title
        else:
            header_idx, cols, title = guess.row_index, list(guess.columns), guess.title
        sig = mapping.header_signature(cols)
        if columns is None:
            columns, signature = cols, sig
        elif sig != signature:
            raise ImportRejected(
                "sheet_signatures_differ",
                f"sheet {sheet!r} has different columns from {sheet_names[0]!r}; import them one at a time")
        header_row_no = table.column("_row")[header_idx].as_py()
        sheet_reports.append({"name": sheet, "header_row": header_row_no, "title": title, "columns": cols,
                              "rows": table.num_rows})
        # in batches, so that DuckDB scans the grid on every core (see _SCAN_BATCH)
        body = pa.Table.from_batches(table.slice(header_idx + 1).to_batches(max_chunksize=_SCAN_BATCH),
                                     schema=table.schema)  # no rows under the header: no batches
        view = f"grid_{i}"
        con.register(view, body)
        bodies.append(body)
        width = len(cols)
        grid_cols = [c for c in body.column_names if c != "_row"][:width]
        grid_names.append({f"c{j}": c for j, c in enumerate(grid_cols)})
        select = ", ".join(f"{_q(c)} as {_q(f'c{j}')}" for j, c in enumerate(grid_cols))
        pad = ", ".join(f"null::varchar as {_q(f'c{j}')}" for j in range(len(grid_cols), width))
        raw_parts.append(f"select {i} as sheet_no, _row as src_row, {select}{', ' + pad if pad else ''} from {view}")
    assert columns is not None and signature is not None
    # A view, not a copy: the grid stays in Arrow and is read where it is used.
    con.execute("create temp view raw as " + " union all ".join(raw_parts))
    preview = _preview_rows(bodies[0], grid_names[0], columns)

    # -- mapping --------------------------------------------------------
    profile = _saved_profile(store, signature)
    used_profile = False
    if profile is not None and not options.mapping:
        field_map, saved_opts = profile
        field_map = {f: h for f, h in field_map.items() if h in columns}
        used_profile = True
        if options.account_from == "supplier" and saved_opts.get("account_from"):
            options.account_from = saved_opts["account_from"]
        if options.unit is None and saved_opts.get("unit"):
            options.unit = saved_opts["unit"]
    else:
        field_map = mapping.suggest_mapping(columns)
    for f, h in options.mapping.items():
        if f not in mapping.FIELDS:
            raise ImportRejected("bad_option", f"unknown field {f!r}; fields are {', '.join(mapping.FIELDS)}")
        if h in ("", None):
            field_map.pop(f, None)
            continue
        h_norm = headers.normalise_header(h)
        match = h if h in columns else (h_norm if h_norm in columns else None)
        if match is None:
            raise ImportRejected("unknown_header", f"--map {f}={h}: the file has no column {h!r}; columns: {_column_list(columns)}")
        for other, col in list(field_map.items()):
            if col == match and other != f:
                del field_map[other]
        field_map[f] = match
    account_field = {"supplier": "supplier", "brand": "brand", "product-prefix": "product"}[options.account_from]
    required = ["date", account_field] + (["amount"] if options.kind == "sales" else [])
    missing = [f for f in required if f not in field_map]
    if options.kind == "inventory" and "qty" not in field_map and "amount" not in field_map:
        missing.append("qty or amount")
    if missing:
        hint = ""
        if account_field not in field_map and options.account_from == "supplier":
            alt = [s for s in ("brand", "product") if s in field_map]
            if alt:
                hint = f" (the file has a {alt[0]} column: choose --account-from {'brand' if alt[0] == 'brand' else 'product-prefix'})"
        raise DecisionNeeded("unmapped_required",
                             f"no column found for {', '.join(missing)}{hint}; columns: {_column_list(columns)}. "
                             "Map it with --map FIELD=HEADER.", missing,
                             details=_details(preview, sheet_reports, field_map))
    col_of = {f: f"c{columns.index(h)}" for f, h in field_map.items()}

    units: dict[str, int] = {}
    for f in MONEY_FIELDS:
        if f in col_of:
            if options.unit is not None:
                units[f] = UNITS[options.unit]
            else:
                units[f] = mapping.unit_from_header(field_map[f])[0]

    # -- date order -----------------------------------------------------
    # Decided on the column's distinct values: a few hundred dates, not a million rows.
    dcol = _q(col_of["date"])
    date_values = pa.concat_arrays([pa.compute.unique(b.column(grid_names[i][col_of["date"]]).combine_chunks())
                                    for i, b in enumerate(bodies)]).unique()
    con.register("date_values", pa.table({col_of["date"]: date_values}))
    choice = clean.date_order_choice(con, "date_values", col_of["date"], date1904=date1904)
    if options.date_order is not None:
        date_order = options.date_order
    elif choice.ambiguous:
        ex = ", ".join(choice.examples[:3])
        raise DecisionNeeded(
            "date_order",
            f"the dates ({ex}) can be read as {' or '.join(sorted(choice.possible))}: say which with --date-order",
            sorted(choice.possible),
            details={**_details(preview, sheet_reports, field_map), "examples": choice.examples[:3]})
    else:
        date_order = _preferred_order(choice.possible)

    # -- accounts, from the grid's distinct cells (a few hundred names) ----------
    report_progress(0.5, "matching accounts")
    acc_field = account_field
    acc_cells = pa.concat_arrays([pa.compute.unique(b.column(grid_names[i][col_of[acc_field]]).combine_chunks())
                                  for i, b in enumerate(bodies)]).unique()
    con.register("acc_values", pa.table({"v": acc_cells}))
    cell_names = [r[0] for r in con.execute(
        f"select distinct {_trimmed('v')} from acc_values where {_trimmed('v')} is not null order by 1").fetchall()]
    con.unregister("acc_values")
    name_map_py = _name_map(store, cell_names, options.account_from)
    con.register("name_map", _name_map_table(name_map_py))

    # -- classify, clean and load the good lines, in one pass --------------------
    # The lines go straight into the store's table inside a transaction of this
    # cursor: other cursors do not see them until commit_import commits, and
    # closing the plan rolls them back. Only the lines that are not loaded
    # (blank, headers, totals, rejected: a few) are cleaned a second time, for the report.
    report_progress(0.55, "cleaning values")
    params = {"order": date_order, "sheets": list(sheet_names)}
    import_id = int(con.execute("select nextval('import_id_seq')").fetchone()[0])
    ok = [f"c.{acc_field} is not null", "date is not null"]
    if options.kind == "sales":
        ok.append("amount_val is not null")
    ok += [f"{f}_ok" for f in NUMBER_FIELDS if f in col_of]
    if options.kind == "sales":
        ok += [f"not {f}_derived_big" for f, given in (("cost", "profit"), ("profit", "cost")) if given in col_of]
    n_lines = sum(b.num_rows for b in bodies)
    long_text = _long_text_fields(bodies, grid_names, col_of)
    label_columns = _label_columns(bodies, grid_names, len(columns))
    ok += [f"not {f}_long" for f in long_text]
    cleaning = _cleaning_sql(columns, col_of, account_field, units, date1904, source="raw",
                             compact=_compact_row_tests(len(columns), n_lines), long_text=long_text,
                             label_columns=label_columns)
    con.execute("begin transaction")
    with store.load_memory_budget():
        loaded = lines.load(
            con, options.kind, import_id,
            f"select {', '.join(_typed_columns(options.kind))} "
            f"from ({cleaning}) c join name_map m on c.{acc_field} = m.src_name "
            f"where row_class = 'data' and {' and '.join(ok)}", params)

    # -- the lines that were not loaded -----------------------------------------
    report_progress(0.7, "checking the rest")
    loaded_rows = None
    left_parts = []
    everything_loaded = loaded == n_lines
    for i, body in enumerate(bodies):
        if everything_loaded:       # nothing left over: skip the search
            con.register(f"left_{i}", body.slice(0, 0))
            left_parts.append(raw_parts[i].replace(f" from grid_{i}", f" from left_{i}"))
            continue
        if loaded_rows is None:
            loaded_rows = lines.loaded_positions(con, options.kind, import_id, sheet_names)
        rows_i = body.column("_row").to_numpy()
        done = loaded_rows["source_row"][loaded_rows["sheet_no"] == i]
        keep = np.ones(len(rows_i), dtype=bool)
        keep[np.searchsorted(rows_i, done)] = False
        con.register(f"left_{i}", body.filter(readers.bool_array(keep)))
        left_parts.append(raw_parts[i].replace(f" from grid_{i}", f" from left_{i}"))
    con.execute("create temp view raw_left as " + " union all ".join(left_parts))
    left_sql = _cleaning_sql(columns, col_of, account_field, units, date1904, source="raw_left",
                             compact=_compact_row_tests(len(columns), n_lines - loaded), long_text=long_text,
                             label_columns=label_columns)
    # Blank lines are counted, not kept: a sheet with one cell at A1048576 has a million.
    con.execute(f"create temp table cleaned as select * from ({left_sql}) where row_class <> 'blank'", params)
    # Everything needed from the grid is in the store and in `cleaned` now: let it go.
    con.execute("drop view raw_left")
    con.execute("drop view raw")
    for i in range(len(sheet_names)):
        con.unregister(f"grid_{i}")
        con.unregister(f"left_{i}")
    con.unregister("date_values")
    del grid, body, bodies
    grids.clear()                               # the caller's list too: nothing keeps the grids alive
    pa.default_memory_pool().release_unused()
    readers.grid_memory_pool().release_unused()

    # -- totals rows as checksums -------------------------------------------
    report_progress(0.75, "checking totals")
    staged = lines.stage_view(con, options.kind, import_id)
    recon, unlabelled_as_data = _reconcile(con, staged, list(sheet_names))
    if unlabelled_as_data:
        con.execute("update cleaned set row_class = 'data' where row_class = 'totals_unlabelled'")
    else:
        con.execute("update cleaned set row_class = 'totals' where row_class = 'totals_unlabelled'")

    # -- rejections: every data line left over ------------------------------------
    report_progress(0.8, "validating")
    reasons = [
        ("date", "raw_date", "date is missing", "date is null and (raw_date is null or trim(raw_date) = '')"),
        ("date", "raw_date", "not a valid date", "not date_ok"),
    ]
    if options.kind == "sales":
        reasons += [("amount", "raw_amount", "amount is missing", "amount_val is null and amount_ok")]
    reasons += [(f, f"raw_{f}", "not a number", f"not {f}_ok and not {f}_big") for f in NUMBER_FIELDS if f in col_of]
    reasons += [(f, f"raw_{f}", "number out of range", f"{f}_big") for f in NUMBER_FIELDS if f in col_of]
    if options.kind == "sales":
        reasons += [(given, f"raw_{given}", f"{f} (amount − {given}) out of range", f"{f}_derived_big")
                    for f, given in (("cost", "profit"), ("profit", "cost")) if given in col_of]
    reasons += [(f, f"left({f}, 40) || '…'", f"text longer than {readers.EXCEL_MAX_CELL_CHARS:,} characters", f"{f}_long")
                for f in long_text]
    reasons.insert(0, (acc_field, acc_field, f"{acc_field} is missing", f"{acc_field} is null"))
    reasons.insert(1, (acc_field, acc_field, f"{acc_field} is not a usable name",
                       f"{acc_field} is not null and {acc_field} not in (select src_name from name_map)"))
    reject_sql = " union all ".join(
        f"select src_sheet as sheet, src_row as row, {_sql_str(field_map.get(f, f))} as column, "
        f"{raw}::varchar as value, {_sql_str(reason)} as reason from cleaned where row_class = 'data' and ({cond})"
        for f, raw, reason, cond in reasons)
    con.execute(f"create temp table rejects as {reject_sql}")
    con.execute("update cleaned set row_class = 'rejected' where row_class = 'data'")
    rej_amount = con.execute("select coalesce(sum(amount_val), 0) from cleaned where row_class = 'rejected'").fetchone()[0]
    recon["rejected_amount"] = round(float(rej_amount), 2)
    recon["parsed_total"] = round(recon["lines_total"] - float(rej_amount), 2)
    rejected = [dict(zip(("sheet", "row", "column", "value", "reason"), r)) for r in con.execute(
        f'select * from rejects order by sheet, "row", "column" limit {MAX_REPORTED_REJECTS}').fetchall()]

    counts = dict(con.execute("select row_class, count(*) from cleaned group by all").fetchall())
    blank_lines = n_lines - int(loaded) - sum(counts.values())
    if blank_lines:
        counts["blank"] = blank_lines
    counts["data"] = int(loaded)
    rows_read = sum(counts.values())
    accepted = int(loaded)
    if accepted == 0:
        why = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v)
        raise ImportRejected("no_rows", f"0 rows could be imported ({why}); nothing was written")

    # -- accounts of the loaded lines -----------------------------------------------
    loaded_names = [r[0] for r in con.execute(f"select distinct account_raw from {staged}").fetchall()]
    if options.account_from == "product-prefix":
        loaded_names = sorted({n for n in name_map_py if name_map_py[n][0] in set(loaded_names)})
    else:
        loaded_names = sorted(set(loaded_names))
    # Names seen only on lines that were not loaded must not choose an account's spelling.
    final_map = _name_map(store, loaded_names, options.account_from)
    changed = {name_map_py[n][0]: v for n, v in final_map.items() if name_map_py.get(n) != v}
    lines.rename_accounts(con, options.kind, import_id, changed)
    resolved = {account_raw: account for account_raw, account in final_map.values()}
    known_accounts = [r[0] for r in store.cursor().execute("select distinct account from account_aliases").fetchall()]
    new_aliases = _new_aliases(store, resolved)
    new_account_names = sorted({a for _, _, a in new_aliases} - set(known_accounts))
    suggestions = acc.suggest_aliases(new_account_names, known_accounts) if known_accounts else []
    loaded_accounts = sorted({a for a in resolved.values()})

    # -- figures of the loaded lines ----------------------------------------------
    report_progress(0.85, "summing up")
    # column 6 counts the lines with a cell that starts like a formula; only then are
    # those cells tested further (not a number), a bigger query
    text_fields = TEXT_FIELDS if options.kind == "sales" else ("sku", "product", "store")
    formula_cols = [f for f in text_fields if f in col_of]
    # Under the load budget again: setting it makes DuckDB let go of the blocks it kept
    # from the load (1M lines: the import's peak 560–590 → 555–570 MB).
    with store.load_memory_budget():
        stats = lines.import_figures(con, options.kind, import_id, _formula_start_sql(formula_cols))
    if options.kind == "sales" and any(v is not None and abs(v) >= TOTAL_BOUND for v in (stats[2], stats[4])):
        raise ImportRejected("total_out_of_range",
                             f"the lines of this file add up to more than {TOTAL_BOUND:,} yuan, which no import can "
                             "record; check the amount column and its unit (元/万元), or split the file")
    if options.kind == "sales":
        given = {"amount": "amount" in col_of, "cost": "cost" in col_of, "profit": "profit" in col_of, "qty": "qty" in col_of}
        totals = {"amount": stats[2], "cost": stats[3], "profit": stats[4], "qty": stats[5]}
        totals = {k: (float(v) if v is not None and given[k] else None) for k, v in totals.items()}
        loaded_amount, loaded_profit = stats[2], stats[4]
    else:
        totals = {"amount": None if stats[2] is None else float(stats[2]), "cost": None, "profit": None,
                  "qty": None if stats[5] is None else float(stats[5])}
        loaded_amount, loaded_profit = stats[2], None
    dup_lines = int(stats[8] or 0)
    formula_cells = 0
    if stats[6]:
        formula_cells = lines.count_cells(con, options.kind, import_id, _formula_cells_sql(formula_cols))
    amount_in_rows = float(loaded_amount or 0)

    # Each warning has a code and its figures (the page words it in the user's
    # language) and an English sentence (the command line and the CSV report).
    notes: list[dict[str, Any]] = []
    if used_profile:
        notes.append({"code": "profile_used", "text": "used the mapping saved for files with these headers"})
    if dup_lines:
        notes.append({"code": "duplicates", "n": int(dup_lines),
                      "text": f"{dup_lines} lines are exact duplicates of another line (kept: POS exports can repeat a sale)"})
    if formula_cells:
        notes.append({"code": "formulas", "n": formula_cells,
                      "text": f"{formula_cells} text cells start with = + - or @ and look like formulas (kept as text)"})
    if stats[7] and options.kind == "sales":
        notes.append({"code": "no_cost", "n": int(stats[7]),
                      "text": f"{stats[7]} lines have neither cost nor profit; they are left out of margin, "
                              "not counted at zero cost"})
    overlap = lines.overlapping_imports(store.cursor(), options.kind, stats[0], stats[1], loaded_accounts)
    for imp in overlap:
        notes.append({"code": "overlap", "id": imp[0], "file": imp[1], "start": str(imp[2]), "end": str(imp[3]),
                      "text": f"import {imp[0]} ({imp[1]}) already covers some of these accounts between {imp[2]} and {imp[3]}"})
    warnings = [n["text"] for n in notes]

    skipped = {k: v for k, v in counts.items() if k in ("blank", "totals", "repeated_header")}
    rejected_by_reason: dict[str, int] = {}
    for reason, n in con.execute("select reason, count(distinct (sheet, row)) from rejects group by reason").fetchall():
        rejected_by_reason[reason] = n
    report = {
        "file_name": file_name, "sha256": sha, "size_bytes": len(data), "format": fmt,
        "encoding": encoding, "delimiter": delimiter, "sheets": sheet_reports,
        "mapping": dict(field_map), "units": {f: u for f, u in units.items()},
        "unit": options.unit, "account_from": options.account_from, "date_order": date_order,
        "kind": options.kind,
        "rows_read": rows_read, "rows_accepted": accepted,
        "rows_skipped": sum(skipped.values()), "skipped_by_reason": skipped,
        "rows_rejected": counts.get("rejected", 0), "rejected_by_reason": rejected_by_reason,
        "date_min": stats[0].isoformat() if stats[0] else None,
        "date_max": stats[1].isoformat() if stats[1] else None,
        "totals": totals,
        "amount_loaded": round(amount_in_rows, 2),
        "profit_loaded": None if loaded_profit is None else round(float(loaded_profit), 2),
        "reconciliation": recon,
        "duplicate_lines": int(dup_lines), "formula_cells": formula_cells,
        "lines_without_cost": int(stats[7] or 0),
        "accounts": len(loaded_accounts),
        "new_accounts": new_account_names,
        "alias_suggestions": [list(s) for s in suggestions],
        "warnings": warnings,
        "notes": notes,
        "profile_used": used_profile,
        "preview": _details(preview, sheet_reports, field_map)["preview"],
    }
    if recon["status"] == "mismatch":
        raise DecisionNeeded(
            "totals_mismatch",
            f"the file's own total {recon['file_total']:,.2f} does not match the sum of its lines "
            f"{recon['lines_total']:,.2f} (difference {recon['difference']:,.2f}); nothing was written",
            [], details={k: recon[k] for k in ("file_total", "lines_total", "difference")})
    report_progress(0.95, "report ready")
    return ImportPlan(file_name=file_name, sha256=sha, options=options,
                      report=ValidationReport(report, rejected), new_aliases=new_aliases,
                      signature=signature, mapping=dict(field_map), staging=con, sheets=tuple(sheet_names),
                      import_id=import_id)


def _column_list(columns: list[str], shown: int = 40) -> str:
    """The columns for a message: the first ``shown``, then how many more."""
    text = ", ".join(columns[:shown])
    return text + (f" … ({len(columns):,} columns)" if len(columns) > shown else "")


def _preview_rows(body: pa.Table, names: dict[str, str], columns: list[str]) -> list[dict]:
    """The first ten rows under the header of the first sheet, as the user will see them."""
    head = body.slice(0, 10)
    cols = [head.column(names[f"c{j}"]).to_pylist() if f"c{j}" in names else [None] * head.num_rows
            for j in range(len(columns))]
    rows = head.column("_row").to_pylist()
    return [dict(zip(["row"] + columns, [r] + [c[i] for c in cols])) for i, r in enumerate(rows)]


def _details(preview: list[dict], sheet_reports: list[dict], field_map: dict[str, str]) -> dict:
    """What a page needs to show the file: sheets, header, columns, mapping, the first rows."""
    return {"sheets": sheet_reports, "columns": sheet_reports[0]["columns"], "mapping": dict(field_map),
            "preview": preview}


def _unique(cols: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in cols:
        if c in seen:
            seen[c] += 1
            out.append(f"{c}_{seen[c]}")
        else:
            seen[c] = 1
            out.append(c)
    return out


def _sql_str(s: str) -> str:
    """A SQL string literal of a header we read (quotes doubled); used for constant labels only."""
    return "'" + str(s).replace("'", "''") + "'"


def _preferred_order(possible: set[str]) -> str:
    for o in DATE_ORDERS:
        if o in possible:
            return o
    return "ymd"


def _reconcile(con: duckdb.DuckDBPyConnection, staged: str, sheets: list[str]) -> tuple[dict[str, Any], bool]:
    """Check every totals row against the lines above it.

    A totals row must equal the sum of the data lines since the previous totals
    row (a subtotal) or since the start (a grand total). Unlabelled candidates
    that match nothing are data after all (they will be rejected for their
    missing date). Returns the reconciliation summary and whether unlabelled
    candidates are data. The data lines are the loaded ones (the view ``staged``)
    and the data lines left in ``cleaned``; running sums are computed in the
    engine, and only when the file has totals rows at all.
    """
    loaded_total, = con.execute(f"select coalesce(sum(line_amount), 0) from {staged}").fetchone()
    left_total, candidates = con.execute(
        "select coalesce(sum(amount_val) filter (where row_class = 'data'), 0), "
        "count(*) filter (where row_class in ('totals', 'totals_unlabelled')) from cleaned").fetchone()
    lines_total = float(loaded_total) + float(left_total)
    rows = []
    if candidates:
        rows = con.execute(
            f"""with lines as (
                   select list_position(?, source_sheet) - 1 as sheet_no, source_row as src_row, 'data' as row_class,
                          line_amount::double as amount_val
                   from {staged}
                   union all
                   select sheet_no, src_row, row_class, amount_val from cleaned
                   where row_class in ('data', 'totals', 'totals_unlabelled')),
               ordered as (
                   select sheet_no, src_row, row_class, coalesce(amount_val, 0) as amount,
                          sum(case when row_class = 'data' then coalesce(amount_val, 0) else 0 end)
                              over (order by sheet_no, src_row rows unbounded preceding) as cum
                   from lines)
               select row_class, amount, cum from ordered where row_class <> 'data' order by sheet_no, src_row""",
            [sheets]).fetchall()

    def check(candidates):
        prev_cum, out = 0.0, []
        for cls, amount, cum in candidates:
            out.append((cls, amount, _close(amount, cum - prev_cum) or _close(amount, cum)))
            prev_cum = cum
        return out

    checks = check(rows)
    unlabelled_as_data = any(c == "totals_unlabelled" and not ok for c, _, ok in checks)
    if unlabelled_as_data:
        checks = check([r for r in rows if r[0] != "totals_unlabelled"])
    if not checks:
        return ({"file_total": None, "lines_total": round(lines_total, 2), "parsed_total": round(lines_total, 2),
                 "rejected_amount": 0.0, "difference": None, "status": "no_total_row", "totals_rows": 0},
                unlabelled_as_data)
    mismatch = any(not ok for cls, _, ok in checks)
    file_total = round(float(checks[-1][1]), 2)
    return ({"file_total": file_total, "lines_total": round(lines_total, 2), "parsed_total": round(lines_total, 2),
             "rejected_amount": 0.0, "difference": round(file_total - lines_total, 2) if mismatch else 0.0,
             "status": "mismatch" if mismatch else "ok", "totals_rows": len(checks)}, unlabelled_as_data)


def _sql_list(items: list[str]) -> str:
    """A SQL list literal of strings (quotes doubled)."""
    return "[" + ", ".join(_sql_str(i) for i in items) + "]"


def _name_map(store: Store, names: list[str], account_from: str) -> dict[str, tuple[str, str]]:
    """Each account cell's (trimmed) text → (the name as the export spelled it, the account)."""
    if account_from == "product-prefix":
        raw_of = {p: acc.product_prefix(p) for p in names}
    else:
        raw_of = {n: n for n in names}
    resolved = acc.resolve_accounts(store.cursor(), sorted(set(raw_of.values())))
    return {n: (raw_of[n], resolved[raw_of[n]]) for n in names if raw_of[n] in resolved}


def _name_map_table(name_map: dict[str, tuple[str, str]]) -> pa.Table:
    return pa.table({
        "src_name": readers.string_array(list(name_map)),
        "account_raw": readers.string_array([v[0] for v in name_map.values()]),
        "account": readers.string_array([v[1] for v in name_map.values()]),
    })


def _typed_columns(kind: str) -> list[str]:
    """The select list, over ``cleaned`` rows joined to ``name_map``, in the order of ``sales.lines.columns_of(kind)``."""
    if kind == "sales":
        return ["src_sheet", "src_row::integer", "date", "m.account", "m.account_raw", "supplier", "brand", "category",
                "store", "region", "sku", "product", "qty_val::decimal(18,3)", "amount_val::decimal(18,4)",
                "coalesce(cost_val, case when profit_val is not null then amount_val - profit_val end)::decimal(18,4)",
                "coalesce(profit_val, case when cost_val is not null then amount_val - cost_val end)::decimal(18,4)",
                "unit_price_val::decimal(18,4)"]
    return ["src_sheet", "src_row::integer", "date", "m.account", "m.account_raw", "sku", "product", "store",
            "qty_val::decimal(18,3)", "amount_val::decimal(18,4)"]


# A sheet wider than this, with no more lines than that, tests its rows for totals labels
# over a list of its cells: one lambda for DuckDB to plan instead of one expression a
# column (500 columns: planning 0.4 s → 0.01 s), but ~3× slower a cell to run.
_COMPACT_MIN_COLUMNS = 64
_COMPACT_MAX_LINES = 5_000


def _long_text_fields(bodies: list[pa.Table], grid_names: list[dict[str, str]],
                      col_of: dict[str, str]) -> tuple[str, ...]:
    """The mapped text fields with a cell of more bytes than an Excel cell has characters:
    measured on the grid (a CSV column's dictionary, not its million cells), so that a
    file without one pays nothing in the cleaning SQL."""
    limit = readers.EXCEL_MAX_CELL_CHARS

    def longest(col: pa.ChunkedArray) -> int:
        out = 0
        for chunk in col.chunks:
            values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
            if len(values):
                out = max(out, pa.compute.max(pa.compute.binary_length(values)).as_py() or 0)
        return out

    return tuple(f for f in TEXT_FIELDS if f in col_of
                 and any(col_of[f] in names and longest(body.column(names[col_of[f]])) > limit
                         for body, names in zip(bodies, grid_names)))


def _label_columns(bodies: list[pa.Table], grid_names: list[dict[str, str]], width: int) -> tuple[str, ...]:
    """The grid columns (``c0``…) with a cell whose first character can start a totals label:
    only they are tested for one, line by line (a CSV column's dictionary is enough to
    tell; an export's codes, numbers, dates and names never start with one)."""
    first = readers.string_array(list(_TOTALS_FIRST_CHARS))

    def may_hold_label(col: pa.ChunkedArray) -> bool:
        for chunk in col.chunks:
            values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
            if len(values) and pa.compute.any(pa.compute.is_in(
                    pa.compute.utf8_slice_codeunits(values, 0, 1), value_set=first)).as_py():
                return True
        return False

    return tuple(f"c{j}" for j in range(width)
                 if any(f"c{j}" in names and may_hold_label(body.column(names[f"c{j}"]))
                        for body, names in zip(bodies, grid_names)))


def _compact_row_tests(n_columns: int, n_lines: int) -> bool:
    return n_columns > _COMPACT_MIN_COLUMNS and n_lines <= _COMPACT_MAX_LINES


def _cleaning_sql(columns: list[str], col_of: dict[str, str], account_field: str, units: dict[str, int],
                  date1904: bool, source: str = "raw", compact: bool = False,
                  long_text: tuple[str, ...] = (), label_columns: tuple[str, ...] | None = None) -> str:
    """A select over ``source`` (a view of the grid): each row's class, typed values, per-value ok flags, raw text of mapped cells.

    Column names here are the grid's own (c0…cN), never headers from the file;
    header texts appear only as escaped string literals for the repeated-header test.
    Expensive checks sit behind CASE so they run only on the rows that need them.
    ``long_text``: the text fields whose column holds a cell longer than an Excel cell
    (``_long_text_fields``); only they are tested, line by line, with a ``{field}_long`` flag.
    ``label_columns``: the grid columns that may hold a totals label (``_label_columns``;
    None: all of them).
    """
    all_cols = [f"c{j}" for j in range(len(columns))]
    label_cols = all_cols if label_columns is None else [c for c in all_cols if c in label_columns]
    # A totals label starts its cell (after spaces): only cells whose first character
    # can start one go through the regular expression.
    first_chars = "[" + ", ".join(str(ord(ch)) for ch in _TOTALS_FIRST_CHARS) + "]"
    pattern = _sql_str(TOTALS_PATTERN)  # a literal: a bound parameter costs the planner 2-3× more
    header_cells = [(c, h) for c, h in zip(all_cols, columns) if h and not h.startswith("column_")]
    if compact:
        cells = f"list_value({', '.join(_q(c) for c in all_cols)})"
        blank = f"list_bool_and(list_transform({cells}, x -> {_blank_cell('x')}))"
        totals = (f"list_bool_or(list_transform(list_value({', '.join(_q(c) for c in label_cols)}), "
                  f"x -> list_contains({first_chars}, ascii(x)) and regexp_matches(lower(x), {pattern})))"
                  if label_cols else "false")
        header = (f"list_transform(list_value({', '.join(_q(c) for c, _ in header_cells)}), x -> coalesce(trim(x), '')) "
                  f"= {_sql_list([h for _, h in header_cells])}" if header_cells else "false")
    else:
        blank = " and ".join(_blank_cell(_q(c)) for c in all_cols)
        totals = " or ".join(f"(list_contains({first_chars}, ascii({_q(c)})) "
                             f"and regexp_matches(lower({_q(c)}), {pattern}))" for c in label_cols) or "false"
        header = " and ".join(f"coalesce(trim({_q(c)}), '') = {_sql_str(h)}" for c, h in header_cells) or "false"
    first_c, first_h = header_cells[0] if header_cells else (all_cols[0], "")
    date_fn = "kam_date1904" if date1904 else "kam_date"
    dcol = _q(col_of["date"])
    money = "amount" if "amount" in col_of else "qty"
    base = ["sheet_no", "src_row", f"{date_fn}({dcol}, $order) as date", f"{dcol} as raw_date"]
    limit = readers.EXCEL_MAX_CELL_CHARS
    for f in TEXT_FIELDS:
        base.append(_trimmed(_q(col_of[f])) + f" as {f}" if f in col_of else f"null::varchar as {f}")
        if f in long_text:  # characters are counted only where there are that many bytes
            base.append(f"coalesce(strlen({_q(col_of[f])}) > {limit} and length(trim({_q(col_of[f])})) > {limit}, false) "
                        f"as {f}_long")
    for f in NUMBER_FIELDS:
        if f in col_of:
            base += [f"kam_number({_q(col_of[f])}) as {f}_num", f"{_q(col_of[f])} as raw_{f}"]
        else:
            base += [f"null::double as {f}_num", f"null::varchar as raw_{f}"]
    base.append(f"""case when {blank} then 'blank'
               when contains({_q(first_c)}, {_sql_str(first_h)}) and {header} then 'repeated_header'
               when {totals} then 'totals'
               else 'data' end as row_class_0""")
    # The raw text of a typed cell is kept only where its value is missing: that is
    # the only case a rejection reports it, and it keeps `cleaned` small.
    # A line with neither date nor name but a number may be an unlabelled total. That test
    # sits out here, on b's columns: repeating a date or name cell's blank test inside the
    # CASE above, whose first branch tests every cell, makes DuckDB's planner take seconds
    # on a wide sheet (500 columns: 4.4 → 0.4 s).
    finals = ["b.* exclude (row_class_0, raw_date, " + ", ".join(f"{f}_num, raw_{f}" for f in NUMBER_FIELDS) + ")",
              f"case when row_class_0 <> 'data' then row_class_0 when {_blank_cell('raw_date')} "
              f"and {account_field} is null and {money}_num is not null then 'totals_unlabelled' "
              "else 'data' end as row_class",
              "list_extract($sheets, sheet_no + 1) as src_sheet",
              "case when date is null then raw_date end as raw_date",
              "case when date is not null then true else kam_is_blank(raw_date) end as date_ok"]
    # A number the store's column cannot hold (amount ≥ 10^14 yuan, qty ≥ 10^15, or a cost or
    # profit worked out from two that fit) rejects its line; its text is kept for the report.
    value = {f: f"{f}_num * {int(units.get(f, 1))}" if int(units.get(f, 1)) != 1 else f"{f}_num" for f in NUMBER_FIELDS}
    big = {f: f"coalesce(abs({value[f]}) >= {VALUE_BOUNDS[f]}, false)" for f in NUMBER_FIELDS}
    derived_big = {
        "cost": f"coalesce(cost_num is null and abs({value['amount']} - {value['profit']}) >= {VALUE_BOUNDS['cost']}, false)",
        "profit": f"coalesce(profit_num is null and abs({value['amount']} - {value['cost']}) >= {VALUE_BOUNDS['profit']}, false)"}
    for f in NUMBER_FIELDS:
        finals.append(f"case when not {big[f]} then {value[f]} end as {f}_val")
        keep_raw = f"{f}_num is null or {big[f]}"
        if f in ("cost", "profit"):  # the cell the other one is worked out from
            keep_raw += f" or {derived_big['profit' if f == 'cost' else 'cost']}"
        finals.append(f"case when {keep_raw} then raw_{f} end as raw_{f}")
        finals.append(f"{big[f]} as {f}_big")
        finals.append(f"case when {f}_num is not null then not {big[f]} when raw_{f} is null then true "
                      f"else kam_is_blank(raw_{f}) end as {f}_ok")
    finals += [f"{derived_big[f]} as {f}_derived_big" for f in ("cost", "profit")]
    finals += [f"{f}_long" for f in long_text]
    return f"with b as (select {', '.join(base)} from {source}) select {', '.join(finals)} from b"


_FORMULA_FIRST = "[" + ", ".join(str(ord(ch)) for ch in FORMULA_START) + "]"


def _formula_cells_sql(columns: list[str]) -> str:
    """How many of a line's text cells look like a formula (=, +, -, @, tab, CR first, and not a number)."""
    return " + ".join(f"(case when list_contains({_FORMULA_FIRST}, ascii({c})) then kam_number({c}) is null else false end)::int"
                      for c in columns) or "0"


def _formula_start_sql(columns: list[str]) -> str:
    """Whether any of a line's text cells starts as a formula would (the cheap half of the test above)."""
    return " or ".join(f"list_contains({_FORMULA_FIRST}, ascii({c}))" for c in columns) or "false"


def _blank_cell(col: str) -> str:
    """``nullif(trim(col), '') is null`` without trimming (a copy) every cell."""
    return f"({col} is null or {col} = '' or (ascii({col}) = 32 and trim({col}) = ''))"


def _trimmed(col: str) -> str:
    """``nullif(trim(col), '')``; trim (which copies the string) only runs on cells with an outer space."""
    return (f"case when starts_with({col}, ' ') or ends_with({col}, ' ') then nullif(trim({col}), '') "
            f"else nullif({col}, '') end")


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 0.01 + 1e-9 * max(abs(a), abs(b))


def _new_aliases(store: Store, resolved: dict[str, str]) -> list[tuple[str, str, str]]:
    """Alias rows to add for raw names the alias table does not know yet."""
    keys = sorted({acc.alias_key(raw) for raw in resolved} - {""})
    known = [r[0] for r in store.cursor().execute(
        "select alias_key from account_aliases where list_contains(?, alias_key)", [keys]).fetchall()] if keys else []
    return acc.new_alias_rows(resolved, known)


# --------------------------------------------------------------------------- commit / undo



def _acting(user: User | str | None, action: str) -> str | None:
    """The name to record; a signed-in :class:`User` must also be allowed ``action``.

    A plain string (the command line, scripts) acts with the server's own rights.
    """
    if isinstance(user, User):
        require(user, action)
        return user.name
    return user


def commit_import(store: Store, plan: ImportPlan, user: User | str | None = None,
                  progress: Progress | None = None) -> int:
    """Commit the plan's checked lines and record the import, in one transaction; returns the import id.

    The lines were loaded by :func:`prepare_import` inside the staging cursor's
    open transaction; here the import's own row, the new aliases and the
    mapping profile join them and everything is committed at once. If another
    writer changed one of those rows in the meantime (DuckDB reports a
    conflict), the file is checked again and loaded afresh.
    """
    user = _acting(user, "import")
    report_progress = progress or (lambda f, m: None)
    report_progress(0.1, "loading")
    if plan.staging is None:
        raise ImportRejected("plan_closed", "this import was already loaded or discarded; check the file again")
    for attempt in range(_COMMIT_ATTEMPTS):
        try:
            import_id = _commit(store, plan, user)
            break
        except (duckdb.TransactionException, duckdb.ConstraintException):
            # Another session committed since this plan's transaction began: a row this one
            # changes (a write-write conflict), or the same new mapping profile, alias or
            # import key (a duplicate key). This transaction cannot see those rows, so the
            # file is checked again, on top of them, with the choices its user confirmed.
            plan.close()
            if attempt == _COMMIT_ATTEMPTS - 1 or plan.source is None:
                raise
            plan = prepare_import(store, **_confirmed_source(plan))
    report_progress(1.0, "loaded")
    return import_id


# Each conflict means another session's commit went through, so a commit retried this often
# has waited for that many others.
_COMMIT_ATTEMPTS = 8


def _confirmed_source(plan: ImportPlan) -> dict[str, Any]:
    """What to check the file again with: the same bytes, and the mapping, date order, unit
    and account source the user saw in the report, even if another session has since saved
    a different mapping for these headers."""
    source = dict(plan.source)
    pinned = {f: plan.mapping.get(f, "") for f in mapping.FIELDS}  # "" leaves a field unmapped
    source["options"] = replace(plan.options, mapping=pinned,
                               date_order=plan.report.data.get("date_order") or plan.options.date_order)
    return source


def _commit(store: Store, plan: ImportPlan, user: str | None) -> int:
    d = plan.report.data
    opts = plan.options
    import_id = plan.import_id
    with store.finishing(plan.staging) as cur:
        if not opts.force:  # another import of these bytes may have been committed since the check
            _refuse_duplicate(store, plan.sha256)
        cur.execute(
            """insert into imports (id, kind, file_name, sha256, sheets, file_format, encoding, delimiter, header_row,
                   title, mapping, unit, account_from, date_order, rows_read, rows_loaded, rows_skipped, rows_rejected,
                   amount_total, profit_total, date_min, date_max, report, imported_by)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [import_id, opts.kind, plan.file_name, plan.sha256, json.dumps([s["name"] for s in d["sheets"]], ensure_ascii=False),
             d["format"], d["encoding"], d["delimiter"], d["sheets"][0]["header_row"], d["sheets"][0]["title"],
             json.dumps(plan.mapping, ensure_ascii=False), opts.unit or _unit_name(d["units"]), opts.account_from,
             d["date_order"], d["rows_read"], d["rows_accepted"], d["rows_skipped"], d["rows_rejected"],
             d["amount_loaded"] if opts.kind == "sales" else None,
             d["profit_loaded"] if opts.kind == "sales" else None,
             d["date_min"], d["date_max"], json.dumps(plan.report.to_dict(), ensure_ascii=False, default=str), user])
        if plan.new_aliases:
            # one statement for all of them (executemany runs one statement a row)
            keys, aliases, accounts = (list(c) for c in zip(*plan.new_aliases))
            cur.execute(
                "insert into account_aliases (alias_key, alias, account) "
                "select unnest(?::varchar[]), unnest(?::varchar[]), unnest(?::varchar[]) on conflict do nothing",
                [keys, aliases, accounts])
        cur.execute(
            """insert into mapping_profiles (signature, mapping, options) values (?, ?, ?)
               on conflict (signature) do update set mapping = excluded.mapping, options = excluded.options,
               used_count = mapping_profiles.used_count + 1, updated_at = now()""",
            [plan.signature, json.dumps(plan.mapping, ensure_ascii=False),
             json.dumps({"unit": opts.unit, "account_from": opts.account_from})])
        try:
            lines.publish_import(cur, opts.kind, import_id)
        except (duckdb.ConversionException, duckdb.OutOfRangeException) as exc:
            # a sum no real export reaches (10^14 yuan in one account's month of one store)
            raise ImportRejected("sums_out_of_range", f"the file's amounts add up beyond what can be kept: {exc}") from exc
        Store.bump_data_version(cur)
    plan.close()
    return int(import_id)


def _unit_name(units: dict[str, int]) -> str:
    names = {v: k for k, v in UNITS.items()}
    return names.get(units.get("amount", 1), "yuan")


def undo_import(store: Store, import_id: int, user: User | str | None = None) -> int:
    """Remove every row of one import; the imports row stays, marked undone. Returns rows removed."""
    _acting(user, "undo_import")
    with store.transaction() as cur:
        row = cur.execute("select status, kind from imports where id = ?", [import_id]).fetchone()
        if row is None:
            raise ImportRejected("unknown_import", f"there is no import {import_id}")
        if row[0] != "loaded":
            raise ImportRejected("already_undone", f"import {import_id} was already undone")
        n = lines.remove_import(cur, row[1], import_id)
        cur.execute("update imports set status = 'undone', undone_at = current_timestamp where id = ?", [import_id])
        Store.bump_data_version(cur)
    return int(n)


IMPORT_LIST_COLUMNS = ("id", "kind", "file_name", "sha256", "sheets", "rows_read", "rows_loaded", "rows_skipped",
                       "rows_rejected", "amount_total", "profit_total", "date_min", "date_max", "imported_at",
                       "imported_by", "status")


def list_imports(store: Store) -> list[dict[str, Any]]:
    """Every import, newest first, with JSON-friendly values."""
    rows = store.cursor().execute(
        f"select {', '.join(IMPORT_LIST_COLUMNS)} from imports order by id desc").fetchall()
    out = []
    for r in rows:
        d = dict(zip(IMPORT_LIST_COLUMNS, r))
        d["sheets"] = json.loads(d["sheets"])
        for k in ("amount_total", "profit_total"):
            d[k] = None if d[k] is None else float(d[k])
        for k in ("date_min", "date_max", "imported_at"):
            d[k] = None if d[k] is None else d[k].isoformat()
        out.append(d)
    return out


def import_file(store: Store, data: bytes, file_name: str, options: ImportOptions | None = None,
                user: str | None = None, progress: Progress | None = None) -> tuple[int, ImportPlan]:
    """Prepare and commit in one call (the command line and tests)."""
    plan = prepare_import(store, data, file_name, options, progress)
    return commit_import(store, plan, user, progress), plan
