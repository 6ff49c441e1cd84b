"""The import pipeline end to end on tiny literal files: what is loaded, skipped, rejected, reported."""
from __future__ import annotations

import io
import json
import time
from decimal import Decimal

import openpyxl
import pytest

from kam_core.imports.errors import DecisionNeeded, ImportRejected
from kam_core.imports.pipeline import ImportOptions, commit_import, import_file, list_imports, prepare_import, undo_import
from kam_core.store import open_store


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "kam.duckdb")
    yield s
    s.close()


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.strip("\n").replace("\n", "\r\n").encode(encoding)


def sales_rows(store):
    return store.cursor().execute(
        "select date::varchar, account, sku, qty, amount, cost, profit from sales order by source_row").fetchall()


SIMPLE = """
日期,供应商,商品编码,数量,销售额,成本
2025-01-03,甲公司,00123,2,"1,234.50",1000
2025-01-04,乙公司,00456,1,¥99.90,
2025-01-05,甲公司,00123,-1,(100.00),-80
"""


def test_a_simple_csv_loads_every_line_with_text_codes_and_computed_profit(store):
    import_id, plan = import_file(store, csv_bytes(SIMPLE), "simple.csv")
    assert import_id == 1
    assert sales_rows(store) == [
        ("2025-01-03", "甲公司", "00123", Decimal("2.000"), Decimal("1234.50"), Decimal("1000.00"), Decimal("234.50")),
        ("2025-01-04", "乙公司", "00456", Decimal("1.000"), Decimal("99.90"), None, None),
        ("2025-01-05", "甲公司", "00123", Decimal("-1.000"), Decimal("-100.00"), Decimal("-80.00"), Decimal("-20.00")),
    ]
    d = plan.report.data
    assert (d["rows_read"], d["rows_accepted"], d["rows_skipped"], d["rows_rejected"]) == (3, 3, 0, 0)
    assert d["amount_loaded"] == pytest.approx(1234.50 + 99.90 - 100.00)
    assert d["lines_without_cost"] == 1


def test_nothing_is_written_by_prepare(store):
    prepare_import(store, csv_bytes(SIMPLE), "simple.csv")
    assert store.cursor().execute("select count(*) from sales").fetchone()[0] == 0
    assert store.cursor().execute("select count(*) from imports").fetchone()[0] == 0


def test_a_totals_row_is_dropped_counted_and_used_as_checksum(store):
    text = SIMPLE + "合计,,,2,1234.40,920\n"
    _, plan = import_file(store, csv_bytes(text), "with_total.csv")
    d = plan.report.data
    assert d["skipped_by_reason"] == {"totals": 1}
    assert d["reconciliation"]["status"] == "ok"
    assert d["reconciliation"]["file_total"] == pytest.approx(1234.40)
    assert len(sales_rows(store)) == 3


def test_a_totals_row_that_does_not_add_up_stops_the_import_with_the_difference(store):
    text = SIMPLE + "合计,,,2,9999.00,920\n"
    with pytest.raises(DecisionNeeded) as exc:
        prepare_import(store, csv_bytes(text), "bad_total.csv")
    assert exc.value.code == "totals_mismatch"
    assert "8,764.60" in exc.value.message  # 9999.00 − 1234.40


def test_an_unlabelled_total_row_is_recognised_by_its_sum(store):
    # Like the POS export in bad_inputs §1.3: no label, key columns empty, amount = sum above.
    text = SIMPLE + ",,,2,1234.40,\n"
    _, plan = import_file(store, csv_bytes(text), "unlabelled.csv")
    assert plan.report.data["skipped_by_reason"] == {"totals": 1}
    assert plan.report.data["rows_accepted"] == 3


def test_blank_rows_in_the_middle_do_not_stop_reading(store):
    text = SIMPLE.replace("2025-01-04", "\n,,,,,\n2025-01-04")
    _, plan = import_file(store, csv_bytes(text), "blank.csv")
    assert plan.report.data["rows_accepted"] == 3
    # one empty line and one line of empty fields
    assert plan.report.data["skipped_by_reason"].get("blank") == 2


