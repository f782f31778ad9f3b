"""Data: bring order and channel files into the workspace, check them, and manage datasets."""

from pathlib import Path

import pandas as pd
import streamlit as st

from lib import exports, formatting, importing, scenarios, ui
from lib.importing import attributes as customer_attributes
from lib.importing import inplace
from lib.i18n import Translator
from lib.importing import load_sample_store
from lib.importing.sample_store import SAMPLE_DATASET_NAME

ctx = ui.bootstrap("nav.data")
t = ctx.t
NOT_MAPPED = ""


def _flash() -> None:
    message = st.session_state.pop("data.flash", None)
    if message:
        st.success(message, icon=":material/check_circle:")


_STAGES = ("reading", "parsing", "aggregating", "validated", "writing", "done")


def _progress_bar(large: bool):
    """A progress bar that moves through reading → parsing → writing → done (None for small files).

    Returns the bar (to clear once the step is over) and the callback lib.importing reports to.
    """
    if not large:
        return None, None
    bar = st.progress(0.0, text=t("data.progress.reading"))

    def report(fraction: float, stage: str) -> None:
        label = t(f"data.progress.{stage}") if stage in _STAGES else t("data.progress.reading")
        bar.progress(min(1.0, max(0.0, fraction)), text=label)

    return bar, report


def _read_upload(kind: str, uploaded) -> importing.RawTable | None:
    """Read the upload once per file and keep it private to this browser session.

    Orders are kept on disk and only their first rows read here (preview and mapping):
    the whole file is read by DuckDB when it is checked.
    """
    data = uploaded.getvalue()
    digest = ui.file_digest(data)
    staged = st.session_state.get(f"data.staged.{kind}")
    if staged and staged["digest"] == digest:
        return staged["raw"]
    st.session_state.pop(f"data.report.{kind}", None)
    bar, progress = _progress_bar(len(data) > importing.limits.PROGRESS_THRESHOLD_BYTES)
    if kind == "orders":
        upload = importing.stage_upload(data, uploaded.name, progress)
        raw = upload.raw
    else:
        upload, raw = None, importing.read_table(data, uploaded.name, progress)
    if bar is not None:
        bar.empty()  # read: the bar has done its job
    st.session_state[f"data.staged.{kind}"] = {"digest": digest, "raw": raw, "upload": upload}
    return raw


def _field_label(kind: str, field: str, mapping: dict) -> str:
    """The field's name, starred when an import needs it (amount is not, once quantity × unit price is mapped)."""
    required = field in importing.missing_required({"layout": mapping.get("layout")}, kind)
    if kind == "orders" and field == "amount" and mapping.get("quantity") and mapping.get("unit_price"):
        required = False
    return t(f"field.{field}") + (" *" if required else "")


def _mapping_editor(kind: str, raw: importing.RawTable) -> dict:
    key = f"data.mapping.{kind}.{raw.source_key}"
    if key not in st.session_state:
        saved = ctx.ws.get_mapping(raw.source_key, kind)
        st.session_state[key] = saved or importing.suggest_mapping(raw.columns, kind)
        st.session_state[f"{key}.saved"] = bool(saved)
    mapping = dict(st.session_state[key])
    st.markdown(f"**{t('data.mapping')}**")
    st.caption(t("data.mapping_saved") if st.session_state.get(f"{key}.saved") else t("data.mapping_suggested"))
    options = [NOT_MAPPED, *raw.columns]
    fields = importing.ORDER_FIELDS if kind == "orders" else importing.CHANNEL_FIELDS
    if kind == "channels":
        layout = st.radio(
            t("data.layout"), ["long", "wide"], format_func=lambda v: t(f"data.layout.{v}"),
            index=0 if mapping.get("layout", "long") == "long" else 1, horizontal=True, key=f"{key}.layout",
        )
        mapping["layout"] = layout
        if layout == "wide":
            fields = ("period",)
    columns = st.columns(4)
    for index, field in enumerate(fields):
        current = mapping.get(field) or NOT_MAPPED
        with columns[index % 4]:
            choice = st.selectbox(
                _field_label(kind, field, mapping), options, index=options.index(current) if current in options else 0,
                format_func=lambda c: t("data.not_mapped") if c == NOT_MAPPED else c,
                key=f"{key}.{field}", help=t(f"field.{field}.help"),
            )
        if choice:
            mapping[field] = choice
        else:
            mapping.pop(field, None)
    if kind == "channels" and mapping.get("layout") == "wide":
        detected = mapping.get("wide_columns") or importing.detect_wide_columns(raw.columns)
        table = pd.DataFrame(
            [{"column": c, "channel": v[0], "measure": v[1]} for c, v in detected.items()],
            columns=["column", "channel", "measure"],
        )
        st.caption(t("data.wide_help"))
        edited = st.data_editor(
            table, num_rows="dynamic", key=f"{key}.wide", hide_index=True, width="stretch",
            column_config={
                "column": st.column_config.SelectboxColumn(t("data.wide.column"), options=raw.columns, required=True),
                "channel": st.column_config.TextColumn(t("data.wide.channel"), required=True),
                "measure": st.column_config.SelectboxColumn(
                    t("data.wide.measure"), options=list(importing.CHANNEL_MEASURES), required=True
                ),
            },
        )
        mapping["wide_columns"] = {
            str(r["column"]): [str(r["channel"]).strip(), str(r["measure"])]
            for _, r in edited.dropna().iterrows() if str(r["channel"]).strip()
        }
        _outcome_editor(key, mapping, [c for c in raw.columns if c not in mapping["wide_columns"]])
    else:
        mapping.pop("wide_columns", None)
        if kind == "channels":
            taken = {v for f, v in mapping.items() if f in importing.CHANNEL_FIELDS and isinstance(v, str)}
            _outcome_editor(key, mapping, [c for c in raw.columns if c not in taken])
    if kind == "orders" and mapping.get("customer_id"):
        kept = customer_attributes.attribute_columns(raw.columns, mapping)
        if kept:
            st.caption(t("attributes.kept", columns=", ".join(kept)), help=t("attributes.kept.help"))
    st.session_state[key] = mapping
    return mapping


