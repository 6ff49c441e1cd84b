"""The tier report workbook: summary, one sheet per tier, top ten, migration, near boundary, attention, method.

Built on request (a click, a command, a schedule), never on a page rerun. The
figures come from :mod:`kam_core.sales`, owners and scores from
:mod:`kam_core.dossier`, the imports used from :mod:`kam_core.imports.history`;
this module only lays them out, in the reader's language.
"""
from __future__ import annotations

import datetime as dt
import io
from typing import Any, Mapping

import pandas as pd
from xlsxwriter.workbook import Workbook

from kam_core.exports.xlsx import (MONEY_AXIS_FORMAT, MONEY_FORMAT, Formats, close_workbook, column_label,
                                   display_width, frame_rows, kv_rows, movement_words, new_workbook,
                                   report_label, tier_words, unique_sheet_name, write_frame, write_table)
from kam_core.locales.columns import column_kind
from kam_core.locales.labels import join_items, label_or, normalise_lang, t
from kam_core.permissions import SYSTEM, User, require
from kam_core.store import Store


def account_owners(store: Store, user: User) -> pd.DataFrame:
    """``account, owner`` of every dossier (owner None when nobody is set), read through :mod:`kam_core.dossier`."""
    from kam_core import dossier

    require(user, "read_dossier")
    return pd.DataFrame(list(dossier.account_owners(store).items()), columns=["account", "owner"], dtype=object)


