"""Demo data: a fictional Chinese retailer's sales, generated from a fixed seed.

Nothing generated is committed; everything is rebuilt from :data:`DEFAULT_SEED`
in about a second. The retailer has 40 stores in 6 regions and about 300
suppliers (each with one brand) whose yearly sales follow a heavy-tailed curve
so that every tier of the policy is populated in every year: a handful of
strategic accounts (≥ 50M), a dozen or more partners (20–50M), dozens of
ordinary key accounts (5–20M) and a long tail below 5M. Suppliers grow or
shrink from year to year, so some change tier; two appear only in the last
full year and two stop after the third-last.

Lines are aggregated (about one per supplier × store × month × SKU) so that
four years come to roughly 300k lines and load in a few seconds.

Public API: :func:`generate_sales`, :func:`load_demo`,
:func:`write_sample_exports`, :func:`sample_totals`, :func:`sample_summary`.
"""
from __future__ import annotations

import calendar
import csv
import hashlib
import io
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from kam_core.imports import pipeline
from kam_core.sales import accounts as account_sales
from kam_core.store import Store

DEFAULT_SEED = 20251127
DEMO_FILE_NAME = "演示数据 demo"
SAMPLE_XLSX = "sample_messy_export.xlsx"
SAMPLE_CSV = "sample_gbk_export.csv"
COLUMNS = ["date", "store", "region", "supplier", "brand", "category", "sku", "product",
           "qty", "amount", "cost", "profit"]

# --------------------------------------------------------------------------
# Fixed vocabularies (fictional names; every character is in GBK)
# --------------------------------------------------------------------------
REGION_STORES: dict[str, list[str]] = {
    "华东": ["上海徐汇店", "上海浦东店", "上海静安店", "杭州西湖店", "杭州滨江店",
             "南京新街口店", "苏州园区店", "宁波鄞州店", "合肥政务区店", "无锡梁溪店"],
    "华南": ["广州天河店", "广州越秀店", "深圳南山店", "深圳福田店", "东莞南城店",
             "佛山禅城店", "厦门思明店", "福州鼓楼店"],
    "华北": ["北京朝阳店", "北京海淀店", "天津和平店", "石家庄长安店", "济南历下店",
             "青岛市南店", "太原迎泽店"],
    "华中": ["武汉江汉店", "武汉光谷店", "长沙五一店", "郑州金水店", "南昌红谷滩店"],
    "西南": ["成都春熙路店", "成都高新店", "重庆解放碑店", "重庆江北店", "昆明五华店",
             "贵阳观山湖店"],
    "西北": ["西安钟楼店", "西安高新店", "兰州城关店", "银川兴庆店"],
}
REGION_CITIES: dict[str, list[str]] = {
    "华东": ["上海", "杭州", "南京", "苏州", "宁波", "合肥"],
    "华南": ["广州", "深圳", "东莞", "佛山", "厦门", "福州"],
    "华北": ["北京", "天津", "石家庄", "济南", "青岛", "太原"],
    "华中": ["武汉", "长沙", "郑州", "南昌"],
    "西南": ["成都", "重庆", "昆明", "贵阳"],
    "西北": ["西安", "兰州", "银川"],
}

