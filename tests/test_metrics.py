"""SPEC §5 figures on small literal datasets whose numbers are worked out by hand."""
from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest

from kam_core.sales import figures
from kam_core.sales.periods import Filters
from kam_core.settings import save_settings
from kam_core.store import Store, open_store
from sales_lines import add_sales

# (date, account, amount, cost, profit, region) — see the comments for what each line tests.
LINES = [
    # 2025
    ("2025-01-10", "Alpha", "30000000.00", "27000000.00", "3000000.00", "North"),
    ("2025-06-10", "Alpha", "20000000.00", "19000000.00", "1000000.00", "South"),  # exactly 50,000,000.00
    ("2025-03-01", "Zeta", "20000000.00", "18000000.00", "2000000.00", "North"),  # new account
    ("2025-02-01", "Beta", "5000000.00", None, "500000.00", "North"),  # gap year: 2023, not 2024
    ("2025-02-01", "Delta", "4000000.00", "3600000.00", "400000.00", "South"),  # ties with Beta
    ("2025-12-31", "Delta", "1000000.00", None, None, "South"),  # line without cost or profit
    ("2025-05-05", "Gamma", "4999999.99", "5099999.99", "-100000.00", "North"),  # negative profit
    ("2025-07-01", "Eps", "100000.00", "90000.00", "10000.00", "South"),
    ("2025-08-01", "Eps", "-300000.00", "-270000.00", "-30000.00", "South"),  # returns: sales < 0
    # 2024
    ("2024-12-31", "Alpha", "40000000.00", "38000000.00", "2000000.00", "North"),
    ("2024-01-01", "Gamma", "5000000.00", "4500000.00", "500000.00", "North"),
    ("2024-04-01", "Eps", "50.00", "40.00", "10.00", "South"),
    ("2024-04-02", "Eps", "-50.00", "-40.00", "-10.00", "South"),  # previous sales exactly 0
    ("2024-09-09", "Omega", "6000000.00", None, None, "North"),  # lost in 2025
    # 2023
    ("2023-06-01", "Beta", "1000000.00", "900000.00", "100000.00", "North"),
]
TOTAL_2025 = 84_799_999.99  # 50M + 20M + 5M + 5M + 4,999,999.99 − 200,000
PROFIT_2025 = 6_780_000.0  # 4M + 2M + 0.5M + 0.4M − 0.1M − 0.02M


def add_lines(store: Store, lines: list[tuple]) -> None:
    """Insert (date, account, amount, cost, profit[, region]) lines as one import would."""
    add_sales(store, ["date", "account", "amount", "cost", "profit", "region"], lines)


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "t.duckdb")
    add_lines(s, LINES)
    yield s
    s.close()


@pytest.fixture
def table(store):
    return figures.account_year_figures(store, 2025).set_index("account")


def test_columns_are_the_contract_and_rows_are_in_rank_order(store):
    df = figures.account_year_figures(store, 2025)
    assert list(df.columns) == figures.ACCOUNT_YEAR_COLUMNS + figures.POLICY_COLUMNS
    assert list(df["account"]) == ["Alpha", "Zeta", "Beta", "Delta", "Gamma", "Eps"]
    assert list(df["rank"]) == [1, 2, 3, 4, 5, 6]
    assert set(df["year"]) == {2025}


def test_sales_sum_amounts_including_returns(table):
    assert table.loc["Alpha", "sales"] == 50_000_000.00
    assert table.loc["Gamma", "sales"] == 4_999_999.99
    assert table.loc["Eps", "sales"] == -200_000.00


def test_gross_profit_and_margin_use_only_lines_with_known_profit(table):
    assert table.loc["Delta", "gross_profit"] == 400_000.0
    assert table.loc["Delta", "margin"] == pytest.approx(0.1, abs=1e-15)  # 400k / 4M, not / 5M
    assert table.loc["Delta", "lines"] == 2
    assert table.loc["Delta", "lines_without_profit"] == 1
    assert table.loc["Gamma", "gross_profit"] == -100_000.0
    assert table.loc["Gamma", "margin"] == pytest.approx(-100_000 / 4_999_999.99, rel=1e-15)
    assert table.loc["Eps", "margin"] == pytest.approx(0.1, abs=1e-15)  # −20k / −200k


def test_cost_sums_only_lines_with_known_cost(table):
    assert table.loc["Delta", "cost"] == 3_600_000.0
    assert pd.isna(table.loc["Beta", "cost"])


def test_shares_divide_by_the_year_totals(table):
    assert table.loc["Alpha", "share"] == pytest.approx(50_000_000 / TOTAL_2025, rel=1e-15)
    assert table.loc["Eps", "share"] == pytest.approx(-200_000 / TOTAL_2025, rel=1e-15)
    assert table.loc["Alpha", "profit_share"] == pytest.approx(4_000_000 / PROFIT_2025, rel=1e-15)
    assert table.loc["Gamma", "profit_share"] == pytest.approx(-100_000 / PROFIT_2025, rel=1e-15)


