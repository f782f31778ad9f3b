"""What is wrong with a plan, and which chain of tasks decides its end: validation and the dependency graph.

Why a module of its own: the editor lets anything through, so every problem is
reported here with a stable code and a message in either language (never fixed
silently); the dependency graph (cycles, conflicts, topological order, critical
path) is the same for the page, the chart, the exports and the review pack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lib.i18n import t
from lib.timeline.model import DEFAULT_WEEKS, PHASES, TIERS, Task

# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """One problem in a plan, with a stable code and a message in either language."""

    code: str
    severity: Severity
    task_ids: tuple[str, ...]
    values: tuple[tuple[str, Any], ...] = ()

    def message(self, lang: str = "en") -> str:
        """The message in ``lang`` (task names are quoted as the user typed them)."""
        values = dict(self.values)
        if "field" in values:
            values["field"] = t(f"timeline.column.{values['field']}", lang)
        return t(f"timeline.issue.{self.code}", lang, **values)


def _ref(task: Task) -> str:
    return f"{task.id} “{task.name}”" if task.name else task.id


def _issue(code: str, severity: Severity, ids: Iterable[str], **values: Any) -> Issue:
    return Issue(code=code, severity=severity, task_ids=tuple(ids), values=tuple(values.items()))


def validate(tasks: Sequence[Task], weeks: int = DEFAULT_WEEKS) -> list[Issue]:
    """Every problem in the plan: per-task checks in table order, then dependency checks; warnings last.

    Errors: empty name, duplicate id, unknown phase or tier, week outside
    1..``weeks``, end before start, progress outside 0–100 %, unknown dependency,
    dependency cycle (the cycle is named). Warning: a task that starts before a
    task it depends on has ended (both are named) — the chart draws that link red.
    """
    issues: list[Issue] = []
    by_id: dict[str, Task] = {}
    seen_dupes: set[str] = set()
    for task in tasks:
        if not task.name.strip():
            issues.append(_issue("empty_name", "error", [task.id], task=task.id))
        if task.id not in by_id:
            by_id[task.id] = task
        elif task.id not in seen_dupes:
            seen_dupes.add(task.id)
            issues.append(_issue("duplicate_id", "error", [task.id], id=task.id))
        issues += _cell_issues(task, weeks)
    issues += _dependency_issues(tasks, by_id)
    return issues


def _cell_issues(task: Task, weeks: int) -> list[Issue]:
    """Problems of one row's own cells: phase, tier, weeks and progress."""
    issues: list[Issue] = []
    if task.phase not in PHASES:
        issues.append(_issue("unknown_phase", "error", [task.id], task=_ref(task), phase=task.phase or "—"))
    if task.tier and task.tier not in TIERS:
        issues.append(_issue("unknown_tier", "error", [task.id], task=_ref(task), tier=task.tier))
    for field_name in ("start_week", "end_week"):
        week = getattr(task, field_name)
        if not 1 <= week <= weeks:
            issues.append(_issue("week_out_of_range", "error", [task.id], task=_ref(task), field=field_name,
                                 week=week if week else "—", weeks=weeks))
    if task.start_week and task.end_week and task.end_week < task.start_week:
        issues.append(_issue("end_before_start", "error", [task.id], task=_ref(task), start=task.start_week,
                             end=task.end_week))
    if not 0.0 <= task.progress <= 1.0:
        issues.append(_issue("progress_out_of_range", "error", [task.id], task=_ref(task),
                             progress=f"{task.progress:.0%}"))
    return issues


def _dependency_issues(tasks: Sequence[Task], by_id: Mapping[str, Task]) -> list[Issue]:
    """Unknown dependencies and cycles (errors), then tasks starting before what they depend on ends (warnings)."""
    issues = [
        _issue("unknown_dependency", "error", [task.id], task=_ref(task), dependency=dep)
        for task in tasks for dep in task.depends_on if dep not in by_id
    ]
    issues += [_issue("dependency_cycle", "error", cycle[:-1], cycle=" → ".join(cycle)) for cycle in find_cycles(tasks)]
    issues += [
        _issue("dependency_conflict", "warning", [successor.id, predecessor.id], task=_ref(successor),
               start=successor.start_week, dependency=_ref(predecessor), end=predecessor.end_week)
        for successor, predecessor in dependency_conflicts(tasks)
    ]
    return issues


