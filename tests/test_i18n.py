"""The label table: complete in both languages, placeholders consistent, policy wording exact."""
from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from kam_core.locales import labels as i18n
from kam_core.locales.labels import LABELS, LANGS, MissingLabel, placeholders, setting_help, setting_label, t
from kam_core.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def test_the_languages_are_chinese_and_english():
    assert LANGS == ("zh", "en")


def test_every_key_has_a_non_empty_label_in_both_languages():
    incomplete = [key for key, entry in LABELS.items()
                  if set(entry) != set(LANGS) or not all(entry[lang].strip() for lang in LANGS)]
    assert incomplete == []


def test_placeholders_are_the_same_in_both_languages():
    mismatched = [key for key, entry in LABELS.items()
                  if placeholders(entry["zh"]) != placeholders(entry["en"])]
    assert mismatched == []


def test_the_table_is_not_trivially_small():
    # Guards the two tests above against passing on an accidentally emptied table.
    assert len(LABELS) > 300


def test_placeholders_finds_the_named_fields():
    assert placeholders("还差 {amount} 升级，第 {n} 名") == {"amount", "n"}
    assert placeholders("no fields") == set()


def test_a_repeated_key_is_refused_when_the_catalogue_is_read(tmp_path):
    (tmp_path / "zh.toml").write_text('[a]\nb = "甲"\nb = "乙"\n', encoding="utf-8")
    (tmp_path / "en.toml").write_text('[a]\nb = "A"\n', encoding="utf-8")
    with pytest.raises(tomllib.TOMLDecodeError):
        i18n.load_catalogue(tmp_path)


def test_both_language_files_hold_the_same_keys_with_the_same_placeholders():
    files = {}
    for lang in LANGS:
        with open(ROOT / "kam_core" / "locales" / f"{lang}.toml", "rb") as fh:
            files[lang] = i18n._flatten(tomllib.load(fh), lang)
    assert set(files["zh"]) - set(files["en"]) == set()
    assert set(files["en"]) - set(files["zh"]) == set()
    differ = [k for k in files["zh"] if placeholders(files["zh"][k]) != placeholders(files["en"][k])]
    assert differ == []
    assert "setting_help.tier_basis" in files["en"] and "kpi.sales" in files["zh"]


def _code_strings():
    """Every string literal in the product's code, and the literal starts of its f-strings."""
    files = [ROOT / "dashboard.py", ROOT / "app.py", *(ROOT / "app_pages").glob("*.py"), *(ROOT / "kam_core").rglob("*.py")]
    consts, starts = set(), set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                consts.add(node.value)
            elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                starts.add(node.values[0].value)
    return consts, starts


def test_every_label_in_the_catalogue_is_asked_for_somewhere():
    consts, starts = _code_strings()
    # A key is asked for literally ("kpi.sales"), by an f-string's start (f"tier.{code}"), or under
    # a prefix held in a constant ("agreement.status" + "." + code).
    prefixes = {s for s in starts if s.endswith((".", "_"))} | {
        c + "." for c in consts if re.fullmatch(r"[a-z_]+(\.[a-z_0-9]+)*", c)}
    unused = [k for k in LABELS if k not in consts and not any(k.startswith(p) for p in prefixes)]
    assert unused == []


def test_an_unused_label_would_be_found(monkeypatch):
    monkeypatch.setitem(LABELS, "zz_no_area.zz_never_asked_for", {"zh": "无", "en": "none"})
    with pytest.raises(AssertionError):
        test_every_label_in_the_catalogue_is_asked_for_somewhere()


def test_t_fills_placeholders_in_each_language():
    assert t("tier.gap_up", "zh", amount="¥1.2M") == "还差 ¥1.2M 升级"
    assert t("tier.gap_up", "en", amount="¥1.2M") == "¥1.2M short of the next tier"


def test_t_accepts_region_tagged_language_codes():
    assert t("kpi.sales", "zh-CN") == "销售额"
    assert t("kpi.sales", "en-US") == "Sales"


def test_a_missing_key_raises_under_tests():
    with pytest.raises(MissingLabel):
        t("no.such.key", "zh")


