"""Channels & budget: which channels earn their money, and how should next quarter's budget be split?"""

import pandas as pd
import streamlit as st

from lib import channels, formatting, kpis, ui
from lib.channels import optimizer
from lib.scenarios import budget
from lib.i18n import display_channel

ctx = ui.bootstrap("nav.channels")
t = ctx.t


def fitted_curves(dataset, metric: str) -> tuple[dict, dict]:
    """Fits for every channel (cached on the data version) and the curves to use, typed-in ones applied."""
    fits = ui.cached(channels.fit_channel_curves, dataset, metric)
    return fits, channels.apply_overrides(ctx.ws, dataset.dataset_id, channels.usable_curves(fits), metric)


def _performance(dataset, period: kpis.Period) -> None:
    table = ui.cached(channels.channel_table, dataset, period)
    frame = table.frame
    if frame.empty:
        st.info(t("channels_page.no_rows"))
        return
    st.caption(t(f"channels_page.source.{table.new_customers_source}"))
    left, right = st.columns([2, 3])
    with left:
        ui.chart(channels.share_gap_chart, frame, t)
    with right:
        shown = frame.assign(channel=[display_channel(c, ctx.lang) for c in frame["channel"]])
        st.dataframe(
            shown[["channel", "spend", "new_customers", "cac", "revenue", "roas", "roi", "ctr", "cvr", "impressions",
                   "clicks", "orders"]],
            hide_index=True, width="stretch",
            column_config={
                "channel": t("chart.channel"),
                "spend": ui.money_column(t("kpi.spend")),
                "new_customers": ui.count_column(t("kpi.new_customers")),
                "cac": ui.money_column(t("kpi.cac")),
                "revenue": ui.money_column(t("channels_page.revenue")),
                "roas": st.column_config.NumberColumn("ROAS", format="%.2f×"),
                "roi": st.column_config.NumberColumn("ROI", format="percent"),
                "ctr": st.column_config.NumberColumn("CTR", format="percent"),
                "cvr": st.column_config.NumberColumn(t("channels_page.cvr"), format="percent"),
                "impressions": ui.count_column(t("field.impressions")),
                "clicks": ui.count_column(t("field.clicks")),
                "orders": ui.count_column(t("kpi.orders")),
            },
        )
        st.caption(t("channels_page.ratio_help"))
    metric = st.segmented_control(
        t("channels_page.trend"), ["spend", "new_customers", "revenue"], default="spend",
        format_func=lambda m: t(f"channels_page.metric.{m}"), key="channels.trend_metric",
    ) or "spend"
    weekly = ui.cached(channels.weekly_channel_metrics, dataset, period)
    if weekly[metric].notna().any():
        ui.chart(channels.weekly_spend_chart, weekly, metric, t)
    else:
        st.info(t("channels_page.metric_missing"))


