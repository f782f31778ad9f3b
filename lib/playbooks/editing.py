"""Editing a playbook (plays, groups, campaign assumptions) and keeping it per dataset in the workspace.

Why a module of its own: every edit returns a new checked playbook (content is
frozen), and storage is the workspace's per-dataset settings under ``SETTINGS_KEY``,
kept only when it differs from the defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from lib.playbooks.checks import (
    PlaybookError,
    Problem,
    assumption_problems,
    calculator_problems,
    is_number,
    play_problems,
    weeks_problems,
)

from lib.playbooks.content import CALCULATOR_FIELDS, SETTINGS_KEY, TEXT_FIELDS, CalculatorInputs, KpiTarget, Play, Playbook, Text
from lib.playbooks.defaults import default_playbook, playbook_from_dict
from lib.workspace import Workspace

# --------------------------------------------------------------------------------------
# Editing and storage
# --------------------------------------------------------------------------------------


def update_play(playbook: Playbook, tier: str, play_id: str, **changes: Any) -> Playbook:
    """A new playbook with one play changed; raises :class:`PlaybookError` (bilingual) if a value is invalid.

    ``tier`` is a tier or segment key. Accepted changes: any calculator input
    (``response_rate=0.2``, ``incentive=30``, …, or ``calculator={…}``),
    ``weeks=(start, end)`` or ``start_week`` / ``end_week``, ``name`` /
    ``description`` / ``kpi`` as ``{"en": …, "zh": …}`` (a missing language is
    kept), ``kpi_target`` as ``{"en", "zh", "value", "unit"}``, and
    ``audience_basis``. Unknown groups or plays raise KeyError.
    """
    group = playbook.group(tier)
    play = group.play(play_id)
    problems: list[Problem] = []
    calc_changes: dict[str, Any] = {}
    if "calculator" in changes:
        raw = changes.pop("calculator")
        if isinstance(raw, CalculatorInputs):
            raw = raw.to_dict()
        if not isinstance(raw, Mapping):
            raise TypeError("calculator must be a mapping of calculator inputs")
        calc_changes.update(raw)
    for name in CALCULATOR_FIELDS:
        if name in changes:
            calc_changes[name] = changes.pop(name)
    unknown_calc = [k for k in calc_changes if k not in CALCULATOR_FIELDS]
    problems += [("unknown_field", {"field": k}) for k in unknown_calc]
    problems += calculator_problems({k: v for k, v in calc_changes.items() if k in CALCULATOR_FIELDS})

    weeks = list(play.weeks)
    if "weeks" in changes:
        raw_weeks = changes.pop("weeks")
        week_problems = weeks_problems(raw_weeks) if raw_weeks is not None else [("weeks_whole", {})]
        if week_problems and any(code == "weeks_whole" for code, _ in week_problems):
            problems += week_problems
        else:
            weeks = [int(raw_weeks[0]), int(raw_weeks[1])]
    for index, name in ((0, "start_week"), (1, "end_week")):
        if name in changes:
            value = changes.pop(name)
            if is_number(value) and float(value) == int(value):
                weeks[index] = int(value)
            else:
                problems.append(("weeks_whole", {}))

    new_fields: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name in changes:
            try:
                new_fields[name] = Text.from_value(changes.pop(name), getattr(play, name))
            except TypeError:
                problems.append(("text_missing", {"field": name}))
    if "kpi_target" in changes:
        try:
            new_fields["kpi_target"] = KpiTarget.from_value(changes.pop("kpi_target"), play.kpi_target)
        except (TypeError, ValueError):
            problems.append(("not_number", {"field": "kpi_target", "value": "?"}))
    if "audience_basis" in changes:
        new_fields["audience_basis"] = str(changes.pop("audience_basis"))
    problems += [("unknown_field", {"field": k}) for k in changes]
    if problems:
        raise PlaybookError(problems)

    calculator = replace(play.calculator, **{k: float(v) for k, v in calc_changes.items()})
    updated = replace(play, calculator=calculator, weeks=(weeks[0], weeks[1]), **new_fields)
    final = play_problems(updated)
    if final:
        raise PlaybookError(final)
    return _with_play(playbook, tier, updated)


def _with_play(playbook: Playbook, group_key: str, play: Play) -> Playbook:
    group = playbook.group(group_key)
    plays = tuple(play if p.id == play.id else p for p in group.plays)
    groups = dict(playbook.groups)
    groups[group_key] = replace(group, plays=plays)
    return replace(playbook, groups=groups)


def update_group(playbook: Playbook, tier: str, **changes: Any) -> Playbook:
    """A new playbook with a tier's/segment's own content changed: ``need``, ``signal``, ``note``
    (``{"en", "zh"}``), ``channels`` (platform names), ``formats`` (list of ``{"en", "zh"}``).
    Raises :class:`PlaybookError` when need or signal would lose a language."""
    group = playbook.group(tier)
    fields: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in ("need", "signal", "note"):
        if name in changes:
            previous = getattr(group, name)
            try:
                fields[name] = Text.from_value(changes.pop(name), previous)
            except TypeError:
                problems.append(("text_missing", {"field": name}))
    if "channels" in changes:
        fields["channels"] = tuple(str(c).strip() for c in changes.pop("channels") or () if str(c).strip())
    if "formats" in changes:
        try:
            fields["formats"] = tuple(Text.from_value(f) for f in changes.pop("formats") or ())
        except TypeError:
            problems.append(("text_missing", {"field": "formats"}))
    problems += [("unknown_field", {"field": k}) for k in changes]
    for name in ("need", "signal"):
        if name in fields and not fields[name].is_complete():
            problems.append(("text_missing", {"field": name}))
    if problems:
        raise PlaybookError(problems)
    groups = dict(playbook.groups)
    groups[tier] = replace(group, **fields)
    return replace(playbook, groups=groups)


def update_assumptions(playbook: Playbook, **changes: Any) -> Playbook:
    """A new playbook with campaign assumptions changed (``gross_margin=0.45``, ``holdout_share=0.1``);
    raises :class:`PlaybookError` (bilingual) for an unknown name or a value out of range."""
    problems = assumption_problems(changes)
    if problems:
        raise PlaybookError(problems)
    return replace(playbook, assumptions=replace(playbook.assumptions, **{k: float(v) for k, v in changes.items()}))


def reset_play(playbook: Playbook, tier: str, play_id: str) -> Playbook:
    """A new playbook with one play back at the plan's defaults."""
    return _with_play(playbook, tier, default_playbook().play(tier, play_id))


