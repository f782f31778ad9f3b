"""Per-tier playbooks: who is in each tier, what they need, which plays reach them, what the plays cost and earn, and when they run.

Why this package exists: the plan's "分层运营策略" (domain brief §3) is a table of
needs and plays per tier; the marketing team needs it tied to their own
customers (how many, how valuable, growing or shrinking) and to money (what a
campaign returns at the plan's response rates and incentives), edited to their
own numbers and kept per dataset. The content is data (``defaults.json``,
versioned, English and Chinese), never code, so the page, the CLI and the export
all read the same plays; this package adds the pure campaign calculator, the tier
profiles (computed in DuckDB through :mod:`lib.segments`' classification, so
every count equals the Segments page), the weeks of the 13-week plan each play
runs in (from a saved timeline plan, else the defaults), and the operations
workbook (through :mod:`lib.exports`' safe writer).

The package, bottom to top: ``content`` (the content model and its constants),
``checks`` (why an edit cannot be used), ``defaults`` (reading ``defaults.json`` and
saved content), ``editing`` (edits and per-dataset storage), ``economics`` (the pure
campaign calculator), ``profiles`` (the tier query), ``predicted`` (each tier's
predicted value and whom to contact first), ``results`` (money per play and
tier), ``weeks`` (when plays run), ``tables`` (the page's and the export's tables),
``export`` (the operations workbook). Callers use only the names below
(``from lib import playbooks; playbooks.tier_summary(...)``).
"""

from __future__ import annotations

from lib.playbooks.checks import PlaybookError, field_label, missing_translations, validate_play
from lib.playbooks.content import (
    AMOUNT_FIELDS,
    ASSUMPTION_FIELDS,
    AUDIENCE_BASES,
    BASELINE_DAYS,
    CALCULATOR_FIELDS,
    CHANGE_DAYS,
    DEFAULT_GROSS_MARGIN,
    DEFAULT_HOLDOUT_SHARE,
    DEFAULTS_PATH,
    FLAG_CODES,
    ORIGINS,
    PLAN_WEEKS,
    PLAUSIBLE,
    POINT_VALUE_CNY,
    RATE_FIELDS,
    ROI_FORMAT_KIND,
    SCHEMES,
    SETTINGS_KEY,
    SILENT_DAYS,
    TARGET_UNITS,
    TEXT_FIELDS,
    CalculatorInputs,
    CampaignAssumptions,
    GroupContent,
    KpiTarget,
    PlausibilityBounds,
    Play,
    Playbook,
    RecallRule,
    Text,
)

from lib.playbooks.defaults import default_playbook, playbook_from_dict
from lib.playbooks.economics import (
    CampaignEconomics,
    campaign_economics,
    cost_per_responder,
    economics_flags,
    flag_reasons,
    normal_recall_cost,
    recall_cost_rule,
    sum_economics,
)
from lib.playbooks.editing import (
    edited_plays,
    load_playbook,
    reset_play,
    reset_playbook,
    save_playbook,
    update_assumptions,
    update_group,
    update_play,
)
from lib.playbooks.export import playbook_workbook, write_playbook_export
from lib.playbooks.predicted import CONTACT_FIRST, GroupValue, group_values
from lib.playbooks.profiles import TierProfile, all_tier_profiles
from lib.playbooks.results import PlayResult, TierSummary, play_audience, play_baseline, play_economics, tier_summary
from lib.playbooks.tables import FORMULA_KEYS, PLAYBOOK_COLUMNS, TIER_COLUMNS, column_label, playbook_table, tier_table
from lib.playbooks.weeks import PlayWeeks, group_tier, plan_tasks, play_weeks

__all__ = [
    "CONTACT_FIRST", "GroupValue", "group_values",
    "all_tier_profiles", "AMOUNT_FIELDS", "ASSUMPTION_FIELDS", "AUDIENCE_BASES", "BASELINE_DAYS", "CALCULATOR_FIELDS",
    "CalculatorInputs", "campaign_economics", "CampaignAssumptions", "CampaignEconomics", "CHANGE_DAYS",
    "column_label", "cost_per_responder", "DEFAULT_GROSS_MARGIN", "DEFAULT_HOLDOUT_SHARE", "default_playbook",
    "DEFAULTS_PATH", "economics_flags", "edited_plays", "field_label", "FLAG_CODES", "flag_reasons", "FORMULA_KEYS",
    "group_tier", "GroupContent", "KpiTarget", "load_playbook",
    "missing_translations", "normal_recall_cost", "ORIGINS", "plan_tasks", "PLAN_WEEKS", "PlausibilityBounds",
    "PLAUSIBLE", "Play", "play_audience", "play_baseline", "play_economics", "play_weeks", "Playbook",
    "PLAYBOOK_COLUMNS", "playbook_from_dict", "playbook_table", "playbook_workbook", "PlaybookError", "PlayResult",
    "PlayWeeks", "POINT_VALUE_CNY", "RATE_FIELDS", "recall_cost_rule", "RecallRule", "reset_play", "reset_playbook",
    "ROI_FORMAT_KIND", "save_playbook", "SCHEMES", "SETTINGS_KEY", "SILENT_DAYS", "sum_economics", "TARGET_UNITS",
    "Text", "TEXT_FIELDS", "TIER_COLUMNS", "tier_summary", "tier_table", "TierProfile", "TierSummary",
    "update_assumptions", "update_group", "update_play", "validate_play", "write_playbook_export",
]
