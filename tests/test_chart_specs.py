"""How charts reach the browser: serialised once, unvalidated in the app, validated under test.

Why: lib.chart_specs.vega_lite_spec replaces st.altair_chart (which validated every spec on
every rerun under a global lock) and makes Altair reuse its table of schema classes.
Both are speed changes that must not change what users see or hide a broken chart.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest
from altair.utils import schemapi

from lib import chart_specs
from lib.segments import charts as segment_charts
from lib.i18n import Translator

CELLS = pd.DataFrame({
    "r_score": [5, 5, 1], "f_score": [1, 5, 1], "segment": ["new_customers", "champions", "lost"],
    "customers": [120, 4000, 75], "window_revenue": [1.0e4, 9.0e5, 0.0],
})


def test_spec_is_fitted_to_the_width_without_altairs_theme_defaults():
    spec = chart_specs.vega_lite_spec(segment_charts.rf_heatmap_chart(CELLS, Translator("zh")))
    assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
    assert "continuousWidth" not in str(spec) and spec["height"] == 360
    (rows,) = spec["datasets"].values()
    assert [r["customers"] for r in rows] == [120, 4000, 75]
    assert "客户数" in str(spec["title"]), "the title is in the chosen language"


def test_a_chart_the_browser_cannot_compile_fails_under_test(monkeypatch):
    frame = pd.DataFrame({"x": [1, 2], "n": [3, 4], "ink": ["#fff", "#000"]})
    rect = alt.Chart(frame).mark_rect().encode(x="x:O", color="n:Q")
    text = alt.Chart(frame).mark_text().encode(x="x:O", text="n:Q", color=alt.Color("ink:N", scale=None))
    monkeypatch.setenv(chart_specs.VALIDATE_ENV, "1")
    with pytest.raises(Exception, match="type"):
        chart_specs.vega_lite_spec(alt.layer(rect, text))
    chart_specs.vega_lite_spec(segment_charts.rf_heatmap_chart(CELLS, Translator("en")))  # the heat map compiles


def test_an_invalid_chart_fails_under_test_and_is_only_serialised_in_the_app(monkeypatch):
    broken = alt.Chart(pd.DataFrame({"a": [1]})).mark_bar().encode(x=alt.X("a:Q", scale={"type": "nonsense"}))
    monkeypatch.setenv(chart_specs.VALIDATE_ENV, "1")
    with pytest.raises(schemapi.SchemaValidationError):
        chart_specs.vega_lite_spec(broken)
    monkeypatch.setenv(chart_specs.VALIDATE_ENV, "0")
    assert chart_specs.vega_lite_spec(broken)["encoding"]["x"]["scale"] == {"type": "nonsense"}


def test_altairs_schema_class_table_is_built_once_and_changes_nothing(monkeypatch):
    built = []
    real_init = schemapi._FromDict.__init__

    def counting_init(self, wrapper_classes):
        built.append(1)
        real_init(self, wrapper_classes)

    monkeypatch.setattr(schemapi._FromDict, "__init__", counting_init)
    t = Translator("en")
    first = chart_specs.vega_lite_spec(segment_charts.rf_heatmap_chart(CELLS, t))  # shorthand text and conditions
    again = chart_specs.vega_lite_spec(segment_charts.rf_heatmap_chart(CELLS, t))
    assert len(built) <= 1, "the class table is reused, not rebuilt for every shorthand"
    # Altair's own from_dict (a fresh table per call) gives the same spec.
    fresh = schemapi._FromDict(schemapi.SchemaBase._default_wrapper_classes())
    for shorthand in ("segment_label:N", "customers:Q"):
        assert alt.Text.from_dict({"shorthand": shorthand}, validate=False).to_dict() == \
            fresh.from_dict({"shorthand": shorthand}, alt.Text).to_dict()
    assert first == again
