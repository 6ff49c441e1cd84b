"""The steps of checking a file, in order, each a function that returns a small dataclass.

read (:func:`read_file`) → header (:func:`find_headers`) → map (:func:`map_columns`) →
dates (:func:`choose_date_order`) → accounts (:func:`match_accounts`) → load
(:func:`load_lines`) → leftovers (:func:`clean_leftovers`) → reconcile
(:func:`reconcile_totals`) → rejects (:func:`reject_lines`) → accounts of the loaded
lines (:func:`settle_accounts`) → report (:func:`build_report`).

:func:`kam_core.imports.pipeline.prepare_import` runs them on a staging cursor.
Cells arrive as text (see ``readers``); the parsing rules live in SQL macros
(``clean.install_macros``) so a million rows are cleaned in the engine. The SQL
built here names only grid columns we generated (``c0``…``cN``) and our own
constants; values from the file are bound as parameters, except the header texts
of the repeated-header test and the totals pattern, which are escaped literals
(a bound parameter there costs DuckDB's planner 2-3×).
"""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from kam_core.safe_text import FORMULA_START
from kam_core.sales import lines
from kam_core.store import Store
from kam_core.imports import accounts as acc
from kam_core.imports import clean, detect, headers, mapping, readers
from kam_core.imports.errors import DecisionNeeded, ImportRejected
from kam_core.imports.report import ValidationReport

ACCOUNT_SOURCES = ("supplier", "brand", "product-prefix")
ACCOUNT_FIELD = {"supplier": "supplier", "brand": "brand", "product-prefix": "product"}
KINDS = ("sales", "inventory")
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
    keep_apart: list[str] = field(default_factory=list)     # names not to fold into another by the suffix rules



# --------------------------------------------------------------------------- helpers

def _q(name: str) -> str:
    """Quote an identifier we generated ourselves (grid columns c0…cN)."""
    return '"' + name.replace('"', '""') + '"'


BESIDE_READ = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="kam-beside-read")
# DuckDB scans one Arrow batch per thread; batches as long as its row groups (122,880 lines)
# let each thread write whole row groups (200k-line workbook: the load 0.31 → 0.28 s).
_SCAN_BATCH = 122_880


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _grid_rows(table: pa.Table, n: int) -> list[list[str | None]]:
    cols = [c for c in table.column_names if c != "_row"]
    head = table.slice(0, n).select(cols).to_pylist()
    return [[r[c] for c in cols] for r in head]


def _saved_profile(store: Store, signature: str) -> tuple[dict[str, str], dict[str, Any]] | None:
    row = store.cursor().execute(
        "select mapping, options from mapping_profiles where signature = ?", [signature]).fetchone()
    if row is None:
        return None
    return json.loads(row[0]), json.loads(row[1] or "{}")


# --------------------------------------------------------------------------- the steps

@dataclass
class Read:
    """read: the file's real format, the SHA-256 of its bytes, and each chosen sheet's cells as text."""

    fmt: str
    sha256: str
    grids: list[readers.Grid]


def read_file(data: bytes, file_name: str, options: ImportOptions, limits: detect.Limits) -> Read:
    """The chosen sheets of the file, after the safety checks (raises ImportRejected).

    The hash runs beside the parser (hashlib lets go of the GIL): a file that was
    imported before always reads cleanly, so checking it after reading refuses the
    same files.
    """
    hashing = BESIDE_READ.submit(_sha256, data)
    fmt = detect.sniff_format(data, file_name)
    try:
        _, grids = readers.read_workbook(data, fmt, options.sheets, limits)
    finally:
        sha = hashing.result()
    return Read(fmt=fmt, sha256=sha, grids=grids)


