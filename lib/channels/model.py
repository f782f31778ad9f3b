"""The marketing-mix model of a dataset: the weekly data it needs, gathered from the workspace, then :func:`lib.channels.fitting.fit_mmm`.

Why this module exists: most teams do not have per-channel conversions, only spend per channel
and one total outcome (a Robyn- or Meridian-shaped weekly file, or simply their own orders).
:mod:`lib.channels.fitting` is pure maths on weekly arrays; this module builds those arrays from what a
dataset holds and says which outcome it used:

* ``imported`` — the total outcome a channel file brought (revenue, conversions, orders, new
  customers), with the file's controls (price, promotion, competitor, events, …);
* ``net_sales`` — the dataset's own orders: weekly net sales from the :mod:`lib.metrics` ledger;
* ``new_customers`` — the dataset's own orders: weekly first orders.

Weeks are Monday-based. The model covers the weeks from the first to the last week with both
spend and outcome; a week inside that span with no spend row is a week of zero spend, and a week
with no orders is a week of zero sales. :func:`coverage_note` says when the channel data and the
orders cover different periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import pandas as pd

from lib.channels.curves import weekly_channel_frame
from lib.channels.design import MmmData
from lib.channels.fitting import fit_mmm
from lib.channels.results import MmmFit
from lib.channels.texts import explain_warning
from lib.metrics import dataset_ledger, first_orders_sql, order_source, source_params
from lib.workspace import Workspace

OutcomeSource = Literal["imported", "net_sales", "new_customers"]
OUTCOME_SOURCES: tuple[OutcomeSource, ...] = ("imported", "net_sales", "new_customers")
_KIND_OF_SOURCE = {"net_sales": "revenue", "new_customers": "new_customers"}


class ModelDataMissing(ValueError):
    """The dataset lacks what the model needs; ``code`` is an i18n key suffix, ``params`` its values."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class ModelInput:
    """The weekly arrays of one dataset and where the outcome came from."""

    data: MmmData
    source: OutcomeSource
    outcome_name: str
    first_week: date
    last_week: date


def _weekly_imported(ws: Workspace, dataset_id: int) -> pd.DataFrame:
    return ws.query_df(
        """SELECT CAST(date_trunc('week', period_start) AS DATE) AS week, name, role, any_value(kind) AS kind,
                  sum(value) AS value
           FROM weekly_outcome WHERE dataset_id = $ds GROUP BY ALL""",
        {"ds": int(dataset_id)},
    )


def _weekly_from_orders(ws: Workspace, dataset_id: int, source: OutcomeSource) -> pd.DataFrame:
    src = order_source(ws, dataset_id)
    if source == "net_sales":
        sql = f"""SELECT CAST(date_trunc('week', order_ts) AS DATE) AS week, sum(net_amount) AS value
                  FROM ({dataset_ledger("ds", src)}) AS ledger GROUP BY ALL"""
    else:
        sql = f"""SELECT CAST(date_trunc('week', first_ts) AS DATE) AS week, count(*) AS value
                  FROM ({first_orders_sql(dataset_ledger("ds", src))}) AS firsts GROUP BY ALL"""
    return ws.query_df(sql, {"ds": int(dataset_id), **source_params("ds", src)})


def available_sources(ws: Workspace, dataset_id: int) -> list[OutcomeSource]:
    """The outcomes this dataset can be modelled on, the imported total outcome first."""
    imported = ws.query_rows(
        "SELECT count(*) FROM weekly_outcome WHERE dataset_id = $ds AND role = 'outcome'", {"ds": int(dataset_id)}
    )[0][0]
    orders = order_source(ws, dataset_id) is not None or ws.query_rows(
        "SELECT count(*) FROM orders WHERE dataset_id = $ds", {"ds": int(dataset_id)})[0][0]
    return ([s for s in OUTCOME_SOURCES[:1] if imported] + [s for s in OUTCOME_SOURCES[1:] if orders])


def _weekly_outcome(ws: Workspace, dataset_id: int,
                    source: OutcomeSource) -> tuple[pd.Series, pd.DataFrame, str, str]:
    """The weekly outcome, the imported controls (wide; empty for orders), the outcome's kind and its name."""
    if source != "imported":
        outcome = _weekly_from_orders(ws, dataset_id, source).set_index("week")["value"]
        return outcome, pd.DataFrame(), _KIND_OF_SOURCE[source], source
    rows = _weekly_imported(ws, dataset_id)
    outcome_rows = rows[rows["role"] == "outcome"]
    kind = str(outcome_rows["kind"].dropna().iloc[0]) if outcome_rows["kind"].notna().any() else "revenue"
    control_rows = rows[rows["role"] == "control"]
    controls = (control_rows.pivot_table(index="week", columns="name", values="value", aggfunc="sum")
                if len(control_rows) else pd.DataFrame())
    return outcome_rows.groupby("week")["value"].sum(), controls, kind, str(outcome_rows["name"].iloc[0])


