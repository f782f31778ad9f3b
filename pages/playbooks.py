"""Playbooks: for each customer tier, who they are, why they are there, what we do, what it costs and when."""

import pandas as pd
import streamlit as st

from lib import formatting, playbooks, segments, ui
from lib import value as customer_value

ctx = ui.bootstrap("nav.playbooks")
t = ctx.t
EDITABLE = ("response_rate", "incentive", "redemption_rate", "points_per_responder", "contact_cost", "aov_multiplier")
#: The tier overview on screen (the workbook has every column of playbooks.TIER_COLUMNS): fits 1440 px in both languages.
OVERVIEW = ("group", "members", "member_change", "share_customers", "share_revenue", "incremental_revenue", "total_cost",
            "net", "roi", "flagged_plays")
#: Width of the play-name column: with it every table of plays fits 1440 px in both languages.
PLAY_NAME_PX = 300
#: Headers the page shortens so every table fits its width; the full label is the column's tooltip.
SHORT = {"member_change", "share_customers", "share_revenue", "flagged_plays", "baseline_rate", "held_out"}
#: Page labels (playbooks_page.*) of the overview's money columns, as the per-play results name them.
PAGE_LABELS = {"incremental_revenue": "playbooks_page.short.revenue", "total_cost": "playbooks_page.cost",
               "net": "playbooks_page.net", "roi": "playbooks_page.roi"}


def _playbook(dataset_id: int) -> playbooks.Playbook:
    """This session's working copy of the dataset's playbook (saved copy until edited)."""
    key = f"playbooks.working.{dataset_id}"
    if key not in st.session_state:
        st.session_state[key] = playbooks.load_playbook(ctx.ws, dataset_id)
    return st.session_state[key]


def _money(value):
    return ctx.money(value) if value is not None else "—"


def _roi(value) -> str:
    """ROI as lib.metrics defines it (a percentage), with the app's formatter."""
    return formatting.by_kind(value, playbooks.ROI_FORMAT_KIND, ctx.lang)


def _header(key: str) -> st.column_config.Column:
    """A table column headed by a short label, the full one as its tooltip (playbooks.column_label)."""
    full = playbooks.column_label(key, ctx.lang)
    if key in SHORT:
        return st.column_config.Column(t(f"playbooks_page.short.{key}"), help=full)
    if key in PAGE_LABELS:
        return st.column_config.Column(t(PAGE_LABELS[key]), help=full)
    return st.column_config.Column(full)


def _play_column() -> st.column_config.Column:
    """The play's name, one width in every table of plays (the longest names end in "…"; "What we do" has them whole)."""
    return st.column_config.TextColumn(t("playbooks_page.play"), width=PLAY_NAME_PX)