# category: (share of suppliers, industry word in the company name, margin mean,
#            [(product noun, spec, unit price)])
CATEGORIES: dict[str, tuple[float, str, float, list[tuple[str, str, float]]]] = {
    "食品": (0.21, "食品", 0.18, [
        ("挂面", "500g", 6.5), ("东北大米", "5kg", 39.9), ("花生油", "5L", 89.0),
        ("生抽酱油", "500ml", 12.9), ("苏打饼干", "400g", 15.8), ("方便面", "5连包", 13.5),
        ("速冻水饺", "1kg", 26.0), ("火腿肠", "10支装", 16.9), ("坚果礼盒", "750g", 128.0),
        ("薯片", "70g", 7.5), ("腊肠", "500g", 45.0)]),
    "饮料": (0.12, "饮料", 0.21, [
        ("饮用天然水", "550ml×24", 36.0), ("橙汁", "1L", 13.8), ("茉莉绿茶", "500ml", 3.5),
        ("可乐", "330ml×6", 16.5), ("苏打水", "410ml", 4.5), ("凉茶", "310ml×6", 21.0),
        ("咖啡饮料", "268ml", 6.0), ("椰汁", "1L", 15.9)]),
    "乳制品": (0.08, "乳业", 0.16, [
        ("纯牛奶", "250ml×12", 52.0), ("原味酸奶", "200g×8", 35.9), ("中老年奶粉", "900g", 138.0),
        ("奶酪棒", "500g", 49.9), ("低脂鲜牛奶", "950ml", 18.5)]),
    "酒类": (0.08, "酒业", 0.26, [
        ("浓香型白酒", "500ml", 268.0), ("精酿啤酒", "500ml×12", 89.0), ("干红葡萄酒", "750ml", 128.0),
        ("绍兴黄酒", "500ml", 25.0), ("桂花米酒", "1L", 22.0)]),
    "生鲜": (0.10, "农业", 0.13, [
        ("土鸡蛋", "30枚", 32.0), ("冷鲜猪肉", "500g", 16.8), ("红富士苹果", "2.5kg", 29.9),
        ("香蕉", "1kg", 8.9), ("牛腩", "500g", 49.0), ("三文鱼", "200g", 59.0),
        ("时令蔬菜组合", "1.5kg", 19.9)]),
    "日化": (0.10, "日化", 0.21, [
        ("洗衣液", "3kg", 45.9), ("洗洁精", "1.5kg", 16.9), ("抽纸", "10包", 29.9),
        ("洗衣粉", "2kg", 24.5), ("消毒液", "1L", 19.9), ("垃圾袋", "100只", 12.0)]),
    "个护": (0.10, "个人护理用品", 0.28, [
        ("洗发水", "400ml", 49.9), ("沐浴露", "750ml", 39.9), ("美白牙膏", "120g", 15.9),
        ("软毛牙刷", "4支装", 19.9), ("保湿面霜", "50g", 99.0), ("卫生巾", "10片", 14.9)]),
    "母婴": (0.08, "母婴用品", 0.22, [
        ("婴儿配方奶粉", "800g", 268.0), ("纸尿裤", "L码52片", 119.0), ("婴儿湿巾", "80抽×3", 29.9),
        ("婴儿米粉", "225g", 45.0), ("玻璃奶瓶", "240ml", 89.0)]),
    "家电": (0.13, "电器", 0.12, [
        ("电饭煲", "4L", 399.0), ("空气炸锅", "5L", 329.0), ("电热水壶", "1.7L", 129.0),
        ("微波炉", "20L", 499.0), ("无线吸尘器", "", 1299.0), ("落地电风扇", "", 259.0),
        ("破壁料理机", "1.75L", 699.0), ("变频空调", "1.5匹", 2999.0), ("双门冰箱", "218L", 1899.0)]),
}
# a second category a supplier may also sell in
RELATED: dict[str, list[str]] = {
    "食品": ["饮料", "生鲜", "酒类"], "饮料": ["食品", "乳制品"], "乳制品": ["饮料", "母婴"],
    "酒类": ["饮料", "食品"], "生鲜": ["食品"], "日化": ["个护"], "个护": ["日化", "母婴"],
    "母婴": ["乳制品", "个护"], "家电": ["日化"],
}
NAME_FIRST = list("华康金鑫达美佳润嘉盛恒瑞福宏丰源天海百新利泰安汇隆永兴益信和顺昌万")
NAME_SECOND = list("华康达美佳润盛恒瑞福宏丰源祥海新利泰安汇隆兴益信和顺昌发鼎荣晟")
BRAND_FIRST = list("乐滋鲜悦优爽香味甜蜜清洁贝宝萌星尚雅舒净乖馨喜臻纯初")
BRAND_SECOND = list("滋鲜悦优爽香味甜蜜清洁贝宝萌星尚雅舒净乖馨喜臻纯多")
VARIANTS = ["", "经典装", "家庭装", "礼盒装", "升级款", "轻享款"]

