"""The import inbox: a dropped export with a known layout loads by itself into done/; one that needs
a person waits in needs-review/ with its report; half-written files are not touched; the same
bytes never load twice; nothing is half-loaded."""
from __future__ import annotations

import time

import pytest

from kam_core.imports import inbox

from kam_core import service
from kam_core.imports.pipeline import import_file, list_imports
from kam_core.store import open_store

HEADER = "日期,供应商,销售额,成本\n"
SEED = HEADER + "2025-03-01,甲,1000,800\n"                       # teaches the inbox this layout
NIGHTLY = HEADER + "2025-04-01,甲,100,80\n2025-04-02,乙,50.5,40\n"


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "kam.duckdb")
    import_file(s, SEED.encode("utf-8"), "seed.csv", user="ann")    # saves the mapping for this header layout
    yield s
    s.close()


@pytest.fixture
def watcher(store):
    return inbox.InboxWatcher(store)


def drop(store, name: str, text: str) -> None:
    folder = inbox.inbox_dir(store)
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(text.encode("utf-8"))


def sales(store) -> tuple[int, float]:
    n, total = store.cursor().execute("select count(*), coalesce(sum(amount), 0)::double from sales").fetchone()
    return n, total


def test_the_inbox_is_data_inbox_beside_the_default_database_and_a_setting(store, tmp_path):
    assert inbox.inbox_dir(store) == tmp_path / "inbox"
    assert inbox.inbox_dir(store, {"inbox_dir": "/srv/erp/out"}) == inbox.Path("/srv/erp/out")
    assert inbox.inbox_dir(store, {"inbox_dir": ""}) is None


def test_a_file_with_a_saved_layout_loads_by_itself_into_done_with_its_report(store, watcher, tmp_path):
    drop(store, "nightly.csv", NIGHTLY)
    assert watcher.scan() == []                           # first look: its size is noted, nothing taken
    [outcome] = watcher.scan()                            # same size at the second look: taken
    assert (outcome.file, outcome.status) == ("nightly.csv", "loaded")
    assert sales(store) == (3, 1150.5)
    [row] = [r for r in list_imports(store) if r["file_name"] == "nightly.csv"]
    assert row["imported_by"] == "inbox" and row["rows_loaded"] == 2
    who, action, key = store.cursor().execute(
        "select who, action, record_key from audit_log where table_name = 'imports'").fetchone()
    assert (who, action, key) == ("inbox", "import", str(row["id"]))
    root = tmp_path / "inbox"
    assert not (root / "nightly.csv").exists()
    done = sorted(p.name for p in (root / "done").iterdir())
    assert len(done) == 2 and done[0].endswith("_nightly.csv") and done[1] == done[0] + ".report.txt"
    report = (root / "done" / done[1]).read_text(encoding="utf-8")
    assert "rows read: 2; accepted: 2" in report
    assert inbox.state(root) == {"waiting": 0, "review": 0, "done": 1}


def test_a_file_still_being_written_is_not_touched_until_its_size_holds_still(store, watcher, tmp_path):
    drop(store, "growing.csv", NIGHTLY[:30])
    watcher.scan()
    drop(store, "growing.csv", NIGHTLY[:45])              # the ERP is still writing
    assert watcher.scan() == []
    assert (tmp_path / "inbox" / "growing.csv").exists() and sales(store) == (1, 1000)
    drop(store, "growing.csv", NIGHTLY)
    assert watcher.scan() == []
    [outcome] = watcher.scan()
    assert outcome.status == "loaded" and sales(store) == (3, 1150.5)


def test_hidden_and_temporary_names_are_never_taken(store, watcher, tmp_path):
    for name in (".nightly.csv", "~$nightly.csv", "nightly.csv.partial", "nightly.csv.tmp"):
        drop(store, name, NIGHTLY)
    watcher.scan()
    assert watcher.scan() == [] and sales(store) == (1, 1000)


@pytest.mark.parametrize(("name", "text", "code"), [
    ("english.csv", "date,vendor,sales\n2025-04-01,A,100\n", "unknown_layout"),
    ("dates.csv", HEADER + "03/04/2025,甲,100,80\n04/05/2025,乙,50,40\n", "date_order"),
    ("totals.csv", HEADER + "2025-04-01,甲,100,80\n2025-04-02,乙,50,40\n合计,,999,\n", "totals_mismatch"),
    ("again.csv", SEED, "duplicate_file"),
    ("broken.xlsx", "PK\x03\x04 not a whole workbook", "truncated"),
])
def test_a_file_that_needs_a_person_waits_in_needs_review_with_its_report_and_nothing_is_loaded(
        store, watcher, tmp_path, name, text, code):
    drop(store, name, text)
    watcher.scan()
    [outcome] = watcher.scan()
    assert (outcome.status, outcome.code) == ("review", code)
    assert sales(store) == (1, 1000)                      # nothing of it, not even the good lines
    [item] = inbox.review_items(tmp_path / "inbox")
    assert (item.file, item.code, item.stored_as) == (name, code, outcome.stored_as)
    assert item.read() == text.encode("utf-8")
    report = (tmp_path / "inbox" / "needs-review" / f"{item.stored_as}.report.txt").read_text(encoding="utf-8")
    assert report.startswith(f"{name}: needs a person ({code})")
    assert {"unknown_layout": "rows read: 1; accepted: 1", "date_order": "examples: 03/04/2025",
            "totals_mismatch": "file_total: 999", "duplicate_file": "id: 1", "truncated": "truncated"}[code] in report
    assert watcher.scan() == []                           # it waits there; the inbox itself is empty


