"""The campaign calculator (pure): what a play costs and what it adds over what the tier buys anyway.

Why a module of its own: the formulas below are the playbook's promise to its
reader; they take numbers and return numbers, with no query and no text.

Calculator (all money in CNY; one point is worth ``POINT_VALUE_CNY`` = 0.01). The headline
is *incremental*: what the play adds over what the tier buys anyway::

    held out            = audience × holdout share            (not contacted: the control group)
    contacted           = audience − held out
    responders          = contacted × response rate            (everyone contacted who buys in the window)
    baseline rate       = of the tier's members BASELINE_DAYS before the as-of date (cut-offs frozen
                          at the as-of date), the share who ordered in the BASELINE_DAYS up to it —
                          measured on the ledger (:mod:`lib.metrics`), the tier's own history
    lift                = response rate − baseline rate         (percentage points; below 0 counts as 0)
    incremental buyers  = contacted × lift
    net AOV             = the tier's members' net sales ÷ orders (``kpi.aov`` in lib.metrics) × aov_multiplier
    incremental revenue = incremental buyers × net AOV
    gross revenue       = responders × net AOV                  (shown only as such: it counts people
                                                                 who would have bought anyway)
    incremental profit  = incremental revenue × gross margin
    incentive cost      = responders × redemption_rate × incentive   (coupons go to every buyer)
    points cost         = responders × points_per_responder × 0.01
    contact cost        = contacted × contact_cost
    total cost          = incentive + points + contact cost
    net                 = incremental profit − total cost
    ROI                 = net / total cost   (a percentage, as ``roi`` in lib.metrics; None when nothing is spent)
    cost per responder  = total cost / responders   (None when nobody responds)

Gross margin and the holdout share are the playbook's :class:`CampaignAssumptions`
(editable, saved with the plays). A play whose figures fall outside
:data:`PLAUSIBLE` (incremental ROI above 1,000%, or a response lift above 30
points) is flagged with the reason, as is a play whose response rate does not beat
the baseline or whose tier has no history to measure a baseline from
(:func:`economics_flags`, :func:`flag_reasons`): the page, the workbook and the
review pack all show the same warnings.

A play's audience is the tier's members × ``audience_share`` (or, for the
high-value "silent 3 months" play, the customers who were in the tier 90 days
ago and have not ordered since; its baseline is measured on the same kind of
customers one window earlier). The calculator treats every play as independent:
a customer reached by two plays is counted in both, and a tier's total is the
sum of its plays.

The plan's rule "a high-value recall may cost up to 3× a normal one" is the
``recall_rule``: the normal cost is the dormant-user coupon's cost per
reactivated customer (it does not depend on the audience size), and every play
of a group with ``cost_cap_multiple`` (high-value tier; Champions and Can't Lose
Them) is flagged when its cost per responder exceeds that multiple of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lib.formatting import pct, points
from lib.i18n import t
from lib.playbooks.checks import is_number
from lib.playbooks.content import (
    BASELINE_DAYS,
    DEFAULT_GROSS_MARGIN,
    FLAG_CODES,
    PLAUSIBLE,
    POINT_VALUE_CNY,
    CalculatorInputs,
    PlausibilityBounds,
    Playbook,
)

# --------------------------------------------------------------------------------------
# The campaign calculator (pure)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignEconomics:
    """What one campaign (or a tier's plays together) adds, costs and returns, in CNY.

    The headline numbers are incremental over the tier's baseline (see the module
    docstring): ``incremental_revenue``, ``incremental_profit`` (× gross margin),
    ``net`` (incremental profit − total cost) and ``roi`` (net / total cost, None when
    nothing is spent). ``gross_revenue`` is every responder's orders, including those
    who would have bought anyway — shown only under that name. ``baseline_rate`` is
    None when it could not be measured (then counted as 0 and flagged). ``lift`` is the
    response rate minus the baseline (negative when the play does not beat it; the
    incremental figures then count 0). ``cost_per_responder`` is total cost /
    responders (None when nobody responds) — the cost per reactivated customer for
    recall plays; ``points_roi`` is gross revenue / points cost (the plan wants ≥ 3,
    "1:3"). ``cost_cap`` is the most a responder may cost under the recall rule and
    ``over_cost_cap`` whether this campaign exceeds it. ``flags`` are the
    :data:`FLAG_CODES` that apply (:func:`economics_flags`).
    """

    audience: float
    responders: float
    aov: float
    incremental_revenue: float
    incentive_cost: float
    points_cost: float
    contact_cost: float
    total_cost: float
    net: float
    roi: float | None
    cost_per_responder: float | None
    points_roi: float | None = None
    cost_cap: float | None = None
    over_cost_cap: bool = False
    held_out: float = 0.0
    contacted: float = 0.0
    response_rate: float = 0.0
    baseline_rate: float | None = 0.0
    lift: float = 0.0
    incremental_responders: float = 0.0
    gross_revenue: float = 0.0
    gross_margin: float = DEFAULT_GROSS_MARGIN
    holdout_share: float = 0.0
    incremental_profit: float = 0.0
    flags: tuple[str, ...] = ()


def _check_input(name: str, value: Any, *, rate: bool = False) -> float:
    if not is_number(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    number = float(value)
    if number < 0:
        raise ValueError(f"{name} cannot be negative ({number:g})")
    if rate and number > 1:
        raise ValueError(f"{name} is a share between 0 and 1 ({number:g})")
    return number


def recall_cost_rule(normal_cost_per_customer: float | None, multiple: float = 3.0) -> float | None:
    """The most a high-value recall may cost per reactivated customer: ``multiple`` × the normal cost.

    None when the normal cost is unknown (e.g. the reference play has a 0% response rate).
    """
    if normal_cost_per_customer is None:
        return None
    return _check_input("normal_cost_per_customer", normal_cost_per_customer) * _check_input("multiple", multiple)


def economics_flags(
    roi: float | None, lift: float, baseline_rate: float | None, contacted: float,
    bounds: PlausibilityBounds = PLAUSIBLE,
) -> tuple[str, ...]:
    """Why a campaign's figures should not be believed as they stand (:data:`FLAG_CODES` order).

    ``roi_high``: incremental ROI above ``bounds.max_roi``; ``lift_high``: response rate
    more than ``bounds.max_lift`` above the baseline; ``no_lift``: the response rate does
    not beat the baseline (the play adds no sales); ``no_baseline``: the tier has no
    history to measure a baseline from (the figures then assume nobody would have bought
    anyway). Nothing is flagged for a campaign that contacts nobody.
    """
    if contacted <= 0:
        return ()
    found = {
        "roi_high": roi is not None and roi > bounds.max_roi + 1e-12,
        "lift_high": lift > bounds.max_lift + 1e-12,
        "no_lift": lift <= 1e-12,
        "no_baseline": baseline_rate is None,
    }
    return tuple(code for code in FLAG_CODES if found[code])


def campaign_economics(
    audience: float,
    response_rate: float,
    aov: float | None,
    incentive: float,
    redemption_rate: float,
    points_per_responder: float,
    contact_cost: float,
    aov_multiplier: float = 1.0,
    cost_cap_multiple: float | None = None,
    *,
    normal_cost_per_responder: float | None = None,
    baseline_rate: float | None = 0.0,
    gross_margin: float = DEFAULT_GROSS_MARGIN,
    holdout_share: float = 0.0,
    bounds: PlausibilityBounds = PLAUSIBLE,
) -> CampaignEconomics:
    """One campaign's incremental revenue and profit over the baseline, its costs, net, ROI and flags.

    ``aov`` is the tier's net average order value (None counts as 0);
    ``baseline_rate`` the share of the audience that buys in the window anyway (None:
    not measurable — counted as 0 and flagged); ``holdout_share`` of the audience is
    not contacted (and costs nothing). With ``cost_cap_multiple`` and
    ``normal_cost_per_responder`` the cap (:func:`recall_cost_rule`) is set and
    ``over_cost_cap`` flags a cost per responder above it. Raises ValueError for
    negative or non-finite inputs, rates above 1 and a holdout of 100%.
    """
    audience = _check_input("audience", audience)
    response_rate = _check_input("response_rate", response_rate, rate=True)
    aov_value = 0.0 if aov is None or (isinstance(aov, float) and math.isnan(aov)) else _check_input("aov", aov)
    incentive = _check_input("incentive", incentive)
    redemption_rate = _check_input("redemption_rate", redemption_rate, rate=True)
    points_per_responder = _check_input("points_per_responder", points_per_responder)
    contact_cost = _check_input("contact_cost", contact_cost)
    aov_multiplier = _check_input("aov_multiplier", aov_multiplier)
    baseline = None if baseline_rate is None else _check_input("baseline_rate", baseline_rate, rate=True)
    gross_margin = _check_input("gross_margin", gross_margin, rate=True)
    holdout_share = _check_input("holdout_share", holdout_share, rate=True)
    if holdout_share >= 1:
        raise ValueError("holdout_share must leave someone to contact (below 1)")

    held_out = float(math.floor(audience * holdout_share + 0.5)) if holdout_share > 0 else 0.0
    contacted = audience - held_out
    responders = contacted * response_rate
    lift = response_rate - (baseline or 0.0)
    incremental_responders = contacted * max(lift, 0.0)
    effective_aov = aov_value * aov_multiplier
    gross_revenue = responders * effective_aov
    revenue = incremental_responders * effective_aov
    profit = revenue * gross_margin
    incentive_cost = responders * redemption_rate * incentive
    points_cost = responders * points_per_responder * POINT_VALUE_CNY
    contact_total = contacted * contact_cost
    total = incentive_cost + points_cost + contact_total
    net = profit - total
    roi = net / total if total > 0 else None
    per_responder = total / responders if responders > 0 else None
    cap = None
    if cost_cap_multiple is not None and normal_cost_per_responder is not None:
        cap = recall_cost_rule(normal_cost_per_responder, cost_cap_multiple)
    return CampaignEconomics(
        audience=audience,
        responders=responders,
        aov=effective_aov,
        incremental_revenue=revenue,
        incentive_cost=incentive_cost,
        points_cost=points_cost,
        contact_cost=contact_total,
        total_cost=total,
        net=net,
        roi=roi,
        cost_per_responder=per_responder,
        points_roi=gross_revenue / points_cost if points_cost > 0 else None,
        cost_cap=cap,
        over_cost_cap=bool(cap is not None and per_responder is not None and per_responder > cap + 1e-9),
        held_out=held_out,
        contacted=contacted,
        response_rate=response_rate,
        baseline_rate=baseline,
        lift=lift,
        incremental_responders=incremental_responders,
        gross_revenue=gross_revenue,
        gross_margin=gross_margin,
        holdout_share=holdout_share,
        incremental_profit=profit,
        flags=economics_flags(roi, lift, baseline, contacted, bounds),
    )


def sum_economics(parts: Sequence[CampaignEconomics], cost_cap: float | None = None) -> CampaignEconomics:
    """Several campaigns added up (a tier's total): audiences, buyers, revenue, profit and costs summed,
    ratios recomputed; ``aov`` is gross revenue per responder, ``response_rate`` and ``baseline_rate`` are
    per contacted customer (the baseline None if any part's is unknown), ``lift`` their difference.
    ``over_cost_cap`` is True if any part is over; ``flags`` are every part's flags."""
    audience = sum(p.audience for p in parts)
    contacted = sum(p.contacted for p in parts)
    responders = sum(p.responders for p in parts)
    gross_revenue = sum(p.gross_revenue for p in parts)
    revenue = sum(p.incremental_revenue for p in parts)
    profit = sum(p.incremental_profit for p in parts)
    incentive_cost = sum(p.incentive_cost for p in parts)
    points_cost = sum(p.points_cost for p in parts)
    contact_cost = sum(p.contact_cost for p in parts)
    total = incentive_cost + points_cost + contact_cost
    net = profit - total
    known = all(p.baseline_rate is not None for p in parts)
    baseline_buyers = sum(p.contacted * (p.baseline_rate or 0.0) for p in parts)
    response = responders / contacted if contacted > 0 else 0.0
    baseline = (baseline_buyers / contacted if contacted > 0 else 0.0) if known else None
    flags = {code for p in parts for code in p.flags}
    return CampaignEconomics(
        audience=audience,
        responders=responders,
        aov=gross_revenue / responders if responders > 0 else 0.0,
        incremental_revenue=revenue,
        incentive_cost=incentive_cost,
        points_cost=points_cost,
        contact_cost=contact_cost,
        total_cost=total,
        net=net,
        roi=net / total if total > 0 else None,
        cost_per_responder=total / responders if responders > 0 else None,
        points_roi=gross_revenue / points_cost if points_cost > 0 else None,
        cost_cap=cost_cap,
        over_cost_cap=any(p.over_cost_cap for p in parts),
        held_out=sum(p.held_out for p in parts),
        contacted=contacted,
        response_rate=response,
        baseline_rate=baseline,
        lift=response - (baseline or 0.0),
        incremental_responders=sum(p.incremental_responders for p in parts),
        gross_revenue=gross_revenue,
        gross_margin=profit / revenue if revenue > 0 else (parts[0].gross_margin if parts else DEFAULT_GROSS_MARGIN),
        holdout_share=sum(p.held_out for p in parts) / audience if audience > 0 else 0.0,
        incremental_profit=profit,
        flags=tuple(code for code in FLAG_CODES if code in flags),
    )


def flag_reasons(economics: CampaignEconomics, lang: str = "en", bounds: PlausibilityBounds = PLAUSIBLE) -> list[str]:
    """One sentence per flag of ``economics``, with its numbers, in ``lang`` (empty list = nothing to flag)."""
    values = {
        "roi": pct(economics.roi, decimals=0),
        "max_roi": pct(bounds.max_roi, decimals=0),
        "response": pct(economics.response_rate),
        "baseline": pct(economics.baseline_rate),
        "lift": points(economics.lift, lang),
        "max_lift": points(bounds.max_lift, lang, decimals=0).lstrip("+"),
        "days": BASELINE_DAYS,
    }
    return [t(f"playbooks.flag.{code}", lang, **values) for code in economics.flags]


def cost_per_responder(inputs: CalculatorInputs) -> float | None:
    """A play's cost per responder, which does not depend on the audience size:
    contact cost / response rate + redemption rate × incentive + points × 0.01 (None at a 0% response rate)."""
    return campaign_economics(
        1.0, inputs.response_rate, 0.0, inputs.incentive, inputs.redemption_rate,
        inputs.points_per_responder, inputs.contact_cost, inputs.aov_multiplier,
    ).cost_per_responder


def normal_recall_cost(playbook: Playbook) -> float | None:
    """The normal customer's recall cost per reactivated customer: the recall rule's reference play
    (the dormant-user coupon by default). None if that play is missing or has a 0% response rate."""
    rule = playbook.recall_rule
    try:
        play = playbook.play(rule.reference_group, rule.reference_play)
    except KeyError:
        return None
    return cost_per_responder(play.calculator)