def build_tier_report(
    store: Store,
    year: int,
    lang: str = "zh",
    user: User = SYSTEM,
    settings: Mapping[str, Any] | None = None,
    filters: Any = None,
    today: dt.date | None = None,
) -> bytes:
    """The tier report workbook for ``year`` (issue 6), for the lines ``filters`` keep (all by default).

    Sheets: Summary (KPIs, accounts and sales per tier with a column chart),
    one per tier (the tier table with owner and criteria), Top 10 by sales,
    Top 10 by profit, Migration (Y−1 → Y), Near boundary, Needs attention
    (:mod:`kam_core.attention` for every account, as of ``today``, default
    the day it is built) and Method (thresholds, basis, fiscal year, ABC
    cut-offs, the imports used, when).
    The tier table's values are those of :func:`kam_core.tiers.tier_csv`.
    """
    from kam_core import dossier
    from kam_core.imports.history import imports_used
    from kam_core.sales import figures, periods, projection, tiers  # here: CSV helpers stay importable without ibis

    require(user, "export_report")
    lang = normalise_lang(lang)
    settings = periods.resolve_settings(store, settings)
    table = tiers.assign_tiers(store, year, settings=settings, filters=filters)
    summary = figures.year_summary(store, year, settings=settings, table=table, filters=filters)
    migration = tiers.tier_migration(store, year, settings=settings, table=table, filters=filters)
    people = account_owners(store, user)
    criteria = tiers.criteria_checklist(store, year, settings=settings, scores=dossier.scores_frame(store),
                                        table=table, filters=filters)[["account", *tiers.CRITERIA]]
    for c in criteria.columns:
        if c != "account":  # pass / fail / unknown → 满足 / 不满足 / 未评分
            criteria[c] = [label_or(f"crit.{v}", lang, v) for v in criteria[c]]
    near = tiers.near_boundary(table)
    start, end = periods.fiscal_year_bounds(year, int(settings["fiscal_start_month"]))
    period = periods.period_of(store, year, settings)
    backtest = projection.backtest(store, settings)
    backtest = backtest[backtest["year"].isna()]
    generated_at = dt.datetime.now().replace(microsecond=0)

    title = report_label("title.tier_report", lang, year=year)
    buffer = io.BytesIO()
    wb, formats = new_workbook(buffer, title, constant_memory=False)

    # Summary
    ws = wb.add_worksheet(unique_sheet_name(wb, report_label("sheet.summary", lang)))
    ws.write_string(0, 0, title, formats.title)
    kpis = [
        (t("kpi.sales", lang), summary.get("sales"), "money"),
        (t("kpi.gross_profit", lang), summary.get("gross_profit"), "money"),
        (t("kpi.margin", lang), summary.get("margin"), "ratio"),
        (t("kpi.n_accounts", lang), summary.get("n_accounts"), "int"),
        (t("kpi.top1_share", lang), summary.get("top1_share"), "ratio"),
        (t("kpi.top10_share", lang), summary.get("top10_share"), "ratio"),
        (t("kpi.hhi", lang), summary.get("hhi"), "number"),
        (t("kpi.lines", lang), summary.get("lines"), "int"),
        (t("kpi.lines_without_profit", lang), summary.get("lines_without_profit"), "int"),
    ]
    row = kv_rows(ws, formats, 2, kpis)
    row += 1
    tier_header_row = row
    for c, h in enumerate([report_label("label.tier", lang), report_label("label.accounts", lang),
                           column_label("sales", lang), column_label("share", lang)]):
        ws.write_string(row, c, h, formats.header)
    total_sales = float(table["sales"].sum()) if len(table) else 0.0
    codes = tiers.tier_codes(table)
    shown_tiers = tiers.tiers_in(table)
    for tier in shown_tiers:
        row += 1
        part = table[codes == tier]
        sales = float(part["sales"].sum())
        ws.write_string(row, 0, t(f"tier.{tier}", lang))
        ws.write_number(row, 1, len(part), formats.by_kind["int"])
        ws.write_number(row, 2, sales, formats.by_kind["money"])
        if total_sales:
            ws.write_number(row, 3, sales / total_sales, formats.by_kind["ratio"])
    ws.set_column(0, 0, max(display_width(k[0]) for k in kpis) + 4)
    ws.set_column(1, 3, 18)
    chart = wb.add_chart({"type": "column"})
    sheet_ref = ws.get_name()
    chart.add_series({
        "name": report_label("label.sales_per_tier", lang),
        "categories": [sheet_ref, tier_header_row + 1, 0, tier_header_row + len(shown_tiers), 0],
        "values": [sheet_ref, tier_header_row + 1, 2, tier_header_row + len(shown_tiers), 2],
        "data_labels": {"value": True, "num_format": MONEY_FORMAT},
    })
    chart.set_title({"name": report_label("label.sales_per_tier", lang)})
    chart.set_legend({"none": True})
    chart.set_y_axis({"num_format": MONEY_AXIS_FORMAT})
    ws.insert_chart(2, 5, chart, {"x_scale": 1.3, "y_scale": 1.2})

    # One sheet per tier: the tier table, owner and criteria
    crit_cols = [c for c in criteria.columns if c != "account"]
    detail = table[tiers.TIER_COLUMNS].merge(people[["account", "owner"]], on="account", how="left")
    detail = detail.merge(criteria, on="account", how="left")
    detail["owner"] = detail["owner"].astype(object).where(detail["owner"].notna(), None)
    crit_headers = [t(f"crit.{c[1:]}.short", lang) for c in crit_cols]
    detail_codes = tiers.tier_codes(detail)
    detail["tier"] = tier_words(detail_codes, lang)
    for tier in shown_tiers:
        part = detail[detail_codes == tier]
        columns = list(part.columns)
        headers = [column_label(c, lang) for c in tiers.TIER_COLUMNS] + [t("dossier.owner", lang)] + crit_headers
        write_table(wb, formats, t(f"tier.{tier}", lang), columns, frame_rows(part),
                    kinds=[column_kind(c, part[c]) for c in columns], headers=headers)

    table = table.assign(tier=tier_words(tiers.tier_codes(table), lang))  # the words, from here on
    near = near.assign(tier=tier_words(tiers.tier_codes(near), lang))
    migration = migration.assign(tier_prev=tier_words(migration["tier_prev"], lang),
                                 tier=tier_words(migration["tier"], lang),
                                 movement=movement_words(migration["movement"], lang))
    top_cols = ["rank", "account", "sales", "gross_profit", "margin", "share", "profit_share", "profit_rank", "tier"]
    write_frame(wb, formats, report_label("sheet.top_sales", lang), table.sort_values("rank").head(10)[top_cols], lang)
    by_profit = table[table["profit_rank"].notna()].sort_values("profit_rank").head(10)
    write_frame(wb, formats, report_label("sheet.top_profit", lang),
                by_profit[["profit_rank", "account", "gross_profit", "margin", "profit_share", "sales", "share",
                           "rank", "tier"]], lang)
    write_frame(wb, formats, report_label("sheet.migration", lang), migration, lang)
    write_frame(wb, formats, report_label("sheet.near_boundary", lang),
                near[["account", "rank", "tier", "basis_amount", "next_threshold", "to_next_tier", "sales", "share"]],
                lang)
    _attention_sheet(wb, formats, store, user, year, today or dt.date.today(), settings, people, lang)

    # Method
    ws = wb.add_worksheet(unique_sheet_name(wb, report_label("sheet.method", lang)))
    ws.write_string(0, 0, title, formats.title)
    basis = str(settings["tier_basis"])
    items = [
        (report_label("label.year", lang), year, "int"),
        (report_label("label.fiscal_start_month", lang), int(settings["fiscal_start_month"]), "int"),
        (report_label("label.period_start", lang), start, "date"),
        (report_label("label.period_end", lang), end, "date"),
        (report_label("label.counted_through", lang), period.through, "date"),
        (report_label("label.compared_from", lang), period.prev_start, "date"),
        (report_label("label.compared_through", lang), period.prev_through, "date"),
        (report_label("label.basis", lang), t(f"tier.basis.{basis}", lang), "text"),
        (report_label("label.threshold.strategic", lang), settings["tier_strategic_min"], "money"),
        (report_label("label.threshold.partner", lang), settings["tier_partner_min"], "money"),
        (report_label("label.threshold.ordinary", lang), settings["tier_ordinary_min"], "money"),
        (report_label("label.abc_a_max", lang), settings["abc_a_max"], "ratio"),
        (report_label("label.abc_b_max", lang), settings["abc_b_max"], "ratio"),
        (report_label("label.criteria_top_n", lang), settings["criteria_top_n"], "int"),
        (report_label("label.criteria_min_share", lang), settings["criteria_min_share"], "ratio"),
        (report_label("label.filters", lang), _filters_text(filters, lang), "text"),
        *([(report_label("label.tiers_under_filter", lang), t("filters.tier_note", lang, scope=join_items(
            [t(f"filters.scope.{d}", lang) for d in filters.active()], lang)), "text")] if filters else []),
        *[item for r in backtest.itertuples() for item in (
            (report_label("label.backtest_seasonal", lang, months=int(r.months)), r.seasonal_mape, "ratio"),
            (report_label("label.backtest_naive", lang, months=int(r.months)), r.naive_mape, "ratio"))],
        (report_label("label.generated_at", lang), generated_at, "datetime"),
        (report_label("label.generated_by", lang), user.name, "text"),
    ]
    row = kv_rows(ws, formats, 2, items) + 1
    ws.write_string(row, 0, report_label("label.imports", lang), formats.bold)
    used = imports_used(store, start, end)
    write_frame(wb, formats, "", used, lang, ws=ws, start_row=row + 1, freeze=False)
    ws.set_column(0, 0, max(display_width(i[0]) for i in items) + 4)
    ws.set_column(1, 1, 22)
    ws.set_column(2, 2, 66)  # the sha256
    return close_workbook(wb, buffer)


