"""The commands of ``python -m kam_core``, each run on an open store: what the command line runs
when it opens the file itself (:func:`kam_core.cli.main`) and what the dashboard that owns the
file runs for a command handed to it (:mod:`kam_core.service`).

Exit codes (:func:`run_command`): 0 done; 2 input rejected or a decision needed (nothing
written, reason on stderr); 1 any other failure. The arguments are parsed by
:func:`kam_core.cli.build_parser`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kam_core.imports.errors import DecisionNeeded, ImportRejected
from kam_core.imports.mapping import FIELDS
from kam_core.permissions import SYSTEM, PermissionDenied


def _filters(args):
    from kam_core.sales.periods import Filters, narrowing

    return narrowing(Filters(region=tuple(args.region), category=tuple(args.category), store=tuple(args.store)))


def _parse_maps(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise ImportRejected("bad_option", f"--map {item!r}: expected FIELD=HEADER")
        f, h = item.split("=", 1)
        f = f.strip()
        if f not in FIELDS:
            raise ImportRejected("bad_option", f"--map {item!r}: FIELD must be one of {', '.join(FIELDS)}")
        out[f] = h
    return out


def cmd_import(store, args) -> int:
    from kam_core.imports.pipeline import ImportOptions, commit_import, prepare_import

    mapping = _parse_maps(args.map)
    plans = []
    # Prepare every file first: a problem in any file stops the run before anything is written.
    for path in args.files:
        data = Path(path).read_bytes()
        opts = ImportOptions(sheets=args.sheet, mapping=dict(mapping), header_row=args.header_row,
                             account_from=args.account_from, date_order=args.date_order, unit=args.unit,
                             kind=args.kind, force=args.force)
        plan = prepare_import(store, data, Path(path).name, opts)
        print(plan.report.to_text())
        print()
        if args.report_csv:
            Path(args.report_csv).write_bytes(plan.report.to_csv())
        plans.append(plan)
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    for plan in plans:
        import_id = commit_import(store, plan, user="cli")
        print(f"loaded import {import_id}: {plan.report.data['rows_accepted']:,} rows from {plan.file_name}")
    return 0


def cmd_imports(store, args) -> int:
    from kam_core.imports.pipeline import list_imports

    rows = list_imports(store)
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    print(f"{'id':>4}  {'status':7}  {'rows':>9}  {'amount':>18}  {'dates':23}  file")
    for r in rows:
        amount = "" if r["amount_total"] is None else f"{r['amount_total']:,.2f}"
        print(f"{r['id']:>4}  {r['status']:7}  {r['rows_loaded']:>9,}  {amount:>18}  "
              f"{(r['date_min'] or '')[:10]}…{(r['date_max'] or '')[:10]}  {r['file_name']}")
    return 0


def cmd_undo(store, args) -> int:
    from kam_core.imports.pipeline import undo_import

    n = undo_import(store, args.import_id, user="cli")
    print(f"undone import {args.import_id}: {n:,} rows removed")
    return 0


def cmd_tiers(store, args) -> int:
    from kam_core.sales import tiers

    df = tiers.assign_tiers(store, args.year, basis=args.basis, filters=_filters(args))
    sys.stdout.write(tiers.tier_csv(df) if args.format == "csv" else tiers.tier_json(df) + "\n")
    return 0


def cmd_demo(store, args) -> int:
    from kam_core import demo

    from kam_core.sales import accounts

    if accounts.has_sales(store):
        print("the database already has sales; demo data not loaded", file=sys.stderr)
        return 2
    import_id = demo.load_demo(store)
    print(f"loaded demo data as import {import_id}")
    created = demo.load_demo_extras(store, with_users=True)
    if created:
        print("demo users (demo only — passwords shown once; disable them before real use):")
        for name, pw in created.items():
            print(f"  {name}: {pw}")
    if args.samples:
        for path in demo.write_sample_exports(Path(args.samples)):
            print(f"wrote {path}")
    return 0


def cmd_report(store, args) -> int:
    from kam_core.exports import reports

    Path(args.out).write_bytes(reports.build_tier_report(store, args.year, lang=args.lang, user=SYSTEM,
                                                         filters=_filters(args)))
    print(f"wrote {args.out}")
    return 0


def cmd_share_pack(store, args) -> int:
    from kam_core.exports import reports

    Path(args.out).write_bytes(reports.build_share_pack(store, args.account, args.year, user=SYSTEM,
                                                        lang=args.lang))
    print(f"wrote {args.out}")
    return 0


def cmd_lake(store, args) -> int:
    from kam_core.sales import lake

    written = lake.export_lake(store, Path(args.dir))
    for table, n in written.items():
        print(f"{table}: {n:,} rows")
    print(f"wrote {args.dir} (read it with KAM_ENGINE=spark KAM_LAKE={args.dir})")
    return 0


def cmd_rollup(store, args) -> int:
    from kam_core.sales import rollup

    if args.action == "rebuild":
        print(f"rebuilt the rollups: {rollup.rebuild(store):,} rows")
        return 0
    diff = rollup.differences(store)
    for row in diff[:20]:
        print("differs:", *row, file=sys.stderr)
    print("the rollups equal the lines" if not diff else f"{len(diff):,} rollup rows differ from the lines")
    return 1 if diff else 0


def cmd_schedules(store, args) -> int:
    from kam_core import schedules

    if args.schedules_command == "run":
        try:
            run = schedules.run_schedule(store, args.name, trigger="command")
        except schedules.ScheduleError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        where = ", ".join(run["delivered_to"]) or "nowhere"
        print(f"schedule {args.name}: {run['status']} — {run['file_name'] or 'no report'} to {where}")
        if run["error"]:
            print(f"error: {run['error']}", file=sys.stderr)
        return 0 if run["status"] == "ok" else 1
    rows = [{"name": s.name, "cadence": s.cadence, "day": s.day, "at": s.at, "report": s.report,
             "account": s.account, "year": s.year, "enabled": s.enabled,
             "next_run": (nxt.isoformat(" ", "minutes") if (nxt := schedules.next_due(s)) and s.enabled else None)}
            for s in schedules.list_schedules(store)]
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            print(f"{r['name']}  {r['cadence']} day {r['day']} {r['at']}  {r['report']}"
                  f"{' ' + r['account'] if r['account'] else ''}  next: {r['next_run'] or '—'}")
    return 0


def cmd_users(store, args) -> int:
    from kam_core import auth

    return auth.users_command(store, args)


COMMANDS = {"import": cmd_import, "imports": cmd_imports, "undo": cmd_undo, "tiers": cmd_tiers,
            "demo": cmd_demo, "report": cmd_report, "share-pack": cmd_share_pack, "lake": cmd_lake,
            "rollup": cmd_rollup, "users": cmd_users, "schedules": cmd_schedules}


def run_command(store, args: argparse.Namespace) -> int:
    """Run one parsed command on an open store; the exit code :func:`kam_core.cli.main` returns.

    The running dashboard runs the commands handed to it through this too
    (:mod:`kam_core.service`), so both ways share every check and message.
    """
    try:
        return COMMANDS[args.command](store, args)
    except (ImportRejected, DecisionNeeded) as exc:
        print(f"rejected ({exc.code}): {exc.message}", file=sys.stderr)
        return 2
    except (PermissionDenied, ValueError, KeyError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (ValueError, FileNotFoundError)) else 1
    except Exception as exc:  # noqa: BLE001
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
