"""Reading playbook content: the shipped ``defaults.json`` and content saved per dataset.

Why a module of its own: the content is data, never code; this is the one place
that turns JSON (plays shared through a library, per-group overrides, assumptions)
into a checked :class:`~lib.playbooks.content.Playbook`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any

from lib.playbooks.checks import assumption_problems, is_number, play_problems, weeks_problems
from lib.playbooks.content import (
    ASSUMPTION_FIELDS,
    CALCULATOR_FIELDS,
    DEFAULTS_PATH,
    PLAN_WEEKS,
    POINT_VALUE_CNY,
    CalculatorInputs,
    CampaignAssumptions,
    GroupContent,
    KpiTarget,
    Play,
    Playbook,
    RecallRule,
    Text,
)

# --------------------------------------------------------------------------------------
# Parsing the data file and saved content
# --------------------------------------------------------------------------------------


def _parse_play(data: Mapping[str, Any], play_id: str | None = None) -> Play:
    calc = data.get("calculator") or {}
    defaults = CalculatorInputs()
    values = {}
    for name in CALCULATOR_FIELDS:
        raw = calc.get(name, getattr(defaults, name))
        if not is_number(raw):
            raise ValueError(f"calculator value {name}={raw!r} is not a number")
        values[name] = float(raw)
    weeks = data.get("weeks") or (1, PLAN_WEEKS)
    if weeks_problems(weeks):
        raise ValueError(f"invalid weeks {weeks!r}")
    return Play(
        id=str(play_id or data.get("id") or ""),
        name=Text.from_value(data.get("name")),
        description=Text.from_value(data.get("description")),
        kpi=Text.from_value(data.get("kpi")),
        kpi_target=KpiTarget.from_value(data.get("kpi_target")),
        calculator=CalculatorInputs(**values),
        weeks=(int(weeks[0]), int(weeks[1])),
        origin=str(data.get("origin") or "plan"),
        audience_basis=str(data.get("audience_basis") or "members"),
    )


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it; nested mappings are merged key by key."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve_play_entry(entry: Any, library: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A group's play entry (a library id, ``{"use": id, …overrides}`` or a full play) as (id, play data)."""
    if isinstance(entry, str):
        return entry, copy.deepcopy(dict(library[entry]))
    if isinstance(entry, Mapping) and "use" in entry:
        overrides = {k: v for k, v in entry.items() if k != "use"}
        play_id = str(overrides.pop("id", entry["use"]))
        return play_id, _merge(library[entry["use"]], overrides)
    if isinstance(entry, Mapping):
        return str(entry.get("id") or ""), dict(entry)
    raise ValueError(f"cannot read play entry {entry!r}")


def _parse_group(key: str, scheme: str, data: Mapping[str, Any], library: Mapping[str, Any]) -> GroupContent:
    plays = []
    for entry in data.get("plays") or []:
        play_id, play_data = _resolve_play_entry(entry, library)
        plays.append(_parse_play(play_data, play_id))
    cap = data.get("cost_cap_multiple")
    return GroupContent(
        key=key,
        scheme=scheme,
        need=Text.from_value(data.get("need")),
        signal=Text.from_value(data.get("signal")),
        channels=tuple(str(c) for c in data.get("channels") or ()),
        formats=tuple(Text.from_value(f) for f in data.get("formats") or ()),
        plays=tuple(plays),
        origin=str(data.get("origin") or "plan"),
        note=Text.from_value(data["note"]) if data.get("note") else None,
        cost_cap_multiple=None if cap is None else float(cap),
        like_tier=str(data["like_tier"]) if data.get("like_tier") else None,
    )


@lru_cache(maxsize=1)
def _defaults_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULTS_PATH.read_text(encoding="utf-8"))
    return data


def default_playbook() -> Playbook:
    """The plan's playbooks as shipped in ``defaults.json`` (parsed once; every call gets its own
    ``groups`` dict, and the content objects are frozen)."""
    cached = _parsed_defaults()
    return replace(cached, groups=dict(cached.groups))


@lru_cache(maxsize=1)
def _parsed_defaults() -> Playbook:
    data = _defaults_data()
    library = data.get("library") or {}
    groups: dict[str, GroupContent] = {}
    for key, group in (data.get("tiers") or {}).items():
        groups[key] = _parse_group(key, "plan", group, library)
    for key, group in (data.get("segments") or {}).items():
        groups[key] = _parse_group(key, "rfm", group, library)
    rule = data["recall_rule"]
    return Playbook(
        version=int(data["version"]),
        groups=groups,
        recall_rule=RecallRule(
            multiple=float(rule["multiple"]),
            reference_group=str(rule["reference_group"]),
            reference_play=str(rule["reference_play"]),
            text=Text.from_value(rule["text"]),
        ),
        about=Text.from_value(data.get("about")),
        point_value_cny=float(data.get("point_value_cny", POINT_VALUE_CNY)),
        assumptions=_parse_assumptions(data.get("assumptions"), CampaignAssumptions()),
    )


def _parse_assumptions(data: Any, base: CampaignAssumptions) -> CampaignAssumptions:
    """Campaign assumptions from stored data, laid over ``base``; a value that cannot be used keeps ``base``'s."""
    if not isinstance(data, Mapping):
        return base
    values = base.to_dict()
    for name in ASSUMPTION_FIELDS:
        if name in data and not assumption_problems({name: data[name]}):
            values[name] = float(data[name])
    return CampaignAssumptions(**values)


def playbook_from_dict(data: Any) -> Playbook:
    """A playbook from saved content, laid over the defaults.

    Tolerant by design (saved content may come from an older version): unknown
    groups are ignored; a group missing from ``data`` keeps the defaults; within
    a group, a saved play that cannot be read or fails validation falls back to
    the default play of the same id; default plays missing from the saved group
    (added in a newer version) are appended; saved plays the defaults do not
    have are kept.
    """
    defaults = default_playbook()
    if not isinstance(data, Mapping):
        return defaults
    if not isinstance(data.get("groups"), Mapping):
        return replace(defaults, assumptions=_parse_assumptions(data.get("assumptions"), defaults.assumptions))
    groups = dict(defaults.groups)
    for key, saved in data["groups"].items():
        if key not in groups or not isinstance(saved, Mapping):
            continue
        base = groups[key]
        try:
            own = {k: v for k, v in saved.items() if k != "plays"}
            candidate = _parse_group(key, base.scheme, {**base.to_dict(), **own, "plays": []}, {})
        except (TypeError, ValueError, KeyError):
            candidate = base
        if not candidate.need.is_complete() or not candidate.signal.is_complete():
            candidate = replace(candidate, need=base.need, signal=base.signal)
        plays: list[Play] = []
        seen: set[str] = set()
        for entry in saved.get("plays") or []:
            if not isinstance(entry, Mapping):
                continue
            play_id = str(entry.get("id") or "")
            if not play_id or play_id in seen:
                continue
            default_play = next((p for p in base.plays if p.id == play_id), None)
            try:
                play = _parse_play(entry, play_id)
                if play_problems(play):
                    raise ValueError("invalid saved play")
            except (TypeError, ValueError, KeyError):
                if default_play is None:
                    continue
                play = default_play
            plays.append(play)
            seen.add(play_id)
        plays += [p for p in base.plays if p.id not in seen]
        groups[key] = replace(candidate, plays=tuple(plays))
    return replace(defaults, groups=groups, assumptions=_parse_assumptions(data.get("assumptions"), defaults.assumptions))