def edited_plays(playbook: Playbook) -> list[tuple[str, str]]:
    """(group, play id) of every play that differs from the plan's defaults (or is not in them)."""
    defaults = default_playbook()
    out = []
    for key, group in playbook.groups.items():
        base = defaults.groups.get(key)
        for play in group.plays:
            try:
                same = base is not None and base.play(play.id) == play
            except KeyError:
                same = False
            if not same:
                out.append((key, play.id))
    return out


def load_playbook(ws: Workspace, dataset_id: int) -> Playbook:
    """The dataset's saved playbook (laid over the defaults, see :func:`playbook_from_dict`), else the defaults."""
    return playbook_from_dict(ws.get_setting(dataset_id, SETTINGS_KEY))


def save_playbook(ws: Workspace, dataset_id: int, playbook: Playbook) -> None:
    """Store the playbook for the dataset; raises :class:`PlaybookError` if any play is invalid."""
    problems: list[Problem] = assumption_problems(playbook.assumptions.to_dict())
    for group in playbook.groups.values():
        for play in group.plays:
            problems += play_problems(play)
    if problems:
        raise PlaybookError(problems)
    ws.set_setting(dataset_id, SETTINGS_KEY, playbook.to_dict())


def reset_playbook(ws: Workspace, dataset_id: int) -> Playbook:
    """Forget the dataset's edits and return the plan's defaults."""
    ws.delete_setting(dataset_id, SETTINGS_KEY)
    return default_playbook()
