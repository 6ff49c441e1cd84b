"""Settings: a saved threshold applies everywhere at once; an invalid one is refused and saves nothing."""
from __future__ import annotations

from core_fixtures import fixture_db, fixture_db_file, metrics_by_label, open_page  # noqa: F401

STRATEGIC, PARTNER = "战略性大客户下限（元）", "伙伴式大客户下限（元）"


def number_input(at, label):
    return next(w for w in at.number_input if w.label == label)


def save(at):
    at.button(key="FormSubmitter:settings_form-保存").click().run()
    assert not at.exception


def tier_counts(at):
    shown = metrics_by_label(at)
    return [shown[k] for k in ("战略性大客户", "伙伴式大客户", "普通大客户", "非大客户")]


def test_the_settings_form_shows_the_policy_defaults(fixture_db):
    at = open_page("settings")
    assert [t.value for t in at.title] == ["设置"]
    assert number_input(at, STRATEGIC).value == 50_000_000
    assert number_input(at, PARTNER).value == 20_000_000
    assert number_input(at, "普通大客户下限（元）").value == 5_000_000
    assert all(w.help for w in at.number_input)          # every setting has its help text


def test_a_lower_strategic_threshold_is_saved_and_moves_an_account_up_on_the_tiers_page(fixture_db):
    at = open_page("settings")
    number_input(at, STRATEGIC).set_value(45_000_000)
    save(at)
    assert [s.value for s in at.success] == ["设置已保存，所有页面立即生效。"]
    assert number_input(at, STRATEGIC).value == 45_000_000
    at.switch_page("app_pages/tiers.py").run()
    assert not at.exception
    assert tier_counts(at) == ["2", "1", "1", "1"]        # Echo (45,000,000.01) is now strategic
    assert "年度金额 ≥ ¥45,000,000.00" in [c.value for c in at.caption]


def test_a_partner_threshold_not_below_the_strategic_one_is_refused_and_nothing_is_saved(fixture_db):
    at = open_page("settings")
    number_input(at, PARTNER).set_value(50_000_000)
    number_input(at, "普通大客户下限（元）").set_value(1_000_000)
    save(at)
    assert [e.value for e in at.error] == ["无法保存：分级金额必须递增：普通 < 伙伴式 < 战略性。"]
    assert not at.success
    at.switch_page("app_pages/tiers.py").run()
    assert tier_counts(at) == ["1", "2", "1", "1"]
    assert "年度金额 ≥ ¥20,000,000.00" in [c.value for c in at.caption]
    at.switch_page("app_pages/settings.py").run()                # the form again shows what is stored
    assert number_input(at, PARTNER).value == 20_000_000
    assert number_input(at, "普通大客户下限（元）").value == 5_000_000


def test_choosing_yuan_as_the_unit_changes_the_amounts_on_the_overview(fixture_db):
    at = open_page("settings")
    next(w for w in at.radio if w.label == "金额显示单位").set_value("yuan")
    save(at)
    at.switch_page("app_pages/overview.py").run()
    assert metrics_by_label(at)["销售额"] == "¥125,000,000.00"


def test_the_import_column_limit_is_set_on_the_settings_page_and_refuses_a_wider_upload(fixture_db):
    at = open_page("settings")
    assert number_input(at, "导入最多列数").value == 500
    number_input(at, "导入最多列数").set_value(40)
    save(at)
    at.switch_page("app_pages/import.py").run()
    assert not at.exception
    header = ",".join(["日期", "供应商", "销售额"] + [f"备注{i}" for i in range(4, 42)])   # 41 columns
    at.file_uploader[0].set_value(("wide.csv", (header + "\n2025-01-02,甲,1" + ",x" * 38 + "\n").encode(), "text/csv")).run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert error == ("表格列数超过导入上限（可在“设置”中调整）。 — 这张表有 41 列（到 AO 列），导入最多 40 列（到 AN 列）。"
                     "请删掉不需要的列或右侧零散的单元格后重新上传。")
