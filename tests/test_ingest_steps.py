"""Each step of checking a file, alone, on one small CSV worked out by hand.

The file (line numbers as Excel shows them)::

    1  2025年1月 销售明细,,,          title
    2  日期,供应商,数量,销售额          header
    3  2025-01-03,甲公司,2,100         loaded
    4  2025-01-04,乙公司,1,abc         rejected: 销售额 is not a number
    5  ,,,                             blank
    6  2025-01-05, 甲公司 ,1,50        loaded (the name is trimmed)
    7  合计,,4,150                     totals row: 100 + 50 = 150, the rejected line has no amount
"""
from __future__ import annotations

import hashlib

import pytest

from kam_core.imports import steps
from kam_core.imports.accounts import alias_key
from kam_core.imports.detect import Limits
from kam_core.imports.errors import DecisionNeeded
from kam_core.imports.pipeline import _staging_cursor
from kam_core.imports.steps import ImportOptions
from kam_core.store import open_store

FILE = "\r\n".join([
    "2025年1月 销售明细,,,",
    "日期,供应商,数量,销售额",
    "2025-01-03,甲公司,2,100",
    "2025-01-04,乙公司,1,abc",
    ",,,",
    "2025-01-05, 甲公司 ,1,50",
    "合计,,4,150",
]).encode("utf-8")


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "kam.duckdb")
    yield s
    s.close()


@pytest.fixture
def con(store):
    c = _staging_cursor(store)
    yield c
    try:
        c.execute("rollback")
    except Exception:  # noqa: BLE001 - no transaction open
        pass
    c.close()


def run(store, con, until: str, data: bytes = FILE, options: ImportOptions | None = None) -> dict:
    """The steps in order up to ``until``; what each returned, by step name."""
    options = options or ImportOptions()
    out = {"read": steps.read_file(data, "jan.csv", options, Limits())}
    order = ["header", "map", "dates", "accounts", "load", "leftovers", "reconcile", "rejects", "settle", "report"]
    for name in order[: order.index(until) + 1]:
        if name == "header":
            out[name] = steps.find_headers(out["read"].grids, options.header_row)
        elif name == "map":
            out[name] = steps.map_columns(store, out["header"], options)
        elif name == "dates":
            out[name] = steps.choose_date_order(con, out["header"], out["map"], options.date_order)
        elif name == "accounts":
            out[name] = steps.match_accounts(store, con, out["header"], out["map"], options.account_from)
        elif name == "load":
            out[name] = steps.load_lines(store, con, out["header"], out["map"], out["dates"], options.kind, 41)
        elif name == "leftovers":
            out[name] = steps.clean_leftovers(con, out["header"], out["map"], out["load"])
        elif name == "reconcile":
            out[name] = steps.reconcile_totals(con, options.kind, 41, out["header"].sheet_names)
        elif name == "rejects":
            out[name] = steps.reject_lines(con, out["map"], out["load"], out["leftovers"], options.kind, out["reconcile"])
        elif name == "settle":
            out[name] = steps.settle_accounts(store, con, out["reconcile"].staged, out["accounts"],
                                              options.account_from, options.kind, 41)
        elif name == "report":
            out[name] = steps.build_report(store, con, out["read"], data, "jan.csv", out["header"], out["map"],
                                           out["dates"], out["load"], out["rejects"], out["settle"],
                                           out["reconcile"], options)
    return out


def test_read_gives_the_format_the_hash_and_every_line_as_text(store, con):
    read = run(store, con, "header")["read"]
    assert read.fmt == "csv"
    assert read.sha256 == hashlib.sha256(FILE).hexdigest()
    assert [g.sheet for g in read.grids] == ["csv"]
    assert read.grids[0].table.num_rows == 7


def test_header_finds_row_2_under_the_title_and_keeps_the_five_lines_below(store, con):
    head = run(store, con, "header")["header"]
    assert head.columns == ["日期", "供应商", "数量", "销售额"]
    assert head.sheets[0]["header_row"] == 2
    assert head.sheets[0]["title"] == "2025年1月 销售明细"
    assert head.n_lines == 5
    assert head.preview[0] == {"row": 3, "日期": "2025-01-03", "供应商": "甲公司", "数量": "2", "销售额": "100"}


def test_header_at_the_users_row_takes_that_row_as_the_header(store, con):
    head = run(store, con, "header", options=ImportOptions(header_row=3))["header"]
    assert head.sheets[0]["header_row"] == 3
    assert head.columns == ["2025-01-03", "甲公司", "2", "100"]
    assert head.n_lines == 4


