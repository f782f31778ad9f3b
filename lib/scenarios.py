"""Target scenarios: from "+17.5 % sales at −12.5 % CAC" to new customers, budget and a verdict.

Why it exists: the written plans set quarterly targets ("three up, one down": sales
+15–20 %, CAC −10–15 %, repurchase +5 points) without saying whether they fit together.
This module measures the baseline quarter from the orders and channel data, turns the
targets into the new customers they require (``shared/guides/budget.md`` b.7), asks the
response curves (``lib.curves``) and the optimiser (``lib.optimizer``) what budget wins
them, and says whether the CAC target holds — and when it does not, which lever
(repurchase, AOV, conversion, channel mix) closes the gap and by how much. The same
numbers feed the scenarios page, saved scenarios, the feasibility and tornado charts,
the timeline's budget line and the CLI's ``scenario --json``.

The arithmetic (b.7), with the quarter Q the latest full calendar quarter in the data:

* ``R = R_new + R_ret + R_other``; ``R_new = N·f_new·AOV_new``; ``R_ret = C·r·f_ret·AOV_ret``.
  ``R_other`` — guest orders and customers back after more than a year (in neither C
  nor N) — is measured and held at its baseline order volume, so the parts add up to
  the GMV (guide idea 14: be explicit about the baseline).
* ``R* = (1+g)·R_base``; ``r* = r_base + Δr``; ``R_ret* = C_next·r*·f_ret·AOV_ret``;
  ``N* = max(0, (R* − R_ret* − R_other) / (f_new·AOV_new))`` — AOVs times ``1 + aov_change``.
* Organic new customers (N_base minus those the channel data credits to paid media)
  are held at the baseline level; the curves must win ``N* − organic``.
* ``S_lin = N*·CAC*`` with ``CAC* = (1−c)·CAC_base`` (blended: all spend ÷ all new
  customers, as on the overview); ``S*`` = ``optimizer.min_budget_for_target`` over the
  curves evaluated for a quarter (``CurveFit.over_periods(weeks)``); the CAC target is
  met iff ``S*/N* ≤ CAC*``.

The curves are directional, not causal (``curves.directional_note``), and so is every
budget derived from them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from lib import channels as curves_mod
from lib import optimizer
from lib.budget import DEFAULT_PHASE_SPLIT, weekly_phasing
from lib.channels import CurveFit
from lib.formatting import by_kind, count, money, pct, points, ratio, use_currency
from lib.i18n import LocalizedError, display_channel, t
from lib.kpis import Period, data_range, latest_full_quarter, period_facts
from lib.metrics import LOOKBACK_DAYS as METRICS_LOOKBACK_DAYS
from lib.metrics import dataset_ledger, first_orders_sql, order_source, source_params

NewCustomersSource = Literal["channel_data", "first_order_channel"]
Verdict = Literal["met", "over_cac", "unreachable"]

QUARTER_WEEKS = 13
LOOKBACK_DAYS = METRICS_LOOKBACK_DAYS  # the customer base looks back one year (lib.metrics)
LTV_CAC_RULE = 3.0
SETTING_PREFIX = "scenarios."
MAX_NAME_LENGTH = 60
MAX_COMPARED = 4

INPUT_FIELDS: tuple[str, ...] = ("growth", "cac_cut", "repurchase_up", "aov_change", "weeks")
# The plan's ranges (domain §1): sales +15–20 %, CAC −10–15 %, repurchase +5 points.
PLAN_RANGES: dict[str, tuple[float, float]] = {
    "growth": (0.15, 0.20),
    "cac_cut": (0.10, 0.15),
    "repurchase_up": (0.05, 0.05),
}
# Where the tornado chart moves each input (low, high).
SENSITIVITY_RANGES: dict[str, tuple[float, float]] = {
    "growth": (0.15, 0.20),
    "repurchase_up": (0.03, 0.07),
    "aov_change": (-0.05, 0.05),
    "cac_cut": (0.10, 0.15),
}
# Hard limits: beyond these a number is a typo, not a scenario.
INPUT_LIMITS: dict[str, tuple[float, float]] = {
    "growth": (-0.5, 2.0),
    "cac_cut": (-1.0, 0.9),
    "repurchase_up": (-0.5, 0.5),
    "aov_change": (-0.5, 1.0),
    "weeks": (4, 26),
}


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class ScenarioError(LocalizedError):
    """A scenario cannot be measured, evaluated or stored; ``key`` is the i18n message key."""


class ScenarioInputError(ScenarioError):
    """An input is outside what a scenario can mean (e.g. a 300 % CAC cut)."""

    def __init__(self, field_name: str, value: float, low: float, high: float) -> None:
        self.field = field_name
        self.value, self.low, self.high = value, low, high
        super().__init__("scenarios.error.out_of_range")

    def message(self, lang: str = "en") -> str:
        return t(
            self.key, lang,
            field=t(f"scenarios.input.{self.field}", lang),
            value=_format_input_value(self.field, self.value, lang),
            low=_format_input_value(self.field, self.low, lang),
            high=_format_input_value(self.field, self.high, lang),
        )


def _format_input_value(field_name: str, value: float, lang: str = "en") -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if field_name == "weeks":
        return f"{value:g}"
    if field_name == "repurchase_up":
        return points(value, lang)
    return pct(value, signed=True)


# ---------------------------------------------------------------------------
# Inputs and presets
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioInputs:
    """The targets of one scenario, as fractions: growth 0.175 = +17.5 % sales, cac_cut 0.125 = −12.5 % CAC.

    ``repurchase_up`` is in rate points (0.05 = +5 points); ``aov_change`` moves new and
    returning customers' AOV alike; ``weeks`` is how many weeks the quarter's budget is
    spent over (the curves are evaluated at that spend per week). Validated on creation:
    values beyond ``INPUT_LIMITS`` raise ``ScenarioInputError``.
    """

    growth: float = 0.175
    cac_cut: float = 0.125
    repurchase_up: float = 0.05
    aov_change: float = 0.0
    weeks: int = QUARTER_WEEKS

    def __post_init__(self) -> None:
        for name in INPUT_FIELDS:
            raw = getattr(self, name)
            try:
                value = float(raw)
            except (TypeError, ValueError):
                low, high = INPUT_LIMITS[name]
                raise ScenarioInputError(name, math.nan, low, high) from None
            low, high = INPUT_LIMITS[name]
            if not math.isfinite(value) or not low <= value <= high:
                raise ScenarioInputError(name, value, low, high)
            if name == "weeks":
                if value != int(value):
                    raise ScenarioInputError(name, value, low, high)
                object.__setattr__(self, name, int(value))
            else:
                object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioInputs:
        return cls(**{k: data[k] for k in INPUT_FIELDS if k in data and data[k] is not None})

    def preset_name(self) -> str | None:
        """The preset these inputs equal, if any."""
        for name, preset in PRESETS.items():
            if all(math.isclose(getattr(self, f), getattr(preset, f), abs_tol=1e-9) for f in INPUT_FIELDS):
                return name
        return None

    def outside_plan(self) -> list[str]:
        """Inputs outside the plan's ranges (allowed, but worth a note)."""
        out = []
        for name, (low, high) in PLAN_RANGES.items():
            value = getattr(self, name)
            if value < low - 1e-9 or value > high + 1e-9:
                out.append(name)
        return out

    def plan_notes(self, lang: str = "en") -> list[str]:
        """One sentence per input outside the plan's range."""
        notes = []
        for name in self.outside_plan():
            low, high = PLAN_RANGES[name]
            plan = _format_input_value(name, low, lang) if low == high else (
                f"{_format_input_value(name, low, lang)} – {_format_input_value(name, high, lang)}")
            notes.append(t("scenarios.note.outside_plan", lang, field=t(f"scenarios.input.{name}", lang),
                           value=_format_input_value(name, getattr(self, name), lang), plan=plan))
        return notes


PRESETS: dict[str, ScenarioInputs] = {
    "conservative": ScenarioInputs(growth=0.15, cac_cut=0.10, repurchase_up=0.05),
    "base": ScenarioInputs(growth=0.175, cac_cut=0.125, repurchase_up=0.05),
    "aggressive": ScenarioInputs(growth=0.20, cac_cut=0.15, repurchase_up=0.05),
}


def preset(name: str) -> ScenarioInputs:
    """A preset by name: conservative, base or aggressive."""
    if name not in PRESETS:
        raise ScenarioError("scenarios.error.unknown_preset", name=name, known=", ".join(PRESETS))
    return PRESETS[name]