def test_rows_with_impossible_dates_or_bad_numbers_are_rejected_with_sheet_row_column_value_reason(store):
    text = """
日期,供应商,销售额
2018-02-29,甲,10
2018-03-01,甲,abc
2018-03-02,,5
2018-03-03,乙,7
"""
    _, plan = import_file(store, csv_bytes(text), "bad.csv")
    rejected = {(r["row"], r["column"], r["value"], r["reason"]) for r in plan.report.rejected}
    assert rejected == {
        (2, "日期", "2018-02-29", "not a valid date"),
        (3, "销售额", "abc", "not a number"),
        (4, "供应商", None, "supplier is missing"),
    }
    assert plan.report.data["rows_rejected"] == 3
    assert sales_rows(store) == [("2018-03-03", "乙", None, None, Decimal("7.00"), None, None)]
    csv_text = plan.report.rejected_csv().decode("utf-8-sig")
    assert "2018-02-29" in csv_text and "not a valid date" in csv_text


def test_zero_importable_rows_is_an_error_and_writes_nothing(store):
    text = "日期,供应商,销售额\n2018-02-30,甲,10\n"
    with pytest.raises(ImportRejected) as exc:
        prepare_import(store, csv_bytes(text), "none.csv")
    assert exc.value.code == "no_rows"
    assert store.cursor().execute("select count(*) from imports").fetchone()[0] == 0


def test_ambiguous_day_month_dates_ask_the_user_and_the_answer_is_applied(store):
    text = "date,supplier,amount\n03/04/2025,A,10\n05/06/2025,B,20\n"
    with pytest.raises(DecisionNeeded) as exc:
        prepare_import(store, csv_bytes(text), "ambiguous.csv")
    assert exc.value.code == "date_order"
    import_file(store, csv_bytes(text), "ambiguous.csv", ImportOptions(date_order="dmy"))
    assert [r[0] for r in sales_rows(store)] == ["2025-04-03", "2025-06-05"]


def test_a_day_above_twelve_settles_the_order_without_asking(store):
    text = "date,supplier,amount\n03/04/2025,A,10\n25/06/2025,B,20\n"
    import_file(store, csv_bytes(text), "dmy.csv")
    assert [r[0] for r in sales_rows(store)] == ["2025-04-03", "2025-06-25"]


def test_the_unit_in_the_header_converts_wan_to_yuan(store):
    text = "日期,供应商,销售额(万元),成本(万元)\n2025-01-03,甲,1.2345,1\n"
    import_file(store, csv_bytes(text), "wan.csv")
    assert sales_rows(store)[0][4:] == (Decimal("12345.00"), Decimal("10000.00"), Decimal("2345.00"))


def test_a_unit_price_column_is_never_taken_as_the_amount(store):
    text = "日期,供应商,单价,数量\n2025-01-03,甲,9.9,3\n"
    with pytest.raises(DecisionNeeded) as exc:
        prepare_import(store, csv_bytes(text), "price_only.csv")
    assert exc.value.code == "unmapped_required"
    assert "amount" in exc.value.message


def test_the_same_bytes_are_refused_unless_forced(store):
    import_file(store, csv_bytes(SIMPLE), "simple.csv")
    with pytest.raises(DecisionNeeded) as exc:
        prepare_import(store, csv_bytes(SIMPLE), "copy.csv")
    assert exc.value.code == "duplicate_file"
    import_file(store, csv_bytes(SIMPLE), "copy.csv", ImportOptions(force=True))
    assert len(sales_rows(store)) == 6


def test_an_overlapping_import_is_warned_about(store):
    import_file(store, csv_bytes(SIMPLE), "simple.csv")
    other = SIMPLE.replace("1,234.50", "1,234.51")
    plan = prepare_import(store, csv_bytes(other), "again.csv")
    assert any("already covers" in w for w in plan.report.data["warnings"])


