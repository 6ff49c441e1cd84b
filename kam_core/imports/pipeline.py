"""The import pipeline: check a file (prepare), then commit it, or undo an import as a whole.

``prepare_import`` runs the steps of :mod:`kam_core.imports.steps` on a staging
cursor: it reads and checks the file and stages the accepted lines in the store's
table inside that cursor's open transaction, invisible to every other cursor. Its
:class:`ImportPlan` carries the validation report. ``commit_import`` records the
import and commits the staged lines in that transaction (all rows or none);
closing the plan rolls them back. ``undo_import`` removes an import as a whole.
"""
from __future__ import annotations

import concurrent.futures
import json
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import duckdb
import pyarrow as pa

from kam_core.permissions import User, require
from kam_core.sales import lines
from kam_core.store import Store
from kam_core.imports import clean, detect, mapping, readers
from kam_core.imports.accounts import alias_key
from kam_core.imports.errors import DecisionNeeded, ImportRejected
from kam_core.imports.report import ValidationReport
from kam_core.imports.steps import (ACCOUNT_SOURCES, BESIDE_READ, DATE_ORDERS, KINDS, UNITS, ImportOptions, Progress,
                                    Read, build_report, choose_date_order, clean_leftovers, find_headers,
                                    load_lines, map_columns, match_accounts, read_file, reconcile_totals,
                                    reject_lines, settle_accounts)

__all__ = ["ACCOUNT_SOURCES", "DATE_ORDERS", "UNITS", "ImportOptions", "ImportPlan", "ValidationReport",
           "commit_import", "import_file", "import_limits", "inspect_file", "list_imports", "loaded_import",
           "prepare_import", "record_lines", "undo_import"]


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
    id_taken: bool = False              # the import id was drawn from the sequence already (a retried commit)
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

def loaded_import(store: Store, sha: str) -> tuple[int, str, Any] | None:
    """``(id, file name, imported at)`` of the first loaded import of the bytes hashed ``sha``, or None
    (a fresh cursor: a staging transaction does not see imports committed since it began)."""
    return store.cursor().execute(
        "select id, file_name, imported_at from imports where sha256 = ? and status = 'loaded' order by id limit 1",
        [sha]).fetchone()


def _refuse_duplicate(store: Store, sha: str) -> None:
    """``DecisionNeeded("duplicate_file")`` if these bytes are in a loaded import."""
    dup = loaded_import(store, sha)
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
                   progress: Progress | None = None, limits: detect.Limits | None = None,
                   import_id: int | None = None) -> ImportPlan:
    """Read, map, clean and validate one file, and stage its lines; raise, or return a plan.

    The accepted lines are loaded into the store's table inside the staging
    cursor's open transaction: no other cursor sees them, :func:`commit_import`
    commits them and :meth:`ImportPlan.close` rolls them back. The steps are
    :func:`read_file`, :func:`find_headers`, :func:`map_columns`,
    :func:`choose_date_order`, :func:`match_accounts`, :func:`load_lines`,
    :func:`clean_leftovers`, :func:`reconcile_totals`, :func:`reject_lines`,
    :func:`settle_accounts` and :func:`build_report`.

    A check takes no import id: the plan carries the id the next import will get
    (``import_id`` reserves one already taken), and only a commit takes it.
    """
    options = options or ImportOptions()
    report_progress = progress or (lambda f, m: None)
    if limits is None:
        from kam_core.settings import get_settings

        limits = import_limits(get_settings(store))
    check_options(options)
    if len(data) > limits.max_bytes:
        raise ImportRejected("too_large", f"the file is {len(data) / 1e6:.0f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB",
                             params={"size_mb": round(len(data) / 1e6), "limit_mb": round(limits.max_bytes / 1e6)})
    # The staging cursor and its macros are made beside the parser, and so is the hash
    # (see read_file). Progress is reported before the cursor is made: a page's progress
    # bar can raise (a rerun).
    report_progress(0.05, "reading")
    staging = BESIDE_READ.submit(_staging_cursor, store)
    try:
        read = read_file(data, file_name, options, limits)
        if not options.force:
            _refuse_duplicate(store, read.sha256)
        con = staging.result()
    except BaseException:
        _close_quietly(staging)
        raise
    # Staging runs on a cursor of its own in the store's engine: its temp tables
    # are invisible to every other cursor, and the lines it loads stay in its
    # open transaction until commit_import commits them.
    try:
        plan = _prepare(store, con, data, file_name, read, options, report_progress,
                        _next_import_id(con) if import_id is None else int(import_id))
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        con.close()
        raise
    plan.source = {"data": data, "file_name": file_name, "options": options, "limits": limits}
    plan.id_taken = import_id is not None
    return plan


