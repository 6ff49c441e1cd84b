"""需要关注 · Needs attention: what a key account manager should look at today (issue 17, item 2).

Each rule is a pure function from the figures it needs to :class:`Item` s, so
it is tested with hand-worked values; :func:`attention_items` gathers those
figures (through :mod:`kam_core.sales`, :mod:`kam_core.dossier` and
:mod:`kam_core.dossier.targets`) and runs every rule. The rules, in the order the list shows them:

``projected_lower_tier``
    the seasonal projection of the unfinished year puts the account in a lower
    tier than it had last year (the whole previous year, company-wide);
``projected_near_next``
    the projection ends within :data:`NEAR_SHARE` (10 %) below the next tier's threshold
    (unless that is last year's tier: then the item above already says so);
``sales_down``
    like-for-like sales (the year against the same days a year earlier, company-wide)
    fell by more than the ``attention_sales_drop_share`` setting;
``agreement_expiring``
    a live agreement runs out within :data:`EXPIRY_DAYS` (60) days of today;
``target_behind``
    an agreement's target is behind its pro-rata path (:mod:`kam_core.dossier.targets`);
``action_overdue``
    an action item of the account plan is past its due date and still open;
``completeness_low``
    the dossier's completeness is below the ``attention_min_completeness`` setting;
``no_negotiation``
    no negotiation recorded in the last :data:`NEGOTIATION_DAYS` (90) days.

The list is about accounts, not lines: a view's region/category/store filter
does not narrow it (like the tier); "my accounts" does. The domain speaks
codes and raw figures; :func:`describe` turns an item into its sentence and
figure in either language (the pages and the tier report's sheet both use it).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import pandas as pd

from kam_core import dossier

from kam_core.dossier import targets
from kam_core.locales.formatting import format_amount, format_date, format_pct, format_signed_pct, format_text, tier_label
from kam_core.locales.labels import t
from kam_core.permissions import User
from kam_core.sales import periods, projection, tiers
from kam_core.store import Store

RULES = ("projected_lower_tier", "projected_near_next", "sales_down", "agreement_expiring", "target_behind",
         "action_overdue", "completeness_low", "no_negotiation")
NEAR_SHARE = 0.10
EXPIRY_DAYS = 60
NEGOTIATION_DAYS = 90
COLUMNS = ["account", "rule", "reason", "figure"]


@dataclass(frozen=True)
class Item:
    """One thing to look at: the account, the rule that found it and the figures behind it."""

    account: str
    rule: str
    values: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- the rules (pure)
def projection_items(projection: pd.DataFrame, last_year: Mapping[str, str | None],
                     settings: Mapping[str, Any]) -> list[Item]:
    """``projected_lower_tier`` and ``projected_near_next`` from a seasonal projection.

    ``projection``: columns ``account, projected_basis, projected_tier, method``
    (:func:`kam_core.sales.projection.seasonal_projection`); ``last_year``:
    account → its tier in the whole previous year.
    """
    items = []
    for r in projection.itertuples(index=False):
        tier = r.projected_tier
        if tier is None or pd.isna(r.projected_basis):
            continue
        before = last_year.get(r.account)
        lower = before in tiers.TIER_RANK and tiers.TIER_RANK[tier] < tiers.TIER_RANK[before]
        if lower:
            items.append(Item(r.account, "projected_lower_tier", {
                "projected": float(r.projected_basis), "tier": tier, "tier_before": before,
                "threshold": tiers.threshold(before, settings), "method": r.method}))
        nxt = tiers.NEXT_TIER.get(tier)
        # Falling just below last year's tier is one thing to look at, not two: its figure names that threshold.
        if nxt is not None and not (lower and nxt == before):
            bound = tiers.threshold(nxt, settings)
            gap = bound - float(r.projected_basis)
            if 0 < gap <= NEAR_SHARE * bound:
                items.append(Item(r.account, "projected_near_next", {
                    "projected": float(r.projected_basis), "tier": tier, "next_tier": nxt, "threshold": bound,
                    "gap": gap, "method": r.method}))
    return items


def sales_down_items(table: pd.DataFrame, drop_share: float) -> list[Item]:
    """``sales_down``: accounts whose ``yoy`` (like for like) is below −``drop_share``.

    ``table``: columns ``account, sales, yoy`` (:func:`kam_core.sales.tiers.assign_tiers`, company-wide).
    """
    items = []
    for r in table.itertuples(index=False):
        if r.yoy is None or pd.isna(r.yoy) or not r.yoy < -drop_share:
            continue
        items.append(Item(r.account, "sales_down", {
            "yoy": float(r.yoy), "sales": float(r.sales), "sales_before": float(r.sales) / (1 + float(r.yoy))}))
    return items


def expiring_items(agreements: pd.DataFrame) -> list[Item]:
    """``agreement_expiring`` from :func:`kam_core.dossier.expiring_agreements` (already within the days)."""
    return [Item(r.account, "agreement_expiring", {"title": r.title, "valid_to": _date(r.valid_to),
                                                    "days_left": int(r.days_left), "id": int(r.id)})
            for r in agreements.itertuples(index=False)]


def target_items(progress: pd.DataFrame) -> list[Item]:
    """``target_behind`` from :func:`kam_core.dossier.targets.targets_frame`: running targets behind their path.

    Agreements that are draft, terminated or renewed are not chased.
    """
    items = []
    for r in progress.itertuples(index=False):
        if r.state != "behind" or r.status in ("draft", *dossier.CLOSED_AGREEMENT_STATUSES):
            continue
        items.append(Item(r.account, "target_behind", {
            "title": r.title, "target": float(r.target_amount), "actual": float(r.actual),
            "expected": float(r.expected), "progress_share": r.progress_share, "expected_share": r.expected_share,
            "projected_end": r.projected_end, "counted_through": r.counted_through, "category": r.category,
            "id": int(r.id)}))
    return items


def overdue_items(actions: pd.DataFrame) -> list[Item]:
    """``action_overdue`` from :func:`kam_core.dossier.overdue_actions` (one item per action)."""
    return [Item(r.account, "action_overdue", {"title": r.title, "owner": r.owner, "due_on": _date(r.due_on),
                                                "days_overdue": int(r.days_overdue), "id": int(r.id)})
            for r in actions.itertuples(index=False)]


def completeness_items(scores: Mapping[str, float], minimum: float) -> list[Item]:
    """``completeness_low``: dossiers whose completeness score is below ``minimum``."""
    return [Item(a, "completeness_low", {"score": score, "minimum": minimum})
            for a, score in scores.items() if score < minimum]


def negotiation_items(last: Mapping[str, dt.date | None], today: dt.date, days: int = NEGOTIATION_DAYS) -> list[Item]:
    """``no_negotiation``: no negotiation held within the ``days`` days up to ``today`` (or none ever).

    A negotiation held exactly ``days`` days ago still counts as recent.
    """
    items = []
    for a, held in last.items():
        if held is None:
            items.append(Item(a, "no_negotiation", {"last": None, "days": None, "limit": days}))
        elif (today - _date(held)).days > days:
            items.append(Item(a, "no_negotiation", {"last": _date(held), "days": (today - _date(held)).days,
                                                     "limit": days}))
    return items


def _date(v: Any) -> dt.date | None:
    return targets.day_or_none(v)


def ordered(items: Sequence[Item]) -> list[Item]:
    """Rule order (:data:`RULES`), then account name; a rule's own order within an account is kept."""
    return sorted(items, key=lambda i: (RULES.index(i.rule), i.account))