def _curves_tab(dataset, metric: str) -> None:
    fits, usable = fitted_curves(dataset, metric)
    st.warning(t("channels_page.directional_note"), icon=":material/science:")
    if not fits:
        st.info(t("channels_page.no_channel_data"))
        return
    summary = channels.fits_summary(fits)
    current = ui.cached(channels.recent_weekly_spend, dataset)
    names = list(fits)
    channel = st.selectbox(t("chart.channel"), names, format_func=lambda c: display_channel(c, ctx.lang),
                           key="channels.curve_channel")
    curve = usable.get(channel)
    if curve is None:
        st.info(fits[channel].message(ctx.lang))
    else:
        now = current.get(channel)
        cols = st.columns(4)
        cols[0].metric(t("channels_page.current_weekly"), ctx.money(now))
        cols[1].metric(t("channels_page.marginal_cac_now"), ctx.money(float(curve.marginal_cost(now)) if now else None),
                       help=t("channels_page.marginal_cac_help"))
        cols[2].metric("R²", f"{curve.r2:.2f}" if curve.r2 is not None else "—", help=t("channels_page.r2_help"))
        cols[3].metric("MAPE", formatting.pct(curve.mape), help=t("channels_page.mape_help"))
        ui.chart(channels.response_curve_chart, curve, channel, now, t, metric)
        st.caption(t("channels_page.curve_caption", family=t(f"channels_page.family.{curve.family}"),
                     theta=f"{curve.theta:.2f}", half_life=f"{curve.half_life:.1f}",
                     source=t(f"channels_page.source_kind.{curve.source}")))
    table = summary.assign(channel=[display_channel(c, ctx.lang) for c in summary["channel"]])
    table["status"] = [fits[c].message(ctx.lang) for c in summary["channel"]]
    st.dataframe(table[["channel", "status", "family", "theta", "r2", "mape", "n_weeks", "max_observed_weekly_spend"]],
                 hide_index=True, width="stretch", column_config={
                     "channel": t("chart.channel"), "status": t("channels_page.fit_status"),
                     "family": t("channels_page.family"), "theta": st.column_config.NumberColumn("θ", format="%.2f"),
                     "r2": st.column_config.NumberColumn("R²", format="%.2f"),
                     "mape": st.column_config.NumberColumn("MAPE", format="percent"),
                     "n_weeks": t("channels_page.weeks"),
                     "max_observed_weekly_spend": ui.money_column(t("channels_page.max_observed"))})
    _override_editor(dataset, metric, channel, curve)


def _override_editor(dataset, metric: str, channel: str, curve) -> None:
    """Type in a curve from an external model (Robyn, Meridian) for the channel, or clear the one typed in."""
    with st.expander(t("channels_page.override_title")):
        st.caption(t("channels_page.override_help"))
        family = st.selectbox(t("channels_page.family"), list(channels.PARAM_NAMES),
                              format_func=lambda f: t(f"channels_page.family.{f}"), key="channels.override_family")
        cols = st.columns(len(channels.PARAM_NAMES[family]) + 1)
        params = {name: cols[i].number_input(name, min_value=0.0, value=float(curve.params.get(name, 1.0)) if curve
                                             and curve.family == family else 1.0, key=f"channels.override.{name}")
                  for i, name in enumerate(channels.PARAM_NAMES[family])}
        theta = cols[-1].number_input("θ", 0.0, 0.95, float(curve.theta) if curve else 0.0, 0.05,
                                      key="channels.override_theta")
        buttons = st.columns(2)
        if buttons[0].button(t("channels_page.override_save", channel=display_channel(channel, ctx.lang)),
                             key="channels.override_save"):
            typed = channels.CurveFit.from_params(
                family, params, theta,
                max_observed_weekly_spend=curve.max_observed_weekly_spend if curve else None, metric=metric)
            channels.save_override(ctx.ws, dataset.dataset_id, metric, channel, typed)
            st.rerun()
        typed_in = channels.load_overrides(ctx.ws, dataset.dataset_id, metric)
        if channel in typed_in and buttons[1].button(t("channels_page.override_clear"), key="channels.override_clear"):
            channels.save_override(ctx.ws, dataset.dataset_id, metric, channel, None)
            st.rerun()