# ---------------------------------------------------------------------------
# The measured baseline
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """The base quarter Q decomposed as in b.7, from the same period facts as the KPIs (:func:`kpis.period_facts`).

    Customers are identified buyers (guest orders count in revenue only); revenue is
    net sales. C is the customer base at Q's start (an order in the 365 days before
    Q); the repurchase rate r is the share of C who ordered in Q — the Overview's
    "Repurchase rate", not its "Repeat-buyer share"; new customers placed their first
    order ever in Q.
    """

    dataset_id: int
    quarter_start: date
    quarter_end: date
    revenue: float  # R_base: net sales in Q (lib.metrics; guests included)
    orders: int
    customer_base: int  # C
    repurchasers: int  # customers of C who bought in Q
    repurchase_rate: float  # r_base = repurchasers / C
    retained_orders: int
    orders_per_repurchaser: float  # f_ret
    aov_retained: float  # AOV_ret
    retained_revenue: float  # R_ret
    new_customers: int  # N_base
    new_orders: int
    orders_per_new_customer: float  # f_new
    aov_new: float  # AOV_new
    new_revenue: float  # R_new
    reactivated_customers: int  # bought in Q, last purchase more than a year before
    reactivated_revenue: float
    guest_revenue: float
    spend: float  # all channel spend in Q
    cac: float  # CAC_base = spend / N_base (blended)
    customer_base_next: int  # C_next: a purchase in the 365 days ending at Q's end
    ltv: float | None  # AOV × orders per customer over the 12 months ending at Q's end (as in kpis)
    paid_new_customers: float  # credited to channels with spend in Q
    organic_new_customers: float  # N_base − paid (never below 0)
    new_customers_source: NewCustomersSource
    channel_spend: Mapping[str, float] = field(default_factory=dict)
    channel_new_customers: Mapping[str, float] = field(default_factory=dict)
    history_days: int = 0  # days of orders before Q
    attribution_exceeds_orders: bool = False  # channels claim more new customers than the orders show

    @property
    def quarter(self) -> Period:
        return Period(self.quarter_start, self.quarter_end)

    @property
    def other_revenue(self) -> float:
        """R_other = R_base − R_new − R_ret: guests and customers back after more than a year."""
        return self.revenue - self.new_revenue - self.retained_revenue

    @property
    def aov(self) -> float:
        return self.revenue / self.orders if self.orders else 0.0

    @property
    def paid_cac(self) -> float | None:
        return self.spend / self.paid_new_customers if self.paid_new_customers > 0 else None

    @property
    def ltv_cac(self) -> float | None:
        return self.ltv / self.cac if self.ltv and self.cac else None

    @property
    def short_history(self) -> bool:
        """Fewer than 365 days of orders before Q: C is undercounted and N overcounted."""
        return self.history_days < LOOKBACK_DAYS

    def quarter_label(self, lang: str = "en") -> str:
        q = (self.quarter_start.month - 1) // 3 + 1
        if self.quarter_end == _quarter_end(self.quarter_start):
            return t("scenarios.quarter", lang, year=self.quarter_start.year, q=q)
        return f"{self.quarter_start.isoformat()} – {self.quarter_end.isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        data = _jsonable(asdict(self))
        data.update(
            other_revenue=_num(self.other_revenue), aov=_num(self.aov), paid_cac=_num(self.paid_cac),
            ltv_cac=_num(self.ltv_cac), short_history=self.short_history,
        )
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baseline:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("quarter_start", "quarter_end"):
            if isinstance(known.get(key), str):
                known[key] = date.fromisoformat(known[key])
        return cls(**known)


def _quarter_end(start: date) -> date:
    month = start.month + 3
    nxt = date(start.year + (month > 12), (month - 1) % 12 + 1, 1)
    return nxt - timedelta(days=1)


_CHANNEL_SQL = """
SELECT channel, sum(spend) AS spend, sum(new_customers) AS new_customers,
       count(new_customers) AS reported
FROM channel_spend
WHERE dataset_id = ? AND period_start BETWEEN ? AND ?
GROUP BY channel
ORDER BY channel
"""

def _first_order_channel_sql(source: Any) -> str:
    """New customers per first-order channel in ``$start`` … ``$end`` (``source``: the dataset's in-place files, if any)."""
    return f"""
    SELECT coalesce(channel, '') AS channel, count(*) AS new_customers
    FROM ({first_orders_sql(dataset_ledger("ds", source))}) AS firsts WHERE first_day BETWEEN $start AND $end
    GROUP BY 1 ORDER BY 1
    """


def measure_baseline(ws: Any, dataset_id: int, quarter: Period | None = None, *, require_spend: bool = True
                     ) -> Baseline:
    """Measure the base quarter (default: the latest full calendar quarter in the data).

    Raises ``ScenarioError`` (with an i18n key) when the dataset has no orders, no full
    quarter, no channel spend in the quarter, or no new customers to compute a CAC from.
    New customers per channel come from the channel data's ``new_customers`` when it
    reports them, otherwise from each customer's first-order channel
    (``new_customers_source`` says which).
    """
    span = data_range(ws, dataset_id)
    src = order_source(ws, dataset_id)
    if span is None or not ws.query_rows(
        f"SELECT count(*) FROM ({dataset_ledger('ds', src)}) AS ledger WHERE is_order",
        {"ds": int(dataset_id), **source_params("ds", src)},
    )[0][0]:
        raise ScenarioError("scenarios.error.no_orders")
    if quarter is None:
        quarter = latest_full_quarter(*span)
        if quarter is None:
            raise ScenarioError("scenarios.error.no_full_quarter", first=span[0].isoformat(), last=span[1].isoformat())
    facts = period_facts(ws, int(dataset_id), quarter)
    if not facts.orders:
        raise ScenarioError("scenarios.error.no_orders_in_quarter", quarter=_period_text(quarter))
    channels = ws.query_df(_CHANNEL_SQL, [int(dataset_id), quarter.start, quarter.end])
    spend_total = float(channels["spend"].sum()) if len(channels) else 0.0
    if require_spend and (channels.empty or spend_total <= 0):
        raise ScenarioError("scenarios.error.no_channel_spend", quarter=_period_text(quarter))
    if not facts.new_customers:
        raise ScenarioError("scenarios.error.no_new_customers", quarter=_period_text(quarter))
    channel_spend = {str(r.channel): float(r.spend) for r in channels.itertuples()}
    source: NewCustomersSource
    if len(channels) and int(channels["reported"].sum()) > 0:
        source = "channel_data"
        channel_new = {str(r.channel): float(r.new_customers) for r in channels.itertuples()
                       if r.reported and pd.notna(r.new_customers)}
    else:
        source = "first_order_channel"
        firsts = ws.query_df(_first_order_channel_sql(src), {**source_params("ds", src),
                                                              "ds": int(dataset_id), "start": quarter.start,
                                                        "end": quarter.end})
        channel_new = {str(r.channel): float(r.new_customers) for r in firsts.itertuples()
                       if channel_spend.get(str(r.channel), 0.0) > 0}
    paid = float(sum(v for k, v in channel_new.items() if channel_spend.get(k, 0.0) > 0))
    n_new = facts.new_customers
    return Baseline(
        dataset_id=int(dataset_id),
        quarter_start=quarter.start,
        quarter_end=quarter.end,
        revenue=facts.net_sales,
        orders=facts.orders,
        customer_base=facts.base_customers,
        repurchasers=facts.returning_customers,
        repurchase_rate=facts.returning_customers / facts.base_customers if facts.base_customers else 0.0,
        retained_orders=facts.returning_orders,
        orders_per_repurchaser=(facts.returning_orders / facts.returning_customers
                                if facts.returning_customers else 0.0),
        aov_retained=facts.returning_net_sales / facts.returning_orders if facts.returning_orders else 0.0,
        retained_revenue=facts.returning_net_sales,
        new_customers=n_new,
        new_orders=facts.new_orders,
        orders_per_new_customer=facts.new_orders / n_new,
        aov_new=facts.new_net_sales / facts.new_orders if facts.new_orders else 0.0,
        new_revenue=facts.new_net_sales,
        reactivated_customers=facts.reactivated_customers,
        reactivated_revenue=facts.reactivated_net_sales,
        guest_revenue=facts.guest_net_sales,
        spend=spend_total,
        cac=spend_total / n_new,
        customer_base_next=facts.next_base_customers,
        ltv=facts.ltv,
        paid_new_customers=paid,
        organic_new_customers=max(0.0, n_new - paid),
        new_customers_source=source,
        channel_spend=channel_spend,
        channel_new_customers=channel_new,
        history_days=max(0, (quarter.start - facts.first_day).days) if facts.first_day else 0,
        attribution_exceeds_orders=paid > n_new,
    )