def test_a_missing_format_value_raises_under_tests():
    with pytest.raises(MissingLabel):
        t("tier.gap_up", "zh")  # {amount} not given


def test_at_run_time_a_missing_key_falls_back_to_the_key(monkeypatch):
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.delenv("KAM_I18N_STRICT", raising=False)
    assert t("no.such.key", "en") == "no.such.key"
    assert t("tier.gap_up", "zh", wrong="x") == "还差 {amount} 升级"


def test_label_or_returns_the_default_for_an_unknown_key():
    assert i18n.label_or("plan.kind.spaceship", "zh", "spaceship") == "spaceship"
    assert i18n.label_or("plan.kind.budget", "en", "x") == "Marketing budget"


@pytest.mark.parametrize(
    ("key", "zh", "en"),
    [
        ("tier.strategic", "战略性大客户", "Strategic key account"),
        ("tier.partner", "伙伴式大客户", "Partner key account"),
        ("tier.ordinary", "普通大客户", "Ordinary key account"),
        ("tier.none", "非大客户", "Not a key account"),
        ("move.up", "升级", "Up"),
        ("move.down", "降级", "Down"),
        ("move.same", "持平", "Same"),
        ("move.new", "新增", "New"),
        ("move.lost", "流失", "Lost"),
        ("kpi.sales", "销售额", "Sales"),
        ("kpi.gross_profit", "毛利", "Gross profit"),
        ("kpi.margin", "毛利率", "Margin"),
        ("kpi.top10_share", "前十大占比", "Top-10 share"),
        ("kpi.hhi", "集中度指数 HHI", "Concentration (HHI)"),
        ("kpi.yoy", "同比", "Change vs last year"),
        ("col.to_next_tier", "距下一级", "To next tier"),
        ("unit.yuan", "元", "CNY"),
        ("unit.wan", "万元", "10k CNY"),
        ("projection.label", "全年预测（按季节规律）", "Full-year projection (seasonal)"),  # issue 17
        ("import.date_order", "日期是 年-月-日、日-月-年 还是 月-日-年？",
         "Are the dates year-month-day, day-month-year or month-day-year?"),
        ("empty.load_demo", "载入演示数据", "Load demo data"),
    ],
)
def test_the_wording_the_issue_and_policy_fix(key, zh, en):
    assert (t(key, "zh"), t(key, "en")) == (zh, en)


def test_the_six_criteria_carry_the_policy_text_of_clause_1_2():
    # Chinese original: /work/shared/seed/000_73c1140abf28c89a.txt, 一.2
    assert [t(f"crit.{i}", "zh") for i in range(1, 7)] == [
        "① 产品品牌具有较高的知名度",
        "② 产品的市场占有率占本企业销量的前十位",
        "③ 销售及利润的贡献比重大",
        "④ 与本企业的配合、日常沟通和销售支持情况良好",
        "⑤ 优先保证本企业的货源",
        "⑥ 优先保证首销或新产品上柜",
    ]
    assert all(t(f"crit.{i}", "en").startswith("①②③④⑤⑥"[i - 1]) for i in range(1, 7))


def test_the_empty_state_starts_with_no_data_yet():
    assert t("empty.no_data", "zh").startswith("还没有数据")


def test_every_tier_table_column_has_a_header():
    columns = ("account,year,sales,gross_profit,margin,share,profit_share,rank,"
               "profit_rank,cum_share,abc,yoy,tier,to_next_tier,basis_amount").split(",")
    assert all(f"col.{c}" in LABELS for c in columns)


def test_every_import_field_and_rejection_code_has_a_label():
    fields = "date supplier brand category store region sku product qty amount cost profit unit_price".split()
    codes = ("empty too_large encrypted truncated html_as_xls spreadsheetml_2003 zip_bomb xml_entities "
             "strict_ooxml_unsupported power_pivot_only not_a_spreadsheet binary_unknown field_count").split()
    assert [f for f in fields if f"field.{f}" not in LABELS] == []
    assert [c for c in codes if f"import_error.{c}" not in LABELS] == []