# ---------------------------------------------------------------- gathering
def attention_items(store: Store, user: User, year: int | None, today: dt.date,
                    settings: Mapping[str, Any] | None = None, accounts: Sequence[str] | None = None) -> list[Item]:
    """Every rule's items for ``accounts`` (all when None): sales rules on ``year``, dossier rules on ``today``."""
    settings = periods.resolve_settings(store, settings)
    wanted = None if accounts is None else set(accounts)
    items: list[Item] = []
    if year is not None:
        table = tiers.assign_tiers(store, year, settings=settings)
        if len(table):
            proj = projection.seasonal_projection(store, year, settings=settings, table=table)
            if len(proj):
                before = tiers.assign_tiers(store, year - 1, settings=settings)
                items += projection_items(proj, dict(zip(before["account"], before["tier"])), settings)
            items += sales_down_items(table, float(settings["attention_sales_drop_share"]))
    with_dossier = dossier.dossier_accounts(store)
    if wanted is not None:
        with_dossier = [a for a in with_dossier if a in wanted]
    items += expiring_items(dossier.expiring_agreements(store, today, EXPIRY_DAYS))
    items += target_items(targets.targets_frame(store, user, accounts))
    items += overdue_items(dossier.overdue_actions(store, user, today, accounts))
    items += completeness_items(dossier.completeness_scores(store, user, with_dossier),
                                float(settings["attention_min_completeness"]))
    items += negotiation_items(dossier.last_negotiations(store, user, with_dossier), today)
    if wanted is not None:
        items = [i for i in items if i.account in wanted]
    return ordered(items)


