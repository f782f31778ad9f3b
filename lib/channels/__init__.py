"""Channels: what each paid channel spent and earned, its response curve, and the marketing-mix model.

Why a package: the Channels page, the Scenarios page, the review pack and the CLI all ask the
same questions of a dataset's channel data — the per-channel table for a period, each channel's
response curve (fitted on its own attributed outcome), and the marketing-mix model (each
channel's share of one total weekly outcome, with honest intervals). This package answers them:

* ``performance`` — the per-channel table, weekly metrics and the current weekly split;
* ``curves`` — adstock and saturation curves fitted per channel, and typed-in overrides;
* the marketing-mix model on weekly arrays (pure maths): ``design`` (weekly inputs, baseline
  columns, adstock × saturation candidates), ``solver`` (variable projection), ``intervals``
  (the block bootstrap), ``fitting`` (``fit_mmm``, step by step), ``results`` (what a fit
  reports), ``plans`` (forecasts, the best split, the budget for a target), ``texts`` (warnings in
  plain words), ``simulate`` (data from known curves, for tests and the benchmark);
* ``model`` — the model's weekly arrays gathered from a dataset, and the fit of a dataset;
* ``split`` — next quarter's split of a budget on the fitted curves (the optimiser tab);
* ``charts`` — the Channels page's Altair charts.

Callers use only the names below: ``from lib import channels; channels.channel_table(...)``.
"""

from __future__ import annotations

from lib.channels.charts import (
    allocation_chart,
    mmm_response_chart,
    phasing_chart,
    response_curve_chart,
    share_gap_chart,
    week_ticks,
    weekly_spend_chart,
)
from lib.channels.curves import (
    PARAM_NAMES,
    ChannelFit,
    CurveFit,
    apply_overrides,
    fit_all,
    fits_summary,
    geometric_adstock,
    hill,
    load_overrides,
    save_override,
    usable_curves,
    weekly_channel_frame,
)
from lib.channels.design import CNY_DATES, MmmData, baseline_matrix, festival_indicators
from lib.channels.fitting import fit_mmm
from lib.channels.plans import OptimisedPlan, PlanForecast, budget_for_target, current_mix, optimise_budget, predict_plan
from lib.channels.results import ChannelResult, GroupResult, MmmFit, response_curve
from lib.channels.split import QuarterSplit, min_quarter_budget, optimise_quarter, quarter_curves
from lib.channels.simulate import SimTruth, simulate_weekly_data
from lib.channels.texts import WARNING_TEXT, explain_warning
from lib.channels.model import (
    ChannelModel,
    ModelDataMissing,
    ModelInput,
    OutcomeSource,
    available_sources,
    coverage_note,
    fit,
)
from lib.channels.performance import (
    ChannelTable,
    channel_table,
    fit_channel_curves,
    recent_weekly_spend,
    weekly_channel_metrics,
)

__all__ = [
    # performance
    "ChannelTable", "channel_table", "fit_channel_curves", "recent_weekly_spend", "weekly_channel_metrics",
    # curves
    "PARAM_NAMES", "ChannelFit", "CurveFit", "apply_overrides", "fit_all",
    "fits_summary", "geometric_adstock", "hill", "load_overrides", "save_override",
    "usable_curves", "weekly_channel_frame",
    # marketing-mix model
    "CNY_DATES", "WARNING_TEXT", "ChannelResult", "GroupResult", "MmmData", "MmmFit", "OptimisedPlan", "PlanForecast",
    "SimTruth", "baseline_matrix", "budget_for_target", "current_mix", "explain_warning", "festival_indicators",
    "fit_mmm", "optimise_budget", "predict_plan", "response_curve", "simulate_weekly_data",
    # the model of a dataset
    "ChannelModel", "ModelDataMissing", "ModelInput", "OutcomeSource", "available_sources",
    "coverage_note", "fit",
    # next quarter's split on the curves
    "QuarterSplit", "min_quarter_budget", "optimise_quarter", "quarter_curves",
    # charts
    "allocation_chart", "mmm_response_chart", "phasing_chart", "response_curve_chart", "share_gap_chart",
    "week_ticks", "weekly_spend_chart",
]
