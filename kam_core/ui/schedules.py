"""The Settings page's scheduled reports: the list, the form, run now, the run log, the mail server."""
from __future__ import annotations

from datetime import time

import pandas as pd
import streamlit as st

from kam_core import schedules as sched
from kam_core.locales.labels import join_items, setting_help
from kam_core.permissions import can
from kam_core.settings import SETTINGS
from kam_core.ui import inbox as inbox_view
from kam_core.ui.context import Context, save_changed_settings
from kam_core.locales.formatting import MISSING

NEW = ""


def describe_when(ctx: Context, s: sched.Schedule) -> str:
    if s.cadence == "weekly":
        return ctx.t("schedule.when_weekly", weekday=ctx.t(f"schedule.weekday.{s.day}"), at=s.at)
    if s.day == sched.LAST_DAY:
        return ctx.t("schedule.when_month_end", at=s.at)
    return ctx.t("schedule.when_monthly", day=s.day, at=s.at)


def describe_what(ctx: Context, s: sched.Schedule) -> str:
    what = ctx.t(f"schedule.report.{s.report}")
    return f"{what} · {s.account}" if s.report == "share_pack" else what


def _where(ctx: Context, s: sched.Schedule) -> str:
    return join_items([x for x in (s.folder, *s.recipients) if x], ctx.lang)


def render(ctx: Context) -> None:
    """Scheduled reports, their run log and the mail server: for directors (the recipients are people)."""
    if not can(ctx.user, "manage_settings"):
        return
    st.divider()
    st.subheader(ctx.t("schedule.title"))
    st.caption(ctx.t("schedule.help"))
    if msg := st.session_state.pop("schedule_message", None):
        (st.success if msg[0] == "ok" else st.error)(msg[1])
    items = sched.list_schedules(ctx.store)
    runner = sched.runner_for(ctx.store)
    if items:
        st.dataframe(pd.DataFrame({
            ctx.t("schedule.col.name"): [s.name for s in items],
            ctx.t("schedule.col.when"): [describe_when(ctx, s) for s in items],
            ctx.t("schedule.col.what"): [describe_what(ctx, s) for s in items],
            ctx.t("schedule.col.year"): [ctx.t(f"schedule.year.{s.year}") for s in items],
            ctx.t("schedule.col.lang"): [ctx.t(f"lang.{s.lang}") for s in items],
            ctx.t("schedule.col.where"): [_where(ctx, s) for s in items],
            ctx.t("schedule.col.enabled"): [s.enabled for s in items],
            ctx.t("schedule.col.next"): [_next(runner, s) for s in items],
        }), hide_index=True, width="stretch", placeholder=MISSING)
    else:
        st.caption(ctx.t("schedule.none"))
    _editor(ctx, items)
    _run_log(ctx)
    _mail_server(ctx)
    inbox_view.folder_setting(ctx)


def _next(runner: sched.ScheduleRunner | None, s: sched.Schedule) -> str:
    if not s.enabled:
        return "—"
    moment = runner.next_run(s.name) if runner is not None else sched.next_due(s)
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "—"


