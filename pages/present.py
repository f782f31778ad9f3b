"""Presentation mode: the quarter's story for a review meeting — one idea per view, large numbers, no editing."""

import streamlit as st

from lib import review, ui

ctx = ui.bootstrap("nav.present", presentation=True)
t = ctx.t


def _go(index: int) -> None:
    st.session_state["present.view"] = index
    st.query_params["view"] = str(index + 1)


with ui.friendly_errors(ctx):
    dataset = ui.require_orders(ctx)
    scenario = st.query_params.get("scenario") or None
    plan = st.query_params.get("plan") or None
    with st.spinner(t("present.loading")):
        facts = ui.cached(review.gather_facts, dataset, scenario=scenario, plan=plan)
        views = review.story(ctx.ws, dataset.dataset_id, ctx.lang, facts=facts)
    count = len(views)
    try:
        wanted = int(st.query_params.get("view", st.session_state.get("present.view", 0) + 1)) - 1
    except ValueError:
        wanted = 0
    index = min(max(wanted, 0), count - 1)
    st.session_state["present.view"] = index
    view = views[index]

    nav = st.columns([1, 1, 6, 2])
    nav[0].button(t("present.previous"), disabled=index == 0, on_click=_go, args=(index - 1,),
                  key="present.prev", icon=":material/arrow_back:")
    nav[1].button(t("present.next"), disabled=index == count - 1, on_click=_go, args=(index + 1,),
                  key="present.next", icon=":material/arrow_forward:", type="primary")
    nav[2].caption(t("present.position", index=index + 1, count=count, title=view.title))
    with nav[3]:
        ui.exit_presentation_link(ctx)

    st.title(view.title)
    st.markdown(f"## {view.headline}")
    if view.notice:
        st.info(view.notice)
    if view.numbers:
        for column, number in zip(st.columns(len(view.numbers)), view.numbers):
            column.metric(number.label, number.value, help=number.detail or None, border=True)
    if view.recipe is not None:  # the pages' one chart path, at the pack's projector font sizes
        ui.chart(view.recipe.build, *view.recipe.args, style=review.projector_spec, **view.recipe.kwargs)
    with ui.lazy_expander(view.table.title, key="present.table") as table:
        if table.open:
            st.dataframe(view.table.frame, hide_index=True, width="stretch")
    with ui.lazy_expander(t("present.notes"), key="present.notes") as notes:
        if notes.open:
            st.text(view.notes)

    st.divider()
    with st.expander(t("present.pick.title"), icon=":material/tune:"):
        ui.story_picker(ctx, dataset)  # writes ?scenario= / ?plan=, which the story above reads on the rerun
    pack_cols = st.columns(2)
    stem = review.pack_file_stem(dataset.name, ctx.lang)
    signature = (dataset.cache_key, ctx.lang, scenario, plan)
    with pack_cols[0]:
        ui.download(
            t("present.download_deck"), key="present.deck", icon=":material/slideshow:", signature=signature,
            build=lambda: review.review_deck(ctx.ws, dataset.dataset_id, ctx.lang, scenario=scenario, plan=plan),
            file_name=f"{stem}.pptx",
            mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        )
    with pack_cols[1]:
        ui.download(
            t("present.download_workbook"), key="present.workbook", icon=":material/table:", signature=signature,
            build=lambda: review.review_workbook(ctx.ws, dataset.dataset_id, ctx.lang, scenario=scenario,
                                                      plan=plan),
            file_name=f"{stem}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
