"""Hostile and broken files through the whole import: a clear message, and the database unchanged.

Also the hard stop: a process killed in the middle of a load leaves the
database as it was, and openable.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import hostile_files as hf
from kam_core.imports.errors import ImportRejected
from kam_core.imports.pipeline import ImportOptions, import_file, list_imports, prepare_import
from kam_core.store import open_store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "h.duckdb")
    import_file(s, hf.sales_csv(20), "base.csv")      # something to keep intact
    yield s
    s.close()


def snapshot(store):
    cur = store.cursor()
    return (cur.execute("select count(*), sum(amount) from sales").fetchone(), len(list_imports(store)),
            store.data_version())


CASES = [
    ("billion_laughs.xlsx", hf.billion_laughs_xlsx, "xml_entities"),
    ("xxe.xlsx", hf.xxe_xlsx, "xml_entities"),
    ("zipbomb.xlsx", hf.zip_bomb_xlsx, "zip_bomb"),
    ("encrypted.xlsx", hf.encrypted_xlsx, "encrypted"),
    ("truncated.xlsx", hf.truncated_xlsx, "truncated"),
    ("bit_rot.xlsx", hf.bit_rot_xlsx, "truncated"),
    ("bit_rot_sheet.xlsx", lambda: hf.bit_rot_xlsx("xl/worksheets/sheet1.xml"), "truncated"),
    ("html_table.xls", hf.html_table_xls, "html_as_xls"),
    ("spreadsheetml2003.xls", hf.spreadsheetml2003_xls, "spreadsheetml_2003"),
    ("power_pivot.xlsx", hf.power_pivot_only_xlsx, "power_pivot_only"),
    ("noise.xlsx", hf.noise_bin, "not_a_spreadsheet"),
    ("empty.csv", hf.empty_csv, "empty"),
    ("short_record.csv", hf.short_record_csv, "field_count"),
    ("zip20.xlsx", hf.future_zip_version_xlsx, "unreadable"),
    ("deflate64.xlsx", hf.deflate64_part_xlsx, "unreadable"),
    ("lying_offset.xlsx", hf.lying_directory_offset_xlsx, "truncated"),   # found by the fuzz run
    ("nameless_part.xlsx", hf.nameless_part_xlsx, "truncated"),
]


@pytest.mark.parametrize("name,make,code", CASES, ids=[c[0] for c in CASES])
def test_a_hostile_or_broken_file_is_refused_by_name_and_nothing_changes(store, name, make, code):
    before = snapshot(store)
    with pytest.raises(ImportRejected) as exc:
        import_file(store, make(), name)
    assert exc.value.code == code
    assert exc.value.message                      # a sentence for the user, not a stack trace
    assert snapshot(store) == before


def test_a_zip_bomb_is_refused_fast_and_without_inflating(store):
    data = hf.zip_bomb_xlsx(200)
    start = time.perf_counter()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImportRejected):
        prepare_import(store, data, "bomb.xlsx")
    assert time.perf_counter() - start < 2.0
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 500


def test_disguised_but_readable_files_are_read_by_their_content(store):
    # a GBK TSV saved as .xls is text: it is read as such, and the report says so
    _, plan = import_file(store, hf.tsv_as_xls(), "tsv_as.xls")
    d = plan.report.data
    assert (d["format"], d["delimiter"], d["rows_accepted"]) == ("csv", "\t", 2)
    assert d["encoding"] in ("gb18030", "gbk")
    assert d["amount_loaded"] == pytest.approx(300.5)
    # an xlsx renamed .csv is read as the workbook it is
    _, plan = import_file(store, hf.sales_xlsx(10), "really_an_xlsx.csv")
    assert plan.report.data["format"] == "xlsx" and plan.report.data["rows_accepted"] == 10


def test_a_wrong_dimension_does_not_cut_the_sheet(store):
    rows = [hf.SALES_HEADER] + hf.sales_rows(100)
    data = hf.build_xlsx({"Sheet1": hf.sheet_xml(rows, dimension="A1:A1")})
    _, plan = import_file(store, data, "wrong_dimension.xlsx")
    assert plan.report.data["rows_accepted"] == 100


def test_formula_text_from_a_csv_is_kept_as_text_and_flagged(store):
    text = "日期,供应商,销售额\n2025-01-02,\"=cmd|' /C calc'!A0\",1\n2025-01-02,@SUM(A1),2\n2025-01-02,甲,-3\n"
    _, plan = import_file(store, text.encode("utf-8"), "formula.csv")
    assert plan.report.data["formula_cells"] == 2          # -3 is a number, not a formula
    names = {r[0] for r in store.cursor().execute("select account from sales where import_id = 2").fetchall()}
    assert "=cmd|' /C calc'!A0" in names


KILLER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from kam_core.store import open_store
    from kam_core.imports import pipeline
    store = open_store({db!r})
    plan = pipeline.prepare_import(store, open({file!r}, 'rb').read(), 'big.csv')
    original = pipeline.Store.bump_data_version
    def slow_bump(cur):
        original(cur)
        print('LOADING', flush=True)       # rows are inserted, the transaction is still open
        time.sleep(60)
    pipeline.Store.bump_data_version = staticmethod(slow_bump)
    pipeline.commit_import(store, plan)
""")


