"""Overview: how is the store doing this period against the last one?"""

from datetime import timedelta

import streamlit as st

from lib import charts, formatting, kpis, metrics, ui

ctx = ui.bootstrap("nav.overview")
t = ctx.t

with ui.friendly_errors(ctx):
    ui.page_header(ctx, "overview.title", "overview.question")
    dataset = ui.require_orders(ctx)
    first, last = ui.cached(kpis.data_range, dataset)

    presets = ["quarter", "last_30", "last_90", "last_365", "custom"]
    choice = st.segmented_control(
        t("overview.period"), presets, format_func=lambda p: t(f"overview.preset.{p}"),
        default="quarter", key="overview.preset",
    ) or "quarter"
    if choice == "quarter":
        period = kpis.default_period(first, last)
        if kpis.latest_full_quarter(first, last) is None:
            st.caption(t("overview.fallback_period"))
    elif choice == "custom":
        picked = st.date_input(
            t("overview.custom_range"), value=(max(first, last - timedelta(days=89)), last),
            min_value=first, max_value=last, key="overview.custom",
        )
        if not isinstance(picked, tuple) or len(picked) != 2:
            st.info(t("overview.pick_end"))
            st.stop()
        period = kpis.Period(picked[0], picked[1])
    else:
        days = {"last_30": 30, "last_90": 90, "last_365": 365}[choice]
        period = kpis.Period(max(first, last - timedelta(days=days - 1)), last)
    basis = st.segmented_control(
        t("overview.compare_with"), ["previous", "year"], format_func=lambda b: t(f"overview.compare.{b}"),
        default="previous", key="overview.compare",
    ) or "previous"
    previous = period.previous() if basis == "previous" else period.year_before()
    coverage = previous.coverage(first, last)

    current = ui.cached(kpis.compute_kpis, dataset, period)
    before = ui.cached(kpis.compute_kpis, dataset, previous)
    deltas = kpis.compare(current, before)
    # A comparison is only fair against a period the data covers: under half covered, no change is shown.
    has_previous = coverage >= 0.5

    st.subheader(t(
        "overview.headline", net=ctx.money(current.net_sales), gmv=ctx.money(current.gmv),
        refunds=ctx.money(current.refunds), start=period.start, end=period.end,
        change=(formatting.pct(deltas["net_sales"], signed=True)
                if has_previous and deltas["net_sales"] is not None else "—"),
        new=ctx.count(current.new_customers), against=t(f"overview.against.{basis}"),
    ))
    if current.cac is not None:
        st.markdown(t("overview.headline_cac", cac=ctx.money(current.cac), roas=formatting.ratio(current.roas)))
    if not has_previous:
        st.caption(t("overview.no_previous"))
    elif coverage < 1:
        st.warning(t("overview.partial_previous", start=previous.start, end=previous.end, first=first,
                     share=formatting.pct(coverage)))
    if dataset.customers < 200:
        st.warning(t("overview.small_data", customers=dataset.customers))

    def show(key: str, value: str) -> None:
        delta = deltas.get(key) if has_previous else None
        if delta is None:
            delta_text = None
        elif key in kpis.RATE_KPIS:
            delta_text = formatting.points(delta, ctx.lang)
        else:
            delta_text = formatting.pct(delta, signed=True)
        definition = metrics.metric(key)
        st.metric(
            definition.label(ctx.lang), value, **ui.metric_delta(delta_text, higher_is_better=definition.higher_is_better),
            help=definition.definition(ctx.lang), border=True,
        )

    values = {
        "gmv": formatting.money_compact(current.gmv, ctx.lang),
        "net_sales": formatting.money_compact(current.net_sales, ctx.lang),
        "orders": ctx.count(current.orders),
        "customers": ctx.count(current.customers),
        "new_customers": ctx.count(current.new_customers),
        "aov": ctx.money(current.aov, decimals=2),
        "repeat_rate": formatting.pct(current.repeat_rate),
        "repurchase_rate": formatting.pct(current.repurchase_rate),
        "spend": formatting.money_compact(current.spend, ctx.lang),
        "cac": ctx.money(current.cac, decimals=2),
        "roas": formatting.ratio(current.roas),
        "ltv_cac": formatting.ratio(current.ltv_cac),
    }
    assert set(values) == set(kpis.KPI_KEYS), "every KPI has a card"
    keys = list(kpis.KPI_KEYS)
    for row in (keys[:4], keys[4:8], keys[8:]):  # four a row: ¥599.5万 and the longer labels fit at 1440 px
        for column, key in zip(st.columns(4), row):
            with column:
                show(key, values[key])
    if current.spend is None:
        st.caption(t("overview.no_channel_data"))

    left, right = st.columns([3, 2])
    with left:
        metric = st.segmented_control(
            t("overview.trend_metric"), list(charts.TREND_METRICS), format_func=lambda m: t(f"kpi.{m}"),
            default="net_sales", key="overview.metric",
        ) or "net_sales"
        weekly = ui.cached(kpis.weekly_trend, dataset)
        if metric == "spend" and weekly["spend"].notna().sum() == 0:
            st.info(t("overview.no_channel_data"))
        else:
            ui.chart(charts.weekly_trend_chart, weekly, metric, t, (period.start, period.end))
    with right:
        mix = ui.cached(kpis.channel_mix, dataset, period)
        if len(mix) == 0 or (len(mix) == 1 and mix["channel"].iloc[0] == "—" and mix["spend"].isna().all()):
            st.info(t("overview.no_channels"))
        else:
            ui.chart(charts.channel_mix_chart, mix, t)

    with ui.lazy_expander(t("overview.definitions"), key="overview.definitions") as definitions:
        if definitions.open:  # a dozen paragraphs few visits read: drawn when opened
            for entry in metrics.glossary(ctx.lang):
                st.markdown(f"**{entry['name']}** ({entry['basis']}) — {entry['definition']}")
