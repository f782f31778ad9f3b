"""Scenarios: what do the quarter's targets demand in new customers and budget, and can CAC hold?"""

import pandas as pd
import streamlit as st

from lib import channels, formatting, scenarios, ui, value

ctx = ui.bootstrap("nav.scenarios")
t = ctx.t
FIELDS = ("growth", "cac_cut", "repurchase_up", "aov_change")
# Slider ranges in percent (or points): the plan's ranges sit well inside them.
SLIDERS = {"growth": (0.0, 40.0, 0.5), "cac_cut": (0.0, 30.0, 0.5), "repurchase_up": (0.0, 15.0, 0.5),
           "aov_change": (-20.0, 20.0, 0.5)}


def _split_columns() -> dict[str, object]:
    """Translated headers and per-kind number formats for the channel split table."""
    def column(key: str, kind: str) -> object:
        label = t(f"scenarios.split.{key}")
        if kind == "money":
            return ui.money_column(label)
        if kind == "count":
            return ui.count_column(label)
        if kind == "ratio":
            return st.column_config.NumberColumn(label, format="%.1f×")
        if kind == "flag":
            return st.column_config.CheckboxColumn(label)
        return st.column_config.TextColumn(label)
    return {key: column(key, kind) for key, kind in scenarios.SPLIT_COLUMNS}


def _predicted_ltv_note(dataset, baseline: scenarios.Baseline, result: scenarios.ScenarioResult) -> None:
    """Which LTV the LTV/CAC card uses, and the same ratio with the predicted value of the quarter's new customers."""
    try:
        pred = ui.cached(value.predict, dataset, dataset.last_order)  # the same fit as Segments' default
    except value.ModelUnsupported:
        st.caption(t("scenarios_page.ltv_used", ltv=ctx.money(baseline.ltv, decimals=0)))
        return
    ltv = value.predicted_ltv(pred, baseline.quarter_start, baseline.quarter_end)
    ratio = ltv / result.implied_cac if ltv is not None and result.implied_cac else None
    st.caption(t("scenarios_page.ltv_used", ltv=ctx.money(baseline.ltv, decimals=0)) + " " + t(
        "scenarios_page.ltv_predicted", ltv=ctx.money(ltv, decimals=0), quarter=baseline.quarter_label(ctx.lang),
        ratio=formatting.ratio(ratio), horizon=max(pred.horizons)))


def _inputs_from_sliders(preset_name: str) -> scenarios.ScenarioInputs | None:
    """The scenario's four sliders (the plan's preset on a first visit); None, with the reason shown, when invalid."""
    for field in FIELDS:
        st.session_state.setdefault(f"scenarios.{field}", round(getattr(scenarios.PRESETS[preset_name], field) * 100, 2))
    st.segmented_control(
        t("scenarios_page.preset"), list(scenarios.PRESETS), format_func=lambda p: t(f"scenarios_page.preset.{p}"),
        key="scenarios.preset", on_change=_apply_preset,
    )
    values = {}
    for col, field in zip(st.columns(4), FIELDS):
        low, high, step = SLIDERS[field]
        values[field] = col.slider(t(f"scenarios_page.input.{field}"), low, high, step=step, format="%.1f",
                                   key=f"scenarios.{field}", help=t(f"scenarios_page.input.{field}.help"))
    try:
        return scenarios.ScenarioInputs(**{f: values[f] / 100 for f in FIELDS})
    except scenarios.ScenarioInputError as exc:
        st.error(exc.message(ctx.lang))
        return None


