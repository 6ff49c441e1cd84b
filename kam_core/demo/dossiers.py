"""Fictional dossiers for the demo: people, facts, negotiations, agreements, price changes, plans, account plans.

Sample data in Chinese (names, topics, notes), invented and marked 演示 / 虚构;
written only through :mod:`kam_core.dossier.records` (validated and audited as SYSTEM).
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any, Callable, Sequence

from kam_core.dossier import queries, records
from kam_core.dossier.fields import (ACCOUNT_FACT_FIELDS, CONTACT_ROLES, DECISION_ROLES, EXCHANGE_ITEMS, PLAN_SIDES,
                                     POLICY_LEVELS, SCORE_FIELDS)
from kam_core.locales.labels import t
from kam_core.permissions import SYSTEM
from kam_core.sales import accounts as account_sales
from kam_core.store import Store

_SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平"]
_TOPICS = ["年度返利条款", "新品进场", "节日促销支持", "价格调整", "账期与付款", "库存数据共享", "陈列与端架"]
_PRODUCTS = ["主力系列", "新品系列", "礼盒装", "家庭装", "经典款"]


def load_demo_dossiers(store: Store, accounts: list[str], seed: int = 7, owners: Sequence[str] = (),
                       today: dt.date | None = None) -> int:
    """Fictional dossiers for ``accounts`` (written as SYSTEM, one transaction each); returns how many were created.

    People, phone numbers (138-0000-xxxx) and e-mail addresses (example.com)
    are invented. The first account has every policy level and an agreement
    expiring within 60 days; the second has an agreement that has expired;
    completeness varies across the rest. Promotions are placed in the last
    year of each account's sales so uplift has data; the first three have an
    account plan (a goal, an action done, one overdue). Accounts that already
    have a dossier are skipped. ``owners`` (existing manager users) are
    assigned round-robin.
    """
    rng = random.Random(seed)
    today = today or dt.date.today()
    created = 0
    phone_no = 0
    existing = set(queries.dossier_accounts(store))
    for i, name in enumerate(accounts):
        if name in existing:
            continue
        last = account_sales.last_sale_date(store, name) or today
        n = i + 1
        facts: dict[str, Any] = {
            "phone": f"021-5555-{1000 + n:04d}", "fax": f"021-5556-{1000 + n:04d}",
            "address": f"上海市示例区虚构路 {10 + n} 号（演示数据）", "email": f"info@account{n}.example.com",
            "website": f"https://account{n}.example.com",
            "org_structure": "总经理下设采购、销售、市场、财务、物流五个部门（演示）",
            "history": f"{1995 + rng.randrange(20)} 年成立，全国性品牌（演示）",
            "business_goals": "三年内全国市场占有率提升 5 个百分点（演示）",
            "direction": "向中高端产品线延伸（演示）", "product_positioning": "中高端家庭消费（演示）",
            "competitors": "两家同类全国品牌（演示）", "own_suppliers": "原料由三家长期供应商提供（演示）",
            "resources": "全国 12 个仓库，自有配送车队（演示）", "market_share": f"{rng.randrange(5, 25)}%（演示）",
            "industry_rank": f"行业第 {rng.randrange(1, 10)} 名（演示）",
            "main_products": "功能实用、包装简洁，适合大众市场（演示）",
            "price_policy": "全国统一零售指导价，每年一次调价（演示）",
            **{f: rng.randint(2, 5) for f in SCORE_FIELDS},
            "exchange_checklist": {k: rng.random() < 0.5 for k in EXCHANGE_ITEMS},
        }
        if i >= 2:  # leave gaps so completeness differs between accounts
            for f in rng.sample(ACCOUNT_FACT_FIELDS + ("fax", "email"), k=min(14, 2 + 2 * i)):
                facts.pop(f, None)
        own = owners[i % len(owners)] if owners else None
        backup = owners[(i + 1) % len(owners)] if len(owners) > 1 else None
        with records.new_dossier(store, SYSTEM, name, facts, own, backup) as add:
            if add is None:     # the account already has a dossier
                continue
            created += 1
            phone_no = _demo_records(add, rng, i, today, last, owners, phone_no)
    return created


def _demo_records(add: Callable[[str, dict[str, Any]], int], rng: random.Random, i: int, today: dt.date, last: dt.date, owners: Sequence[str],
                  phone_no: int) -> int:
    """The contacts, negotiations, agreements, price changes, plans and account plan of the ``i``-th demo dossier;
    returns the last phone number used."""

    roles = list(POLICY_LEVELS) + ["marketing_head"] if i == 0 else rng.sample(CONTACT_ROLES[:9], k=max(2, 8 - 2 * i))
    if i == 3:  # one account without any decision maker
        roles = [r for r in roles if r not in DECISION_ROLES] or ["buyer"]
    used: set[str] = set()
    for role in roles:
        phone_no += 1
        person = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        while person in used:
            person = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        used.add(person)
        decision = role in ("general_manager", "chairman") or (role == "purchasing_director" and i != 3)
        add("contacts", {
            "role": role, "name": person, "title": t(f"role.{role}", "zh"),
            "authority": "可决定年度采购合同" if decision else "负责日常订单与对账",
            "spending_limit": (5_000_000 if decision else rng.choice([50_000, 200_000, 500_000])),
            "phone": f"138-0000-{phone_no:04d}", "email": f"contact{phone_no}@example.com",
            "personal_notes": rng.choice(["喜欢打羽毛球", "注重数据，会前需准备报表", "偏好上午开会", "关注新品"]) + "（虚构）",
            "influence": "decision_maker" if decision else rng.choice(["influencer", "user", "user", "blocker"]),
            "relationship": rng.randint(2, 5),
        })

    for k in range(rng.randint(1, 3) if i != 4 else 0):
        held = last - dt.timedelta(days=rng.randrange(20, 300))
        add("negotiations", {
            "held_on": held, "topic": rng.choice(_TOPICS), "our_participants": "大客户经理、采购部",
            "their_participants": "采购经理、销售经理", "summary": "双方就条款交换意见（演示）",
            "outcome": rng.choice(["达成一致", "待对方确认", "下次继续"]),
            "follow_up_on": held + dt.timedelta(days=14),
        })

    if i == 0:
        agreements = [("年度供货协议", today - dt.timedelta(days=335), today + dt.timedelta(days=30), "active")]
    elif i == 1:
        agreements = [("年度返利协议", today - dt.timedelta(days=385), today - dt.timedelta(days=20), "active")]
    elif i == 4:
        agreements = []
    else:
        start = dt.date(today.year, 1, 1)
        agreements = [("年度框架协议", start, dt.date(today.year, 12, 31), "active")]
    for title, vf, vt, status in agreements:
        add("agreements", {
            "title": title, "signed_on": vf - dt.timedelta(days=10), "valid_from": vf, "valid_to": vt,
            "terms": "年销售额达标返利（演示）", "target_amount": rng.randrange(10, 60) * 1_000_000,
            "rebate_share": rng.choice([0.01, 0.02, 0.03]), "status": status,
        })

    for k in range(rng.randint(0, 2)):
        old = Decimal(rng.randrange(1000, 20000)) / 100
        add("price_changes", {
            "changed_on": last - dt.timedelta(days=rng.randrange(30, 330)), "product": rng.choice(_PRODUCTS),
            "old_price": old, "new_price": (old * Decimal("1.05")).quantize(Decimal("0.01")),
            "reason": "原材料成本上涨（演示）",
        })

    year_start = dt.date(last.year, 1, 1)
    add("plans", {
        "kind": "yearly_market_plan", "side": "theirs", "title": "年度市场计划",
        "period_start": year_start, "period_end": dt.date(last.year, 12, 31),
        "budget": rng.randrange(5, 30) * 100_000, "status": "agreed",
    })
    for k in range(rng.randint(1, 3)):
        start = last - dt.timedelta(days=rng.randrange(40, 300))
        end = start + dt.timedelta(days=rng.choice([6, 13, 29]))
        add("plans", {
            "kind": rng.choice(["monthly_promotion", "holiday_promotion", "new_product_launch"]),
            "side": rng.choice(PLAN_SIDES), "title": rng.choice(["店庆促销", "节日买赠", "新品试吃", "会员日"]),
            "period_start": start, "period_end": end, "budget": rng.randrange(1, 20) * 10_000,
            "status": "done" if end < today else "agreed",
        })
    add("plans", {
        "kind": "quarterly_advertising", "side": "ours", "title": "季度广告投放",
        "period_start": today + dt.timedelta(days=15), "period_end": today + dt.timedelta(days=105),
        "budget": rng.randrange(1, 10) * 50_000, "status": "proposed",
    })
    if i < 3:  # an account plan (policy §5) on the first three: a goal, one action done, one overdue
        goal = add("goals", {
            "year": today.year, "title": ("保持战略性大客户地位", "联合双11促销", "新品首发进场")[i],
            "target_tier": "strategic" if i == 0 else None, "status": "open"})
        doer = owners[i % len(owners)] if owners else None
        for title, due, status in (("确认年度联合营销方案", today - dt.timedelta(days=40), "done"),
                                   ("寄送新品样品与报价", today - dt.timedelta(days=5 + i), "open")):
            add("action_items", {"title": title, "goal_id": goal, "owner": doer, "due_on": due,
                                 "status": status})
    return phone_no
