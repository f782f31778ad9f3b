"""Budget split templates from the plan, kept at 100 %, turned into money and into 13 weekly amounts.

Why it exists: the written plans budget by rule of thumb — by function 20/30/40/10,
by type 60–70 / 15–20 / 10–25, by phase 30/50/20, high-ROI channels ≥ 60 %,
experiments ≈ 10 % (``shared/domain.md`` §6). The budget page lets a user start
from one of these, edit it, see it against the actual spend mix, and turn it into
amounts per line and per week. This module holds the templates as data (labels
in ``lib/locales/budget.json``) and the arithmetic, so pages, exports and the
CLI agree to the yuan.

Conventions chosen here (and shown to users):

* Shares are fractions (0.30 = 30 %). ``rebalance`` keeps the total at exactly
  100 %: the changed line takes its new value and every *other unlocked* line is
  scaled in proportion to its current share to absorb the difference (lines at 0
  share the remainder equally when all others are 0). Locked lines never move;
  the changed line is capped so the locked lines still fit.
* Money is rounded with the largest-remainder method so the amounts always add
  up to the total (finance checks the sum — PyMC-Marketing #2048).
* Phases: the plan's 13 weeks are preparation 1–2, launch 3–4, operation 5–12,
  optimisation 13. The budget phases map onto them as **launch = weeks 1–4**
  (preparation spend such as seeding content plus the launch push), **peak =
  weeks 5–10** (the first six operation weeks, where a quarter's main promotion
  usually sits) and **wrap-up = weeks 11–13** (the end of operation and the
  review week). With 30/50/20 this gives 7.5 % / 8.3 % / 6.7 % of the budget per
  week — a gentle rise and fall rather than a spike in one week (putting all of
  wrap-up's 20 % into week 13 would triple that week's spend).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.channels import geometric_adstock
from lib.i18n import t

QUARTER_WEEKS = 13
# Plan phases of the 13-week execution plan (domain §7): (key, first week, last week).
PLAN_PHASES: tuple[tuple[str, int, int], ...] = (
    ("preparation", 1, 2),
    ("launch", 3, 4),
    ("operation", 5, 12),
    ("optimisation", 13, 13),
)
BUDGET_PHASES: tuple[str, ...] = ("launch", "peak", "wrap_up")
DEFAULT_PHASE_SPLIT: tuple[float, float, float] = (0.30, 0.50, 0.20)
DEFAULT_PHASE_WEEKS: tuple[int, int, int] = (4, 6, 3)
_SUM_TOLERANCE = 1e-9


@dataclass(frozen=True)
class SplitLine:
    """One line of a split template: its default share and the plan's range or rule."""

    key: str
    default: float
    low: float | None = None  # the plan's range / minimum (None = no rule)
    high: float | None = None

    @property
    def label_key(self) -> str:
        return f"budget.line.{self.key}"


@dataclass(frozen=True)
class SplitTemplate:
    """A named split from the plan; ``defaults()`` add up to 100 %."""

    key: str
    lines: tuple[SplitLine, ...]

    @property
    def label_key(self) -> str:
        return f"budget.template.{self.key}"

    @property
    def note_key(self) -> str:
        return f"budget.template.{self.key}.note"

    def defaults(self) -> dict[str, float]:
        return {line.key: line.default for line in self.lines}

    def line(self, key: str) -> SplitLine:
        for line in self.lines:
            if line.key == key:
                return line
        raise KeyError(f"template {self.key!r} has no line {key!r}")

    def label(self, lang: str = "en") -> str:
        return t(self.label_key, lang)


TEMPLATES: dict[str, SplitTemplate] = {
    template.key: template
    for template in (
        # 2025 plan: platform build 20 % + content 30 % + channel spend 40 % + team 10 %.
        SplitTemplate(
            "by_function",
            (
                SplitLine("platform", 0.20),
                SplitLine("content", 0.30),
                SplitLine("channel_spend", 0.40),
                SplitLine("team", 0.10),
            ),
        ),
        # Project template: marketing 60–70 %, technology 15–20 %, people and other 10–25 %; midpoints.
        SplitTemplate(
            "by_type",
            (
                SplitLine("marketing", 0.65, 0.60, 0.70),
                SplitLine("technology", 0.175, 0.15, 0.20),
                SplitLine("people_other", 0.175, 0.10, 0.25),
            ),
        ),
        # Launch 30 % / peak 50 % / wrap-up 20 % (see the module docstring for the weeks).
        SplitTemplate(
            "by_phase",
            (SplitLine("launch", 0.30), SplitLine("peak", 0.50), SplitLine("wrap_up", 0.20)),
        ),
        # High-ROI channels (Douyin ads, live commerce, private domain) ≥ 60 %; experiments ≈ 10 %
        # (read as 8–12 %); the rest for other channels.
        SplitTemplate(
            "by_channel_group",
            (
                SplitLine("high_roi", 0.60, 0.60, None),
                SplitLine("experiments", 0.10, 0.08, 0.12),
                SplitLine("other_channels", 0.30),
            ),
        ),
        # Product mix: traffic drivers 20 % / profit items 50 % / long tail 30 %.
        SplitTemplate(
            "product_mix",
            (SplitLine("traffic_drivers", 0.20), SplitLine("profit_items", 0.50), SplitLine("long_tail", 0.30)),
        ),
    )
}