def _orders_only(dataset) -> None:
    """No channel spend yet: what the target demands of returning and new customers, from the orders alone."""
    st.info(t("scenarios_page.orders_only"))
    inputs = _inputs_from_sliders("base")
    if inputs is None:
        return
    try:
        answer = ui.cached(scenarios.orders_only, dataset, inputs)
    except scenarios.ScenarioError as exc:
        st.info(exc.message(ctx.lang))
        return
    b = answer.baseline
    st.subheader(t(
        "scenarios_page.orders_only_headline", target=ctx.money(answer.revenue_target),
        growth=formatting.pct(inputs.growth, signed=True), quarter=b.quarter_label(ctx.lang),
        returning=ctx.count(answer.returning_customers_target), rate=formatting.pct(answer.repurchase_rate_target),
        retained=ctx.money(answer.retained_revenue_target), new=ctx.count(answer.new_customers_required),
        aov=ctx.money(answer.aov_new_target, decimals=0),
    ))
    cols = st.columns(4)
    cols[0].metric(t("scenarios_page.revenue_target"), formatting.money_compact(answer.revenue_target, ctx.lang),
                   help=t("scenarios_page.revenue_target_help"), border=True)
    cols[1].metric(t("scenarios_page.returning_target"), ctx.count(answer.returning_customers_target),
                   help=t("scenarios_page.returning_target_help"), border=True)
    cols[2].metric(t("scenarios_page.new_required"), ctx.count(answer.new_customers_required),
                   help=t("scenarios_page.new_required_help"), border=True)
    cols[3].metric(t("scenarios_page.new_revenue"), formatting.money_compact(answer.new_revenue_required, ctx.lang),
                   border=True)
    st.caption(t("scenarios_page.baseline_no_spend", start=b.quarter_start, end=b.quarter_end,
                 gmv=ctx.money(b.revenue), new=ctx.count(b.new_customers), rate=formatting.pct(b.repurchase_rate),
                 base=ctx.count(b.customer_base)))


def _outcome_range(dataset, result: scenarios.ScenarioResult, confidence: float) -> None:
    """The scenario's plan through the marketing-mix model: the quarter's outcome as P10/P50/P90, the chance of
    reaching the target, the budget that reaches it at the chosen confidence, and the 13 weeks ahead."""
    sources = ui.cached(channels.available_sources, dataset)
    if not sources:
        st.info(t("mmm_page.err.no_outcome"))
        return
    try:
        with st.spinner(t("mmm_page.fitting")):
            model = ui.cached(channels.fit, dataset, sources[0])
    except (channels.ModelDataMissing, ValueError) as exc:
        st.info(t("mmm_page.err.unsupported", reason=str(exc)))
        return
    fit, kind = model.fit, model.input.data.outcome_kind
    plan = scenarios.plan_weekly_spend(result, fit.channels)
    forecast = channels.predict_plan(fit, plan, result.inputs.weeks)
    target = scenarios.outcome_target(result, kind)
    show = (lambda v: ctx.money(v, decimals=0)) if kind == "revenue" else ctx.count
    st.caption(t("scenarios_page.range.intro", outcome=t(f"mmm_page.source.{model.input.source}"),
                 weeks=result.inputs.weeks, budget=ctx.money(sum(plan.values()) * result.inputs.weeks, decimals=0)))
    cols = st.columns(4)
    cols[0].metric("P10", show(forecast.p10), border=True, help=t("scenarios_page.range.p_help"))
    cols[1].metric("P50", show(forecast.p50), border=True, help=t("scenarios_page.range.p_help"))
    cols[2].metric("P90", show(forecast.p90), border=True, help=t("scenarios_page.range.p_help"))
    if target is not None:
        chance = forecast.probability_of_reaching(target)
        cols[3].metric(t("scenarios_page.range.chance"), formatting.pct(chance), border=True,
                       help=t("scenarios_page.range.chance_help", target=show(target)))
        needed = channels.budget_for_target(fit, target, confidence=confidence, weeks=result.inputs.weeks)  # ~20 ms
        st.markdown(t("scenarios_page.range.budget", confidence=formatting.pct(confidence), target=show(target),
                      budget=ctx.money(needed, decimals=0)) if needed is not None
                    else t("scenarios_page.range.unreachable", confidence=formatting.pct(confidence),
                           target=show(target)))
    weekly = forecast.weekly
    table = pd.DataFrame({
        t("channels_page.plan_week"): [w.date().isoformat() for w in pd.to_datetime(weekly["week"])],
        t("scenarios_page.range.spend"): [ctx.money(v, decimals=0) for v in weekly[list(fit.channels)].sum(axis=1)],
        "P10": [show(v) for v in weekly["p10"]], "P50": [show(v) for v in weekly["p50"]],
        "P90": [show(v) for v in weekly["p90"]],
    })
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(t("scenarios_page.range.help"))


def _apply_preset() -> None:
    name = st.session_state.get("scenarios.preset")
    if name in scenarios.PRESETS:
        preset = scenarios.PRESETS[name]
        for field in FIELDS:
            st.session_state[f"scenarios.{field}"] = round(getattr(preset, field) * 100, 2)


