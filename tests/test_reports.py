"""Exports: the tier report, the data-sharing pack, the dossier export, CSV and the safety rules.

Every workbook is opened again with openpyxl (an independent reader) and
checked against hand-worked numbers or against ``tiers.tier_csv``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from kam_core.exports import reports, xlsx
from kam_core.imports.pipeline import undo_import
from kam_core.permissions import PermissionDenied, User
from sales_lines import add_sales
from kam_core.store import open_store

from kam_core.sales import tiers  # noqa: E402

FORMULA_NAME = '=HYPERLINK("http://x","y")'
D = dt.date


def load(store, file_name: str, lines: list[tuple], *, status: str = "loaded") -> int:
    """One import batch of (date, account, amount, profit, store, region, sku, product, qty) lines."""
    cur = store.cursor()
    import_id = cur.execute("select nextval('import_id_seq')").fetchone()[0]
    dates = [line[0] for line in lines]
    total = sum(line[2] for line in lines)
    cur.execute(
        "insert into imports (id, file_name, sha256, sheets, rows_loaded, amount_total, date_min, date_max, status)"
        " values (?, ?, ?, '[]', ?, ?, ?, ?, ?)",
        [import_id, file_name, f"{import_id:064x}", len(lines), total, min(dates), max(dates), status],
    )
    add_sales(store, ["source_row", "date", "account", "account_raw", "store", "region", "sku", "product", "qty",
                      "amount", "cost", "profit"],
              [(n, date, account, account, shop, region, sku, product, qty, amount,
                None if profit is None else amount - profit, profit)
               for n, (date, account, amount, profit, shop, region, sku, product, qty) in enumerate(lines, start=2)],
              import_id=import_id)
    return import_id


def line(date, account, amount, profit=None, shop="一店", region="华东", sku="S1", product="商品一", qty=1):
    return (date, account, amount, profit, shop, region, sku, product, qty)


@pytest.fixture
def store():
    """2025: Alpha 甲 60M (strategic), Beta 25M (partner), the formula name 5M (ordinary),
    丁公司 4.6M (none, 0.4M short of ordinary: near the boundary). 2024: Alpha 40M, Beta 30M, Gone 6M."""
    s = open_store(":memory:")
    load(s, "y2024.xlsx", [
        line(D(2024, 3, 1), "Alpha 甲", 40_000_000, 4_000_000),
        line(D(2024, 3, 1), "Beta", 30_000_000, 3_000_000),
        line(D(2024, 5, 1), "Gone", 6_000_000, 600_000),
    ])
    load(s, "销售2025.xlsx", [
        line(D(2025, 1, 10), "Alpha 甲", 60_000_000, 6_000_000),
        line(D(2025, 2, 10), "Beta", 25_000_000, 2_000_000),
        line(D(2025, 3, 10), FORMULA_NAME, 5_000_000, 500_000),
        line(D(2025, 4, 10), "丁公司", 4_600_000),
    ])
    undo_import(s, load(s, "undone2025.xlsx", [line(D(2025, 6, 1), "Nobody", 1)]))
    s.cursor().execute("insert into accounts (name, owner) values ('Alpha 甲', 'wang')")
    yield s
    s.close()


def open_xlsx(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def sheet_rows(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


# -- tier report --------------------------------------------------------------------
def test_tier_report_has_summary_tier_top_migration_boundary_and_method_sheets_in_both_languages(store):
    zh = open_xlsx(reports.build_tier_report(store, 2025, lang="zh"))
    en = open_xlsx(reports.build_tier_report(store, 2025, lang="en"))
    assert zh.sheetnames == ["汇总", "战略性大客户", "伙伴式大客户", "普通大客户", "非大客户",
                             "销售前十", "毛利前十", "级别变动", "临界客户", "需要关注", "方法说明"]
    assert en.sheetnames == ["Summary", "Strategic key account", "Partner key account", "Ordinary key account",
                             "Not a key account", "Top 10 by sales", "Top 10 by profit", "Migration",
                             "Near boundary", "Needs attention", "Method"]
    assert zh["汇总"]["A1"].value == "2025 年度大客户分级报告"
    assert en.properties.title == "Key account tier report 2025"


def test_the_tier_report_lists_what_needs_attention_with_owner_reason_and_figure(store):
    # 2025 runs through 10 April: Beta 25M against 30M on the same days of 2024 is −16.7 %.
    # Alpha 甲's dossier (owner wang) holds nothing yet: completeness 0 %, no negotiation.
    wb = open_xlsx(reports.build_tier_report(store, 2025, lang="en", today=D(2025, 6, 15)))
    rows = sheet_rows(wb["Needs attention"])
    assert rows[0] == ["Account", "Key account manager", "Reason", "Figure"]
    assert ["Beta", None, "Like-for-like sales −16.7% on a year earlier.",
            "now ¥25,000,000.00, same days last year ¥30,000,000.00"] in rows
    assert [r[:3] for r in rows if r[0] == "Alpha 甲"] == [
        ["Alpha 甲", "wang", "The dossier is less than 50% complete."],
        ["Alpha 甲", "wang", "The dossier has no negotiation record yet."]]
    assert all(not str(r[0]).startswith("=") for r in rows)        # an account named like a formula stays text


EN_TIER_CODES = {"Strategic key account": "strategic", "Partner key account": "partner",
                 "Ordinary key account": "ordinary", "Not a key account": "none"}


def _csv_text(value, column) -> str:
    """A workbook cell written the way tier_csv writes that column."""
    if value is None:
        return ""
    if column in ("sales", "gross_profit", "to_next_tier"):
        return f"{value:.2f}"
    if column in ("margin", "share", "profit_share", "cum_share", "yoy"):
        return f"{value:.6f}"
    if column in ("year", "rank", "profit_rank"):
        return str(int(value))
    if column == "tier":  # the workbook says the policy's words where the CSV keeps the codes
        return EN_TIER_CODES[value]
    return value.removeprefix("'") if value.startswith("'=") else value


def test_tier_sheets_hold_exactly_the_values_of_tier_csv(store):
    wb = open_xlsx(reports.build_tier_report(store, 2025, lang="en"))
    expected = list(csv.reader(io.StringIO(tiers.tier_csv(tiers.assign_tiers(store, 2025)))))
    header, body = expected[0], expected[1:]
    got = []
    for name in ("Strategic key account", "Partner key account", "Ordinary key account", "Not a key account"):
        for row in sheet_rows(wb[name])[1:]:
            got.append([_csv_text(v, c) for v, c in zip(row[: len(header)], header)])
    # both are formula-safe: the sheet holds the name as a text cell, the CSV with a leading '
    body = [[r[0].removeprefix("'")] + r[1:] for r in body]
    assert sorted(got) == sorted(body)
    assert len(got) == 4
    # the headers are the localised tier table columns, then owner and the six criteria
    first = sheet_rows(wb["Strategic key account"])[0]
    assert first[:3] == ["Account", "Year", "Sales"] and first[13] == "To next tier"
    assert first[14] == "Key account manager" and len(first) == 14 + 1 + 6


def test_tier_sheets_show_owner_and_criteria_and_keep_the_formula_name_as_quoted_text(store):
    wb = open_xlsx(reports.build_tier_report(store, 2025, lang="en"))
    strategic = sheet_rows(wb["Strategic key account"])[1]
    assert strategic[0] == "Alpha 甲" and strategic[12] == "Strategic key account" and strategic[13] is None
    assert strategic[14] == "wang"
    # c2 rank ≤ 10 met; c3 share 60/94.6 and profit share 6/8.5 both ≥ 1 %; c1/c4–c6 not scored
    assert strategic[15:] == ["Not scored", "Met", "Met", "Not scored", "Not scored", "Not scored"]
    cell = wb["Ordinary key account"]["A2"]
    assert cell.value == "'" + FORMULA_NAME and cell.data_type == "s"


def test_no_cell_of_any_export_is_written_as_a_formula(store):
    for data in (reports.build_tier_report(store, 2025), reports.build_share_pack(store, FORMULA_NAME, 2025)):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
            assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)


def test_tier_sheets_have_number_formats_frozen_header_autofilter_and_cjk_widths(store):
    wb = open_xlsx(reports.build_tier_report(store, 2025, lang="zh"))
    ws = wb["战略性大客户"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:U2"
    assert ws["C2"].value == 60_000_000 and ws["C2"].number_format == '"¥"#,##0.00'   # sales
    assert ws["F2"].number_format == "0.00%"                                          # share
    assert ws["H2"].value == 1 and ws["H2"].number_format == "#,##0"                  # rank
    assert ws["E2"].value == pytest.approx(0.1)                                       # margin 6M / 60M
    # "分级依据金额"-style headers are CJK: each character counts as two columns
    assert reports.display_width("大客户经理") == 10
    assert ws.column_dimensions["O"].width >= 10 + 2


def test_summary_has_the_kpis_tier_counts_and_a_native_chart(store):
    data = reports.build_tier_report(store, 2025, lang="en")
    ws = open_xlsx(data)["Summary"]
    kpi = {r[0]: r[1] for r in sheet_rows(ws)[2:11]}
    total = 94_600_000
    assert kpi["Sales"] == total
    assert kpi["Gross profit"] == 8_500_000
    assert kpi["Concentration (HHI)"] == pytest.approx((60**2 + 25**2 + 5**2 + 4.6**2) / 94.6**2 * 10_000)
    assert kpi["Top-10 share"] == pytest.approx(1.0)
    assert kpi["Accounts"] == 4
    tiers_rows = {r[0]: tuple(r[1:4]) for r in sheet_rows(ws)[13:17]}
    assert tiers_rows["Strategic key account"] == (1, 60_000_000, pytest.approx(60 / 94.6))
    assert tiers_rows["Not a key account"] == (1, 4_600_000, pytest.approx(4.6 / 94.6))
    assert ws["B3"].number_format == '"¥"#,##0.00'
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        chart = z.read("xl/charts/chart1.xml").decode()
    assert "<c:barChart>" in chart and "$A$14:$A$17" in chart and "$C$14:$C$17" in chart


def test_top_migration_and_near_boundary_sheets(store):
    wb = open_xlsx(reports.build_tier_report(store, 2025, lang="en"))
    top = sheet_rows(wb["Top 10 by sales"])
    assert [r[1] for r in top[1:]] == ["Alpha 甲", "Beta", "'" + FORMULA_NAME, "丁公司"]
    by_profit = sheet_rows(wb["Top 10 by profit"])
    assert by_profit[0][:3] == ["Profit rank", "Account", "Gross profit"]
    assert [r[:3] for r in by_profit[1:]] == [  # 丁公司 has no known profit, so no profit rank
        [1, "Alpha 甲", 6_000_000], [2, "Beta", 2_000_000], [3, "'" + FORMULA_NAME, 500_000]]
    moves = {r[0]: (r[1], r[2], r[3]) for r in sheet_rows(wb["Migration"])[1:]}
    # 2025's lines end on 10 April, so 2024 is counted to 10 April too: Gone sold only in May
    # 2024, so over the same days it neither sold then nor now and is not "lost"
    assert moves == {
        "Alpha 甲": ("Partner key account", "Strategic key account", "Up"),
        "Beta": ("Partner key account", "Partner key account", "Same"),
        "'" + FORMULA_NAME: (None, "Ordinary key account", "New"), "丁公司": (None, "Not a key account", "New"),
    }
    near = sheet_rows(wb["Near boundary"])
    assert near[1][:6] == ["丁公司", 4, "Not a key account", 4_600_000, 5_000_000, 400_000]


def test_method_sheet_lists_thresholds_and_only_the_loaded_imports_of_the_year(store):
    ws = open_xlsx(reports.build_tier_report(store, 2025, lang="en"))["Method"]
    rows = sheet_rows(ws)
    items = {r[0]: r[1] for r in rows if r[0] and r[1] is not None}
    assert items["Year"] == 2025 and items["Fiscal year start month"] == 1
    assert items["Period start"] == dt.datetime(2025, 1, 1) and items["Period end (exclusive)"] == dt.datetime(2026, 1, 1)
    assert items["Strategic from (CNY)"] == 50_000_000 and items["Tier basis"] == "Sales"
    assert items["Class A: cumulative share before below"] == 0.8
    assert isinstance(items["Generated at"], dt.datetime)
    header_at = next(i for i, r in enumerate(rows) if r[0] == "ID")
    assert rows[header_at][:5] == ["ID", "File name", "SHA-256", "Rows loaded", "Amount total"]
    imports = [r[:5] for r in rows[header_at + 1:]]
    assert imports == [[2, "销售2025.xlsx", f"{2:064x}", 4, 94_600_000]]  # not 2024's, not the undone one
    assert ws.freeze_panes is None


def test_tier_report_requires_a_known_role(store):
    with pytest.raises(PermissionDenied):
        reports.build_tier_report(store, 2025, user=User("intruder", "guest"))


# -- splitting past the row limit ---------------------------------------------------------
def test_a_table_longer_than_the_sheet_limit_continues_on_numbered_sheets(monkeypatch):
    monkeypatch.setattr(xlsx, "EXCEL_MAX_ROWS", 4)  # header + 3 rows per sheet
    df = pd.DataFrame({"account": [f"a{i}" for i in range(7)], "sales": [float(i) for i in range(7)]})
    wb = open_xlsx(reports.table_to_xlsx_bytes(df, "Data", lang="en"))
    assert wb.sheetnames == ["Data", "Data (2)", "Data (3)"]
    got = [sheet_rows(wb[n]) for n in wb.sheetnames]
    assert [rows[0] for rows in got] == [["Account", "Sales"]] * 3
    assert [r[0] for rows in got for r in rows[1:]] == [f"a{i}" for i in range(7)]
    assert wb["Data (3)"].freeze_panes == "A2"


# -- CSV ---------------------------------------------------------------------------
def test_csv_has_a_bom_round_trips_chinese_and_quotes_formula_text_only():
    df = pd.DataFrame({
        "account": ["华润万家", "=1+2", "-x", "@SUM(A1)", "\tcmd", "plain"],
        "sales": [1234.5, -5.0, 0.0, 1.0, 2.0, 3.0],
    })
    data = reports.table_to_csv_bytes(df)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back["account"].tolist() == ["华润万家", "'=1+2", "'-x", "'@SUM(A1)", "'\tcmd", "plain"]
    assert back["sales"].tolist() == [1234.5, -5.0, 0.0, 1.0, 2.0, 3.0]
    assert data.decode("utf-8-sig").splitlines()[2] == "'=1+2,-5.0"


@pytest.mark.parametrize("value, expected", [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("a=b", "a=b"), ("", ""), (-1, -1), (2.5, 2.5), (None, None),
])
def test_safe_text_prefixes_only_text_that_starts_like_a_formula(value, expected):
    assert reports.safe_text(value) == expected


def test_download_names_are_ascii_and_distinct_for_chinese_accounts():
    assert reports.download_name("tier_report", 2025) == "kam_tier_report_2025.xlsx"
    assert reports.download_name("share_pack", 2025, "Acme") == "kam_share_pack_acme_2025.xlsx"
    a = reports.download_name("share_pack", 2025, "华润万家")
    b = reports.download_name("share_pack", 2025, "永辉超市")
    assert a.isascii() and b.isascii() and a != b and a.endswith("_2025.xlsx")
    assert reports.download_name("share_pack", 2025, "../x y").isascii()
    assert "/" not in reports.download_name("share_pack", 2025, "../x y")


# -- data-sharing pack ----------------------------------------------------------------
@pytest.fixture
def pack_store():
    s = open_store(":memory:")
    load(s, "2025.csv", [
        line(D(2025, 1, 5), "品牌甲", 1000, 100, shop="一店", region="华东", sku="S1", qty=100),
        line(D(2025, 2, 10), "品牌甲", 400, 40, shop="一店", region="华东", sku="S1", qty=40),
        line(D(2025, 3, 10), "品牌甲", 400, 40, shop="一店", region="华东", sku="S1", qty=40),
        line(D(2025, 3, 12), "品牌甲", 300, 30, shop="二店", region="华南", sku="S2", product="商品二", qty=3),
        line(D(2025, 3, 20), "品牌甲", -100, -10, shop="二店", region="华南", sku="S2", product="商品二", qty=-1),
        line(D(2025, 3, 20), "OtherCo 乙", 99_999, 9, shop="一店", region="华东", sku="X9", product="别家商品", qty=5),
        line(D(2024, 12, 31), "品牌甲", 777, 7, shop="一店", region="华东", sku="S1", qty=7),
    ])
    cur = s.cursor()
    for snap, account, shop, sku, qty in [
        (D(2025, 2, 28), "品牌甲", "一店", "S1", 90),
        (D(2025, 3, 31), "品牌甲", "一店", "S1", 25),
        (D(2025, 3, 31), "OtherCo 乙", "一店", "X9", 500),
    ]:
        cur.execute("insert into inventory (import_id, snapshot_date, account, store, sku, product, qty_on_hand,"
                    " stock_value) values (9, ?, ?, ?, ?, '商品一', ?, ?)", [snap, account, shop, sku, qty, qty * 10])
    yield s
    s.close()


def test_share_pack_has_monthly_store_region_sku_returns_and_inventory_sheets(pack_store):
    wb = open_xlsx(reports.build_share_pack(pack_store, "品牌甲", 2025))
    assert wb.sheetnames == ["汇总", "月度销售", "门店", "区域", "商品排行", "退货", "库存"]
    summary = {r[0]: r[1] for r in sheet_rows(wb["汇总"]) if r[0]}
    assert summary["客户"] == "品牌甲" and summary["销售额"] == 2000 and summary["数量"] == 182
    monthly = sheet_rows(wb["月度销售"])[1:]
    assert monthly == [[dt.datetime(2025, 1, 1), 1000, 100, 1], [dt.datetime(2025, 2, 1), 400, 40, 1],
                       [dt.datetime(2025, 3, 1), 600, 42, 3]]
    assert wb["月度销售"]["A2"].number_format == "yyyy-mm-dd"
    stores = sheet_rows(wb["门店"])[1:]
    assert stores == [["一店", "华东", 1800, 180, pytest.approx(0.9)], ["二店", "华南", 200, 2, pytest.approx(0.1)]]
    assert wb["门店"]["E2"].number_format == "0.00%"
    returns = sheet_rows(wb["退货"])[1:]
    assert returns == [[dt.datetime(2025, 3, 20), "二店", "华南", "S2", "商品二", -1, -100]]
    # latest snapshot 2025-03-31: 25 on hand; S1 in 一店 sold 40 + 40 in the 8 weeks to it → 10 a week
    inv = sheet_rows(wb["库存"])
    assert inv[1][:3] == [dt.datetime(2025, 3, 31), "一店", "S1"]
    assert inv[1][4:] == [25, 250, 10, 2.5]


def test_share_pack_contains_nothing_about_other_accounts(pack_store):
    data = reports.build_share_pack(pack_store, "品牌甲", 2025)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    for other in ("OtherCo", "乙", "X9", "别家商品", "99999", "99,999"):
        assert other not in text
    cells = [v for ws in open_xlsx(data) for r in ws.iter_rows(values_only=True) for v in r if v is not None]
    # neither its sales, its stock, nor the company total (which would reveal the others' sum)
    assert 99_999 not in cells and 500 not in cells and 101_999 not in cells


def test_share_pack_without_inventory_says_so_and_is_refused_without_export_right(pack_store):
    wb = open_xlsx(reports.build_share_pack(pack_store, "品牌甲", 2024))
    assert wb["库存"]["A1"].value == "未导入该客户的库存数据。"
    with pytest.raises(PermissionDenied):
        reports.build_share_pack(pack_store, "品牌甲", 2025, user=User("x", "nobody"))


# -- dossier export ---------------------------------------------------------------------
@pytest.fixture
def dossier_store():
    s = open_store(":memory:")
    cur = s.cursor()
    cur.execute("insert into accounts (name, owner, phone, org_structure) values ('品牌甲', 'li', '021-12345678', '事业部制')")
    cur.execute("insert into contacts (id, account, role, name, title, phone, email, personal_notes, spending_limit)"
                " values (1, '品牌甲', 'buyer', '张三', '采购员', '13800000000', 'zs@example.com', '喜欢喝茶', 50000)")
    cur.execute("insert into plans (id, account, kind, side, title, budget) values (1, '品牌甲', 'monthly_promotion',"
                " 'ours', '=SUM(1)', 1000)")
    yield s
    s.close()


def _all_values(data: bytes) -> list:
    return [v for ws in open_xlsx(data) for r in ws.iter_rows(values_only=True) for v in r if v is not None]


def _audit_exports(s) -> list:
    return s.cursor().execute("select who, record_key from audit_log where action = 'export'").fetchall()


@pytest.mark.parametrize("user", [User("vic", "viewer"), User("mo", "manager"), User("li", "manager")])
def test_dossier_export_without_the_right_or_the_choice_has_no_personal_fields(dossier_store, user):
    include = user.name != "li"  # li owns the account but did not ask for personal data
    data = reports.build_dossier_export(dossier_store, "品牌甲", user, include_personal=include)
    values = _all_values(data)
    for personal in ("13800000000", "zs@example.com", "喜欢喝茶", 50000):
        assert personal not in values
    assert "张三" in values and "事业部制" in values and "'=SUM(1)" in values
    contacts = sheet_rows(open_xlsx(data)["联系人"])
    assert contacts[0] == ["层级", "姓名", "职务", "权限", "影响力", "关系强度"]
    assert _audit_exports(dossier_store) == []


def test_dossier_export_with_personal_data_by_the_owner_includes_it_and_is_audited(dossier_store):
    data = reports.build_dossier_export(dossier_store, "品牌甲", User("li", "manager"), include_personal=True)
    values = _all_values(data)
    for personal in ("13800000000", "zs@example.com", "喜欢喝茶", 50000):
        assert personal in values
    assert _audit_exports(dossier_store) == [("li", "品牌甲")]
    # the same words as the dossier's facts use for the same fields (电邮, not 电子邮件)
    assert sheet_rows(open_xlsx(data)["联系人"])[0][6:] == ["审批额度", "电话", "电邮", "个人特点"]
    assert open_xlsx(data)["企业信息"]["A2"].value == "含个人信息：仅限内部使用"


def test_the_tier_report_covers_only_the_filtered_lines_and_says_which(tmp_path):
    from kam_core.imports.pipeline import import_file
    from kam_core.sales.periods import Filters

    from kam_core.store import open_store

    s = open_store(tmp_path / "f.duckdb")
    text = ("日期,区域,供应商,销售额\n2025-03-01,华东,甲,7000000\n2025-03-01,华南,乙,4000000\n"
            "2025-03-02,华东,乙,1000000\n")
    import_file(s, text.encode("utf-8"), "f.csv")
    data = reports.build_tier_report(s, 2025, lang="zh", filters=Filters(region=("华东",)))
    wb = openpyxl.load_workbook(io.BytesIO(data))
    tier_rows = [(name, r) for name in wb.sheetnames[1:5]
                 for r in wb[name].iter_rows(min_row=2, values_only=True) if r[0]]
    # 华东 only: 甲 7,000,000 and 乙 1,000,000 (乙's 华南 line is out) — but 乙 sold 5,000,000 in the
    # whole company, so it stays an ordinary key account in the 华东 report, 0 short of the tier
    assert sorted((name, r[0], r[2], r[-8]) for name, r in tier_rows) == [
        ("普通大客户", "乙", 1000000, 15000000), ("普通大客户", "甲", 7000000, 13000000)]
    method = [tuple(r) for r in wb[wb.sheetnames[-1]].iter_rows(values_only=True)]
    assert any(r[0] == "数据范围（筛选）" and r[1] == "区域: 华东" for r in method)
    assert any(r[0] == "级别口径" and r[1].startswith("级别、距下一级") and r[1].endswith("仅含所选区域。")
               for r in method)


def test_on_the_cost_basis_accounts_without_cost_are_counted_as_not_tiered_so_the_summary_adds_up(tmp_path):
    from kam_core.imports.pipeline import import_file
    from kam_core.settings import save_settings
    from kam_core.store import open_store

    s = open_store(tmp_path / "c.duckdb")
    # A has a cost (6M sales, 5.5M cost → ordinary on cost); B has none (30M sales, no cost)
    text = "日期,供应商,销售额,成本\n2025-03-01,A,6000000,5500000\n2025-03-01,B,30000000,\n"
    import_file(s, text.encode("utf-8"), "c.csv")
    save_settings(s, {"tier_basis": "cost"})
    wb = openpyxl.load_workbook(io.BytesIO(reports.build_tier_report(s, 2025, lang="en")))
    summary = [r for r in wb[wb.sheetnames[0]].iter_rows(values_only=True) if r and r[0]]
    per_tier = {r[0]: (r[1], r[2]) for r in summary if r[0] in (
        "Strategic key account", "Partner key account", "Ordinary key account", "Not a key account", "Not tiered")}
    assert per_tier["Ordinary key account"] == (1, 6000000)
    assert per_tier["Not tiered"] == (1, 30000000)
    assert sum(n for n, _ in per_tier.values()) == 2
    assert "Not tiered" in wb.sheetnames


# -- every export in the reader's language, numbers as numbers -------------------------------
SNAKE_CASE = r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$"
CODES = {"strategic", "partner", "ordinary", "none", "unknown", "up", "down", "same", "new", "lost",
         "buyer", "monthly_promotion", "ours", "theirs", "proposed", "pass", "fail"}


def _cells(wb):
    return [(ws.title, c) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]


def _no_code_words_or_none(wb) -> list:
    import re

    return [(title, c.coordinate, c.value) for title, c in _cells(wb) if isinstance(c.value, str)
            and (re.fullmatch(SNAKE_CASE, c.value) or c.value in CODES or c.value in ("None", "nan", "NaT"))]


def test_the_chinese_tier_report_says_tiers_and_movements_in_chinese_and_no_code_or_none_anywhere(store):
    wb = open_xlsx(reports.build_tier_report(store, 2025, lang="zh"))
    assert _no_code_words_or_none(wb) == []
    strategic = sheet_rows(wb["战略性大客户"])
    assert strategic[0][:3] == ["客户/供应商", "年度", "销售额"] and strategic[0][12] == "级别"
    assert strategic[1][12] == "战略性大客户"
    moves = {r[0]: tuple(r[1:4]) for r in sheet_rows(wb["级别变动"])[1:]}
    assert moves["Alpha 甲"] == ("伙伴式大客户", "战略性大客户", "升级")
    assert moves["Beta"] == ("伙伴式大客户", "伙伴式大客户", "持平")
    assert moves["丁公司"] == (None, "非大客户", "新增")                  # no tier last year: an empty cell
    assert sheet_rows(wb["级别变动"])[0] == ["客户/供应商", "上年级别", "级别", "变动"]
    near = sheet_rows(wb["临界客户"])
    assert near[0][:6] == ["客户/供应商", "销售排名", "级别", "分级依据金额", "下一级下限", "距下一级"]
    assert near[1][2] == "非大客户"
    assert [r[8] for r in sheet_rows(wb["销售前十"])[1:]] == ["战略性大客户", "伙伴式大客户", "普通大客户", "非大客户"]


def test_the_english_tier_report_has_english_headers_and_words(store):
    wb = open_xlsx(reports.build_tier_report(store, 2025, lang="en"))
    assert _no_code_words_or_none(wb) == []
    assert sheet_rows(wb["Migration"])[0] == ["Account", "Tier last year", "Tier", "Movement"]
    method = sheet_rows(wb["Method"])
    header_at = next(i for i, r in enumerate(method) if r[0] == "ID")
    assert method[header_at][5:8] == ["First date", "Last date", "Imported at"]
    assert not any("\u4e00" <= ch <= "\u9fff" for title, c in _cells(wb) if isinstance(c.value, str)
                   and title != "Needs attention" for ch in c.value.replace("Alpha 甲", "").replace("丁公司", "")
                   .replace("销售2025.xlsx", ""))


def test_the_method_sheet_writes_days_as_dates_and_amounts_counts_and_shares_with_number_formats(store):
    ws = open_xlsx(reports.build_tier_report(store, 2025, lang="zh"))["方法说明"]
    cells = {r[0].value: r[1] for r in ws.iter_rows(max_col=2) if r[0].value}
    assert cells["期间开始"].value == dt.datetime(2025, 1, 1) and cells["期间开始"].number_format == "yyyy-mm-dd"
    assert cells["战略性大客户下限（元）"].value == 50_000_000
    assert cells["战略性大客户下限（元）"].number_format == '"¥"#,##0.00'
    assert cells["A 类累计占比上限"].value == 0.8 and cells["A 类累计占比上限"].number_format == "0.00%"
    assert cells["年度"].number_format == "#,##0"
    assert cells["生成时间"].number_format == "yyyy-mm-dd hh:mm:ss"         # a moment: its time means something
    header_at = next(r[0].row for r in ws.iter_rows(max_col=1) if r[0].value == "编号")
    imports = [c for c in ws[header_at + 1]]
    assert [c.value for c in imports[:5]] == [2, "销售2025.xlsx", f"{2:064x}", 4, 94_600_000]
    assert imports[3].number_format == "#,##0" and imports[4].number_format == '"¥"#,##0.00'
    assert imports[5].value == dt.datetime(2025, 1, 10) and imports[5].number_format == "yyyy-mm-dd"
    assert imports[6].value == dt.datetime(2025, 4, 10) and imports[6].number_format == "yyyy-mm-dd"


def test_the_share_pack_in_english_has_english_sheets_and_headers_and_formats(pack_store):
    wb = open_xlsx(reports.build_share_pack(pack_store, "品牌甲", 2025, lang="en"))
    assert wb.sheetnames == ["Summary", "Monthly", "By store", "By region", "Top SKUs", "Returns", "Inventory"]
    assert wb["Summary"]["A1"].value == "品牌甲 · sales and inventory 2025"
    summary = {r[0]: r[1] for r in sheet_rows(wb["Summary"]) if r[0]}
    assert summary["Account"] == "品牌甲" and summary["Sales"] == 2000 and summary["Quantity"] == 182
    assert sheet_rows(wb["Monthly"])[0] == ["Month", "Sales", "Quantity", "Lines"]
    region = wb["By region"]
    assert [c.value for c in region[1]] == ["Region", "Sales", "Quantity", "Stores", "Share of this account's sales"]
    # 华东: 1,800 of 2,000 in one store
    assert [c.value for c in region[2]] == ["华东", 1800, 180, 1, pytest.approx(0.9)]
    assert [c.number_format for c in region[2]][1:] == ['"¥"#,##0.00', "#,##0.###", "#,##0", "0.00%"]
    assert sheet_rows(wb["Inventory"])[0] == ["Snapshot date", "Store", "SKU", "Product", "Qty on hand",
                                              "Stock value", "Avg weekly qty, last 8 weeks", "Weeks of cover"]
    assert wb["Inventory"]["A2"].number_format == "yyyy-mm-dd"
    assert _no_code_words_or_none(wb) == []


def test_the_chinese_share_pack_has_chinese_headers(pack_store):
    wb = open_xlsx(reports.build_share_pack(pack_store, "品牌甲", 2025, lang="zh"))
    assert sheet_rows(wb["区域"])[0] == ["区域", "销售额", "数量", "门店数", "占本客户销售"]
    assert sheet_rows(wb["月度销售"])[0][0] == "月份"
    assert _no_code_words_or_none(wb) == []


def test_the_share_pack_of_an_unknown_account_is_refused():
    s = open_store(":memory:")
    with pytest.raises(reports.UnknownAccount, match="no account is called '甲公司'"):
        reports.build_share_pack(s, "甲公司", 2025)


@pytest.mark.parametrize("lang, role, kind, side, header", [
    ("zh", "采购员", "月度促销计划", "我方", ["类型", "提供方", "标题", "开始", "结束", "预算", "状态", "备注"]),
    ("en", "Buyer", "Monthly promotion", "Ours", ["Kind", "Side", "Title", "Start", "End", "Budget", "Status", "Notes"]),
])
def test_the_dossier_export_writes_roles_kinds_and_sides_as_words_of_the_language(dossier_store, lang, role, kind,
                                                                                   side, header):
    wb = open_xlsx(reports.build_dossier_export(dossier_store, "品牌甲", User("li", "manager"), lang=lang))
    contacts, plans = sheet_rows(wb.worksheets[1]), sheet_rows(wb.worksheets[5])
    assert contacts[1][0] == role
    assert plans[0] == header
    assert plans[1][:3] == [kind, side, "'=SUM(1)"]
    assert plans[1][5] == 1000 and wb.worksheets[5]["F2"].number_format == '"¥"#,##0.00'
    assert _no_code_words_or_none(wb) == []
    facts = {r[0]: r[1] for r in sheet_rows(wb.worksheets[0])[3:]}
    assert ("更新时间" if lang == "zh" else "Updated at") in facts


def test_share_pack_on_the_command_line_takes_the_language(tmp_path, pack_store, capsys):
    from kam_core import cli

    db = tmp_path / "p.duckdb"
    pack_store.cursor().execute(f"attach '{db}' as f")
    pack_store.cursor().execute("copy from database memory to f")
    pack_store.cursor().execute("detach f")
    out = tmp_path / "pack.xlsx"
    assert cli.main(["--db", str(db), "share-pack", "品牌甲", "--year", "2025", "--out", str(out), "--lang", "en"]) == 0
    assert open_xlsx(out.read_bytes()).sheetnames[:2] == ["Summary", "Monthly"]


def test_a_datetime_column_whose_values_are_all_midnight_is_written_as_a_date():
    from kam_core.locales.columns import column_kind

    days = pd.Series(pd.to_datetime(["2026-12-03", "2026-12-04", None]))
    moments = pd.Series(pd.to_datetime(["2026-12-03 09:30:00", "2026-12-04 00:00:00"]))
    assert column_kind("last_order", days) == "date" and column_kind("last_order", moments) == "datetime"
    assert column_kind("sales") == "money" and column_kind("stockout_share") == "ratio"
    wb = open_xlsx(reports.table_to_xlsx_bytes(pd.DataFrame({"date": days, "sales": [1234.5, None, 2.0]}), lang="zh"))
    ws = wb.active
    assert [c.value for c in ws[1]] == ["日期", "销售额"]
    assert ws["A2"].number_format == "yyyy-mm-dd" and ws["B2"].number_format == '"¥"#,##0.00'
    assert ws["A4"].value is None and ws["B3"].value is None                   # missing: an empty cell


def test_the_dossier_facts_write_a_score_as_a_whole_number_and_the_last_change_as_a_moment():
    s = open_store(":memory:")
    s.cursor().execute("insert into accounts (name, owner, score_cooperation, updated_at)"
                       " values ('甲', 'li', 4, timestamp '2026-03-01 14:30:00')")
    ws = open_xlsx(reports.build_dossier_export(s, "甲", User("li", "manager"), lang="en")).worksheets[0]
    facts = {r[0].value: r[1] for r in ws.iter_rows(min_row=4, max_col=2)}
    assert facts["Cooperation"].value == 4 and facts["Cooperation"].number_format == "#,##0"
    assert facts["Updated at"].value == dt.datetime(2026, 3, 1, 14, 30)
    assert facts["Updated at"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert facts["Fax"].value is None                                       # nothing known: an empty cell