def test_the_overlap_note_names_each_loaded_import_and_the_days_it_shares_not_an_undone_one(store):
    first, _ = import_file(store, csv_bytes(SIMPLE), "simple.csv")
    undone, _ = import_file(store, csv_bytes("日期,供应商,销售额\n2025-01-04,乙公司,5\n"), "undone.csv")
    undo_import(store, undone)
    # 乙公司 only, 2025-01-04 to 2025-01-09: import 1 has 乙公司 on the 4th alone
    plan = prepare_import(store, csv_bytes("日期,供应商,销售额\n2025-01-04,乙公司,7\n2025-01-09,乙公司,8\n"),
                          "later.csv")
    overlap = [n for n in plan.report.data["notes"] if n["code"] == "overlap"]
    assert [(n["id"], n["file"], n["start"], n["end"]) for n in overlap] == [(first, "simple.csv", "2025-01-04",
                                                                               "2025-01-04")]
    plan.close()


def test_lines_recorded_without_a_file_make_one_loaded_import_with_an_alias_per_spelling(store):
    import datetime as dt

    import pyarrow as pa

    from kam_core.imports.pipeline import loaded_import, record_lines

    cur = store.cursor()
    cur.execute("insert into account_aliases (alias_key, alias, account) values ('acme', 'Acme', 'Acme')")
    version = store.data_version()
    rows = pa.table({"date": [dt.date(2025, 1, 3), dt.date(2025, 1, 9), dt.date(2025, 1, 5)],
                     "account": ["甲", "甲", "甲"], "account_raw": ["甲公司", "甲有限公司", "ACME Ltd"],
                     "amount": [10.0, 5.5, -0.25]})
    import_id = record_lines(store, rows, file_name="lines", sha256="abc", user="test", sheets=["s"])
    assert cur.execute("select kind, file_name, status, rows_read, rows_loaded, rows_skipped, rows_rejected,"
                       " amount_total, date_min, date_max, sheets, imported_by from imports").fetchall() == [
        ("sales", "lines", "loaded", 3, 3, 0, 0, Decimal("15.25"), dt.date(2025, 1, 3), dt.date(2025, 1, 9),
         '["s"]', "test")]
    # 甲公司 and 甲有限公司 share the key 甲: the first by name is the alias; acme was known and is kept
    assert cur.execute("select alias_key, alias, account from account_aliases order by alias_key").fetchall() == [
        ("acme", "Acme", "Acme"), ("甲", "甲公司", "甲")]
    assert cur.execute("select count(*), sum(amount) from sales where import_id = ?", [import_id]).fetchone() == (
        3, Decimal("15.25"))
    assert store.data_version() == version + 1
    assert loaded_import(store, "abc")[:2] == (import_id, "lines")
    assert loaded_import(store, "other") is None


def test_undo_removes_the_whole_import_and_keeps_its_record(store):
    import_id, _ = import_file(store, csv_bytes(SIMPLE), "simple.csv")
    v = store.data_version()
    assert undo_import(store, import_id) == 3
    assert sales_rows(store) == []
    assert store.data_version() == v + 1
    [row] = list_imports(store)
    assert (row["id"], row["status"]) == (import_id, "undone")
    with pytest.raises(ImportRejected):
        undo_import(store, import_id)
    # after an undo the same bytes may come in again without --force
    import_file(store, csv_bytes(SIMPLE), "simple.csv")


def test_list_imports_has_the_json_contract_fields(store):
    import_file(store, csv_bytes(SIMPLE), "simple.csv")
    [row] = list_imports(store)
    for key in ("id", "file_name", "sha256", "sheets", "rows_loaded", "rows_skipped", "rows_rejected",
                "amount_total", "profit_total", "date_min", "date_max", "imported_at", "status"):
        assert key in row
    assert row["amount_total"] == pytest.approx(1234.40)
    assert row["profit_total"] == pytest.approx(234.50 - 20.00)
    assert row["date_min"] == "2025-01-03" and row["date_max"] == "2025-01-05"
    json.dumps(row)