# Spring Festival (lunar new year) dates; the month before it sells the most.
SPRING_FESTIVAL = {
    2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12),
    2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10),
    2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6),
    2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
    2031: date(2031, 1, 23), 2032: date(2032, 2, 11), 2033: date(2033, 1, 31),
    2034: date(2034, 2, 19), 2035: date(2035, 2, 8),
}

# Yearly sales (yuan) of the first demo year by size rank: log-linear between
# anchors. The gaps around 50M / 20M / 5M are what keep each tier populated
# in every year despite growth and noise (see tests/test_demo.py).
_SIZE_ANCHORS = [(1, 210e6), (2, 150e6), (4, 92e6), (5, 57e6), (6, 48e6), (8, 42e6),
                 (20, 23.5e6), (24, 19e6), (60, 6.2e6), (75, 4.4e6), (150, 1.3e6),
                 (300, 0.12e6)]
N_SUPPLIERS = 300
RETURN_SHARE = 0.02
_LINES_FACTOR = 12.4         # lines per supplier-month ≈ factor × (yearly sales in M)^0.55


def _as_date(today: date | datetime | None) -> date:
    if today is None:
        return date.today()
    if isinstance(today, datetime):
        return today.date()
    return today


def demo_years(today: date | datetime | None = None) -> list[int]:
    """The demo's years: three full calendar years and the current year to date."""
    y = _as_date(today).year
    return [y - 3, y - 2, y - 1, y]


def _season(category: str, year: int) -> np.ndarray:
    """Relative monthly sales weights (12,) for a category in a year."""
    w = np.array([1.0, 0.9, 0.85, 0.85, 0.95, 1.1, 0.92, 0.92, 0.95, 1.05, 1.25, 1.1])
    boost_618, boost_1111, boost_cny = 0.15, 0.25, 0.35
    if category == "家电":
        boost_618, boost_1111, boost_cny = 0.45, 0.6, 0.15
    elif category in ("酒类", "食品"):
        boost_cny = 0.6
    elif category == "饮料":
        w[5:8] += 0.25
    w[5] += boost_618
    w[10] += boost_1111
    sf = SPRING_FESTIVAL.get(year, date(year, 2, 1))
    # the weeks before the festival carry the shopping; split across months
    if sf.day <= 12:
        w[sf.month - 2] += boost_cny * 0.6
        w[sf.month - 1] += boost_cny * 0.4
    else:
        w[sf.month - 1] += boost_cny
    return w / w.sum()


def _size_curve(ranks: np.ndarray) -> np.ndarray:
    r = np.array([a for a, _ in _SIZE_ANCHORS], dtype=float)
    s = np.array([b for _, b in _SIZE_ANCHORS])
    return np.exp(np.interp(np.log(ranks), np.log(r), np.log(s)))


def _suppliers(rng: np.random.Generator) -> dict:
    """Names, categories, margins, sizes and footprints of the suppliers."""
    n = N_SUPPLIERS
    regions = list(REGION_STORES)
    cats = list(CATEGORIES)
    cat_p = np.array([CATEGORIES[c][0] for c in cats])
    cat_p = cat_p / cat_p.sum()

    pairs = [(a, b) for a in NAME_FIRST for b in NAME_SECOND if a != b]
    cores = [pairs[i][0] + pairs[i][1] for i in rng.choice(len(pairs), n, replace=False)]
    bpairs = [(a, b) for a in BRAND_FIRST for b in BRAND_SECOND if a != b]
    brands = [bpairs[i][0] + bpairs[i][1] for i in rng.choice(len(bpairs), n, replace=False)]

    main_cat = rng.choice(len(cats), n, p=cat_p)
    home = rng.integers(0, len(regions), n)
    home[:10] = rng.integers(0, 3, 10)    # the biggest suppliers sit in the east, south and north
    names, second_cat = [], []
    for i in range(n):
        cat = cats[main_cat[i]]
        city = REGION_CITIES[regions[home[i]]][rng.integers(0, len(REGION_CITIES[regions[home[i]]]))]
        if i < 6:
            suffix = "集团有限公司"
        else:
            suffix = "股份有限公司" if rng.random() < 0.12 else "有限公司"
        names.append(f"{city}{cores[i]}{CATEGORIES[cat][1]}{suffix}")
        rel = RELATED[cat]
        second_cat.append(cats.index(rel[rng.integers(0, len(rel))]) if rng.random() < 0.3 else -1)

    ranks = np.arange(1, n + 1, dtype=float)
    base = _size_curve(ranks) * np.exp(rng.normal(0, 0.04, n))
    trend = np.clip(rng.normal(0.035, 0.085, n), -0.16, 0.2)
    # the top four stay strategic; a few named stories make tier migration visible
    trend[:4] = np.clip(trend[:4], -0.02, 0.12)
    trend[4] = -0.07      # a strategic account slipping to partner
    trend[6] = 0.1        # a partner growing into strategic
    margin = np.clip(np.array([CATEGORIES[cats[c]][2] for c in main_cat]) + rng.normal(0, 0.05, n),
                     0.05, 0.35)
    return dict(names=names, brands=brands, main_cat=main_cat, second_cat=np.array(second_cat),
                home=home, base=base, trend=trend, margin=margin)


