"""The seasonal projection of an unfinished year and its backtest, on literal and generated data worked out by hand."""
from __future__ import annotations

import calendar
import datetime as dt

import pytest

from kam_core.sales import projection
from kam_core.store import open_store
from sales_lines import add_sales
from test_metrics import LINES, add_lines, store  # noqa: F401  (the hand-worked 2023–2025 store)


def test_months_covered_counts_whole_months_and_the_days_of_the_last():
    assert projection.months_covered(dt.date(2025, 1, 1), dt.date(2025, 3, 31)) == 3.0
    assert projection.months_covered(dt.date(2025, 1, 1), dt.date(2025, 2, 14)) == 1.5
    assert projection.months_covered(dt.date(2025, 4, 1), dt.date(2026, 1, 31)) == 10.0


def test_without_history_the_projection_is_the_plain_run_rate(tmp_path):
    s = open_store(tmp_path / "rr.duckdb")
    add_lines(s, [
        ("2026-01-05", "A", "1500000.00", None, None),
        ("2026-06-30", "A", "1500000.00", None, None),  # 6.0 months covered
        ("2026-03-01", "B", "12000000.00", None, None),
    ])
    df = projection.seasonal_projection(s, 2026).set_index("account")
    assert df.loc["A", "ytd_sales"] == 3_000_000.0 and df.loc["A", "months_covered"] == 6.0
    assert (df.loc["A", "projected"], df.loc["A", "projected_naive"]) == (6_000_000.0, 6_000_000.0)
    assert (df.loc["A", "method"], df.loc["A", "projected_tier"]) == ("annualised", "ordinary")
    assert (df.loc["B", "projected"], df.loc["B", "projected_tier"]) == (24_000_000.0, "partner")


# 2025 is the history year (the data covers it from 1 January); 2026 runs to 30 June.
# A sold 300 lines in 2025: 100 of 3 on 1 January (300 by 30 June) and 200 of 3.5 on 1 September
# (700): its own share through 30 June is 300 / 1,000 = 0.3, and 300 lines of history give its
# own profile the weight 300 / (300 + 100) = 0.75. C sold 2 lines (100 on 1 March, 100 on
# 1 September): own share 0.5 on the weight 2 / 102. The company: (300 + 100) / (1,000 + 200) = 1/3.
# A: share 0.75 × 0.3 + 0.25 × 1/3 = 3.7 / 12 → 330 × 12 / 3.7 = 1,070.27 (naive: 330 × 2 = 660), own.
# C: share (2 × 0.5 + 100 / 3) / 102 = 34.333… / 102 → 50 × 102 / 34.333… = 148.54, the company's mostly.
# B: no 2025 sales: the company's share 1/3 → 100 × 3 = 300.
TWO_YEARS = ([("2025-01-01", "A", 3)] * 100 + [("2025-09-01", "A", 3.5)] * 200
             + [("2025-03-01", "C", 100), ("2025-09-01", "C", 100),
                ("2026-02-01", "A", 330), ("2026-04-01", "C", 50), ("2026-06-30", "B", 100)])


def test_the_seasonal_projection_uses_the_accounts_own_profile_then_the_companys(tmp_path):
    s = open_store(tmp_path / "two.duckdb")
    add_sales(s, ["date", "account", "amount"], TWO_YEARS)
    df = projection.seasonal_projection(s, 2026).set_index("account")
    assert df.loc["A", "method"] == "own" and df.loc["A", "projected"] == pytest.approx(330 * 12 / 3.7)
    assert df.loc["A", "projected_naive"] == pytest.approx(660)
    assert df.loc["C", "method"] == "company"
    assert df.loc["C", "projected"] == pytest.approx(50 * 102 / (1 + 100 / 3))
    assert df.loc["B", "method"] == "company" and df.loc["B", "projected"] == pytest.approx(300)


def test_a_finished_year_or_an_earlier_one_has_no_projection(store):
    assert len(projection.seasonal_projection(store, 2025)) == 0       # the lines reach 31 December
    add_lines(store, [("2026-01-31", "Alpha", "1000000.00", None, None)])
    assert len(projection.seasonal_projection(store, 2025)) == 0       # not the latest year
    # history: 2024 and 2025 (2023 starts in June). Alpha through 31 January: 2024 none of 40M,
    # 2025 30M of 50M → own share 30 / 90 = 1/3, from 3 lines: weight 3 / 103. The company through
    # 31 January: Gamma's 5M (2024) and Alpha's 30M (2025) of the years' positive totals
    # 51M (2024: 40M + 5M + 6M) and 84,999,999.99 (2025 without Eps's −0.2M).
    # Naive: 1M × 12 = 12M.
    company = 35_000_000 / (51_000_000 + 84_999_999.99)
    share = 3 / 103 * (1 / 3) + 100 / 103 * company
    alpha = projection.seasonal_projection(store, 2026).set_index("account").loc["Alpha"]
    assert (alpha["method"], alpha["projected_naive"]) == ("company", 12_000_000.0)
    assert alpha["projected"] == pytest.approx(1_000_000 / share, rel=1e-12)


