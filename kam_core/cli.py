"""``python -m kam_core``: the same core as the dashboard, for scripts and scheduled reports.

Exit codes: 0 done; 2 input rejected or a decision needed (nothing written,
reason on stderr); 1 any other failure. Here: the arguments, and handing the command
to the dashboard that owns the database (:mod:`kam_core.service`) or opening the file;
the commands themselves are :mod:`kam_core.commands`, which the dashboard runs too.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from kam_core.commands import run_command
from kam_core.imports.mapping import FIELDS
from kam_core.store import open_store, resolve_db_path


def build_parser() -> argparse.ArgumentParser:
    from kam_core.locales.labels import setting_help
    from kam_core.settings import SETTINGS

    epilog = "settings (changed on the Settings page; they apply here too):\n" + "\n".join(
        f"  {s.key} (default {s.default}): {setting_help(s.key, 'en')}" for s in SETTINGS.values())
    p = argparse.ArgumentParser(prog="python -m kam_core", description="KAM Dashboard command line",
                                epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", help="DuckDB file (default: $KAM_DB or data/kam.duckdb)")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="load the generated demo data (and demo users, dossiers)")
    d.add_argument("--samples", metavar="DIR", help="also write the two sample exports to DIR")

    i = sub.add_parser("import", help="import sales or inventory exports (xlsx, xls, csv)")
    i.add_argument("files", nargs="+", metavar="FILE")
    i.add_argument("--kind", choices=("sales", "inventory"), default="sales")
    i.add_argument("--sheet", action="append", metavar="NAME", help="sheet to import (repeat for several)")
    i.add_argument("--map", action="append", default=[], metavar="FIELD=HEADER",
                   help=f"use HEADER for FIELD; FIELD is one of {', '.join(FIELDS)}")
    i.add_argument("--account-from", choices=("supplier", "brand", "product-prefix"), default="supplier",
                   help="what the ranked account is: the supplier (default), the brand, or the first word of the product name")
    i.add_argument("--date-order", choices=("ymd", "dmy", "mdy"), help="how to read ambiguous dates like 03/04/25")
    i.add_argument("--unit", choices=("yuan", "thousand", "wan"), help="unit of the money columns (default: from the header, else yuan)")
    i.add_argument("--header-row", type=int, metavar="N", help="the header's row number, when the automatic choice is wrong")
    i.add_argument("--dry-run", action="store_true", help="print the validation report and write nothing")
    i.add_argument("--force", action="store_true", help="import even when these exact bytes were imported before")
    i.add_argument("--report-csv", metavar="FILE", help="also save the validation report as CSV")

    ls = sub.add_parser("imports", help="list imports")
    ls.add_argument("--format", choices=("table", "json"), default="table")

    u = sub.add_parser("undo", help="undo one import as a whole")
    u.add_argument("import_id", type=int, metavar="IMPORT_ID")

    t = sub.add_parser("tiers", help="the tier table for a year")
    t.add_argument("--year", type=int, required=True)
    t.add_argument("--basis", choices=("sales", "cost"))
    t.add_argument("--format", choices=("csv", "json"), default="csv")
    _filter_arguments(t)

    r = sub.add_parser("report", help="the tier report workbook")
    r.add_argument("--year", type=int, required=True)
    r.add_argument("--out", required=True, metavar="FILE.xlsx")
    r.add_argument("--lang", choices=("zh", "en"), default="zh")
    _filter_arguments(r)

    s = sub.add_parser("share-pack", help="one account's data-sharing workbook (policy §3.1)")
    s.add_argument("account")
    s.add_argument("--year", type=int, required=True)
    s.add_argument("--out", required=True, metavar="FILE.xlsx")
    s.add_argument("--lang", choices=("zh", "en"), default="zh")

    lk = sub.add_parser("lake", help="the sales lines and rollups as Parquet for Spark (KAM_ENGINE=spark)")
    lk_sub = lk.add_subparsers(dest="lake_command", required=True)
    lk_export = lk_sub.add_parser("export", help="write DIR/<table>/year=YYYY/*.parquet (replaces DIR's tables)")
    lk_export.add_argument("dir", metavar="DIR")

    ru = sub.add_parser("rollup", help="the pre-aggregated sales (kept by every import and undo)")
    ru.add_argument("action", choices=("check", "rebuild"),
                    help="check: compare them with the lines (exit 1 when they differ); rebuild: make them again")
    sc = sub.add_parser("schedules", help="scheduled reports (set up on the Settings page)")
    scs = sc.add_subparsers(dest="schedules_command", required=True)
    scs.add_parser("list", help="list the schedules and when each runs next").add_argument(
        "--format", choices=("table", "json"), default="table")
    scs.add_parser("run", help="run one schedule now: build its report and deliver it (for cron)").add_argument("name")

    us = sub.add_parser("users", help="manage users (passwords are read from a prompt or stdin)")
    from kam_core.auth import add_users_arguments

    add_users_arguments(us)
    return p


def _filter_arguments(p: argparse.ArgumentParser) -> None:
    help_note = " (repeat for several; tiers stay company-wide, the other figures cover only these lines)"
    p.add_argument("--region", action="append", default=[], metavar="R", help="only the lines of region R" + help_note)
    p.add_argument("--category", action="append", default=[], metavar="C", help="only category C" + help_note)
    p.add_argument("--store", action="append", default=[], metavar="S", help="only store S" + help_note)


# Arguments that name files. A command handed to the running dashboard has them made
# absolute first (the dashboard runs in its own folder); a new file argument goes here.
PATH_ARGS = ("db", "files", "out", "report_csv", "samples", "dir")


class _WithoutPandas:
    """A meta path finder that makes pandas unimportable (see :func:`lean_start`)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r} (not loaded for an import)", name=name)
        return None