#: Problems of a row's own cells: such a task cannot be placed on the weeks, so the chart leaves it out.
ROW_ERROR_CODES: frozenset[str] = frozenset({"week_out_of_range", "end_before_start", "progress_out_of_range"})


def drawable_tasks(tasks: Sequence[Task], issues: Iterable[Issue]) -> tuple[list[Task], list[Task]]:
    """(tasks the chart can draw as they are, tasks left out because of their own cells).

    A row with a week outside the plan, an end before its start or a progress
    outside 0–100 % is left out rather than moved to the edge: the chart never
    shows a task anywhere the table does not say. Other problems (a cycle, an
    unknown dependency, a duplicate id) leave every row drawable.
    """
    bad = {task_id for issue in issues if issue.code in ROW_ERROR_CODES for task_id in issue.task_ids}
    bad_rows = [task for task in tasks if task.id in bad]
    return [task for task in tasks if task.id not in bad], bad_rows


def _graph(tasks: Sequence[Task]) -> tuple[list[str], dict[str, list[str]]]:
    """Node ids (first occurrence wins) and predecessor lists restricted to known ids."""
    nodes: list[str] = []
    preds: dict[str, list[str]] = {}
    for task in tasks:
        if task.id in preds:
            continue
        nodes.append(task.id)
        preds[task.id] = []
    first: dict[str, Task] = {}
    for task in tasks:
        first.setdefault(task.id, task)
    for task_id in nodes:
        preds[task_id] = [d for d in first[task_id].depends_on if d in preds]
    return nodes, preds


def dependency_conflicts(tasks: Sequence[Task]) -> list[tuple[Task, Task]]:
    """(successor, predecessor) pairs where the successor starts in or before the predecessor's end week."""
    first: dict[str, Task] = {}
    for task in tasks:
        first.setdefault(task.id, task)
    pairs = []
    for task in tasks:
        for dep in task.depends_on:
            predecessor = first.get(dep)
            if predecessor is None or predecessor.id == task.id:
                continue
            if task.start_week <= predecessor.end_week:
                pairs.append((task, predecessor))
    return pairs


def find_cycles(tasks: Sequence[Task]) -> list[list[str]]:
    """One named cycle per strongly connected group, e.g. ``["A", "B", "C", "A"]``.

    Uses Tarjan's algorithm on edges predecessor → successor; a self-dependency
    is the cycle ``["A", "A"]``.
    """
    nodes, preds = _graph(tasks)
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for node in nodes:
        for pred in preds[node]:
            succs[pred].append(node)
    order = {n: i for i, n in enumerate(nodes)}
    cycles: list[list[str]] = []
    for group in _strongly_connected(nodes, succs):
        start = min(group, key=order.__getitem__)
        if len(group) == 1 and start not in succs[start]:
            continue
        cycles.append(_cycle_through(start, set(group), succs, order))
    cycles.sort(key=lambda c: order[c[0]])
    return cycles


