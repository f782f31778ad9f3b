"""Segments: who are our customers, and which of them should we act on this quarter?"""

from dataclasses import replace
from datetime import timedelta

import pandas as pd
import streamlit as st

from lib import exports, formatting, segments, ui, value
from lib.importing import attributes as customer_attributes
from lib.segments import charts as segment_charts

ctx = ui.bootstrap("nav.segments")
t = ctx.t


def _working_settings(dataset_id: int) -> segments.SegmentSettings:
    """This session's settings for the dataset: the saved ones until the user changes something."""
    key = f"segments.settings.{dataset_id}"
    if key not in st.session_state:
        st.session_state[key] = segments.load_settings(ctx.ws, dataset_id)
    return st.session_state[key]


def _thresholds_editor(settings: segments.SegmentSettings, m_cuts) -> segments.SegmentSettings:
    th = settings.thresholds
    cols = st.columns(4)
    recent = cols[0].number_input(t("segments_page.recent_max"), 1, 3650, th.recent_max_days, key="segments.recent")
    lapsing = cols[1].number_input(t("segments_page.lapsing_max"), 2, 3650, th.lapsing_max_days, key="segments.lapsing")
    f_high = cols[2].number_input(t("segments_page.f_high"), 2, 1000, th.f_high_min, key="segments.f_high")
    f_mid = cols[3].number_input(t("segments_page.f_mid"), 1, 999, th.f_mid_min, key="segments.f_mid")
    mode = st.radio(
        t("segments_page.m_mode"), ["tertiles", "amounts"], index=0 if th.m_mode == "tertiles" else 1,
        format_func=lambda m: t(f"segments_page.m_mode.{m}"), horizontal=True, key="segments.m_mode",
    )
    m_high, m_mid = th.m_high_min, th.m_mid_min
    if mode == "amounts":
        cols = st.columns(2)
        m_high = cols[0].number_input(t("segments_page.m_high"), 0.0, value=float(m_high or m_cuts[0] or 1000.0),
                                      step=50.0, key="segments.m_high")
        m_mid = cols[1].number_input(t("segments_page.m_mid"), 0.0, value=float(m_mid or m_cuts[1] or 300.0),
                                     step=50.0, key="segments.m_mid")
    candidate = segments.Thresholds(
        recent_max_days=int(recent), lapsing_max_days=int(lapsing), f_high_min=int(f_high), f_mid_min=int(f_mid),
        m_mode=mode, m_high_min=m_high if mode == "amounts" else None, m_mid_min=m_mid if mode == "amounts" else None,
    )
    problems = segments.validate_thresholds(candidate, ctx.lang)
    for problem in problems:
        st.error(problem)
    return settings if problems else replace(settings, thresholds=candidate)


def _grid_editor(settings: segments.SegmentSettings) -> segments.SegmentSettings:
    st.caption(t("segments_page.grid_help"))
    options = [segments.segment_label(k, ctx.lang) for k in segments.group_order("rfm")]
    by_label = dict(zip(options, segments.group_order("rfm")))
    table = pd.DataFrame(
        [[segments.segment_label(settings.grid[segments.grid_key(r, f)], ctx.lang) for f in range(1, 6)]
         for r in range(5, 0, -1)],
        index=[f"R={r}" for r in range(5, 0, -1)], columns=[f"F={f}" for f in range(1, 6)],
    )
    edited = st.data_editor(
        table, key="segments.grid", width="stretch",
        column_config={c: st.column_config.SelectboxColumn(c, options=options, required=True) for c in table.columns},
    )
    grid = {
        segments.grid_key(r, f): by_label.get(str(edited.iloc[5 - r, f - 1]), "")
        for r in range(5, 0, -1) for f in range(1, 6)
    }
    problems = segments.validate_grid(grid, ctx.lang)
    for problem in problems:
        st.error(problem)
    if st.button(t("segments_page.grid_reset"), key="segments.grid_reset"):
        st.session_state.pop("segments.grid", None)
        st.session_state[f"segments.settings.{ctx.dataset.dataset_id}"] = replace(
            settings, grid=dict(segments.DEFAULT_GRID))
        st.rerun()
    return settings if problems else replace(settings, grid=grid)


#: Up to this many customers the per-tier CSVs are built ahead (cached on the data version) for one-click downloads;
#: a bigger dataset prepares each file on request instead of holding every list in memory.
ONE_CLICK_MAX_CUSTOMERS = 200_000