def _outcome_editor(key: str, mapping: dict, columns: list[str]) -> None:
    """A wide channel file's total outcome (and its kind) and controls: what a marketing-mix model explains."""
    options = [NOT_MAPPED, *columns]
    cols = st.columns([2, 2, 4])
    current = mapping.get("outcome") if mapping.get("outcome") in columns else NOT_MAPPED
    outcome = cols[0].selectbox(
        t("field.outcome"), options, index=options.index(current),
        format_func=lambda c: t("data.not_mapped") if c == NOT_MAPPED else c, key=f"{key}.outcome",
        help=t("field.outcome.help"),
    )
    kinds = list(importing.OUTCOME_KINDS)
    kind = cols[1].selectbox(
        t("field.outcome_kind"), kinds, index=kinds.index(mapping.get("outcome_kind", "revenue")),
        format_func=lambda k: t(f"field.outcome_kind.{k}"), key=f"{key}.outcome_kind", disabled=not outcome,
    )
    controls = cols[2].multiselect(
        t("field.controls"), [c for c in columns if c != outcome],
        default=[c for c in mapping.get("controls") or [] if c in columns and c != outcome],
        key=f"{key}.controls", help=t("field.controls.help"), placeholder=t("data.not_mapped"),
    )
    if outcome:
        mapping["outcome"], mapping["outcome_kind"] = outcome, kind
    else:
        mapping.pop("outcome", None)
        mapping.pop("outcome_kind", None)
    if controls:
        mapping["controls"] = controls
    else:
        mapping.pop("controls", None)