def _split_tab(dataset, period: kpis.Period) -> None:
    keys = [k for k in budget.TEMPLATES if k != "product_mix"]
    key = st.segmented_control(t("channels_page.template"), keys, default="by_function",
                               format_func=lambda k: t(f"budget.template.{k}"), key="channels.template") or "by_function"
    st.caption(t(f"budget.template.{key}.note"))
    state_key = f"channels.shares.{key}"
    shares = st.session_state.setdefault(state_key, budget.template(key).defaults())
    total = st.number_input(t("channels_page.total_budget"), min_value=0.0, step=10000.0, format="%.0f",
                            value=float(st.session_state.get("channels.total_budget", 1_000_000.0)),
                            key="channels.total_budget")
    frame = budget.template_frame(key, ctx.lang, shares)
    cols = st.columns(len(frame))
    for col, (_, row) in zip(cols, frame.iterrows()):
        shown = round(row["share"] * 100, 1)
        new = col.number_input(row["label"], 0.0, 100.0, shown, 1.0,
                               key=f"channels.share.{key}.{row['key']}.{round(row['share'], 6)}",
                               help=row["plan_range"])
        if abs(new - shown) > 1e-9:  # compare what was shown, or rounding would rebalance forever
            st.session_state[state_key] = budget.rebalance(shares, row["key"], new / 100)
            st.rerun()
    st.caption(t("channels_page.rebalance_note"))
    money = budget.to_money(shares, total, unit=100)
    frame["amount"] = [money[k] for k in frame["key"]]
    for issue in budget.range_issues(key, shares):
        st.warning(issue.message(ctx.lang))
    st.dataframe(frame[["label", "share", "plan_range", "amount"]], hide_index=True, width="stretch", column_config={
        "label": t("channels_page.line"), "share": st.column_config.NumberColumn(t("chart.share"), format="percent"),
        "plan_range": t("channels_page.plan_range"),
        "amount": ui.money_column(t("channels_page.amount"))})
    if st.button(t("channels_page.reset_split"), key="channels.reset_split"):
        st.session_state.pop(state_key, None)
        st.rerun()
    if key == "by_channel_group":
        table = ui.cached(channels.channel_table, dataset, period).frame
        actual = dict(zip(table["channel"], table["spend"].fillna(0)))
        if sum(actual.values()) > 0:
            compared = budget.compare_to_actual(shares, actual)
            compared["group"] = [t(f"budget.line.{g}") for g in compared["group"]]
            st.markdown(f"**{t('channels_page.vs_actual')}**")
            st.dataframe(compared, hide_index=True, width="stretch", column_config={
                "group": t("channels_page.line"),
                "planned_share": st.column_config.NumberColumn(t("channels_page.planned"), format="percent"),
                "actual_spend": ui.money_column(t("kpi.spend")),
                "actual_share": st.column_config.NumberColumn(t("channels_page.actual"), format="percent"),
                "gap": st.column_config.NumberColumn(t("channels_page.gap"), format="percent"),
                "channels": t("channels_page.channels")})
    media_share = shares.get("channel_spend") or shares.get("marketing") or 1.0
    weekly = budget.weekly_phasing(total * media_share if key in ("by_function", "by_type") else total, unit=100)
    ui.chart(channels.phasing_chart, weekly, t)
    st.caption(t("channels_page.phasing_note"))


def _optimiser_inputs(usable: dict, historical: dict) -> tuple[float, float, float, list[str]]:
    """The quarter's budget (default: the last quarter's spend), the bounds as multiples of it, the locked channels."""
    cols = st.columns(3)
    budget_total = cols[0].number_input(t("channels_page.quarter_budget"), min_value=0.0, step=10000.0,
                                        value=float(round(sum(historical.values()))), key="channels.opt_budget",
                                        format="%.0f", help=t("channels_page.quarter_budget_help"))
    low, high = cols[1].slider(t("channels_page.bounds"), 0.0, 5.0, (0.5, 2.0), 0.1, key="channels.opt_bounds",
                               help=t("channels_page.bounds_help"))
    locked = cols[2].multiselect(t("channels_page.locked"), list(usable), placeholder=t("channels_page.none"),
                                 format_func=lambda c: display_channel(c, ctx.lang), key="channels.opt_locked")
    return budget_total, low, high, locked


