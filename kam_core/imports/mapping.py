"""Map a sheet's headers to the canonical sales fields by Chinese and English synonyms.

The suggestion is only a suggestion: the UI shows it and the user confirms it
(bad_inputs §0.6). Matching works on a *key*: the normalised header, casefolded,
with spaces/underscores/hyphens removed and a trailing unit in brackets dropped
(``销售额(万元)`` → ``销售额``, ``Order Date`` → ``orderdate``, ``订单 ID`` → ``订单id``).

Rules, in order:
1. Exact key matches for every field first, then contains-matches (a Chinese
   synonym inside the header, or an English synonym as whole words) for the
   fields still open. Each column is used at most once.
2. Within a field the synonym list order is the preference order; ties go to
   the leftmost column.
3. A unit-price column (单价, 售价, 进价, unit price, price) is only ever
   ``unit_price`` — never amount, cost or profit. A rate or ratio column
   (毛利率, 折扣率, margin, %) is never a money or quantity field.
"""
from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

__all__ = [
    "FIELDS",
    "SYNONYMS",
    "amount_candidates",
    "field_of",
    "header_key",
    "header_signature",
    "normalise_header",
    "suggest_mapping",
    "unit_from_header",
]

FIELDS: tuple[str, ...] = (
    "date", "supplier", "brand", "category", "store", "region", "sku",
    "product", "qty", "amount", "cost", "profit", "unit_price",
)

# Order inside each list = preference when several columns match one field.
# amount: net takings first. For the pharmacy file (应收金额 = list price before
# discount, 实收金额 = what the customer paid) the received amount is the sale
# the retailer actually made, so 实收金额 outranks 应收金额; the alternatives
# are exposed by amount_candidates() for the user to switch.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": ("日期", "销售日期", "单据日期", "订单日期", "交易日期", "业务日期", "购药时间", "销售时间",
             "交易时间", "下单时间", "订单付款时间", "付款时间", "订单创建时间",
             "date", "orderdate", "salesdate", "transactiondate", "invoicedate"),
    "supplier": ("供应商", "供应商名称", "供货商", "厂商", "厂家", "货主", "供应商简称",
                 "supplier", "suppliername", "vendor", "vendorname", "manufacturer"),
    "brand": ("品牌", "品牌名称", "brand", "brandname"),
    "category": ("品类", "类别", "类目", "大类", "商品类别", "商品分类", "分类", "子类别", "中类", "小类",
                 "category", "productcategory", "subcategory"),
    "store": ("门店", "门店名称", "店铺", "店铺名称", "商店", "分店", "柜台", "store", "storename", "shop", "outlet"),
    "region": ("区域", "地区", "大区", "片区", "region", "area"),
    "sku": ("商品编码", "商品编号", "商品代码", "商品码", "产品编码", "产品编号", "产品id", "商品id", "条码",
            "条形码", "货号", "sku", "productid", "itemid", "itemcode", "barcode"),
    "product": ("商品名称", "产品名称", "品名", "商品", "产品", "宝贝标题", "商品标题",
                "product", "productname", "item", "itemname", "description"),
    "qty": ("数量", "销售数量", "销量", "件数", "销售件数", "qty", "quantity", "units"),
    "amount": ("销售额", "销售金额", "含税销售额", "实收金额", "成交金额", "销售收入", "交易额", "金额",
               "含税金额", "应收金额", "amount", "sales", "revenue", "salesamount", "netsales"),
    "cost": ("成本", "成本金额", "销售成本", "进价金额", "cost", "cogs", "costamount"),
    "profit": ("毛利", "毛利额", "毛利润", "利润", "盈利", "profit", "grossprofit"),
    "unit_price": ("单价", "售价", "销售单价", "零售价", "进价", "unitprice", "price", "saleprice"),
}

_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)
_BRACKETS = str.maketrans({"【": "[", "】": "]", "〔": "(", "〕": ")", "［": "[", "］": "]"})
_WS = re.compile(r"\s+")


def normalise_header(s: str | None) -> str:
    """NFKC, BOM/zero-width removed, brackets half-width, whitespace trimmed and collapsed."""
    if s is None:
        return ""
    s = unicodedata.normalize("NFKC", str(s)).translate(_INVISIBLE).translate(_BRACKETS)
    return _WS.sub(" ", s).strip()


_UNIT_PRICE_MARKERS = ("单价", "售价", "零售价", "进价", "unitprice", "price")
_RATE_MARKERS = ("率", "rate", "ratio", "%", "margin", "折扣", "discount")
_MONEY_OR_QTY = {"qty", "amount", "cost", "profit"}
_TRAILING_UNIT = re.compile(r"\s*\([^()]*\)\s*$")
_KEY_DROP = re.compile(r"[\s_\-]+")