def test_a_confirmed_mapping_is_reused_for_the_next_file_with_the_same_headers(store):
    text = "日期,厂家名称,金额X\n2025-01-03,甲,10\n"
    opts = ImportOptions(mapping={"supplier": "厂家名称", "amount": "金额X"})
    import_file(store, csv_bytes(text), "first.csv", opts)
    second = text.replace("10", "11")
    _, plan = import_file(store, csv_bytes(second), "second.csv")
    assert plan.report.data["profile_used"] is True
    assert plan.mapping["amount"] == "金额X"


def test_brand_as_account_and_product_prefix_as_account(store):
    text = "日期,品牌,产品名称,销售额\n2025-01-03,Fiskars,Fiskars 剪刀, 蓝色,10\n"
    text = "日期,品牌,产品名称,销售额\n2025-01-03,菲斯卡,\"Fiskars 剪刀, 蓝色\",10\n"
    import_file(store, csv_bytes(text), "p.csv", ImportOptions(account_from="product-prefix"))
    import_file(store, csv_bytes(text), "b.csv", ImportOptions(account_from="brand", force=True))
    assert sorted(r[1] for r in sales_rows(store)) == ["Fiskars", "菲斯卡"]


def test_an_xlsx_with_title_rows_totals_and_wan_units_reconciles(store):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "明细"
    ws.append(["2025年1月供应商销售明细表"])
    ws.append(["日期：2025-01-01 至 2025-01-31  门店：全部"])
    ws.append([])
    ws.append(["销售日期", "供应商", "商品编码", "销售额(万元)"])
    ws.append(["2025-01-03", "甲公司", "007", 1.5])
    ws.append(["2025-01-04", "乙公司", "008", 0.25])
    ws.append(["合计", None, None, 1.75])
    buf = io.BytesIO()
    wb.save(buf)
    _, plan = import_file(store, buf.getvalue(), "report.xlsx")
    d = plan.report.data
    assert d["sheets"][0]["header_row"] == 4
    assert "2025年1月供应商销售明细表" in (d["sheets"][0]["title"] or "")
    assert d["reconciliation"]["status"] == "ok"
    assert [(r[1], r[2], r[4]) for r in sales_rows(store)] == [
        ("甲公司", "007", Decimal("15000.00")), ("乙公司", "008", Decimal("2500.00"))]


def test_sheets_are_stacked_only_when_their_headers_match(store):
    wb = openpyxl.Workbook()
    a = wb.active
    a.title = "一月"
    a.append(["日期", "供应商", "销售额"])
    a.append(["2025-01-03", "甲", 1])
    b = wb.create_sheet("二月")
    b.append(["日期", "供应商", "销售额"])
    b.append(["2025-02-03", "乙", 2])
    c = wb.create_sheet("对照表")
    c.append(["编码", "名称"])
    c.append(["1", "甲"])
    buf = io.BytesIO()
    wb.save(buf)
    _, plan = import_file(store, buf.getvalue(), "two.xlsx", ImportOptions(sheets=["一月", "二月"]))
    got = store.cursor().execute("select source_sheet, account from sales order by 1").fetchall()
    assert got == [("一月", "甲"), ("二月", "乙")]
    with pytest.raises(ImportRejected) as exc:
        prepare_import(store, buf.getvalue(), "two.xlsx", ImportOptions(sheets=["一月", "对照表"], force=True))
    assert exc.value.code == "sheet_signatures_differ"


def test_a_failure_during_commit_leaves_the_database_as_it_was(store, monkeypatch):
    import_file(store, csv_bytes(SIMPLE), "simple.csv")
    plan = prepare_import(store, csv_bytes(SIMPLE.replace("99.90", "99.91")), "second.csv")
    before = (sales_rows(store), list_imports(store), store.data_version())

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    # the last step inside the transaction: rows, aliases and the mapping are written by then
    monkeypatch.setattr("kam_core.imports.pipeline.Store.bump_data_version", staticmethod(boom))
    with pytest.raises(RuntimeError):
        commit_import(store, plan)
    assert (sales_rows(store), list_imports(store), store.data_version()) == before


