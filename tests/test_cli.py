"""The command line's contract: commands, exit codes, output formats."""
from __future__ import annotations

import csv
import os
import re
import io
import json
from pathlib import Path

import pytest

from kam_core.cli import build_parser, main
from kam_core.locales.labels import setting_help

ROOT = Path(__file__).resolve().parents[1]

CSV_2024 = "日期,供应商,销售额,成本\n2024-03-01,甲,6000000,5000000\n2024-03-02,乙,100,50\n"
CSV_2025 = "日期,供应商,销售额,成本\n2025-03-01,甲,20000000,15000000\n2025-03-02,乙,4999999.99,4000000\n"


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "cli.duckdb")


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return str(p)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_loads_and_imports_json_lists_it(tmp_path, db, capsys):
    f = write(tmp_path, "a.csv", CSV_2025)
    code, out, err = run(capsys, "--db", db, "import", f)
    assert code == 0, err
    assert "rows read: 2" in out and "loaded import 1" in out
    code, out, _ = run(capsys, "--db", db, "imports", "--format", "json")
    [row] = json.loads(out)
    assert row["file_name"] == "a.csv" and row["rows_loaded"] == 2 and row["status"] == "loaded"
    assert row["amount_total"] == pytest.approx(24999999.99)
    assert row["date_min"] == "2025-03-01" and row["date_max"] == "2025-03-02"


def test_dry_run_prints_the_report_and_writes_nothing(tmp_path, db, capsys):
    f = write(tmp_path, "a.csv", CSV_2025)
    code, out, _ = run(capsys, "--db", db, "import", "--dry-run", f)
    assert code == 0 and "dry run: nothing written" in out
    code, out, _ = run(capsys, "--db", db, "imports", "--format", "json")
    assert json.loads(out) == []


def test_the_same_file_twice_exits_2_with_the_reason_and_writes_nothing(tmp_path, db, capsys):
    f = write(tmp_path, "a.csv", CSV_2025)
    assert run(capsys, "--db", db, "import", f)[0] == 0
    code, out, err = run(capsys, "--db", db, "import", f)
    assert code == 2 and "duplicate_file" in err
    assert run(capsys, "--db", db, "import", "--force", f)[0] == 0


def test_ambiguous_dates_exit_2_until_the_order_is_given(tmp_path, db, capsys):
    f = write(tmp_path, "d.csv", "date,supplier,amount\n03/04/2025,A,1\n")
    code, _, err = run(capsys, "--db", db, "import", f)
    assert code == 2 and "date_order" in err
    assert run(capsys, "--db", db, "import", "--date-order", "mdy", f)[0] == 0


def test_a_broken_file_exits_2_and_a_missing_file_does_not_crash(tmp_path, db, capsys):
    f = tmp_path / "broken.xlsx"
    f.write_bytes(b"PK\x03\x04 this is not a whole zip")
    code, _, err = run(capsys, "--db", db, "import", str(f))
    assert code == 2 and "rejected" in err
    code, _, err = run(capsys, "--db", db, "import", str(tmp_path / "missing.csv"))
    assert code == 2 and "missing.csv" in err


def test_map_unit_and_account_source_options(tmp_path, db, capsys):
    f = write(tmp_path, "m.csv", "日子,牌子,钱\n2025-01-02,甲牌,1.5\n")
    code, _, err = run(capsys, "--db", db, "import", "--map", "date=日子", "--map", "brand=牌子", "--map", "amount=钱",
                       "--account-from", "brand", "--unit", "wan", f)
    assert code == 0, err
    code, out, _ = run(capsys, "--db", db, "tiers", "--year", "2025")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["account"], r["sales"]) for r in rows] == [("甲牌", "15000.00")]


def test_undo_removes_an_import(tmp_path, db, capsys):
    f = write(tmp_path, "a.csv", CSV_2025)
    run(capsys, "--db", db, "import", f)
    code, out, _ = run(capsys, "--db", db, "undo", "1")
    assert code == 0 and "2 rows removed" in out
    code, _, err = run(capsys, "--db", db, "undo", "1")
    assert code == 2 and "already undone" in err


