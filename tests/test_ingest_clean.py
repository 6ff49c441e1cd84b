"""Number and date parsing: the DuckDB macros and their Python twins agree, value by value."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kam_core.imports.clean import (
    DATE_ORDERS,
    date_order_choice,
    date_orders,
    install_macros,
    is_blank,
    is_excel_error,
    parse_date,
    parse_number,
)


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    install_macros(c)
    install_macros(c)  # idempotent
    yield c
    c.close()


def sql_number(con, s):
    return con.execute("select kam_number(?), kam_number_ok(?)", [s, s]).fetchone()


def sql_date(con, s, order="ymd", date1904=False):
    fn = "kam_date1904" if date1904 else "kam_date"
    return con.execute(f"select {fn}(?, ?), {fn}_ok(?, ?)", [s, order, s, order]).fetchone()


def py_number(s):
    try:
        return parse_number(s), True
    except ValueError:
        return None, False


# -- numbers: hand-picked (bad_inputs.md §3.2) ---------------------------------

NUMBER_CASES = [
    ("1,234.50", 1234.5),
    ("１，２３４", 1234.0),
    ("１２３４．５", 1234.5),
    ("－１２", -12.0),
    ("¥1,234.00", 1234.0),
    ("￥1,234.00", 1234.0),
    ("RMB 1,234", 1234.0),
    ("cny12", 12.0),
    ("12元", 12.0),
    ("¥-5", -5.0),
    ("(1,234.00)", -1234.0),
    ("（1,234.00）", -1234.0),
    ("1234.50-", -1234.5),
    ("100.20 CR", -100.2),
    ("+3", 3.0),
    ("12.5%", 0.125),
    ("(12.5%)", -0.125),
    ("1.2E+05", 120000.0),
    ("-1e-05", -1e-05),
    ("'1007", 1007.0),
    ("\u00a0 42 \u3000", 42.0),
    ("\ufeff7", 7.0),
    (".5", 0.5),
    ("0", 0.0),
]


@pytest.mark.parametrize("text,value", NUMBER_CASES)
def test_messy_number_forms_parse_to_the_same_value_in_sql_and_python(con, text, value):
    assert sql_number(con, text) == (value, True)
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text", [None, "", "  ", "-", "--", "—", "/", "无", "NULL", "null", "'null", "N/A", "#N/A", "nan", "None", "#DIV/0!"]
)
def test_empty_markers_are_null_and_not_rejected(con, text):
    assert sql_number(con, text) == (None, True)
    assert parse_number(text) is None
    assert is_blank(text)


@pytest.mark.parametrize(
    "text", ["abc", "1234,50", "1.234,50", "12 34", "(5", "5)", "12%%", "+-3", "-(3)", "(3)-", "1e400", "9" * 400, "¥", "1,23"]
)
def test_text_that_is_not_a_number_is_null_and_flagged(con, text):
    assert sql_number(con, text) == (None, False)
    with pytest.raises(ValueError):
        parse_number(text)


def test_excel_error_values_are_recognised_for_counting(con):
    assert con.execute("select kam_excel_error('#REF!'), kam_excel_error('12'), kam_excel_error(null)").fetchone() == (
        True, False, False)
    assert is_excel_error(" #value! ") and not is_excel_error("-")


def _render_number(d: Decimal, style: int) -> str:
    neg = d < 0
    a = abs(d)
    plain = f"{a:.2f}"
    grouped = f"{a:,.2f}"
    fw = grouped.translate(str.maketrans("0123456789,.", "０１２３４５６７８９，．"))
    if style == 0:
        return ("-" if neg else "") + plain
    if style == 1:
        return ("-" if neg else "") + grouped
    if style == 2:
        return "¥" + ("-" if neg else "") + grouped
    if style == 3:
        return ("－" if neg else "") + fw
    if style == 4:
        return f"({grouped})" if neg else grouped
    if style == 5:
        return f"（{fw}）" if neg else fw
    if style == 6:
        return grouped + ("-" if neg else "")
    if style == 7:
        return ("-" if neg else "+") + plain + " 元"
    return f"  RMB {'-' if neg else ''}{grouped}\u00a0"


@settings(max_examples=150, deadline=None)
@given(
    d=st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2,
                  allow_nan=False, allow_infinity=False),
    style=st.integers(min_value=0, max_value=8),
)
def test_generated_amounts_round_trip_through_every_messy_rendering(con, d, style):
    text = _render_number(d, style)
    expected = float(d)
    assert parse_number(text) == expected, text
    assert sql_number(con, text) == (expected, True), text


# -- dates ----------------------------------------------------------------------

DATE_CASES = [
    ("2025-01-03", "ymd", dt.date(2025, 1, 3)),
    ("2025-01-03 12:30:00", "ymd", dt.date(2025, 1, 3)),
    ("2025-01-03T12:30", "dmy", dt.date(2025, 1, 3)),
    ("2025-01-03T12:30:00+08:00", "ymd", dt.date(2025, 1, 3)),
    ("2025/1/3", "mdy", dt.date(2025, 1, 3)),
    ("2025.1.3", "ymd", dt.date(2025, 1, 3)),
    ("2025年1月3日", "dmy", dt.date(2025, 1, 3)),
    ("２０２５年１月３号", "ymd", dt.date(2025, 1, 3)),
    ("20250103", "mdy", dt.date(2025, 1, 3)),
    ("2018-01-01 星期五", "ymd", dt.date(2018, 1, 1)),  # weekday wrong in the file; ignored
    ("2018-01-01 周一", "ymd", dt.date(2018, 1, 1)),
    ("2025-01-03 Mon", "ymd", dt.date(2025, 1, 3)),
    ("2025-01-03 (Friday)", "ymd", dt.date(2025, 1, 3)),
    ("2018/5/16 9:41", "ymd", dt.date(2018, 5, 16)),
    ("2025/01/03 下午3:30", "ymd", dt.date(2025, 1, 3)),
    ("3/1/2025", "dmy", dt.date(2025, 1, 3)),
    ("3/1/2025", "mdy", dt.date(2025, 3, 1)),
    ("03/01/19", "dmy", dt.date(2019, 1, 3)),
    ("03-01-25", "mdy", dt.date(2025, 3, 1)),
    ("19/03/01", "ymd", dt.date(2019, 3, 1)),
    ("11/11/2016", "dmy", dt.date(2016, 11, 11)),
    ("1", "ymd", dt.date(1900, 1, 1)),
    ("59", "ymd", dt.date(1900, 2, 28)),
    ("61", "ymd", dt.date(1900, 3, 1)),
    ("43101", "dmy", dt.date(2018, 1, 1)),
    ("45000.75", "ymd", dt.date(2023, 3, 15)),
    ("2958465", "ymd", dt.date(9999, 12, 31)),
]


@pytest.mark.parametrize("text,order,value", DATE_CASES)
def test_date_forms_parse_to_the_same_date_in_sql_and_python(con, text, order, value):
    assert sql_date(con, text, order) == (value, True)
    assert parse_date(text, order) == value


@pytest.mark.parametrize(
    "text,order",
    [("2018-02-29", "ymd"), ("2025-13-01", "ymd"), ("2025-04-31", "dmy"), ("31/02/2025", "dmy"),
     ("13/13/2025", "mdy"), ("3/1/2025", "ymd"), ("60", "ymd"), ("0", "ymd"), ("2958466", "ymd"),
     ("2025年1月", "ymd"), ("abc", "ymd"), ("2025-01-03 garbage", "ymd"), ("0999-01-01", "ymd")],
)
def test_impossible_or_unreadable_dates_are_null_and_flagged(con, text, order):
    assert sql_date(con, text, order) == (None, False)
    assert parse_date(text, order) is None


def test_the_1904_date_system_counts_from_1904_01_01(con):
    assert sql_date(con, "0", date1904=True) == (dt.date(1904, 1, 1), True)
    assert sql_date(con, "60", date1904=True) == (dt.date(1904, 3, 1), True)
    assert parse_date("1", date1904=True) == dt.date(1904, 1, 2)
    # a text date does not depend on the serial system
    assert parse_date("2025-01-03", date1904=True) == dt.date(2025, 1, 3)


def test_empty_date_markers_are_null_but_accepted(con):
    for text in [None, "", "-", "无", "#N/A"]:
        assert sql_date(con, text, "dmy") == (None, True)


def test_an_unknown_date_order_is_refused_by_the_python_twin():
    with pytest.raises(ValueError):
        parse_date("2025-01-03", "ydm")


def _render_date(d: dt.date, style: int) -> tuple[str, tuple[str, ...]]:
    """A rendering and the orders under which it must read back as ``d``."""
    y, m, dd = d.year, d.month, d.day
    forms = [
        (f"{y:04d}-{m:02d}-{dd:02d}", DATE_ORDERS),
        (f"{y}/{m}/{dd} 9:05", DATE_ORDERS),
        (f"{y}.{m}.{dd}", DATE_ORDERS),
        (f"{y}年{m}月{dd}日", DATE_ORDERS),
        (f"{y:04d}{m:02d}{dd:02d}", DATE_ORDERS),
        (f"{y:04d}-{m:02d}-{dd:02d} 星期三", DATE_ORDERS),
        (f"{dd}/{m}/{y}", ("dmy",)),
        (f"{m:02d}/{dd:02d}/{y}", ("mdy",)),
        (f"{dd:02d}-{m:02d}-{y % 100:02d}", ("dmy",)),
        (f"{y % 100:02d}/{m}/{dd}", ("ymd",)),
        (str((d - dt.date(1899, 12, 30)).days), DATE_ORDERS),
    ]
    return forms[style]


@settings(max_examples=150, deadline=None)
@given(d=st.dates(min_value=dt.date(2000, 3, 1), max_value=dt.date(2099, 12, 31)),
       style=st.integers(min_value=0, max_value=10))
def test_generated_dates_round_trip_through_every_format_and_order(con, d, style):
    text, orders = _render_date(d, style)
    for order in orders:
        assert parse_date(text, order) == d, (text, order)
        assert sql_date(con, text, order) == (d, True), (text, order)


@settings(max_examples=60, deadline=None)
@given(y=st.integers(min_value=1001, max_value=2999).filter(lambda y: y % 4 != 0 or (y % 100 == 0 and y % 400 != 0)),
       order=st.sampled_from(DATE_ORDERS))
def test_february_29_of_a_common_year_is_never_rolled_over(con, y, order):
    for text in (f"{y}-02-29", f"{y}年2月29日", f"{y}0229"):
        assert parse_date(text, order) is None
        assert sql_date(con, text, order) == (None, False)


# -- which order fits a column ------------------------------------------------------

def _column(con, values):
    con.register("dates_t", pa.table({"c0": pa.array(values, pa.string())}))
    return "dates_t"


def test_iso_and_serial_columns_make_the_order_irrelevant(con):
    rel = _column(con, ["2025-01-03", "2025年2月1日", "45000", None, "-"])
    choice = date_order_choice(con, rel, "c0")
    assert choice.possible == frozenset(DATE_ORDERS) and not choice.ambiguous
    assert choice.order_irrelevant and choice.order == "ymd"
    assert date_orders(con, rel, "c0") == {"ymd", "dmy", "mdy"}


def test_day_month_ambiguous_column_asks_and_shows_examples(con):
    rel = _column(con, ["03/04/2025", "05/05/2025", "2025-01-01"])
    choice = date_order_choice(con, rel, "c0")
    assert choice.possible == {"dmy", "mdy"}
    assert choice.ambiguous and choice.order is None
    assert choice.examples == ["03/04/2025"]  # 05/05 reads the same both ways


def test_a_day_above_twelve_settles_the_order(con):
    rel = _column(con, ["03/04/2025", "13/04/2025"])
    choice = date_order_choice(con, rel, "c0")
    assert choice.possible == {"dmy"} and not choice.ambiguous and choice.order == "dmy"
    assert choice.bad_counts == {"ymd": 2, "dmy": 0, "mdy": 1}


def test_a_column_with_an_impossible_date_still_gets_an_order_but_not_every_value_parses(con):
    rel = _column(con, ["2018-01-01 星期五", "2018-02-29 星期四"])
    choice = date_order_choice(con, rel, "c0")
    assert choice.possible == frozenset(DATE_ORDERS) and choice.order == "ymd"
    assert choice.unparsed == 1
    assert date_orders(con, rel, "c0") == set()


def test_macros_clean_a_million_plain_cells_in_about_a_second(con):
    import time

    n = 1_000_000
    con.register("big_t", pa.table({"c0": pa.array(["1,234.50", "42", "-7.25", ""] * (n // 4)),
                                    "c1": pa.array(["2018-01-01 星期五", "2025-01-03", "2018/5/16 9:41", None] * (n // 4))}))
    t0 = time.perf_counter()
    row = con.execute("select sum(kam_number(c0)), count(kam_date(c1, 'ymd')) from big_t").fetchone()
    elapsed = time.perf_counter() - t0
    assert row == (pytest.approx((1234.5 + 42 - 7.25) * n / 4), 3 * n // 4)
    assert elapsed < 5  # measured ~0.6 s alone; the machine is shared


def test_temporary_macros_work_on_a_read_only_database(tmp_path):
    path = tmp_path / "ro.duckdb"
    duckdb.connect(str(path)).close()
    ro = duckdb.connect(str(path), read_only=True)
    try:
        install_macros(ro, temporary=True)
        assert ro.execute("select kam_number('(1,234.00)'), kam_date_ok('2018-02-29', 'ymd')").fetchone() == (
            -1234.0, False)
    finally:
        ro.close()


REAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"


def _as_text(c) -> str | None:
    """Cells as the readers hand them over (DESIGN.md: ints without .0, floats by repr)."""
    if c is None or c == "":
        return None
    if isinstance(c, float):
        return str(int(c)) if c.is_integer() else repr(c)
    return str(c)


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real fixtures folder {REAL} is absent")
def test_pharmacy_file_totals_and_impossible_dates_come_out_of_the_macros(con):
    python_calamine = pytest.importorskip("python_calamine")
    wb = python_calamine.CalamineWorkbook.from_path(str(REAL / "bdap_朝阳医院2018年销售数据.xlsx"))
    rows = wb.get_sheet_by_name("Sheet1").to_python(skip_empty_area=False)[1:]
    cols = list(zip(*rows))
    con.register("pharmacy_t", pa.table({f"c{i}": pa.array([_as_text(c) for c in col], pa.string())
                                         for i, col in enumerate(cols)}))
    row = con.execute(
        "select round(sum(kam_number(c5)), 2), round(sum(kam_number(c6)), 2),"
        " count(*) filter (where not kam_number_ok(c5) or not kam_number_ok(c6)),"
        " count(*) filter (where not kam_date_ok(c0, 'ymd')),"
        " count(*) filter (where c0 like '2018-02-29%'),"
        " count(*) filter (where kam_number(c6) < 0)"
        " from pharmacy_t").fetchone()
    assert row == (331966.2, 304630.26, 0, 23, 23, 16)
    choice = date_order_choice(con, "pharmacy_t", "c0")
    assert choice.order_irrelevant and choice.unparsed == 23