@dataclass
class Headers:
    """header: each sheet's header and the rows under it.

    ``sheets``: per sheet, its name, header row (as the user sees it), title, columns and rows.
    ``bodies``: each sheet's rows under its header; ``grid_names``: c0…cN → that sheet's grid column.
    """

    sheets: list[dict[str, Any]]
    columns: list[str]
    signature: str
    bodies: list[pa.Table]
    grid_names: list[dict[str, str]]
    preview: list[dict]
    encoding: str | None = None
    delimiter: str | None = None
    date1904: bool = False

    @property
    def sheet_names(self) -> list[str]:
        return [s["name"] for s in self.sheets]

    @property
    def n_lines(self) -> int:
        return sum(b.num_rows for b in self.bodies)

    def raw_sql(self, i: int, view: str) -> str:
        """A select of sheet ``i``'s rows from ``view`` (registered from its body) as sheet_no, src_row, c0…cN."""
        width = len(self.columns)
        grid_cols = list(self.grid_names[i].values())
        select = ", ".join(f"{_q(c)} as {_q(f'c{j}')}" for j, c in enumerate(grid_cols))
        pad = ", ".join(f"null::varchar as {_q(f'c{j}')}" for j in range(len(grid_cols), width))
        return f"select {i} as sheet_no, _row as src_row, {select}{', ' + pad if pad else ''} from {view}"

    def details(self, field_map: dict[str, str]) -> dict:
        """What a page needs to show the file: sheets, header, columns, mapping, the first rows."""
        return {"sheets": self.sheets, "columns": self.columns, "mapping": dict(field_map), "preview": self.preview}


def find_headers(grids: list[readers.Grid], header_row: int | None = None,
                 report_progress: Progress | None = None) -> Headers:
    """Each sheet's header (found, or at the user's ``header_row``); every sheet must have the same columns."""
    report_progress = report_progress or (lambda f, m: None)
    sheets: list[dict] = []
    bodies: list[pa.Table] = []
    grid_names: list[dict[str, str]] = []
    columns: list[str] | None = None
    signature = None
    encoding = delimiter = None
    date1904 = False
    first_sheet = grids[0].sheet if grids else None
    for i, grid in enumerate(grids):
        sheet = grid.sheet
        report_progress(0.1 + 0.4 * i / len(grids), f"checking {sheet}")
        encoding, delimiter, date1904 = grid.encoding, grid.delimiter, grid.date1904
        table = grid.table
        if table.num_rows == 0:
            raise ImportRejected("empty", f"sheet {sheet!r} is empty", params={"sheet": sheet})
        guess = headers.find_header(_grid_rows(table, 30))
        if header_row is not None:
            found = pa.compute.index(table.column("_row"), header_row).as_py()
            if found < 0:
                raise ImportRejected("bad_option", f"row {header_row} is not in sheet {sheet!r}",
                                     params={"option": "header_row", "value": str(header_row), "sheet": sheet})
            guess = headers.build_header(_grid_rows(table, found + 1), found, 1)
        header_idx, cols, title = guess.row_index, list(guess.columns), guess.title
        sig = mapping.header_signature(cols)
        if columns is None:
            columns, signature = cols, sig
        elif sig != signature:
            raise ImportRejected(
                "sheet_signatures_differ",
                f"sheet {sheet!r} has different columns from {first_sheet!r}; import them one at a time",
                params={"sheet": sheet, "first": first_sheet})
        sheets.append({"name": sheet, "header_row": table.column("_row")[header_idx].as_py(), "title": title,
                       "columns": cols, "rows": table.num_rows})
        # in batches, so that DuckDB scans the grid on every core (see _SCAN_BATCH)
        body = pa.Table.from_batches(table.slice(header_idx + 1).to_batches(max_chunksize=_SCAN_BATCH),
                                     schema=table.schema)  # no rows under the header: no batches
        bodies.append(body)
        grid_cols = [c for c in body.column_names if c != "_row"][:len(cols)]
        grid_names.append({f"c{j}": c for j, c in enumerate(grid_cols)})
    assert columns is not None and signature is not None
    return Headers(sheets=sheets, columns=columns, signature=signature, bodies=bodies, grid_names=grid_names,
                   preview=_preview_rows(bodies[0], grid_names[0], columns),
                   encoding=encoding, delimiter=delimiter, date1904=date1904)


@dataclass
class Columns:
    """map: which column holds each field, where the account comes from, and each money column's unit."""

    field_map: dict[str, str]           # field -> header
    col_of: dict[str, str]              # field -> grid column (c0…cN)
    account_field: str                  # supplier, brand or product
    units: dict[str, int]               # money field -> multiplier to yuan
    used_profile: bool = False


