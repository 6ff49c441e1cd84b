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


def in_yuan(path) -> None:
    """Amounts in yuan (the setting): the Overview's 亿元 would round a 300-yuan import away."""
    from kam_core.settings import save_settings
    from kam_core.store import open_store

    store = open_store(path)
    try:
        save_settings(store, {"amount_unit": "yuan"})
    finally:
        store.close()


def history(at):
    return dataframe_with(at, "文件名")


def test_the_import_page_states_the_upload_limit_and_lists_the_earlier_imports(fixture_db):
    at = open_page("import")
    assert [t.value for t in at.title] == ["导入数据"]
    assert "上传大小上限：200 MB" in [c.value for c in at.caption]
    assert list(history(at)["文件名"]) == ["fixture.csv"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", history(at)["导入时间"][0])   # as the warnings write it


def test_the_history_names_its_id_column_in_the_page_language(fixture_db):
    assert list(history(open_page("import")).columns)[:2] == ["编号", "文件名"]
    at = open_page("import", lang="en")
    assert list(dataframe_with(at, "File").columns)[:2] == ["ID", "File"]
    assert list(dataframe_with(at, "File")["ID"]) == [1]


def test_the_history_groups_the_rows_loaded_in_thousands(fixture_db):
    import pyarrow as pa

    lines = [f"2025-09-{1 + i % 28:02d},上海一店,华东,Golf,饮料,{i + 1}.00,1.00" for i in range(1200)]
    data = ("日期,门店,区域,供应商,品类,销售额,毛利\n" + "\n".join(lines) + "\n").encode()
    at = upload(open_page("import"), "big.csv", data)
    at.button(key="import_confirm").click().run()
    at = open_page("import", lang="en")
    grid = next(df for df in at.dataframe if "File" in df.value.columns)
    assert list(grid.value["Rows loaded"]) == [1200, 11]          # the numbers stay numbers (they sort)
    shown = pa.ipc.open_stream(grid.proto.arrow_data.styler.display_values).read_pandas()
    assert list(shown["Rows loaded"]) == ["1,200", "11"]


def dropzone_style(at) -> str:
    [style] = [h.proto.body for h in at.get("html") if "stFileUploaderDropzone" in h.proto.body]
    return style


def test_the_dropzone_speaks_the_page_language_in_place_of_streamlits_english(fixture_db):
    zh = dropzone_style(open_page("import"))
    # Streamlit's own texts (its button caption, "200MB per file", the drag overlay) are hidden ...
    assert '[data-testid="stMarkdownContainer"] > p { display: none; }' in zh
    assert '[data-testid="stFileUploaderDropzoneInstructions"] span,' in zh and "visibility: hidden" in zh
    # ... and the catalogue's words drawn in their place, the limit being the server's 200 MB
    assert 'content: "选择文件"' in zh
    assert 'content: "拖放文件到此处，单个文件不超过 200 MB"' in zh
    assert 'content: "松开鼠标即可上传"' in zh
    assert ".st-key-import_files_0 " in zh                     # only this page's uploader
    en = dropzone_style(open_page("import", lang="en"))
    assert 'content: "Browse files"' in en and 'content: "Drag and drop files here, up to 200 MB each"' in en
    assert 'content: "Drop the files to upload"' in en
    assert "选择" not in en


def test_the_dropzone_follows_the_uploader_after_an_import(fixture_db):
    at = upload(open_page("import"), "upload.csv", UPLOAD_CSV)
    at.button(key="import_confirm").click().run()
    assert ".st-key-import_files_1 " in dropzone_style(at)     # the emptied uploader has a new key


def test_a_label_becomes_a_css_string_that_cannot_end_the_rule_or_the_style():
    from kam_core.ui.importer import css_string

    assert css_string("选择文件") == '"选择文件"'
    assert css_string('a "b" \\ c') == '"a \\"b\\" \\\\ c"'
    assert css_string("</style>x") == '"\\3c /style>x"'
    assert css_string("a\nb") == '"a\\a b"'


def test_an_uploaded_file_reaches_the_validation_report_and_nothing_is_loaded_yet(fixture_db):
    at = upload(open_page("import"), "upload.csv", UPLOAD_CSV)
    shown = metrics_by_label(at)
    assert [shown[k] for k in REPORT] == ["2", "2", "0", "0"]
    assert "销售额: **¥300.00** · 2025-09-01 … 2025-09-02 · 客户数: 1" in texts(at)
    assert [b.label for b in at.download_button] == ["下载校验报告"]
    assert list(history(at)["文件名"]) == ["fixture.csv"]          # the report writes nothing


def test_confirming_loads_the_file_and_the_overview_shows_it_at_once(fixture_db):
    in_yuan(fixture_db)
    at = upload(open_page("import"), "upload.csv", UPLOAD_CSV)
    at.button(key="import_confirm").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["已导入 2 行（导入编号 2）。"]
    assert list(history(at)["文件名"]) == ["upload.csv", "fixture.csv"]
    assert not at.file_uploader[0].value and not metrics_by_label(at)   # the loaded file has left the uploader
    at.switch_page("app_pages/overview.py").run()
    shown = metrics_by_label(at)
    assert shown["销售额"] == "¥125,000,300.00"                   # 12,500 万元 + 300.00 yuan
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
    in_yuan(fixture_db)
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
    assert metrics_by_label(at)["销售额"] == "¥125,000,000.00"   # the 300.00 yuan are gone again


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


def test_the_header_row_box_shows_the_row_the_report_names(fixture_db):
    data = "2025年9月 销售明细,,,,,,\n".encode() + UPLOAD_CSV           # a title above the header
    at = upload(open_page("import"), "titled.csv", data)
    assert "表头所在行: 2" in texts(at)
    [box] = at.number_input
    assert (box.label, box.value) == ("表头所在行", 2)                  # was 0 while the report said 2
    assert [metrics_by_label(at)[k] for k in REPORT] == ["2", "2", "0", "0"]
    at.number_input[0].set_value(3).run()                              # the user's row is taken as the header:
    assert not at.exception and at.number_input[0].value == 3         # its cells are dates and names, no field
    assert [w.value for w in at.warning][0].startswith("找不到这些字段对应的列：日期、供应商、销售额。")
    at.number_input[0].set_value(0).run()                              # 0: find it again
    assert at.number_input[0].value == 2 and "表头所在行: 2" in texts(at)


def test_a_supplier_that_is_no_usable_name_is_rejected_in_the_page_language(fixture_db):
    data = UPLOAD_CSV + "2025-09-03,上海一店,华东,\u200b,饮料,5.00,1.00\n".encode()
    at = upload(open_page("import"), "odd.csv", data)
    rejected = dataframe_with(at, "原因")
    assert (list(rejected["行号"]), list(rejected["原因"])) == ([4], ["供应商不是可用的名称"])
    at = upload(open_page("import", lang="en"), "odd.csv", data)
    assert list(dataframe_with(at, "Reason")["Reason"]) == ["Supplier is not a usable name"]


def _ctx(lang: str):
    from types import SimpleNamespace

    from kam_core.locales.labels import t
    return SimpleNamespace(lang=lang, t=lambda key, **fmt: t(key, lang, **fmt))


def test_the_downloaded_report_is_in_the_users_language_with_grouped_numbers(tmp_path):
    from kam_core.imports.pipeline import prepare_import
    from kam_core.store import open_store
    from kam_core.ui.importer import report_csv

    text = ("日期,供应商,销售额\n2025-01-03,甲公司,1234567.5\n2025-01-04,甲公司,abc\n,,\n"
            "2025-01-05,乙公司,2000\n合计,,1236567.5\n")
    store = open_store(tmp_path / "kam.duckdb")
    plan = prepare_import(store, text.encode(), "jan.csv")
    try:
        zh = report_csv(_ctx("zh"), plan.report).decode("utf-8-sig")
        en = report_csv(_ctx("en"), plan.report).decode("utf-8-sig")
    finally:
        plan.close()
        store.close()
    rows = [line.split(",", 1) for line in zh.splitlines()]
    summary = {r[0]: r[1] for r in rows if len(r) == 2}
    # read: 2 loaded + 1 rejected + 1 blank + the totals row
    assert summary["读取行数"] == "5" and summary["可导入行数"] == "2" and summary["拒绝行数"] == "1"
    assert summary["跳过原因"] == "合计行 1、空行 1"
    assert summary["拒绝原因"] == "数字无法识别 1"
    assert summary["导入金额（元）"] == '"1,236,567.50"'
    assert summary["日期顺序"] == "年-月-日"
    assert "行号,列,值,原因" in zh.replace("工作表,", "")
    assert "csv,3,销售额,abc,数字无法识别" in zh
    assert "Rows rejected,1" in en and "Number not understood" in en and "Totals rows 1, Blank lines 1" in en
    for report in (zh, en):
        assert "{" not in report and "None" not in report and "=" not in report


def test_the_demo_import_is_named_in_the_page_language():
    from kam_core.demo import DEMO_FILE_NAME
    from kam_core.ui.importer import file_label

    assert file_label(_ctx("en"), DEMO_FILE_NAME) == "Demo data"
    assert file_label(_ctx("zh"), DEMO_FILE_NAME) == "演示数据"
    assert file_label(_ctx("en"), "jan.csv") == "jan.csv"


def test_a_ticked_undo_box_is_unticked_when_another_import_is_picked_and_after_each_undo(fixture_db):
    at = upload(open_page("import"), "upload.csv", UPLOAD_CSV)
    at.button(key="import_confirm").click().run()
    at.checkbox(key="undo_sure").check().run()
    assert at.checkbox(key="undo_sure").label == "确定撤销导入 2 吗？该次导入的所有行都会删除。"
    at.selectbox(key="undo_pick").set_value(1).run()                  # the tick was for import 2
    assert not at.checkbox(key="undo_sure").value and at.button(key="undo_go").disabled
    assert at.checkbox(key="undo_sure").label.startswith("确定撤销导入 1 吗？")
    at.selectbox(key="undo_pick").set_value(2).run()
    at.checkbox(key="undo_sure").check().run()
    at.button(key="undo_go").click().run()
    assert not at.exception
    # the box names the import now at the top of the picker, and must be ticked again
    assert at.selectbox(key="undo_pick").value == 1
    assert at.checkbox(key="undo_sure").label.startswith("确定撤销导入 1 吗？")
    assert not at.checkbox(key="undo_sure").value and at.button(key="undo_go").disabled


def test_a_name_folded_by_the_suffix_rules_is_listed_and_the_user_can_keep_it_apart(fixture_db):
    long_name = UPLOAD_CSV.replace("Golf".encode(), "合肥恒宏农业集团有限公司".encode())
    at = upload(open_page("import"), "a.csv", long_name)
    at.button(key="import_confirm").click().run()
    at = upload(at, "b.csv", long_name.replace("集团有限公司".encode(), "集团".encode()))
    assert "合肥恒宏农业集团 → 合肥恒宏农业集团有限公司：按公司后缀规则计为同一客户。如果是另一家客户，请在下方分开。" in [
        as_shown(w.value) for w in at.warning]
    [apart] = [m for m in at.multiselect if m.label == "分开（不是同一家客户）"]
    assert apart.options == ["合肥恒宏农业集团"]
    apart.select("合肥恒宏农业集团").run()
    assert not at.exception
    assert not [w for w in at.warning if "→" in w.value]               # checked again: nothing folded
    assert [m.value for m in at.multiselect if m.label == "分开（不是同一家客户）"] == [["合肥恒宏农业集团"]]
    at.button(key="import_confirm").click().run()
    at.switch_page("app_pages/overview.py").run()
    assert metrics_by_label(at)["客户数"] == "7"                       # 5 + 合肥…有限公司 + 合肥…集团


def _unknown_names(at) -> tuple[list[str], list[str]]:
    """The alias section's heading of names without a dossier, and its captions."""
    heads = [m.value for m in at.markdown if "未建档的原始名称" in m.value]
    return heads, [c.value for c in at.caption if "已全部撤销" in c.value]


def test_a_name_whose_lines_were_all_undone_leaves_the_alias_list(fixture_db):
    at = open_page("dossier")
    before, _ = _unknown_names(at)
    assert before == ["**未建档的原始名称（6 个）**"]                   # Alpha … Foxtrot of the fixture
    at.switch_page("app_pages/import.py").run()
    at = upload(at, "upload.csv", UPLOAD_CSV)                           # a new supplier, Golf
    at.button(key="import_confirm").click().run()
    at.switch_page("app_pages/dossier.py").run()
    assert _unknown_names(at) == (["**未建档的原始名称（7 个）**"], [])
    at.switch_page("app_pages/import.py").run()
    at.checkbox(key="undo_sure").check().run()
    at.button(key="undo_go").click().run()
    at.switch_page("app_pages/dossier.py").run()
    assert not at.exception
    assert _unknown_names(at) == (["**未建档的原始名称（6 个）**"], ["另有 1 个名称的数据已全部撤销，未列出。"])


def test_how_the_file_was_read_is_said_in_words_not_codes(fixture_db):
    at = upload(open_page("import"), "upload.csv", UPLOAD_CSV)
    said = [as_shown(m.value) for m in at.markdown]
    assert "金额单位: 销售额: 元、毛利: 元" in said
    assert "大客户取自: 供应商" in said and "日期顺序: 年-月-日" in said
    assert not at.json                                                 # no raw {"account_from": "supplier"}


def test_the_unit_choice_is_short_and_its_example_is_in_the_help(fixture_db):
    at = upload(open_page("import", lang="en"), "upload.csv", UPLOAD_CSV)
    assert not at.exception
    unit = next(b for b in at.selectbox if b.key.startswith("unit_"))
    # the choice fits its box and has no Chinese on an English page; the example lives in the help
    assert unit.options[0] == "From the column header, else yuan"
    assert unit.help.startswith("When a column's name gives its unit, e.g. “Sales (10k CNY)”")