_SYNONYM_KEYS = {f: frozenset(_KEY_DROP.sub("", syn.casefold()) for syn in SYNONYMS[f]) for f in SYNONYMS}


@functools.lru_cache(maxsize=8192)  # asked of every header once per field: 13× on a wide sheet
def header_key(column: str) -> str:
    """The matching key of a header: normalised, casefolded, unit in brackets and separators dropped."""
    s = normalise_header(column or "").casefold()
    s = _TRAILING_UNIT.sub("", s) or s
    return _KEY_DROP.sub("", s)


def _is_unit_price(key: str) -> bool:
    # 进价金额 / 售价金额 are money totals, not per-unit prices.
    return any(m in key for m in _UNIT_PRICE_MARKERS) and "金额" not in key and "额" not in key


def _is_rate(key: str) -> bool:
    return any(m in key for m in _RATE_MARKERS)


def _allowed(field: str, key: str) -> bool:
    if _is_unit_price(key):
        return field == "unit_price"
    if field in _MONEY_OR_QTY and _is_rate(key):
        return False
    return True


@functools.lru_cache(maxsize=8192)
def _words(column: str) -> str:
    return " " + re.sub(r"[^0-9a-z]+", " ", normalise_header(column or "").casefold()) + " "


def _contains(syn: str, column: str, key: str) -> bool:
    if syn.isascii():
        # English synonyms match whole words only: "sales" in "Total Sales", not in "Salesperson".
        return (" " + syn + " ") in _words(column)
    return len(syn) >= 2 and syn in key


def _rank(field: str, column: str, exact: bool) -> int | None:
    """Position of the best synonym of ``field`` matching ``column`` (lower is better)."""
    key = header_key(column)
    if not key or not _allowed(field, key):
        return None
    for i, syn in enumerate(SYNONYMS[field]):
        syn_key = _KEY_DROP.sub("", syn.casefold())
        if exact and key == syn_key:
            return i
        if not exact and _contains(syn, column, key):
            return i
    return None


def field_of(column: str) -> str | None:
    """The field a header matches exactly, or None (used by header detection).

    Header detection asks this of every cell in a sheet's first rows: the key is
    computed once and looked up in each field's set of synonym keys, which gives
    what ``_rank(field, column, exact=True) is not None`` gives, field by field.
    """
    key = header_key(column)
    if not key:
        return None
    for f in FIELDS:
        if key in _SYNONYM_KEYS[f] and _allowed(f, key):
            return f
    return None


def _candidates(field: str, columns: list[str], exact: bool, used: set[int]) -> list[tuple[int, int]]:
    out = []
    for idx, col in enumerate(columns):
        if idx in used:
            continue
        r = _rank(field, col, exact)
        if r is not None:
            out.append((r, idx))
    return sorted(out)


def suggest_mapping(columns: list[str]) -> dict[str, str]:
    """Suggest ``{field: column}`` for the headers; fields without a match are absent."""
    used: set[int] = set()
    result: dict[str, str] = {}
    for exact in (True, False):
        for field in FIELDS:
            if field in result:
                continue
            cands = _candidates(field, columns, exact, used)
            if cands:
                idx = cands[0][1]
                used.add(idx)
                result[field] = columns[idx]
    return {f: result[f] for f in FIELDS if f in result}


def amount_candidates(columns: list[str]) -> list[str]:
    """Every column that could be the sales amount, best first (exact matches before contains)."""
    exact = _candidates("amount", columns, True, set())
    seen = {i for _, i in exact}
    loose = [c for c in _candidates("amount", columns, False, set()) if c[1] not in seen]
    return [columns[i] for _, i in exact + loose]


_UNITS = [
    (re.compile(r"百万元|百万|million|\bmn\b|\bm\s*cny\b|\bm\s*rmb\b"), 1_000_000, "million"),
    (re.compile(r"万元|\(万\)|\b10k\b|ten thousand"), 10_000, "wan"),
    (re.compile(r"千元|\(千\)|\bk\s*(?:cny|rmb|yuan)\b|thousand|\(k\)|'000|000s"), 1_000, "thousand"),
]


def unit_from_header(column: str) -> tuple[int, str]:
    """The money unit a header declares: ``销售额(万元)`` → ``(10000, 'wan')``; default ``(1, 'yuan')``."""
    s = normalise_header(column or "").casefold()
    for pattern, mult, name in _UNITS:
        if pattern.search(s):
            return mult, name
    return 1, "yuan"


def header_signature(columns: list[str]) -> str:
    """A stable 16-hex-digit hash of the normalised, casefolded headers in order."""
    norm = "\x1f".join(normalise_header(c or "").casefold() for c in columns)
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]
