"""Benchmark: drawing the Segments, Scenarios and Overview charts, against Streamlit's own st.altair_chart path.

Why it exists: under load every page's charts were rebuilt and re-validated on every
rerun, holding the GIL. The app now serialises charts itself (``lib.chart_specs.vega_lite_spec``,
no schema validation, Altair's schema-class table built once) and caches the finished
spec per input (``lib.ui.chart``). This script times, on the sample store, for each
chart a page draws on its first load:

* baseline — build the Altair chart and convert it as ``st.altair_chart`` does
  (Streamlit's ``_convert_altair_to_vega_lite_spec``, Altair's default validation);
* first draw — build and serialise it the app's way (what a new dataset, setting or
  language costs);
* cached — what a rerun with the same inputs costs (a ``ui.chart_spec`` cache hit).

The baseline runs first, with Altair's defaults restored, then the app's settings.
Run: ``.venv/bin/python -m bench.bench_charts``.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

REPEATS = 7


def best_ms(action: Callable[[], Any], repeats: int = REPEATS) -> float:
    """The fastest of ``repeats`` runs after one warm-up, in milliseconds (the least disturbed by the machine)."""
    action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def page_charts(workdir: Path) -> list[tuple[str, Callable[..., Any], tuple]]:
    """(name, builder, arguments) of every chart the three pages draw on a first load, from the sample store."""
    from lib import charts, kpis, scenarios, segments
    from lib.scenarios import charts as scenario_charts
    from lib.segments import charts as segment_charts
    from lib.i18n import Translator
    from lib.importing import load_sample_store
    from lib.workspace import Workspace

    ws = Workspace(workdir / "bench.duckdb")
    load_sample_store(ws)
    dataset = ws.list_datasets()[0]
    ds, as_of, t = dataset.dataset_id, dataset.last_order, Translator("zh")
    settings = segments.load_settings(ws, ds)
    baseline = scenarios.measure_baseline(ws, ds)
    curves = scenarios.scenario_curves(ws, ds)
    inputs = scenarios.PRESETS["base"]
    result = scenarios.evaluate(baseline, inputs, curves)
    period = kpis.default_period(dataset.first_order, dataset.last_order)
    return [
        ("segments: share of customers and revenue", segment_charts.share_chart,
         (segments.segment_summary(ws, ds, settings, as_of, by="plan"), "plan", t)),
        ("segments: R×F heat map", segment_charts.rf_heatmap_chart, (segments.rf_heatmap(ws, ds, settings, as_of), t)),
        ("segments: distribution", segment_charts.histogram_chart,
         (segments.distribution(ws, ds, settings, as_of, measure="days_since_last_order", bins=40),
          "days_since_last_order", t)),
        ("segments: sizes over time", segment_charts.sizes_over_time_chart,
         (segments.tier_sizes_over_time(ws, ds, as_of - timedelta(weeks=26), as_of, settings), "plan", t)),
        ("segments: migration", segment_charts.migration_chart,
         (segments.migration_matrix(ws, ds, as_of - timedelta(days=91), as_of, settings, "plan"), "plan", t,
          str(as_of - timedelta(days=91)), str(as_of))),
        ("scenarios: feasibility", scenario_charts.feasibility_chart,
         (result, scenarios.feasibility_frontier(baseline, curves, weeks=inputs.weeks), "zh")),
        ("scenarios: sensitivity", scenario_charts.tornado_chart,
         (scenarios.sensitivity(baseline, inputs, curves), "zh")),
        ("overview: weekly trend", charts.weekly_trend_chart,
         (kpis.weekly_trend(ws, ds), "gmv", t, (period.start, period.end))),
        ("overview: channel mix", charts.channel_mix_chart, (kpis.channel_mix(ws, ds, period), t)),
    ]


def main() -> int:
    warnings.filterwarnings("ignore")
    from altair.utils import schemapi
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from lib import chart_specs, ui

    with tempfile.TemporaryDirectory(prefix="bench-charts-") as workdir:
        items = page_charts(Path(workdir))

        app_from_dict = schemapi.SchemaBase.__dict__["from_dict"]
        schemapi.SchemaBase.from_dict = chart_specs.ALTAIR_FROM_DICT  # Altair as shipped: the baseline
        schemapi.enable_debug_mode()
        baseline = [best_ms(lambda b=build, a=args: _convert_altair_to_vega_lite_spec(b(*a))) for _, build, args in items]
        schemapi.SchemaBase.from_dict = app_from_dict
        schemapi.disable_debug_mode()

        first = [best_ms(lambda b=build, a=args: ui.streamlit_spec(b(*a))) for _, build, args in items]
        cached = [best_ms(lambda b=build, a=args: ui.chart_spec(b, *a)) for _, build, args in items]

    print(f"{'chart':44s} {'st.altair_chart':>15s} {'first draw':>11s} {'cached':>8s} {'speed-up':>9s} {'cached':>8s}")
    for (name, _, _), b, f, c in zip(items, baseline, first, cached):
        print(f"{name:44s} {b:12.1f} ms {f:8.1f} ms {c:5.1f} ms {b / f:8.1f}× {b / c:7.0f}×")
    total_b, total_f, total_c = sum(baseline), sum(first), sum(cached)
    print(f"{'all nine (a first visit to the three pages)':44s} {total_b:12.1f} ms {total_f:8.1f} ms {total_c:5.1f} ms "
          f"{total_b / total_f:8.1f}× {total_b / total_c:7.0f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