@lru_cache(maxsize=2)   # the app and tests ask for the same frame repeatedly
def _generate(seed: int, today: date) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    years = demo_years(today)
    cats = list(CATEGORIES)
    regions = list(REGION_STORES)
    store_names = [s for r in regions for s in REGION_STORES[r]]
    store_region = np.array([regions.index(r) for r in regions for _ in REGION_STORES[r]])
    n_stores = len(store_names)
    store_w = np.exp(rng.normal(0, 0.35, n_stores))
    store_w[[0, 1, 10, 12, 18, 19]] *= 1.6   # flagship stores in the big cities

    sup = _suppliers(rng)
    n = N_SUPPLIERS
    # active years: two newcomers from the last full year, two lost after the third-last
    active = np.ones((n, 4), dtype=bool)
    for i in (44, 151):
        active[i, :2] = False
    for i in (51, 203):
        active[i, 2:] = False

    # yearly target per supplier: base × trend^k × noise
    k = np.arange(4)
    yearly = sup["base"][:, None] * np.exp(sup["trend"][:, None] * k[None, :]
                                           + rng.normal(0, 0.05, (n, 4)))
    # only the designated strategic accounts may reach 50M, so every year has 3–6
    designated = np.zeros(n, dtype=bool)
    designated[[0, 1, 2, 3, 4, 6]] = True
    yearly[~designated] = np.minimum(yearly[~designated],
                                     rng.uniform(44e6, 49e6, (int((~designated).sum()), 4)))
    yearly[44, 2:] = [7.5e6, 9.8e6]     # the bigger newcomer is an ordinary account at once
    yearly[51, :2] = [8.8e6, 7.2e6]     # the bigger lost account was ordinary

    # SKUs: globally unique 7-digit codes, about half with leading zeros
    sku_counts = np.clip(np.round(3 + 3.2 * (sup["base"] / 1e6) ** 0.4), 3, 40).astype(int)
    codes = rng.choice(np.arange(10_000, 2_000_000), int(sku_counts.sum()), replace=False)
    sku_code_list: list[str] = []
    sku_name_list: list[str] = []
    sku_cat_list: list[int] = []
    sku_price_list: list[float] = []
    sku_owner: list[np.ndarray] = []
    pos = 0
    for i in range(n):
        own = []
        for j in range(sku_counts[i]):
            c = sup["main_cat"][i] if (sup["second_cat"][i] < 0 or j % 4) else sup["second_cat"][i]
            noun, spec, price = CATEGORIES[cats[c]][3][rng.integers(0, len(CATEGORIES[cats[c]][3]))]
            variant = VARIANTS[rng.integers(0, len(VARIANTS))]
            sku_code_list.append(f"{codes[pos]:07d}")
            sku_name_list.append(f"{sup['brands'][i]}{noun}{spec}{variant}")
            sku_cat_list.append(int(c))
            sku_price_list.append(round(price * float(np.exp(rng.normal(0, 0.15))), 1))
            own.append(pos)
            pos += 1
        sku_owner.append(np.array(own))
    sku_cat = np.array(sku_cat_list)
    sku_price = np.array(sku_price_list)
    sku_pop = np.exp(rng.normal(0, 0.7, pos))

    # store footprints: the big suppliers are everywhere, small ones regional
    footprints: list[np.ndarray] = []
    for i in range(n):
        size_m = sup["base"][i] / 1e6
        m = int(np.clip(round(8 * size_m ** 0.5), 4, n_stores))
        in_home = np.flatnonzero(store_region == sup["home"][i])
        others = np.flatnonzero(store_region != sup["home"][i])
        order = np.concatenate([rng.permutation(in_home), rng.permutation(others)])
        footprints.append(np.sort(order[:m]))

    # months of each year (the current year only up to today, today included)
    months: list[tuple[int, int, int, int, float]] = []   # (year index, year, month, last day, fraction)
    for yi, y in enumerate(years):
        last_month = 12 if y < today.year else today.month
        for mth in range(1, last_month + 1):
            dim = calendar.monthrange(y, mth)[1]
            if y == today.year and mth == today.month:
                months.append((yi, y, mth, today.day, today.day / dim))
            else:
                months.append((yi, y, mth, dim, 1.0))
    seasons = {(c, y): _season(c, y) for c in cats for y in years}

    parts: dict[str, list[np.ndarray]] = {key: [] for key in
                                          ("sup", "store", "sku", "day", "cents", "qty", "cost")}
    for i in range(n):
        cat = cats[sup["main_cat"][i]]
        cell_target, cell_lines, cell_day0, cell_ndays = [], [], [], []
        for yi, y, mth, ndays, frac in months:
            if not active[i, yi]:
                continue
            target = yearly[i, yi] * seasons[(cat, y)][mth - 1] * frac
            lines = int(np.clip(round(_LINES_FACTOR * (yearly[i, yi] / 1e6) ** 0.55 * frac), 2, 160))
            cell_target.append(target)
            cell_lines.append(lines)
            cell_day0.append((date(y, mth, 1) - date(1970, 1, 1)).days)
            cell_ndays.append(ndays)
        if not cell_target:
            continue
        cl = np.array(cell_lines)
        cell = np.repeat(np.arange(len(cl)), cl)
        total = int(cl.sum())
        fp = footprints[i]
        sp = store_w[fp] / store_w[fp].sum()
        stores = fp[rng.choice(len(fp), total, p=sp)]
        own = sku_owner[i]
        skp = sku_pop[own] / sku_pop[own].sum()
        skus = own[rng.choice(len(own), total, p=skp)]
        day = np.array(cell_day0)[cell] + np.floor(rng.random(total) * np.array(cell_ndays)[cell]).astype(int)
        w = store_w[stores] * sku_pop[skus] * np.exp(rng.normal(0, 0.5, total))
        is_ret = rng.random(total) < RETURN_SHARE
        # returns are a fraction of a normal line; the positive lines make up the
        # difference so each supplier-month nets exactly to its target
        wsum = np.bincount(cell, weights=w)
        share = w / wsum[cell]
        tgt = np.array(cell_target)[cell]
        ret_amt = np.where(is_ret, -share * tgt * rng.uniform(0.1, 0.5, total), 0.0)
        ret_sum = np.bincount(cell, weights=ret_amt, minlength=len(cl))
        pos_w = np.where(is_ret, 0.0, share)
        pos_sum = np.bincount(cell, weights=pos_w, minlength=len(cl))
        pos_sum[pos_sum == 0] = 1.0
        amount = np.where(is_ret, ret_amt, pos_w / pos_sum[cell] * (tgt - ret_sum[cell]))
        cents = np.round(amount * 100).astype(np.int64)
        cents[cents == 0] = 100    # no zero lines
        margin = np.clip(sup["margin"][i] + rng.normal(0, 0.015, total), 0.005, 0.6)
        cost = np.round(cents * (1 - margin)).astype(np.int64)
        price = sku_price[skus] * rng.uniform(0.85, 1.0, total)
        qty = np.maximum(1, np.round(np.abs(cents) / 100 / price)).astype(np.int64) * np.sign(cents)
        for key, val in (("sup", np.full(total, i)), ("store", stores), ("sku", skus), ("day", day),
                         ("cents", cents), ("qty", qty), ("cost", cost)):
            parts[key].append(val)

    a = {k2: np.concatenate(v) for k2, v in parts.items()}
    order = np.lexsort((a["sku"], a["sup"], a["store"], a["day"]))
    a = {k2: v[order] for k2, v in a.items()}

    names = np.array(sup["names"], dtype=object)
    brands = np.array(sup["brands"], dtype=object)
    stores_arr = np.array(store_names, dtype=object)
    regions_arr = np.array(regions, dtype=object)[store_region]
    cats_arr = np.array(cats, dtype=object)
    df = pd.DataFrame({
        "date": pd.to_datetime(a["day"].astype("datetime64[D]")).astype("datetime64[s]"),
        "store": pd.array(stores_arr[a["store"]], dtype="str"),
        "region": pd.array(regions_arr[a["store"]], dtype="str"),
        "supplier": pd.array(names[a["sup"]], dtype="str"),
        "brand": pd.array(brands[a["sup"]], dtype="str"),
        "category": pd.array(cats_arr[sku_cat[a["sku"]]], dtype="str"),
        "sku": pd.array(np.array(sku_code_list, dtype=object)[a["sku"]], dtype="str"),
        "product": pd.array(np.array(sku_name_list, dtype=object)[a["sku"]], dtype="str"),
        "qty": a["qty"],
        "amount": a["cents"] / 100,
        "cost": a["cost"] / 100,
        "profit": (a["cents"] - a["cost"]) / 100,
    })
    return df


