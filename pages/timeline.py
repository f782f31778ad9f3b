"""Timeline: what happens in each of the 13 weeks, who owns it, and is the plan on track?"""

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from lib import scenarios, segments, timeline, ui
from lib.scenarios import budget
from lib.timeline import charts as timeline_charts
from lib.timeline import exports as timeline_exports

ctx = ui.bootstrap("nav.timeline")
t = ctx.t
DEFAULT_CHOICE = "__default__"


def _default_start() -> date:
    """The Monday after the data ends: the quarter being planned starts there."""
    anchor = (ctx.dataset.last_order or ctx.dataset.last_period) if ctx.dataset else None
    day = (anchor or date.today()) + timedelta(days=1)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _load(choice: str) -> None:
    """Put a plan (saved or the default) into this session's editor."""
    if choice == DEFAULT_CHOICE or ctx.dataset is None:
        tasks, start, baseline = timeline.default_plan(ctx.lang), _default_start(), None
    else:
        saved = timeline.load_plan(ctx.ws, ctx.dataset.dataset_id, choice)
        tasks, start, baseline = saved.tasks, saved.start_monday or _default_start(), saved.baseline
    st.session_state["timeline.loaded"] = (ctx.dataset.dataset_id if ctx.dataset else None, choice)
    st.session_state["timeline.tasks"] = [task.to_dict() for task in tasks]
    st.session_state["timeline.baseline"] = [task.to_dict() for task in baseline] if baseline else None
    st.session_state["timeline.start"] = start
    st.session_state["timeline.editor_round"] = st.session_state.get("timeline.editor_round", 0) + 1