def _tier_downloads(dataset, settings, as_of, scheme: str, order_keys: list[str], by_group, stem: str) -> None:
    """One download button per non-empty tier/segment: that group's customers as CSV, kept attributes included."""
    present = [g for g in order_keys if by_group["customers"].get(g, 0)]
    if not present:
        return
    one_click = int(sum(by_group["customers"].get(g, 0) for g in present)) <= ONE_CLICK_MAX_CUSTOMERS
    # Every group's file from one classification and one cached value (a rerun hashes the settings once, not per group).
    files = ui.cached(segments.segment_csvs, dataset, settings, as_of=as_of, lang=ctx.lang, scheme=scheme,
                      groups=tuple(present)) if one_click else {}
    columns = st.columns(min(len(present), 5))
    for index, key in enumerate(present):
        label = t("segments_page.download_group", group=segments.group_label(key, scheme, ctx.lang))
        with columns[index % len(columns)]:
            if one_click:
                st.download_button(label, data=files[key], file_name=f"{stem}_{key}.csv", mime="text/csv",
                                   key=f"segments.dl_group.{key}", on_click="ignore", icon=":material/csv:",
                                   help=t("segments_page.download_group.help"))
            else:
                ui.download(label, key=f"segments.dl_group.{key}", icon=":material/csv:",
                            signature=(dataset.cache_key, repr(settings), str(as_of), ctx.lang, scheme),
                            build=lambda k=key: segments.segment_csv(ctx.ws, dataset.dataset_id, settings, as_of=as_of,
                                                                    lang=ctx.lang, scheme=scheme, group=k),
                            file_name=f"{stem}_{key}.csv", mime="text/csv")


def _prediction_export(dataset, pred: value.Prediction, as_of) -> pd.DataFrame:
    """Every customer's predictions with their plan tier and RFM segment, headed in the page's language."""
    tiers = ui.cached(segments.segment_customers, dataset, _working_settings(dataset.dataset_id), as_of)
    frame = pred.customers.merge(tiers[["customer_id", "tier", "segment"]], on="customer_id", how="left")
    frame["tier"] = [segments.tier_label(str(k), ctx.lang) for k in frame["tier"]]
    frame["segment"] = [segments.segment_label(str(k), ctx.lang) for k in frame["segment"]]
    frame["value_tier"] = [t(f"predict.tier.{k}") for k in frame["value_tier"].astype(str)]
    return frame.drop(columns=["first_order_date", "last_order_date"])


def _predicted_key(dataset, as_of) -> str:
    return f"segments.predicted.{dataset.cache_key}.{as_of}"