def generate_sales(seed: int = DEFAULT_SEED, today: date | datetime | None = None) -> pd.DataFrame:
    """The demo retailer's sales lines, identical for the same ``seed`` and ``today``.

    Covers the three calendar years before ``today``'s year in full and the
    current year up to ``today`` (default: the real date). Columns:
    ``date, store, region, supplier, brand, category, sku, product, qty,
    amount, cost, profit``; money in yuan with 2 decimals and
    ``profit == amount - cost`` to the cent; ``sku`` is zero-padded text.
    About 2 % of the lines are returns (negative qty, amount, cost, profit).
    """
    return _generate(int(seed), _as_date(today)).copy()


# --------------------------------------------------------------------------
# Loading into the store
# --------------------------------------------------------------------------
def _demo_sha256(seed: int, today: date) -> str:
    return hashlib.sha256(f"kam-demo-v1|seed={seed}|today={today.isoformat()}".encode()).hexdigest()


def load_demo(store: Store, today: date | datetime | None = None, *, seed: int = DEFAULT_SEED) -> int:
    """Load the demo sales as one import batch and return its import id.

    Through :func:`kam_core.imports.pipeline.record_lines`, in one transaction:
    the ``imports`` row, every ``sales`` line (bulk insert from Arrow), an alias
    per supplier (existing aliases are kept) and the data version bump. Loading
    the same demo again returns the loaded batch's id and writes nothing, so the
    data is never counted twice.
    """
    day = _as_date(today)
    sha = _demo_sha256(int(seed), day)
    existing = pipeline.loaded_import(store, sha)
    if existing:
        return int(existing[0])

    df = generate_sales(seed, day)
    lines = pd.DataFrame({
        "source_sheet": "demo", "source_row": np.arange(1, len(df) + 1, dtype=np.int32),
        "date": pd.to_datetime(df["date"]).dt.date, "account": df["supplier"], "account_raw": df["supplier"],
        **{c: df[c] for c in ("supplier", "brand", "category", "store", "region", "sku", "product",
                              "qty", "amount", "cost", "profit")},
        "unit_price": (df["amount"] / df["qty"].where(df["qty"] != 0)).round(4),
    })
    report = {"source": "demo", "seed": int(seed), "today": day.isoformat(),
              "rows_read": len(df), "rows_loaded": len(df)}
    return pipeline.record_lines(
        store, pa.Table.from_pandas(lines, preserve_index=False), file_name=DEMO_FILE_NAME, sha256=sha,
        user="demo", title="演示数据（随机种子 %d）" % seed, mapping={f: f for f in COLUMNS}, report=report,
        sheets=["demo"], file_format="demo")