def lean_start(argv: Sequence[str]) -> None:
    """For ``import``, a process that loads only what an import uses.

    Nothing the import command does needs pandas, but DuckDB imports it on the first
    query with a bound parameter, and pyarrow on the first ``pa.array()``, only to ask
    whether a value is a pandas object: ~0.5 s of a 1M-line import's 3 s. Both go on
    without it when it cannot be imported. Only ``python -m kam_core`` calls this (a
    process that may need pandas later must never), and only before anything has loaded it.
    """
    args = list(argv)
    command = next((a for i, a in enumerate(args)
                    if not a.startswith("-") and (i == 0 or args[i - 1] != "--db")), None)
    if command == "import" and "pandas" not in sys.modules:
        sys.meta_path.insert(0, _WithoutPandas())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handed = _hand_to_dashboard(args)
    if handed is not None:   # a dashboard owns the database and ran the command
        return handed
    if args.command == "import":
        from kam_core.imports.worker import warm_up_for

        warm_up_for(args.files)  # the workbook reader's server starts while the database opens
    try:
        store = open_store(args.db)
    except Exception as exc:  # noqa: BLE001 - the user gets the reason, not a traceback
        print(f"error: cannot open the database: {exc}", file=sys.stderr)
        return 1
    try:
        return run_command(store, args)
    finally:
        store.close()


def _hand_to_dashboard(args: argparse.Namespace) -> int | None:
    """The exit code of the command run by the dashboard that owns the database, or None
    when no dashboard runs (the command then opens the file itself)."""
    from kam_core import service

    try:
        return service.hand_over(resolve_db_path(args.db), service.to_portable(args, PATH_ARGS),
                                 stdin=lambda: _password_line(args))
    except ValueError as exc:   # the password typed here was refused: nothing was sent
        print(str(exc), file=sys.stderr)
        return 2


def _password_line(args: argparse.Namespace) -> str | None:
    """A password the command would read, read here (prompt or stdin) and sent along:
    the dashboard has no terminal. Raises the policy's ValueError before anything is sent."""
    reads = args.command == "users" and (
        (args.users_command == "add" and not args.no_password) or args.users_command == "reset-password")
    if not reads:
        return None
    from kam_core.auth import read_password

    return read_password() + "\n"
