"""The sales package: company-wide tiers under a filter, one period rule everywhere, rollups equal to the lines.

The numbers are worked out by hand in the comments. The pages are read through
AppTest, the report through openpyxl and the command line through its own
``main``, so a figure that one place computed differently would fail here.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from kam_core import cli, dossier

from kam_core.exports import reports
from kam_core.imports import aliases as import_aliases
from kam_core.imports.pipeline import import_file, undo_import
from kam_core.permissions import SYSTEM
from kam_core.sales import figures, rollup, tiers
from kam_core.sales.periods import Filters, period_of
from kam_core.store import open_store
from sales_lines import add_sales

# The rollups and figures against the lines, with DuckDB's threads as in production (not the suite's one).
pytestmark = pytest.mark.usefixtures("duckdb_default_threads")

ROOT = Path(__file__).resolve().parents[1]

# 康荣 sells 60,000,000 in 2025: 55M in 华南 and 5M in 华东, a strategic key account company-wide.
# 百华 sells 8,000,000, all in 华东: ordinary. Under 华东, 康荣 shows 5M of sales and ranks second.
REGIONS_CSV = """日期,门店,区域,供应商,品类,销售额,毛利
2025-02-01,广州一店,华南,康荣,日化,55000000.00,5500000.00
2025-03-01,上海一店,华东,康荣,日化,5000000.00,400000.00
2025-04-01,上海一店,华东,百华,饮料,8000000.00,800000.00
2025-12-31,上海一店,华东,百华,饮料,0.01,
""".encode("utf-8")


@pytest.fixture
def regions_db(tmp_path):
    path = tmp_path / "regions.duckdb"
    s = open_store(path)
    import_file(s, REGIONS_CSV, "regions.csv")
    s.close()
    return path


def test_an_account_strategic_company_wide_keeps_its_tier_under_a_region_where_it_is_small(regions_db):
    s = open_store(regions_db)
    east = tiers.assign_tiers(s, 2025, filters=Filters(region=("华东",))).set_index("account")
    assert east.loc["康荣", "sales"] == 5_000_000.0                # the region's own sales
    assert east.loc["康荣", "share"] == pytest.approx(5_000_000 / 13_000_000.01, rel=1e-12)
    assert list(east.index) == ["百华", "康荣"]                     # ranked within the region
    assert east.loc["康荣", "tier"] == "strategic"                 # graded on 60M, not on 5M
    assert east.loc["康荣", "basis_amount"] == 60_000_000.0
    assert pd_isna(east.loc["康荣", "to_next_tier"])
    assert east.loc["百华", "tier"] == "ordinary" and east.loc["百华", "to_next_tier"] == pytest.approx(11_999_999.99)
    counts = {r["tier"]: r["accounts"] for r in tiers.tier_counts(east.reset_index())}
    assert counts == {"strategic": 1, "partner": 0, "ordinary": 1, "none": 0}
    crit = tiers.criteria_checklist(s, 2025, filters=Filters(region=("华东",)), settings={"criteria_top_n": 1})
    assert crit.set_index("account").loc["康荣", "c2"] == "pass"   # rank 1 in the company, 2 in 华东
    s.close()


def test_the_tiers_page_under_a_region_counts_the_company_wide_tiers_and_says_so(regions_db, monkeypatch):
    monkeypatch.setenv("KAM_DB", str(regions_db))
    monkeypatch.setenv("KAM_AUTH", "off")
    monkeypatch.setenv("KAM_AUTO_DEMO", "0")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.query_params["region"] = "华东"
    at.run()
    at.switch_page("app_pages/tiers.py").run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["战略性大客户"] == "1" and shown["普通大客户"] == "1"
    captions = [c.value for c in at.caption]
    assert any("按全公司年度金额评定" in c and "仅含所选区域" in c for c in captions)


def pd_isna(v) -> bool:
    return v is None or v != v


# -- one period rule ------------------------------------------------------------------------------
# A: 2025 H1 = 100 + 100 = 200, the rest of 2025 = 1,800; 2026 (lines to 30 June) = 110 + 110 = 220.
#    Like for like: 220 / 200 − 1 = +10 %. Against the whole of 2025 it would read 220 / 2,000 − 1 = −89 %.
# B: 2025 H1 = 50 (+ 150 on 1 July, after the cut); 2026 = 40 → 40 / 50 − 1 = −20 %.
H1_LINES = [
    ("2025-01-10", "A", "华东", 100), ("2025-06-30", "A", "华东", 100), ("2025-07-01", "A", "华东", 800),
    ("2025-12-20", "A", "华东", 1000), ("2025-03-03", "B", "华南", 50), ("2025-07-01", "B", "华南", 150),
    ("2026-01-10", "A", "华东", 110), ("2026-06-30", "A", "华东", 110), ("2026-06-30", "B", "华南", 40),
]


@pytest.fixture
def h1_db(tmp_path):
    path = tmp_path / "h1.duckdb"
    s = open_store(path)
    add_sales(s, ["date", "account", "region", "amount"], H1_LINES)
    s.close()
    return path


def test_an_unfinished_year_counts_through_its_last_line_and_compares_the_same_days(h1_db):
    s = open_store(h1_db)
    p = period_of(s, 2026)
    assert p.unfinished and (p.through, p.prev_through) == (dt.date(2026, 6, 30), dt.date(2025, 6, 30))
    table = figures.account_year_figures(s, 2026).set_index("account")
    assert table.loc["A", "yoy"] == pytest.approx(0.10, abs=1e-12)
    assert table.loc["B", "yoy"] == pytest.approx(-0.20, abs=1e-12)
    summary = figures.year_summary(s, 2026)
    assert (summary["sales"], summary["prev_sales"]) == (260.0, 250.0)
    assert not period_of(s, 2025).unfinished                       # an earlier year is complete
    s.close()


def test_the_same_days_rule_holds_under_a_filter_where_the_cut_falls_inside_a_month(tmp_path):
    s = open_store(tmp_path / "mid.duckdb")
    # lines to 15 March 2026 (華东 only); 2025 is cut at 15 March: 10 on 15 March counts, 1,000 on 16 March not
    add_sales(s, ["date", "account", "region", "amount"], [
        ("2025-02-01", "A", "华东", 90), ("2025-03-15", "A", "华东", 10), ("2025-03-16", "A", "华东", 1000),
        ("2025-03-15", "A", "华南", 7), ("2026-03-15", "A", "华东", 150), ("2026-03-01", "A", "华南", 1)])
    east = figures.account_year_figures(s, 2026, Filters(region=("华东",))).set_index("account")
    assert east.loc["A", "sales"] == 150.0 and east.loc["A", "yoy"] == pytest.approx(150 / 100 - 1, abs=1e-12)
    whole = figures.account_year_figures(s, 2026).set_index("account")
    assert whole.loc["A", "yoy"] == pytest.approx(151 / 107 - 1, abs=1e-12)
    s.close()


def test_an_unfinished_leap_year_cut_on_29_february_compares_through_28_february(tmp_path):
    s = open_store(tmp_path / "leap.duckdb")
    # lines to 29 Feb 2028; 2027 has no 29 February, so its window ends on 28 February:
    # 40 on 28 Feb 2027 counts, 500 on 1 Mar 2027 does not → 2028's 120 against 2027's 100
    add_sales(s, ["date", "account", "amount"], [
        ("2027-01-10", "A", 60), ("2027-02-28", "A", 40), ("2027-03-01", "A", 500),
        ("2028-01-10", "A", 20), ("2028-02-29", "A", 100)])
    p = period_of(s, 2028)
    assert p.unfinished and (p.through, p.prev_through) == (dt.date(2028, 2, 29), dt.date(2027, 2, 28))
    table = figures.account_year_figures(s, 2028).set_index("account")
    assert table.loc["A", "sales"] == 120.0
    assert table.loc["A", "yoy"] == pytest.approx(120 / 100 - 1, abs=1e-12)
    s.close()


def test_every_page_the_report_and_the_csv_show_the_same_half_year_growth(h1_db, monkeypatch):
    # the command line's CSV
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--db", str(h1_db), "tiers", "--year", "2026"]) == 0
    rows = {r["account"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert (rows["A"]["yoy"], rows["B"]["yoy"]) == ("0.100000", "-0.200000")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--db", str(h1_db), "tiers", "--year", "2026", "--region", "华东"]) == 0
    assert [r["account"] for r in csv.DictReader(io.StringIO(out.getvalue()))] == ["A"]

    # the tier report's tier sheet: yoy is column 12 (a ratio cell)
    s = open_store(h1_db)
    wb = openpyxl.load_workbook(io.BytesIO(reports.build_tier_report(s, 2026, lang="zh", user=SYSTEM)))
    yoy = {r[0]: r[11] for r in wb["非大客户"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert yoy["A"] == pytest.approx(0.10) and yoy["B"] == pytest.approx(-0.20)
    method = {r[0]: r[1] for r in wb["方法说明"].iter_rows(values_only=True) if r[0]}
    assert method["统计截至"] == dt.datetime(2026, 6, 30) and method["对比期间截至"] == dt.datetime(2025, 6, 30)
    s.close()

    # the pages
    monkeypatch.setenv("KAM_DB", str(h1_db))
    monkeypatch.setenv("KAM_AUTH", "off")
    monkeypatch.setenv("KAM_AUTO_DEMO", "0")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    assert {m.label: m.delta for m in at.metric}["销售额"] == "+4.0%"          # 260 / 250 − 1
    assert any("2026-01-01 至 2026-06-30" in c.value and "2025-01-01 至 2025-06-30" in c.value for c in at.caption)
    at.switch_page("app_pages/rankings.py").run()
    ranking = at.dataframe[0].value.set_index("account")
    assert ranking.loc["A", "yoy"] == pytest.approx(10.0) and ranking.loc["B", "yoy"] == pytest.approx(-20.0)  # in %
    at.query_params["account"] = "A"
    at.switch_page("app_pages/dossier.py").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["同比"] == "+10.0%"


# -- rollups ------------------------------------------------------------------------------------
def test_the_rollups_equal_the_lines_after_imports_an_undo_and_an_alias_merge(tmp_path):
    s = open_store(tmp_path / "r.duckdb")
    first = import_file(s, REGIONS_CSV, "regions.csv")[0]
    second = import_file(s, ("日期,门店,区域,供应商,品类,销售额,成本\n"
                             "2025-05-01,上海二店,华东,康荣有限公司,日化,100.00,60.00\n"
                             "2025-05-02,上海二店,华东,百华,饮料,-5.50,\n").encode("utf-8"), "more.csv")[0]
    assert rollup.differences(s) == []
    before = figures.year_summary(s, 2025)["sales"]
    assert before == pytest.approx(68_000_094.51)
    undo_import(s, second)
    assert rollup.differences(s) == []
    assert figures.year_summary(s, 2025)["sales"] == pytest.approx(68_000_000.01)
    aliases = dossier.list_aliases(s, SYSTEM)
    key = aliases[aliases["alias"] == "百华"]["alias_key"].iloc[0]
    assert import_aliases.merge_alias(s, SYSTEM, key, "康荣") == 2
    assert rollup.differences(s) == []
    assert list(figures.account_year_figures(s, 2025)["account"]) == ["康荣"]
    assert first == 1
    s.close()


def test_a_rollup_out_of_step_with_the_lines_is_found_and_rebuilt(tmp_path):
    s = open_store(tmp_path / "bad.duckdb")
    import_file(s, REGIONS_CSV, "regions.csv")
    s.cursor().execute("update sales_monthly set amount = amount + 1 where account = '百华'")
    assert {(d[0], d[-1]) for d in rollup.differences(s)} == {("sales_monthly", "missing"), ("sales_monthly", "extra")}
    assert rollup.rebuild(s) > 0
    assert rollup.differences(s) == []
    s.close()


def test_sums_no_rollup_can_hold_refuse_the_file_and_write_nothing(tmp_path):
    from kam_core.imports.errors import ImportRejected

    s = open_store(tmp_path / "big.duckdb")
    # each line fits DECIMAL(18,4); ten of them in one account's month do not (≥ 10^14)
    text = "日期,供应商,销售额\n" + "".join(f"2025-03-0{d},巨头,99999999999999.00\n" for d in range(1, 10))
    with pytest.raises(ImportRejected) as err:
        import_file(s, text.encode("utf-8"), "big.csv")
    assert err.value.code == "sums_out_of_range"
    assert s.cursor().execute("select count(*) from imports").fetchone()[0] == 0
    assert rollup.differences(s) == [] and figures.available_years(s) == []
    s.close()