def _show_report(report: importing.ImportReport) -> None:
    cols = st.columns(4)
    cols[0].metric(t("data.rows_read"), ctx.count(report.rows_read))
    cols[1].metric(t("data.rows_accepted"), ctx.count(report.rows_accepted))
    cols[2].metric(t("data.rows_rejected"), ctx.count(report.rows_rejected))
    s = report.stats
    if report.kind == "orders":
        cols[3].metric(t("data.orders_found"), ctx.count(s["counted_orders"]))
        st.markdown(t(
            "data.report_orders", orders=ctx.count(s["counted_orders"]),
            cancelled=ctx.count(s["cancelled_orders"]), zero=ctx.count(s["zero_amount"]),
            refunds=ctx.count(s["refunds"]), unmatched=ctx.count(s["unmatched_refunds"]),
            guests=ctx.count(s["guest_orders"]), customers=ctx.count(s["customers"]),
            gmv=ctx.money(s["gmv"]), net=ctx.money(s["net_sales"]), first=s["first_date"], last=s["last_date"],
        ))
        if s["line_level"]:
            st.caption(t("data.line_level", lines=ctx.count(s["lines"]), orders=ctx.count(s["orders"])))
    else:
        cols[3].metric(t("data.channels_found"), len(s["channels"]))
        st.markdown(t(
            "data.report_channels", rows=ctx.count(s["rows"]), channels=", ".join(s["channels"][:12]),
            grain=t(f"data.grain.{s['grain']}"), spend=ctx.money(s["spend"]), first=s["first_date"],
            last=s["last_date"],
        ))
        if s.get("outcome"):
            st.caption(t("data.report_outcome", outcome=s["outcome"], weeks=ctx.count(s["outcome_weeks"]),
                         kind=t(f"field.outcome_kind.{s['outcome_kind']}"),
                         controls=", ".join(s["controls"]) or "—"))
    kept = s.get("attribute_columns") or []
    if kept and report.attributes is not None:
        st.caption(t("attributes.report", columns=", ".join(kept), customers=ctx.count(report.attributes.customers)))
    ignored = [c for c in s.get("ignored_columns") or [] if c not in kept]
    if ignored:
        st.caption(t("data.ignored", columns=", ".join(ignored[:20])))
    if report.rows_rejected:
        with st.expander(t("data.rejected_rows", count=report.rows_rejected), expanded=not report.can_commit):
            shown = report.rejected.head(500).copy()
            shown["reason"] = [t(f"reason.{r.split(':')[0]}") for r in shown["reason"]]
            st.dataframe(shown, hide_index=True, width="stretch")
            full = report.rejected.copy()
            full["reason"] = [t(f"reason.{r.split(':')[0]}") + (r[r.find(':'):] if ':' in r else "") for r in full["reason"]]
            st.download_button(
                t("data.download_rejected"), data=exports.csv_bytes(full),
                file_name=f"{Path(report.file_name).stem}_rejected.csv", mime="text/csv",
                key=f"data.rejected_dl.{report.kind}", on_click="ignore",
            )


def _import_panel(kind: str) -> None:
    uploaded = st.file_uploader(
        t(f"data.upload.{kind}"), type=["csv", "txt", "tsv", "gz", "xlsx", "parquet"],
        key=f"data.upload.{kind}.{st.session_state.get(f'data.upload_round.{kind}', 0)}",
        help=t(f"data.upload.{kind}.help"),
    )
    if uploaded is None:
        st.session_state.pop(f"data.staged.{kind}", None)
        st.session_state.pop(f"data.report.{kind}", None)
        st.caption(t(f"data.formats.{kind}"))
        return
    raw = _read_upload(kind, uploaded)
    if raw is None:
        return
    upload = st.session_state[f"data.staged.{kind}"].get("upload")
    _file_summary(raw, upload)
    mapping = _mapping_editor(kind, raw)
    missing = importing.missing_required(mapping, kind)
    if missing:
        st.warning(t("data.map_required", fields=", ".join(t(f"field.{f}") for f in missing)))
        return
    chosen = _target_and_mode(kind, uploaded.name)
    if chosen is None:
        return
    target, name, mode = chosen
    currency = _currency_choice(kind, raw, mapping, None if target == "__new__" else target)
    report = _checked_report(kind, raw, upload, mapping, name, mode)
    if report is None:
        return
    _show_report(report)
    if not report.can_commit:
        st.error(t("data.nothing_valid"))
        return
    _confirm_import(kind, report, target, name, mode, currency)


def _file_summary(raw: importing.RawTable, upload: importing.Upload | None) -> None:
    """What was read: rows (of the sample, for a big upload), columns, format, encoding, sheet; and a preview."""
    details = t(
        "data.file_summary.sample" if upload is not None and upload.sampled else "data.file_summary",
        rows=ctx.count(len(raw.frame)), columns=len(raw.columns),
        format=raw.file_format.upper(), encoding=raw.encoding or "—",
    )
    if raw.sheet:
        details += " · " + t("data.sheet", sheet=raw.sheet)
    st.caption(details)
    with st.expander(t("data.preview"), expanded=False):
        st.dataframe(raw.frame.head(20), hide_index=True, width="stretch")