def map_columns(store: Store, head: Headers, options: ImportOptions) -> Columns:
    """The mapping: the profile saved for these headers, or the suggestion, with the user's overrides.

    A saved profile also gives the account source and the unit where the user did
    not choose them (``options`` is updated). Raises ``DecisionNeeded("unmapped_required")``
    when a required field has no column.
    """
    columns = head.columns
    profile = _saved_profile(store, head.signature)
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
            raise ImportRejected("bad_option", f"unknown field {f!r}; fields are {', '.join(mapping.FIELDS)}",
                                 params={"option": "mapping", "value": str(f), "allowed": ", ".join(mapping.FIELDS)})
        if h in ("", None):
            field_map.pop(f, None)
            continue
        h_norm = headers.normalise_header(h)
        match = h if h in columns else (h_norm if h_norm in columns else None)
        if match is None:
            raise ImportRejected("unknown_header", f"--map {f}={h}: the file has no column {h!r}; columns: {_column_list(columns)}",
                                 params={"field": f, "header": str(h), "columns": _column_list(columns)})
        for other, col in list(field_map.items()):
            if col == match and other != f:
                del field_map[other]
        field_map[f] = match
    account_field = ACCOUNT_FIELD[options.account_from]
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
                             "Map it with --map FIELD=HEADER.", missing, details=head.details(field_map))
    col_of = {f: f"c{columns.index(h)}" for f, h in field_map.items()}
    units = {f: UNITS[options.unit] if options.unit is not None else mapping.unit_from_header(field_map[f])[0]
             for f in MONEY_FIELDS if f in col_of}
    return Columns(field_map=field_map, col_of=col_of, account_field=account_field, units=units,
                   used_profile=used_profile)


@dataclass
class DateOrder:
    """dates: the order the date column is read in, and whether the file left it open."""

    order: str
    possible: tuple[str, ...]
    chosen_by_user: bool = False


def choose_date_order(con: duckdb.DuckDBPyConnection, head: Headers, cols: Columns,
                      date_order: str | None = None) -> DateOrder:
    """The date order: the user's, or the one the column's values allow.

    Decided on the column's distinct values (a few hundred dates, not a million
    rows). Raises ``DecisionNeeded("date_order")`` when several orders fit and the user chose none.
    """
    dcol = cols.col_of["date"]
    date_values = pa.concat_arrays([pa.compute.unique(b.column(head.grid_names[i][dcol]).combine_chunks())
                                    for i, b in enumerate(head.bodies)]).unique()
    con.register("date_values", pa.table({dcol: date_values}))
    try:
        choice = clean.date_order_choice(con, "date_values", dcol, date1904=head.date1904)
    finally:
        con.unregister("date_values")
    possible = tuple(sorted(choice.possible))
    if date_order is not None:
        return DateOrder(order=date_order, possible=possible, chosen_by_user=True)
    if choice.ambiguous:
        ex = ", ".join(choice.examples[:3])
        raise DecisionNeeded(
            "date_order",
            f"the dates ({ex}) can be read as {' or '.join(possible)}: say which with --date-order",
            list(possible), details={**head.details(cols.field_map), "examples": choice.examples[:3]})
    return DateOrder(order=_preferred_order(choice.possible), possible=possible)


@dataclass
class AccountNames:
    """accounts: each account cell's trimmed text → (the name as the export spelled it, the account)."""

    name_map: dict[str, tuple[str, str]]
    apart: set[str] = field(default_factory=set)   # spellings kept apart from the names they fold with


def match_accounts(store: Store, con: duckdb.DuckDBPyConnection, head: Headers, cols: Columns,
                   account_from: str, report_progress: Progress | None = None,
                   keep_apart: list[str] | tuple[str, ...] = ()) -> AccountNames:
    """The accounts of the grid's distinct account cells (a few hundred names); registered as ``name_map``."""
    (report_progress or (lambda f, m: None))(0.5, "matching accounts")
    acol = cols.col_of[cols.account_field]
    acc_cells = pa.concat_arrays([pa.compute.unique(b.column(head.grid_names[i][acol]).combine_chunks())
                                  for i, b in enumerate(head.bodies)]).unique()
    con.register("acc_values", pa.table({"v": acc_cells}))
    cell_names = [r[0] for r in con.execute(
        f"select distinct {_trimmed('v')} from acc_values where {_trimmed('v')} is not null order by 1").fetchall()]
    con.unregister("acc_values")
    name_map, apart = _name_map(store, cell_names, account_from, keep_apart)
    con.register("name_map", _name_map_table(name_map))
    return AccountNames(name_map=name_map, apart=apart)