def model_input(ws: Workspace, dataset_id: int, source: OutcomeSource | None = None) -> ModelInput:
    """The weekly outcome, spend per channel and controls of a dataset (``source`` default: the first available)."""
    # The curves' weekly calendar: Monday weeks, missing weeks as zero spend, partial edge weeks of daily data dropped.
    spend = weekly_channel_frame(ws, dataset_id)[["week", "channel", "spend"]]
    if spend.empty or float(spend["spend"].sum()) <= 0:
        raise ModelDataMissing("no_spend", "The dataset has no channel spend to model.")
    sources = available_sources(ws, dataset_id)
    if source is None:
        if not sources:
            raise ModelDataMissing("no_outcome", "The dataset has neither a total outcome nor orders.")
        source = sources[0]
    if source not in sources:
        raise ModelDataMissing("source_missing", f"This dataset has no {source} to model.", source=source)
    outcome, controls, kind, name = _weekly_outcome(ws, dataset_id, source)
    spend_wide = spend.pivot_table(index="week", columns="channel", values="spend", aggfunc="sum")
    spend_wide.index = pd.to_datetime(spend_wide.index)
    outcome.index = pd.to_datetime(outcome.index)
    if len(controls):
        controls.index = pd.to_datetime(controls.index)
    first = max(spend_wide.index.min(), outcome.index.min())
    last = min(spend_wide.index.max(), outcome.index.max())
    if last <= first:
        raise ModelDataMissing("no_overlap", "The channel data and the outcome cover different weeks.")
    weeks = pd.date_range(first, last, freq="7D")
    index = weeks
    y = outcome.reindex(index).fillna(0.0) if source != "imported" else outcome.reindex(index)
    keep = y.notna().to_numpy()
    if not keep.all():  # an imported outcome with a gap: model the longest run of consecutive weeks
        runs = (~pd.Series(keep)).cumsum()[keep]
        longest = runs.value_counts().idxmax()
        positions = runs.index[runs == longest]
        index = index[positions.min(): positions.max() + 1]
        weeks = weeks[positions.min(): positions.max() + 1]
        y = y.reindex(index)
    spend_frame = spend_wide.reindex(index).fillna(0.0)
    spend_frame = spend_frame.loc[:, spend_frame.sum() > 0]
    control_frame = controls.reindex(index).fillna(0.0) if len(controls) else None
    if control_frame is not None:
        control_frame = control_frame.loc[:, control_frame.std() > 0]
    data = MmmData(
        weeks=pd.DatetimeIndex(weeks), outcome=y.to_numpy(dtype=float), spend=spend_frame.reset_index(drop=True),
        controls=None if control_frame is None or control_frame.empty else control_frame.reset_index(drop=True),
        outcome_kind=kind,
    )
    return ModelInput(data=data, source=source, outcome_name=name, first_week=index[0].date(),
                      last_week=index[-1].date())


@dataclass(frozen=True, eq=False)
class ChannelModel:
    """A fitted marketing-mix model of a dataset, with the input it was fitted on."""

    input: ModelInput
    fit: MmmFit

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready row per channel (what ``cli channels --json`` prints)."""
        return [
            {str(k): (None if isinstance(v, float) and pd.isna(v) else v) for k, v in row.items()}
            for row in self.fit.summary().to_dict(orient="records")
        ]

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        f = self.fit
        return {
            "model": "mmm", "outcome": self.input.source, "outcome_name": self.input.outcome_name,
            "outcome_kind": self.input.data.outcome_kind,
            "first_week": self.input.first_week.isoformat(), "last_week": self.input.last_week.isoformat(),
            "weeks": len(self.input.data.weeks),
            "baseline": {"contribution": f.baseline_total, "contribution_low": f.baseline_total_low,
                         "contribution_high": f.baseline_total_high},
            "fit": {"r2": f.r2, "mape": f.mape, "nrmse": f.nrmse, "seconds": f.seconds, "n_boot": f.n_boot,
                    "interval": f.interval_method},
            "channels": self.rows(),
            "groups": [{"channels": list(g.channels), "contribution": g.contribution,
                        "contribution_low": g.contribution_low, "contribution_high": g.contribution_high,
                        "corr": g.corr} for g in f.groups],
            "warnings": [explain_warning(code, params, lang) for code, params in f.warnings],
        }


def fit(ws: Workspace, dataset_id: int, source: OutcomeSource | None = None, n_boot: int = 200,
        festivals: bool | None = None) -> ChannelModel:
    """Fit the model on the dataset's weeks (festivals default: on for orders-based outcomes, China's calendar)."""
    model_in = model_input(ws, dataset_id, source)
    use_festivals = festivals if festivals is not None else True
    return ChannelModel(model_in, fit_mmm(model_in.data, n_boot=n_boot, festivals=use_festivals))


def coverage_note(ws: Workspace, dataset_id: int) -> tuple[date, date, date, date] | None:
    """(spend first, spend last, orders first, orders last) when the channel data misses part of the orders' period."""
    src = order_source(ws, dataset_id)
    row = ws.query_rows(
        f"""SELECT (SELECT min(period_start) FROM channel_spend WHERE dataset_id = $ds),
                  (SELECT max(period_start) FROM channel_spend WHERE dataset_id = $ds),
                  (SELECT CAST(min(order_ts) AS DATE) FROM ({dataset_ledger("ds", src)}) AS o),
                  (SELECT CAST(max(order_ts) AS DATE) FROM ({dataset_ledger("ds", src)}) AS o)""",
        {"ds": int(dataset_id), **source_params("ds", src)},
    )[0]
    if any(v is None for v in row):
        return None
    spend_first, spend_last, orders_first, orders_last = row
    if spend_first - orders_first > pd.Timedelta(days=7) or orders_last - spend_last > pd.Timedelta(days=7):
        return spend_first, spend_last, orders_first, orders_last
    return None