with ui.friendly_errors(ctx):
    ui.page_header(ctx, "scenarios_page.title", "scenarios_page.question")
    dataset = ui.require_orders(ctx)
    try:
        model = ui.cached(scenarios.prepare, dataset)
    except scenarios.ScenarioError as exc:
        if exc.key == "scenarios.error.no_channel_spend":
            _orders_only(dataset)
        else:
            st.info(exc.message(ctx.lang))
        st.page_link("pages/data.py", label=t("empty.go_import"), icon=":material/upload_file:")
        st.stop()
    baseline = model.baseline

    st.caption(t(
        "scenarios_page.baseline", start=baseline.quarter_start, end=baseline.quarter_end,
        gmv=ctx.money(baseline.revenue), new=ctx.count(baseline.new_customers),
        cac=ctx.money(baseline.cac, decimals=0), rate=formatting.pct(baseline.repurchase_rate),
        base=ctx.count(baseline.customer_base),
    ))

    shared = st.query_params.get("scenario")
    inputs = _inputs_from_sliders(shared if shared in scenarios.PRESETS else "base")  # a shared link names the preset
    if inputs is None:
        st.stop()
    for note in inputs.plan_notes(ctx.lang):
        st.caption(note)

    result = ui.cached(scenarios.evaluate_dataset, dataset, inputs)  # unnamed: presets are named per language
    ui.set_param("scenario", inputs.preset_name())
    st.subheader(scenarios.headline(result, ctx.lang))
    verdict_icon = {"met": ":material/check_circle:", "over_target": ":material/warning:"}.get(
        result.verdict, ":material/block:")
    (st.success if result.verdict == "met" else st.warning)(scenarios.verdict_text(result, ctx.lang),
                                                             icon=verdict_icon)

    cards = st.columns(3) + st.columns(3)  # two rows of three: the labels fit at 1440 px in both languages
    cards[0].metric(t("scenarios_page.revenue_target"), formatting.money_compact(result.revenue_target, ctx.lang),
                    help=t("scenarios_page.revenue_target_help"), border=True)
    cards[1].metric(t("scenarios_page.new_required"), ctx.count(result.new_customers_required),
                    help=t("scenarios_page.new_required_help"), border=True)
    cards[2].metric(t("scenarios_page.budget"), formatting.money_compact(result.required_budget, ctx.lang),
                    help=t("scenarios_page.budget_help"), border=True)
    gap = None if result.implied_cac is None else result.implied_cac - result.target_cac
    cards[3].metric(t("scenarios_page.implied_cac"), ctx.money(result.implied_cac, decimals=0),
                    **ui.metric_delta(None if gap is None else ("+" if gap >= 0 else "-") + ctx.money(abs(gap), decimals=0),
                                      higher_is_better=False),
                    delta_description=t("scenarios_page.vs_target", target=ctx.money(result.target_cac, decimals=0)),
                    help=t("scenarios_page.implied_cac_help"), border=True)
    cards[4].metric(t("scenarios_page.marginal_cac"), ctx.money(result.marginal_cac, decimals=0),
                    help=t("scenarios_page.marginal_cac_help"), border=True)
    cards[5].metric("LTV / CAC", formatting.ratio(result.ltv_cac),
                    delta=t("scenarios_page.ltv_ok") if result.ltv_cac_ok else t("scenarios_page.ltv_low"),
                    delta_color="normal" if result.ltv_cac_ok else "inverse", delta_arrow="off",
                    help=t("scenarios_page.ltv_help"), border=True)

    _predicted_ltv_note(dataset, baseline, result)

    levers = scenarios.lever_texts(result, ctx.lang)
    if levers:
        st.markdown(f"**{t('scenarios_page.levers')}**")
        for lever in levers:
            st.markdown(f"- {lever}")

    tab_feas, tab_split, tab_weeks, tab_range, tab_sens, tab_saved = ui.lazy_tabs([
        t("scenarios_page.tab.feasibility"), t("scenarios_page.tab.split"), t("scenarios_page.tab.weeks"),
        t("scenarios_page.tab.range"), t("scenarios_page.tab.sensitivity"), t("scenarios_page.tab.saved"),
    ], key="scenarios.tab")
    if tab_feas.open:
        with tab_feas:
            frontier = ui.cached(scenarios.frontier_dataset, dataset, inputs.weeks)
            ui.chart(scenarios.charts.feasibility_chart, result, frontier, ctx.lang)
            st.caption(t("scenarios_page.feasibility_help"))
    if tab_split.open:
        with tab_split:
            if result.split:
                ui.chart(scenarios.charts.spend_comparison_chart, result, ctx.lang)
                st.dataframe(scenarios.display_split(result, ctx.lang), hide_index=True, width="stretch",
                             column_config=_split_columns())
            else:
                st.info(t("scenarios_page.no_split"))
    if tab_weeks.open:
        with tab_weeks:
            weekly = scenarios.weekly_budget(result, unit=100)
            st.dataframe(weekly[["week", "plan_phase", "spend", "cumulative_spend", "cumulative_new_customers_target"]]
                         .assign(plan_phase=[t(f"scenarios_page.phase.{p}") for p in weekly["plan_phase"]]),
                         hide_index=True, width="stretch", column_config={
                             "week": t("channels_page.plan_week"), "plan_phase": t("scenarios_page.phase"),
                             "spend": ui.money_column(t("channels_page.weekly_budget")),
                             "cumulative_spend": ui.money_column(t("scenarios_page.cumulative")),
                             "cumulative_new_customers_target": ui.count_column(
                                 t("scenarios_page.cumulative_new"))})
            st.caption(t("scenarios_page.weeks_help"))
    with tab_range:
        confidence = st.select_slider(t("scenarios_page.range.confidence"), [0.5, 0.7, 0.8, 0.9, 0.95], value=0.8,
                                      format_func=formatting.pct, key="scenarios.confidence")
        if tab_range.open:
            _outcome_range(dataset, result, confidence)
    if tab_sens.open:
        with tab_sens:
            rows = ui.cached(scenarios.sensitivity_dataset, dataset, inputs)
            ui.chart(scenarios.charts.tornado_chart, rows, ctx.lang)
            st.caption(t("scenarios_page.sensitivity_help"))
    with tab_saved:
        name = st.text_input(t("scenarios_page.name"), value=result.label(ctx.lang), max_chars=60,
                             key="scenarios.name")
        if st.button(t("scenarios_page.save"), type="primary", key="scenarios.save"):
            scenarios.save_scenario(ctx.ws, dataset.dataset_id, name, result)
            st.toast(t("scenarios_page.saved", name=name))
            st.rerun()
        saved = scenarios.list_scenarios(ctx.ws, dataset.dataset_id)
        if not saved:
            st.caption(t("scenarios_page.none_saved"))
        else:
            names = [s.name for s in saved]
            chosen = st.multiselect(t("scenarios_page.compare"), names, default=names[:4], max_selections=4,
                                    key="scenarios.compare", placeholder=t("channels_page.none"))
            if len(chosen) >= 2:
                picked = [s for s in saved if s.name in chosen]
                st.dataframe(scenarios.comparison_table(picked, ctx.lang), hide_index=True, width="stretch")
                ui.chart(scenarios.charts.levers_chart, scenarios.compare(picked, ctx.lang), ctx.lang)
                signature = (dataset.cache_key, ctx.lang, tuple((s.name, s.saved_at) for s in picked))
                stem = f"{t('scenarios.compare.sheet')}-{dataset.name}"
                xlsx_col, csv_col = st.columns(2)
                with xlsx_col:
                    ui.download(t("scenarios_page.compare_xlsx"), key="scenarios.compare.xlsx", signature=signature,
                                build=lambda: scenarios.comparison_workbook(picked, ctx.lang),
                                file_name=f"{stem}.xlsx", icon=":material/table:",
                                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                with csv_col:
                    ui.download(t("scenarios_page.compare_csv"), key="scenarios.compare.csv", signature=signature,
                                build=lambda: scenarios.comparison_csv(picked, ctx.lang),
                                file_name=f"{stem}.csv", mime="text/csv", icon=":material/csv:")
            else:
                st.caption(t("scenarios_page.pick_two"))
            present_which = st.selectbox(t("scenarios_page.present_which"), names, key="scenarios.present_which")
            ui.present_link(ctx, scenario=present_which)
            drop = st.selectbox(t("scenarios_page.delete_which"), names, key="scenarios.delete_which")
            if st.button(t("scenarios_page.delete"), key="scenarios.delete"):
                scenarios.delete_scenario(ctx.ws, dataset.dataset_id, drop)
                st.rerun()
    st.caption(t("channels_page.directional_note"))