# ---------------------------------------------------------------- words
def describe(item: Item, lang: str, unit: str = "wan") -> tuple[str, str]:
    """The item's reason as a sentence and the figure behind it, in ``lang`` (amounts in ``unit``)."""
    v = item.values

    def money(x: Any) -> str:
        return format_amount(x, unit, lang)

    def day(x: Any) -> str:
        return format_date(x, lang)

    if item.rule == "projected_lower_tier":
        return (t("attention.projected_lower_tier", lang, tier=tier_label(v["tier"], lang),
                  before=tier_label(v["tier_before"], lang)),
                t("attention.projected_lower_tier.figure", lang, projected=money(v["projected"]),
                  threshold=money(v["threshold"]), method=t(f"projection.method.{v['method']}", lang)))
    if item.rule == "projected_near_next":
        return (t("attention.projected_near_next", lang, tier=tier_label(v["next_tier"], lang)),
                t("attention.projected_near_next.figure", lang, projected=money(v["projected"]),
                  gap=money(v["gap"]), threshold=money(v["threshold"])))
    if item.rule == "sales_down":
        return (t("attention.sales_down", lang, yoy=format_signed_pct(v["yoy"], lang=lang)),
                t("attention.sales_down.figure", lang, sales=money(v["sales"]), before=money(v["sales_before"])))
    if item.rule == "agreement_expiring":
        return (t("attention.agreement_expiring", lang, title=v["title"], days=v["days_left"]),
                t("attention.agreement_expiring.figure", lang, date=day(v["valid_to"])))
    if item.rule == "target_behind":
        scope = v["category"] or t("attention.all_categories", lang)
        return (t("attention.target_behind", lang, title=v["title"], scope=scope),
                t("attention.target_behind.figure", lang, actual=money(v["actual"]), expected=money(v["expected"]),
                  target=money(v["target"]), progress=format_pct(v["progress_share"], lang=lang),
                  projected=money(v["projected_end"]), through=day(v["counted_through"])))
    if item.rule == "action_overdue":
        return (t("attention.action_overdue", lang, title=v["title"], days=v["days_overdue"]),
                t("attention.action_overdue.figure", lang, date=day(v["due_on"]), owner=format_text(v["owner"] or None)))
    if item.rule == "completeness_low":
        return (t("attention.completeness_low", lang, minimum=format_pct(v["minimum"], 0, lang)),
                t("attention.completeness_low.figure", lang, score=format_pct(v["score"], 0, lang)))
    if item.rule == "no_negotiation":
        if v["last"] is None:
            return t("attention.no_negotiation.never", lang), "—"
        return (t("attention.no_negotiation", lang, limit=v["limit"]),
                t("attention.no_negotiation.figure", lang, date=day(v["last"]), days=v["days"]))
    raise ValueError(f"unknown attention rule {item.rule!r}")


def attention_frame(items: Sequence[Item], lang: str, unit: str = "wan") -> pd.DataFrame:
    """The items as a table: ``account, rule, reason, figure`` (the sheet and the pages' tables)."""
    rows = [(i.account, i.rule, *describe(i, lang, unit)) for i in items]
    return pd.DataFrame(rows, columns=COLUMNS, dtype=object)
