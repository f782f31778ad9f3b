"""Predicted customer value of a dataset: the segment engine's lifetimes summary through :mod:`lib.value.clv`.

Why this module exists: :mod:`lib.value.clv` is pure maths on a summary table; the pages, the
CLI and the exports need it on a *dataset* — the net-of-cancellations orders of the
:mod:`lib.metrics` ledger, summarised by :func:`lib.segments.customer_summary` in DuckDB
(one row per customer reaches Python), scored in one vectorised pass, joined back to
what a lead recognises (spend to date, days since the last order) — plus the
calibration/holdout check that shows how far to trust it.

Definitions (per customer, at the as-of date):

* ``p_alive`` — the BG/NBD probability that the customer has not silently left.
* ``expected_purchases_<h>`` — expected purchase *days* in the next h days.
* ``clv_<h>`` — predicted net revenue over the next h days, discounted monthly at the
  stated annual rate (:func:`lib.value.clv.clv`).
* ``next_purchase_days`` — the median wait until the next purchase if still a customer.
* ``value_tier`` — top / middle / low by predicted value, ``lost`` below P(alive) 0.1.
* ``value_at_stake`` — the predicted value a customer would have if still a customer
  (``clv / p_alive``) times the chance they are gone (``1 − p_alive``): whom to call first.
* ``at_risk`` — among customers whose net spend to date is in the top 20%, those whose
  P(alive) has fallen below :data:`AT_RISK_P_ALIVE` but who are not yet lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from lib.value import clv
from lib import segments as seg
from lib.sql_engine import QueryTarget

DEFAULT_HORIZONS: tuple[int, ...] = (90, 365)
DEFAULT_DISCOUNT_RATE = 0.10
AT_RISK_P_ALIVE = 0.5
AT_RISK_SPEND_SHARE = 0.2  # the top fifth of customers by net spend to date are "valuable"


@dataclass(frozen=True)
class Prediction:
    """Every customer's predictions at one as-of date, and the fitted models behind them."""

    as_of: date
    customers: pd.DataFrame
    bgnbd: clv.BgNbdFit
    gamma_gamma: clv.GammaGammaFit | None
    horizons: tuple[int, ...]
    discount_rate_annual: float
    notes: tuple[str, ...] = ()

    @property
    def value_column(self) -> str:
        """The CLV column of the longest horizon (what tiers and totals use)."""
        return f"clv_{max(self.horizons)}"

    def totals(self) -> dict[str, float]:
        """Expected customers still with us, predicted value of the longest horizon, and at-risk counts."""
        c = self.customers
        at_risk = c[c["at_risk"]]
        return {
            "customers": float(len(c)),
            "expected_alive": float(c["p_alive"].sum()),
            "predicted_value": float(c[self.value_column].sum(min_count=1)) if len(c) else 0.0,
            "at_risk_customers": float(len(at_risk)),
            "value_at_stake": float(at_risk["value_at_stake"].sum()),
        }

    def parameters(self) -> dict[str, Any]:
        """The fitted parameters and log-likelihoods, JSON-ready."""
        out: dict[str, Any] = {
            "bgnbd": {name: float(getattr(self.bgnbd, name)) for name in clv.BGNBD_PARAMS},
            "bgnbd_log_likelihood": float(self.bgnbd.log_likelihood),
            "bgnbd_converged": bool(self.bgnbd.converged),
            "bgnbd_at_boundary": list(self.bgnbd.at_boundary),
        }
        if self.gamma_gamma is not None:
            out["gamma_gamma"] = {name: float(getattr(self.gamma_gamma, name)) for name in clv.GAMMA_GAMMA_PARAMS}
            out["gamma_gamma_log_likelihood"] = float(self.gamma_gamma.log_likelihood)
        return out