@dataclass
class Loaded:
    """load: how many lines went into the store's table (of how many under the headers), and the tests used."""

    kind: str
    import_id: int
    lines: int                          # lines under the headers, blank ones included
    loaded: int
    long_text: tuple[str, ...]          # text fields with a cell too long for Excel
    label_columns: tuple[str, ...]      # grid columns that may hold a totals label
    params: dict[str, Any]              # the cleaning SQL's parameters


def load_lines(store: Store, con: duckdb.DuckDBPyConnection, head: Headers, cols: Columns, order: DateOrder,
               kind: str, import_id: int, report_progress: Progress | None = None) -> Loaded:
    """Classify, clean and load the good lines, in one pass.

    The lines go straight into the store's table inside a transaction of this
    cursor (begun here): other cursors do not see them until commit_import commits,
    and closing the plan rolls them back. Only the lines that are not loaded (blank,
    headers, totals, rejected: a few) are cleaned a second time (:func:`clean_leftovers`).
    """
    (report_progress or (lambda f, m: None))(0.55, "cleaning values")
    # A view, not a copy: the grid stays in Arrow and is read where it is used.
    for i, body in enumerate(head.bodies):
        con.register(f"grid_{i}", body)
    con.execute("create temp view raw as " + " union all ".join(head.raw_sql(i, f"grid_{i}")
                                                                 for i in range(len(head.bodies))))
    params = {"order": order.order, "sheets": head.sheet_names}
    acc_field, col_of = cols.account_field, cols.col_of
    ok = [f"c.{acc_field} is not null", "date is not null"]
    if kind == "sales":
        ok.append("amount_val is not null")
    ok += [f"{f}_ok" for f in NUMBER_FIELDS if f in col_of]
    if kind == "sales":
        ok += [f"not {f}_derived_big" for f, given in (("cost", "profit"), ("profit", "cost")) if given in col_of]
    n_lines = head.n_lines
    long_text = _long_text_fields(head.bodies, head.grid_names, col_of)
    label_columns = _label_columns(head.bodies, head.grid_names, len(head.columns))
    ok += [f"not {f}_long" for f in long_text]
    cleaning = _cleaning_sql(head.columns, col_of, acc_field, cols.units, head.date1904, source="raw",
                             compact=_compact_row_tests(len(head.columns), n_lines), long_text=long_text,
                             label_columns=label_columns)
    con.execute("begin transaction")
    with store.load_memory_budget():
        loaded = lines.load(
            con, kind, import_id,
            f"select {', '.join(_typed_columns(kind))} "
            f"from ({cleaning}) c join name_map m on c.{acc_field} = m.src_name "
            f"where row_class = 'data' and {' and '.join(ok)}", params)
    return Loaded(kind=kind, import_id=import_id, lines=n_lines, loaded=int(loaded), long_text=long_text,
                  label_columns=label_columns, params=params)


@dataclass
class Leftovers:
    """leftovers: the lines that were not loaded and are not blank, cleaned into the temp table ``cleaned``."""

    kept: int                           # lines in ``cleaned``
    blank: int                          # blank lines (counted, not kept)


def clean_leftovers(con: duckdb.DuckDBPyConnection, head: Headers, cols: Columns, loaded: Loaded,
                    report_progress: Progress | None = None) -> Leftovers:
    """Clean the lines :func:`load_lines` did not load into ``cleaned``; then let the grid go."""
    (report_progress or (lambda f, m: None))(0.7, "checking the rest")
    loaded_rows = None
    for i, body in enumerate(head.bodies):
        if loaded.loaded == loaded.lines:       # nothing left over: skip the search
            con.register(f"left_{i}", body.slice(0, 0))
            continue
        if loaded_rows is None:
            loaded_rows = lines.loaded_positions(con, loaded.kind, loaded.import_id, head.sheet_names)
        rows_i = body.column("_row").to_numpy()
        done = loaded_rows["source_row"][loaded_rows["sheet_no"] == i]
        keep = np.ones(len(rows_i), dtype=bool)
        keep[np.searchsorted(rows_i, done)] = False
        con.register(f"left_{i}", body.filter(readers.bool_array(keep)))
    con.execute("create temp view raw_left as " + " union all ".join(head.raw_sql(i, f"left_{i}")
                                                                      for i in range(len(head.bodies))))
    left_sql = _cleaning_sql(head.columns, cols.col_of, cols.account_field, cols.units, head.date1904,
                             source="raw_left", compact=_compact_row_tests(len(head.columns), loaded.lines - loaded.loaded),
                             long_text=loaded.long_text, label_columns=loaded.label_columns)
    # Blank lines are counted, not kept: a sheet with one cell at A1048576 has a million.
    con.execute(f"create temp table cleaned as select * from ({left_sql}) where row_class <> 'blank'", loaded.params)
    # Everything needed from the grid is in the store and in `cleaned` now: let it go.
    con.execute("drop view raw_left")
    con.execute("drop view raw")
    for i in range(len(head.bodies)):
        con.unregister(f"grid_{i}")
        con.unregister(f"left_{i}")
    kept = int(con.execute("select count(*) from cleaned").fetchone()[0])
    return Leftovers(kept=kept, blank=loaded.lines - loaded.loaded - kept)