def check_options(options: ImportOptions) -> None:
    """Refuse an option outside its choices (``ImportRejected("bad_option")``)."""
    for name, value, allowed, words in (
            ("account_from", options.account_from, ACCOUNT_SOURCES, f"account source must be one of {', '.join(ACCOUNT_SOURCES)}"),
            ("unit", options.unit, UNITS, f"unit must be one of {', '.join(UNITS)}"),
            ("date_order", options.date_order, DATE_ORDERS, f"date order must be one of {', '.join(DATE_ORDERS)}"),
            ("kind", options.kind, KINDS, "kind must be sales or inventory")):
        if (value is not None or name in ("account_from", "kind")) and value not in allowed:
            raise ImportRejected("bad_option", words,
                                 params={"option": name, "value": str(value), "allowed": ", ".join(allowed)})


def _next_import_id(con: duckdb.DuckDBPyConnection) -> int:
    """The id the next committed import will get, read without taking it from the sequence."""
    last, start, step = con.execute(
        "select last_value, start_value, increment_by from duckdb_sequences() "
        "where sequence_name = 'import_id_seq' and not temporary").fetchone()
    return int(start) if last is None else int(last) + int(step)


def _prepare(store: Store, con: duckdb.DuckDBPyConnection, data: bytes, file_name: str, read: Read,
             options: ImportOptions, report_progress: Progress, import_id: int) -> ImportPlan:
    """The steps after reading, in order; each returns what the next ones need."""
    head = find_headers(read.grids, options.header_row, report_progress)
    cols = map_columns(store, head, options)
    order = choose_date_order(con, head, cols, options.date_order)
    names = match_accounts(store, con, head, cols, options.account_from, report_progress, options.keep_apart)
    loaded = load_lines(store, con, head, cols, order, options.kind, import_id, report_progress)
    left = clean_leftovers(con, head, cols, loaded, report_progress)
    del head.bodies[:]
    read.grids.clear()                           # the caller's list too: nothing keeps the grids alive
    pa.default_memory_pool().release_unused()
    readers.grid_memory_pool().release_unused()
    recon = reconcile_totals(con, options.kind, import_id, head.sheet_names, report_progress)
    rejects = reject_lines(con, cols, loaded, left, options.kind, recon)
    settled = settle_accounts(store, con, recon.staged, names, options.account_from, options.kind, import_id)
    report = build_report(store, con, read, data, file_name, head, cols, order, loaded, rejects, settled, recon,
                          options, report_progress)
    return ImportPlan(file_name=file_name, sha256=read.sha256, options=options, report=report,
                      new_aliases=settled.new_aliases, signature=head.signature, mapping=dict(cols.field_map),
                      staging=con, sheets=tuple(head.sheet_names), import_id=import_id)


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
        except (duckdb.TransactionException, duckdb.ConstraintException, _IdTaken) as exc:
            # Another session committed since this plan's transaction began: a row this one
            # changes (a write-write conflict), the same new mapping profile, alias or
            # import key (a duplicate key), or the import id the plan was staged under.
            # This transaction cannot see those rows, so the file is checked again, on top
            # of them, with the choices its user confirmed (and the id this commit took).
            plan.close()
            if attempt == _COMMIT_ATTEMPTS - 1 or plan.source is None:
                raise
            reserved = exc.taken if isinstance(exc, _IdTaken) else plan.import_id if plan.id_taken else None
            plan = prepare_import(store, **_confirmed_source(plan), import_id=reserved)
    report_progress(1.0, "loaded")
    return import_id