with ui.friendly_errors(ctx):
    ui.page_header(ctx, "timeline_page.title", "timeline_page.question")
    if ctx.dataset is None:
        ui.require_orders(ctx)
    dataset = ctx.dataset
    plans = timeline.list_plans(ctx.ws, dataset.dataset_id)
    choices = [DEFAULT_CHOICE, *plans]
    loaded = st.session_state.get("timeline.loaded")
    if loaded is None or loaded[0] != dataset.dataset_id or (loaded[1] not in choices):
        shared = st.query_params.get("plan")  # a shared link names the plan
        _load(shared if shared in plans else (plans[0] if plans else DEFAULT_CHOICE))
        loaded = st.session_state["timeline.loaded"]
    ui.set_param("plan", None if loaded[1] == DEFAULT_CHOICE else loaded[1])

    top = st.columns([2, 2, 2, 3])
    with top[0]:
        choice_key = f"timeline.plan_choice.{dataset.dataset_id}"
        st.session_state[choice_key] = loaded[1]  # the loaded plan drives the widget, not the reverse
        st.selectbox(
            t("timeline_page.plan"), choices,
            format_func=lambda c: t("timeline_page.default_plan") if c == DEFAULT_CHOICE else c,
            key=choice_key, on_change=lambda: _load(st.session_state[choice_key]),
        )
    with top[1]:
        picked = st.date_input(
            t("timeline_page.start"), value=st.session_state["timeline.start"], key="timeline.start_widget",
            help=t("timeline_page.start_help"),
        )
        start = timeline.snap_to_monday(picked)
        if start != picked:
            st.caption(t("timeline_page.snapped", day=start))
        st.session_state["timeline.start"] = start
    with top[2]:
        color_by = st.selectbox(
            t("timeline_page.color_by"), ["owner", "channel", "phase"],
            format_func=lambda c: t(f"timeline_page.color_by.{c}"), key="timeline.color_by",
        )
    with top[3]:
        show_critical = st.toggle(t("timeline_page.show_critical"), value=True, key="timeline.critical")
        flash_sales = st.toggle(t("timeline_page.flash_sales"), value=False, key="timeline.flash")
        if loaded[1] != DEFAULT_CHOICE:  # a saved plan can be presented (the link sets ?plan=)
            ui.present_link(ctx, plan=loaded[1])

    previous = [timeline.Task.from_dict(d) for d in st.session_state["timeline.tasks"]]
    base_frame = timeline.tasks_to_frame(previous, ctx.lang)
    labels = timeline.column_labels(ctx.lang)

    week_help = t("timeline.ui.week_help", weeks=timeline.DEFAULT_WEEKS)
    week_format = t("timeline.ui.week_format")
    # The table is the single source of truth: edit it, and the chart follows.
    with st.expander(t("timeline_page.edit"), expanded=False):
        st.caption(t("timeline_page.edit_help"))
        edited = st.data_editor(
            base_frame, num_rows="dynamic", hide_index=True, width="stretch",
            placeholder="—",  # an empty tier or channel; Streamlit would write "None" on a Chinese page
            key=f"timeline.editor.{st.session_state['timeline.editor_round']}",
            column_config={
                "id": st.column_config.TextColumn(labels["id"], width="small"),
                "name": st.column_config.TextColumn(labels["name"], width="large", required=True),
                "phase": st.column_config.SelectboxColumn(labels["phase"], options=timeline.phase_options(ctx.lang)),
                "owner": st.column_config.TextColumn(labels["owner"]),
                "channel": st.column_config.TextColumn(labels["channel"]),
                "tier": st.column_config.SelectboxColumn(labels["tier"], options=timeline.tier_options(ctx.lang)),
                # No min/max: the editor would clamp a week of 20 to 13 without a word. Any whole number
                # is accepted here and timeline.validate explains what is wrong with it.
                "start_week": st.column_config.NumberColumn(labels["start_week"], step=1, help=week_help,
                                                            format=week_format),
                "end_week": st.column_config.NumberColumn(labels["end_week"], step=1, help=week_help,
                                                          format=week_format),
                "progress": st.column_config.NumberColumn(labels["progress"], format="percent",
                                                          help=t("timeline.ui.progress_help")),
                "milestone": st.column_config.CheckboxColumn(labels["milestone"]),
                "depends_on": st.column_config.TextColumn(labels["depends_on"]),
            },
        )
    tasks = timeline.frame_to_tasks(edited, previous)
    issues = timeline.validate(tasks)
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i for i in issues if i.severity != "error"]
    baseline_dicts = st.session_state.get("timeline.baseline")
    baseline = [timeline.Task.from_dict(d) for d in baseline_dicts] if baseline_dicts else None

    end_day = start + timedelta(weeks=timeline.DEFAULT_WEEKS, days=-1)
    today = date.today()
    # Rows whose own cells are wrong are left out of the chart (never moved); the rest is drawn.
    drawn, left_out = timeline.drawable_tasks(tasks, errors)
    if errors:
        st.error(t("timeline.ui.has_errors", count=len(errors)))
        for issue in errors:
            st.markdown(f"- {issue.message(ctx.lang)}")
        if left_out:
            st.caption(t("timeline.ui.left_out", tasks=", ".join(task.id for task in left_out), count=len(drawn)))
    else:
        path = timeline.critical_path(tasks)
        st.subheader(t(
            "timeline_page.headline", start=start, end=end_day, tasks=len(tasks),
            weeks=timeline.path_weeks(tasks, path), count=len(path),
        ))
    for issue in warnings:
        st.warning(issue.message(ctx.lang))

    # Is the plan on track? Finished, overdue and behind-schedule tasks as of today.
    flags = timeline.schedule_flags(drawn, start, today)
    counts = timeline.status_counts(flags)
    cards = st.columns(3)
    finished = sum(1 for task in drawn if task.progress >= 1)
    cards[0].metric(t("timeline.ui.metric_done"), f"{finished} / {len(drawn)}", help=t("timeline.ui.metric_done_help"))
    cards[1].metric(t("timeline.ui.metric_overdue"), counts["overdue"],
                    help=t("timeline.ui.metric_overdue_help", today=today))
    cards[2].metric(t("timeline.ui.metric_behind"), counts["behind"],
                    help=t("timeline.ui.metric_behind_help", today=today))
    overdue = [task for task in timeline.display_order(drawn) if flags.get(task.id) and flags[task.id].status == "overdue"]
    if overdue:
        st.caption(t("timeline.ui.overdue_list", today=today,
                     names=", ".join(task.id for task in overdue)))

    if drawn:
        current = today if start <= today <= end_day else start - timedelta(days=1)
        shown_baseline = baseline if (baseline and st.session_state.get("timeline.show_baseline", True)) else None
        # Drawn like every chart of the app: built and serialised once per distinct input (ui.chart);
        # theme=None keeps the chart's own fonts, in which its label column is measured.
        ui.chart(timeline_charts.gantt_chart, drawn, start, ctx.lang, color_by=color_by, baseline=shown_baseline,
                 current_week=current, show_critical=show_critical, include_flash_sales=flash_sales, today=today,
                 theme=None)
        anchors = timeline.calendar_anchors(start, timeline.DEFAULT_WEEKS, include_flash_sales=False)
        if anchors:
            st.caption(t("timeline_page.anchors", names=", ".join(dict.fromkeys(a.label(ctx.lang) for a in anchors))))

    # Campaigns linked to the customers they address (Segments).
    campaign_rows = [task for task in tasks if task.tier]
    if campaign_rows and dataset.orders:
        summary = ui.cached(segments.segment_summary, dataset, None, None, by="plan")
        sizes = dict(zip(summary["group"], summary["customers"]))
        st.markdown(f"**{t('timeline_page.campaigns')}**")
        st.dataframe(pd.DataFrame([
            {
                labels["name"]: task.display_name(ctx.lang),
                labels["tier"]: timeline.tier_label(task.tier, ctx.lang),
                t("timeline_page.audience"): int(sizes.get(task.tier, 0)),
                t("timeline_page.weeks"): timeline.weeks_text(task, ctx.lang),
            }
            for task in campaign_rows
        ]), hide_index=True, width="stretch",
            column_config={t("timeline_page.audience"): ui.count_column(t("timeline_page.audience"))})
        st.caption(t("timeline_page.audience_help"))

    # The budget line: the weekly budget of a saved scenario (Scenarios page), phased over the 13 weeks.
    saved = scenarios.list_scenarios(ctx.ws, dataset.dataset_id)
    if saved:
        names = [s.name for s in saved]
        picked = st.selectbox(t("timeline_page.budget_scenario"), names, key="timeline.scenario")
        chosen = next(s for s in saved if s.name == picked)
        total = chosen.summary.get("required_budget") or chosen.summary.get("linear_budget") or 0.0
        weekly = budget.weekly_phasing(float(total), unit=100)
        line = pd.DataFrame([weekly["spend"].to_numpy()],
                            columns=[t("timeline.chart.week_short", week=int(w)) for w in weekly["week"]])
        st.dataframe(line, hide_index=True, width="stretch",
                     column_config={c: ui.money_column(c) for c in line.columns})
        st.caption(t("timeline_page.budget_caption", name=picked, total=ctx.money(total)))
    else:
        st.caption(t("timeline_page.no_scenario"))

    if baseline:
        st.toggle(t("timeline_page.show_baseline"), value=True, key="timeline.show_baseline")
        slips = timeline.slippage(tasks, baseline)
        moved = [(task, slips[task.id]) for task in tasks if task.id in slips and slips[task.id].status != "on_plan"]
        if moved:
            st.markdown(f"**{t('timeline_page.slippage')}**")
            st.dataframe(pd.DataFrame([
                {labels["name"]: task.display_name(ctx.lang), t("timeline_page.slip"): s.label(ctx.lang)}
                for task, s in moved
            ]), hide_index=True, width="stretch")
        else:
            st.caption(t("timeline_page.on_baseline"))

    st.divider()
    save_col, export_col = st.columns(2)
    with save_col:
        st.markdown(f"**{t('timeline_page.save_title')}**")
        default_name = loaded[1] if loaded[1] != DEFAULT_CHOICE else t("timeline_page.default_name")
        name = st.text_input(t("timeline_page.plan_name"), value=default_name, key="timeline.name", max_chars=60)
        buttons = st.columns(3)
        if buttons[0].button(t("timeline_page.save"), disabled=bool(errors), type="primary", key="timeline.save"):
            saved_name = timeline.validate_plan_name(name)
            timeline.save_plan(ctx.ws, dataset.dataset_id, saved_name, tasks, start_monday=start)
            st.session_state["timeline.loaded"] = (dataset.dataset_id, saved_name)
            st.toast(t("timeline_page.saved", name=saved_name))
            st.rerun()
        can_baseline = loaded[1] != DEFAULT_CHOICE and not errors
        if buttons[1].button(t("timeline_page.save_baseline"), disabled=not can_baseline, key="timeline.baseline_btn",
                             help=t("timeline_page.baseline_help")):
            timeline.save_plan(ctx.ws, dataset.dataset_id, loaded[1], tasks, start_monday=start)
            plan = timeline.save_baseline(ctx.ws, dataset.dataset_id, loaded[1], tasks, start_monday=start)
            st.session_state["timeline.baseline"] = [task.to_dict() for task in plan.baseline or []]
            st.toast(t("timeline_page.baseline_saved"))
            st.rerun()
        if buttons[2].button(t("timeline_page.reset"), key="timeline.reset"):
            _load(DEFAULT_CHOICE)
            st.rerun()
        if loaded[1] != DEFAULT_CHOICE:
            sure = st.checkbox(t("timeline_page.delete_confirm", name=loaded[1]), key="timeline.delete_sure")
            if st.button(t("timeline_page.delete"), disabled=not sure, key="timeline.delete"):
                timeline.delete_plan(ctx.ws, dataset.dataset_id, loaded[1])
                st.session_state.pop("timeline.loaded", None)
                st.rerun()
    with export_col:
        st.markdown(f"**{t('timeline_page.export_title')}**")
        if errors:
            st.caption(t("timeline_page.export_blocked"))
        else:
            plan_name = loaded[1] if loaded[1] != DEFAULT_CHOICE else t("timeline_page.default_name")
            stem = f"timeline_{start.isoformat()}"

            def chart_for_export():
                return timeline_charts.gantt_chart(tasks, start, ctx.lang, color_by=color_by, baseline=baseline,
                                                   show_critical=show_critical, today=today)

            signature = (dataset.cache_key, repr([task.to_dict() for task in tasks]), str(start), ctx.lang, color_by,
                         show_critical, repr(baseline_dicts), str(today))
            ui.download(
                t("timeline_page.export_xlsx"), key="timeline.dl_xlsx", icon=":material/table:", signature=signature,
                build=lambda: timeline_exports.to_xlsx(tasks, start, ctx.lang, baseline=baseline),
                file_name=f"{stem}.xlsx", mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            ui.download(
                t("timeline_page.export_ics"), key="timeline.dl_ics", icon=":material/calendar_month:",
                signature=signature, file_name=f"{stem}.ics", mime="text/calendar",
                build=lambda: timeline_exports.to_ics(tasks, start, ctx.lang, plan_name=plan_name,
                                                      dataset_name=dataset.name),
            )
            ui.download(
                t("timeline_page.export_png"), key="timeline.dl_png", icon=":material/image:", signature=signature,
                build=lambda: timeline_exports.chart_png(chart_for_export()), file_name=f"{stem}.png",
                mime="image/png",
            )
            ui.download(
                t("timeline_page.export_svg"), key="timeline.dl_svg", icon=":material/draw:", signature=signature,
                build=lambda: timeline_exports.chart_svg(chart_for_export()).encode("utf-8"),
                file_name=f"{stem}.svg", mime="image/svg+xml",
            )

    with ui.lazy_expander(t("timeline_page.content_calendar"), key="timeline.content_calendar") as calendar:
        if calendar.open:
            items = timeline.content_calendar(ctx.lang, start)
            st.dataframe(timeline.content_calendar_frame(items, ctx.lang), hide_index=True, width="stretch")