def _strongly_connected(nodes: Sequence[str], succs: Mapping[str, list[str]]) -> list[list[str]]:
    """The strongly connected groups of the graph (Tarjan's algorithm, iterative: no recursion limit)."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in nodes:
        if root in index_of:
            continue
        work: list[tuple[str, int]] = [(root, 0)]  # (node, position in its successor list)
        while work:
            node, pos = work.pop()
            if pos == 0:
                index_of[node] = low[node] = len(index_of)
                stack.append(node)
                on_stack.add(node)
            descended = False
            for i in range(pos, len(succs[node])):
                nxt = succs[node][i]
                if nxt not in index_of:  # visit it first, then come back to position i + 1
                    work += [(node, i + 1), (nxt, 0)]
                    descended = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index_of[nxt])
            if descended:
                continue
            if low[node] == index_of[node]:
                groups.append(_pop_group(node, stack, on_stack))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return groups


def _pop_group(node: str, stack: list[str], on_stack: set[str]) -> list[str]:
    """Pop the stack down to ``node``: one strongly connected group."""
    group = []
    while True:
        member = stack.pop()
        on_stack.discard(member)
        group.append(member)
        if member == node:
            return group


def _cycle_through(
    start: str, members: set[str], succs: Mapping[str, list[str]], order: Mapping[str, int]
) -> list[str]:
    """A shortest cycle from ``start`` back to itself inside one strongly connected group (BFS)."""
    parent: dict[str, str] = {}
    queue = [start]
    seen = {start}
    while queue:
        node = queue.pop(0)
        for nxt in sorted(succs[node], key=order.__getitem__):
            if nxt not in members:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                path.reverse()
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                parent[nxt] = node
                queue.append(nxt)
    return [start, start]  # pragma: no cover - a strongly connected group always closes


class DependencyCycleError(ValueError):
    """The dependencies loop, so there is no order in which to do the tasks."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = list(cycle)
        super().__init__("Dependency cycle: " + " → ".join(self.cycle))


def topological_order(tasks: Sequence[Task]) -> list[str]:
    """Ids in an order where every task comes after the tasks it depends on (Kahn's algorithm).

    Unknown dependency ids are ignored; ties keep the tasks' own order. Raises
    ``DependencyCycleError`` naming a cycle.
    """
    nodes, preds = _graph(tasks)
    indegree = {n: len(set(preds[n])) for n in nodes}
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for node in nodes:
        for pred in dict.fromkeys(preds[node]):
            succs[pred].append(node)
    position = {n: i for i, n in enumerate(nodes)}
    ready = sorted((n for n in nodes if indegree[n] == 0), key=position.__getitem__)
    ordered: list[str] = []
    while ready:
        node = ready.pop(0)
        ordered.append(node)
        released = []
        for nxt in succs[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                released.append(nxt)
        ready = sorted(ready + released, key=position.__getitem__)
    if len(ordered) < len(nodes):
        cycles = find_cycles(tasks)
        raise DependencyCycleError(cycles[0] if cycles else [])
    return ordered


def critical_path(tasks: Sequence[Task]) -> list[str]:
    """Ids of the longest chain of dependent tasks, measured in weeks of duration.

    Each task weighs its duration (end − start + 1; milestones 0); the chain with
    the largest total is returned from first to last task. Ties go to the chain
    with more tasks, then to the one ending at the task listed first. Returns ``[]`` for an empty plan or when the
    dependencies contain a cycle (``validate`` reports the cycle).
    """
    if not tasks:
        return []
    try:
        order = topological_order(tasks)
    except DependencyCycleError:
        return []
    first: dict[str, Task] = {}
    for task in tasks:
        first.setdefault(task.id, task)
    # best[id] = (weeks, tasks) of the longest chain ending at id; more tasks break ties,
    # so a milestone that closes a chain stays on it.
    best: dict[str, tuple[int, int]] = {}
    came_from: dict[str, str | None] = {}
    for node in order:
        task = first[node]
        chosen: str | None = None
        for pred in task.depends_on:
            if pred in best and (chosen is None or best[pred] > best[chosen]):
                chosen = pred
        weeks, count = best[chosen] if chosen else (0, 0)
        best[node] = (weeks + task.duration_weeks, count + 1)
        came_from[node] = chosen
    position = {task_id: i for i, task_id in enumerate(first)}
    end = max(order, key=lambda n: (best[n], -position[n]))
    path = [end]
    while came_from[path[-1]] is not None:
        path.append(came_from[path[-1]])  # type: ignore[arg-type]
    path.reverse()
    return path


def path_weeks(tasks: Sequence[Task], ids: Sequence[str]) -> int:
    """Total duration in weeks of the tasks ``ids`` (e.g. of the critical path)."""
    first: dict[str, Task] = {}
    for task in tasks:
        first.setdefault(task.id, task)
    return sum(first[i].duration_weeks for i in ids if i in first)
