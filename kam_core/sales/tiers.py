"""The policy's tiers (§1.3) and criteria (§1.2) applied to the yearly figures.

``tier`` compares the year's amount on the tier basis with the thresholds in
settings, lower bounds inclusive: ``strategic`` ≥ ``tier_strategic_min``,
``partner`` ≥ ``tier_partner_min``, ``ordinary`` ≥ ``tier_ordinary_min``, else
``none``. The basis is ``sales`` (Σ amount) or ``cost`` (cost of goods: Σ cost
over the lines whose cost is known; lines without a cost add nothing and are
never read as zero cost, and an account with no known cost at all has no basis
amount, so its tier and ``to_next_tier`` are empty rather than ``none``).
``to_next_tier`` = next threshold − basis amount (empty for strategic).

**Company-wide, whatever the filter.** Policy 1.3 grades an account by its
yearly amount with the whole company, so a view's filters (region, category,
store) never re-grade it: the tier, the distance to the next tier, the six
criteria, the tier migration and the projection's tier are always computed
on every line of the year; the filters only choose which accounts a view
lists and narrow the other figures. An unfinished year is graded on its
amount through the as-of date (the projection gives the run-rate tier) and
its migration compares it with the same days of the year before.

The tier itself is part of the Ibis expression in :mod:`kam_core.sales.figures`,
so it runs on DuckDB or Spark; what follows here works on the few rows per
account that come back.
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Mapping, Sequence

import pandas as pd

from kam_core.safe_text import safe_text
from kam_core.store import Store
from kam_core.sales.accounts import criteria_evidence
from kam_core.sales.figures import account_year_figures
from kam_core.sales.periods import Filters, Period, as_of_date, narrowing, resolve_settings, year_period

TIERS = ("strategic", "partner", "ordinary", "none")   # highest first, as the policy lists them
TIER_RANK = {tier: rank for rank, tier in enumerate(reversed(TIERS))}   # none 0 … strategic 3
NEXT_TIER = dict(zip(TIERS[1:], TIERS))   # the tier above: none → ordinary → partner → strategic
UNKNOWN = "unknown"   # on the cost basis, an account without any known cost cannot be tiered


def tier_codes(table: pd.DataFrame) -> pd.Series:
    """The ``tier`` column with the accounts that could not be tiered as :data:`UNKNOWN`."""
    return table["tier"].astype(object).where(table["tier"].notna(), UNKNOWN)


def tiers_in(table: pd.DataFrame) -> list[str]:
    """The four tiers, plus :data:`UNKNOWN` when some account could not be tiered, so counts add up."""
    return list(TIERS) + ([UNKNOWN] if len(table) and table["tier"].isna().any() else [])


def tier_counts(table: pd.DataFrame, before: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Accounts per tier of ``table`` (:func:`tiers_in` order) and the change from ``before``.

    ``[{tier, accounts, sales, change}]``: ``sales`` the tier's Σ sales in the
    table, ``change`` the count minus ``before``'s (None without ``before``).
    """
    codes = tier_codes(table)
    prev = tier_codes(before).value_counts() if before is not None and len(before) else None
    out = []
    for tier in tiers_in(table):
        part = codes == tier
        n = int(part.sum())
        out.append({"tier": tier, "accounts": n, "sales": float(table.loc[part, "sales"].sum()),
                    "change": None if prev is None else n - int(prev.get(tier, 0))})
    return out