@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_every_setting_has_a_short_name_in_both_languages(key):
    assert setting_label(key, "zh") != setting_label(key, "en")
    assert setting_label(key, "zh")
    assert setting_help(key, "zh") and setting_help(key, "en") and setting_help(key, "zh") != setting_help(key, "en")


def test_setting_help_is_the_text_declared_in_settings():
    assert setting_help("tier_basis", "zh") == "分级依据：销售额，或采购成本。"
    assert setting_help("tier_basis", "en") == "What the tier thresholds are compared with: sales, or cost of goods purchased."


def test_a_setting_label_for_an_unknown_setting_raises_under_tests():
    with pytest.raises(MissingLabel):
        setting_label("no_such_setting", "zh")


def _label_calls():
    """(file, line, key, keyword names) of every literal ``t("key", …)`` / ``ctx.t("key", …)`` call."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [root / "dashboard.py", *(root / "app_pages").glob("*.py"), *(root / "kam_core").rglob("*.py")]
    for path in files:
        if not path.exists() or path.name == "labels.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "t" and all(k.arg for k in node.keywords):
                yield path.relative_to(root), node.lineno, node.args[0].value, {k.arg for k in node.keywords}


def test_every_label_the_code_asks_for_exists_with_the_placeholders_it_fills():
    problems = []
    for path, line, key, given in _label_calls():
        if key not in LABELS:
            problems.append(f"{path}:{line} {key}: no such label")
        elif placeholders(LABELS[key]["zh"]) != given - {"lang"}:
            problems.append(f"{path}:{line} {key}: fills {sorted(given)}, "
                            f"label has {sorted(placeholders(LABELS[key]['zh']))}")
    assert problems == []


def test_lists_in_a_sentence_use_each_language_s_own_separator():
    assert i18n.join_items(["供应商", "金额"], "zh") == "供应商、金额"
    assert i18n.join_items(["Supplier", "Amount"], "en-US") == "Supplier, Amount"
    assert i18n.join_items([], "zh") == ""


# Modules whose Chinese text is data, not words of the interface: header synonyms the importer
# recognises, total-line patterns of Chinese exports, company-name suffixes, the demo data's names,
# and the catalogue's own module (the list separator 、).
DATA_MODULES = ("kam_core/imports/mapping.py", "kam_core/imports/clean.py", "kam_core/imports/steps.py",
                "kam_core/imports/accounts.py", "kam_core/imports/headers.py", "kam_core/demo/",
                "kam_core/locales/labels.py")
# Literals elsewhere (path, a part of the literal) that are not interface words, each with its reason.
ALLOWED = {
    # Chinese phone extensions (…转 8001) and dates typed as 2026年3月1日 are input formats the dossier accepts.
    ("kam_core/dossier/fields.py", r"\s*(?:转|ext\.?|x|#)\s*\d{1,6}$"),
    ("kam_core/dossier/fields.py", "%Y年%m月%d日"),
    # The command line's English refusals name WPS's Chinese menu and the Chinese units, as users see them.
    ("kam_core/imports/detect.py", "(File → Info → Protect Workbook / 文件→信息→保护工作簿)"),
}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff5e]")


def _chinese_literals(path: Path) -> list[tuple[int, str]]:
    """String literals holding Chinese, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
            and CJK.search(node.value)]


def test_no_chinese_label_text_is_written_in_code_outside_the_catalogue():
    files = [ROOT / "dashboard.py", ROOT / "app.py", *(ROOT / "app_pages").glob("*.py"), *(ROOT / "kam_core").rglob("*.py")]
    found = [f"{p.relative_to(ROOT)}:{line}: {text[:40]!r}" for p in files
             if not str(p.relative_to(ROOT)).startswith(DATA_MODULES)
             for line, text in _chinese_literals(p)
             if not any(str(p.relative_to(ROOT)) == path and part in text for path, part in ALLOWED)]
    assert found == [], "Chinese words in code; they belong in kam_core/locales/*.toml:\n" + "\n".join(found)


def test_the_chinese_text_check_would_find_a_label_in_code(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text('"""模块说明：文档不算。"""\nTITLE = "销售额"\nOK = "sales"\n', encoding="utf-8")
    assert [text for _, text in _chinese_literals(stray)] == ["销售额"]