def _predicted_value(dataset, as_of, first_day, holdout_days: int) -> None:
    """Who will buy again and for how much: P(alive), predicted value, the at-risk list and the holdout check."""
    try:
        pred = ui.cached(value.predict, dataset, as_of)
    except value.ModelUnsupported as exc:
        st.info(t(f"predict.err.{exc.code}", needed=exc.needed, found=exc.found))
        return
    # The drill-down below shows the same predictions from now on, without a fit of its own on every visit.
    st.session_state[_predicted_key(dataset, as_of)] = True
    totals = pred.totals()
    st.caption(t("predict.intro", horizon=max(pred.horizons), rate=formatting.pct(pred.discount_rate_annual)))
    cards = st.columns(4)
    cards[0].metric(t("predict.kpi.expected_alive"), ctx.count(totals["expected_alive"]),
                    help=t("predict.kpi.expected_alive_help", customers=ctx.count(totals["customers"])), border=True)
    cards[1].metric(t("predict.kpi.value"), formatting.money_compact(totals["predicted_value"], ctx.lang),
                    help=t("predict.kpi.value_help", horizon=max(pred.horizons)), border=True)
    cards[2].metric(t("predict.kpi.at_risk"), ctx.count(totals["at_risk_customers"]),
                    help=t("predict.kpi.at_risk_help"), border=True)
    cards[3].metric(t("predict.kpi.stake"), formatting.money_compact(totals["value_at_stake"], ctx.lang),
                    help=t("predict.kpi.stake_help"), border=True)
    left, right = st.columns([3, 2])
    with left:
        ui.chart(value.p_alive_chart, value.p_alive_bins(pred.customers), t)
    with right:
        ui.chart(value.tier_value_chart,
                 value.tier_value_frame(pred.customers, pred.value_column), t)
    st.markdown(f"**{t('predict.at_risk_title')}**")
    risky = value.at_risk_list(pred, limit=200)
    if risky.empty:
        st.caption(t("predict.none_at_risk"))
    else:
        ui.customer_value_table(risky, pred.value_column, max(pred.horizons), t)
        st.caption(t("predict.at_risk_help", shown=len(risky), total=ctx.count(totals["at_risk_customers"])))
    ui.download(
        t("predict.download"), key="segments.dl_predictions", icon=":material/csv:",
        signature=(dataset.cache_key, str(as_of), ctx.lang),
        build=lambda: exports.csv_bytes(_prediction_export(dataset, pred, as_of)),
        file_name=f"predictions_{dataset.name}_{as_of}.csv".replace(" ", "_"), mime="text/csv",
    )
    st.markdown(f"**{t('predict.cohorts_heading')}**")
    table = value.cohorts(ui.cached(value.cohort_activity, dataset, as_of), pred)  # same fit as above
    if len(table):
        pooled = value.pooled_cohort_curve(table)
        left, right = st.columns([3, 2])
        with left:
            ui.chart(value.cohort_retention_chart, table, t)
        with right:
            ui.chart(value.cohort_curve_chart, pooled, "retention", t)
            ui.chart(value.cohort_curve_chart, pooled, "revenue", t)
        st.caption(t("predict.cohorts_help"))
    st.markdown(f"**{t('predict.calibration_heading')}**")
    calibration_end = as_of - timedelta(days=holdout_days)
    if calibration_end <= first_day + timedelta(days=90):
        st.info(t("predict.calibration_short"))
        return
    try:
        check = ui.cached(value.holdout_check, dataset, calibration_end, as_of)
    except value.ModelUnsupported as exc:
        st.info(t(f"predict.err.{exc.code}", needed=exc.needed, found=exc.found))
        return
    ui.chart(value.calibration_chart, check.table, t)
    st.caption(t("predict.calibration_result", start=calibration_end, end=as_of,
                 predicted=ctx.count(check.predicted_total), actual=ctx.count(check.actual_total),
                 error=formatting.pct(check.error, signed=True) if check.error is not None else "—"))
    st.caption(t("predict.seasonality_note"))


def _customers_tab(dataset, settings, as_of, scheme: str, order_keys: list[str], by_group) -> None:
    """The drill-down: a group's customers (search, sort, predicted value, the file's extra columns) and "why here"."""
    pick_cols = st.columns([2, 2, 2])
    group = pick_cols[0].selectbox(
        t("segments_page.group"), order_keys, format_func=lambda g: segments.group_label(g, scheme, ctx.lang),
        key=f"segments.drill.group.{scheme}",
    )
    search = pick_cols[1].text_input(t("segments_page.search"), key="segments.drill.search", max_chars=60)
    sort_by = pick_cols[2].selectbox(
        t("segments_page.sort_by"), ["window_revenue", "days_since_last_order", "orders", "revenue"],
        format_func=lambda c: t(f"segments_page.col.{c}"), key="segments.drill.sort",
    )
    members = ui.cached(segments.segment_members, dataset, settings, as_of, group=group, scheme=scheme,
                        search=search or None, order_by=sort_by, descending=sort_by != "days_since_last_order",
                        limit=500)
    if members.empty:
        st.info(t("segments_page.empty_group"))
    else:
        shown_cols = ["customer_id", "orders", "revenue", "window_orders", "window_revenue", "days_since_last_order",
                      "last_order_date", "r_score", "f_score", "m_score"]
        pred = None
        if st.session_state.get(_predicted_key(dataset, as_of)):  # fitted once the Predicted value tab was opened
            pred = ui.cached(value.predict, dataset, as_of)
            members = members.merge(pred.customers[["customer_id", "p_alive", pred.value_column]],
                                    on="customer_id", how="left")
            shown_cols += ["p_alive", pred.value_column]
        extra = customer_attributes.for_customers(ctx.ws, dataset.dataset_id, members["customer_id"].tolist())
        attribute_cols = [c for c in extra.columns if c != "customer_id" and c not in members.columns]
        if attribute_cols:  # the order file's extra columns (e-mail, phone, …), after the standard ones
            members = members.merge(extra[["customer_id", *attribute_cols]], on="customer_id", how="left")
            shown_cols += attribute_cols
        picked = st.dataframe(
            members[shown_cols], hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
            key="segments.members",
            column_config={
                **{c: t(f"segments_page.col.{c}") for c in shown_cols if c not in attribute_cols},
                "last_order_date": st.column_config.DateColumn(t("segments_page.col.last_order_date"),
                                                               format="YYYY-MM-DD"),
                "revenue": ui.money_column(t("segments_page.col.revenue"), decimals=2),
                "window_revenue": ui.money_column(t("segments_page.col.window_revenue"), decimals=2),
                "p_alive": st.column_config.ProgressColumn(t("predict.p_alive"), format="percent", min_value=0.0,
                                                           max_value=1.0),
                **({pred.value_column: ui.money_column(t("predict.col.clv", horizon=max(pred.horizons)))}
                   if pred else {}),
            },
        )
        st.caption(t("segments_page.members_caption", shown=len(members),
                     total=ctx.count(by_group["customers"].get(group, 0))))
        rows = picked.selection.rows if picked else []
        if rows:
            customer_id = str(members.iloc[rows[0]]["customer_id"])
            why = segments.explain_customer(ctx.ws, dataset.dataset_id, customer_id, settings, as_of, ctx.lang)
            if why:
                st.markdown(f"**{t('segments_page.why_title', customer=customer_id)}** {why.reason}")
                st.dataframe(pd.DataFrame(why.rows), hide_index=True, width="stretch")
                st.dataframe(pd.DataFrame(why.score_rows), hide_index=True, width="stretch")
        else:
            st.caption(t("segments_page.why_hint"))



