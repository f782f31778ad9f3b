"""Channel files with a total outcome (Robyn-, Meridian-shaped, Chinese headers) and the marketing-mix model on them."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import ROBYN_PATH, require
from lib import channels, importing
from lib.cli import main
from lib.workspace import Workspace


def test_robyn_file_imports_its_revenue_and_controls(ws) -> None:
    data = require(ROBYN_PATH).read_bytes()
    raw = importing.read_table(data, ROBYN_PATH.name)
    mapping = importing.suggest_mapping(raw.columns, "channels")
    assert (mapping["outcome"], mapping["outcome_kind"]) == ("revenue", "revenue")
    assert mapping["controls"] == ["competitor_sales_B", "events", "newsletter"]
    report = importing.import_file(ws, data, ROBYN_PATH.name, "channels", "robyn")
    assert report.stats["ignored_columns"] == [] and report.stats["outcome_weeks"] == 208
    rows = dict(ws.query_rows("SELECT name, count(*) FROM weekly_outcome GROUP BY name"))
    assert rows == {"revenue": 208, "competitor_sales_B": 208, "events": 208, "newsletter": 208}
    events = ws.query_rows("SELECT sum(value) FROM weekly_outcome WHERE name = 'events'")[0][0]
    assert events == 2  # "na" → 0; the two named events → 1
    # Appending the same weeks again is refused, and the stored outcome is untouched.
    with pytest.raises(importing.ImportFailed):
        importing.import_file(ws, data, ROBYN_PATH.name, "channels", "robyn", mode="append")
    assert ws.query_rows("SELECT count(*) FROM weekly_outcome WHERE name = 'revenue'")[0][0] == 208
    importing.import_file(ws, data, ROBYN_PATH.name, "channels", "robyn", mode="replace")
    assert ws.query_rows("SELECT count(*) FROM weekly_outcome")[0][0] == 4 * 208


def test_cli_channels_on_the_robyn_file(tmp_path, capsys) -> None:
    path = require(ROBYN_PATH)
    db = str(tmp_path / "robyn.duckdb")
    assert main(["import-channels", str(path), "--dataset", "robyn", "--db", db]) == 0
    capsys.readouterr()
    assert main(["channels", "--dataset", "robyn", "--json", "--n-boot", "60", "--db", db]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["outcome"] == "imported" and out["outcome_kind"] == "revenue" and out["weeks"] == 208
    assert out["fit"]["r2"] > 0.85 and out["fit"]["seconds"] < 30
    names = {row["channel"] for row in out["channels"]}
    assert names == {"tv", "ooh", "print", "facebook", "search"}
    for row in out["channels"]:
        assert row["contribution_low"] <= row["contribution"] <= row["contribution_high"]
        assert row["contribution"] >= 0 and row["roi_low"] <= row["roi"] <= row["roi_high"]
        assert row["roi"] == pytest.approx(row["contribution"] / row["spend"])
    ws = Workspace(db)
    try:
        revenue = ws.query_rows("SELECT sum(value) FROM weekly_outcome WHERE role = 'outcome'")[0][0]
    finally:
        ws.close()
    fitted = out["baseline"]["contribution"] + sum(r["contribution"] for r in out["channels"])
    assert fitted == pytest.approx(revenue, rel=0.05)  # paid + baseline add up to the outcome


def _meridian_csv(seed: int = 3) -> bytes:
    data, _truth = channels.simulate_weekly_data(seed, n_weeks=104, n_channels=3)
    frame = pd.DataFrame({"time": [w.date().isoformat() for w in data.weeks]})
    frame["conversions"] = np.round(data.outcome / 50.0, 1)
    frame["revenue_per_conversion"] = 50.0
    for i, channel in enumerate(data.spend.columns):
        frame[f"Channel{i}_impression"] = np.round(data.spend[channel].to_numpy() * 120)
        frame[f"Channel{i}_spend"] = data.spend[channel].to_numpy()
    frame["Organic_channel0_impression"] = np.arange(len(frame)) % 7
    frame["competitor_sales_control"] = np.linspace(1, 2, len(frame))
    frame["sentiment_score_control"] = np.sin(np.arange(len(frame)))
    frame["Promo"] = (np.arange(len(frame)) % 13 == 0).astype(int)
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue().encode()


def test_meridian_shaped_file_is_accepted_and_modelled_in_conversions(ws) -> None:
    data = _meridian_csv()
    raw = importing.read_table(data, "national.csv")
    mapping = importing.suggest_mapping(raw.columns, "channels")
    assert mapping["period"] == "time" and mapping["layout"] == "wide"
    assert (mapping["outcome"], mapping["outcome_kind"]) == ("conversions", "conversions")
    assert set(mapping["controls"]) == {"Organic_channel0_impression", "competitor_sales_control",
                                        "sentiment_score_control", "Promo"}
    report = importing.import_file(ws, data, "national.csv", "channels", "national")
    assert report.stats["channels"] == ["Channel0", "Channel1", "Channel2"]
    model = channels.fit(ws, ws.get_dataset("national").dataset_id, n_boot=40)
    summary = model.fit.summary()
    assert model.input.data.outcome_kind == "conversions" and summary["roi"].isna().all()
    assert (summary["cpa"] > 0).all() and model.input.data.controls.shape[1] == 4
    decomposition = model.fit.decomposition
    names = list(model.input.data.spend.columns)
    assert np.allclose(decomposition["baseline"] + decomposition[names].sum(axis=1), decomposition["fitted"])


def test_a_spend_only_file_borrows_the_outcome_from_the_orders(sample_workspace_file, tmp_path) -> None:
    db = tmp_path / "sample.duckdb"
    shutil.copyfile(sample_workspace_file, db)
    ws = Workspace(db)
    try:
        ds = ws.get_dataset("Sample store").dataset_id
        assert channels.available_sources(ws, ds) == ["net_sales", "new_customers"]
        model = channels.fit(ws, ds, n_boot=30)
        assert model.input.source == "net_sales" and model.input.data.outcome_kind == "revenue"
        weekly = ws.query_df(
            """SELECT CAST(date_trunc('week', order_ts) AS DATE) AS week, sum(amount) AS gross
               FROM orders WHERE dataset_id = $ds AND NOT is_refund GROUP BY ALL ORDER BY week""", {"ds": ds})
        assert model.input.data.outcome.sum() < weekly["gross"].sum()  # net of cancellations, not gross
        new = channels.fit(ws, ds, "new_customers", n_boot=30)
        assert new.input.data.outcome_kind == "new_customers" and new.fit.summary()["cpa"].notna().all()
        assert channels.coverage_note(ws, ds) is None
    finally:
        ws.close()


def test_channels_page_fits_the_model_on_request(app_env) -> None:
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT
    from lib.i18n import t

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/channels.py").run()
    assert not at.exception
    at.session_state["channels.tab"] = t("mmm_page.tab")  # the tabs are lazy: open the model's
    at.run()
    at.button(key="channels.mmm_fit.net_sales").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(m.label == t("mmm_page.r2") for m in at.metric)
    table = next(df.value for df in at.dataframe if t("mmm_page.col.contribution") in df.value.columns)
    assert len(table) == 9  # the sample store's nine channels
    split = next(df.value for df in at.dataframe if t("mmm_page.opt_spend") in df.value.columns)
    spent = split[t("mmm_page.opt_spend")].str.replace("¥", "").str.replace(",", "").astype(float).sum()
    budget = at.number_input(key="channels.mmm_budget.net_sales").value
    assert spent == pytest.approx(budget, rel=0.01)  # the optimised split spends the budget
    assert any(c.value.startswith(t("mmm_page.opt_result", p10="", p50="", p90="")[:12]) for c in at.caption)
    specs = [element.proto.spec for element in at.get("vega_lite_chart")]
    assert any('"p90"' in spec and '"strokeDash"' in spec for spec in specs), "the response curve with its band"


def test_data_page_shows_and_imports_the_total_outcome(app_env) -> None:
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT
    from lib.i18n import t

    data = require(ROBYN_PATH).read_bytes()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/data.py").run()
    at.file_uploader[1].set_value(("robyn.csv", data, "text/csv")).run()
    assert not at.exception
    outcome = next(s for s in at.selectbox if s.label == t("field.outcome"))
    assert outcome.value == "revenue"
    controls = next(m for m in at.multiselect if m.label == t("field.controls"))
    assert controls.value == ["competitor_sales_B", "events", "newsletter"]
    at.button(key="data.check.channels").click().run()
    assert not at.exception and not at.error
    assert any(c.value.startswith(t("data.report_outcome", outcome="revenue", kind="x", weeks="x",
                                    controls="x").split("revenue")[0]) for c in at.caption)
    at.button(key="data.confirm.channels").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    ws = Workspace(app_env)
    try:
        assert ws.query_rows("SELECT count(*) FROM weekly_outcome WHERE role = 'outcome'")[0][0] == 208
    finally:
        ws.close()


def test_a_long_file_with_a_total_repeated_on_every_channel_row(ws) -> None:
    rows = ["week,channel,spend,revenue,total_revenue,promo"]
    for w in range(40):
        for i, channel in enumerate(("douyin", "tmall")):
            rows.append(f"2024-W{w + 1:02d},{channel},{100 + 7 * w + 50 * i},{300 + w},{5000 + 25 * w},{int(w % 4 == 0)}")
    data = ("\n".join(rows) + "\n").encode()
    raw = importing.read_table(data, "long.csv")
    mapping = importing.suggest_mapping(raw.columns, "channels")
    assert mapping["layout"] == "long" and mapping["revenue"] == "revenue"  # the channel's own revenue
    assert (mapping["outcome"], mapping["controls"]) == ("total_revenue", ["promo"])
    report = importing.import_file(ws, data, "long.csv", "channels", "long")
    outcome = ws.query_df("SELECT period_start, value FROM weekly_outcome WHERE role = 'outcome' ORDER BY 1")
    assert len(outcome) == 40 and outcome["value"].iloc[0] == 5000  # once per week, not once per channel row
    assert report.stats["outcome_weeks"] == 40


def test_the_quarter_split_on_the_curves_beats_todays_split_and_prices_a_target(sample_workspace_file, tmp_path) -> None:
    """The Channels page's optimiser tab, through the functions the page caches with ``ui.cached``."""
    from lib.channels import optimizer

    db = tmp_path / "sample.duckdb"
    shutil.copyfile(sample_workspace_file, db)
    ws = Workspace(db)
    try:
        ds = ws.get_dataset("Sample store").dataset_id
        fits = channels.fit_channel_curves(ws, ds, "new_customers")
        usable = channels.apply_overrides(ws, ds, channels.usable_curves(fits), "new_customers")
        assert usable, "the sample store has channels with enough history"
        stretched, historical = channels.quarter_curves(ws, ds, usable)
        recent = channels.recent_weekly_spend(ws, ds)
        assert historical == pytest.approx({c: recent.get(c, 0.0) * 13 for c in usable})
        total = sum(historical.values())
        split = channels.optimise_quarter(ws, ds, usable, "new_customers", total, 0.5, 2.0)
        assert split.best.total_spend == pytest.approx(total, rel=1e-6)
        assert split.best.total_response >= split.now.total_response * (1 - 1e-9), "never worse than today's split"
        assert split.now.total_spend == pytest.approx(total, rel=1e-9)
        assert len(split.next_step) and split.next_step["extra_response"].is_monotonic_decreasing
        first = next(iter(usable))
        locked = channels.optimise_quarter(ws, ds, usable, "new_customers", total, 0.5, 2.0, (first,))
        kept = dict(zip(locked.best.channels, locked.best.spend))[first]
        assert kept == pytest.approx(historical[first], rel=1e-6), "a locked channel keeps last quarter's spend"
        # today's response costs at most today's budget once the split is optimal
        needed = channels.min_quarter_budget(ws, ds, usable, "new_customers", split.now.total_response, 0.5, 2.0)
        assert needed.total_response >= split.now.total_response * (1 - 1e-6)
        assert needed.total_spend <= total * (1 + 1e-6)
        with pytest.raises(optimizer.InfeasibleBudget):
            channels.optimise_quarter(ws, ds, usable, "new_customers", total * 10, 0.5, 2.0)
    finally:
        ws.close()