def test_map_finds_each_field_by_its_chinese_name_and_the_unit_in_brackets(store, con):
    cols = run(store, con, "map")["map"]
    assert cols.field_map == {"date": "日期", "supplier": "供应商", "qty": "数量", "amount": "销售额"}
    assert cols.col_of == {"date": "c0", "supplier": "c1", "qty": "c2", "amount": "c3"}
    assert (cols.account_field, cols.units, cols.used_profile) == ("supplier", {"amount": 1}, False)
    wan = run(store, con, "map", data=FILE.replace("销售额".encode(), "销售额(万元)".encode()))["map"]
    assert wan.units == {"amount": 10_000}


def test_map_asks_for_the_account_column_when_the_file_has_none(store, con):
    with pytest.raises(DecisionNeeded) as need:
        run(store, con, "map", options=ImportOptions(account_from="brand"))
    assert (need.value.code, need.value.options) == ("unmapped_required", ["brand"])


def test_dates_in_iso_form_read_alike_in_every_order_so_none_is_asked_and_ymd_is_taken(store, con):
    order = run(store, con, "dates")["dates"]
    assert (order.order, order.possible, order.chosen_by_user) == ("ymd", ("dmy", "mdy", "ymd"), False)


def test_a_day_above_twelve_settles_the_order(store, con):
    data = FILE.replace(b"2025-01-03", b"13/01/2025").replace(b"2025-01-04", b"14/01/2025").replace(b"2025-01-05", b"15/01/2025")
    order = run(store, con, "dates", data=data)["dates"]
    assert (order.order, order.possible) == ("dmy", ("dmy",))


def test_dates_that_fit_two_orders_ask_which(store, con):
    data = FILE.replace(b"2025-01-03", b"03/01/2025").replace(b"2025-01-04", b"04/01/2025").replace(b"2025-01-05", b"05/01/2025")
    with pytest.raises(DecisionNeeded) as need:
        run(store, con, "dates", data=data)
    assert (need.value.code, need.value.options) == ("date_order", ["dmy", "mdy"])


def test_accounts_are_the_trimmed_distinct_names(store, con):
    names = run(store, con, "accounts")["accounts"]
    assert names.name_map == {"乙公司": ("乙公司", "乙公司"), "甲公司": ("甲公司", "甲公司")}


def test_load_stages_the_two_good_lines_unseen_by_other_cursors(store, con):
    loaded = run(store, con, "load")["load"]
    assert (loaded.import_id, loaded.lines, loaded.loaded) == (41, 5, 2)
    assert con.execute("select source_row, account, amount::double from sales where import_id = 41 "
                       "order by source_row").fetchall() == [(3, "甲公司", 100.0), (6, "甲公司", 50.0)]
    assert store.cursor().execute("select count(*) from sales").fetchone()[0] == 0


def test_leftovers_keep_the_rejected_line_and_the_totals_row_and_count_the_blank_one(store, con):
    left = run(store, con, "leftovers")["leftovers"]
    assert (left.kept, left.blank) == (2, 1)
    assert con.execute("select src_row, row_class from cleaned order by src_row").fetchall() == [
        (4, "data"), (7, "totals")]


def test_reconcile_checks_the_totals_row_against_the_lines_above(store, con):
    totals = run(store, con, "reconcile")["reconcile"]
    assert totals.summary["status"] == "ok"
    assert (totals.summary["file_total"], totals.summary["lines_total"], totals.summary["totals_rows"]) == (150.0, 150.0, 1)
    assert totals.unlabelled_as_data is False


def test_rejects_name_the_cell_the_reason_and_its_code(store, con):
    rejects = run(store, con, "rejects")["rejects"]
    assert rejects.rows == [{"sheet": "csv", "row": 4, "column": "销售额", "value": "abc", "reason": "not a number",
                             "code": "bad_number", "params": {}}]
    assert rejects.by_reason == {"not a number": 1}
    assert rejects.by_code == {"bad_number": 1}
    assert rejects.counts == {"data": 2, "rejected": 1, "totals": 1, "blank": 1}
    assert rejects.rejected_amount == 0.0


def test_settle_counts_only_the_accounts_of_loaded_lines(store, con):
    settled = run(store, con, "settle")["settle"]
    assert settled.accounts == ["甲公司"]           # 乙公司's only line was rejected
    assert settled.new_aliases == [(alias_key("甲公司"), "甲公司", "甲公司")]
    assert settled.new_accounts == ["甲公司"]


def test_report_sums_what_was_loaded_read_skipped_and_rejected(store, con):
    d = run(store, con, "report")["report"].data
    assert (d["rows_read"], d["rows_accepted"], d["rows_skipped"], d["rows_rejected"]) == (5, 2, 2, 1)
    assert d["skipped_by_reason"] == {"totals": 1, "blank": 1}
    assert (d["amount_loaded"], d["totals"]["qty"], d["date_min"], d["date_max"]) == (150.0, 3.0, "2025-01-03", "2025-01-05")
    assert (d["accounts"], d["date_order"], d["sheets"][0]["header_row"]) == (1, "ymd", 2)