def _editor(ctx: Context, items: list[sched.Schedule]) -> None:
    names = [s.name for s in items]
    if "schedule_next_pick" in st.session_state:   # set by a save or a delete of the run before
        st.session_state["schedule_pick"] = st.session_state.pop("schedule_next_pick")
    if st.session_state.get("schedule_pick") not in [NEW] + names:
        st.session_state["schedule_pick"] = NEW
    pick = st.selectbox(ctx.t("schedule.edit"), [NEW] + names, key="schedule_pick",
                        format_func=lambda n: ctx.t("schedule.new") if n == NEW else n)
    s = next((x for x in items if x.name == pick), None) or sched.Schedule(name="", lang=ctx.lang)
    opts = ctx.options
    from kam_core.sales import accounts as account_sales   # the accounts a share pack can be for

    accounts = account_sales.account_names(ctx.store)
    with st.form(f"schedule_form_{pick}"):
        name = st.text_input(ctx.t("schedule.name"), value=s.name, disabled=pick != NEW, max_chars=60)
        c = st.columns(4)
        cadence = c[0].radio(ctx.t("schedule.cadence"), sched.CADENCES, index=sched.CADENCES.index(s.cadence),
                             format_func=lambda v: ctx.t(f"schedule.cadence.{v}"))
        days = list(range(1, sched.MAX_DAY + 1)) + [sched.LAST_DAY]
        month_day = c[1].selectbox(ctx.t("schedule.day_of_month"), days,
                                   index=days.index(s.day) if s.cadence == "monthly" else 0,
                                   format_func=lambda d: ctx.t("schedule.last_day") if d == sched.LAST_DAY else str(d))
        weekday = c[2].selectbox(ctx.t("schedule.weekday"), list(range(7)),
                                 index=s.day if s.cadence == "weekly" else 0,
                                 format_func=lambda d: ctx.t(f"schedule.weekday.{d}"))
        hh, mm = (int(x) for x in s.at.split(":"))
        at = c[3].time_input(ctx.t("schedule.at"), value=time(hh, mm), step=300)
        c = st.columns(4)
        report = c[0].radio(ctx.t("schedule.report"), sched.REPORTS, index=sched.REPORTS.index(s.report),
                            format_func=lambda v: ctx.t(f"schedule.report.{v}"))
        account = c[1].selectbox(ctx.t("schedule.account"), accounts,
                                 index=accounts.index(s.account) if s.account in accounts else None)
        year = c[2].radio(ctx.t("schedule.year"), sched.YEARS, index=sched.YEARS.index(s.year),
                          format_func=lambda v: ctx.t(f"schedule.year.{v}"))
        lang = c[3].radio(ctx.t("schedule.lang"), sched.LANGS, index=sched.LANGS.index(s.lang),
                          format_func=lambda v: ctx.t(f"lang.{v}"))
        st.caption(ctx.t("schedule.filters"))
        c = st.columns(3)
        picked = {}
        for col, (field, key) in zip(c, (("region", "regions"), ("category", "categories"), ("store", "stores"))):
            choices = opts.get(key, [])
            picked[field] = col.multiselect(ctx.t(f"sidebar.{field}"), choices,
                                            default=[v for v in getattr(s, field) if v in choices],
                                            placeholder=ctx.t("sidebar.all"))
        c = st.columns(2)
        folder = c[0].text_input(ctx.t("schedule.folder"), value=s.folder or "", help=ctx.t("schedule.folder_help"))
        recipients = c[1].text_input(ctx.t("schedule.recipients"), value=", ".join(s.recipients),
                                     help=ctx.t("schedule.recipients_help"))
        enabled = st.checkbox(ctx.t("schedule.enabled"), value=s.enabled)
        submitted = st.form_submit_button(ctx.t("schedule.save"), type="primary")
    if submitted:
        new = sched.Schedule(name=name if pick == NEW else pick, cadence=cadence,
                             day=month_day if cadence == "monthly" else weekday, at=f"{at:%H:%M}",
                             report=report, account=account, year=year, lang=lang,
                             region=tuple(picked["region"]), category=tuple(picked["category"]),
                             store=tuple(picked["store"]), folder=folder, recipients=sched.parse_recipients(recipients),
                             enabled=enabled)
        try:
            saved = sched.save_schedule(ctx.store, new, user=ctx.user)
        except sched.ScheduleError as exc:
            st.error(ctx.t(f"schedule.error.{exc.code}"))
        else:
            st.session_state["schedule_message"] = ("ok", ctx.t("schedule.saved", name=saved.name))
            st.session_state["schedule_next_pick"] = saved.name
            st.rerun()
    if pick != NEW:
        c = st.columns([1, 2, 1])
        if c[0].button(ctx.t("schedule.run_now"), key=f"schedule_run_{pick}"):
            with st.spinner(ctx.t("schedule.running")):
                run = sched.run_schedule(ctx.store, pick, trigger="manual")
            st.session_state["schedule_message"] = (
                ("ok", ctx.t("schedule.ran_ok", name=pick, where=join_items(run["delivered_to"], ctx.lang)))
                if run["status"] == "ok" else ("error", ctx.t("schedule.ran_failed", name=pick, error=run["error"])))
            st.rerun()
        sure = c[1].checkbox(ctx.t("schedule.delete_confirm", name=pick), key=f"schedule_sure_{pick}")
        if c[2].button(ctx.t("schedule.delete"), disabled=not sure, key=f"schedule_delete_{pick}"):
            sched.delete_schedule(ctx.store, pick, user=ctx.user)
            st.session_state["schedule_message"] = ("ok", ctx.t("schedule.deleted", name=pick))
            st.session_state["schedule_next_pick"] = NEW
            st.rerun()