def _period_text(period: Period) -> str:
    return f"{period.start.isoformat()} – {period.end.isoformat()}"


def scenario_curves(ws: Any, dataset_id: int, source: NewCustomersSource | None = None) -> dict[str, CurveFit]:
    """Weekly new-customer response curves per channel for the scenarios (fitted with ``lib.curves``).

    With channel data that reports new customers the curves are fitted on it. Without,
    each week's new customers per channel are counted by first-order channel from the
    orders and the fit may include an organic baseline (``baseline="auto"``): a channel's
    first orders include shoppers its spend did not bring. Channels without enough data
    are left out (the scenario holds them at last quarter's spend and result).
    """
    frame = curves_mod.weekly_channel_frame(ws, dataset_id, "new_customers")
    if frame.empty:
        return {}
    if source is None:
        source = "channel_data" if frame["response"].notna().any() else "first_order_channel"
    if source == "channel_data":
        fits = curves_mod.fit_all(frame, metric="new_customers")
    else:
        firsts = ws.query_df(
            f"""
            SELECT channel, CAST(date_trunc('week', first_ts) AS DATE) AS week, count(*) AS first_orders
            FROM ({first_orders_sql(dataset_ledger("ds", order_source(ws, dataset_id)))}) AS firsts
            WHERE channel IS NOT NULL GROUP BY ALL
            """,
            {"ds": int(dataset_id), **source_params("ds", order_source(ws, dataset_id))},
        )
        firsts["week"] = pd.to_datetime(firsts["week"])
        merged = frame.drop(columns="response").merge(firsts, on=["channel", "week"], how="left")
        merged["response"] = merged["first_orders"].fillna(0.0).astype(float)
        fits = curves_mod.fit_all(merged.drop(columns="first_orders"), metric="new_customers", baseline="auto")
    return curves_mod.apply_overrides(ws, dataset_id, curves_mod.usable_curves(fits), "new_customers")


# ---------------------------------------------------------------------------
# Evaluating a scenario
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioModel:
    """What every scenario of a dataset is evaluated on: the measured baseline and the curves fitted for it.

    The page, ``cli scenario`` and the review pack all build it with :func:`prepare` and
    evaluate with :func:`run`, so they fit the same curves (on the data source the
    baseline chose) and state the same numbers.
    """

    baseline: Baseline
    curves: Mapping[str, CurveFit]


def prepare(ws: Any, dataset_id: int, quarter: Period | None = None) -> ScenarioModel:
    """Measure the baseline (default: the latest full quarter) and fit the curves on the baseline's source."""
    baseline = measure_baseline(ws, dataset_id, quarter)
    return ScenarioModel(baseline, scenario_curves(ws, dataset_id, baseline.new_customers_source))


def plan_weekly_spend(result: ScenarioResult, channels: Sequence[str]) -> dict[str, float]:
    """The scenario's split as weekly spend per channel (the base quarter's spend when the target is unreachable)."""
    weeks = result.inputs.weeks
    planned = {p.channel: (p.optimised_spend if result.required_budget is not None else p.current_spend) / weeks
               for p in result.split}
    return {c: float(planned.get(c, result.baseline.channel_spend.get(c, 0.0) / QUARTER_WEEKS)) for c in channels}


def outcome_target(result: ScenarioResult, outcome_kind: str) -> float | None:
    """The scenario's target in a marketing-mix model's outcome: net sales for revenue, N* for new customers."""
    if outcome_kind == "revenue":
        return float(result.revenue_target)
    if outcome_kind == "new_customers":
        return float(result.new_customers_required)
    return None


def run(model: ScenarioModel, inputs: ScenarioInputs, name: str | None = None) -> ScenarioResult:
    """Evaluate one scenario on a prepared model (see :func:`evaluate`)."""
    return evaluate(model.baseline, inputs, model.curves, name=name)



@dataclass(frozen=True)
class ScenarioBounds:
    """Per-channel limits for the optimiser, in quarter amounts (see ``optimizer.allocate``).

    ``TimesHistorical(k)`` bounds are relative to the base quarter's spend per channel.
    """

    lower: Mapping[str, optimizer.Bound] | optimizer.Bound = None
    upper: Mapping[str, optimizer.Bound] | optimizer.Bound = None
    locked: Mapping[str, float] | Sequence[str] | None = None


@dataclass(frozen=True)
class ChannelPlan:
    """One channel's part of the scenario: base quarter against the optimised split."""

    channel: str
    has_curve: bool
    current_spend: float
    optimised_spend: float
    current_new_customers: float  # the curve at the base quarter's spend (channel data when no curve)
    optimised_new_customers: float
    marginal_cac: float | None
    max_observed_weekly_spend: float | None
    extrapolation_ratio: float | None  # planned weekly spend ÷ highest week ever observed

    @property
    def spend_change(self) -> float:
        return self.optimised_spend - self.current_spend

    @property
    def average_cac(self) -> float | None:
        return self.optimised_spend / self.optimised_new_customers if self.optimised_new_customers > 0 else None


@dataclass(frozen=True)
class MixValue:
    """What optimising the channel mix is worth, against the base quarter's mix.

    At the base quarter's budget: the customers the current mix buys on the curves and
    what the optimal split buys. For the scenario's target: the budget scaling the
    current mix would need, against the optimal split's ``S*``.
    """

    budget: float
    current_new_customers: float
    optimal_new_customers: float
    budget_current_mix_for_target: float | None  # None: the current mix never gets there
    budget_optimal_for_target: float | None

    @property
    def extra_new_customers(self) -> float:
        return self.optimal_new_customers - self.current_new_customers

    @property
    def budget_saving(self) -> float | None:
        if self.budget_current_mix_for_target is None or self.budget_optimal_for_target is None:
            return None
        return self.budget_current_mix_for_target - self.budget_optimal_for_target


@dataclass(frozen=True)
class GapClosers:
    """How far each lever must move, on its own, for the revenue target to hold at the target CAC.

    ``affordable_new_customers`` (N_aff) is the largest number of new customers (organic
    included) whose budget stays within CAC* on average. The repurchase rate, the AOV
    change and the response scale-up (conversion/creative: every curve's response × s)
    are each the value that closes the gap alone, the other inputs as in the scenario.
    """

    affordable_new_customers: float
    affordable_budget: float
    repurchase_rate_required: float  # r_req
    repurchase_points_required: float  # r_req − r_base (compare with the scenario's repurchase_up)
    aov_change_required: float  # vs the baseline AOV (compare with the scenario's aov_change)
    response_scale_required: float | None  # s (1.25 = curves must respond 25 % better); None = no budget room
    mix: MixValue

    @property
    def repurchase_possible(self) -> bool:
        return 0.0 <= self.repurchase_rate_required <= 1.0