def test_tiers_csv_has_the_exact_columns_and_hand_worked_values(tmp_path, db, capsys):
    run(capsys, "--db", db, "import", write(tmp_path, "a.csv", CSV_2024))
    run(capsys, "--db", db, "import", write(tmp_path, "b.csv", CSV_2025))
    code, out, _ = run(capsys, "--db", db, "tiers", "--year", "2025", "--format", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == ("account,year,sales,gross_profit,margin,share,profit_share,rank,profit_rank,"
                        "cum_share,abc,yoy,tier,to_next_tier")
    # 甲: 20,000,000 of 24,999,999.99 → share 0.800000 (0.8000000032); margin 0.25; yoy 20M/6M − 1 = 2.333333
    # 甲 crosses 80 % first, so it is A; 乙's cumulative share before it is 0.8 → B.
    assert lines[1] == "甲,2025,20000000.00,5000000.00,0.250000,0.800000,0.833333,1,1,0.800000,A,2.333333,partner,30000000.00"
    # 乙: 4,999,999.99 is one cent below the ordinary threshold; yoy 4,999,999.99 / 100 − 1
    assert lines[2] == "乙,2025,4999999.99,999999.99,0.200000,0.200000,0.166667,2,2,1.000000,B,49998.999900,none,0.01"


def test_tiers_json_and_cost_basis(tmp_path, db, capsys):
    run(capsys, "--db", db, "import", write(tmp_path, "b.csv", CSV_2025))
    code, out, _ = run(capsys, "--db", db, "tiers", "--year", "2025", "--basis", "cost", "--format", "json")
    rows = json.loads(out)
    assert [(r["account"], r["tier"]) for r in rows] == [("甲", "ordinary"), ("乙", "none")]


def test_tiers_csv_prefixes_formula_text_with_a_quote_while_json_stays_raw(tmp_path, db, capsys):
    # OWASP's rule: a cell that starts with = + - @, a tab or CR is text to a spreadsheet only
    # behind a leading '; the numbers of the same rows stay as they are
    names = ['=HYPERLINK("http://127.0.0.1:9/","x")', "+cmd|' /C calc'!A0", "@SUM(A1)"]
    body = "日期,供应商,销售额,成本\n" + "".join(
        f'2025-03-0{i + 1},"{name.replace(chr(34), chr(34) * 2)}",{(i + 1) * 1000},{(i + 1) * 500}\n'
        for i, name in enumerate(names))
    code, _, err = run(capsys, "--db", db, "import", write(tmp_path, "f.csv", body))
    assert code == 0, err
    code, out, _ = run(capsys, "--db", db, "tiers", "--year", "2025", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    # ranked by sales: 3,000 (@SUM), 2,000 (+cmd), 1,000 (=HYPERLINK)
    assert [r["account"] for r in rows] == ["'" + n for n in reversed(names)]
    assert [r["sales"] for r in rows] == ["3000.00", "2000.00", "1000.00"]
    code, out, _ = run(capsys, "--db", db, "tiers", "--year", "2025", "--format", "json")
    assert [r["account"] for r in json.loads(out)] == list(reversed(names))


def test_report_and_share_pack_write_workbooks(tmp_path, db, capsys):
    run(capsys, "--db", db, "import", write(tmp_path, "b.csv", CSV_2025))
    out_file = tmp_path / "r.xlsx"
    code, _, err = run(capsys, "--db", db, "report", "--year", "2025", "--out", str(out_file), "--lang", "en")
    assert code == 0, err
    assert out_file.read_bytes()[:2] == b"PK"
    pack = tmp_path / "p.xlsx"
    code, _, err = run(capsys, "--db", db, "share-pack", "甲", "--year", "2025", "--out", str(pack))
    assert code == 0, err
    assert pack.read_bytes()[:2] == b"PK"


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert re.search(rf"`{re.escape(name)}[` ]", readme), f"README does not document the {name} command"


def test_help_lists_every_setting_with_its_help_text(capsys):
    from kam_core.settings import SETTINGS

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for s in SETTINGS.values():
        assert f"{s.key} (default {s.default}): {setting_help(s.key, 'en')}" in out


def test_a_share_pack_for_an_unknown_account_exits_2_and_writes_nothing(tmp_path, db, capsys):
    run(capsys, "--db", db, "import", write(tmp_path, "b.csv", CSV_2025))
    out_file = tmp_path / "p.xlsx"
    code, _, err = run(capsys, "--db", db, "share-pack", "甲公司", "--year", "2025", "--out", str(out_file))
    assert code == 2 and "甲公司" in err
    assert not out_file.exists()


_MODULES_AT_EXIT = """
import runpy, sys
sys.argv = ["kam_core"] + sys.argv[1:]
try:
    runpy.run_module("kam_core", run_name="__main__")
except SystemExit as exc:
    print("EXIT", exc.code, file=sys.stderr)
print("LOADED", sorted(m for m in ("pandas", "ibis", "plotly", "streamlit") if m in sys.modules), file=sys.stderr)
"""


def test_the_import_command_loads_no_pandas_ibis_or_plotly(tmp_path, db):
    # the command line's import runs as its own process; what it loads is what it costs to start
    import subprocess
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    import hostile_files as hf

    files = [tmp_path / "a.csv", tmp_path / "b.xlsx", tmp_path / "c.csv"]
    files[0].write_text(CSV_2025, encoding="utf-8")
    files[1].write_bytes(hf.sales_xlsx(20))
    files[2].write_bytes("日期,供应商,销售额\n03/04/2025,甲,1\n05/06/2025,乙,2\n".encode("gbk"))   # asks for the date order
    for f, code in zip(files, (0, 0, 2)):
        out = subprocess.run([sys.executable, "-c", _MODULES_AT_EXIT, "--db", db, "import", str(f)],
                             capture_output=True, text=True, cwd=ROOT, env={**os.environ, "KAM_AUTO_DEMO": "0"})
        assert f"EXIT {code}" in out.stderr, out.stderr
        assert "LOADED []" in out.stderr, out.stderr