def tier_thresholds(table: pd.DataFrame, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The policy's thresholds beside the accounts per tier: what the Tiers page shows above its tabs.

    ``[{tier, accounts, bound, relation}]`` in :func:`tiers_in` order: ``relation``
    is ``from`` (a tier from ``bound`` yuan up), ``below`` (``none``: under the
    ordinary tier's ``bound``) or ``unknown`` (accounts without a basis amount;
    ``bound`` None).
    """
    lower = {tier: threshold(tier, settings) for tier in TIERS[:-1]}
    rows = []
    for row in tier_counts(table):
        tier = row["tier"]
        if tier in lower:
            bound, relation = float(lower[tier]), "from"
        elif tier == UNKNOWN:
            bound, relation = None, "unknown"
        else:
            bound, relation = float(lower["ordinary"]), "below"
        rows.append({"tier": tier, "accounts": row["accounts"], "bound": bound, "relation": relation})
    return rows


TIER_COLUMNS = [
    "account", "year", "sales", "gross_profit", "margin", "share", "profit_share",
    "rank", "profit_rank", "cum_share", "abc", "yoy", "tier", "to_next_tier",
]
MOVEMENTS = ("up", "down", "same", "new", "lost")
CRITERIA_SCORES = {  # policy 1.2: criterion → dossier score column (1–5)
    "c1": "brand_awareness",
    "c4": "cooperation",
    "c5": "supply_priority",
    "c6": "new_product_priority",
}
PASSING_SCORE = 4
_AMOUNT_COLUMNS = ("sales", "gross_profit", "to_next_tier")
_RATIO_COLUMNS = ("margin", "share", "profit_share", "cum_share", "yoy")
_INTEGER_COLUMNS = ("year", "rank", "profit_rank")


def assign_tiers(
    store: Store,
    year: int,
    basis: str | None = None,
    filters: Filters | None = None,
    settings: Mapping[str, Any] | None = None,
    period: Period | None = None,
) -> pd.DataFrame:
    """Each account's tier in ``year``, sorted by rank.

    Columns: :data:`TIER_COLUMNS` then ``basis_amount`` (the amount compared
    with the thresholds). ``basis`` overrides the ``tier_basis`` setting.
    Under ``filters`` the rows and the figures are the view's, the tier,
    ``to_next_tier`` and ``basis_amount`` the company-wide ones. ``period``:
    another window than the year's own (see :func:`~kam_core.sales.figures.account_year_figures`).
    """
    return account_year_figures(store, year, filters, settings, basis, period)[TIER_COLUMNS + ["basis_amount"]]


def threshold(tier: str, settings: Mapping[str, Any]) -> float:
    """The policy's lower bound of ``tier`` in yuan (the ``tier_<tier>_min`` setting; ``none`` has none)."""
    return float(settings[f"tier_{tier}_min"])


def tier_of(amount: float | None, settings: Mapping[str, Any]) -> str | None:
    """The tier a basis amount gives (same rule as the engine; None for unknown)."""
    if amount is None or pd.isna(amount):
        return None
    return next((tier for tier in TIERS[:-1] if amount >= threshold(tier, settings)), "none")


# -- output formats for the command line ----------------------------------------
def _format(value: Any, places: int | None) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if places is None:
        return str(int(value))
    text = f"{float(value):.{places}f}"
    # A tiny negative ratio must not print as "-0.000000".
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _places(column: str) -> int | None | str:
    if column in _AMOUNT_COLUMNS:
        return 2
    if column in _RATIO_COLUMNS:
        return 6
    if column in _INTEGER_COLUMNS:
        return None
    return "text"


def _formatted_rows(df: pd.DataFrame) -> list[list[str]]:
    rows = []
    for record in df[TIER_COLUMNS].itertuples(index=False, name=None):
        row = []
        for column, value in zip(TIER_COLUMNS, record):
            places = _places(column)
            if places == "text":
                row.append("" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value))
            else:
                row.append(_format(value, places))  # type: ignore[arg-type]
        rows.append(row)
    return rows


