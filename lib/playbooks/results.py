"""Money per play and per tier: the calculator applied to a tier's profile.

Why a module of its own: it joins the pure calculator (:mod:`.economics`) with the
measured profiles (:mod:`.profiles`) — audience, baseline, net order value — and
the plan's recall-cost rule, for the page, the export and the review pack.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from lib.playbooks.content import CampaignAssumptions, Play, Playbook
from lib.playbooks.economics import CampaignEconomics, campaign_economics, normal_recall_cost, recall_cost_rule, sum_economics
from lib.playbooks.profiles import TierProfile

# --------------------------------------------------------------------------------------
# Money per play and per tier
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayResult:
    """A play's calculator result for its tier's profile."""

    group: str
    play: Play
    audience: int
    aov: float | None
    economics: CampaignEconomics


@dataclass(frozen=True)
class TierSummary:
    """All plays of a tier with their economics, the tier total, and the recall rule's numbers.

    ``cost_cap`` is set for groups under the recall rule (high-value; Champions,
    Can't Lose Them); ``over_cap`` lists the plays whose cost per responder exceeds it;
    ``flagged`` the plays with any :data:`FLAG_CODES` (figures outside :data:`PLAUSIBLE`, no lift, no baseline).
    """

    group: str
    profile: TierProfile | None
    plays: tuple[PlayResult, ...]
    total: CampaignEconomics
    normal_recall_cost: float | None
    cost_cap: float | None
    over_cap: tuple[str, ...]
    flagged: tuple[str, ...] = ()


def play_audience(play: Play, profile: TierProfile | None) -> int:
    """Customers a play contacts: the members (or the 90-day-silent former members, for that basis)
    × the audience share, rounded to whole customers."""
    if profile is None:
        return 0
    base = profile.silent_90d if play.audience_basis == "silent_90d" else profile.members
    return int(math.floor(base * play.calculator.audience_share + 0.5))


def play_baseline(play: Play, profile: TierProfile | None) -> float | None:
    """The share of a play's audience that buys in the window anyway: the tier's baseline rate, or the
    90-day-silent customers' for that audience (None when the history cannot measure it)."""
    if profile is None:
        return None
    return profile.silent_baseline_rate if play.audience_basis == "silent_90d" else profile.baseline_rate


def play_economics(
    play: Play,
    profile: TierProfile | None,
    *,
    group: str = "",
    cost_cap_multiple: float | None = None,
    normal_cost_per_responder: float | None = None,
    assumptions: CampaignAssumptions | None = None,
) -> PlayResult:
    """The calculator run for one play on a tier's profile (audience, net AOV and baseline from the data;
    gross margin and holdout from ``assumptions``, the defaults when not given)."""
    assumptions = assumptions or CampaignAssumptions()
    audience = play_audience(play, profile)
    aov = profile.aov if profile is not None else None
    c = play.calculator
    economics = campaign_economics(
        audience, c.response_rate, aov, c.incentive, c.redemption_rate, c.points_per_responder,
        c.contact_cost, c.aov_multiplier, cost_cap_multiple, normal_cost_per_responder=normal_cost_per_responder,
        baseline_rate=play_baseline(play, profile), gross_margin=assumptions.gross_margin,
        holdout_share=assumptions.holdout_share,
    )
    return PlayResult(group=group or (profile.group if profile else ""), play=play, audience=audience, aov=aov,
                      economics=economics)


def tier_summary(
    playbook: Playbook,
    profiles: Mapping[str, TierProfile] | TierProfile | None,
    tier: str,
) -> TierSummary:
    """Every play of ``tier`` (a tier or segment key) run through the calculator, and their total.

    ``profiles`` is :func:`all_tier_profiles`' result (or the tier's own
    profile). A missing profile counts as an empty tier.
    """
    group = playbook.group(tier)
    if isinstance(profiles, TierProfile):
        profile: TierProfile | None = profiles if profiles.group == tier else None
    else:
        profile = (profiles or {}).get(tier)
    normal = normal_recall_cost(playbook)
    multiple = group.cost_cap_multiple
    cap = recall_cost_rule(normal, multiple) if multiple is not None else None
    results = tuple(
        play_economics(p, profile, group=tier, cost_cap_multiple=multiple, normal_cost_per_responder=normal,
                       assumptions=playbook.assumptions)
        for p in group.plays
    )
    total = sum_economics([r.economics for r in results], cost_cap=cap)
    return TierSummary(
        group=tier,
        profile=profile,
        plays=results,
        total=total,
        normal_recall_cost=normal,
        cost_cap=cap,
        over_cap=tuple(r.play.id for r in results if r.economics.over_cost_cap),
        flagged=tuple(r.play.id for r in results if r.economics.flags),
    )
