"""Account name normalisation, brand prefixes, look-alike suggestions and alias resolution."""
from __future__ import annotations

import pytest

from kam_core.imports.accounts import (
    alias_key,
    new_alias_rows,
    normalise_name,
    product_prefix,
    resolve_accounts,
    suggest_aliases,
)
from kam_core.store import open_store


@pytest.mark.parametrize(
    "raw,name",
    [
        ("  某某集团有限公司 ", "某某"),
        ("宝洁（中国）有限公司", "宝洁(中国)"),
        ("王府井  百货\u3000股份有限公司", "王府井 百货"),
        ("上海某某有限责任公司", "上海某某"),
        ("ＡＣＭＥ Co., Ltd.", "ACME"),
        ("Foo Inc.", "Foo"),
        ("Bar LLC", "Bar"),
        ("Acme Corp.", "Acme"),
        ("集团", "集团"),          # nothing would remain
        ("有限公司", "有限公司"),
        ("Zinc", "Zinc"),          # 'inc' inside a word is not a suffix
        ("Unlimited", "Unlimited"),
        (None, ""),
    ],
)
def test_normalise_name_drops_company_suffixes_and_width_differences(raw, name):
    assert normalise_name(raw) == name


def test_alias_key_is_case_insensitive():
    assert alias_key("ACME Ltd") == alias_key("acme") == "acme"


@pytest.mark.parametrize(
    "product,prefix",
    [("Fiskars 剪刀, 蓝色", "Fiskars"), ("GlobeWeis 搭扣信封, 红色", "GlobeWeis"), ("施乐 打印纸", "施乐"),
     ("三星，手机", "三星"), ("强力VC银翘片", "强力VC银翘片"), ("", ""), (None, "")],
)
def test_product_prefix_is_the_first_word(product, prefix):
    assert product_prefix(product) == prefix


def test_look_alikes_are_suggested_with_scores_and_never_for_unrelated_names():
    got = suggest_aliases(["王府井百货店", "ACME有限公司", "完全不同"], ["王府井百货", "ACME公司", "王府井"])
    # 2*5/11 = 0.909 for 王府井百货 vs 王府井百货店; equal after normalisation = 1.0
    assert got == [("王府井百货店", "王府井百货", 0.909), ("ACME有限公司", "ACME公司", 1.0)]
    assert suggest_aliases(["王府井百货店"], ["王府井百货"], threshold=0.95) == []


@pytest.fixture
def cur():
    store = open_store(":memory:")
    c = store.cursor()
    c.execute("insert into account_aliases (alias_key, alias, account) values (?, ?, ?)", ["acme", "ACME", "Acme Corp"])
    yield c
    store.close()


def test_known_aliases_resolve_to_their_account_and_unknown_names_to_their_first_spelling(cur):
    m = resolve_accounts(cur, ["ACME有限公司", "acme", " 新客户 有限公司", "新客户", None, "  ", "ACME有限公司"])
    # the two spellings of 新客户 share a key, so they are one new account named as first seen (tidied)
    assert m == {"ACME有限公司": "Acme Corp", "acme": "Acme Corp", " 新客户 有限公司": "新客户 有限公司",
                 "新客户": "新客户 有限公司"}


def test_new_alias_rows_are_one_per_key_and_skip_known_keys(cur):
    m = resolve_accounts(cur, ["acme", "新客户 有限公司", "新客户", "Beta Ltd"])
    rows = new_alias_rows(m, known_keys=["acme"])
    assert rows == [("新客户", "新客户 有限公司", "新客户 有限公司"), ("beta", "Beta Ltd", "Beta Ltd")]
    cur.executemany(
        "insert into account_aliases (alias_key, alias, account) values (?, ?, ?) on conflict (alias_key) do nothing",
        rows)
    assert resolve_accounts(cur, ["BETA Co., Ltd."]) == {"BETA Co., Ltd.": "Beta Ltd"}


def test_a_name_kept_apart_is_its_own_account_under_its_exact_spelling(cur):
    from kam_core.imports.accounts import apart_names, exact_key, folded_names

    cur.execute("insert into account_aliases (alias_key, alias, account) values (?, ?, ?)",
                [alias_key("合肥恒宏农业集团有限公司"), "合肥恒宏农业集团有限公司", "合肥恒宏农业集团有限公司"])
    names = ["合肥恒宏农业集团", "合肥恒宏农业集团有限公司"]
    folded = resolve_accounts(cur, names)
    assert folded_names(folded) == [("合肥恒宏农业集团", "合肥恒宏农业集团有限公司")]
    apart = apart_names(cur, names, keep_apart=[" 合肥恒宏农业集团 "])
    assert apart == {"合肥恒宏农业集团"}
    kept = resolve_accounts(cur, names, apart)
    assert kept == {"合肥恒宏农业集团": "合肥恒宏农业集团", "合肥恒宏农业集团有限公司": "合肥恒宏农业集团有限公司"}
    assert folded_names(kept, apart) == []
    assert new_alias_rows(kept, known_keys=[alias_key("合肥恒宏农业集团有限公司")], apart=apart) == [
        ("=合肥恒宏农业集团", "合肥恒宏农业集团", "合肥恒宏农业集团")]
    assert exact_key("ＡＢＣ  Ltd") == "=abc ltd"          # NFKC, spaces collapsed, casefolded, suffix kept
    # once stored, the exact spelling is found apart without being asked
    cur.execute("insert into account_aliases (alias_key, alias, account) values (?, ?, ?)", ["=合肥恒宏农业集团", "合肥恒宏农业集团", "合肥恒宏农业集团"])
    assert apart_names(cur, names) == {"合肥恒宏农业集团"}
