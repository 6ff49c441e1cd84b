"""The Ibis metrics against an independent reference on a generated 3-year dataset.

The reference reads the raw lines and computes every SPEC §5 figure in plain
Python with exact ``Decimal`` sums and ``sorted`` — no window functions, no
Ibis — so a compiler or engine quirk in the real code shows up as a mismatch.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from decimal import Decimal

import pandas as pd
import pytest

from kam_core.sales import figures, tiers
from kam_core.sales.periods import Filters
from kam_core.settings import SETTINGS
from sales_lines import add_sales
from kam_core.store import Store, open_store

# The figures against the hand-computed reference with DuckDB's threads as in production (not the suite's one).
pytestmark = pytest.mark.usefixtures("duckdb_default_threads")

ACCOUNTS = [f"供应商{i:02d}" for i in range(40)] + [f"Brand {c}" for c in "ABCDEFGHIJ"]
REGIONS = ["North", "South", "East"]


def generate_lines(seed: int = 20250101) -> list[tuple]:
    """About 6,000 heavy-tailed lines over 2023–2025 with the awkward cases mixed in."""
    rng = random.Random(seed)
    lines = []
    for year in (2023, 2024, 2025):
        for i, account in enumerate(ACCOUNTS):
            if (i + year) % 11 == 0:  # some accounts skip a year: gaps, new and lost accounts
                continue
            scale = 300_000_000 / (i + 1) ** 1.3
            for _ in range(rng.randint(20, 60)):
                day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
                amount = Decimal(str(round(scale * rng.random() / 30, 2)))
                if rng.random() < 0.05:
                    amount = -amount  # a return
                kind = rng.random()
                cost = profit = None
                if kind < 0.6:
                    cost = (amount * Decimal(str(round(rng.uniform(0.6, 1.1), 3)))).quantize(Decimal("0.01"))
                    profit = amount - cost
                elif kind < 0.8:
                    profit = (amount * Decimal(str(round(rng.uniform(-0.1, 0.3), 3)))).quantize(Decimal("0.01"))
                lines.append((day.isoformat(), account, amount, cost, profit, rng.choice(REGIONS)))
    # exact ties in a year's sales, and an account with only profit-less lines
    lines += [("2025-05-01", "Tie B", Decimal("3000000.00"), None, Decimal("1.00"), "North"),
              ("2025-05-01", "Tie A", Decimal("3000000.00"), None, Decimal("1.00"), "North"),
              ("2025-06-01", "No Profit", Decimal("1234567.89"), None, None, "South")]
    return lines


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = open_store(tmp_path_factory.mktemp("ref") / "ref.duckdb")
    add_sales(s, ["date", "account", "amount", "cost", "profit", "region"], generate_lines())
    yield s
    s.close()


def reference_table(store: Store, year: int, settings: dict, basis: str, regions=()) -> pd.DataFrame:
    m = settings["fiscal_start_month"]
    start, end, prev_start = dt.date(year, m, 1), dt.date(year + 1, m, 1), dt.date(year - 1, m, 1)
    rows = store.cursor().execute("select date, account, amount, cost, profit, region from sales").fetchall()
    acc: dict[str, dict] = defaultdict(lambda: {"sales": Decimal(0), "gp": None, "known": Decimal(0),
                                                "cost": None, "lines": 0, "lwp": 0})
    prev: dict[str, Decimal] = {}
    for date, account, amount, cost, profit, region in rows:
        if regions and region not in regions:
            continue
        if prev_start <= date < start:
            prev[account] = prev.get(account, Decimal(0)) + amount
        if not start <= date < end:
            continue
        a = acc[account]
        a["sales"] += amount
        a["lines"] += 1
        if profit is None:
            a["lwp"] += 1
        else:
            a["gp"] = (a["gp"] or Decimal(0)) + profit
            a["known"] += amount
        if cost is not None:
            a["cost"] = (a["cost"] or Decimal(0)) + cost
    total = sum((a["sales"] for a in acc.values()), Decimal(0))
    known_gp = [a["gp"] for a in acc.values() if a["gp"] is not None]
    total_gp = sum(known_gp, Decimal(0)) if known_gp else None
    order = sorted(acc, key=lambda k: (-acc[k]["sales"], k))
    profit_order = sorted((k for k in acc if acc[k]["gp"] is not None), key=lambda k: (-acc[k]["gp"], k))
    thresholds = [(Decimal(str(settings["tier_strategic_min"])), "strategic"),
                  (Decimal(str(settings["tier_partner_min"])), "partner"),
                  (Decimal(str(settings["tier_ordinary_min"])), "ordinary")]
    out, running = [], Decimal(0)
    for rank, k in enumerate(order, start=1):
        a = acc[k]
        before = running
        running += a["sales"]
        basis_amount = a["sales"] if basis == "sales" else a["cost"]
        tier, to_next = None, None
        if basis_amount is not None:
            tier = "none"
            to_next = thresholds[2][0] - basis_amount
            for i, (limit, name) in enumerate(thresholds):
                if basis_amount >= limit:
                    tier = name
                    to_next = None if i == 0 else thresholds[i - 1][0] - basis_amount
                    break
        prev_sales = prev.get(k)
        out.append({
            "account": k, "year": year, "sales": float(a["sales"]),
            "gross_profit": None if a["gp"] is None else float(a["gp"]),
            "margin": None if a["gp"] is None or not a["known"] else float(a["gp"]) / float(a["known"]),
            "share": float(a["sales"]) / float(total) if total else None,
            "profit_share": None if a["gp"] is None or not total_gp else float(a["gp"]) / float(total_gp),
            "rank": rank,
            "profit_rank": profit_order.index(k) + 1 if a["gp"] is not None else None,
            "cum_share": float(running) / float(total) if total else None,
            "abc": None if not total else ("A" if float(before) / float(total) < settings["abc_a_max"]
                                           else "B" if float(before) / float(total) < settings["abc_b_max"] else "C"),
            "yoy": float(a["sales"]) / float(prev_sales) - 1 if prev_sales is not None and prev_sales > 0 else None,
            "cost": None if a["cost"] is None else float(a["cost"]),
            "lines": a["lines"], "lines_without_profit": a["lwp"],
            "tier": tier, "to_next_tier": None if to_next is None else float(to_next),
            "basis_amount": None if basis_amount is None else float(basis_amount),
        })
    return pd.DataFrame(out)


def assert_same_table(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(actual["account"]) == list(expected["account"])
    for column in expected.columns:
        for got, want in zip(actual[column], expected[column]):
            if want is None or (isinstance(want, float) and math.isnan(want)):
                assert got is None or pd.isna(got), (column, got)
            elif isinstance(want, float):
                assert got == pytest.approx(want, rel=1e-12, abs=1e-9), column
            else:
                assert got == want, column


def defaults(**changes) -> dict:
    return {**{k: s.default for k, s in SETTINGS.items()}, **changes}


def test_generated_data_has_ties_gaps_returns_and_unknown_profit(store):
    ref = reference_table(store, 2025, defaults(), "sales")
    assert {"Tie A", "Tie B", "No Profit"} <= set(ref["account"])
    assert ref["yoy"].isna().sum() >= 3 and (ref["lines_without_profit"] > 0).sum() >= 10
    assert (ref["sales"] < 0).any() or (ref["gross_profit"] < 0).any()
    assert ref["abc"].nunique() == 3 and ref["tier"].nunique() == 4


@pytest.mark.parametrize("year", [2024, 2025])
def test_account_year_table_matches_the_reference(store, year):
    expected = reference_table(store, year, defaults(), "sales")
    assert_same_table(figures.account_year_figures(store, year, settings=defaults()),
                      expected[figures.ACCOUNT_YEAR_COLUMNS])


def test_tiers_on_the_cost_basis_match_the_reference(store):
    settings = defaults(tier_ordinary_min=1_000_000, tier_partner_min=3_000_000.5, tier_strategic_min=9_000_000)
    expected = reference_table(store, 2025, settings, "cost")
    actual = tiers.assign_tiers(store, 2025, basis="cost", settings=settings)
    assert_same_table(actual, expected[tiers.TIER_COLUMNS + ["basis_amount"]])


def test_a_filtered_fiscal_year_matches_the_reference_with_company_wide_tiers(store):
    settings = defaults(fiscal_start_month=7, abc_a_max=0.5, abc_b_max=0.9)
    expected = reference_table(store, 2024, settings, "sales", regions=("North", "East"))
    # the filter narrows the figures; the policy's tier stays the account's company-wide one
    company = reference_table(store, 2024, settings, "sales").set_index("account")
    for column in ("tier", "to_next_tier", "basis_amount"):
        expected[column] = [company.loc[a, column] for a in expected["account"]]
    assert (expected["tier"] != reference_table(store, 2024, settings, "sales", regions=("North", "East"))["tier"]).any()
    actual = tiers.assign_tiers(store, 2024, filters=Filters(region=("North", "East")), settings=settings)
    assert_same_table(actual, expected[tiers.TIER_COLUMNS + ["basis_amount"]])


def test_year_summary_matches_sums_over_the_reference_table(store):
    ref = reference_table(store, 2025, defaults(), "sales")
    summary = figures.year_summary(store, 2025, settings=defaults())
    assert summary["sales"] == pytest.approx(math.fsum(ref["sales"]), rel=1e-12)
    assert summary["gross_profit"] == pytest.approx(math.fsum(ref["gross_profit"].dropna()), rel=1e-12)
    assert summary["hhi"] == pytest.approx(math.fsum(ref["share"] ** 2) * 10_000, rel=1e-9)
    assert summary["top10_share"] == pytest.approx(ref["cum_share"].iloc[9], rel=1e-12)
    assert summary["lines"] == ref["lines"].sum()
    assert summary["n_accounts"] == len(ref)


def test_monthly_sales_add_up_to_the_yearly_sales(store):
    monthly = figures.monthly_sales(store, 2025, settings=defaults())
    assert monthly["month"].map(lambda d: d.day).eq(1).all()
    yearly = monthly.groupby("account")["sales"].sum()
    ref = reference_table(store, 2025, defaults(), "sales").set_index("account")["sales"]
    pd.testing.assert_series_equal(yearly.sort_index(), ref.sort_index(), check_names=False, rtol=1e-12)