# --------------------------------------------------------------------------
# Sample exports for trying the upload
# --------------------------------------------------------------------------
def _sample_month(today: date) -> tuple[int, int]:
    """The last full month before ``today``'s month."""
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


@lru_cache(maxsize=4)
def _sample_slice(today: date, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """About 2,000 lines of one month from the biggest suppliers of that month."""
    df = _generate(seed, today)
    y, m = _sample_month(today)
    month = df[(df["date"].dt.year == y) & (df["date"].dt.month == m)]
    counts = month.groupby("supplier", sort=False).size().sort_values(ascending=False, kind="stable")
    chosen, n = [], 0
    for sup_name, c in counts.items():
        if n >= 2000:
            break
        chosen.append(sup_name)
        n += int(c)
    out = month[month["supplier"].isin(chosen)].sort_values(
        ["date", "store", "supplier", "sku"], kind="stable").reset_index(drop=True)
    return out


def _cents(s: pd.Series) -> np.ndarray:
    return np.round(s.to_numpy(dtype=float) * 100).astype(np.int64)


def sample_summary(today: date | datetime | None = None) -> dict[str, dict[str, float]]:
    """Per sample file: ``rows``, ``qty``, ``amount``, ``cost``, ``profit`` in yuan (true values)."""
    sl = _sample_slice(_as_date(today))
    figures = {
        "rows": float(len(sl)),
        "qty": float(sl["qty"].sum()),
        "amount": int(_cents(sl["amount"]).sum()) / 100,
        "cost": int(_cents(sl["cost"]).sum()) / 100,
        "profit": int(_cents(sl["profit"]).sum()) / 100,
    }
    return {SAMPLE_XLSX: dict(figures), SAMPLE_CSV: dict(figures)}


def sample_totals(today: date | datetime | None = None) -> dict[str, float]:
    """The true sales amount (yuan) of each sample export, keyed by file name."""
    return {name: f["amount"] for name, f in sample_summary(today).items()}


def _write_messy_xlsx(path: Path, sl: pd.DataFrame, y: int, m: int) -> None:
    import xlsxwriter

    headers = ["销售日期", "区域", "门店", "供应商", "品牌", "品类", "商品编码", "商品名称",
               "销售数量", "销售额(万元)", "成本(万元)", "毛利(万元)"]
    last_day = calendar.monthrange(y, m)[1]
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("销售明细")
    title_fmt = wb.add_format({"bold": True, "font_size": 16, "align": "center"})
    head_fmt = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    wan_fmt = wb.add_format({"num_format": "0.000000"})
    total_fmt = wb.add_format({"bold": True, "num_format": "0.000000", "top": 1})
    total_lbl = wb.add_format({"bold": True, "top": 1})
    ws.merge_range(0, 0, 0, len(headers) - 1, f"{y}年{m}月供应商销售明细表", title_fmt)
    ws.write_string(1, 0, f"日期：{y}-{m:02d}-01 至 {y}-{m:02d}-{last_day:02d}  门店：全部")
    # row 2 stays blank on purpose: real exports have one
    for c, h in enumerate(headers):
        ws.write_string(3, c, h, head_fmt)
    ws.set_column(0, 0, 12)
    ws.set_column(2, 4, 18)
    ws.set_column(6, 7, 14)
    ws.set_column(9, 11, 14)

    amount_c, cost_c, profit_c = _cents(sl["amount"]), _cents(sl["cost"]), _cents(sl["profit"])
    dates = [ts.to_pydatetime() for ts in sl["date"]]
    cols = [sl[c].tolist() for c in ("region", "store", "supplier", "brand", "category", "sku", "product")]
    qty = sl["qty"].tolist()
    for r in range(len(sl)):
        row = 4 + r
        ws.write_datetime(row, 0, dates[r], date_fmt)
        for c, col in enumerate(cols, start=1):
            ws.write_string(row, c, col[r])
        ws.write_number(row, 8, int(qty[r]))
        # cents / 1e6 = 万元 with exactly 6 decimals, so yuan reconstruct to the cent
        ws.write_number(row, 9, int(amount_c[r]) / 1e6, wan_fmt)
        ws.write_number(row, 10, int(cost_c[r]) / 1e6, wan_fmt)
        ws.write_number(row, 11, int(profit_c[r]) / 1e6, wan_fmt)
    row = 4 + len(sl)
    ws.write_string(row, 0, "合计", total_lbl)
    for c in range(1, 8):
        ws.write_blank(row, c, None, total_lbl)
    ws.write_number(row, 8, int(sum(int(q) for q in qty)), total_lbl)
    ws.write_number(row, 9, int(amount_c.sum()) / 1e6, total_fmt)
    ws.write_number(row, 10, int(cost_c.sum()) / 1e6, total_fmt)
    ws.write_number(row, 11, int(profit_c.sum()) / 1e6, total_fmt)
    wb.close()


def _write_gbk_csv(path: Path, sl: pd.DataFrame) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=",", lineterminator="\r\n")
    w.writerow(["销售日期", "门店", "供应商", "品牌", "商品编码", "商品名称", "数量", "销售金额", "成本金额"])
    amount_c, cost_c = _cents(sl["amount"]), _cents(sl["cost"])
    dates = sl["date"].tolist()
    cols = [sl[c].tolist() for c in ("store", "supplier", "brand", "sku", "product")]
    qty = sl["qty"].tolist()

    def money(cents: int, grouped: bool) -> str:
        v = cents / 100
        return f"{v:,.2f}" if grouped else f"{v:.2f}"

    for r in range(len(sl)):
        d = dates[r]
        # every third line formats its money with thousands separators (csv quotes them)
        grouped = r % 3 == 0
        w.writerow([f"{d.year}/{d.month}/{d.day}", *(c[r] for c in cols), int(qty[r]),
                    money(int(amount_c[r]), grouped), money(int(cost_c[r]), grouped)])
    path.write_bytes(buf.getvalue().encode("gbk"))