def test_formula_like_text_is_kept_and_flagged(store):
    text = '日期,供应商,销售额\n2025-01-03,"=HYPERLINK(""http://x"",""y"")",10\n'
    _, plan = import_file(store, csv_bytes(text), "f.csv")
    assert plan.report.data["formula_cells"] == 1
    assert sales_rows(store)[0][1] == '=HYPERLINK("http://x","y")'


def test_inventory_exports_load_into_the_inventory_table(store):
    text = "日期,供应商,商品编码,库存数量,库存金额\n2025-01-31,甲,001,10,200\n"
    import_file(store, csv_bytes(text), "inv.csv",
                ImportOptions(kind="inventory", mapping={"qty": "库存数量", "amount": "库存金额"}))
    got = store.cursor().execute("select snapshot_date::varchar, account, sku, qty_on_hand, stock_value from inventory").fetchall()
    assert got == [("2025-01-31", "甲", "001", Decimal("10.000"), Decimal("200.00"))]


def test_the_user_can_override_the_header_row(store):
    text = "导出人：张三,,\n日期,供应商,销售额\n2025-01-03,甲,10\n"
    _, plan = import_file(store, csv_bytes(text), "h.csv", ImportOptions(header_row=2))
    assert plan.report.data["sheets"][0]["header_row"] == 2
    assert sales_rows(store)[0][:2] == ("2025-01-03", "甲")
    with pytest.raises(ImportRejected):
        prepare_import(store, csv_bytes(text), "h.csv", ImportOptions(header_row=99, force=True))


def test_a_viewer_cannot_load_or_undo_an_import_even_if_a_page_forgets_to_ask(store):
    from kam_core.permissions import PermissionDenied, User

    plan = prepare_import(store, csv_bytes(SIMPLE), "simple.csv")
    with pytest.raises(PermissionDenied):
        commit_import(store, plan, user=User("v", "viewer"))
    assert list_imports(store) == []
    import_id = commit_import(store, plan, user=User("m", "manager"))
    with pytest.raises(PermissionDenied):
        undo_import(store, import_id, user=User("m", "manager"))   # undo is the director's
    assert undo_import(store, import_id, user=User("d", "director")) == 3
    assert list_imports(store)[0]["imported_by"] == "m"


# --- lines load inside the staging transaction --------------------------------------------

def test_checked_lines_are_invisible_to_others_until_commit_and_gone_when_the_plan_is_dropped(tmp_path):
    path = tmp_path / "kam.duckdb"
    store = open_store(path)
    plan = prepare_import(store, csv_bytes(SIMPLE), "simple.csv")
    assert plan.rows().num_rows == 3                                  # the plan sees its own lines
    assert store.cursor().execute("select count(*) from sales").fetchone()[0] == 0
    plan.close()
    store.close()
    store = open_store(path)                                          # nothing reached the file
    assert store.cursor().execute("select count(*) from sales").fetchone()[0] == 0
    import_id, _ = import_file(store, csv_bytes(SIMPLE), "simple.csv")
    assert store.cursor().execute("select count(*) from sales where import_id = ?", [import_id]).fetchone()[0] == 3
    store.close()


def test_a_commit_after_another_change_checks_the_file_again_and_loads_it_once(store):
    from kam_core.store import Store
    plan = prepare_import(store, csv_bytes(SIMPLE), "simple.csv")
    with store.transaction() as cur:                                  # e.g. a setting saved in another session
        Store.bump_data_version(cur)
    import_id = commit_import(store, plan)
    assert store.cursor().execute("select count(*), sum(amount) from sales").fetchone() == (3, Decimal("1234.40"))
    assert [i["id"] for i in list_imports(store)] == [import_id]
    assert store.cursor().execute("select count(distinct import_id) from sales").fetchone()[0] == 1


@pytest.mark.parametrize("label, column", [
    ("合计", 0), ("  小计", 0), ("总 计", 1), ("Total", 0), ("Grand Total:", 1), ("SUBTOTAL", 0), ("累计：", 0),
])
def test_a_totals_row_is_found_by_its_label_in_any_column_and_spelling(store, label, column):
    cells = ["", "", "", "", "1,234.40", ""]
    cells[column] = label
    text = SIMPLE.rstrip("\n") + "\n" + ",".join(f'"{c}"' for c in cells) + "\n"
    _, plan = import_file(store, csv_bytes(text), "with_total.csv")
    d = plan.report.data
    assert (d["rows_accepted"], d["skipped_by_reason"].get("totals"), d["rows_rejected"]) == (3, 1, 0)
    assert d["reconciliation"]["status"] == "ok" and d["reconciliation"]["file_total"] == 1234.40


