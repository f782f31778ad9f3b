"""Predicted customer value: who is still a customer, what they will buy, and what they are worth.

Why a package: the Segments page's "Predicted value" tab, the playbooks, the Scenarios page, the
review pack and the CLI all need the same per-customer forecast. This package holds it:

* ``clv`` — the BG/NBD and Gamma-Gamma models (pure maths on a lifetimes-style summary);
* ``prediction`` — the forecast of a dataset: P(alive), expected purchases and spend, CLV and
  value tiers per customer, cohorts and the holdout check;
* ``charts`` — the Altair charts of the forecast.

Callers use only the names below: ``from lib import value; value.predict(ws, dataset_id)``.
"""

from __future__ import annotations

from lib.value.charts import (
    calibration_chart,
    cohort_curve_chart,
    cohort_retention_chart,
    p_alive_bins,
    p_alive_chart,
    tier_value_chart,
    tier_value_frame,
)
from lib.value.clv import (
    LOST_P_ALIVE,
    VALUE_TIERS,
    BgNbdFit,
    GammaGammaFit,
    ModelUnsupported,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
    score_customers,
    simulate_bgnbd,
)
from lib.value.prediction import (
    AT_RISK_P_ALIVE,
    AT_RISK_SPEND_SHARE,
    DEFAULT_HORIZONS,
    HoldoutCheck,
    Prediction,
    at_risk_list,
    cohort_activity,
    cohorts,
    contact_first,
    holdout_check,
    pooled_cohort_curve,
    predict,
    predicted_ltv,
    tier_values,
)

__all__ = [
    # the models
    "LOST_P_ALIVE", "VALUE_TIERS", "BgNbdFit", "GammaGammaFit", "ModelUnsupported", "expected_purchases",
    "fit_bgnbd", "fit_gamma_gamma", "p_alive", "score_customers", "simulate_bgnbd",
    # the forecast of a dataset
    "AT_RISK_P_ALIVE", "AT_RISK_SPEND_SHARE", "DEFAULT_HORIZONS", "HoldoutCheck", "Prediction", "at_risk_list",
    "cohort_activity", "cohorts", "contact_first", "holdout_check", "pooled_cohort_curve", "predict",
    "predicted_ltv", "tier_values",
    # charts
    "calibration_chart", "cohort_curve_chart", "cohort_retention_chart", "p_alive_bins", "p_alive_chart",
    "tier_value_chart", "tier_value_frame",
]