def write_sample_exports(out_dir: Path, today: date | datetime | None = None) -> list[Path]:
    """Write the two sample exports into ``out_dir`` and return their paths.

    ``sample_messy_export.xlsx``: title row, filter line, blank row, header with
    万元 amounts, real Excel dates, SKUs as text and a final 合计 row.
    ``sample_gbk_export.csv``: GBK without BOM, ``2026/10/3`` dates, some
    amounts quoted with thousands separators. Both hold the same ~2,000 lines
    of the last full month; :func:`sample_totals` gives their true totals.
    """
    day = _as_date(today)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sl = _sample_slice(day)
    y, m = _sample_month(day)
    xlsx, csv_path = out_dir / SAMPLE_XLSX, out_dir / SAMPLE_CSV
    _write_messy_xlsx(xlsx, sl, y, m)
    _write_gbk_csv(csv_path, sl)
    return [xlsx, csv_path]


def load_demo_extras(store: Store, *, with_users: bool = False, top: int = 20,
                     today: date | datetime | None = None) -> dict[str, str]:
    """Dossiers for the top accounts of the last full year, so the dossier pages are alive.

    With ``with_users`` (the ``demo`` command) one demo user per role is
    created first and the manager owns the dossiers; returns the created
    users' passwords, to be printed once. The dashboard's first start does not
    create users: the first person to open it creates the administrator.
    """
    from kam_core.auth import DEMO_USERS, demo_users
    from kam_core.demo.dossiers import load_demo_dossiers

    day = _as_date(today)
    created = demo_users(store) if with_users else {}
    owners = [name for name, role in DEMO_USERS.items() if role == "manager"] if with_users else []
    year = day.year - 1
    accounts = account_sales.top_accounts(store, date(year, 1, 1), date(year + 1, 1, 1), top)
    load_demo_dossiers(store, accounts, owners=owners, today=day)
    return created
