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


# -- the form is drawn from SETTINGS: ratios as percentages, the bounds the checks use, refusals in words

A_MAX, B_MAX = "A 类累计占比上限（%）", "B 类累计占比上限（%）"


def test_ratios_show_as_percentages_and_a_typed_percentage_is_stored_as_a_fraction(fixture_db):
    from kam_core.settings import get_settings
    from kam_core.store import open_store

    at = open_page("settings")
    assert number_input(at, A_MAX).value == 80                  # 0.80
    assert number_input(at, B_MAX).value == 95                  # 0.95
    assert number_input(at, "标准③最低占比（%）").value == 1      # 0.01
    assert number_input(at, "销售下降提醒比例（%）").value == 10    # 0.10, not 10.000000000000002
    assert number_input(at, "档案完整度下限（%）").value == 50
    number_input(at, A_MAX).set_value(75)
    number_input(at, "标准③最低占比（%）").set_value(2.5)
    save(at)
    assert [s.value for s in at.success] == ["设置已保存，所有页面立即生效。"]
    assert number_input(at, A_MAX).value == 75
    store = open_store(fixture_db)
    try:
        saved = get_settings(store)
    finally:
        store.close()
    assert (saved["abc_a_max"], saved["criteria_min_share"], saved["abc_b_max"]) == (0.75, 0.025, 0.95)


def test_the_inputs_take_their_bounds_and_steps_from_the_settings_declaration(fixture_db):
    from kam_core.settings import SETTINGS

    at = open_page("settings")
    columns = number_input(at, "导入最多列数")
    assert (columns.min, columns.max, columns.step) == (20, 16_384, 10) == (
        SETTINGS["import_max_columns"].low, SETTINGS["import_max_columns"].high, SETTINGS["import_max_columns"].step)
    assert (number_input(at, A_MAX).min, number_input(at, A_MAX).max, number_input(at, A_MAX).step) == (0, 100, 1)
    top_n = number_input(at, "标准②排名范围")
    assert (top_n.min, top_n.max) == (1, 100)
    assert number_input(at, STRATEGIC).step == 1_000_000
    # the English page has the same form in English
    at = open_page("settings", lang="en")
    assert [w.label for w in at.number_input][:3] == ["Strategic key account from (CNY)",
                                                     "Partner key account from (CNY)", "Ordinary key account from (CNY)"]
    assert "Class A cumulative share limit (%)" in [w.label for w in at.number_input]


def test_an_a_cut_off_above_the_b_cut_off_is_refused_in_the_pages_words(fixture_db):
    at = open_page("settings")
    number_input(at, A_MAX).set_value(96)
    save(at)
    assert [e.value for e in at.error] == ["无法保存：ABC 分界必须递增：A < B。"]
    assert not at.success
    at = open_page("settings", lang="en")
    number_input(at, "Class A cumulative share limit (%)").set_value(96)
    at.button(key="FormSubmitter:settings_form-Save").click().run()
    assert [e.value for e in at.error] == ["Not saved: ABC cut-offs must increase: A < B."]


# -- the domain's refusals are codes with figures; the command line keeps an English sentence

def test_a_refused_setting_carries_its_code_and_figures():
    import pytest

    from kam_core.settings import SETTINGS, SettingsError, validate_settings

    defaults = {k: s.default for k, s in SETTINGS.items()}
    cases = [
        ({"abc_a_max": 1.2}, "out_of_bounds", {"key": "abc_a_max", "value": 1.2, "low": 0, "high": 1}),
        ({"criteria_top_n": 101}, "out_of_bounds", {"key": "criteria_top_n", "value": 101, "low": 1, "high": 100}),
        ({"tier_partner_min": -1}, "out_of_bounds", {"key": "tier_partner_min", "value": -1, "low": 0, "high": None}),
        ({"tier_basis": "profit"}, "not_choice", {"key": "tier_basis", "value": "profit", "choices": ("sales", "cost")}),
        ({"fiscal_start_month": True}, "invalid", {"key": "fiscal_start_month", "value": True}),
        ({"colour": "red"}, "unknown", {"key": "colour"}),
        ({"tier_partner_min": 60_000_000}, "thresholds_increase", {}),
        ({"abc_a_max": 0.96}, "abc_increase", {}),
    ]
    for change, code, params in cases:
        with pytest.raises(SettingsError) as refused:
            validate_settings({**defaults, **change})
        assert (refused.value.code, refused.value.params) == (code, params), change
    with pytest.raises(SettingsError, match=r"^criteria_top_n: 101 is not allowed \(must be from 1 to 100\)$"):
        validate_settings({**defaults, "criteria_top_n": 101})
    with pytest.raises(SettingsError, match="^tier thresholds must increase: ordinary < partner < strategic$"):
        validate_settings({**defaults, "tier_partner_min": 60_000_000})


def test_the_page_says_each_refusal_from_the_catalogue_with_its_figures_formatted():
    from kam_core.settings import SettingsError
    from kam_core.ui.context import Context, settings_refusal

    ctx = Context.__new__(Context)
    ctx.lang = "zh"
    said = lambda code, **p: settings_refusal(ctx, SettingsError(code, **p))   # noqa: E731
    assert said("out_of_bounds", key="abc_a_max", value=1.2, low=0, high=1) == \
        "“A 类累计占比上限”须在 0% 到 100% 之间，填写的是 120%。"
    assert said("out_of_bounds", key="tier_partner_min", value=-5, low=0, high=None) == \
        "“伙伴式大客户下限（元）”不能小于 0，填写的是 −5。"
    assert said("not_choice", key="tier_basis", value="profit", choices=("sales", "cost")) == \
        "“分级依据”只能选：销售额、采购成本。"
    ctx.lang = "en"
    assert said("out_of_bounds", key="import_max_columns", value=20_000, low=20, high=16_384) == \
        "Most columns in an import must be from 20 to 16,384; it was 20,000."
    assert said("thresholds_increase") == "Tier thresholds must increase: ordinary < partner < strategic."
    assert said("unknown", key="colour") == "There is no setting named colour."
