"""JSON-ready values for the scenario's ``to_dict``/``summary``: plain numbers, ISO dates, no NaN.

Why it exists: the baseline, the result and the saved summaries all turn numpy
numbers, dates and NaN/∞ into what ``json.dumps`` and the workspace settings store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np

def num(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def jsonable(value: Any) -> Any:
    """Numbers as plain floats (NaN/∞ → None), dates as ISO text, mappings and sequences recursively."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return num(value)


def jsonable_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`jsonable` of a mapping, typed as the dict it returns."""
    return {str(k): jsonable(v) for k, v in value.items()}