WEIGHTS = [4, 3, 5, 5, 6, 12, 6, 5, 6, 8, 20, 20]   # a retailer's year: 618 and Double 11 / December peaks


def test_the_backtest_finds_the_seasonal_method_near_exact_and_the_naive_one_biased(tmp_path):
    s = open_store(tmp_path / "season.duckdb")
    rows = []
    for year in (2023, 2024, 2025):
        for i, base in enumerate((10, 25, 60)):
            for m, w in enumerate(WEIGHTS, start=1):
                last = calendar.monthrange(year, m)[1]          # month ends: 2025 is complete
                rows.append((dt.date(year, m, last), f"acct{i}", base * w))
    add_sales(s, ["date", "account", "amount"], rows)
    bt = projection.backtest(s)
    pooled = bt[bt["year"].isna()].set_index("months")
    later = bt[bt["year"] >= 2024]
    assert (later["seasonal_mape"] < 1e-9).all()                        # the profile repeats exactly
    # naive from 3 months: (4 + 3 + 5) × 4 = 48 of 100 → |48 − 100| / 100 = 52 % for every account
    assert bt[(bt["year"] == 2025) & (bt["months"] == 3)]["naive_mape"].iloc[0] == pytest.approx(0.52)
    # 6 months: 35 × 2 = 70 → 30 %; 9 months: 52 × 4 / 3 = 69.33 → 30.67 %
    assert bt[(bt["year"] == 2025) & (bt["months"] == 6)]["naive_mape"].iloc[0] == pytest.approx(0.30)
    assert bt[(bt["year"] == 2025) & (bt["months"] == 9)]["naive_mape"].iloc[0] == pytest.approx(0.3066667, abs=1e-6)
    for h in projection.HORIZONS:
        assert pooled.loc[h, "seasonal_mape"] < pooled.loc[h, "naive_mape"]


def test_the_backtest_errors_show_on_the_tiers_page_and_in_the_reports_method_sheet(tmp_path, monkeypatch):
    import io

    import openpyxl
    from streamlit.testing.v1 import AppTest

    from kam_core.exports import reports
    from kam_core.locales.formatting import format_pct
    from kam_core.permissions import SYSTEM

    path = tmp_path / "shown.duckdb"
    s = open_store(path)
    rows = [(dt.date(year, m, calendar.monthrange(year, m)[1]), "acct", 10 * w)
            for year in (2024, 2025) for m, w in enumerate(WEIGHTS, start=1)]
    add_sales(s, ["date", "account", "amount"], rows + [(dt.date(2026, 1, 31), "acct", 40)])
    # 2024 has no history: both methods are the run rate (3 months: 52 % off; 6: 30 %; 9: 30.67 %).
    # 2025 has 2024's identical profile: the seasonal method is exact. Pooled over the two years,
    # seasonal = half of the run rate's error: 26 %, 15 %, 15.33 %.
    expected = {3: (0.26, 0.52), 6: (0.15, 0.30), 9: (0.46 / 3, 0.92 / 3)}
    wb = openpyxl.load_workbook(io.BytesIO(reports.build_tier_report(s, 2026, lang="zh", user=SYSTEM)))
    method = {r[0]: r[1] for r in wb["方法说明"].iter_rows(values_only=True) if r[0]}
    for months, (seasonal, naive) in expected.items():
        assert method[f"季节性预测回测误差（前 {months} 个月推全年）"] == pytest.approx(seasonal, abs=1e-9)
        assert method[f"简单年化回测误差（前 {months} 个月推全年）"] == pytest.approx(naive, abs=1e-9)
    s.close()

    monkeypatch.setenv("KAM_DB", str(path))
    monkeypatch.setenv("KAM_AUTH", "off")
    monkeypatch.setenv("KAM_AUTO_DEMO", "0")
    at = AppTest.from_file("../dashboard.py", default_timeout=60).run()
    at.switch_page("app_pages/tiers.py").run()
    assert not at.exception
    note = next(c.value for c in at.caption if c.value.startswith("回测"))
    for months, (seasonal, naive) in expected.items():
        assert f"前 {months} 个月推全年：季节法 {format_pct(seasonal)}，简单年化 {format_pct(naive)}" in note