def tier_csv(df: pd.DataFrame) -> str:
    """The tier table as CSV text: header + one row per account in the frame's order.

    Exactly :data:`TIER_COLUMNS`; amounts with 2 decimals, ratios with 6,
    integers plain, empty fields for none, ``\\n`` line ends, no index. Text
    that a spreadsheet would run as a formula (an account named ``=HYPERLINK(…)``)
    gets a leading ``'``, as in every CSV the product writes.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TIER_COLUMNS)
    text = [_places(c) == "text" for c in TIER_COLUMNS]
    writer.writerows([safe_text(v) if is_text else v for v, is_text in zip(row, text)] for row in _formatted_rows(df))
    return out.getvalue()


def tier_json(df: pd.DataFrame) -> str:
    """The tier table as a JSON list of objects with :data:`TIER_COLUMNS`.

    Numbers are rounded as in :func:`tier_csv` (amounts 2 decimals, ratios 6),
    none is ``null``; non-ASCII account names are kept as they are.
    """
    records = []
    for row in _formatted_rows(df):
        record: dict[str, Any] = {}
        for column, text in zip(TIER_COLUMNS, row):
            places = _places(column)
            if text == "":
                record[column] = None
            elif places == "text":
                record[column] = text
            elif places is None:
                record[column] = int(text)
            else:
                record[column] = float(text)
        records.append(record)
    return json.dumps(records, ensure_ascii=False, indent=1)


# -- analyses on top of the tier table ------------------------------------------
def tier_migration(
    store: Store, year: int, filters: Filters | None = None, settings: Mapping[str, Any] | None = None,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each account's company-wide tier in the year before and in ``year``, and how it moved.

    The year before is counted over the same days when ``year`` is unfinished
    (its comparison window), so half a year is never graded against a whole one.
    ``movement``: up / down / same when the account has lines in both, ``new``
    when only in ``year``, ``lost`` when only before; None when either tier is
    unknown (cost basis without costs). Under ``filters`` the accounts are
    those the view has lines for in either window; the tiers stay company-wide.
    Accounts of ``year`` in rank order, then the lost ones in their previous
    rank order. ``table``: this year's :func:`assign_tiers` result for the
    same filters when the caller has it already.
    """
    settings = resolve_settings(store, settings)
    period = year_period(year, as_of_date(store), settings)
    filters = narrowing(filters)
    if table is None:
        table = assign_tiers(store, year, filters=filters, settings=settings)
    prev_company = account_year_figures(store, year - 1, None, settings, period=period.previous())
    prev_tiers = dict(zip(prev_company["account"], prev_company["tier"]))
    if filters is None:
        prev_order = list(prev_company["account"])
    else:
        prev_order = list(account_year_figures(store, year - 1, filters, settings, period=period.previous())["account"])
    in_cur = set(table["account"])
    rows = []
    for account, tier in zip(table["account"], table["tier"]):
        if account not in prev_tiers:
            rows.append((account, None, tier, "new"))
            continue
        before = prev_tiers[account]
        if before is None or tier is None:
            movement = None
        else:
            diff = TIER_RANK[tier] - TIER_RANK[before]
            movement = "up" if diff > 0 else "down" if diff < 0 else "same"
        rows.append((account, before, tier, movement))
    for account in prev_order:
        if account not in in_cur:
            rows.append((account, prev_tiers[account], None, "lost"))
    return pd.DataFrame(rows, columns=["account", "tier_prev", "tier", "movement"], dtype=object)


def _score_verdict(value: Any) -> str:
    if value is None or pd.isna(value):
        return "unknown"
    return "pass" if float(value) >= PASSING_SCORE else "fail"