def _target_and_mode(kind: str, file_name: str) -> tuple[str, str, importing.Mode] | None:
    """The dataset the file goes into (``__new__`` or a name), its name, and replace or append; None when refused."""
    names = [d.name for d in ctx.datasets]
    target_col, mode_col = st.columns(2)
    with target_col:
        default_new = Path(file_name).name.split(".")[0][:60]
        choices = ["__new__", *names]
        active = ctx.dataset.name if ctx.dataset else "__new__"
        target = st.selectbox(
            t("data.target"), choices, index=choices.index(active) if kind == "channels" and active in choices else 0,
            format_func=lambda n: t("data.new_dataset") if n == "__new__" else n, key=f"data.target.{kind}",
        )
        if target == "__new__":
            name = st.text_input(t("data.new_name"), value=default_new, key=f"data.new_name.{kind}", max_chars=80)
        else:
            name = target
    with mode_col:
        mode: importing.Mode
        if target == "__new__":
            mode = "replace"
            st.caption(t("data.mode_new"))
        else:
            mode = st.radio(
                t("data.mode"), ["append", "replace"], format_func=lambda m: t(f"data.mode.{m}"),
                key=f"data.mode.{kind}", help=t("data.mode.help"),
            )
    if target == "__new__" and name.strip() in names:
        st.warning(t("data.name_taken", name=name.strip()))
        return None
    in_place = next((d for d in ctx.datasets if d.name == name and ctx.ws.parquet_orders(d.dataset_id)), None)
    if kind == "orders" and in_place is not None:
        st.warning(t("inplace.err.import_into", name=name))
        return None
    return target, name, mode


def _checked_report(kind: str, raw: importing.RawTable, upload: importing.Upload | None, mapping: dict, name: str,
                    mode: importing.Mode) -> importing.ImportReport | None:
    """The check's report for these choices (kept while they stay the same); None until the user asks for it."""
    digest = st.session_state[f"data.staged.{kind}"]["digest"]
    signature = (digest, raw.source_key, repr(sorted(mapping.items(), key=str)), name, mode, len(raw.frame))
    report_state = st.session_state.get(f"data.report.{kind}")
    if report_state and report_state["signature"] != signature:
        report_state = None
        st.session_state.pop(f"data.report.{kind}", None)
    if st.button(t("data.check"), key=f"data.check.{kind}", type="secondary", icon=":material/fact_check:"):
        bar, progress = _progress_bar(upload is not None)
        with st.spinner(t("data.checking")):
            if upload is not None:  # orders: the whole file read by DuckDB, up to the upload's row limit
                report = importing.prepare_upload(ctx.ws, upload, mapping, name, mode=mode, progress=progress)
            else:
                report = importing.prepare(ctx.ws, raw, kind, mapping, name, mode=mode)
        if bar is not None:
            bar.empty()
        report_state = {"signature": signature, "report": report}
        st.session_state[f"data.report.{kind}"] = report_state
    if not report_state:
        st.caption(t("data.check_hint"))
        return None
    checked: importing.ImportReport = report_state["report"]
    return checked


def _confirm_import(kind: str, report: importing.ImportReport, target: str, name: str, mode: importing.Mode,
                    currency: str) -> None:
    """The confirm button: the checked rows written in one transaction, then the page shows the new dataset."""
    unit = t("data.unit.orders") if kind == "orders" else t("data.unit.rows")
    # Orders: the orders that count (the refund rows come with them), the number the Overview will show.
    count_text = ctx.count(report.stats["counted_orders"] if kind == "orders" else len(report.prepared))
    label = t("data.confirm.new" if target == "__new__" else f"data.confirm.{mode}", count=count_text, unit=unit,
              name=name)
    if not st.button(label, key=f"data.confirm.{kind}", type="primary", icon=":material/database_upload:"):
        return
    with st.status(t("data.importing"), expanded=False) as status:
        bar, progress = _progress_bar(True)
        progress(0.85, "writing")
        importing.commit_import(ctx.ws, report, name, mode=mode)
        ctx.ws.set_currency(ctx.ws.get_dataset(name).dataset_id, currency)
        progress(1.0, "done")
        imported = ctx.ws.get_dataset(name)
        if imported.orders and imported.channel_rows:
            status.update(label=t("data.fitting"))
            _fit_for_scenarios(imported)
        status.update(label=t("data.imported"), state="complete")
    for suffix in ("staged", "report"):
        st.session_state.pop(f"data.{suffix}.{kind}", None)
    st.session_state[ui.DATASET_KEY] = name
    st.query_params["dataset"] = name
    st.session_state["data.flash"] = t("data.done", count=count_text, unit=unit, name=name)
    st.session_state[f"data.upload_round.{kind}"] = st.session_state.get(f"data.upload_round.{kind}", 0) + 1
    st.rerun()