def test_a_product_whose_name_starts_like_a_label_is_still_a_line(store):
    text = SIMPLE.replace("甲公司,00123,2", "Tea Co,00123,2")
    _, plan = import_file(store, csv_bytes(text), "tea.csv")
    assert plan.report.data["rows_accepted"] == 3


class _Rerun(BaseException):
    """What a Streamlit progress bar raises when the user's click starts a rerun."""


@pytest.mark.parametrize("stop_at", [0.05, 0.1, 0.55])
def test_an_import_stopped_by_its_progress_callback_leaves_no_open_cursor_and_nothing_written(store, monkeypatch, stop_at):
    from kam_core.imports import pipeline

    made = []
    original = pipeline._staging_cursor
    monkeypatch.setattr(pipeline, "_staging_cursor", lambda s: made.append(original(s)) or made[-1])

    def progress(fraction, message):
        if fraction >= stop_at:
            raise _Rerun()

    with pytest.raises(_Rerun):
        prepare_import(store, csv_bytes(SIMPLE), "s.csv", progress=progress)
    time.sleep(0.3)                          # a cursor still being made in the background has been made by now
    for cursor in made:                      # every staging cursor made was closed
        with pytest.raises(Exception, match="(?i)closed"):
            cursor.execute("select 1")
    assert store.cursor().execute("select count(*) from sales").fetchone()[0] == 0


# --- values too big for the store's columns are rejected lines, not a failed file ----------

def test_amounts_too_big_for_the_store_are_rejected_lines_with_their_reason(store):
    # amount is DECIMAL(18,4): below 10^14 yuan fits, 10^14 does not; 1e308 is a number too
    text = """
日期,供应商,销售额
2025-01-03,甲,99999999999999
2025-01-04,甲,100000000000000
2025-01-05,乙,1e308
2025-01-06,乙,-100000000000000
2025-01-07,乙,5
"""
    _, plan = import_file(store, csv_bytes(text), "big.csv")
    rejected = {(r["row"], r["column"], r["value"], r["reason"]) for r in plan.report.rejected}
    assert rejected == {
        (3, "销售额", "100000000000000", "number out of range"),
        (4, "销售额", "1e308", "number out of range"),
        (5, "销售额", "-100000000000000", "number out of range"),
    }
    d = plan.report.data
    assert (d["rows_accepted"], d["rows_rejected"]) == (2, 3)
    assert d["rejected_by_reason"] == {"number out of range": 3}
    assert d["amount_loaded"] == 99999999999999 + 5
    # (a double becomes DECIMAL(18,4) exactly below ~9·10^11; near 10^14 within a few ten-thousandths)
    assert [round(r[4]) for r in sales_rows(store)] == [99999999999999, 5]


def test_a_quantity_of_10_to_the_15_is_rejected_and_one_just_below_loads(store):
    # qty is DECIMAL(18,3): its bound is 10^15
    text = "日期,供应商,数量,销售额\n2025-01-03,甲,999999999999999,1\n2025-01-04,甲,1e15,2\n"
    _, plan = import_file(store, csv_bytes(text), "qty.csv")
    assert [(r["row"], r["column"], r["reason"]) for r in plan.report.rejected] == [(3, "数量", "number out of range")]
    assert [round(r[3]) for r in sales_rows(store)] == [999999999999999]


def test_an_amount_that_overflows_once_converted_from_wan_is_rejected(store):
    # 10^10 万元 is 10^14 yuan: too big; 9,999,999,999 万元 fits
    text = "日期,供应商,销售额(万元)\n2025-01-03,甲,9999999999\n2025-01-04,甲,10000000000\n"
    _, plan = import_file(store, csv_bytes(text), "wan.csv")
    assert [(r["row"], r["value"], r["reason"]) for r in plan.report.rejected] == [(3, "10000000000", "number out of range")]
    assert [r[4] for r in sales_rows(store)] == [Decimal("99999999990000")]