def _run_log(ctx: Context) -> None:
    st.markdown(f"**{ctx.t('schedule.log')}**")
    runs = sched.run_log(ctx.store)
    if not runs:
        st.caption(ctx.t("schedule.no_runs"))
        return
    st.dataframe(pd.DataFrame({
        ctx.t("schedule.col.started"): [f"{r['started_at']:%Y-%m-%d %H:%M}" for r in runs],
        ctx.t("schedule.col.name"): [r["schedule"] for r in runs],
        ctx.t("schedule.col.what"): [f"{ctx.t('schedule.report.' + r['report'])} {r['year']}" for r in runs],
        ctx.t("schedule.col.trigger"): [ctx.t(f"schedule.trigger.{r['trigger']}") for r in runs],
        ctx.t("schedule.col.where"): [join_items(r["delivered_to"], ctx.lang) for r in runs],
        ctx.t("schedule.col.result"): [ctx.t(f"schedule.result.{r['status']}") for r in runs],
        ctx.t("schedule.col.error"): [r["error"] or "" for r in runs],
    }), hide_index=True, width="stretch", placeholder=MISSING)


def _mail_server(ctx: Context) -> None:
    s = ctx.settings
    st.markdown(f"**{ctx.t('mail.title')}**")
    st.caption(ctx.t("mail.help", env=s["smtp_password_env"]))
    with st.form("mail_server_form"):
        c = st.columns([3, 1, 1])
        host = c[0].text_input(ctx.t("setting.smtp_host"), value=s["smtp_host"], help=setting_help("smtp_host", ctx.lang))
        port_setting = SETTINGS["smtp_port"]   # bounds declared once, with the setting
        port = c[1].number_input(ctx.t("setting.smtp_port"), int(port_setting.low), int(port_setting.high),
                                 int(s["smtp_port"]), help=setting_help("smtp_port", ctx.lang))
        starttls = c[2].checkbox(ctx.t("setting.smtp_starttls"), value=bool(s["smtp_starttls"]),
                                 help=setting_help("smtp_starttls", ctx.lang))
        c = st.columns(3)
        user = c[0].text_input(ctx.t("setting.smtp_user"), value=s["smtp_user"], help=setting_help("smtp_user", ctx.lang))
        sender = c[1].text_input(ctx.t("setting.smtp_sender"), value=s["smtp_sender"], help=setting_help("smtp_sender", ctx.lang))
        env = c[2].text_input(ctx.t("setting.smtp_password_env"), value=s["smtp_password_env"],
                              help=setting_help("smtp_password_env", ctx.lang))
        submitted = st.form_submit_button(ctx.t("mail.save"))
    server = sched.mail_server(s)
    if server is not None and server.user:
        found = sched.mail_password(server) is not None
        st.caption(ctx.t("mail.password_found" if found else "mail.password_missing"))
    if submitted:
        changes = {"smtp_host": host.strip(), "smtp_port": int(port), "smtp_starttls": bool(starttls),
                   "smtp_user": user.strip(), "smtp_sender": sender.strip(), "smtp_password_env": env.strip()}
        refused = save_changed_settings(ctx, changes)
        if refused:
            st.error(ctx.t("settings.error", message=refused))
        else:
            st.session_state["schedule_message"] = ("ok", ctx.t("settings.saved"))
            st.rerun()