def _optimiser_tab(dataset, metric: str) -> None:
    _, usable = fitted_curves(dataset, metric)
    if not usable:
        st.info(t("channels_page.no_curves"))
        return
    _, historical = ui.cached(channels.quarter_curves, dataset, usable)
    current_total = sum(historical.values())
    budget_total, low, high, locked = _optimiser_inputs(usable, historical)
    try:
        split = ui.cached(channels.optimise_quarter, dataset, usable, metric, budget_total, low, high, tuple(locked))
    except optimizer.InfeasibleBudget as exc:
        st.error(exc.message(ctx.lang))
        return
    best, now = split.best, split.now
    unit = t(f"channels_page.unit.{metric}")
    st.subheader(t("channels_page.opt_headline", budget=ctx.money(budget_total), best=ctx.count(best.total_response),
                   unit=unit, now=ctx.count(now.total_response), now_budget=ctx.money(current_total),
                   mcac=ctx.money(best.marginal_cost)))
    _optimiser_cards(best, now, budget_total, current_total, metric, unit)
    _optimiser_comparison(best, now, unit)
    _next_step(split.next_step, unit)
    with st.expander(t("channels_page.min_budget_title")):
        target = st.number_input(t("channels_page.target", unit=unit), min_value=0.0,
                                 value=float(round(now.total_response * 1.15)), step=100.0, key="channels.target")
        try:
            needed = ui.cached(channels.min_quarter_budget, dataset, usable, metric, target, low, high, tuple(locked))
            st.success(t("channels_page.min_budget", budget=ctx.money(needed.total_spend), target=ctx.count(target),
                         unit=unit, cac=ctx.money(needed.total_spend / target if target else None)))
        except (optimizer.TargetUnreachable, optimizer.InfeasibleBudget) as exc:
            st.error(exc.message(ctx.lang))


def _optimiser_cards(best, now, budget_total: float, current_total: float, metric: str, unit: str) -> None:
    """The optimised response against today's split, its average and marginal cost, and what the mix alone gains."""
    # Both rounded before subtracting, like the delta under the first card: at today's budget the two agree exactly.
    scaled_now = now.total_response * (budget_total / current_total if current_total else 1)
    gain = round(best.total_response) - round(scaled_now)
    metrics = st.columns(4)
    metrics[0].metric(t("channels_page.optimised_response", unit=unit), ctx.count(best.total_response),
                      # the difference of the two numbers as shown, so 5,251 against 4,758 reads +493, never +492
                      **ui.metric_delta(f"{round(best.total_response) - round(now.total_response):+,}"))
    metrics[1].metric(t(f"channels_page.avg_cost.{metric}"), ctx.money(best.total_spend / best.total_response
                                                                          if best.total_response else None))
    metrics[2].metric(t("channels_page.marginal_cost_opt"), ctx.money(best.marginal_cost),
                      help=t("channels_page.lambda_help"))
    metrics[3].metric(t("channels_page.mix_gain"), ctx.count(gain), help=t("channels_page.mix_gain_help"))


def _optimiser_comparison(best, now, unit: str) -> None:
    """Today's split against the optimised one, per channel: chart, table, and the channels pushed beyond their data."""
    comparison = optimizer.compare(now, best)
    ui.chart(channels.allocation_chart, comparison, t)
    table = comparison.assign(channel=[display_channel(c, ctx.lang) for c in comparison["channel"]])
    st.dataframe(table[["channel", "current_spend", "optimised_spend", "current_response", "optimised_response",
                        "current_marginal_cost", "optimised_marginal_cost"]], hide_index=True, width="stretch",
                 column_config={
                     "channel": t("chart.channel"),
                     "current_spend": ui.money_column(t("channels_page.current_spend")),
                     "optimised_spend": ui.money_column(t("channels_page.optimised_spend")),
                     "current_response": ui.count_column(t("channels_page.current_resp", unit=unit)),
                     "optimised_response": ui.count_column(t("channels_page.optimised_resp", unit=unit)),
                     "current_marginal_cost": ui.money_column(t("channels_page.current_mcost")),
                     "optimised_marginal_cost": ui.money_column(t("channels_page.optimised_mcost"))})
    st.caption(t("channels_page.curves_not_actuals", unit=unit))
    ratios = best.extrapolation_ratio
    if ratios is not None:
        beyond = [c for c, r in zip(best.channels, ratios) if r and r > 1.0]
        if beyond:
            st.warning(t("channels_page.beyond_observed",
                         channels=", ".join(display_channel(c, ctx.lang) for c in beyond)))


def _next_step(nxt, unit: str) -> None:
    """Where the next ¥1,000 goes (or that it goes anywhere, at an interior optimum)."""
    if len(nxt):
        top = nxt.iloc[0]
        # At an interior optimum every channel's marginal return is the same: naming one would be arbitrary.
        even = len(nxt) > 1 and nxt["extra_response"].iloc[1] >= 0.95 * top["extra_response"]
        st.info(t("channels_page.next_1000_even" if even else "channels_page.next_1000",
                  channel=display_channel(top["channel"], ctx.lang), gain=f"{top['extra_response']:.1f}", unit=unit))