def criteria_checklist(
    store: Store,
    year: int,
    settings: Mapping[str, Any] | None = None,
    scores: pd.DataFrame | None = None,
    filters: Filters | None = None,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Policy 1.2's six criteria per account: 'pass', 'fail' or 'unknown'.

    Company-wide whatever ``filters`` (which only choose the accounts listed).
    c2: rank ≤ ``criteria_top_n``. c3: share and profit_share both ≥
    ``criteria_min_share`` (fail if either known one is below; unknown when
    profit is unknown and the share passes). c1 brand awareness, c4
    cooperation, c5 supply priority, c6 new-product priority: the dossier's
    1–5 score ≥ 4 passes; ``scores`` has columns account, brand_awareness,
    cooperation, supply_priority, new_product_priority; a missing account,
    score or frame gives unknown. Rows in the view's rank order. ``table``: the
    year's :func:`assign_tiers` result for ``filters`` when the caller has it.

    c5 and c6 also have what the data says (:func:`~kam_core.sales.accounts.criteria_evidence`),
    beside the score and never silently over it: ``c5_data`` passes when the
    account's stock-out share is at or below the company's, ``c6_data`` when
    its share of sales from SKUs new this year is at or above the company's.
    ``c5``/``c6`` are the score's verdict when there is a score, else the
    data's; ``c5_by``/``c6_by`` say which decided (``score``, ``data`` or None).
    Also ``stockout_share``, ``company_stockout_share``, ``new_sku_share``,
    ``company_new_sku_share`` and the scores themselves (``c1_score`` … ``c6_score``).
    """
    settings = resolve_settings(store, settings)
    if table is None:
        table = account_year_figures(store, year, filters, settings)
    shown = list(table["account"])
    if narrowing(filters) is not None:
        company = account_year_figures(store, year, None, settings).set_index("account")
        table = company.loc[[a for a in shown if a in company.index]].reset_index()
    minimum = float(settings["criteria_min_share"])
    top_n = int(settings["criteria_top_n"])
    by_account: dict[str, dict] = {}
    if scores is not None and len(scores):
        by_account = {r["account"]: r for r in scores.to_dict("records")}
    evidence, company_evidence = criteria_evidence(store, year, settings)
    evidence = {r["account"]: r for r in evidence.to_dict("records")}
    rows = []
    for r in table.itertuples(index=False):
        share_ok = None if pd.isna(r.share) else r.share >= minimum
        profit_ok = None if pd.isna(r.profit_share) else r.profit_share >= minimum
        if share_ok is False or profit_ok is False:
            c3 = "fail"
        elif share_ok and profit_ok:
            c3 = "pass"
        else:
            c3 = "unknown"
        s = by_account.get(r.account, {})
        e = evidence.get(r.account, {})
        stockout, fresh = _opt(e.get("stockout_share")), _opt(e.get("new_sku_share"))
        row = {
            "account": r.account,
            "c1": _score_verdict(s.get(CRITERIA_SCORES["c1"])),
            "c2": "pass" if r.rank <= top_n else "fail",
            "c3": c3,
            "c4": _score_verdict(s.get(CRITERIA_SCORES["c4"])),
            "c5_data": _data_verdict(stockout, company_evidence["stockout_share"], lower_is_better=True),
            "c6_data": _data_verdict(fresh, company_evidence["new_sku_share"], lower_is_better=False),
            "stockout_share": stockout, "company_stockout_share": company_evidence["stockout_share"],
            "new_sku_share": fresh, "company_new_sku_share": company_evidence["new_sku_share"],
        }
        for c in ("c5", "c6"):
            by_score = _score_verdict(s.get(CRITERIA_SCORES[c]))
            by = "score" if by_score != "unknown" else "data" if row[f"{c}_data"] != "unknown" else None
            row[c] = by_score if by == "score" else row[f"{c}_data"]
            row[f"{c}_by"] = by
        for c, field in CRITERIA_SCORES.items():
            row[f"{c}_score"] = _opt(s.get(field))
        rows.append(row)
    return pd.DataFrame(rows, columns=CRITERIA_COLUMNS, dtype=object)


CRITERIA = ("c1", "c2", "c3", "c4", "c5", "c6")
CRITERIA_COLUMNS = ["account", *CRITERIA, "c5_data", "c6_data", "c5_by", "c6_by", "stockout_share",
                    "company_stockout_share", "new_sku_share", "company_new_sku_share",
                    "c1_score", "c4_score", "c5_score", "c6_score"]


def criteria_met(checklist: pd.DataFrame) -> pd.Series:
    """How many of the six criteria each row of a :func:`criteria_checklist` frame meets (0–6)."""
    if not len(checklist):
        return pd.Series([], dtype="int64")
    return (checklist[list(CRITERIA)] == "pass").sum(axis=1).astype("int64")


def _opt(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _data_verdict(value: float | None, company: float | None, lower_is_better: bool) -> str:
    # no new SKU anywhere in the company says nothing about who lists first
    if value is None or company is None or (not lower_is_better and company == 0):
        return "unknown"
    return "pass" if (value <= company if lower_is_better else value >= company) else "fail"


def stop_impact(
    store: Store,
    year: int,
    top: int = 10,
    filters: Filters | None = None,
    settings: Mapping[str, Any] | None = None,
    accounts: Sequence[str] | None = None,
) -> pd.DataFrame:
    """"If this account stopped": the company's totals without each of the top accounts.

    For the ``top`` accounts by rank (or the ``accounts`` named, in rank order,
    when given): sales and gross_profit, the year's totals
    without them (``sales_without``, ``gross_profit_without``; an account with
    unknown profit leaves the known profit total unchanged) and the fraction
    lost (``sales_drop_share`` = sales / total, ``profit_drop_share`` =
    gross_profit / total gross profit; NaN when a total is 0 or unknown).
    """
    table = account_year_figures(store, year, filters, settings)
    total_sales = math.fsum(table["sales"])
    known = table["gross_profit"].dropna()
    total_profit = math.fsum(known) if len(known) else math.nan
    head = table.head(top) if accounts is None else table[table["account"].isin(set(accounts))]
    gross = head["gross_profit"]
    return pd.DataFrame(
        {
            "account": head["account"],
            "sales": head["sales"],
            "gross_profit": gross,
            "sales_without": total_sales - head["sales"],
            "gross_profit_without": total_profit - gross.fillna(0.0),
            "sales_drop_share": head["sales"] / total_sales if total_sales else math.nan,
            "profit_drop_share": gross / total_profit if total_profit else math.nan,
        }
    ).reset_index(drop=True)


def near_boundary(df: pd.DataFrame, within: float = 0.10) -> pd.DataFrame:
    """Rows of an :func:`assign_tiers` frame whose basis amount is within
    ``within`` (a fraction) below the next threshold, with ``next_threshold``.
    """
    next_threshold = df["basis_amount"] + df["to_next_tier"]
    close = df["to_next_tier"].notna() & (df["to_next_tier"] <= within * next_threshold)
    out = df[close].copy()
    out["next_threshold"] = next_threshold[close]
    return out.reset_index(drop=True)