def _formatted(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Every column written with the app's formatter (separators, fixed decimals); text columns as they are."""
    out = frame.copy()
    for column, kind in kinds.items():
        out[column] = [formatting.by_kind(v, kind, ctx.lang) for v in frame[column]]
    return out


def _predicted_value(dataset, settings: segments.SegmentSettings, scheme: str, tier: str) -> None:
    """The tier's predicted value (lib.value.prediction) and its members with the most value at stake: whom to contact first."""
    try:
        pred = ui.cached(customer_value.predict, dataset, dataset.last_order)  # the same fit as Segments' default
    except customer_value.ModelUnsupported as exc:
        st.caption(t(f"predict.err.{exc.code}", needed=exc.needed, found=exc.found))
        return
    value = ui.cached(playbooks.group_values, dataset, settings, scheme, given={"fit": pred},  # every tier at once
                      given_key=("predict", str(dataset.last_order))).get(tier)
    if value is None:
        return
    row = value.totals
    st.caption(t("playbooks_page.predicted", value=formatting.money_compact(row["predicted_value"], ctx.lang),
                 per=ctx.money(row["predicted_value_per_customer"], decimals=0), horizon=max(pred.horizons),
                 alive=ctx.count(row["expected_alive"]), members=ctx.count(row["customers"]),
                 at_risk=ctx.count(row["at_risk"])))
    if len(value.contact_first):
        with ui.lazy_expander(t("playbooks_page.contact_first", n=len(value.contact_first)),
                              key="playbooks.contact_first") as contact_first:
            if contact_first.open:
                ui.customer_value_table(value.contact_first, pred.value_column, max(pred.horizons), t)


with ui.friendly_errors(ctx):
    ui.page_header(ctx, "playbooks_page.title", "playbooks_page.question")
    dataset = ui.require_orders(ctx)
    settings = segments.load_settings(ctx.ws, dataset.dataset_id)
    scheme = st.segmented_control(
        t("segments_page.scheme"), list(segments.SCHEMES), default=settings.scheme,
        format_func=lambda s: t(f"segments_page.scheme.{s}"), key="playbooks.scheme",
    ) or settings.scheme
    playbook = _playbook(dataset.dataset_id)
    profiles = ui.cached(playbooks.all_tier_profiles, dataset, scheme, None, settings)
    groups = playbook.groups_for(scheme)
    tasks = playbooks.plan_tasks(ctx.ws, dataset.dataset_id)
    weeks = playbooks.play_weeks(playbook, tasks)

    # The answer first: which tier's plays return the most, and what the whole plan costs.
    summaries = {g.key: playbooks.tier_summary(playbook, profiles, g.key) for g in groups}
    total = playbooks.sum_economics([s.total for s in summaries.values()])
    best = max(summaries.values(), key=lambda s: s.total.net)
    st.subheader(t(
        "playbooks_page.headline_incremental", cost=_money(total.total_cost), revenue=_money(total.incremental_revenue),
        roi=_roi(total.roi), best=segments.group_label(best.group, scheme, ctx.lang), net=_money(best.total.net),
    ))
    flagged = sum(len(s.flagged) for s in summaries.values())
    if flagged:
        st.warning(t("playbooks_page.flagged_summary", count=flagged))

    overview = playbooks.tier_table(playbook, profiles, ctx.lang, scheme=scheme)[list(OVERVIEW)]
    kinds = {"int": "count", "percent": "percent", "money": "money", "number": "number"}
    st.dataframe(
        _formatted(overview, {key: kinds[kind] for key, kind in playbooks.TIER_COLUMNS if kind and key in OVERVIEW}),
        hide_index=True, width="stretch", column_config={key: _header(key) for key in OVERVIEW},
    )
    st.caption(t("playbooks_page.overview_caption"))

    tier = st.segmented_control(
        t("playbooks_page.tier"), [g.key for g in groups], default=groups[0].key,
        format_func=lambda k: segments.group_label(k, scheme, ctx.lang), key=f"playbooks.tier.{scheme}",
    ) or groups[0].key
    group = playbook.group(tier)
    summary = summaries[tier]
    profile = summary.profile

    st.markdown(f"### {t('playbooks_page.who')}")
    if profile is None or profile.members == 0:
        st.info(t("playbooks_page.empty_tier"))
    else:
        cols = st.columns(3) + st.columns(3)  # two rows of three: every label fits at 1440 px in both languages
        change = f"{profile.member_change:+,}" if profile.member_change is not None else None
        cols[0].metric(t("playbooks_page.members"), ctx.count(profile.members),
                       **{**ui.metric_delta(change), "delta_color": "off"}, help=t("playbooks_page.change_help"))
        cols[1].metric(t("segments_page.share_customers"), formatting.pct(profile.share_customers))
        cols[2].metric(t("segments_page.share_revenue"), formatting.pct(profile.share_revenue))
        cols[3].metric(t("kpi.aov"), _money(profile.aov))
        cols[4].metric(t("playbooks_page.repeat_share"), formatting.pct(profile.repurchase_rate),
                       help=t("playbooks_page.repurchase_help"))
        cols[5].metric(t("segments_page.median_days"), formatting.count(profile.median_days_since_last_order))

        _predicted_value(dataset, settings, scheme, tier)

    # Each block is one markdown element (heading and lines): a tier switch redraws every element of the page.
    left, right = st.columns(2)
    with left:
        st.markdown(f"### {t('playbooks_page.why')}\n\n"
                    f"**{t('playbooks_page.need')}** {group.need.get(ctx.lang)}\n\n"
                    f"**{t('playbooks_page.signal')}** "
                    f"{group.signal_text(ctx.lang, settings.thresholds, settings.window_days)}")
        note = group.note_text(ctx.lang, settings.thresholds, settings.window_days)
        if note:
            st.caption(note)
    with right:
        st.markdown(f"### {t('playbooks_page.reach')}\n\n"
                    f"**{t('playbooks_page.channels')}** {', '.join(group.channel_names(ctx.lang)) or '—'}\n\n"
                    f"**{t('playbooks_page.formats')}** {', '.join(group.format_names(ctx.lang)) or '—'}")

    plays_text = []
    for result in summary.plays:
        play = result.play
        target = play.kpi_target
        span = weeks.get(tier, {}).get(play.id)
        plays_text.append(
            f"**{play.name.get(ctx.lang)}** — {play.description.get(ctx.lang)}  \n"
            f"{t('playbooks_page.kpi')}: {play.kpi.get(ctx.lang)} · {t('playbooks_page.target')}: "
            f"{target.text.get(ctx.lang) or '—'} · {t('playbooks_page.when')}: {span.text(ctx.lang) if span else '—'}"
        )
    st.markdown("\n\n".join([f"### {t('playbooks_page.what')}", *plays_text]))

    st.markdown(f"### {t('playbooks_page.money')}")
    st.caption(t("playbooks_page.money_intro"))
    problems: list[str] = []
    assumed = playbook.assumptions
    inputs_row = st.columns(2)
    margin = inputs_row[0].number_input(
        t("playbooks_page.margin_input"), min_value=0.0, max_value=100.0, step=1.0, format="%.1f",
        value=round(assumed.gross_margin * 100, 1), help=t("playbooks_page.margin_help"),
        key=f"playbooks.margin.{st.session_state.get('playbooks.round', 0)}",
    )
    holdout = inputs_row[1].number_input(
        t("playbooks_page.holdout_input"), min_value=0.0, max_value=90.0, step=1.0, format="%.1f",
        value=round(assumed.holdout_share * 100, 1), help=t("playbooks_page.holdout_help"),
        key=f"playbooks.holdout.{st.session_state.get('playbooks.round', 0)}",
    )
    changed = {name: value / 100 for name, value in (("gross_margin", margin), ("holdout_share", holdout))
               if abs(value / 100 - getattr(assumed, name)) > 1e-9}
    if changed:
        try:
            playbook = playbooks.update_assumptions(playbook, **changed)
        except playbooks.PlaybookError as exc:
            problems.extend(exc.messages(ctx.lang))

    inputs = pd.DataFrame([{"play": r.play.id, "name": r.play.name.get(ctx.lang),
                            **{f: getattr(r.play.calculator, f) for f in EDITABLE}} for r in summary.plays])
    # Short headers (the full field name is each column's tooltip), so the editor fits 1440 px in both languages.
    short = {f: {"label": t(f"playbooks_page.short.{f}"), "help": playbooks.field_label(f, ctx.lang)} for f in EDITABLE}
    edited = st.data_editor(
        inputs, hide_index=True, width="stretch", disabled=["play", "name"],
        key=f"playbooks.editor.{scheme}.{tier}.{st.session_state.get('playbooks.round', 0)}",
        column_config={
            "play": None, "name": _play_column(),
            "response_rate": st.column_config.NumberColumn(**short["response_rate"], min_value=0.0, max_value=1.0,
                                                           step=0.005, format="percent"),
            "incentive": ui.money_column(**short["incentive"], min_value=0.0),
            "redemption_rate": st.column_config.NumberColumn(**short["redemption_rate"], min_value=0.0, max_value=1.0,
                                                             step=0.05, format="percent"),
            "points_per_responder": st.column_config.NumberColumn(**short["points_per_responder"], min_value=0.0),
            "contact_cost": ui.money_column(**short["contact_cost"], decimals=2, min_value=0.0),
            "aov_multiplier": st.column_config.NumberColumn(**short["aov_multiplier"], min_value=0.0, step=0.05,
                                                            format="%.2f×"),
        },
    )
    for _, row in edited.iterrows():
        original = group.play(row["play"]).calculator
        changes = {f: float(row[f]) for f in EDITABLE if float(row[f]) != float(getattr(original, f))}
        if changes:
            try:
                playbook = playbooks.update_play(playbook, tier, row["play"], **changes)
            except playbooks.PlaybookError as exc:
                problems.extend(exc.messages(ctx.lang))
    for problem in problems:
        st.error(problem)
    summary = playbooks.tier_summary(playbook, profiles, tier)

    # The baseline every play of this tier must beat, measured on the tier's own history.
    if profile is not None and profile.members_4_weeks_ago:
        st.caption(t("playbooks_page.baseline_caption", members=ctx.count(profile.members_4_weeks_ago),
                     compare=str(profile.compare_as_of), buyers=ctx.count(profile.baseline_buyers),
                     rate=formatting.pct(profile.baseline_rate), days=playbooks.BASELINE_DAYS,
                     aov=_money(profile.aov)))
    elif profile is not None and profile.members:
        st.caption(t("playbooks_page.baseline_unknown", days=playbooks.BASELINE_DAYS))

    st.markdown(f"**{t('playbooks_page.assumptions_title')}**")
    # Who each play reaches (its audience, of whom the holdout is not contacted) and what it assumes; the
    # contact cost is in the editor above and the holdout share in its input, so neither is repeated here.
    assumptions = pd.DataFrame([{
        "name": r.play.name.get(ctx.lang), "audience": r.audience, "held_out": r.economics.held_out,
        "baseline_rate": r.economics.baseline_rate, "response_rate": r.economics.response_rate,
        "lift": r.economics.lift, "gross_margin": r.economics.gross_margin,
    } for r in summary.plays])
    st.dataframe(
        _formatted(assumptions, {"audience": "count", "held_out": "count", "baseline_rate": "percent",
                                 "response_rate": "percent", "lift": "points", "gross_margin": "percent"}),
        hide_index=True, width="stretch",
        column_config={"name": _play_column(), "audience": t("playbooks_page.audience"),
                       **{k: _header(k) for k in assumptions.columns if k not in ("name", "audience")}},
    )

    st.markdown(f"**{t('playbooks_page.results_title')}**")
    results = pd.DataFrame([{  # a play to check before use is marked ⚠ (the warnings below say why)
        "name": ("⚠ " if r.economics.flags or r.play.id in summary.over_cap else "") + r.play.name.get(ctx.lang),
        "incremental_buyers": r.economics.incremental_responders, "revenue": r.economics.incremental_revenue,
        "profit": r.economics.incremental_profit, "cost": r.economics.total_cost, "net": r.economics.net,
        "roi": r.economics.roi, "gross_revenue": r.economics.gross_revenue, "cost_per": r.economics.cost_per_responder,
    } for r in summary.plays])
    st.dataframe(
        _formatted(results, {"incremental_buyers": "count", "revenue": "money",
                             "profit": "money", "cost": "money", "net": "money", "roi": playbooks.ROI_FORMAT_KIND,
                             "gross_revenue": "money", "cost_per": "money"}),
        hide_index=True, width="stretch",
        column_config={
            "name": _play_column(),
            **{key: st.column_config.Column(t(f"playbooks_page.short.{key}"), help=t(f"playbooks_page.{key}"))
               for key in ("incremental_buyers", "revenue", "profit", "gross_revenue", "cost_per")},
            "cost": t("playbooks_page.cost"), "net": t("playbooks_page.net"),
            "roi": st.column_config.Column(t("playbooks_page.short.roi"), help=t("playbooks_page.roi")),
        },
    )
    for r in summary.plays:
        if r.economics.flags:
            st.warning(t("playbooks_page.flag_line", play=r.play.name.get(ctx.lang),
                         reasons=" ".join(playbooks.flag_reasons(r.economics, ctx.lang))))
    st.caption(t("playbooks_page.bounds_caption", roi=formatting.pct(playbooks.PLAUSIBLE.max_roi, decimals=0),
                 lift=formatting.points(playbooks.PLAUSIBLE.max_lift, ctx.lang, decimals=0).lstrip("+")))

    tot = summary.total
    cols = st.columns(4)
    cols[0].metric(t("playbooks_page.tier_revenue"), _money(tot.incremental_revenue))
    cols[1].metric(t("playbooks_page.tier_cost"), _money(tot.total_cost))
    cols[2].metric(t("playbooks_page.roi"), _roi(tot.roi), help=t("playbooks.formula.roi"))
    cols[3].metric(t("playbooks_page.cost_per"), _money(tot.cost_per_responder))
    if playbook.assumptions.holdout_share > 0:
        st.caption(t("playbooks_page.holdout_caption", share=formatting.pct(playbook.assumptions.holdout_share),
                     held=ctx.count(tot.held_out), days=playbooks.BASELINE_DAYS))
    else:
        st.caption(t("playbooks_page.no_holdout_caption"))
    if summary.cost_cap is not None:
        st.info(t("playbooks_page.recall_rule", normal=_money(summary.normal_recall_cost), cap=_money(summary.cost_cap)))
        if summary.over_cap:
            st.warning(t("playbooks_page.over_cap_warning", count=len(summary.over_cap)))

    st.session_state[f"playbooks.working.{dataset.dataset_id}"] = playbook
    buttons = st.columns(3)
    if buttons[0].button(t("playbooks_page.save"), type="primary", disabled=bool(problems), key="playbooks.save"):
        playbooks.save_playbook(ctx.ws, dataset.dataset_id, playbook)
        st.toast(t("playbooks_page.saved"))
    if buttons[1].button(t("playbooks_page.reset"), key="playbooks.reset"):
        st.session_state[f"playbooks.working.{dataset.dataset_id}"] = playbooks.reset_playbook(
            ctx.ws, dataset.dataset_id)
        st.session_state["playbooks.round"] = st.session_state.get("playbooks.round", 0) + 1
        st.rerun()
    with buttons[2]:
        ui.download(
            t("playbooks_page.export"), key="playbooks.export", icon=":material/table:",
            build=lambda: playbooks.playbook_workbook(ctx.ws, dataset.dataset_id, ctx.lang, settings, scheme=scheme,
                                                      playbook=playbook, tasks=tasks, dataset_name=dataset.name),
            file_name=f"playbook_{dataset.name}_{scheme}.xlsx".replace(" ", "_"),
            signature=(dataset.cache_key, repr(playbook.to_dict()), ctx.lang, scheme),
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    st.caption(t("playbooks_page.when_source_plan") if tasks else t("playbooks_page.when_source_default"))
