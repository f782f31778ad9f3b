"""How an Altair chart becomes the Vega-Lite spec a page sends: serialised once, never re-validated.

Why a module of its own: under load, building and converting charts was the largest
cost of the Segments and Scenarios pages (st.altair_chart re-validates every spec on
every rerun under a process-wide lock). This module holds the conversion and the two
process-wide Altair settings that make building cheap; ``lib.ui.chart`` caches the
result per input, and ``bench/bench_charts.py`` measures both against Streamlit's path.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import altair as alt
from altair.utils import schemapi

# Every chart the app draws shows aggregated rows, but a long weekly history of many channels can pass
# Altair's default 5,000-row guard; the guard protects notebooks, not an app that aggregates in SQL.
alt.data_transformers.disable_max_rows()
# Altair validates every schema object as it is created ("debug mode", for better tracebacks in
# notebooks): a third of the time to build a chart. Every chart the pages draw under test is
# validated whole (``VALIDATE_ENV``), so the app builds without it.
schemapi.disable_debug_mode()


def _build_schema_class_table_once() -> None:
    """Make Altair's ``from_dict`` reuse its table of schema classes instead of rebuilding it per call.

    Every shorthand string, ``alt.condition`` or ``alt.value`` passed to ``.encode()``
    goes through ``SchemaBase.from_dict``, which in Altair 6.3 rebuilds a table of all
    ~570 schema classes (a ``json.dumps`` of each): ~8 ms per call, over half the
    time to build the feasibility chart. The table depends only on the class, so it
    is built once per class (upstream: vega/altair#3547). The replacement does what
    the original does otherwise; ``tests/test_chart_specs.py`` checks that specs are unchanged.
    """
    if getattr(schemapi.SchemaBase.from_dict, "_growth_planner_cached", False):
        return
    tables: dict[type, Any] = {}
    lock = threading.Lock()

    def from_dict(cls: Any, dct: dict[str, Any], validate: bool = True) -> Any:
        if validate:
            cls.validate(dct)
        table = tables.get(cls)
        if table is None:
            with lock:
                table = tables.get(cls) or schemapi._FromDict(cls._default_wrapper_classes())
                tables[cls] = table
        return table.from_dict(dct, cls)

    from_dict._growth_planner_cached = True  # type: ignore[attr-defined]
    schemapi.SchemaBase.from_dict = classmethod(from_dict)  # type: ignore[method-assign, assignment]


#: Altair's own ``from_dict``, kept for the benchmark's baseline (bench/bench_charts.py).
ALTAIR_FROM_DICT = schemapi.SchemaBase.__dict__["from_dict"]
if hasattr(schemapi, "_FromDict"):
    _build_schema_class_table_once()

#: Set to "1" (the test suite does) to validate every drawn chart against the Vega-Lite schema.
VALIDATE_ENV = "GROWTH_PLANNER_VALIDATE_CHARTS"
# What Altair's default theme adds to every spec (Streamlit renders with that theme switched off).
_THEME_VIEW_DEFAULTS = ("continuousWidth", "continuousHeight")


def vega_lite_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart as a Vega-Lite dict: data inline under ``datasets``, width fitted to the container.

    Why not ``st.altair_chart``: it validates the whole spec against the Vega-Lite JSON
    schema on every rerun, holding a process-wide lock (Altair's theme and data
    transformer are globals it switches) — under load the largest single cost of the
    Segments and Scenarios pages. The test suite sets ``GROWTH_PLANNER_VALIDATE_CHARTS=1``
    (tests/conftest.py), so every chart the pages draw there is validated; in the app
    the spec is only serialised, and Altair's globals are left alone. The height stays
    the chart's own: Streamlit's default "fit" both ways squeezes tall charts into a strip.
    """
    spec = chart.to_dict(validate=os.environ.get(VALIDATE_ENV) == "1")
    config = spec.get("config", {})
    view = config.get("view", {})
    for key in _THEME_VIEW_DEFAULTS:
        view.pop(key, None)
    if "view" in config and not view:
        del config["view"]
    if "config" in spec and not config:
        del spec["config"]
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    legend = spec.setdefault("config", {}).setdefault("legend", {})
    legend.setdefault("labelLimit", 0)  # house theme: a legend never cuts its labels ("Share of new custo…")
    if os.environ.get(VALIDATE_ENV) == "1":
        _compile_like_the_browser(spec)
    return spec


def _compile_like_the_browser(spec: dict[str, Any]) -> None:
    """Compile the spec with Vega-Lite's own compiler (vl-convert), as the browser will.

    A spec can satisfy the JSON schema and still fail to compile (a layered chart whose
    text colour has ``scale: null`` beside a quantitative colour scale did: the browser
    showed a JavaScript error and no heat map). Under test that is an exception.
    """
    import json

    import vl_convert

    vl_convert.vegalite_to_vega(json.dumps(spec, default=str))
