"""Amounts, percentages and tier names as the pages show them."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from kam_core.locales.formatting import (
    MINUS,
    amount_scale,
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
    assert amount_scale("wan", "en") == (10_000, "10k CNY")
    assert amount_scale("yuan", "zh") == (1, "元")
    assert amount_scale("thousand", "zh") == (1_000, "千元")


def test_amount_scale_refuses_an_unknown_unit():
    with pytest.raises(ValueError, match="unknown amount unit"):
        amount_scale("million")


def test_amounts_in_wan_have_two_decimals_and_thousands_separators():
    assert format_amount(12_345_678.9, "wan", "zh") == "1,234.57 万元"
    assert format_amount(12_345_678.9, "wan", "en") == "1,234.57 (10k CNY)"


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