def test_a_reviewed_file_moves_to_done_once_a_person_has_loaded_it(store, watcher, tmp_path):
    text = HEADER + "03/04/2025,甲,100,80\n"
    drop(store, "dates.csv", text)
    watcher.scan()
    watcher.scan()
    from kam_core.imports.pipeline import ImportOptions

    import_file(store, text.encode("utf-8"), "dates.csv", ImportOptions(date_order="dmy"), user="ann")
    [outcome] = watcher.scan()
    assert (outcome.file, outcome.status) == ("dates.csv", "done")
    root = tmp_path / "inbox"
    assert inbox.review_items(root) == [] and inbox.state(root) == {"waiting": 0, "review": 0, "done": 1}
    [report] = (root / "done").glob("*.report.txt")
    assert "date order: dmy" in report.read_text(encoding="utf-8")


def test_a_duplicate_waiting_for_review_is_not_settled_by_the_import_it_duplicates(store, watcher, tmp_path):
    drop(store, "again.csv", SEED)
    watcher.scan()
    watcher.scan()
    assert watcher.scan() == [] and len(inbox.review_items(tmp_path / "inbox")) == 1


def test_the_same_bytes_dropped_twice_load_once(store, watcher, tmp_path):
    drop(store, "nightly.csv", NIGHTLY)
    watcher.scan()
    watcher.scan()
    drop(store, "nightly.csv", NIGHTLY)                   # the ERP sends last night's file again
    watcher.scan()
    [outcome] = watcher.scan()
    assert outcome.code == "duplicate_file" and sales(store) == (3, 1150.5)


def test_a_dashboard_killed_mid_file_finds_it_again_and_never_loads_it_twice(store, watcher, tmp_path):
    root = tmp_path / "inbox"
    watcher.folder()
    # killed after the commit, before the move: the bytes are loaded by the inbox → done
    (root / ".processing" / "nightly.csv").write_bytes(NIGHTLY.encode("utf-8"))
    import_file(store, NIGHTLY.encode("utf-8"), "nightly.csv", user="inbox")
    # killed before the commit: nothing loaded → back into the inbox, loaded on the next looks
    other = HEADER + "2025-05-01,丙,7,5\n"
    (root / ".processing" / "other.csv").write_bytes(other.encode("utf-8"))
    recovered = {o.file: o.status for o in watcher.recover()}
    assert recovered == {"nightly.csv": "done", "other.csv": "retry"}
    watcher.scan()
    [outcome] = watcher.scan()
    assert (outcome.file, outcome.status) == ("other.csv", "loaded")
    assert sales(store) == (4, 1157.5)
    assert [p.name for p in (root / ".processing").iterdir()] == []


def test_a_person_can_dismiss_a_reviewed_file_and_the_audit_log_says_who(store, watcher, tmp_path):
    drop(store, "english.csv", "date,vendor,sales\n2025-04-01,A,100\n")
    watcher.scan()
    [outcome] = watcher.scan()
    inbox.dismiss(store, tmp_path / "inbox", outcome.stored_as, "ann")
    assert inbox.state(tmp_path / "inbox") == {"waiting": 0, "review": 0, "done": 1}
    assert store.cursor().execute(
        "select who, action, record_key from audit_log where table_name = 'inbox'").fetchone() == (
        "ann", "dismiss", "english.csv")


def test_the_running_dashboard_watches_the_inbox(tmp_path, monkeypatch):
    monkeypatch.setattr(inbox, "SCAN_SECONDS", 0.05)      # a quicker look, for the test
    s = open_store(tmp_path / "kam.duckdb")
    import_file(s, SEED.encode("utf-8"), "seed.csv")
    try:
        service.start_owner(s)                            # what the dashboard's store factory does
        drop(s, "nightly.csv", NIGHTLY)
        deadline = time.monotonic() + 120                 # a bound, not a measurement
        while not list((tmp_path / "inbox" / "done").glob("*_nightly.csv")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sales(s) == (3, 1150.5)
    finally:
        service.stop_owner(s)
        s.close()