def template(key: str) -> SplitTemplate:
    """A template by key; raises KeyError listing the known ones."""
    if key not in TEMPLATES:
        raise KeyError(f"unknown split template {key!r}; known: {', '.join(TEMPLATES)}")
    return TEMPLATES[key]


def template_frame(key: str, lang: str = "en", shares: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The template as a table for an editor: key, label, share, plan range, and whether it is met."""
    tpl = template(key)
    values = dict(shares) if shares is not None else tpl.defaults()
    rows = []
    for line in tpl.lines:
        share = float(values.get(line.key, 0.0))
        rows.append(
            {
                "key": line.key,
                "label": t(line.label_key, lang),
                "share": share,
                "low": line.low,
                "high": line.high,
                "plan_range": _range_text(line, lang),
                "within_plan": _within(line, share),
            }
        )
    return pd.DataFrame(rows)


def _range_text(line: SplitLine, lang: str) -> str:
    if line.low is not None and line.high is not None:
        return t("budget.range.between", lang, low=f"{line.low:.0%}", high=f"{line.high:.0%}")
    if line.low is not None:
        return t("budget.range.at_least", lang, low=f"{line.low:.0%}")
    if line.high is not None:
        return t("budget.range.at_most", lang, high=f"{line.high:.0%}")
    return t("budget.range.default", lang, share=f"{line.default:.0%}")


def _within(line: SplitLine, share: float) -> bool:
    eps = 1e-9
    return (line.low is None or share >= line.low - eps) and (line.high is None or share <= line.high + eps)


@dataclass(frozen=True)
class RangeIssue:
    """A line outside the plan's range (e.g. high-ROI channels below 60 %)."""

    key: str
    share: float
    low: float | None
    high: float | None

    def message(self, lang: str = "en") -> str:
        label = t(f"budget.line.{self.key}", lang)
        if self.low is not None and self.share < self.low:
            return t("budget.issue.below", lang, line=label, share=f"{self.share:.1%}", low=f"{self.low:.0%}")
        return t("budget.issue.above", lang, line=label, share=f"{self.share:.1%}", high=f"{self.high or 0:.0%}")


def range_issues(template_key: str, shares: Mapping[str, float]) -> list[RangeIssue]:
    """Lines whose share is outside the plan's range or rule."""
    tpl = template(template_key)
    issues = []
    for line in tpl.lines:
        share = float(shares.get(line.key, 0.0))
        if not _within(line, share):
            issues.append(RangeIssue(line.key, share, line.low, line.high))
    return issues


# ---------------------------------------------------------------------------
# Editing shares
# ---------------------------------------------------------------------------


def normalise(shares: Mapping[str, float]) -> dict[str, float]:
    """Scale non-negative shares to add up to exactly 1 (equal split if all are 0)."""
    keys = list(shares)
    values = np.array([max(0.0, float(shares[k])) for k in keys])
    if not keys:
        return {}
    total = values.sum()
    values = values / total if total > 0 else np.full(len(keys), 1.0 / len(keys))
    return _exact_sum(dict(zip(keys, values)), keys)


def _exact_sum(shares: dict[str, float], adjustable: Sequence[str]) -> dict[str, float]:
    """Put the floating-point residue on the largest adjustable line so the sum is exactly 1.0."""
    residue = 1.0 - math.fsum(shares.values())
    if residue and adjustable:
        key = max(adjustable, key=lambda k: shares[k])
        shares[key] = max(0.0, shares[key] + residue)
    return shares


def rebalance(
    shares: Mapping[str, float],
    changed_key: str,
    new_value: float,
    locked: Iterable[str] = (),
) -> dict[str, float]:
    """Set one line's share and keep the total at 100 %.

    The other unlocked lines are scaled in proportion to their current shares to
    absorb the difference; if they are all 0 the remainder is split equally
    among them. Locked lines keep their share; the changed line is limited to
    what the locked lines leave (and to 0–100 %). With no unlocked line to
    absorb the change, the changed line takes whatever keeps the total at 100 %.
    """
    if changed_key not in shares:
        raise KeyError(f"no line {changed_key!r} to change")
    current = {k: max(0.0, float(v)) for k, v in shares.items()}
    locked_set = set(locked) - {changed_key}
    locked_total = math.fsum(current[k] for k in locked_set if k in current)
    if locked_total > 1.0 + _SUM_TOLERANCE:
        raise ValueError("the locked lines already add up to more than 100%")
    others = [k for k in current if k != changed_key and k not in locked_set]
    available = max(0.0, 1.0 - locked_total)
    value = min(max(0.0, float(new_value)), available)
    if not others:
        value = available
    result = dict(current)
    result[changed_key] = value
    remainder = available - value
    other_total = math.fsum(current[k] for k in others)
    for k in others:
        result[k] = remainder * (current[k] / other_total if other_total > 0 else 1.0 / len(others))
    return _exact_sum(result, others or [changed_key])


def to_money(shares: Mapping[str, float], total: float, unit: float = 1.0) -> dict[str, float]:
    """Amounts per line for ``total``, rounded to ``unit`` and adding up exactly to the total.

    Largest-remainder rounding: each line gets its share rounded down to the
    unit, and the units left over go to the lines with the largest remainders.
    Shares are normalised first, so they need not add up to 1.
    """
    norm = normalise(shares)
    keys = list(norm)
    if not keys:
        return {}
    if unit <= 0:
        return {k: total * norm[k] for k in keys}
    units_total = int(round(total / unit))
    raw = np.array([norm[k] * units_total for k in keys])
    floors = np.floor(raw).astype(int)
    left = units_total - int(floors.sum())
    order = np.argsort(-(raw - floors), kind="stable")
    floors[order[:left]] += 1
    amounts = {k: float(f * unit) for k, f in zip(keys, floors)}
    # A total that is not a whole number of units: the difference goes on the largest line.
    drift = total - math.fsum(amounts.values())
    if abs(drift) > 1e-9:
        biggest = max(keys, key=lambda k: amounts[k])
        amounts[biggest] += drift
    return amounts


# ---------------------------------------------------------------------------
# Weekly phasing
# ---------------------------------------------------------------------------


def plan_phase_of_week(week: int, weeks: int = QUARTER_WEEKS) -> str:
    """The plan's phase of a week (1-based): preparation, launch, operation or optimisation.

    For a quarter other than 13 weeks: preparation and launch keep two weeks each,
    optimisation the last week, operation the rest.
    """
    if not 1 <= week <= weeks:
        raise ValueError(f"week must be between 1 and {weeks}")
    if weeks == QUARTER_WEEKS:
        for key, first, last in PLAN_PHASES:
            if first <= week <= last:
                return key
    if week == weeks and weeks >= 6:
        return "optimisation"
    if week <= 2:
        return "preparation"
    if week <= 4:
        return "launch"
    return "operation"


def _default_phase_weeks(weeks: int) -> tuple[int, int, int]:
    if weeks == QUARTER_WEEKS:
        return DEFAULT_PHASE_WEEKS
    raw = np.array(DEFAULT_PHASE_WEEKS, dtype=float) * weeks / QUARTER_WEEKS
    out = np.maximum(np.floor(raw).astype(int), 1)
    while out.sum() < weeks:
        out[int(np.argmax(raw - out))] += 1
    while out.sum() > weeks:
        out[int(np.argmax(out))] -= 1
    return int(out[0]), int(out[1]), int(out[2])


def _phasing_inputs(
    weeks: int, phase_split: Sequence[float], phase_weeks: Sequence[int] | None, seasonality: Sequence[float] | None
) -> tuple[np.ndarray, tuple[int, ...], np.ndarray]:
    """The phase shares (summing to 1), the weeks per phase and the seasonality, checked; ValueError says what is wrong."""
    if weeks < 3:
        raise ValueError("a phased plan needs at least 3 weeks")
    split = np.array([max(0.0, float(v)) for v in phase_split])
    if split.size != len(BUDGET_PHASES) or split.sum() <= 0:
        raise ValueError("phase_split needs three non-negative shares (launch, peak, wrap-up)")
    spans = tuple(int(v) for v in phase_weeks) if phase_weeks is not None else _default_phase_weeks(weeks)
    if len(spans) != len(BUDGET_PHASES) or sum(spans) != weeks or min(spans) < 1:
        raise ValueError(f"phase_weeks must be three positive numbers adding up to {weeks}")
    season = np.ones(weeks) if seasonality is None else np.asarray(seasonality, dtype=float)
    if season.shape != (weeks,) or (season < 0).any() or not np.isfinite(season).all():
        raise ValueError(f"seasonality needs {weeks} non-negative numbers")
    return split / split.sum(), spans, season


def weekly_phasing(
    total: float,
    weeks: int = QUARTER_WEEKS,
    phase_split: Sequence[float] = DEFAULT_PHASE_SPLIT,
    phase_weeks: Sequence[int] | None = None,
    *,
    seasonality: Sequence[float] | None = None,
    theta: float = 0.0,
    carryover_in: float = 0.0,
    unit: float | None = None,
) -> pd.DataFrame:
    """A budget spread over the quarter's weeks by phase, seasonality and carry-over.

    Each budget phase (launch / peak / wrap-up, ``phase_split``) is spread over
    its weeks (``phase_weeks``, default 4 / 6 / 3 — see the module docstring) in
    proportion to ``seasonality`` (e.g. last year's weekly order share × promo
    multiplier; default flat): ``x_w = phase total · s_w / Σ_phase s``, so phase
    totals hold. With a carry-over ``theta`` and last quarter's adstocked spend
    ``carryover_in`` (a_0), ``effective_spend`` is ``a_w = x_w + θ·a_{w−1}`` and
    ``carried_in`` the part still coming from last quarter (θ^w · a_0).
    ``unit`` rounds the weekly amounts (largest remainder, totals kept).
    """
    split, spans, season = _phasing_inputs(weeks, phase_split, phase_weeks, seasonality)
    phase_of_week = np.repeat(np.arange(len(BUDGET_PHASES)), spans)
    spend = np.zeros(weeks)
    for p in range(len(BUDGET_PHASES)):
        mask = phase_of_week == p
        weights = season[mask]
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(mask.sum(), 1.0 / mask.sum())
        spend[mask] = float(total) * split[p] * weights
    if unit:
        rounded = to_money({str(i): v for i, v in enumerate(spend)}, float(total), unit)
        spend = np.array([rounded[str(i)] for i in range(weeks)])
    effective = geometric_adstock(spend, theta, initial=carryover_in)
    week_numbers = np.arange(1, weeks + 1)
    carried = (float(theta) ** week_numbers) * float(carryover_in) if theta > 0 else np.zeros(weeks)
    return pd.DataFrame(
        {
            "week": week_numbers,
            "plan_phase": [plan_phase_of_week(int(w), weeks) for w in week_numbers],
            "budget_phase": [BUDGET_PHASES[p] for p in phase_of_week],
            "spend": spend,
            "share": spend / float(total) if total else np.zeros(weeks),
            "cumulative_spend": np.cumsum(spend),
            "effective_spend": effective,
            "carried_in": carried,
        }
    )




# ---------------------------------------------------------------------------
# Channel groups and the actual mix
# ---------------------------------------------------------------------------

# The plan's high-ROI channels: Douyin ads, live commerce, private domain (WeChat).
HIGH_ROI_PATTERNS: tuple[str, ...] = (
    "抖音", "douyin", "千川", "dou+", "巨量", "tiktok",
    "淘宝直播", "直播", "live",
    "微信私域", "私域", "企业微信", "企微", "社群", "wechat", "wecom", "private",
)
HIGH_ROI_CHANNELS: tuple[str, ...] = ("抖音", "淘宝直播", "微信私域")


def channel_group(channel: str) -> str:
    """"high_roi" for the plan's high-ROI channels (by name, Chinese or English), else "other_channels"."""
    name = str(channel).strip().lower()
    if any(pattern in name for pattern in HIGH_ROI_PATTERNS):
        return "high_roi"
    return "other_channels"


def compare_to_actual(
    shares: Mapping[str, float],
    actual_spend_by_channel: Mapping[str, float],
    channel_groups: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Planned shares per group against the actual spend mix.

    ``channel_groups`` maps each channel to a group key of ``shares`` (e.g.
    high_roi / experiments / other_channels); channels not in it are grouped by
    ``channel_group`` (a name that is not a key of ``shares`` falls into the
    last line). Columns: group, planned_share, actual_spend, actual_share,
    gap (actual − planned, in share points), channels.
    """
    keys = list(shares)
    if not keys:
        raise ValueError("no planned shares to compare with")
    planned = normalise(shares)
    fallback = "other_channels" if "other_channels" in planned else keys[-1]
    groups: dict[str, list[str]] = {k: [] for k in keys}
    spend: dict[str, float] = {k: 0.0 for k in keys}
    for channel, amount in actual_spend_by_channel.items():
        group = (channel_groups or {}).get(channel) or channel_group(channel)
        if group not in planned:
            group = fallback
        groups[group].append(str(channel))
        spend[group] += max(0.0, float(amount or 0.0))
    total = math.fsum(spend.values())
    rows = []
    for k in keys:
        actual_share = spend[k] / total if total > 0 else float("nan")
        rows.append(
            {
                "group": k,
                "planned_share": planned[k],
                "actual_spend": spend[k],
                "actual_share": actual_share,
                "gap": actual_share - planned[k] if total > 0 else float("nan"),
                "channels": ", ".join(groups[k]),
            }
        )
    return pd.DataFrame(rows)
