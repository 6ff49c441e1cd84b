"""Amounts, percentages and tier names as the pages show them."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from kam_core.locales.formatting import (
    MINUS,
    amount_scale,
    format_count,
    format_date,
    format_pp,
    format_rate,
    format_text,
    format_when,
    largest,
    metric_delta,
    month_label,
    format_amount,
    format_number,
    format_pct,
    format_signed_pct,
    movement_label,
    tier_label,
)

MISSING_VALUES = [None, float("nan"), pd.NA, math.inf, "not a number"]


def test_amount_scale_gives_the_divisor_and_the_localised_suffix():
    assert amount_scale("wan") == (10_000, "万元")
    # English readers count in thousands and millions: no "10k CNY"
    assert amount_scale("wan", "en") == (1_000_000, "M CNY")
    assert amount_scale("yuan", "zh") == (1, "元")
    assert amount_scale("thousand", "zh") == (1_000, "千元")


def test_amount_scale_refuses_an_unknown_unit():
    with pytest.raises(ValueError, match="unknown amount unit"):
        amount_scale("million")


def test_amounts_in_wan_have_two_decimals_and_thousands_separators():
    assert format_amount(12_345_678.9, "wan", "zh") == "1,234.57 万元"
    assert format_amount(12_345_678.9, "wan", "en") == "12.35 M CNY"


def test_amounts_in_yuan_carry_the_yuan_sign_in_both_languages():
    assert format_amount(12_345_678.9, "yuan", "zh") == "¥12,345,678.90"
    assert format_amount(12_345_678.9, "yuan", "en") == "¥12,345,678.90"


def test_negative_amounts_use_a_leading_minus_sign():
    assert format_amount(-1_234_500, "wan", "zh") == f"{MINUS}123.45 万元"
    assert format_amount(-5, "yuan", "en") == f"{MINUS}¥5.00"


def test_a_tiny_negative_that_rounds_to_zero_shows_no_minus():
    assert format_amount(-0.001, "yuan") == "¥0.00"


def test_decimal_amounts_from_the_database_are_accepted():
    from decimal import Decimal

    assert format_amount(Decimal("50000000.00"), "wan", "zh") == "5,000.00 万元"


@pytest.mark.parametrize("value", MISSING_VALUES)
def test_missing_values_show_a_dash_in_every_formatter(value):
    assert format_amount(value, "wan", "zh") == "—"
    assert format_pct(value) == "—"
    assert format_signed_pct(value) == "—"
    assert format_number(value) == "—"


def test_format_pct_turns_a_fraction_into_a_percentage():
    assert format_pct(0.123) == "12.3%"
    assert format_pct(0.12345, digits=2) == "12.35%"
    assert format_pct(1) == "100.0%"
    assert format_pct(-0.05) == f"{MINUS}5.0%"


def test_format_signed_pct_shows_the_direction_of_a_change():
    assert format_signed_pct(0.05) == "+5.0%"
    assert format_signed_pct(-0.032) == f"{MINUS}3.2%"
    assert format_signed_pct(12.5) == "+1,250.0%"


def test_a_change_that_rounds_to_zero_has_no_sign():
    assert format_signed_pct(0) == "0.0%"
    assert format_signed_pct(-0.0004) == "0.0%"


def test_format_number_rounds_and_groups():
    assert format_number(1234.5) == "1,234"  # banker's rounding of .5 to even
    assert format_number(1235.5) == "1,236"
    assert format_number(2_500, digits=1) == "2,500.0"


def test_tier_label_uses_the_policy_words():
    assert tier_label("strategic", "zh") == "战略性大客户"
    assert tier_label("none", "zh") == "非大客户"
    assert tier_label("partner", "en") == "Partner key account"


def test_tier_label_shows_missing_as_a_dash_and_unknown_codes_as_they_are():
    assert tier_label(None, "zh") == "—"
    assert tier_label(float("nan"), "en") == "—"
    assert tier_label("platinum", "zh") == "platinum"


def test_movement_label_localises_the_five_movements():
    assert [movement_label(m, "zh") for m in ("up", "down", "same", "new", "lost")] == [
        "升级", "降级", "持平", "新增", "流失"]
    assert movement_label(None, "en") == "—"


def test_chinese_amounts_from_one_yi_are_shown_in_yi():
    # 1,936,249,300 yuan = 193,624.93 万元 = 19.36 亿元, which reads at a glance
    assert format_amount(1_936_249_300, "wan", "zh") == "19.36 亿元"
    assert format_amount(99_999_999, "wan", "zh") == "10,000.00 万元"
    assert format_amount(100_000_000, "wan", "zh") == "1.00 亿元"


def test_english_amounts_are_in_thousands_millions_or_billions_of_cny():
    assert format_amount(1_936_249_300, "wan", "en") == "1.94 bn CNY"
    assert format_amount(3_386_428, "wan", "en") == "3.39 M CNY"
    assert format_amount(45_600, "wan", "en") == "45.60 K CNY"
    assert format_amount(45_600, "thousand", "en") == "45.60 K CNY"
    assert "10k" not in format_amount(123_456, "wan", "en")


def test_the_yuan_setting_overrides_the_reading_scale():
    assert format_amount(1_936_249_300, "yuan", "zh") == "¥1,936,249,300.00"
    assert amount_scale("yuan", "en", 5e9) == (1, "CNY")


def test_a_column_takes_one_scale_from_its_largest_amount():
    assert largest([None, -3e8, 2e6, float("nan")]) == 3e8
    assert largest([None]) is None
    assert amount_scale("wan", "zh", 3e8) == (100_000_000, "亿元")
    assert amount_scale("wan", "zh", 2e6) == (10_000, "万元")
    assert amount_scale("wan", "en", 2e9) == (1_000_000_000, "bn CNY")
    assert amount_scale("wan", "en", 2e4) == (1_000, "K CNY")


def test_counts_have_thousands_separators_in_both_languages():
    assert format_count(3_386_428) == "3,386,428"
    assert format_count(1466, "en") == "1,466"
    assert format_number(330945) == "330,945"


def test_a_rate_kept_as_a_fraction_reads_as_a_percentage():
    assert format_rate(0.01) == "1%"        # 返利 0.010
    assert format_rate(0.8) == "80%"        # a setting stored as 0.80
    assert format_rate(0.0125) == "1.25%"
    assert format_rate(None) == "—"


def test_percentage_points_use_the_catalogue_word():
    assert format_pp(-2.34, "zh") == f"{MINUS}2.3 个百分点"
    assert format_pp(1.26, "en") == "+1.3 pp"


def test_a_zero_change_has_no_arrow_and_no_plus_zero():
    assert metric_delta(0, "number") is None
    assert metric_delta(0.3, "number") is None         # rounds to 0: no "+0"
    assert metric_delta(0.0004, "pct") is None          # 0.0 %
    assert metric_delta(0.01, "pp") is None             # 0.0 个百分点
    assert metric_delta(None, "pct") is None
    assert metric_delta(3, "number") == "+3"
    assert metric_delta(-1500, "number", "en") == "-1,500"
    assert metric_delta(-2.34, "pp", "zh") == "-2.3 个百分点"
    assert metric_delta(0.05, "pct") == "+5.0%"


def test_dates_are_dates_and_times_only_where_they_mean_something():
    assert format_date("2026-12-03 00:00:00") == "2026-12-03"
    assert format_date(pd.Timestamp("2026-12-03 15:20")) == "2026-12-03"
    assert format_when(pd.Timestamp("2026-12-03 00:00")) == "2026-12-03"
    assert format_when("2026-12-03 15:20:41") == "2026-12-03 15:20"


@pytest.mark.parametrize("value", [None, float("nan"), pd.NaT, pd.NA])
def test_missing_dates_and_texts_show_a_dash(value):
    assert format_date(value) == "—"
    assert format_when(value) == "—"
    assert format_text(value) == "—"
    assert month_label(value) == "—"


def test_month_labels_follow_the_language():
    assert month_label("2026-01-15", "zh") == "2026年1月"
    assert month_label(pd.Timestamp("2026-12-01"), "en") == "Dec 2026"


def test_a_closed_year_whose_data_stops_early_is_not_called_unfinished():
    import datetime as dt

    from kam_core.locales.formatting import period_sentence
    from kam_core.sales.figures import period_note
    from kam_core.sales.periods import year_period

    settings = {"fiscal_start_month": 1}
    p2018 = year_period(2018, dt.date(2018, 12, 3), settings)        # the data ends on 3 December 2018
    assert p2018.unfinished
    code, values = period_note(p2018, today=dt.date(2026, 12, 7))
    assert code == "data_through"
    text = period_sentence(code, values, "zh")
    assert "尚未结束" not in text
    assert text == "2018 年的数据截至 2018-12-03：统计 2018-01-01 至 2018-12-03，与上年同期 2017-01-01 至 2017-12-03 比较。"
    # the same data seen during 2018 is an unfinished year
    assert period_note(p2018, today=dt.date(2018, 12, 5))[0] == "unfinished"
    assert "not finished" in period_sentence(*period_note(p2018, dt.date(2018, 12, 5)), "en")
    assert period_note(year_period(2017, dt.date(2018, 12, 3), settings), dt.date(2026, 1, 1))[0] == "complete"
    assert period_note(year_period(2017, None, settings), dt.date(2026, 1, 1)) is None


def test_a_page_table_shows_dates_as_dates_counts_with_separators_and_a_dash_for_none():
    from kam_core.ui.tables import localise

    orders = pd.DataFrame({"date": [pd.Timestamp("2026-12-03 00:00:00"), pd.NaT], "lines": [1466, None],
                           "qty": [3386428, 2], "sales": [1_936_249_300.0, None], "months_covered": [11.0968, None]})
    shown, config = localise(orders, ["date", "lines", "qty", "sales", "months_covered"], "zh", "wan")
    cells = shown._translate(False, False)["body"]        # what Streamlit shows: the Styler's cell texts
    texts = [[c["display_value"] for c in row[1:]] for row in cells]
    assert texts[0] == ["2026-12-03", "1,466", "3,386,428", "193,624.93", "11.1"]
    assert texts[1] == ["—", "—", "2", "—", "—"]
    assert shown.data["sales"].iloc[0] == pytest.approx(193_624.93)   # the numbers stay numbers (sorting)
    assert config["sales"]["label"] == "销售额" and config["sales"]["help"] == "单位：万元"
    _, english = localise(orders, ["sales"], "en", "wan")
    assert english["sales"]["label"] == "Sales" and english["sales"]["help"] == "In M CNY"


def test_numbers_read_exactly_as_babels_own_pattern_gives_them_in_both_languages():
    """The fast path (Python's grouping) against Babel's pattern on the float's exact value, as the
    reference: ties, halves that binary cannot hold, negatives that round to zero, big and tiny values."""
    import decimal
    import random

    from babel import Locale
    from babel.numbers import parse_pattern

    rng = random.Random(13)
    values = [0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.125, 0.375, 2.675, 1.005, -0.004, -0.005, 999.995, 999_999.995,
              1234.5, 1235.5, 19_362_493_000.0, -1e15, 1e-7, 123_456_789.987654]
    values += [rng.uniform(-1e9, 1e9) for _ in range(300)] + [round(rng.uniform(-1e4, 1e4), 3) for _ in range(300)]
    for lang, name in (("zh", "zh_CN"), ("en", "en")):
        locale = Locale.parse(name)
        for digits in (0, 1, 2, 3):
            pattern = parse_pattern("#,##0" + ("." + "0" * digits if digits else ""))
            for v in values:
                expected = pattern.apply(decimal.Decimal(v), locale)
                if expected.startswith("-"):
                    body = expected[1:]
                    expected = body if not any(ch in "123456789" for ch in body) else "\u2212" + body
                assert format_number(v, digits, lang) == expected, (v, digits, lang)
