"""Import: an upload through st.file_uploader reaches the validation report; confirm loads it; undo removes it.

Streamlit 1.67's AppTest supports ``file_uploader.set_value((name, bytes, mime))``,
so the whole flow runs here without a browser.
"""
from __future__ import annotations

import re

from core_fixtures import (UPLOAD_CSV, as_shown, dataframe_with, fixture_db, fixture_db_file,  # noqa: F401
                           metrics_by_label, open_page, texts)

REPORT = ("读取行数", "可导入行数", "跳过行数", "拒绝行数")


def upload(at, name: str, data: bytes, mime: str = "text/csv"):
    at.file_uploader[0].set_value((name, data, mime)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def history(at):
    return dataframe_with(at, "文件名")


def test_the_import_page_states_the_upload_limit_and_lists_the_earlier_imports(fixture_db):
    at = open_page("import")
    assert [t.value for t in at.title] == ["导入数据"]
    assert "上传大小上限：200 MB" in [c.value for c in at.caption]
    assert list(history(at)["文件名"]) == ["fixture.csv"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", history(at)["导入时间"][0])   # as the warnings write it


def test_an_uploaded_file_reaches_the_validation_report_and_nothing_is_loaded_yet(fixture_db):
    at = upload(open_page("import"), "upload.csv", UPLOAD_CSV)
    shown = metrics_by_label(at)
    assert [shown[k] for k in REPORT] == ["2", "2", "0", "0"]
    assert "销售额: **¥300.00** · 2025-09-01 … 2025-09-02 · 客户数: 1" in texts(at)
    assert [b.label for b in at.download_button] == ["下载校验报告"]
    assert list(history(at)["文件名"]) == ["fixture.csv"]          # the report writes nothing


def test_confirming_loads_the_file_and_the_overview_shows_it_at_once(fixture_db):
    at = upload(open_page("import"), "upload.csv", UPLOAD_CSV)
    at.button(key="import_confirm").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["已导入 2 行（导入编号 2）。"]
    assert list(history(at)["文件名"]) == ["upload.csv", "fixture.csv"]
    assert not at.file_uploader[0].value and not metrics_by_label(at)   # the loaded file has left the uploader
    at.switch_page("app_pages/overview.py").run()
    shown = metrics_by_label(at)
    assert shown["销售额"] == "12,500.03 万元"                     # + 300.00 yuan
    assert shown["客户数"] == "6"


def test_a_row_with_an_unreadable_amount_is_rejected_and_listed_with_its_row_number(fixture_db):
    data = UPLOAD_CSV + "2025-09-03,上海一店,华东,Golf,饮料,abc,1.00\n".encode()
    at = upload(open_page("import"), "bad.csv", data)
    shown = metrics_by_label(at)
    assert [shown[k] for k in REPORT] == ["3", "2", "0", "1"]
    rejected = dataframe_with(at, "原因")          # the rejected-rows table (the preview has 行号 too)
    assert list(rejected["行号"]) == [4]
    assert list(rejected["值"]) == ["abc"]


def test_an_empty_file_is_refused_with_a_reason_and_nothing_written(fixture_db):
    at = upload(open_page("import"), "empty.csv", b"")
    assert len(at.error) == 1 and at.error[0].value.startswith("文件是空的。")
    assert "未写入任何数据。" in [c.value for c in at.caption]
    assert not metrics_by_label(at)                                  # no report
    assert list(history(at)["文件名"]) == ["fixture.csv"]


def test_undo_asks_for_confirmation_then_removes_the_import(fixture_db):
    at = upload(open_page("import"), "upload.csv", UPLOAD_CSV)
    at.button(key="import_confirm").click().run()
    assert at.selectbox(key="undo_pick").value == 2
    assert at.button(key="undo_go").disabled                       # not before the box is ticked
    at.checkbox(key="undo_sure").check().run()
    at.button(key="undo_go").click().run()
    assert not at.exception
    assert list(history(at)["状态"]) == ["已撤销", "有效"]
    assert not at.checkbox(key="undo_sure").value                  # the next undo needs a new tick
    assert at.button(key="undo_go").disabled
    at.switch_page("app_pages/overview.py").run()
    assert metrics_by_label(at)["销售额"] == "12,500.00 万元"


def test_the_same_file_again_is_asked_about_in_the_page_words_and_can_be_imported_anyway(fixture_db):
    at = upload(open_page("import"), "upload.csv", UPLOAD_CSV)
    at.button(key="import_confirm").click().run()
    at = upload(at, "upload.csv", UPLOAD_CSV)
    [warning] = [w.value for w in at.warning]
    assert warning.startswith("这个文件已于 ") and warning.endswith("导入过（导入编号 2）。确定要再次导入吗？")
    assert "--force" not in texts(at)
    assert not metrics_by_label(at)                                  # no report until the user says so
    [force] = [b for b in at.button if b.label == "仍然导入"]
    force.click().run()
    assert not at.exception
    assert [metrics_by_label(at)[k] for k in REPORT] == ["2", "2", "0", "0"]
    at.button(key="import_confirm").click().run()
    assert list(history(at)["文件名"]) == ["upload.csv", "upload.csv", "fixture.csv"]


def test_a_file_without_a_supplier_column_is_asked_about_in_the_page_words(fixture_db):
    data = UPLOAD_CSV.replace("供应商".encode(), "品牌".encode())
    at = upload(open_page("import"), "brands.csv", data)
    [warning] = [w.value for w in at.warning]
    assert warning == ("找不到这些字段对应的列：供应商。请在下方“字段对应”中为它们选择列。"
                       " 文件中有“品牌”列：也可以在上方“大客户取自”中改选“品牌”。")
    assert "--map" not in texts(at) and "--account-from" not in texts(at)


def test_the_questions_speak_english_on_the_english_page(fixture_db):
    data = UPLOAD_CSV.replace("供应商".encode(), "品牌".encode())
    at = upload(open_page("import", lang="en"), "brands.csv", data)
    [warning] = [w.value for w in at.warning]
    assert warning.startswith("No column was found for: Supplier. Choose their columns under")


def test_dates_that_read_two_ways_are_asked_about_with_examples_in_the_page_words(fixture_db):
    data = ("日期,门店,区域,供应商,品类,销售额\n"
            "03/04/2025,上海一店,华东,Golf,饮料,100.00\n"
            "05/06/2025,上海一店,华东,Golf,饮料,200.00\n").encode()
    at = upload(open_page("import"), "dates.csv", data)
    [warning] = [as_shown(w.value) for w in at.warning]
    assert warning == "日期（03/04/2025、05/06/2025）既可以按 日-月-年 / 月-日-年 理解，请在上方“日期是…”中选择一种。"
    assert "--date-order" not in texts(at)