def test_a_derived_cost_or_profit_that_overflows_rejects_its_line(store):
    # each cell fits, but cost = amount − profit = 9e13 + 9e13 does not
    text = """
日期,供应商,销售额,毛利
2025-01-03,甲,90000000000000,-90000000000000
2025-01-04,甲,100,20
"""
    _, plan = import_file(store, csv_bytes(text), "derived.csv")
    assert [(r["row"], r["column"], r["reason"]) for r in plan.report.rejected] == [
        (2, "毛利", "cost (amount − profit) out of range")]
    assert sales_rows(store) == [("2025-01-04", "甲", None, None, Decimal("100"), Decimal("80"), Decimal("20"))]
    text = text.replace("毛利", "成本")
    _, plan = import_file(store, csv_bytes(text), "derived2.csv", ImportOptions(force=True))
    assert [(r["row"], r["column"], r["reason"]) for r in plan.report.rejected] == [
        (2, "成本", "profit (amount − cost) out of range")]


def test_lines_whose_sum_overflows_the_imports_total_refuse_the_file_by_name(store):
    # every line fits DECIMAL(18,4), but their total does not fit the import's DECIMAL(18,2)
    lines = "".join(f"2025-01-03,甲,99999999999999\n" for _ in range(101))
    with pytest.raises(ImportRejected) as exc:
        import_file(store, csv_bytes("日期,供应商,销售额\n" + lines), "sum.csv")
    assert exc.value.code == "total_out_of_range"
    assert list_imports(store) == []


@pytest.mark.parametrize("data, code", [
    ("日期,供应商,销售额\n".encode("utf-8"), "empty"),
    ("日期,供应商,销售额\n\n\n".encode("utf-8"), "no_rows"),
    # a UTF-16 mark over UTF-8 text decodes to one line of odd ideographs: a header with nothing under it
    (b"\xff\xfe" + "日期,供应商,数量,销售额,成本,毛利\n2025-01-02,甲,1,100,80,20\n ".encode("utf-8"), "unmapped_required"),
], ids=["header only", "header and blank lines", "utf-16 mark over utf-8"])
def test_a_file_with_nothing_under_its_header_is_refused_by_name(store, data, code):
    with pytest.raises(ImportRejected) as exc:
        prepare_import(store, data, "header_only.csv")
    assert exc.value.code == code
    assert list_imports(store) == []


def test_a_line_whose_text_is_longer_than_an_excel_cell_is_rejected_with_its_reason(store):
    # Excel holds at most 32,767 characters in a cell; a longer name is not a name
    text = f"日期,供应商,销售额\n2025-01-03,{'甲' * 32_767},1\n2025-01-04,{'乙' * 140_000},2\n"
    _, plan = import_file(store, csv_bytes(text), "long.csv")
    assert [(r["row"], r["column"], r["reason"]) for r in plan.report.rejected] == [
        (3, "供应商", "text longer than 32,767 characters")]
    assert plan.report.rejected[0]["value"] == "乙" * 40 + "…"
    assert [len(r[1]) for r in sales_rows(store)] == [32_767]


TRICKY = """
日期,供应商,销售额,备注
2025-01-03,甲,10,
2025-01-03,乙,5,
2025-01-03,丙,1,
 , ,  ,
日期 ,供应商,销售额, 备注
2025-01-04,乙,20,见合计
,,36, 合计
2025-01-05,甲,abc,
"""