@pytest.mark.slow
def test_killing_the_process_in_the_middle_of_a_load_leaves_the_database_as_it_was(tmp_path):
    db = tmp_path / "kill.duckdb"
    s = open_store(db)
    import_file(s, hf.sales_csv(50), "before.csv")
    before = snapshot(s)
    s.close()
    big = tmp_path / "big.csv"
    big.write_bytes(hf.sales_csv(20000, seed=9))
    code = KILLER.format(root=str(ROOT), db=str(db), file=str(big))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "LOADING", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    s = open_store(db)           # opens (replaying the WAL if any) and shows the old state
    assert snapshot(s) == before
    import_file(s, big.read_bytes(), "big.csv")   # and the same file can then be loaded
    assert s.cursor().execute("select count(*) from sales").fetchone()[0] == before[0][0] + 20000
    s.close()


# --- what a file costs follows what it holds ------------------------------------------------

@pytest.mark.parametrize("name, make", [
    ("wide.csv", lambda: hf.wide_csv(501)),
    ("ZZZZZ1.xlsx", lambda: hf.far_cell_xlsx("ZZZZZ1")),        # 5 KB claiming 12 million columns
    ("col_AAAA.xlsx", lambda: hf.far_cell_xlsx("AAAA2")),
    ("col_SG.xlsx", lambda: hf.far_cell_xlsx("SG2")),             # column 501
], ids=["csv of 501 columns", "xlsx cell at ZZZZZ1", "xlsx cell at AAAA2", "xlsx cell at SG2"])
def test_a_sheet_wider_than_the_column_limit_is_refused_naming_the_limit(store, name, make):
    before = snapshot(store)
    start = time.perf_counter()
    with pytest.raises(ImportRejected) as exc:
        prepare_import(store, make(), name)
    assert time.perf_counter() - start < 30          # a hang guard: the refusal itself takes well under a second
    assert exc.value.code == "too_many_columns"
    assert "at most 500 columns (to column SF)" in exc.value.message
    assert snapshot(store) == before


def test_a_sheet_of_exactly_the_column_limit_imports(store):
    _, plan = import_file(store, hf.wide_csv(500), "500.csv")
    d = plan.report.data
    assert (d["rows_accepted"], len(d["sheets"][0]["columns"])) == (20, 500)
    assert d["amount_loaded"] == sum(range(1, 21))
    _, plan = import_file(store, hf.far_cell_xlsx("SF2"), "SF.xlsx")   # a cell in column 500 is inside the limit
    assert (plan.report.data["rows_accepted"], len(plan.report.data["sheets"][0]["columns"])) == (1, 500)


def test_the_column_limit_is_the_departments_setting(store):
    from kam_core.settings import save_settings

    save_settings(store, {"import_max_columns": 40})
    for name, data in (("41.csv", hf.wide_csv(41)), ("AO.xlsx", hf.far_cell_xlsx("AO2"))):   # AO is column 41
        before = snapshot(store)
        with pytest.raises(ImportRejected) as exc:
            prepare_import(store, data, name)
        assert exc.value.code == "too_many_columns"
        assert "at most 40 columns (to column AN)" in exc.value.message
        assert snapshot(store) == before
    _, plan = import_file(store, hf.wide_csv(40), "40.csv")          # exactly the limit still imports
    assert (plan.report.data["rows_accepted"], len(plan.report.data["sheets"][0]["columns"])) == (20, 40)
    save_settings(store, {"import_max_columns": 600})
    _, plan = import_file(store, hf.wide_csv(501), "501.csv")        # and a wider one once it is raised
    assert len(plan.report.data["sheets"][0]["columns"]) == 501


@pytest.mark.parametrize("ref", ["SF100000", "SF1048576"])
def test_a_small_workbook_whose_cells_claim_a_huge_sheet_is_stopped_by_what_it_holds(store, ref):
    # 3 KB; the reader would fill 50 million (or 524 million) empty cells between A1 and SF…
    before = snapshot(store)
    with pytest.raises(ImportRejected) as exc:
        prepare_import(store, hf.far_cell_xlsx(ref), "spread.xlsx")
    assert exc.value.code == "too_large"
    assert snapshot(store) == before


def test_a_header_cell_of_a_million_characters_is_cut_to_a_name(store):
    # a big CSV read as UTF-16 without its mark turns into a few huge "header" cells (found by
    # the fuzz run: a minute matching them against every synonym, and a 1.2 MB message)
    text = "日期,供应商,销售额," + "备" * 1_000_000 + "\n" + "2025-01-02,甲,1,x\n" * 3
    start = time.perf_counter()
    _, plan = import_file(store, text.encode("utf-8"), "huge_header.csv")
    assert time.perf_counter() - start < 30          # a hang guard
    columns = plan.report.data["sheets"][0]["columns"]
    assert columns[:3] == ["日期", "供应商", "销售额"] and columns[3] == "备" * 255
    assert plan.report.data["rows_accepted"] == 3