# Lazy tabs draw their controls only while open: the Customers tab's group, search and sort, the distribution's
# measure, the time span, the migration's start date and the holdout stay as the user left them.
for kept in ("segments.drill.", "segments.measure", "segments.span", "segments.date_a", "segments.holdout_days"):
    ui.keep_widget_values(kept)

with ui.friendly_errors(ctx):
    ui.page_header(ctx, "segments_page.title", "segments_page.question")
    dataset = ui.require_orders(ctx)
    settings = _working_settings(dataset.dataset_id)
    last_day = dataset.last_order
    first_day = dataset.first_order

    controls = st.columns([2, 2, 3])
    shared = ui.date_param("as_of")  # a shared link carries the as-of date
    as_of = controls[0].date_input(
        t("segments_page.as_of"), value=min(max(shared or last_day, first_day), last_day), min_value=first_day,
        max_value=last_day, key=f"segments.as_of.{dataset.dataset_id}", help=t("segments_page.as_of_help"),
    )
    ui.set_param("as_of", None if as_of == last_day else as_of.isoformat())
    window_days = controls[1].number_input(
        t("segments_page.window"), min_value=30, max_value=3650, value=int(settings.window_days), step=30,
        key="segments.window", help=t("segments_page.window_help"),
    )
    scheme = controls[2].segmented_control(
        t("segments_page.scheme"), list(segments.SCHEMES), default=settings.scheme,
        format_func=lambda s: t(f"segments_page.scheme.{s}"), key="segments.scheme",
    ) or settings.scheme
    settings = replace(settings, window_days=int(window_days), scheme=scheme)

    # Drawn only while open (two tables and a dozen inputs few visits touch); the edits live in this session's
    # working settings, so closing it keeps them.
    with ui.lazy_expander(t("segments_page.settings"), key="segments.settings_open") as settings_box:
        if settings_box.open:
            cuts = ui.cached(segments.resolve_cuts, dataset, settings, as_of)
            settings = _thresholds_editor(settings, (cuts.m_high_min, cuts.m_mid_min))
            rules = segments.band_rules(settings.thresholds, ctx.lang, window_days=settings.window_days, cuts=cuts)
            st.dataframe(pd.DataFrame(rules)[["dimension", "band", "rule"]].rename(columns={
                "dimension": t("segments_page.dimension"), "band": t("segments_page.band"),
                "rule": t("segments_page.rule"),
            }), hide_index=True, width="stretch")
            st.markdown(f"**{t('segments_page.grid_title')}**")
            settings = _grid_editor(settings)
            st.session_state[f"segments.settings.{dataset.dataset_id}"] = settings
            if st.button(t("segments_page.save_settings"), type="primary", key="segments.save"):
                segments.save_settings(ctx.ws, dataset.dataset_id, settings)
                st.toast(t("segments_page.settings_saved"))

    for warning in ui.cached(segments.data_warnings, dataset, as_of, settings, ctx.lang):
        st.warning(warning, icon=":material/info:")

    summary = ui.cached(segments.segment_summary, dataset, settings, as_of, by=scheme)
    total_customers = int(summary["customers"].sum())
    if total_customers == 0:
        st.info(t("segments_page.no_customers"))
        st.stop()
    by_group = summary.set_index("group")
    if scheme == "plan":
        hv, dormant = by_group.loc["high_value"], by_group.loc["dormant"]
        st.subheader(t(
            "segments_page.headline_plan", hv_share=formatting.pct(hv["share_customers"]),
            hv_rev=formatting.pct(hv["share_revenue"]), dormant=ctx.count(dormant["customers"]),
            dormant_share=formatting.pct(dormant["share_customers"]), dormant_rev=ctx.money(dormant["revenue"]),
        ))
    else:
        top = summary.sort_values("share_revenue", ascending=False).iloc[0]
        st.subheader(t(
            "segments_page.headline_rfm", segment=segments.segment_label(top["group"], ctx.lang),
            share=formatting.pct(top["share_customers"]), rev=formatting.pct(top["share_revenue"]),
        ))

    # KPI cards: group sizes, with the change against four weeks earlier (frozen thresholds).
    sizes = ui.cached(segments.tier_sizes_over_time, dataset, as_of - timedelta(weeks=4), as_of, settings,
                      scheme=scheme)
    weeks = sorted(sizes["as_of"].unique())
    earlier = sizes[sizes["as_of"] == weeks[0]].set_index("group")["customers"] if len(weeks) > 1 else None
    shown = summary if scheme == "plan" else summary.sort_values("customers", ascending=False).head(5)
    for column, (_, row) in zip(st.columns(len(shown)), shown.iterrows()):
        before = earlier.get(row["group"]) if earlier is not None else None
        delta = int(row["customers"] - before) if before is not None else None
        column.metric(
            segments.group_label(row["group"], scheme, ctx.lang), ctx.count(row["customers"]),
            **{**ui.metric_delta(f"{delta:+,}" if delta is not None else None), "delta_color": "off"},
            help=t("segments_page.card_help", share=formatting.pct(row["share_customers"]),
                   rev=formatting.pct(row["share_revenue"]), aov=ctx.money(row["aov"], decimals=0),
                   days=formatting.count(row["median_days_since_last_order"])),
            border=True,
        )
    st.caption(t("segments_page.cards_caption"))

    main, side = st.columns([1, 1])  # the table's four columns need half the width at 1440 px
    with main:
        ui.chart(segment_charts.share_chart, summary, scheme, t)
    with side:
        table = summary.assign(group=[segments.group_label(g, scheme, ctx.lang) for g in summary["group"]])
        st.dataframe(
            table[["group", "customers", "share_customers", "share_revenue"]],
            hide_index=True, width="stretch",
            column_config={
                "group": t("segments_page.group"),
                "customers": ui.count_column(t("segments_page.customers")),
                "share_customers": st.column_config.NumberColumn(t("segments_page.share_customers"), format="percent"),
                "share_revenue": st.column_config.NumberColumn(t("segments_page.share_revenue"), format="percent"),
            },
        )
        if scheme == "plan":
            tags = ui.cached(segments.tag_counts, dataset, settings, as_of)
            st.caption(t("segments_page.tags", tags=", ".join(
                f"{segments.tier_label(r['tag'], ctx.lang)} {ctx.count(r['customers'])}" for _, r in tags.iterrows())))

    order_keys = list(segments.group_order(scheme))
    tab_heat, tab_dist, tab_time, tab_move, tab_pred, tab_customers, tab_defs = ui.lazy_tabs([
        t("segments_page.tab.heatmap"), t("segments_page.tab.distribution"), t("segments_page.tab.time"),
        t("segments_page.tab.migration"), t("segments_page.tab.predicted"), t("segments_page.tab.customers"),
        t("segments_page.tab.definitions"),
    ], key="segments.tab")
    with tab_heat:
        if tab_heat.open:
            ui.chart(segment_charts.rf_heatmap_chart, ui.cached(segments.rf_heatmap, dataset, settings, as_of), t)
    # A closed tab draws nothing, not even its controls (four inputs hidden on every view); their values are kept.
    with tab_dist:
        if tab_dist.open:
            measure = st.segmented_control(
                t("segments_page.measure"), ["days_since_last_order", "window_revenue"],
                default="days_since_last_order", format_func=lambda m: t(f"segments_page.measure.{m}"),
                key="segments.measure",
            ) or "days_since_last_order"
            bins = ui.cached(segments.distribution, dataset, settings, as_of, measure=measure, bins=40,
                             clip_quantile=0.99 if measure != "days_since_last_order" else None)
            ui.chart(segment_charts.histogram_chart, bins, measure, t)
    with tab_time:
        if tab_time.open:
            span = st.select_slider(t("segments_page.time_span"), [13, 26, 52], value=26, key="segments.span",
                                    format_func=lambda w: t("segments_page.weeks", weeks=w))
            trend = ui.cached(segments.tier_sizes_over_time, dataset, max(first_day, as_of - timedelta(weeks=span)),
                              as_of, settings, scheme=scheme)
            ui.chart(segment_charts.sizes_over_time_chart, trend, scheme, t)
    with tab_move:
        if tab_move.open:
            date_a = st.date_input(t("segments_page.compare_from"), value=max(first_day, as_of - timedelta(days=91)),
                                   min_value=first_day, max_value=as_of, key="segments.date_a")
            if date_a >= as_of:
                st.info(t("segments_page.pick_earlier"))
            else:
                matrix = ui.cached(segments.migration_matrix, dataset, date_a, as_of, settings, scheme)
                ui.chart(segment_charts.migration_chart, matrix, scheme, t, str(date_a), str(as_of))
                st.caption(t("segments_page.migration_help"))
    with tab_pred:
        if tab_pred.open:
            holdout_days = st.select_slider(t("predict.holdout_days"), [30, 60, 90, 180], value=90,
                                            key="segments.holdout_days",
                                            format_func=lambda d: t("predict.days", days=d))
            _predicted_value(dataset, as_of, first_day, holdout_days)
    with tab_customers:
        if tab_customers.open:
            _customers_tab(dataset, settings, as_of, scheme, order_keys, by_group)
    with tab_defs:
        if tab_defs.open:
            definitions = (segments.tier_definitions(settings.thresholds, ctx.lang) if scheme == "plan"
                           else segments.segment_definitions(settings.grid, ctx.lang))
            for row in definitions:
                st.markdown(f"**{row['label']}** — {row.get('definition') or row.get('cells', '')}")

    # The group whose CSV the export offers: the one picked in the Customers tab (kept while the tab is closed).
    group = st.session_state.get(f"segments.drill.group.{scheme}") or order_keys[0]
    st.divider()
    st.markdown(f"### {t('segments_page.export_title')}")
    chosen = st.multiselect(
        t("segments_page.export_groups"), order_keys, default=[g for g in order_keys if by_group["customers"].get(g, 0)],
        format_func=lambda g: segments.group_label(g, scheme, ctx.lang), key=f"segments.export_groups.{scheme}",
    )
    stem = f"segments_{dataset.name}_{as_of}".replace(" ", "_")
    export_cols = st.columns(2)
    signature = (dataset.cache_key, repr(settings), str(as_of), ctx.lang, tuple(chosen))
    with export_cols[0]:
        ui.download(
            t("segments_page.export_xlsx"), key="segments.dl_xlsx", primary=True, icon=":material/table:",
            build=lambda: segments.segment_workbook(ctx.ws, dataset.dataset_id, settings, as_of=as_of, lang=ctx.lang,
                                                   scheme=scheme, groups=chosen or None, dataset_name=dataset.name),
            file_name=f"{stem}.xlsx", signature=signature,
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    with export_cols[1]:
        ui.download(
            t("segments_page.export_csv", group=segments.group_label(group, scheme, ctx.lang)),
            key="segments.dl_csv", icon=":material/csv:", signature=signature,
            build=lambda: segments.segment_csv(ctx.ws, dataset.dataset_id, settings, as_of=as_of, lang=ctx.lang,
                                              scheme=scheme, group=group),
            file_name=f"{stem}_{group}.csv", mime="text/csv",
        )
    # Drawn only when opened: a download button's file is sent to the browser (and fetched) as soon as it shows.
    with ui.lazy_expander(t("segments_page.download_groups"), key="segments.group_downloads",
                          icon=":material/csv:") as group_downloads:
        if group_downloads.open:
            _tier_downloads(dataset, settings, as_of, scheme, order_keys, by_group, stem)