def _currency_choice(kind: str, raw: importing.RawTable, mapping: dict, target: str | None) -> str:
    """The dataset's currency: what the file's amounts are written in, else the target dataset's, else CNY."""
    amount_field = "amount" if kind == "orders" else "spend"
    column = mapping.get(amount_field)
    guessed = formatting.guess_currency(raw.frame[column].head(500).tolist()) if column in raw.frame else None
    existing = next((d.currency for d in ctx.datasets if d.name == target), None)
    default = guessed or existing or formatting.DEFAULT_CURRENCY
    codes = list(formatting.CURRENCIES)
    column, _ = st.columns(2)  # as wide as the target dataset's box above it
    return column.selectbox(t("data.currency"), codes, index=codes.index(default), key=f"data.currency.{kind}",
                            format_func=lambda c: f"{formatting.CURRENCIES[c]} {c}", help=t("data.currency.help"))


def _inplace_panel() -> None:
    """Orders read in place: a Parquet file or folder on the server becomes a dataset (lib.importing.inplace)."""
    st.caption(t("inplace.intro"))
    roots = ctx.ws.readable_roots()
    path = st.text_input(
        t("inplace.path"), key="data.inplace.path",
        help=t("inplace.path.help", roots=", ".join(roots) if roots is not None else t("inplace.any_folder")),
    ).strip()
    if not path:
        return
    try:
        resolved, columns = ctx.ws.parquet_columns(path)
    except inplace.InPlaceError as exc:
        st.error(exc.message(ctx.lang))
        return
    files = inplace.parquet_files(resolved)
    st.caption(t("inplace.columns", files=ctx.count(len(files)), columns=", ".join(columns)))
    key = f"data.inplace.mapping.{ui.file_digest(resolved.encode())}"
    if key not in st.session_state:
        st.session_state[key] = inplace.suggest_mapping(columns)
    suggested = st.session_state[key]
    st.markdown(f"**{t('inplace.mapping')}**")
    options = [NOT_MAPPED, *columns]
    mapping: dict[str, str] = {}
    grid = st.columns(4)
    for index, field in enumerate(inplace.FIELDS):
        current = suggested.get(field) or NOT_MAPPED
        with grid[index % 4]:
            choice = st.selectbox(
                t(f"field.{field}") + (" *" if field in inplace.REQUIRED else ""), options,
                index=options.index(current) if current in options else 0,
                format_func=lambda c: t("data.not_mapped") if c == NOT_MAPPED else c,
                key=f"{key}.{field}",
                help=t("inplace.is_refund.help") if field == "is_refund" else t(f"field.{field}.help"),
            )
        if choice:
            mapping[field] = choice
    name = st.text_input(t("inplace.name"), value=Path(resolved).stem[:60], key="data.inplace.name", max_chars=80)
    if st.button(t("inplace.use"), key="data.inplace.use", type="primary", icon=":material/folder_open:"):
        if not name.strip():
            st.error(t("inplace.err.no_name"))
            return
        try:
            inplace.clean_mapping(mapping, columns)
            with st.spinner(t("data.checking")):
                ctx.ws.register_parquet(name, resolved, mapping)
                dataset = ctx.ws.get_dataset(" ".join(name.split()))
        except inplace.InPlaceError as exc:
            st.error(exc.message(ctx.lang))
            return
        st.session_state[ui.DATASET_KEY] = dataset.name
        st.query_params["dataset"] = dataset.name
        st.session_state["data.flash"] = t(
            "inplace.done", name=dataset.name, files=ctx.count(len(files)), orders=ctx.count(dataset.orders),
            customers=ctx.count(dataset.customers),
        )
        st.rerun()


def _fit_for_scenarios(dataset) -> None:
    """Fit the Scenarios page's response curves now, while the import's progress is on screen.

    They depend only on the data, which just changed; fitted here (and cached on the new
    data version) the Scenarios page opens without the wait. The import is already saved:
    a fit that fails only means the Scenarios page fits, and explains, on its own.
    """
    try:
        ui.cached(scenarios.prepare, dataset)
    except scenarios.ScenarioError:
        pass  # no baseline (e.g. no channel spend yet): Scenarios explains that itself
    except Exception:  # noqa: BLE001 - the import succeeded; Scenarios reports its own problems
        ui.log_exception()


