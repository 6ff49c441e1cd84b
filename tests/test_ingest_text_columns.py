"""Excel cells converted to text column by column give exactly what the cell-by-cell definition gives."""
from __future__ import annotations

import datetime
import gc
import io
import math
import threading
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest
import python_calamine as calamine
from hypothesis import given, settings
from hypothesis import strategies as st

import hostile_files as hf
from kam_core.ingest import readers
from kam_core.ingest.detect import Limits, sniff_format
from kam_core.ingest.readers import _column_text, _text_table, _text_table_reference, read_grid

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="real fixtures live in ../shared/fixtures/real, absent in this checkout")


def calamine_rows(data: bytes, sheet: str | int = 0) -> list[list[object]]:
    wb = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    ws = wb.get_sheet_by_index(sheet) if isinstance(sheet, int) else wb.get_sheet_by_name(sheet)
    return ws.to_python(skip_empty_area=False)


def assert_same_table(rows: list[list[object]], errors: dict[tuple[int, int], str] | None = None) -> pa.Table:
    errors = errors or {}
    expected = _text_table_reference([list(r) for r in rows], errors)
    got = _text_table([list(r) for r in rows], errors)
    assert got.schema == expected.schema
    assert got.to_pydict() == expected.to_pydict()
    return got


# --- every kind of cell, through a real workbook ---------------------------------------------

EVERY_KIND = [
    ["金额", "数量", "日期", "时间戳", "标志", "错误", "混合", "空"],
    [0.1 + 0.2, 3.0, datetime.date(2024, 1, 5), datetime.datetime(2024, 1, 5, 13, 45, 7), True, "#ERR:#N/A", 1.5, ""],
    [1e16, -4.0, datetime.date(1900, 3, 1), datetime.datetime(2024, 1, 5), False, "#ERR:#DIV/0!", "文字", None],
    [-0.0, 1e15, None, datetime.datetime(1950, 5, 6, 12, 0, 0), None, "#ERR:#VALUE!", datetime.date(2024, 2, 29), ""],
    [2.5e-7, 999999999999999.0, datetime.date(2099, 12, 31), datetime.datetime(1969, 12, 31, 23, 59, 59), True, None, True, None],
    [1e-5, -1e15, datetime.date(2024, 1, 5), None, False, "#ERR:#REF!", "#ERR:#NAME?", ""],
    [0.0001, 2.0 ** 53, "", datetime.datetime(2024, 1, 5, 0, 0, 1), "", "x", 7.0, None],
    [1 / 3, 1e20, "合计", "合计", "合计", "", None, None],
]


def test_a_workbook_with_every_kind_of_cell_converts_exactly_as_cell_by_cell():
    data = hf.build_xlsx({"S": hf.sheet_xml(EVERY_KIND)})
    rows = calamine_rows(data)
    errors = readers._error_cells(data, "xlsx", "S", Limits())
    got = assert_same_table(rows, errors)
    # and the values themselves are the DESIGN.md ones, worked out by hand
    assert got.column("c0").to_pylist() == ["金额", "0.30000000000000004", "1e+16", "0", "2.5e-07", "1e-05", "0.0001",
                                            "0.3333333333333333"]
    assert got.column("c1").to_pylist() == ["数量", "3", "-4", "1000000000000000.0", "999999999999999",
                                            "-1000000000000000.0", "9007199254740992.0", "1e+20"]
    assert got.column("c3").to_pylist()[1:6] == ["2024-01-05 13:45:07", "2024-01-05", "1950-05-06 12:00:00",
                                                 "1969-12-31 23:59:59", None]
    assert got.column("c5").to_pylist() == ["错误", "#N/A", "#DIV/0!", "#VALUE!", None, "#REF!", "x", None]
    assert read_grid(data, "xlsx").table.to_pydict() == got.to_pydict()


def test_times_durations_and_date_datetime_mixes_from_openpyxl_convert_exactly_as_cell_by_cell():
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["时间", "时长", "日期混合"])
    ws.append([datetime.time(13, 5, 9), datetime.timedelta(hours=30, minutes=5), datetime.date(2024, 1, 5)])
    ws.append([datetime.time(0, 0, 0), datetime.timedelta(seconds=59), datetime.datetime(2024, 1, 5, 8, 30)])
    ws.append([None, None, datetime.datetime(2024, 1, 6)])
    buf = io.BytesIO()
    book.save(buf)
    got = assert_same_table(calamine_rows(buf.getvalue()))
    assert got.column("c0").to_pylist() == ["时间", "13:05:09", "00:00:00", None]
    assert got.column("c1").to_pylist() == ["时长", "30:05:00", "0:00:59", None]
    assert got.column("c2").to_pylist() == ["日期混合", "2024-01-05", "2024-01-05 08:30:00", "2024-01-06"]