def _summary(ws: QueryTarget, dataset: seg.SourceLike, as_of: date | datetime | str | None) -> tuple[date, pd.DataFrame]:
    src = seg.as_source(dataset, ws)
    as_of_d = seg.default_as_of(ws, src) if as_of is None else pd.Timestamp(str(as_of)).date()
    if as_of_d is None:
        raise clv.ModelUnsupported("no_orders", "The dataset has no orders to predict from.", needed=1, found=0)
    return as_of_d, seg.customer_summary(ws, src, as_of_d)


def predict(
    ws: QueryTarget,
    dataset: seg.SourceLike,
    as_of: date | datetime | str | None = None,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    discount_rate_annual: float = DEFAULT_DISCOUNT_RATE,
) -> Prediction:
    """Fit BG/NBD + Gamma-Gamma on the dataset's orders up to ``as_of`` (default: the last order day) and score everyone.

    Raises :class:`lib.value.clv.ModelUnsupported` (with how many repeat buyers are needed)
    when the data cannot support the purchase model.
    """
    as_of_d, summary = _summary(ws, dataset, as_of)
    scored = clv.score_customers(summary, horizons=horizons, discount_rate_annual=discount_rate_annual)
    frame = summary[["customer_id", "orders", "revenue", "days_since_last_order", "first_order_date",
                     "last_order_date"]].join(
        scored.customers.drop(columns="customer_id")
    )
    value = frame[f"clv_{max(scored.horizons)}"]
    valuable = frame["revenue"] >= frame["revenue"].quantile(1 - AT_RISK_SPEND_SHARE) if len(frame) else frame["revenue"]
    frame["at_risk"] = (valuable & (frame["p_alive"] < AT_RISK_P_ALIVE) & (frame["p_alive"] >= clv.LOST_P_ALIVE)
                        & (frame["revenue"] > 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        stake = (value / frame["p_alive"]) * (1 - frame["p_alive"])
    frame["value_at_stake"] = stake.fillna(0.0)
    return Prediction(
        as_of=as_of_d, customers=frame, bgnbd=scored.bgnbd, gamma_gamma=scored.gamma_gamma,
        horizons=scored.horizons, discount_rate_annual=discount_rate_annual, notes=tuple(scored.notes),
    )


def at_risk_list(prediction: Prediction, limit: int | None = 200) -> pd.DataFrame:
    """Valuable customers slipping away, the most value at stake first (who to contact first)."""
    c = prediction.customers
    ranked = c[c["at_risk"]].sort_values(["value_at_stake", "customer_id"], ascending=[False, True])
    return ranked.head(limit) if limit else ranked


def contact_first(prediction: Prediction, customer_ids: pd.Series | list[str], limit: int = 10) -> pd.DataFrame:
    """Of the given customers (e.g. a tier's members), the ones with the most value at stake, first."""
    c = prediction.customers
    chosen = c[c["customer_id"].isin(set(customer_ids))]
    return chosen.sort_values(["value_at_stake", "customer_id"], ascending=[False, True]).head(limit)


def tier_values(prediction: Prediction, tiers: pd.DataFrame, column: str = "tier") -> pd.DataFrame:
    """Per tier (or segment): customers, expected still-active customers, predicted value and value at stake.

    ``tiers`` has ``customer_id`` and the group ``column`` (e.g. from :func:`lib.segments.segment_customers`).
    """
    merged = tiers[["customer_id", column]].merge(prediction.customers, on="customer_id", how="left")
    value = prediction.value_column
    grouped = merged.groupby(column, observed=True)
    return pd.DataFrame({
        "customers": grouped.size(),
        "expected_alive": grouped["p_alive"].sum(),
        "predicted_value": grouped[value].sum(min_count=1),
        "predicted_value_per_customer": grouped[value].mean(),
        "value_at_stake": grouped["value_at_stake"].sum(),
        "at_risk": grouped["at_risk"].sum(),
    }).reset_index()


def predicted_ltv(prediction: Prediction, first_from: date | None = None, first_to: date | None = None,
                  horizon: int | None = None) -> float | None:
    """Predicted LTV of a customer: net spend so far + predicted net revenue over ``horizon`` days (default: the longest).

    Averaged over the customers whose first order falls in ``first_from`` … ``first_to``
    (e.g. a quarter's new customers: the LTV that an LTV/CAC rule should weigh a CAC
    against), or over everyone when no range is given. None when nobody qualifies.
    """
    column = f"clv_{horizon or max(prediction.horizons)}"
    c = prediction.customers
    if column not in c:
        return None
    chosen = pd.Series(True, index=c.index)
    first = pd.to_datetime(c["first_order_date"])
    if first_from is not None:
        chosen &= first >= pd.Timestamp(first_from)
    if first_to is not None:
        chosen &= first <= pd.Timestamp(first_to)
    value = (c.loc[chosen, "revenue"] + c.loc[chosen, column]).mean()
    return None if pd.isna(value) else float(value)


# --------------------------------------------------------------------------------------
# Cohorts: retention and cumulative net revenue by first-order month, actual beside predicted
# --------------------------------------------------------------------------------------

MONTH_DAYS = 365.25 / 12


def cohort_activity(ws: QueryTarget, dataset: seg.SourceLike, as_of: date | datetime | str | None = None,
                    months: int = 12) -> pd.DataFrame:
    """Per first-order month and month since it (0 … ``months``): the cohort's customers and mean first
    order, and in that month the customers who ordered and their net revenue (one SQL statement)."""
    src = seg.as_source(dataset, ws)
    as_of_d = seg.default_as_of(ws, src) if as_of is None else pd.Timestamp(str(as_of)).date()
    if as_of_d is None:
        return pd.DataFrame(columns=["cohort", "k", "customers", "first_value", "active", "net"])
    rows = seg.run_query(ws, f"""
        WITH l AS (SELECT customer_id, order_ts, amount, is_order FROM ({src.sql}) AS src WHERE order_ts < $before_ts),
        firsts AS (SELECT customer_id, min(order_ts) AS first_ts FROM l WHERE is_order GROUP BY customer_id),
        firsts_value AS (
            SELECT f.customer_id, f.first_ts, date_trunc('month', f.first_ts) AS cohort,
                   sum(l.amount) FILTER (WHERE CAST(l.order_ts AS DATE) = CAST(f.first_ts AS DATE)) AS first_value
            FROM firsts AS f JOIN l USING (customer_id) GROUP BY ALL
        ),
        activity AS (
            SELECT l.customer_id, f.cohort,
                   CAST(datediff('month', f.cohort, date_trunc('month', l.order_ts)) AS INTEGER) AS k,
                   bool_or(l.is_order) AS ordered, sum(l.amount) AS net
            FROM l JOIN firsts_value AS f USING (customer_id) GROUP BY ALL
        ),
        sizes AS (SELECT cohort, count(*) AS customers, avg(first_value) AS first_value FROM firsts_value GROUP BY cohort)
        SELECT a.cohort, a.k, any_value(s.customers) AS customers, any_value(s.first_value) AS first_value,
               count(*) FILTER (WHERE a.ordered) AS active, sum(a.net) AS net
        FROM activity AS a JOIN sizes AS s USING (cohort)
        WHERE a.k <= $months GROUP BY ALL ORDER BY a.cohort, a.k
    """, {**src.params, "before_ts": datetime.combine(as_of_d + timedelta(days=1), datetime.min.time()),
          "months": int(months)})
    rows.attrs["as_of"] = as_of_d
    return rows


def cohorts(activity: pd.DataFrame, prediction: Prediction, months: int = 12) -> pd.DataFrame:
    """Per first-order month and month since it (0 … ``months``): customers, retention, cumulative net revenue,
    each beside what the models of ``prediction`` expect.

    ``activity`` is :func:`cohort_activity` at the prediction's as-of date. ``retention`` = share of
    the cohort's customers with an order in that month after their first (month 0 is the first
    order: 100 %), ``predicted_retention`` what the purchase model expects
    (:func:`simulated_retention`); ``revenue_per_customer`` = cumulative net revenue per cohort
    customer up to the end of that month; ``predicted_revenue_per_customer`` = the cohort's mean
    first order + the repeat purchases expected by then × the expected spend per purchase. Only
    complete months (ended by the as-of date) are listed.
    """
    if activity.empty:
        return activity
    as_of_month = pd.Timestamp(prediction.as_of).to_period("M")
    frames = []
    mean_spend = (clv.expected_spend(prediction.gamma_gamma, np.zeros(1), np.zeros(1))[0]
                  if prediction.gamma_gamma is not None else float("nan"))
    predicted_retention = simulated_retention(prediction.bgnbd, months)
    for cohort, group in activity.groupby("cohort"):
        start = pd.Timestamp(cohort).to_period("M")  # type: ignore[arg-type]  # groupby keys are typed too widely
        complete = (as_of_month - start).n - 1  # months since the cohort's that have ended by the as-of date
        if complete < 0:
            continue
        grid = pd.DataFrame({"k": np.arange(0, min(months, complete) + 1)})
        g = grid.merge(group[["k", "active", "net"]], on="k", how="left").fillna({"active": 0, "net": 0.0})
        customers = int(group["customers"].iloc[0])
        # By the end of calendar month k a cohort member is on average k + ½ months past the first order.
        repeat = clv.expected_purchases(prediction.bgnbd, (g["k"].to_numpy() + 0.5) * MONTH_DAYS, 0.0, 0.0, 0.0)
        frames.append(pd.DataFrame({
            "cohort": start.to_timestamp().date(), "month": g["k"].to_numpy(), "customers": customers,
            "retention": np.where(g["k"] == 0, 1.0, g["active"] / customers),
            "predicted_retention": predicted_retention[g["k"].to_numpy()],
            "revenue_per_customer": g["net"].cumsum().to_numpy() / customers,
            "predicted_revenue_per_customer": float(group["first_value"].iloc[0]) + repeat * mean_spend,
        }))
    return pd.concat(frames, ignore_index=True) if frames else activity.iloc[0:0]


def simulated_retention(fit: clv.BgNbdFit, months: int, customers: int = 20_000, seed: int = 0) -> np.ndarray:
    """P(an order in calendar month k after the first order's month), k = 0 … ``months``, under the fitted BG/NBD.

    Simulated (the closed form needs a hypergeometric term per month): each customer's rate
    λ ~ Gamma(r, α) and drop-out p ~ Beta(a, b); the first order falls uniformly within month 0;
    after each repeat purchase the customer leaves with probability p, as in the model. Month 0
    is 1 by definition. A fixed seed keeps the curve the same from one view to the next.
    """
    return _simulated_retention(fit.r, fit.alpha, fit.a, fit.b, months, customers, seed).copy()


@lru_cache(maxsize=32)
def _simulated_retention(r: float, alpha: float, a: float, b: float, months: int, customers: int, seed: int
                         ) -> np.ndarray:
    """:func:`simulated_retention` by value (pages redraw it on every rerun; the fit changes with the data)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1.0 / alpha, customers)
    drop = rng.beta(a, b, customers)
    offset = rng.random(customers) * MONTH_DAYS
    horizon = (months + 1) * MONTH_DAYS
    bought = np.zeros((customers, months + 1), dtype=bool)
    bought[:, 0] = True
    t = offset.copy()
    alive = np.ones(customers, dtype=bool)
    while alive.any():
        t = t + rng.exponential(1.0, customers) / np.maximum(rate, 1e-12)
        alive &= t < horizon
        month = np.minimum((t / MONTH_DAYS).astype(int), months)
        bought[np.flatnonzero(alive), month[alive]] = True
        alive &= rng.random(customers) >= drop
    return np.asarray(bought.mean(axis=0), dtype=np.float64)


def pooled_cohort_curve(table: pd.DataFrame) -> pd.DataFrame:
    """All cohorts together, weighted by their customers: cumulative net revenue per customer by month, actual and predicted."""
    if table.empty:
        return pd.DataFrame(columns=["month", "customers", "actual", "predicted"])
    weighted = table.assign(a=table["revenue_per_customer"] * table["customers"],
                            p=table["predicted_revenue_per_customer"] * table["customers"],
                            ra=table["retention"] * table["customers"],
                            rp=table["predicted_retention"] * table["customers"])
    grouped = weighted.groupby("month")
    out = pd.DataFrame({"customers": grouped["customers"].sum(), "actual": grouped["a"].sum(),
                        "predicted": grouped["p"].sum(), "retention": grouped["ra"].sum(),
                        "predicted_retention": grouped["rp"].sum()})
    for column in ("actual", "predicted", "retention", "predicted_retention"):
        out[column] /= out["customers"]
    return out.reset_index()


# --------------------------------------------------------------------------------------
# Calibration / holdout: how far to trust it
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldoutCheck:
    """Models fitted up to ``calibration_end``, compared with what happened up to ``holdout_end``."""

    calibration_end: date
    holdout_end: date
    table: pd.DataFrame  # lib.value.clv.calibration_table: by calibration repeat purchases 0 … 7+, then "all"
    bgnbd: clv.BgNbdFit
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def predicted_total(self) -> float:
        return float(self.table["predicted_total"].iloc[-1])

    @property
    def actual_total(self) -> float:
        return float(self.table["actual_total"].iloc[-1])

    @property
    def error(self) -> float | None:
        """(predicted − actual) ÷ actual over the holdout; None when nothing happened."""
        return (self.predicted_total - self.actual_total) / self.actual_total if self.actual_total else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "calibration_end": self.calibration_end.isoformat(), "holdout_end": self.holdout_end.isoformat(),
            "holdout_days": (self.holdout_end - self.calibration_end).days,
            "predicted_purchases": self.predicted_total, "actual_purchases": self.actual_total,
            "error": self.error, "by_calibration_purchases": self.table.to_dict(orient="records"),
        }




def holdout_check(
    ws: QueryTarget, dataset: seg.SourceLike, calibration_end: date | str, holdout_end: date | str | None = None,
) -> HoldoutCheck:
    """Fit on orders up to ``calibration_end``; predict purchase days up to ``holdout_end``; compare with the orders.

    Purchases are counted as lifetimes counts them: distinct days with an order, per
    customer who had bought by the calibration end. ``holdout_end`` defaults to the last order day.
    """
    src = seg.as_source(dataset, ws)
    cal_end = pd.Timestamp(str(calibration_end)).date()
    end = pd.Timestamp(str(holdout_end)).date() if holdout_end is not None else seg.default_as_of(ws, src)
    if end is None or end <= cal_end:
        raise clv.ModelUnsupported("bad_holdout", "The holdout must end after the calibration end.", needed=1, found=0)
    _, summary = _summary(ws, src, cal_end)
    fit = clv.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    actual = seg.run_query(
        ws,
        f"""SELECT customer_id, count(DISTINCT CAST(order_ts AS DATE)) AS days
            FROM ({src.sql}) AS src
            WHERE is_order AND order_ts >= $after_ts AND order_ts < $before_ts
            GROUP BY customer_id""",
        {**src.params, "after_ts": datetime.combine(cal_end + timedelta(days=1), datetime.min.time()),
         "before_ts": datetime.combine(end + timedelta(days=1), datetime.min.time())},
    ).set_index("customer_id")["days"]
    observed = actual.reindex(summary["customer_id"]).fillna(0).to_numpy(dtype=np.float64)
    horizon = float((end - cal_end).days)
    predicted = clv.expected_purchases(fit, horizon, summary["frequency"], summary["recency"], summary["T"])
    table = clv.calibration_table(predicted, observed, summary["frequency"])
    notes = (fit.message,) if (not fit.converged or fit.at_boundary) else ()
    return HoldoutCheck(calibration_end=cal_end, holdout_end=end, table=table, bgnbd=fit, notes=notes)