def test_ties_in_sales_are_broken_by_account_name(table):
    assert table.loc["Beta", "sales"] == table.loc["Delta", "sales"] == 5_000_000.0
    assert (table.loc["Beta", "rank"], table.loc["Delta", "rank"]) == (3, 4)


def test_profit_rank_orders_by_gross_profit_with_negative_profit_last(table):
    assert table["profit_rank"].to_dict() == {
        "Alpha": 1, "Zeta": 2, "Beta": 3, "Delta": 4, "Eps": 5, "Gamma": 6,
    }


def test_profit_rank_is_empty_when_no_line_has_a_profit(tmp_path):
    s = open_store(tmp_path / "p.duckdb")
    add_lines(s, [("2025-01-01", "A", "10.00", None, None, None), ("2025-01-01", "B", "5.00", None, "1.00", None)])
    df = figures.account_year_figures(s, 2025).set_index("account")
    assert pd.isna(df.loc["A", "gross_profit"]) and pd.isna(df.loc["A", "margin"])
    assert pd.isna(df.loc["A", "profit_rank"]) and pd.isna(df.loc["A", "profit_share"])
    assert df.loc["B", "profit_rank"] == 1 and df.loc["B", "profit_share"] == 1.0


def test_abc_keeps_the_account_that_crosses_eighty_percent_in_a(table):
    # cumulative before: Alpha 0, Zeta 0.5896 (crosses 80 %), Beta 0.8255, Delta 0.8844,
    # Gamma 0.9434, Eps 1.0024
    assert table["abc"].to_dict() == {"Alpha": "A", "Zeta": "A", "Beta": "B", "Delta": "B", "Gamma": "B", "Eps": "C"}
    assert table.loc["Zeta", "cum_share"] == pytest.approx(70_000_000 / TOTAL_2025, rel=1e-15)
    assert table.loc["Eps", "cum_share"] == 1.0


def test_two_tied_accounts_at_the_eighty_percent_line_split_by_name(tmp_path):
    s = open_store(tmp_path / "abc.duckdb")
    add_lines(s, [
        ("2025-01-01", "P", "70.00", None, None, None),
        ("2025-01-01", "R", "10.00", None, None, None),
        ("2025-01-01", "Q", "10.00", None, None, None),
        ("2025-01-01", "S", "5.00", None, None, None),
        ("2025-01-01", "T", "5.00", None, None, None),
    ])
    df = figures.account_year_figures(s, 2025).set_index("account")
    # before Q: 0.70 → A; before R: exactly 0.80 → not < 0.80 → B; before T: exactly 0.95 → C
    assert df["abc"].to_dict() == {"P": "A", "Q": "A", "R": "B", "S": "B", "T": "C"}
    changed = figures.account_year_figures(s, 2025, settings={"abc_a_max": 0.81, "abc_b_max": 0.96})
    assert list(changed["abc"]) == ["A", "A", "A", "B", "B"]


def test_yoy_needs_positive_sales_in_exactly_the_previous_year(table):
    assert table.loc["Alpha", "yoy"] == pytest.approx(0.25, abs=1e-15)
    assert table.loc["Gamma", "yoy"] == pytest.approx(4_999_999.99 / 5_000_000 - 1, abs=1e-15)
    assert pd.isna(table.loc["Beta", "yoy"])  # gap year
    assert pd.isna(table.loc["Zeta", "yoy"])  # new account
    assert pd.isna(table.loc["Eps", "yoy"])  # previous year's sales are 0


def test_year_summary_gives_totals_concentration_and_the_previous_year(store):
    summary = figures.year_summary(store, 2025)
    sales = [50_000_000, 20_000_000, 5_000_000, 5_000_000, 4_999_999.99, -200_000]
    assert summary["sales"] == TOTAL_2025
    assert summary["gross_profit"] == PROFIT_2025
    assert summary["margin"] == pytest.approx(PROFIT_2025 / (TOTAL_2025 - 1_000_000), rel=1e-15)
    assert summary["hhi"] == pytest.approx(sum((x / TOTAL_2025) ** 2 for x in sales) * 10_000, rel=1e-12)
    assert summary["top1_share"] == pytest.approx(50_000_000 / TOTAL_2025, rel=1e-15)
    assert summary["top10_share"] == 1.0
    assert (summary["n_accounts"], summary["lines"], summary["lines_without_profit"]) == (6, 9, 1)
    assert summary["prev_sales"] == 51_000_000.0
    assert summary["prev_gross_profit"] == 2_500_000.0


def test_year_summary_of_an_empty_year_has_no_figures(store):
    summary = figures.year_summary(store, 2030)
    assert summary["n_accounts"] == 0 and summary["lines"] == 0
    assert summary["sales"] is None and summary["hhi"] is None and summary["prev_sales"] is None