class _IdTaken(Exception):
    """The plan's import id went to another import; ``taken`` is the one this commit drew."""

    def __init__(self, taken: int):
        super().__init__(taken)
        self.taken = taken


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
        # The id is taken here, not when the file is checked: a check that is never
        # confirmed leaves no gap. Another import may have taken the staged one meanwhile.
        if not plan.id_taken:
            taken = int(cur.execute("select nextval('import_id_seq')").fetchone()[0])
            if taken != import_id:
                raise _IdTaken(taken)
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


def record_lines(store: Store, rows: pa.Table, *, file_name: str, sha256: str, user: str | None,
                 title: str | None = None, mapping: dict[str, str] | None = None,
                 report: dict[str, Any] | None = None, sheets: Sequence[str] = ("lines",),
                 file_format: str = "lines", unit: str = "yuan", account_from: str = "supplier",
                 date_order: str = "ymd") -> int:
    """Record sales lines that need no reading (generated ones: the demo) as one loaded import; returns its id.

    ``rows`` holds clean lines, one column per :data:`kam_core.sales.lines.SALES_COLUMNS`
    it fills (``date``, ``amount`` and ``account`` at least; ``account_raw`` is the
    spelling). One transaction: the lines (:func:`kam_core.sales.lines.append_sales`,
    rollups included), the ``imports`` row (the figures from the loaded lines; read
    = loaded, nothing skipped or rejected; ``sheets``, ``file_format``, ``unit``,
    ``account_from``, ``date_order``, ``title``, ``mapping`` and ``report`` as given),
    an alias for each raw spelling's key not known yet (the first spelling by name,
    counted for its line's account; known aliases are kept), and the data version
    bump. Nothing is checked or mapped: a file goes through :func:`prepare_import`.
    The caller asks :func:`loaded_import` first when the same lines must not load twice.
    """
    raw = rows.column("account_raw" if "account_raw" in rows.column_names else "account")
    pairs = pa.table({"raw": raw, "account": rows.column("account")}).group_by(["raw", "account"]).aggregate([])
    keyed: dict[str, tuple[str, str]] = {}
    for name, account in sorted(zip(pairs.column("raw").to_pylist(), pairs.column("account").to_pylist()),
                                key=lambda p: (p[0] is None, p[0] or "", p[1] or "")):
        if name is not None and account is not None:
            keyed.setdefault(alias_key(name), (name, account))
    with store.transaction() as cur:
        import_id = int(cur.execute("select nextval('import_id_seq')").fetchone()[0])
        lines.append_sales(cur, import_id, rows)
        n, amount, profit, first, last = lines.import_totals(cur, import_id)
        cur.execute(
            """insert into imports (id, kind, file_name, sha256, sheets, file_format, encoding, delimiter, header_row,
                   title, mapping, unit, account_from, date_order, rows_read, rows_loaded, rows_skipped, rows_rejected,
                   amount_total, profit_total, date_min, date_max, report, imported_by, status)
               values (?, 'sales', ?, ?, ?, ?, null, null, null, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, 'loaded')""",
            [import_id, file_name, sha256, json.dumps(list(sheets), ensure_ascii=False), file_format, title,
             json.dumps(mapping or {}, ensure_ascii=False), unit, account_from, date_order, n, n, amount, profit,
             first, last, json.dumps(report or {}, ensure_ascii=False, default=str), user])
        if keyed:
            cur.execute(
                "insert into account_aliases (alias_key, alias, account) "
                "select unnest(?::varchar[]), unnest(?::varchar[]), unnest(?::varchar[]) on conflict do nothing",
                [list(keyed), [v[0] for v in keyed.values()], [v[1] for v in keyed.values()]])
        Store.bump_data_version(cur)
    return import_id


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