@dataclass
class Totals:
    """reconcile: the file's totals rows checked against its lines (``summary``: see :func:`_reconcile`)."""

    summary: dict[str, Any]
    staged: str                         # the view of this import's staged lines
    unlabelled_as_data: bool


def reconcile_totals(con: duckdb.DuckDBPyConnection, kind: str, import_id: int, sheet_names: list[str],
                     report_progress: Progress | None = None) -> Totals:
    """Check the totals rows as checksums; an unlabelled total that matches nothing is a data line after all."""
    (report_progress or (lambda f, m: None))(0.75, "checking totals")
    staged = lines.stage_view(con, kind, import_id)
    recon, unlabelled_as_data = _reconcile(con, staged, list(sheet_names))
    con.execute("update cleaned set row_class = ? where row_class = 'totals_unlabelled'",
                ["data" if unlabelled_as_data else "totals"])
    return Totals(summary=recon, staged=staged, unlabelled_as_data=unlabelled_as_data)


@dataclass
class Rejections:
    """The data lines left over, each with the reasons it was not loaded (one row a cell, in ``rejects``)."""

    rows: list[dict[str, Any]]          # sheet, row, column, value, reason, code (at most MAX_REPORTED_REJECTS)
    by_reason: dict[str, int]           # reason (English words) -> lines
    by_code: dict[str, int]             # reason code -> lines
    counts: dict[str, int]              # row class -> lines (data = loaded)
    rejected_amount: float


# The reasons a data line is not loaded: (code, the English words of the command line and CSV).
REJECT_REASONS = {
    "missing_account": "{field} is missing",
    "unusable_account": "{field} is not a usable name",
    "missing_date": "date is missing",
    "bad_date": "not a valid date",
    "missing_amount": "amount is missing",
    "bad_number": "not a number",
    "out_of_range": "number out of range",
    "derived_out_of_range": "{field} (amount − {given}) out of range",
    "text_too_long": "text longer than {limit} characters",
}


