"""Each tier's predicted customer value and whom to contact first, for every tier of a scheme at once.

Why a module of its own: the Playbooks page shows, under "Who", the tier's predicted
value (lib.value.prediction's BG/NBD + Gamma-Gamma fit) and its ten members with the most
value at stake. Working that out per tier on every rerun merged ~50k customers
twice (~0.1 s a click); done once for all tiers of a scheme, behind ``ui.cached``,
a tier switch only looks its tier up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from lib import segments, value
from lib.playbooks.content import SCHEMES
from lib.workspace import Workspace

#: How many members the page lists under "contact first".
CONTACT_FIRST = 10


@dataclass(frozen=True, eq=False)
class GroupValue:
    """One tier's (or segment's) predicted value: ``totals`` as :func:`lib.value.prediction.tier_values` gives
    them (customers, expected_alive, predicted_value, predicted_value_per_customer, value_at_stake,
    at_risk), and ``contact_first``: its members with the most value at stake, first."""

    totals: dict[str, Any]
    contact_first: pd.DataFrame


def group_values(ws: Workspace, dataset_id: int, settings: segments.SegmentSettings, scheme: str, *,
                 fit: value.Prediction) -> dict[str, GroupValue]:
    """Every group of ``scheme`` with members at the fit's as-of date → its predicted value and contact-first list.

    The same numbers as :func:`lib.value.prediction.tier_values` and :func:`lib.value.prediction.contact_first`
    for each group's members (lib.segments' classification at ``fit.as_of``).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}")
    column = "tier" if scheme == "plan" else "segment"
    members = segments.segment_customers(ws, dataset_id, settings, fit.as_of)[["customer_id", column]]
    members = members.assign(**{column: members[column].astype(str)})
    totals = value.tier_values(fit, members, column)
    ranked = members.merge(fit.customers, on="customer_id", how="inner").sort_values(
        ["value_at_stake", "customer_id"], ascending=[False, True])
    first = {str(key): frame.drop(columns=column)
             for key, frame in ranked.groupby(column, sort=False).head(CONTACT_FIRST).groupby(column, sort=False)}
    return {
        str(row[column]): GroupValue(
            totals={str(k): v for k, v in row.items()},
            contact_first=first.get(str(row[column]), ranked.head(0).drop(columns=column)).reset_index(drop=True),
        )
        for row in totals.to_dict("records")
    }
