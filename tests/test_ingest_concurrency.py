"""Several dashboard sessions confirming imports at once, on one store, as its threads do."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from kam_core.imports.pipeline import ImportOptions, commit_import, list_imports, prepare_import
from kam_core.store import open_store


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "c.duckdb")
    yield s
    s.close()


def export(n: int, supplier: str) -> bytes:
    """A new file with the same header layout as its siblings: line amounts n, n+1, n+2."""
    lines = "".join(f"2025-0{n % 9 + 1}-0{d + 1},{supplier},{n + d}\n" for d in range(3))
    return ("日期,供应商,销售额\n" + lines).encode("utf-8")


def commit_all_at_once(store, plans):
    """Commit every plan from its own thread, all released together; the exceptions raised."""
    gate = threading.Barrier(len(plans))
    errors: list[BaseException] = []

    def confirm(plan):
        gate.wait()
        try:
            commit_import(store, plan, user="session")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=confirm, args=(p,)) for p in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def test_six_sessions_confirming_new_files_with_one_header_layout_lose_none(store):
    # every file is new and saves the same mapping profile; two of them name the same new
    # supplier, so they add the same alias: each commit after the first meets a row that
    # another session committed after this one's transaction began
    suppliers = ["甲", "乙", "丙", "丁", "新商", "新商"]
    plans = [prepare_import(store, export(i, s), f"s{i}.csv") for i, s in enumerate(suppliers)]
    assert commit_all_at_once(store, plans) == []
    imports = list_imports(store)
    assert sorted(i["file_name"] for i in imports) == [f"s{i}.csv" for i in range(6)]
    assert all(i["rows_loaded"] == 3 for i in imports)
    cur = store.cursor()
    # Σ over files i = 0..5 of i + (i+1) + (i+2) = 3·15 + 3·6 = 63
    assert cur.execute("select count(*), sum(amount) from sales").fetchone() == (18, Decimal("63"))
    assert cur.execute("select count(*) from sales where import_id not in (select id from imports)").fetchone()[0] == 0
    assert cur.execute("select used_count from mapping_profiles").fetchall() == [(6,)]
    assert cur.execute("select alias, account from account_aliases where alias = '新商'").fetchall() == [("新商", "新商")]
    assert cur.execute("select count(distinct import_id) from sales where account = '新商'").fetchone()[0] == 2


def test_a_file_checked_again_after_a_conflict_keeps_the_mapping_its_user_confirmed(store):
    # session A maps 金额 as the amount; session B, on a file with the same headers, was shown
    # the suggestion (销售额) and confirmed it; A commits first and saves its profile, B's
    # commit conflicts and is checked again: B's lines still use 销售额
    header = "日期,供应商,销售额,金额\n"
    a = prepare_import(store, (header + "2025-01-02,甲,10,1000\n").encode(), "a.csv",
                       ImportOptions(mapping={"amount": "金额"}))
    b = prepare_import(store, (header + "2025-01-03,乙,20,2000\n").encode(), "b.csv")
    assert b.mapping["amount"] == "销售额"
    commit_import(store, a)
    commit_import(store, b)
    got = store.cursor().execute("select account, amount from sales order by account").fetchall()
    assert got == [("乙", Decimal("20")), ("甲", Decimal("1000"))]