def reject_lines(con: duckdb.DuckDBPyConnection, cols: Columns, loaded: Loaded, left: Leftovers, kind: str,
                 totals: Totals) -> Rejections:
    """Every data line left over is rejected, with each reason (a code and its English words)."""
    col_of, acc_field = cols.col_of, cols.account_field
    limit = f"{readers.EXCEL_MAX_CELL_CHARS:,}"
    # (field, raw value, code, words' parameters, condition)
    reasons = [
        (acc_field, acc_field, "missing_account", {"field": acc_field}, f"{acc_field} is null"),
        (acc_field, acc_field, "unusable_account", {"field": acc_field},
         f"{acc_field} is not null and {acc_field} not in (select src_name from name_map)"),
        ("date", "raw_date", "missing_date", {}, "date is null and (raw_date is null or trim(raw_date) = '')"),
        ("date", "raw_date", "bad_date", {}, "not date_ok"),
    ]
    if kind == "sales":
        reasons += [("amount", "raw_amount", "missing_amount", {}, "amount_val is null and amount_ok")]
    reasons += [(f, f"raw_{f}", "bad_number", {}, f"not {f}_ok and not {f}_big") for f in NUMBER_FIELDS if f in col_of]
    reasons += [(f, f"raw_{f}", "out_of_range", {}, f"{f}_big") for f in NUMBER_FIELDS if f in col_of]
    if kind == "sales":
        reasons += [(given, f"raw_{given}", "derived_out_of_range", {"field": f, "given": given}, f"{f}_derived_big")
                    for f, given in (("cost", "profit"), ("profit", "cost")) if given in col_of]
    reasons += [(f, f"left({f}, 40) || '…'", "text_too_long", {"limit": limit}, f"{f}_long") for f in loaded.long_text]
    # The headers and words are bound as parameters; the conditions are our own SQL.
    parts, params = [], []
    for f, raw, code, fmt, cond in reasons:
        parts.append(f"select src_sheet as sheet, src_row as row, ?::varchar as column, {raw}::varchar as value, "
                     f"?::varchar as reason, ?::varchar as code, ?::varchar as params "
                     f"from cleaned where row_class = 'data' and ({cond})")
        params += [cols.field_map.get(f, f), REJECT_REASONS[code].format(**fmt), code, json.dumps(fmt)]
    con.execute(f"create temp table rejects as {' union all '.join(parts)}", params)
    con.execute("update cleaned set row_class = 'rejected' where row_class = 'data'")
    rej_amount = float(con.execute(
        "select coalesce(sum(amount_val), 0) from cleaned where row_class = 'rejected'").fetchone()[0])
    totals.summary["rejected_amount"] = round(rej_amount, 2)
    totals.summary["parsed_total"] = round(totals.summary["lines_total"] - rej_amount, 2)
    rows = [{"sheet": r[0], "row": r[1], "column": r[2], "value": r[3], "reason": r[4], "code": r[5],
             "params": json.loads(r[6])}
            for r in con.execute('select * from rejects order by sheet, "row", "column" limit ?',
                                 [MAX_REPORTED_REJECTS]).fetchall()]
    counts = dict(con.execute("select row_class, count(*) from cleaned group by all").fetchall())
    if left.blank:
        counts["blank"] = left.blank
    counts["data"] = loaded.loaded
    if loaded.loaded == 0:
        why = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v)
        raise ImportRejected("no_rows", f"0 rows could be imported ({why}); nothing was written",
                             params={k: v for k, v in counts.items() if v})
    by_reason, by_code = {}, {}
    for reason, code, n in con.execute(
            "select reason, any_value(code), count(distinct (sheet, row)) from rejects group by reason").fetchall():
        by_reason[reason] = n
        by_code[code] = by_code.get(code, 0) + n
    return Rejections(rows=rows, by_reason=by_reason, by_code=by_code, counts=counts,
                      rejected_amount=round(rej_amount, 2))


@dataclass
class Settled:
    """The accounts of the loaded lines: their spelling settled, the new aliases and names."""

    accounts: list[str]                 # the accounts the loaded lines belong to
    new_aliases: list[tuple[str, str, str]]   # (alias_key, alias, account)
    new_accounts: list[str]
    suggestions: list[tuple]
    folded: list[tuple[str, str]]       # (the name in the file, the account the suffix rules folded it into)


def settle_accounts(store: Store, con: duckdb.DuckDBPyConnection, staged: str, names: AccountNames,
                    account_from: str, kind: str, import_id: int) -> Settled:
    """The accounts of the loaded lines only: names seen only on lines that were not loaded
    must not choose an account's spelling."""
    name_map = names.name_map
    loaded_names = [r[0] for r in con.execute(f"select distinct account_raw from {staged}").fetchall()]
    if account_from == "product-prefix":
        raw_loaded = set(loaded_names)
        loaded_names = sorted({n for n in name_map if name_map[n][0] in raw_loaded})
    else:
        loaded_names = sorted(set(loaded_names))
    final_map, _ = _name_map(store, loaded_names, account_from, sorted(names.apart))
    changed = {name_map[n][0]: v for n, v in final_map.items() if name_map.get(n) != v}
    lines.rename_accounts(con, kind, import_id, changed)
    resolved = {account_raw: account for account_raw, account in final_map.values()}
    known_accounts = [r[0] for r in store.cursor().execute("select distinct account from account_aliases").fetchall()]
    new_aliases = _new_aliases(store, resolved, names.apart)
    new_account_names = sorted({a for _, _, a in new_aliases} - set(known_accounts))
    suggestions = acc.suggest_aliases(new_account_names, known_accounts) if known_accounts else []
    folded = acc.folded_names(resolved, names.apart)
    return Settled(accounts=sorted(set(resolved.values())), new_aliases=new_aliases,
                   new_accounts=new_account_names, suggestions=suggestions, folded=folded)


