"""Import page: the inbox's state, and a file waiting in needs-review/ finished with one button."""
from __future__ import annotations

from pathlib import Path

import pytest
from core_fixtures import dataframe_with, fixture_db, fixture_db_file, open_page, texts  # noqa: F401

from kam_core.imports import inbox
from kam_core.ui import context

# The fixture's own header layout (its mapping is saved), with dates that read both ways.
DATES_CSV = """日期,门店,区域,供应商,品类,销售额,毛利
03/04/2025,上海一店,华东,Golf,饮料,100.00,10.00
04/05/2025,上海一店,华东,Golf,饮料,200.00,20.00
""".encode("utf-8")


@pytest.fixture
def quiet(monkeypatch):
    """No background watcher in this process: the test takes the looks itself."""
    monkeypatch.setenv("KAM_BACKGROUND", "0")


def waiting_for_review(db: Path) -> inbox.InboxWatcher:
    watcher = inbox.InboxWatcher(context.get_store())
    root = watcher.folder()
    (root / "dates.csv").write_bytes(DATES_CSV)
    watcher.scan()
    [outcome] = watcher.scan()
    assert outcome.code == "date_order"
    return watcher


def test_an_empty_inbox_is_one_line_on_the_import_page(fixture_db, quiet):
    at = open_page("import")
    root = Path(fixture_db).parent / "inbox"
    assert f"收件箱 {root}：等待中 0 个 · 待人工处理 0 个 · 已处理 0 个" in [c.value for c in at.caption]


def test_a_file_waiting_for_a_person_is_listed_and_finished_on_the_import_page(fixture_db, quiet):
    at = open_page("import")
    waiting_for_review(fixture_db)
    at.run()
    assert not at.exception
    assert "收件箱自动导入" in [s.value for s in at.subheader]
    listed = dataframe_with(at, "原因")
    assert list(listed["文件"]) == ["dates.csv"]
    assert "03/04/2025" in listed["原因"][0]               # the page's own words for the day/month question

    at.button(key="inbox_finish").click().run()
    assert not at.exception
    assert "正在完成收件箱文件 dates.csv 的导入：请检查下方的报告并确认。" in [i.value for i in at.info]
    assert not at.file_uploader                            # the inbox file stands in for an upload
    order = next(s for s in at.selectbox if s.key and s.key.startswith("order_"))
    order.set_value("dmy").run()
    assert not at.exception
    at.button(key="import_confirm").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["已导入 2 行（导入编号 2）。"]
    root = Path(fixture_db).parent / "inbox"
    assert f"收件箱 {root}：等待中 0 个 · 待人工处理 0 个 · 已处理 1 个" in [c.value for c in at.caption]
    assert list(dataframe_with(at, "文件名")["文件名"]) == ["dates.csv", "fixture.csv"]
    [report] = (root / "done").glob("*_dates.csv.report.txt")
    assert "date order: dmy" in report.read_text(encoding="utf-8")
    assert at.file_uploader                                # and the uploader is back


def test_a_file_waiting_for_a_person_can_be_left_out(fixture_db, quiet):
    at = open_page("import")
    waiting_for_review(fixture_db)
    at.run()
    at.button(key="inbox_dismiss").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["已将 dates.csv 移到已处理，未导入。"]
    assert list(dataframe_with(at, "文件名")["文件名"]) == ["fixture.csv"]
    assert "收件箱自动导入" not in [s.value for s in at.subheader]
    assert "导入数据" in texts(at)