def test_filters_narrow_the_lines_before_shares_and_ranks(store):
    df = figures.account_year_figures(store, 2025, Filters(region=("South",))).set_index("account")
    assert list(df.index) == ["Alpha", "Delta", "Eps"]
    assert df.loc["Alpha", "sales"] == 20_000_000.0
    assert df.loc["Alpha", "share"] == pytest.approx(20_000_000 / 24_800_000, rel=1e-15)
    assert figures.year_summary(store, 2025, Filters(region=("South",)))["prev_sales"] == 0.0
    assert len(figures.account_year_figures(store, 2025, Filters(region=("West",)))) == 0


def test_available_years_lists_years_with_lines(store):
    assert figures.available_years(store) == [2023, 2024, 2025]


def test_monthly_sales_are_per_first_day_of_month_and_account(store):
    df = figures.monthly_sales(store, 2025)
    assert list(df.columns) == figures.MONTHLY_COLUMNS
    first = df.iloc[0]
    assert (first["month"], first["account"], first["sales"], first["gross_profit"]) == (
        dt.date(2025, 1, 1), "Alpha", 30_000_000.0, 3_000_000.0)
    dec = df[df["month"] == dt.date(2025, 12, 1)]
    assert list(dec["account"]) == ["Delta"] and pd.isna(dec["gross_profit"].iloc[0])
    assert df["sales"].sum() == pytest.approx(TOTAL_2025, abs=1e-6)


def test_fiscal_year_starting_in_april_is_named_by_its_first_calendar_year(tmp_path):
    s = open_store(tmp_path / "fy.duckdb")
    add_lines(s, [
        ("2025-03-31", "X", "1.00", None, None, None),
        ("2025-04-01", "X", "10.00", None, None, None),
        ("2026-03-31", "X", "100.00", None, None, None),
        ("2026-04-01", "X", "1000.00", None, None, None),
    ])
    save_settings(s, {"fiscal_start_month": 4})
    assert figures.available_years(s) == [2024, 2025, 2026]
    row = figures.account_year_figures(s, 2025).iloc[0]
    assert (row["sales"], row["yoy"]) == (110.0, 109.0)
    months = figures.monthly_sales(s, 2025)["month"].tolist()
    assert months == [dt.date(2025, 4, 1), dt.date(2026, 3, 1)]


def test_an_empty_store_gives_empty_frames(tmp_path):
    s = open_store(tmp_path / "e.duckdb")
    assert figures.available_years(s) == []
    assert list(figures.account_year_figures(s, 2025).columns) == figures.ACCOUNT_YEAR_COLUMNS + figures.POLICY_COLUMNS
    assert len(figures.monthly_sales(s, 2025)) == 0


def test_a_new_import_is_seen_by_the_next_call_and_from_another_thread(store):
    assert len(figures.account_year_figures(store, 2026)) == 0
    add_lines(store, [("2026-01-01", "New", "1.00", None, None, None)])
    assert list(figures.account_year_figures(store, 2026)["account"]) == ["New"]
    seen = []
    worker = threading.Thread(target=lambda: seen.append(figures.available_years(store)))
    worker.start()
    worker.join()
    assert seen == [[2023, 2024, 2025, 2026]]


def test_an_unfinished_year_is_compared_with_the_same_days_of_last_year(tmp_path):
    from kam_core.sales.periods import period_of

    store = open_store(tmp_path / "ytd.duckdb")
    rows = [("2024-01-15", "A", 100, 60), ("2024-02-29", "A", 10, None), ("2024-03-01", "A", 1000, 0),
            ("2025-01-10", "A", 300, 200), ("2025-02-28", "B", 50, 50)]
    add_sales(store, ["date", "account", "amount", "cost", "profit"],
              [(d, acc, amount, cost, None if cost is None else amount - cost) for d, acc, amount, cost in rows])
    period = period_of(store, 2025)
    # 2025 runs to 28 Feb, so 2024 counts to 28 Feb: only the 15 Jan line (29 Feb and 1 Mar are later)
    assert period.unfinished and period.through.isoformat() == "2025-02-28"
    assert period.prev_through.isoformat() == "2024-02-28"
    got = figures.year_summary(store, 2025)
    assert got["prev_sales"] == 100 and got["prev_gross_profit"] == 40 and got["prev_margin"] == 0.4
    assert figures.account_year_figures(store, 2025).set_index("account").loc["A", "yoy"] == 2.0  # 300 / 100 − 1
    # 2024 is not the latest year: it is complete (through 31 December) and compared with 2023 (no lines)
    earlier = period_of(store, 2024)
    assert not earlier.unfinished and earlier.through.isoformat() == "2024-12-31"
    assert figures.year_summary(store, 2024)["prev_sales"] is None