def overlapping_imports(cur: duckdb.DuckDBPyConnection, kind: str, first: dt.date | None, last: dt.date | None,
                        accounts: Sequence[str]) -> list[tuple]:
    """Loaded imports of ``kind`` with lines of ``accounts`` between ``first`` and ``last``.

    ``(import id, file name, first date, last date)`` rows, by id: the dates
    each import covers come from :func:`kam_core.sales.lines.import_spans`, the
    status and the file name from ``imports``.
    """
    spans = lines.import_spans(cur, kind, first, last, accounts)
    if not spans:
        return []
    files = dict(cur.execute("select id, file_name from imports where status = 'loaded' and list_contains(?, id)",
                             [[int(s[0]) for s in spans]]).fetchall())
    return [(s[0], files[s[0]], s[1], s[2]) for s in spans if s[0] in files]


def build_report(store: Store, con: duckdb.DuckDBPyConnection, read: Read, data: bytes, file_name: str,
                 head: Headers, cols: Columns, order: DateOrder, loaded: Loaded, rejects: Rejections,
                 settled: Settled, totals: Totals, options: ImportOptions,
                 report_progress: Progress | None = None) -> ValidationReport:
    """report: the figures of the loaded lines, the notes, and everything the user sees before confirming.

    Raises ``ImportRejected("total_out_of_range")`` when the lines add up beyond what an
    import can record, and ``DecisionNeeded("totals_mismatch")`` when a totals row disagrees.
    """
    report_progress = report_progress or (lambda f, m: None)
    report_progress(0.85, "summing up")
    kind, col_of, import_id = options.kind, cols.col_of, loaded.import_id
    # column 6 counts the lines with a cell that starts like a formula; only then are
    # those cells tested further (not a number), a bigger query
    text_fields = TEXT_FIELDS if kind == "sales" else ("sku", "product", "store")
    formula_cols = [f for f in text_fields if f in col_of]
    # Under the load budget again: setting it makes DuckDB let go of the blocks it kept
    # from the load (1M lines: the import's peak 560–590 → 555–570 MB).
    with store.load_memory_budget():
        stats = lines.import_figures(con, kind, import_id, _formula_start_sql(formula_cols))
    if kind == "sales" and any(v is not None and abs(v) >= TOTAL_BOUND for v in (stats[2], stats[4])):
        raise ImportRejected("total_out_of_range",
                             f"the lines of this file add up to more than {TOTAL_BOUND:,} yuan, which no import can "
                             "record; check the amount column and its unit (元/万元), or split the file",
                             params={"limit": TOTAL_BOUND})
    if kind == "sales":
        given = {"amount": "amount" in col_of, "cost": "cost" in col_of, "profit": "profit" in col_of, "qty": "qty" in col_of}
        figures = {"amount": stats[2], "cost": stats[3], "profit": stats[4], "qty": stats[5]}
        figures = {k: (float(v) if v is not None and given[k] else None) for k, v in figures.items()}
        loaded_amount, loaded_profit = stats[2], stats[4]
    else:
        figures = {"amount": None if stats[2] is None else float(stats[2]), "cost": None, "profit": None,
                   "qty": None if stats[5] is None else float(stats[5])}
        loaded_amount, loaded_profit = stats[2], None
    dup_lines = int(stats[8] or 0)
    formula_cells = 0
    if stats[6]:
        formula_cells = lines.count_cells(con, kind, import_id, _formula_cells_sql(formula_cols))

    # Each note has a code and its figures (the page words it in the user's
    # language) and an English sentence (the command line).
    notes: list[dict[str, Any]] = []
    if cols.used_profile:
        notes.append({"code": "profile_used", "text": "used the mapping saved for files with these headers"})
    if dup_lines:
        notes.append({"code": "duplicates", "n": int(dup_lines),
                      "text": f"{dup_lines} lines are exact duplicates of another line (kept: POS exports can repeat a sale)"})
    if formula_cells:
        notes.append({"code": "formulas", "n": formula_cells,
                      "text": f"{formula_cells} text cells start with = + - or @ and look like formulas (kept as text)"})
    if stats[7] and kind == "sales":
        notes.append({"code": "no_cost", "n": int(stats[7]),
                      "text": f"{stats[7]} lines have neither cost nor profit; they are left out of margin, "
                              "not counted at zero cost"})
    for raw, account in settled.folded:
        notes.append({"code": "folded", "name": raw, "account": account,
                      "text": f"{raw} → {account} (company suffix rules); keep it apart if it is another account"})
    overlap = overlapping_imports(store.cursor(), kind, stats[0], stats[1], settled.accounts)
    for imp in overlap:
        notes.append({"code": "overlap", "id": imp[0], "file": imp[1], "start": str(imp[2]), "end": str(imp[3]),
                      "text": f"import {imp[0]} ({imp[1]}) already covers some of these accounts between {imp[2]} and {imp[3]}"})

    counts = rejects.counts
    skipped = {k: v for k, v in counts.items() if k in ("blank", "totals", "repeated_header")}
    recon = totals.summary
    report = {
        "file_name": file_name, "sha256": read.sha256, "size_bytes": len(data), "format": read.fmt,
        "encoding": head.encoding, "delimiter": head.delimiter, "sheets": head.sheets,
        "mapping": dict(cols.field_map), "units": dict(cols.units),
        "unit": options.unit, "account_from": options.account_from, "date_order": order.order,
        "kind": kind,
        "rows_read": sum(counts.values()), "rows_accepted": loaded.loaded,
        "rows_skipped": sum(skipped.values()), "skipped_by_reason": skipped,
        "rows_rejected": counts.get("rejected", 0), "rejected_by_reason": rejects.by_reason,
        "rejected_by_code": rejects.by_code,
        "date_min": stats[0].isoformat() if stats[0] else None,
        "date_max": stats[1].isoformat() if stats[1] else None,
        "totals": figures,
        "amount_loaded": round(float(loaded_amount or 0), 2),
        "profit_loaded": None if loaded_profit is None else round(float(loaded_profit), 2),
        "reconciliation": recon,
        "duplicate_lines": dup_lines, "formula_cells": formula_cells,
        "lines_without_cost": int(stats[7] or 0),
        "accounts": len(settled.accounts),
        "new_accounts": settled.new_accounts,
        "alias_suggestions": [list(s) for s in settled.suggestions],
        "folded_names": [list(f) for f in settled.folded],
        "warnings": [n["text"] for n in notes],
        "notes": notes,
        "profile_used": cols.used_profile,
        "preview": head.preview,
    }
    if recon["status"] == "mismatch":
        raise DecisionNeeded(
            "totals_mismatch",
            f"the file's own total {recon['file_total']:,.2f} does not match the sum of its lines "
            f"{recon['lines_total']:,.2f} (difference {recon['difference']:,.2f}); nothing was written",
            [], details={k: recon[k] for k in ("file_total", "lines_total", "difference")})
    report_progress(0.95, "report ready")
    return ValidationReport(report, rejects.rows)


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