@dataclass(frozen=True)
class ScenarioResult:
    """Everything a scenario works out, in the order of b.7. ``to_dict()`` is JSON-ready."""

    inputs: ScenarioInputs
    baseline: Baseline
    name: str | None
    revenue_target: float  # R*
    repurchase_rate_target: float  # r*
    retained_revenue_target: float  # R_ret*
    other_revenue_target: float  # R_other at the scenario AOV, order volume held
    new_revenue_required: float  # R* − R_ret* − R_other*
    aov_new_target: float
    aov_retained_target: float
    new_customers_required: float  # N*
    organic_new_customers: float  # held at the baseline level (+ curves' own organic baselines)
    held_channel_new_customers: float  # channels without a curve, held at the base quarter
    held_channel_spend: float
    paid_new_customers_required: float  # what the curves must win
    target_cac: float  # CAC*
    linear_budget: float  # S_lin = N*·CAC*
    required_budget: float | None  # S* (None: unreachable)
    implied_cac: float | None  # S*/N*
    marginal_cac: float | None  # 1/λ at the optimum
    verdict: Verdict
    max_paid_new_customers: float  # the curves' saturation over the quarter
    split_basis: Literal["required_budget", "linear_budget", "none"]
    split: tuple[ChannelPlan, ...]
    gap: GapClosers
    ltv: float | None  # the baseline LTV at the scenario's AOV
    notes: tuple[str, ...]  # i18n keys of the assumptions and warnings that apply

    # -- derived --------------------------------------------------------------

    @property
    def target_met(self) -> bool:
        return self.verdict == "met"

    @property
    def budget_gap(self) -> float | None:
        """S* − S_lin: how much more than the target CAC allows (negative = headroom)."""
        return None if self.required_budget is None else self.required_budget - self.linear_budget

    @property
    def plan_budget(self) -> float:
        """The budget the split and the weekly line are for: S*, or S_lin when S* does not exist."""
        return self.required_budget if self.required_budget is not None else self.linear_budget

    @property
    def ltv_cac(self) -> float | None:
        """LTV ÷ implied CAC; the plan's rule wants at least 3."""
        if self.ltv is None or not self.implied_cac:
            return None
        return self.ltv / self.implied_cac

    @property
    def ltv_cac_ok(self) -> bool | None:
        value = self.ltv_cac
        return None if value is None else value >= LTV_CAC_RULE

    @property
    def max_cac_for_ltv(self) -> float | None:
        """The highest CAC the LTV/CAC ≥ 3 rule allows."""
        return None if self.ltv is None else self.ltv / LTV_CAC_RULE

    @property
    def revenue_growth_from_retention(self) -> float:
        return self.retained_revenue_target - self.baseline.retained_revenue

    def label(self, lang: str = "en") -> str:
        """The scenario's name in a sentence: "the base scenario", "scenario “Q4 push”"."""
        if self.name:
            return t("scenarios.label.named", lang, name=self.name)
        key = self.inputs.preset_name() or "custom"
        return t(f"scenarios.label.{key}", lang)

    def split_frame(self) -> pd.DataFrame:
        """One row per channel: current and optimised spend and customers, marginal CAC, extrapolation."""
        rows = []
        for plan in self.split:
            rows.append({**asdict(plan), "spend_change": plan.spend_change, "average_cac": plan.average_cac})
        columns = ["channel", "has_curve", "current_spend", "optimised_spend", "spend_change",
                   "current_new_customers", "optimised_new_customers", "average_cac", "marginal_cac",
                   "max_observed_weekly_spend", "extrapolation_ratio"]
        return pd.DataFrame(rows, columns=columns)

    def summary(self) -> dict[str, Any]:
        """The headline numbers (flat, JSON-ready): what saved scenarios store and ``compare`` shows."""
        return _jsonable({
            "quarter": self.baseline.quarter_label("en"),
            "growth": self.inputs.growth,
            "cac_cut": self.inputs.cac_cut,
            "repurchase_up": self.inputs.repurchase_up,
            "aov_change": self.inputs.aov_change,
            "weeks": self.inputs.weeks,
            "revenue_base": self.baseline.revenue,
            "revenue_target": self.revenue_target,
            "repurchase_rate_target": self.repurchase_rate_target,
            "retained_revenue_target": self.retained_revenue_target,
            "new_customers_required": self.new_customers_required,
            "paid_new_customers_required": self.paid_new_customers_required,
            "organic_new_customers": self.organic_new_customers,
            "target_cac": self.target_cac,
            "linear_budget": self.linear_budget,
            "required_budget": self.required_budget,
            "budget_gap": self.budget_gap,
            "implied_cac": self.implied_cac,
            "marginal_cac": self.marginal_cac,
            "ltv_cac": self.ltv_cac,
            "ltv_cac_ok": self.ltv_cac_ok,
            "verdict": self.verdict,
            "affordable_new_customers": self.gap.affordable_new_customers,
            "repurchase_points_required": self.gap.repurchase_points_required,
            "aov_change_required": self.gap.aov_change_required,
            "response_scale_required": self.gap.response_scale_required,
            "mix_budget_saving": self.gap.mix.budget_saving,
        })

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (for the CLI's ``--json``): inputs, baseline, targets, budget, split, levers."""
        gap = self.gap
        return _jsonable({
            "name": self.name,
            "preset": self.inputs.preset_name(),
            "inputs": self.inputs.to_dict(),
            "baseline": self.baseline.to_dict(),
            "targets": {
                "revenue_target": self.revenue_target,
                "repurchase_rate_target": self.repurchase_rate_target,
                "retained_revenue_target": self.retained_revenue_target,
                "other_revenue_target": self.other_revenue_target,
                "new_revenue_required": self.new_revenue_required,
                "aov_new_target": self.aov_new_target,
                "aov_retained_target": self.aov_retained_target,
                "new_customers_required": self.new_customers_required,
                "organic_new_customers": self.organic_new_customers,
                "held_channel_new_customers": self.held_channel_new_customers,
                "paid_new_customers_required": self.paid_new_customers_required,
                "target_cac": self.target_cac,
            },
            "budget": {
                "linear_budget": self.linear_budget,
                "required_budget": self.required_budget,
                "held_channel_spend": self.held_channel_spend,
                "budget_gap": self.budget_gap,
                "implied_cac": self.implied_cac,
                "marginal_cac": self.marginal_cac,
                "max_paid_new_customers": self.max_paid_new_customers,
                "split_basis": self.split_basis,
            },
            "verdict": self.verdict,
            "target_met": self.target_met,
            "ltv": {"ltv": self.ltv, "ltv_cac": self.ltv_cac, "rule": LTV_CAC_RULE, "ok": self.ltv_cac_ok,
                    "max_cac": self.max_cac_for_ltv},
            "split": [{**asdict(p), "spend_change": p.spend_change, "average_cac": p.average_cac}
                      for p in self.split],
            "gap_closers": {
                "affordable_new_customers": gap.affordable_new_customers,
                "affordable_budget": gap.affordable_budget,
                "repurchase_rate_required": gap.repurchase_rate_required,
                "repurchase_points_required": gap.repurchase_points_required,
                "repurchase_possible": gap.repurchase_possible,
                "aov_change_required": gap.aov_change_required,
                "response_scale_required": gap.response_scale_required,
                "mix": {**asdict(gap.mix), "extra_new_customers": gap.mix.extra_new_customers,
                        "budget_saving": gap.mix.budget_saving},
            },
            "notes": list(self.notes),
        })


class _Solver:
    """Best paid new customers for a quarter budget, on the optimiser, with a cache.

    Wraps ``optimizer.allocate`` so the frontier, N_aff and the tornado can share
    evaluations; exact minimum budgets come from ``optimizer.min_budget_for_target``.
    """

    def __init__(self, quarter_curves: Mapping[str, CurveFit], bounds: ScenarioBounds | None,
                 historical: Mapping[str, float]) -> None:
        self.curves = dict(quarter_curves)
        self.bounds = bounds or ScenarioBounds()
        self.historical = {c: float(historical.get(c, 0.0)) for c in self.curves}
        if self.curves:
            lb, ub, _ = optimizer.resolve_bounds(
                list(self.curves), self.bounds.lower, self.bounds.upper, self.bounds.locked, self.historical
            )
            self.min_total, self.max_total = float(lb.sum()), float(ub.sum())
            self.saturation = sum(
                min(float(c.saturation_level) * c.periods,
                    float(c.response(u)) if math.isfinite(u) else math.inf)
                for c, u in zip(self.curves.values(), ub)
            )
        else:
            self.min_total, self.max_total, self.saturation = 0.0, 0.0, 0.0
        self._cache: dict[float, optimizer.Allocation] = {}

    def _kwargs(self) -> dict[str, Any]:
        return {"lower": self.bounds.lower, "upper": self.bounds.upper, "locked": self.bounds.locked,
                "historical_spend": self.historical}

    def allocation(self, budget: float) -> optimizer.Allocation | None:
        if not self.curves:
            return None
        b = min(max(float(budget), self.min_total), self.max_total)
        key = round(b, 6)
        if key not in self._cache:
            self._cache[key] = optimizer.allocate(self.curves, b, **self._kwargs())
        return self._cache[key]

    def best(self, budget: float) -> float:
        """Most paid new customers ``budget`` can buy (0 without curves or below the minimums)."""
        if not self.curves or budget < self.min_total - 1e-9:
            return 0.0
        alloc = self.allocation(budget)
        return alloc.total_response if alloc is not None else 0.0

    def min_allocation(self, target: float) -> optimizer.Allocation | None:
        """``optimizer.min_budget_for_target``; None when the target is out of reach."""
        if not self.curves:
            return None
        try:
            return optimizer.min_budget_for_target(self.curves, target, **self._kwargs())
        except optimizer.TargetUnreachable:
            return None

    def min_budget(self, target: float) -> float | None:
        """The least budget reaching ``target``, by a bracketed root search on ``best`` (fast path)."""
        if target <= 0:
            return self.min_total if self.curves else 0.0
        if not self.curves or target >= self.saturation * (1 - 1e-9):
            return None
        low = self.min_total
        if self.best(low) >= target:
            return low
        high = max(low * 2.0, 1000.0)
        while self.best(high) < target:
            if high >= self.max_total:
                return None
            low, high = high, min(high * 2.0, self.max_total)
            if high > 1e15:
                return None
        return float(brentq(lambda b: self.best(b) - target, low, high, xtol=max(1e-7 * high, 1e-6)))

    def last_affordable(self, cac: float, held_customers: float, held_spend: float) -> tuple[float, float]:
        """The largest total budget B with B ≤ cac·(held + best(B − held_spend)); returns (B, N at B)."""

        def total_n(b: float) -> float:
            return held_customers + self.best(max(0.0, b - held_spend))

        def slack(b: float) -> float:
            return cac * total_n(b) - b

        start = held_spend + self.min_total
        if cac <= 0 or slack(start) < 0:
            return start, total_n(start)
        if not self.curves:
            return start, total_n(start)
        # Scan up to where the curves have saturated beyond what cac can pay for.
        top = max(start * 2.0, cac * (held_customers + self.saturation) * 1.05, 1000.0)
        top = min(top, held_spend + self.max_total) if math.isfinite(self.max_total) else top
        if slack(top) >= 0:
            return top, total_n(top)
        grid = np.linspace(start, top, 16)
        values = [slack(b) for b in grid]
        last = max(i for i, v in enumerate(values) if v >= 0)
        lo, hi = float(grid[last]), float(grid[last + 1])
        root = float(brentq(slack, lo, hi, xtol=max(1e-7 * hi, 1e-6)))
        return root, total_n(root)


def _revenue_targets(baseline: Baseline, inputs: ScenarioInputs) -> dict[str, float]:
    """R*, r*, R_ret*, R_other*, N* and the scenario AOVs (b.7)."""
    aov_factor = 1.0 + inputs.aov_change
    revenue_target = (1.0 + inputs.growth) * baseline.revenue
    rate_target = baseline.repurchase_rate + inputs.repurchase_up
    if not 0.0 <= rate_target <= 1.0:
        raise ScenarioError(
            "scenarios.error.repurchase_out_of_range",
            rate=pct(rate_target), base=pct(baseline.repurchase_rate),
        )
    aov_new = baseline.aov_new * aov_factor
    aov_ret = baseline.aov_retained * aov_factor
    retained = baseline.customer_base_next * rate_target * baseline.orders_per_repurchaser * aov_ret
    other = baseline.other_revenue * aov_factor
    new_revenue = revenue_target - retained - other
    per_new = baseline.orders_per_new_customer * aov_new
    return {
        "revenue_target": revenue_target,
        "rate_target": rate_target,
        "aov_new": aov_new,
        "aov_ret": aov_ret,
        "retained": retained,
        "other": other,
        "new_revenue": new_revenue,
        "per_new": per_new,
        "new_customers": max(0.0, new_revenue / per_new) if per_new > 0 else math.inf,
    }


@dataclass(frozen=True)
class OrdersOnlyAnswer:
    """What a target demands of customers when there is no channel spend yet (every new user's first situation).

    The revenue side of the scenario (b.7) from the orders alone: the revenue target, what
    returning customers bring at the target repurchase rate, what is left for new customers
    and how many that takes. Budget, CAC and the channel split need spend and appear once
    channel data is imported.
    """

    baseline: Baseline
    inputs: ScenarioInputs
    revenue_target: float
    repurchase_rate_target: float
    retained_revenue_target: float
    other_revenue_target: float
    new_revenue_required: float
    aov_new_target: float
    new_customers_required: float
    returning_customers_target: float


def orders_only(ws: Any, dataset_id: int, inputs: ScenarioInputs, quarter: Period | None = None) -> OrdersOnlyAnswer:
    """The scenario's revenue arithmetic on the orders alone (see :class:`OrdersOnlyAnswer`)."""
    baseline = measure_baseline(ws, dataset_id, quarter, require_spend=False)
    targets = _revenue_targets(baseline, inputs)
    return OrdersOnlyAnswer(
        baseline=baseline, inputs=inputs, revenue_target=targets["revenue_target"],
        repurchase_rate_target=targets["rate_target"], retained_revenue_target=targets["retained"],
        other_revenue_target=targets["other"], new_revenue_required=targets["new_revenue"],
        aov_new_target=targets["aov_new"], new_customers_required=targets["new_customers"],
        returning_customers_target=baseline.customer_base_next * targets["rate_target"],
    )


def _held(baseline: Baseline, curves: Mapping[str, CurveFit], weeks: int) -> tuple[float, float, float]:
    """What the scenario holds at the base quarter's level: (organic N, N and spend of channels without a curve).

    Organic = new customers no channel claims, plus any organic baseline inside a
    channel's own curve (``CurveFit.baseline`` × weeks, at most what the channel was
    credited with): the curves' ``response`` is the media-driven part only.
    """
    organic = baseline.organic_new_customers + sum(
        min(float(c.baseline) * weeks, float(baseline.channel_new_customers.get(k, 0.0)))
        for k, c in curves.items()
    )
    held_n = sum(float(v) for k, v in baseline.channel_new_customers.items()
                 if k not in curves and baseline.channel_spend.get(k, 0.0) > 0)
    held_s = sum(float(v) for k, v in baseline.channel_spend.items() if k not in curves)
    return organic, held_n, held_s


def _quarter_curves(curves: Mapping[str, CurveFit], weeks: int) -> dict[str, CurveFit]:
    if not curves:
        raise ScenarioError("scenarios.error.no_curves")
    return {name: c.over_periods(weeks) for name, c in curves.items()}


def _budget_for_current_mix(q_curves: Mapping[str, CurveFit], current: Mapping[str, float],
                            target: float) -> float | None:
    """The budget at which the base quarter's mix, scaled up or down, reaches ``target`` paid customers."""
    names = [c for c in q_curves if current.get(c, 0.0) > 0]
    if target <= 0:
        return 0.0
    if not names:
        return None
    total = sum(current[c] for c in names)
    shares = {c: current[c] / total for c in names}

    def reach(budget: float) -> float:
        return float(sum(float(q_curves[c].response(budget * shares[c])) for c in names))

    ceiling = sum(float(q_curves[c].saturation_level) * q_curves[c].periods for c in names)
    if target >= ceiling * (1 - 1e-9):
        return None
    high = max(total, 1.0)
    while reach(high) < target:
        high *= 2.0
        if high > 1e15:
            return None
    return float(brentq(lambda b: reach(b) - target, 0.0, high, xtol=max(1e-7 * high, 1e-6)))


def evaluate(
    baseline: Baseline,
    inputs: ScenarioInputs,
    curves: Mapping[str, CurveFit],
    *,
    bounds: ScenarioBounds | None = None,
    name: str | None = None,
) -> ScenarioResult:
    """Work a scenario through b.7: targets, required customers, the curve-aware budget, verdict, levers.

    ``curves`` are weekly new-customer curves per channel (``scenario_curves`` or typed-in
    ``CurveFit.from_params``); they are evaluated for the quarter with
    ``over_periods(inputs.weeks)``. ``bounds`` limit the optimiser per channel (quarter
    amounts). A target beyond the curves' saturation gives ``verdict == "unreachable"``,
    not an exception.
    """
    weeks = inputs.weeks
    q_curves = _quarter_curves(curves, weeks)
    solver = _Solver(q_curves, bounds, baseline.channel_spend)
    targets = _revenue_targets(baseline, inputs)
    n_required = targets["new_customers"]
    organic, held_n, held_s = _held(baseline, curves, weeks)
    paid_required = max(0.0, n_required - organic - held_n)
    target_cac = (1.0 - inputs.cac_cut) * baseline.cac
    linear_budget = n_required * target_cac
    notes: list[str] = ["scenarios.note.organic_held", "scenarios.note.other_revenue_held",
                        "scenarios.note.directional", f"scenarios.note.source.{baseline.new_customers_source}"]
    if held_s > 0 or held_n > 0:
        notes.append("scenarios.note.channels_without_curve")
    if baseline.short_history:
        notes.append("scenarios.note.short_history")
    if baseline.attribution_exceeds_orders:
        notes.append("scenarios.note.attribution_exceeds_orders")

    # S*: the optimiser's minimum budget for the paid customers required.
    if paid_required <= 0:
        alloc = solver.allocation(solver.min_total)
        curve_budget: float | None = solver.min_total
    else:
        alloc = solver.min_allocation(paid_required)
        curve_budget = alloc.total_budget if alloc is not None else None
    if curve_budget is None:
        verdict: Verdict = "unreachable"
        required_budget = implied_cac = marginal_cac = None
        split_basis = "linear_budget" if linear_budget - held_s > solver.min_total else "none"
        alloc = solver.allocation(max(linear_budget - held_s, solver.min_total)) if split_basis != "none" else None
        notes.append("scenarios.note.unreachable")
    else:
        required_budget = curve_budget + held_s
        implied_cac = required_budget / n_required if n_required > 0 else None
        marginal_cac = alloc.marginal_cost if alloc is not None and paid_required > 0 else None
        if marginal_cac is not None and not math.isfinite(marginal_cac):
            marginal_cac = None
        met = n_required <= 0 or required_budget <= linear_budget * (1 + 1e-9)
        verdict = "met" if met else "over_cac"
        split_basis = "required_budget"
    if n_required <= 0:
        notes.append("scenarios.note.no_new_customers_needed")

    # The split per channel.
    current_resp = {c: float(q_curves[c].response(baseline.channel_spend.get(c, 0.0))) for c in q_curves}
    planned = alloc.spend_by_channel() if alloc is not None else {c: 0.0 for c in q_curves}
    split: list[ChannelPlan] = []
    beyond = False
    for c, curve in q_curves.items():
        x = float(planned.get(c, 0.0))
        ratio_value = curve.extrapolation_ratio(x)
        ratio_f = float(ratio_value) if ratio_value is not None else None
        beyond = beyond or (ratio_f is not None and ratio_f > 1.0 + 1e-9)
        marginal = float(curve.marginal(x))
        split.append(ChannelPlan(
            channel=c, has_curve=True, current_spend=float(baseline.channel_spend.get(c, 0.0)),
            optimised_spend=x, current_new_customers=current_resp[c],
            optimised_new_customers=float(curve.response(x)),
            marginal_cac=1.0 / marginal if marginal > 0 else None,
            max_observed_weekly_spend=curve.max_observed_weekly_spend, extrapolation_ratio=ratio_f,
        ))
    for c, spend in baseline.channel_spend.items():
        if c in q_curves:
            continue
        n_c = float(baseline.channel_new_customers.get(c, 0.0))
        split.append(ChannelPlan(
            channel=c, has_curve=False, current_spend=float(spend), optimised_spend=float(spend),
            current_new_customers=n_c, optimised_new_customers=n_c, marginal_cac=None,
            max_observed_weekly_spend=None, extrapolation_ratio=None,
        ))
    if beyond:
        notes.append("scenarios.note.beyond_observed")

    # Gap closers.
    budget_aff, n_aff = solver.last_affordable(target_cac, organic + held_n, held_s)
    per_ret = baseline.customer_base_next * baseline.orders_per_repurchaser * targets["aov_ret"]
    rate_required = ((targets["revenue_target"] - targets["other"] - n_aff * targets["per_new"]) / per_ret
                     if per_ret > 0 else math.inf)
    at_aff = n_aff * targets["per_new"] + targets["retained"] + targets["other"]
    multiplier = targets["revenue_target"] / at_aff if at_aff > 0 else math.inf
    room = solver.best(max(0.0, linear_budget - held_s)) if linear_budget - held_s >= solver.min_total else 0.0
    scale: float | None
    if paid_required <= 0:
        scale = 0.0  # the curves need to win nobody
    else:
        scale = paid_required / room if room > 0 else None
    current_curve_budget = sum(baseline.channel_spend.get(c, 0.0) for c in q_curves)
    mix = MixValue(
        budget=current_curve_budget,
        current_new_customers=sum(current_resp.values()),
        optimal_new_customers=solver.best(current_curve_budget) if current_curve_budget >= solver.min_total
        else sum(current_resp.values()),
        budget_current_mix_for_target=_budget_for_current_mix(q_curves, baseline.channel_spend, paid_required),
        budget_optimal_for_target=curve_budget,
    )
    gap = GapClosers(
        affordable_new_customers=n_aff,
        affordable_budget=budget_aff,
        repurchase_rate_required=rate_required,
        repurchase_points_required=rate_required - baseline.repurchase_rate,
        aov_change_required=(1.0 + inputs.aov_change) * multiplier - 1.0,
        response_scale_required=scale,
        mix=mix,
    )
    ltv = baseline.ltv * (1.0 + inputs.aov_change) if baseline.ltv is not None else None
    result = ScenarioResult(
        inputs=inputs, baseline=baseline, name=name,
        revenue_target=targets["revenue_target"], repurchase_rate_target=targets["rate_target"],
        retained_revenue_target=targets["retained"], other_revenue_target=targets["other"],
        new_revenue_required=targets["new_revenue"], aov_new_target=targets["aov_new"],
        aov_retained_target=targets["aov_ret"], new_customers_required=n_required,
        organic_new_customers=organic, held_channel_new_customers=held_n, held_channel_spend=held_s,
        paid_new_customers_required=paid_required, target_cac=target_cac, linear_budget=linear_budget,
        required_budget=required_budget, implied_cac=implied_cac, marginal_cac=marginal_cac, verdict=verdict,
        max_paid_new_customers=solver.saturation, split_basis=split_basis, split=tuple(split), gap=gap,
        ltv=ltv, notes=(),
    )
    if result.ltv_cac_ok is False:
        notes.append("scenarios.note.ltv_cac_below_rule")
    return replace(result, notes=tuple(dict.fromkeys(notes)))


# ---------------------------------------------------------------------------
# Frontier, iso-CAC lines, target box, sensitivity
# ---------------------------------------------------------------------------


def feasibility_frontier(
    baseline: Baseline,
    curves: Mapping[str, CurveFit],
    budgets: Sequence[float] | None = None,
    *,
    weeks: int = QUARTER_WEEKS,
    bounds: ScenarioBounds | None = None,
) -> pd.DataFrame:
    """The best achievable new customers (organic included) per quarter budget: the chart's frontier.

    Columns: budget (total, channels without a curve included at their base spend),
    paid_new_customers (the optimiser's best split on the curves), best_new_customers
    (+ organic and held channels) and blended_cac (budget ÷ best_new_customers).
    Default budgets: 41 points from 0 to 2.5× the base quarter's spend.
    """
    q_curves = _quarter_curves(curves, weeks)
    solver = _Solver(q_curves, bounds, baseline.channel_spend)
    organic, held_n, held_s = _held(baseline, curves, weeks)
    if budgets is None:
        budgets = np.linspace(0.0, 2.5 * baseline.spend, 41)
    rows = []
    for b in budgets:
        b = float(b)
        curve_budget = b - held_s
        feasible = curve_budget >= solver.min_total - 1e-9
        paid = solver.best(curve_budget) if feasible else math.nan
        best = organic + held_n + paid if feasible else math.nan
        rows.append({"budget": b, "paid_new_customers": paid, "best_new_customers": best,
                     "blended_cac": b / best if feasible and best > 0 else math.nan})
    return pd.DataFrame(rows, columns=["budget", "paid_new_customers", "best_new_customers", "blended_cac"])


def iso_cac_lines(
    baseline: Baseline, budgets: Sequence[float], cac_cuts: Sequence[float] = (0.0, 0.10, 0.15),
    *, extra: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Lines of equal blended CAC (N = budget ÷ CAC): today's CAC and the plan's −10 % / −15 %.

    Columns: line (key: ``cut_0``, ``cut_10``, ``cut_15`` or a key of ``extra``), cac,
    budget, new_customers. ``extra`` adds named CACs (e.g. the scenario's target).
    """
    levels = {f"cut_{round(c * 100):d}": (1.0 - c) * baseline.cac for c in cac_cuts}
    levels.update(extra or {})
    rows = []
    for key, cac in levels.items():
        for b in budgets:
            rows.append({"line": key, "cac": float(cac), "budget": float(b), "new_customers": float(b) / cac})
    return pd.DataFrame(rows, columns=["line", "cac", "budget", "new_customers"])


def target_box(
    baseline: Baseline,
    inputs: ScenarioInputs | None = None,
    growth: tuple[float, float] = PLAN_RANGES["growth"],
    cac_cut: tuple[float, float] = PLAN_RANGES["cac_cut"],
) -> dict[str, float]:
    """The plan's target region in budget × new-customer space: growth 15–20 % × CAC −10–15 %.

    New customers range from N*(15 %) to N*(20 %) (the scenario's repurchase and AOV
    inputs held); budgets from N*(15 %) at −15 % CAC to N*(20 %) at −10 % CAC. The
    region that meets both targets is the box between the two iso-CAC lines.
    """
    inputs = inputs or PRESETS["base"]
    n_low = _revenue_targets(baseline, replace(inputs, growth=growth[0]))["new_customers"]
    n_high = _revenue_targets(baseline, replace(inputs, growth=growth[1]))["new_customers"]
    cac_high = (1.0 - cac_cut[0]) * baseline.cac
    cac_low = (1.0 - cac_cut[1]) * baseline.cac
    return {
        "new_customers_min": n_low,
        "new_customers_max": n_high,
        "budget_min": n_low * cac_low,
        "budget_max": n_high * cac_high,
        "cac_min": cac_low,
        "cac_max": cac_high,
    }


def sensitivity(
    baseline: Baseline,
    inputs: ScenarioInputs,
    curves: Mapping[str, CurveFit],
    *,
    bounds: ScenarioBounds | None = None,
    ranges: Mapping[str, tuple[float, float]] = SENSITIVITY_RANGES,
) -> pd.DataFrame:
    """Tornado rows: the budget gap S* − N*·CAC* when each input moves to the ends of its range.

    The gap is the outcome because every input moves it (the CAC cut moves only the
    target, not S*). Columns: input, low_value, high_value, gap_low, gap_high,
    budget_low, budget_high, base_gap, base_budget, swing (|gap_high − gap_low|);
    rows sorted by swing, widest first. A variant beyond the curves' reach gets NaN
    and ``unreachable_low``/``unreachable_high`` True.
    """
    q_curves = _quarter_curves(curves, inputs.weeks)
    solver = _Solver(q_curves, bounds, baseline.channel_spend)
    organic, held_n, held_s = _held(baseline, curves, inputs.weeks)

    def outcome(variant: ScenarioInputs) -> tuple[float, float]:
        n_req = _revenue_targets(baseline, variant)["new_customers"]
        paid = max(0.0, n_req - organic - held_n)
        curve_budget = solver.min_budget(paid)
        if curve_budget is None:
            return math.nan, math.nan
        budget = curve_budget + held_s
        return budget, budget - n_req * (1.0 - variant.cac_cut) * baseline.cac

    base_budget, base_gap = outcome(inputs)
    rows = []
    for name, (low, high) in ranges.items():
        b_low, g_low = outcome(replace(inputs, **{name: low}))
        b_high, g_high = outcome(replace(inputs, **{name: high}))
        rows.append({
            "input": name, "low_value": low, "high_value": high, "gap_low": g_low, "gap_high": g_high,
            "budget_low": b_low, "budget_high": b_high, "base_gap": base_gap, "base_budget": base_budget,
            "swing": abs(g_high - g_low) if math.isfinite(g_high) and math.isfinite(g_low) else math.inf,
            "unreachable_low": not math.isfinite(g_low), "unreachable_high": not math.isfinite(g_high),
        })
    frame = pd.DataFrame(rows)
    return frame.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Weekly budget and headline
# ---------------------------------------------------------------------------


def weekly_budget(
    result: ScenarioResult,
    phase_split: Sequence[float] = DEFAULT_PHASE_SPLIT,
    *,
    seasonality: Sequence[float] | None = None,
    unit: float | None = None,
) -> pd.DataFrame:
    """The scenario's budget (``plan_budget``) over its weeks, phased launch/peak/wrap-up (``budget.weekly_phasing``).

    Columns as ``weekly_phasing`` (week, plan_phase, budget_phase, spend, share,
    cumulative_spend, …) plus ``cumulative_new_customers_target``: N* spread in proportion
    to spend, for a plan-versus-target line.
    """
    frame = weekly_phasing(result.plan_budget, result.inputs.weeks, phase_split,
                           seasonality=seasonality, unit=unit)
    frame["cumulative_new_customers_target"] = frame["share"].cumsum() * result.new_customers_required
    return frame


def weekly_budget_by_channel(result: ScenarioResult, phase_split: Sequence[float] = DEFAULT_PHASE_SPLIT) -> pd.DataFrame:
    """Long frame (week, channel, spend): each channel's planned quarter amount on the same weekly phasing."""
    weekly = weekly_phasing(1.0, result.inputs.weeks, phase_split)
    rows = []
    for plan in result.split:
        for w, share in zip(weekly["week"], weekly["share"]):
            rows.append({"week": int(w), "channel": plan.channel, "spend": plan.optimised_spend * float(share)})
    return pd.DataFrame(rows, columns=["week", "channel", "spend"])


def headline(result: ScenarioResult, lang: str = "en") -> str:
    """One sentence: how many new customers, at what CAC, and whether the target holds."""
    values = {
        "scenario": result.label(lang),
        "customers": count(result.new_customers_required, lang),
        "cac": money(result.implied_cac, lang, decimals=0),
        "target_cac": money(result.target_cac, lang, decimals=0),
        "budget": money(result.required_budget, lang),
        "linear_budget": money(result.linear_budget, lang),
        "max_customers": count(result.max_paid_new_customers + result.organic_new_customers
                               + result.held_channel_new_customers, lang),
        "revenue": money(result.revenue_target, lang),
    }
    if result.new_customers_required <= 0:
        key = "scenarios.headline.none_needed"
    elif result.verdict == "unreachable":
        key = "scenarios.headline.unreachable"
    else:
        key = f"scenarios.headline.{result.verdict}"
    text = t(key, lang, **values)
    return text[:1].upper() + text[1:] if lang == "en" else text


def verdict_text(result: ScenarioResult, lang: str = "en") -> str:
    """The verdict as a short label (met / over the CAC target / out of reach)."""
    return t(f"scenarios.verdict.{result.verdict}", lang)


def ltv_text(result: ScenarioResult, lang: str = "en") -> str | None:
    """LTV / CAC at the implied CAC against the plan's rule of 3, in words (None without an implied CAC)."""
    value = result.ltv_cac
    if value is None:
        return None
    key = "scenarios.ltv.ok" if value >= LTV_CAC_RULE else "scenarios.ltv.low"
    return t(key, lang, value=ratio(value), max_cac=money(result.max_cac_for_ltv, lang, decimals=0))


def lever_texts(result: ScenarioResult, lang: str = "en") -> list[str]:
    """The gap closers in words, one sentence per lever (empty when the target is met)."""
    if result.verdict == "met":
        return []
    gap = result.gap
    out = [t("scenarios.lever.affordable", lang, customers=count(gap.affordable_new_customers, lang),
             cac=money(result.target_cac, lang, decimals=0))]
    if gap.repurchase_possible:
        out.append(t("scenarios.lever.repurchase", lang, rate=pct(gap.repurchase_rate_required),
                     points=points(gap.repurchase_points_required, lang)))
    else:
        out.append(t("scenarios.lever.repurchase_impossible", lang, rate=pct(gap.repurchase_rate_required)))
    out.append(t("scenarios.lever.aov", lang, change=pct(gap.aov_change_required, signed=True)))
    if gap.response_scale_required is not None:
        out.append(t("scenarios.lever.conversion", lang,
                     change=pct(gap.response_scale_required - 1.0, signed=True)))
    mix = gap.mix
    if mix.budget_saving is not None:
        out.append(t("scenarios.lever.mix", lang, saving=money(mix.budget_saving, lang),
                     extra=count(mix.extra_new_customers, lang)))
    else:
        out.append(t("scenarios.lever.mix_customers", lang, extra=count(mix.extra_new_customers, lang),
                     budget=money(mix.budget, lang)))
    return out


# ---------------------------------------------------------------------------
# Saved scenarios and comparison
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedScenario:
    """A scenario stored in the workspace: its inputs and the headline results when saved."""

    name: str
    inputs: ScenarioInputs
    summary: Mapping[str, Any]
    saved_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "inputs": self.inputs.to_dict(), "summary": dict(self.summary),
                "saved_at": self.saved_at}


def validate_scenario_name(name: str) -> str:
    """Trim a scenario name; raises ``ScenarioError`` when empty, too long or with control characters."""
    clean = " ".join(str(name or "").split())
    if not clean:
        raise ScenarioError("scenarios.error.name_empty")
    if len(clean) > MAX_NAME_LENGTH:
        raise ScenarioError("scenarios.error.name_too_long", limit=MAX_NAME_LENGTH)
    if any(ord(ch) < 32 for ch in clean):
        raise ScenarioError("scenarios.error.name_control")
    return clean


def save_scenario(ws: Any, dataset_id: int, name: str, result: ScenarioResult) -> SavedScenario:
    """Store the scenario's inputs and headline results under ``scenarios.<name>`` (replacing one of that name)."""
    clean = validate_scenario_name(name)
    saved = SavedScenario(
        name=clean, inputs=result.inputs, summary=replace(result, name=clean).summary(),
        saved_at=datetime.now().isoformat(timespec="seconds"),
    )
    ws.set_setting(int(dataset_id), SETTING_PREFIX + clean, saved.to_dict())
    return saved


def _saved_from(name: str, data: Mapping[str, Any]) -> SavedScenario:
    return SavedScenario(
        name=str(data.get("name") or name), inputs=ScenarioInputs.from_dict(data.get("inputs") or {}),
        summary=dict(data.get("summary") or {}), saved_at=str(data.get("saved_at") or ""),
    )


def load_scenario(ws: Any, dataset_id: int, name: str) -> SavedScenario:
    """A saved scenario by name; raises ``ScenarioError`` (scenarios.error.not_found) when there is none."""
    clean = validate_scenario_name(name)
    data = ws.get_setting(int(dataset_id), SETTING_PREFIX + clean)
    if data is None:
        raise ScenarioError("scenarios.error.not_found", name=clean)
    return _saved_from(clean, data)


def list_scenarios(ws: Any, dataset_id: int) -> list[SavedScenario]:
    """Every saved scenario of the dataset, by name."""
    stored = ws.settings_with_prefix(int(dataset_id), SETTING_PREFIX)
    return [_saved_from(name, data) for name, data in sorted(stored.items()) if isinstance(data, Mapping)]


def delete_scenario(ws: Any, dataset_id: int, name: str) -> bool:
    """Remove a saved scenario; False when there was none of that name."""
    clean = validate_scenario_name(name)
    key = SETTING_PREFIX + clean
    if ws.get_setting(int(dataset_id), key) is None:
        return False
    ws.delete_setting(int(dataset_id), key)
    return True


COMPARE_ROWS: tuple[str, ...] = (
    "growth", "cac_cut", "repurchase_up", "aov_change", "revenue_target", "retained_revenue_target",
    "new_customers_required", "paid_new_customers_required", "target_cac", "linear_budget",
    "required_budget", "budget_gap", "implied_cac", "marginal_cac", "ltv_cac", "verdict",
)
_ROW_FORMAT: dict[str, str] = {
    "growth": "pct", "cac_cut": "pct", "repurchase_up": "points", "aov_change": "pct",
    "revenue_target": "money", "retained_revenue_target": "money", "new_customers_required": "count",
    "paid_new_customers_required": "count", "target_cac": "money", "linear_budget": "money",
    "required_budget": "money", "budget_gap": "money", "implied_cac": "money", "marginal_cac": "money",
    "ltv_cac": "ratio", "verdict": "verdict",
}


def _format_cell(kind: str, value: Any, lang: str) -> str:
    """A comparison cell: a lever as a signed percentage, the verdict in words, the rest as :func:`by_kind` writes it."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if kind == "pct":
        return pct(value, signed=True)
    if kind == "verdict":
        return t(f"scenarios.verdict.{value}", lang)
    return by_kind(value, kind, lang)


def compare(results: Sequence[ScenarioResult | SavedScenario], lang: str = "en", *,
            formatted: bool = False) -> pd.DataFrame:
    """Two to four scenarios side by side: one row per metric (``COMPARE_ROWS``), one column per scenario.

    Columns: ``metric`` (stable key), ``label`` (in ``lang``), then one per scenario,
    headed by its name (or preset label). ``formatted`` gives display strings.
    """
    if not 2 <= len(results) <= MAX_COMPARED:
        raise ScenarioError("scenarios.error.compare_count", low=2, high=MAX_COMPARED)
    columns: dict[str, dict[str, Any]] = {}
    for item in results:
        if isinstance(item, SavedScenario):
            title, summary = item.name, dict(item.summary)
        else:
            title = item.name or t(f"scenarios.preset.{item.inputs.preset_name() or 'custom'}", lang)
            summary = item.summary()
        unique, n = title, 2
        while unique in columns:
            unique, n = f"{title} ({n})", n + 1
        columns[unique] = summary
    frame = pd.DataFrame({"metric": list(COMPARE_ROWS),
                          "label": [t(f"scenarios.metric.{k}", lang) for k in COMPARE_ROWS]})
    for title, summary in columns.items():
        values = [summary.get(k) for k in COMPARE_ROWS]
        if formatted:
            values = [_format_cell(_ROW_FORMAT[k], v, lang) for k, v in zip(COMPARE_ROWS, values)]
        frame[title] = pd.Series(values, dtype=object)
    return frame


def comparison_table(results: Sequence[ScenarioResult | SavedScenario], lang: str = "en") -> pd.DataFrame:
    """The side-by-side table as people read it: translated metric names, formatted values, one column per scenario.

    The Scenarios page shows it, its CSV and workbook downloads write it, and the
    review pack's comparison sheet is the same table (with the presets' column names).
    """
    frame = compare(results, lang, formatted=True).drop(columns="metric")
    return frame.rename(columns={"label": t("scenarios.compare.metric", lang)})


def comparison_csv(results: Sequence[ScenarioResult | SavedScenario], lang: str = "en") -> bytes:
    """:func:`comparison_table` as a formula-safe CSV (scenario names are user text)."""
    from lib.exports import csv_bytes

    return csv_bytes(comparison_table(results, lang))


def comparison_workbook(results: Sequence[ScenarioResult | SavedScenario], lang: str = "en") -> bytes:
    """:func:`comparison_table` as a one-sheet .xlsx, text cells only, no formula anywhere."""
    from lib.exports import SheetSpec, workbook_bytes

    table = comparison_table(results, lang)
    return workbook_bytes([SheetSpec(title=t("scenarios.compare.sheet", lang), frame=table,
                                     formats={c: "text" for c in table.columns})])


# ---------------------------------------------------------------------------
# CLI entry
# ---------------------------------------------------------------------------


def run_scenario_cli(
    ws: Any,
    dataset_name: str,
    growth: float,
    cac_cut: float,
    repurchase_up: float,
    aov_change: float = 0.0,
    save: str | None = None,
    lang: str = "en",
) -> dict[str, Any]:
    """Everything ``python -m lib.cli scenario … --json`` prints: the scenario, its headline and levers.

    Raises ``workspace.DatasetNotFound`` for an unknown dataset and ``ScenarioError``
    (message in ``lang`` via ``.message(lang)``) for bad inputs or data without a baseline.
    """
    dataset = ws.get_dataset(dataset_name)
    inputs = ScenarioInputs(growth=growth, cac_cut=cac_cut, repurchase_up=repurchase_up, aov_change=aov_change)
    name = validate_scenario_name(save) if save is not None else None
    result = run(prepare(ws, dataset.dataset_id), inputs, name=name)
    with use_currency(dataset.currency):  # the texts' amounts are in the dataset's currency
        out = {"dataset": dataset.name, **result.to_dict(), "headline": headline(result, lang),
               "verdict_text": verdict_text(result, lang), "levers": lever_texts(result, lang),
               "notes_text": [t(k, lang) for k in result.notes] + inputs.plan_notes(lang), "saved": None}
    if name is not None:
        save_scenario(ws, dataset.dataset_id, name, result)
        out["saved"] = name
    return out


# ---------------------------------------------------------------------------
# JSON helpers
# ---------------------------------------------------------------------------


def _num(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def _jsonable(value: Any) -> Any:
    """Numbers as plain floats (NaN/∞ → None), dates as ISO text, mappings and sequences recursively."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return _num(value)


def display_split(result: ScenarioResult, lang: str = "en") -> pd.DataFrame:
    """``split_frame`` with channel names for display (``lib.i18n.display_channel``)."""
    frame = result.split_frame()
    frame.insert(1, "channel_label", [display_channel(c, lang) for c in frame["channel"]])
    return frame