def _mmm_tab(dataset) -> None:
    """The marketing-mix model on a total weekly outcome: which model, on what, and each channel's share with its interval."""
    st.caption(t("mmm_page.why"))
    sources = ui.cached(channels.available_sources, dataset)
    if not sources:
        st.info(t("mmm_page.err.no_outcome"))
        return
    source = st.segmented_control(
        t("mmm_page.outcome"), sources, default=sources[0], format_func=lambda s: t(f"mmm_page.source.{s}"),
        key="channels.mmm_source",
    ) or sources[0]
    coverage = ui.cached(channels.coverage_note, dataset)
    if coverage:
        st.warning(t("mmm_page.coverage", spend_first=coverage[0], spend_last=coverage[1],
                     orders_first=coverage[2], orders_last=coverage[3]))
    run_key = f"channels.mmm_run.{dataset.cache_key}.{source}"
    if not st.session_state.get(run_key):
        if st.button(t("mmm_page.fit"), key=f"channels.mmm_fit.{source}", type="primary"):
            st.session_state[run_key] = True
        else:
            return
    try:
        with st.spinner(t("mmm_page.fitting")):
            model = ui.cached(channels.fit, dataset, source)
    except channels.ModelDataMissing as exc:
        st.info(t(f"mmm_page.err.{exc.code}"))
        return
    except ValueError as exc:
        st.info(t("mmm_page.err.unsupported", reason=str(exc)))
        return
    fit, data = model.fit, model.input.data
    revenue_like = data.outcome_kind == "revenue"
    media = fit.media_total
    total = media + fit.baseline_total
    cols = st.columns(4)
    cols[0].metric(t("mmm_page.r2"), f"{fit.r2:.2f}", help=t("mmm_page.r2_help"), border=True)
    cols[1].metric(t("mmm_page.mape"), formatting.pct(fit.mape), help=t("mmm_page.mape_help"), border=True)
    cols[2].metric(t("mmm_page.paid_share"), formatting.pct(media / total if total else None),
                   help=t("mmm_page.paid_share_help"), border=True)
    cols[3].metric(t("mmm_page.weeks"), ctx.count(len(data.weeks)),
                   help=t("mmm_page.weeks_help", first=model.input.first_week, last=model.input.last_week,
                          seconds=f"{fit.seconds:.1f}"), border=True)
    value = (lambda v: ctx.money(v, decimals=0)) if revenue_like else ctx.count
    _mmm_table(fit, revenue_like, value)
    channel = st.selectbox(t("mmm_page.curve.channel"), list(fit.channels),
                           format_func=lambda c: display_channel(c, ctx.lang), key="channels.mmm_curve")
    ui.chart(channels.mmm_response_chart, channels.response_curve(fit, channel),
             fit.results[channel].current_weekly_spend, display_channel(channel, ctx.lang), t)
    _mmm_optimiser(model, value)