def _attention_sheet(wb: Workbook, formats: Formats, store: Store, user: User, year: int, today: dt.date,
                     settings: Mapping[str, Any], people: pd.DataFrame, lang: str) -> None:
    """The needs-attention list of every account: account, owner, reason and the figure behind it (in yuan)."""
    from kam_core import attention

    items = attention.attention_items(store, user, year, today, settings=settings)
    frame = attention.attention_frame(items, lang, "yuan").merge(people, on="account", how="left")
    frame["owner"] = frame["owner"].astype(object).where(frame["owner"].notna(), None)
    columns = ["account", "owner", "reason", "figure"]
    write_table(wb, formats, report_label("sheet.attention", lang), columns, frame_rows(frame[columns]),
                kinds=["text"] * 4, headers=[column_label("account", lang), t("dossier.owner", lang),
                                             t("attention.col.reason", lang), t("attention.col.figure", lang)])


def _filters_text(filters: Any, lang: str) -> str:
    """Which lines the report covers, e.g. ``区域: 华东; 品类: 饮料`` — or all of them."""
    parts = [f"{t(f'sidebar.{name}', lang)}: {', '.join(getattr(filters, name))}"
             for name in ("region", "category", "store") if filters is not None and getattr(filters, name)]
    return "; ".join(parts) if parts else t("sidebar.all", lang)