def _manage_panel(tr: Translator) -> None:
    if not ctx.datasets:
        st.info(tr("empty.no_dataset"))
    else:
        table = pd.DataFrame([
            {
                tr("data.col.name"): ui.dataset_label(d.name, ctx.datasets, tr, tagged=False),
                tr("data.col.sample"): "✓" if d.is_sample else "",
                tr("data.currency"): f"{formatting.CURRENCIES.get(d.currency, '')} {d.currency}",
                tr("data.col.orders"): d.orders,
                tr("data.col.customers"): d.customers,
                tr("data.col.first"): d.first_order,
                tr("data.col.last"): d.last_order,
                tr("data.col.channel_rows"): d.channel_rows,
                tr("data.col.periods"): f"{d.first_period} – {d.last_period}" if d.first_period else "",
            }
            for d in ctx.datasets
        ])
        st.dataframe(table, hide_index=True, width="stretch")
        names = [d.name for d in ctx.datasets]
        active = ctx.dataset.name if ctx.dataset and ctx.dataset.name in names else names[0]
        shown = lambda n: ui.dataset_label(n, ctx.datasets, tr, tagged=False)  # noqa: E731 - the sample store in the page's language
        chosen = st.selectbox(tr("data.manage_which"), names, index=names.index(active), key="data.manage_which",
                              format_func=shown)
        dataset = next(d for d in ctx.datasets if d.name == chosen)
        rename_col, delete_col = st.columns(2)
        with rename_col:
            new_name = st.text_input(tr("data.rename_to"), value=dataset.name, key=f"data.rename.{dataset.dataset_id}")
            if st.button(tr("data.rename"), key="data.rename_btn", disabled=new_name.strip() == dataset.name):
                ctx.ws.rename_dataset(dataset.dataset_id, new_name)
                if st.session_state.get(ui.DATASET_KEY) == dataset.name:
                    st.session_state[ui.DATASET_KEY] = " ".join(new_name.split())
                    st.query_params["dataset"] = st.session_state[ui.DATASET_KEY]
                st.session_state["data.flash"] = tr("data.renamed", old=dataset.name, new=new_name.strip())
                st.rerun()
        codes = list(formatting.CURRENCIES)
        currency = st.selectbox(tr("data.currency"), codes, index=codes.index(dataset.currency),
                                key=f"data.currency_of.{dataset.dataset_id}", help=tr("data.currency.help"),
                                format_func=lambda c: f"{formatting.CURRENCIES[c]} {c}")
        if currency != dataset.currency:
            ctx.ws.set_currency(dataset.dataset_id, currency)
            st.session_state["data.flash"] = tr("data.currency_set", name=dataset.name, currency=currency)
            st.rerun()
        with delete_col:
            sure = st.checkbox(tr("data.delete_confirm", name=shown(dataset.name)), key=f"data.sure.{dataset.dataset_id}")
            if st.button(tr("data.delete"), key="data.delete_btn", disabled=not sure, type="primary"):
                ctx.ws.delete_dataset(dataset.dataset_id)
                if st.session_state.get(ui.DATASET_KEY) == dataset.name:
                    st.session_state.pop(ui.DATASET_KEY, None)
                    st.query_params.pop("dataset", None)
                st.session_state["data.flash"] = tr("data.deleted", name=dataset.name)
                st.rerun()
        history = ctx.ws.import_history(dataset.dataset_id)
        if len(history):
            st.markdown(f"**{tr('data.history')}**")
            history["kind"] = [tr(f"data.kind.{k}") for k in history["kind"]]
            history["mode"] = [tr(f"data.mode.{m}") for m in history["mode"]]
            history.columns = [tr(f"data.hist.{c}") for c in history.columns]
            st.dataframe(history, hide_index=True, width="stretch")
    if SAMPLE_DATASET_NAME not in [d.name for d in ctx.datasets]:
        if st.button(tr("data.reload_sample"), key="data.reload_sample", icon=":material/science:"):
            with st.status(tr("sample.loading")) as status:
                load_sample_store(ctx.ws)
                status.update(label=tr("sample.loaded"), state="complete")
            st.rerun()


with ui.friendly_errors(ctx):
    ui.page_header(ctx, "data.title", "data.question", sample_banner=False)
    if ctx.dataset and ctx.dataset.is_sample:
        st.info(t("sample.banner_data"), icon=":material/science:")
    _flash()
    tab_orders, tab_inplace, tab_channels, tab_manage = st.tabs(
        [t("data.tab.orders"), t("data.tab.inplace"), t("data.tab.channels"), t("data.tab.manage")]
    )
    with tab_orders:
        with ui.friendly_errors(ctx):
            _import_panel("orders")
    with tab_inplace:
        with ui.friendly_errors(ctx):
            _inplace_panel()
    with tab_channels:
        with ui.friendly_errors(ctx):
            _import_panel("channels")
    with tab_manage:
        with ui.friendly_errors(ctx):
            _manage_panel(t)
    st.caption(t("data.cli_hint"))