def _name_map(store: Store, names: list[str], account_from: str,
              keep_apart: list[str] | tuple[str, ...] = ()) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """Each account cell's (trimmed) text → (the name as the export spelled it, the account);
    and the spellings kept apart from the names they fold with (see ``accounts.apart_names``)."""
    if account_from == "product-prefix":
        raw_of = {p: acc.product_prefix(p) for p in names}
    else:
        raw_of = {n: n for n in names}
    raws = sorted(set(raw_of.values()))
    apart = acc.apart_names(store.cursor(), raws, keep_apart)
    resolved = acc.resolve_accounts(store.cursor(), raws, apart)
    return {n: (raw_of[n], resolved[raw_of[n]]) for n in names if raw_of[n] in resolved}, apart


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


def _new_aliases(store: Store, resolved: dict[str, str], apart: set[str]) -> list[tuple[str, str, str]]:
    """Alias rows to add for raw names the alias table does not know yet."""
    keys = sorted({acc.exact_key(raw) if raw in apart else acc.alias_key(raw) for raw in resolved} - {""})
    known = [r[0] for r in store.cursor().execute(
        "select alias_key from account_aliases where list_contains(?, alias_key)", [keys]).fetchall()] if keys else []
    return acc.new_alias_rows(resolved, known, apart)