@pytest.mark.parametrize("compact", [False, True], ids=["a test a column", "one test over a list of the cells"])
def test_wide_sheets_test_their_rows_over_a_list_of_cells_with_the_same_result(store, monkeypatch, compact):
    # wide, short sheets are classified by one lambda over the row's cells (fast to plan);
    # both ways must read the same file the same way
    from kam_core.imports import steps

    monkeypatch.setattr(steps, "_COMPACT_MIN_COLUMNS", 0 if compact else 10_000)
    _, plan = import_file(store, csv_bytes(TRICKY), "tricky.csv")
    d = plan.report.data
    assert (d["rows_accepted"], d["rows_rejected"]) == (4, 1)
    assert d["skipped_by_reason"] == {"blank": 1, "repeated_header": 1, "totals": 1}
    assert d["reconciliation"]["status"] == "ok" and d["reconciliation"]["file_total"] == 36
    assert [(r["row"], r["reason"]) for r in plan.report.rejected] == [(9, "not a number")]


def test_checks_that_are_never_confirmed_take_no_import_id(store):
    # three checks of a file (a page re-checks on every change of an option), then the import:
    # ids follow 1, 2 (they jumped 2 → 4 → 8 when every check took one)
    for _ in range(3):
        plan = prepare_import(store, csv_bytes(SIMPLE), "simple.csv")
        assert plan.import_id == 1                      # the id it would get, not taken yet
        plan.close()
    first, _ = import_file(store, csv_bytes(SIMPLE), "simple.csv")
    prepare_import(store, csv_bytes(SIMPLE.replace("甲公司", "丙公司")), "b.csv").close()
    second, _ = import_file(store, csv_bytes(SIMPLE.replace("乙公司", "丁公司")), "c.csv")
    assert (first, second) == (1, 2)
    assert [r["id"] for r in list_imports(store)] == [2, 1]


def test_two_checks_staged_under_one_id_are_committed_under_two(store):
    a = prepare_import(store, csv_bytes(SIMPLE), "a.csv")
    b = prepare_import(store, csv_bytes(SIMPLE.replace("甲公司", "丙公司")), "b.csv")
    assert a.import_id == b.import_id == 1
    assert commit_import(store, a) == 1
    assert commit_import(store, b) == 2                 # b is checked again under the id its commit drew
    assert store.cursor().execute(
        "select import_id, count(*) from sales group by 1 order by 1").fetchall() == [(1, 3), (2, 3)]


FOLD = """
日期,供应商,销售额
2025-02-03,{name},100
"""


def test_a_name_folded_by_the_suffix_rules_is_listed_and_can_be_kept_apart_for_good(store):
    import_file(store, csv_bytes(FOLD.format(name="合肥恒宏农业集团有限公司")), "a.csv")
    plan = prepare_import(store, csv_bytes(FOLD.format(name="合肥恒宏农业集团")), "b.csv")
    d = plan.report.data
    assert d["folded_names"] == [["合肥恒宏农业集团", "合肥恒宏农业集团有限公司"]]
    assert [(n["code"], n["name"], n["account"]) for n in d["notes"] if n["code"] == "folded"] == [
        ("folded", "合肥恒宏农业集团", "合肥恒宏农业集团有限公司")]
    plan.close()
    # kept apart: its own account, and remembered under its exact spelling
    import_file(store, csv_bytes(FOLD.format(name="合肥恒宏农业集团")), "b.csv",
                ImportOptions(keep_apart=["合肥恒宏农业集团"]))
    cur = store.cursor()
    assert cur.execute("select account, account_raw from sales order by import_id").fetchall() == [
        ("合肥恒宏农业集团有限公司", "合肥恒宏农业集团有限公司"), ("合肥恒宏农业集团", "合肥恒宏农业集团")]
    assert cur.execute("select alias_key, alias, account from account_aliases order by alias").fetchall() == [
        ("=合肥恒宏农业集团", "合肥恒宏农业集团", "合肥恒宏农业集团"),
        ("合肥恒宏农业", "合肥恒宏农业集团有限公司", "合肥恒宏农业集团有限公司")]
    # a later file with that spelling stays apart without being asked, and lists no fold
    _, later = import_file(store, csv_bytes(FOLD.format(name="合肥恒宏农业集团").replace("02-03", "02-04")), "c.csv")
    assert later.report.data["folded_names"] == []
    assert cur.execute("select account from sales where import_id = 3").fetchall() == [("合肥恒宏农业集团",)]
