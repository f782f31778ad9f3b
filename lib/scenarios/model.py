"""The prepared model every scenario of a dataset is evaluated on, kept per data version with its solver answers.

Why it exists: measuring the baseline and fitting the curves takes a second or two,
and one scenario asks the optimiser dozens of questions. A slider step on the page is a
new scenario on the same data, so :func:`prepare` keeps the model per workspace and
dataset version (an import bumps the version, so a stale model is never used) and the
model keeps one :class:`~lib.scenarios.solve.Solver` per quarter length: the answers
that do not depend on the moved input (the affordable budget, the mix's value, the
frontier) are found once.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from lib.channels.curves import CurveFit
from lib.kpis import Period
from lib.scenarios.baseline import Baseline, measure_baseline, scenario_curves
from lib.scenarios.solve import Solver, quarter_curves
from lib.workspace import Workspace

MODELS_PER_WORKSPACE = 4  # datasets × versions kept; a model with its answers is well under a megabyte


@dataclass(frozen=True)
class ScenarioModel:
    """What every scenario of a dataset is evaluated on: the measured baseline and the curves fitted for it.

    The page, ``cli scenario`` and the review pack all build it with :func:`prepare` and
    evaluate with :func:`~lib.scenarios.evaluate.run`, so they fit the same curves (on the
    data source the baseline chose) and state the same numbers.
    """

    baseline: Baseline
    curves: Mapping[str, CurveFit]
    solvers: dict[int, Solver] = field(default_factory=dict, init=False, compare=False, repr=False)

    def solver(self, weeks: int) -> Solver:
        """The optimiser's answers for a quarter of ``weeks`` weeks without bounds, shared by every scenario."""
        found = self.solvers.get(weeks)
        if found is None:
            found = Solver(quarter_curves(self.curves, weeks), None, self.baseline.channel_spend)
            self.solvers[weeks] = found
        return found


_LOCK = threading.Lock()
_MODELS: weakref.WeakKeyDictionary[Workspace, dict[Hashable, ScenarioModel]] = weakref.WeakKeyDictionary()


def prepare(ws: Workspace, dataset_id: int, quarter: Period | None = None) -> ScenarioModel:
    """Measure the baseline (default: the latest full quarter) and fit the curves on the baseline's source.

    The model is kept for the dataset's data version, so the next scenario on the same
    data (a slider step, the CLI after the page) reuses it and its solver answers.
    """
    key = (ws.get_dataset(int(dataset_id)).cache_key, quarter)
    with _LOCK:
        found = _MODELS.get(ws, {}).get(key)
    if found is not None:
        return found
    baseline = measure_baseline(ws, dataset_id, quarter)
    model = ScenarioModel(baseline, scenario_curves(ws, dataset_id, baseline.new_customers_source))
    with _LOCK:
        kept = _MODELS.setdefault(ws, {})
        kept[key] = model
        while len(kept) > MODELS_PER_WORKSPACE:
            kept.pop(next(iter(kept)))
    return model