def _mmm_table(fit: channels.MmmFit, revenue_like: bool, value) -> None:
    """Each channel's contribution and ROI (or CPA) with their intervals, the baseline, and the model's warnings."""
    summary = fit.summary()
    rows = []
    for r in summary.itertuples():
        ratio, low, high = (r.roi, r.roi_low, r.roi_high) if revenue_like else (r.cpa, r.cpa_low, r.cpa_high)
        fmt = formatting.ratio if revenue_like else (lambda v: ctx.money(v, decimals=0))
        rows.append({
            t("mmm_page.col.channel"): display_channel(r.channel, ctx.lang),
            t("mmm_page.col.spend"): ctx.money(r.spend, decimals=0),
            t("mmm_page.col.contribution"): value(r.contribution),
            t("mmm_page.col.interval"): f"{value(r.contribution_low)} – {value(r.contribution_high)}",
            t("mmm_page.col.roi" if revenue_like else "mmm_page.col.cpa"): fmt(ratio),
            t("mmm_page.col.roi_interval"): f"{fmt(low)} – {fmt(high)}",
            t("mmm_page.col.marginal"): formatting.ratio(r.marginal_roi) if revenue_like else value(r.marginal_roi),
            t("mmm_page.col.separable"): "✓" if r.identifiable else "—",
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(t("mmm_page.table_help", baseline=value(fit.baseline_total), low=value(fit.baseline_total_low),
                 high=value(fit.baseline_total_high)))
    for code, params in fit.warnings:
        st.caption(f"⚠ {channels.explain_warning(code, params, ctx.lang)}")


def _mmm_optimiser(model: channels.ChannelModel, value) -> None:
    """The optimiser on the marketing-mix model: the split of a quarter's budget with the outcome's range."""
    st.markdown(f"**{t('mmm_page.opt_title')}**")
    fit = model.fit
    current = channels.current_mix(fit)
    recent = float(fit.data.spend.iloc[-13:].to_numpy().sum())
    budget = st.number_input(t("mmm_page.opt_budget"), min_value=0.0, value=float(round(recent, -3)), step=10_000.0,
                             key=f"channels.mmm_budget.{model.input.source}")
    plan = channels.optimise_budget(fit, budget)  # ~0.1 s on the cached fit
    rows = [{
        t("mmm_page.col.channel"): display_channel(c, ctx.lang),
        t("mmm_page.opt_current"): formatting.pct(current.get(c, 0.0)),
        t("mmm_page.opt_spend"): ctx.money(plan.spend[c], decimals=0),
        t("mmm_page.opt_share"): formatting.pct(plan.spend[c] / budget if budget else None),
        t("mmm_page.col.marginal"): formatting.ratio(plan.marginal_roi[c]) if fit.data.outcome_kind == "revenue"
        else f"{plan.marginal_roi[c]:.4f}",
    } for c in fit.channels]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    f = plan.forecast
    st.caption(t("mmm_page.opt_result", p10=value(f.p10), p50=value(f.p50), p90=value(f.p90)))
    for code, params in plan.warnings:
        st.caption(f"⚠ {channels.explain_warning(code, params, ctx.lang)}")


ui.keep_widget_values("channels.")  # the tabs below are lazy: what was typed on a closed tab stays

with ui.friendly_errors(ctx):
    ui.page_header(ctx, "channels_page.title", "channels_page.question")
    if ctx.dataset is None:
        ui.require_orders(ctx)
    dataset = ctx.dataset
    if dataset.channel_rows == 0:
        st.info(t("channels_page.no_channel_data"))
        st.page_link("pages/data.py", label=t("empty.go_import"), icon=":material/upload_file:")
        st.stop()
    first = dataset.first_period
    last = dataset.last_period
    period = kpis.default_period(first, last + pd.Timedelta(days=6).to_pytimedelta())
    metric = st.segmented_control(
        t("channels_page.objective"), ["new_customers", "revenue"], default="new_customers",
        format_func=lambda m: t(f"channels_page.metric.{m}"), key="channels.metric",
        help=t("channels_page.objective_help"),
    ) or "new_customers"
    # Only the open tab is computed and drawn (five tabs drew nine charts and tables to show one tab).
    tab_perf, tab_curves, tab_mmm, tab_split, tab_opt = ui.lazy_tabs([
        t("channels_page.tab.performance"), t("channels_page.tab.curves"), t("mmm_page.tab"),
        t("channels_page.tab.split"), t("channels_page.tab.optimiser"),
    ], key="channels.tab")
    with tab_perf:
        if tab_perf.open:
            st.caption(t("channels_page.period", start=period.start, end=period.end))
            _performance(dataset, period)
    with tab_curves:
        if tab_curves.open:
            _curves_tab(dataset, metric)
    with tab_mmm:
        if tab_mmm.open:
            _mmm_tab(dataset)
    with tab_split:
        if tab_split.open:
            _split_tab(dataset, period)
    with tab_opt:
        if tab_opt.open:
            _optimiser_tab(dataset, metric)
