"""Channel charts: weekly axes labelled on the data's own weeks.

Why: left to Vega, a weekly time axis is labelled every fourth calendar day and restarts
each month, so labels sit between the points and crowd at month ends ("07-31 08-03").
"""

from __future__ import annotations

import pandas as pd

from lib.channels import week_ticks, weekly_spend_chart
from lib.i18n import Translator


def test_week_ticks_are_data_weeks_at_most_twelve():
    for weeks in (3, 13, 52, 157):
        mondays = pd.Series(pd.date_range("2024-01-01", periods=weeks, freq="7D"))
        ticks = [pd.Timestamp(d["year"], d["month"], d["date"]) for d in (t.to_dict() for t in week_ticks(mondays))]
        assert 1 <= len(ticks) <= 12
        assert ticks[0] == mondays.iloc[0] and set(ticks) <= set(mondays), "labels sit on the weekly points"
        steps = {(b - a).days for a, b in zip(ticks, ticks[1:])}
        assert len(steps) <= 1, "evenly spaced"


def test_weekly_spend_chart_uses_them():
    mondays = list(pd.date_range("2026-07-06", periods=13, freq="7D"))
    frame = pd.DataFrame({"week": mondays * 2, "channel": ["天猫"] * 13 + ["抖音"] * 13, "spend": range(26)})
    axis = weekly_spend_chart(frame, "spend", Translator("zh")).to_dict()["encoding"]["x"]["axis"]
    assert axis["format"] == "%m-%d" and len(axis["values"]) == 7
