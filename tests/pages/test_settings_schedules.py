"""Settings: a director sets up a scheduled report, runs it by hand and reads the run log;
a manager does not see the schedules (their recipients are people)."""
from __future__ import annotations

import os

from core_fixtures import fixture_db, fixture_db_file, open_page, texts  # noqa: F401

from kam_core import schedules as sched
from kam_core.ui import context


def widget(at, kind, label):
    return next(w for w in getattr(at, kind) if w.label == label)


def test_a_director_adds_a_monthly_tier_report_to_a_folder_runs_it_and_sees_the_run_log(fixture_db, tmp_path):
    at = open_page("settings")
    assert "定时报表" in [s.value for s in at.subheader]
    assert "还没有定时报表。" in texts(at)
    widget(at, "text_input", "名称").input("每月分级")
    widget(at, "selectbox", "每月日期（每月时）").set_value(5)
    widget(at, "radio", "年度").set_value("previous")
    widget(at, "multiselect", "区域").set_value(["华东"])
    widget(at, "text_input", "保存到文件夹").input(str(tmp_path / "reports"))
    at.button(key="FormSubmitter:schedule_form_-保存定时报表").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["已保存定时报表“每月分级”。"]
    listed = at.dataframe[0].value
    assert listed.iloc[0].to_dict() | {"下次运行": None} == {
        "名称": "每月分级", "时间": "每月 5 日 07:00", "内容": "大客户分级报表", "年度": "上一年", "语言": "中文",
        "发送到": str(tmp_path / "reports"), "启用": True, "下次运行": None}
    assert listed.iloc[0]["下次运行"].endswith("-05 07:00")

    at.button(key="schedule_run_每月分级").click().run()
    assert not at.exception
    [done] = at.success
    assert done.value.startswith("“每月分级”已运行，已发送到：" + str(tmp_path / "reports") + os.sep + "kam_tier_report_")
    log = at.dataframe[1].value
    assert log.iloc[0][["名称", "触发方式", "结果", "错误"]].tolist() == ["每月分级", "手动", "成功", ""]
    assert len(list((tmp_path / "reports").glob("kam_tier_report_*.xlsx"))) == 1

    [saved] = sched.list_schedules(context.get_store())     # the page's own store: it holds the file
    assert saved.region == ("华东",) and saved.year == "previous" and saved.created_by == "local"


def test_a_schedule_without_a_destination_is_refused_with_the_reason(fixture_db):
    at = open_page("settings")
    widget(at, "text_input", "名称").input("无处可去")
    at.button(key="FormSubmitter:schedule_form_-保存定时报表").click().run()
    assert [e.value for e in at.error] == ["请填写保存文件夹或至少一个邮件收件人。"]
    assert "还没有定时报表。" in texts(at)


def test_a_manager_does_not_see_the_scheduled_reports(fixture_db, monkeypatch):
    monkeypatch.setenv("KAM_AUTH_AS", "manager:li_kam")
    at = open_page("settings")
    assert "定时报表" not in [s.value for s in at.subheader]