def test_leading_blank_rows_short_rows_and_error_cells_past_the_last_value_keep_their_places():
    rows = [[], ["", ""], ["a", 1.0, 2.0], ["b"]]
    got = assert_same_table(rows, {(3, 4): "#N/A", (9, 0): "#REF!"})  # row 9 is beyond the sheet: ignored
    assert got.to_pydict() == {"c0": [None, None, "a", "b"], "c1": [None, None, "1", None], "c2": [None, None, "2", None],
                               "c3": [None] * 4, "c4": [None, None, None, "#N/A"], "_row": [1, 2, 3, 4]}


# --- values calamine seldom gives, straight into the column converter --------------------------

@pytest.mark.parametrize("column", [
    ("h", 1e-6, 9.99e-5, -1.5e-5, 5e-324, 1.7976931348623157e308, 123456789012345680.0, math.inf, -math.inf),
    ("h", math.nan, 0.5, ""),
    ("h", 3, -7, 2 ** 62, ""),
    ("h", 2 ** 70, 1),  # beyond int64: cell by cell
    ("h", True, False, ""),
    (datetime.datetime(1950, 5, 6, 0, 0, 0, 500000), datetime.datetime(2024, 1, 5, 0, 0, 0, 1),
     datetime.datetime(1969, 12, 31, 23, 59, 59, 999999), datetime.datetime(1900, 1, 1)),
    ("h", 1.0, 2, True, datetime.date(2024, 1, 1), datetime.time(1, 2, 3), ""),
])
def test_odd_values_convert_column_wise_exactly_as_cell_by_cell(column):
    expected = [readers._cell_text(v) for v in column]
    assert _column_text(column).to_pylist() == expected


floats = st.floats(allow_nan=False) | st.integers(-10**6, 10**6).map(float) | st.floats(-1e-3, 1e-3)
datetimes = st.datetimes(min_value=datetime.datetime(1900, 1, 1), max_value=datetime.datetime(2200, 1, 1))
cells = st.one_of(st.none(), st.just(""), st.text(max_size=3), floats, st.booleans(), st.integers(-2**63, 2**63 - 1),
                  st.dates(min_value=datetime.date(1900, 1, 1)), datetimes, st.times(), st.timedeltas(
                      min_value=datetime.timedelta(0), max_value=datetime.timedelta(days=100)))
kinds = st.sampled_from(["float", "date", "datetime", "int", "bool", "any"])


@settings(max_examples=150, deadline=None)
@given(kind=kinds, data=st.data())
def test_generated_columns_convert_exactly_as_cell_by_cell(kind, data):
    one = {"float": floats, "date": st.dates(min_value=datetime.date(1900, 1, 1)), "datetime": datetimes,
           "int": st.integers(-2**63, 2**63 - 1), "bool": st.booleans(), "any": cells}[kind]
    column = data.draw(st.lists(st.one_of(one, st.just(""), st.text(max_size=2)), min_size=1, max_size=30))
    column = [v for v in column if v is not None]  # calamine gives "" for an empty cell, never None
    if column:
        assert _column_text(tuple(column)).to_pylist() == [readers._cell_text(v) for v in column]


# --- real workbooks ------------------------------------------------------------------------

@needs_real
def test_every_real_workbook_sheet_converts_exactly_as_cell_by_cell():
    checked = 0
    for path in sorted(REAL.iterdir()):
        data = path.read_bytes()
        fmt = sniff_format(data, path.name)
        if fmt == "csv":
            continue
        for name in calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names:
            rows = calamine_rows(data, name)
            errors = readers._error_cells(data, fmt, name, Limits())
            got = assert_same_table(rows, errors)
            assert read_grid(data, fmt, name).table.to_pydict() == got.to_pydict(), (path.name, name)
            checked += 1
    assert checked >= 14  # 5 workbooks; 2 xls + 3 xlsx with 16 sheets between them


# --- the paused collector -------------------------------------------------------------------

def test_reading_a_sheet_leaves_the_garbage_collector_as_it_found_it_even_from_several_threads():
    data = hf.sales_xlsx(50)
    assert gc.isenabled()
    errors: list[BaseException] = []

    def read() -> None:
        own = bytes(bytearray(data))  # one bytes object per thread: a calamine workbook is not shared across threads
        try:
            for _ in range(5):
                read_grid(own, "xlsx")
                readers.forget_cached()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and gc.isenabled()
    gc.disable()
    try:
        read_grid(data, "xlsx")
        assert not gc.isenabled()  # a caller that had it off finds it still off
    finally:
        gc.enable()
