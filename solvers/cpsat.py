"""CP-SAT back end: the aggregated count model of DESIGN §4, solved lexicographically.

Variables (all integers, per node group g):
  fresh[g,k]   nodes configured anew, holding tensor-parallel packing k
  kept[g,k]    inventory nodes left exactly as today, packing k over today's MIG-off GPUs
  gpus[g,L]    GPUs of fresh nodes running layout L (a MIG profile multiset, or MIG off)
  rep[w,g,r]   replicas of workload w on resource r of group g
Supply of every resource in a group (slices of each profile, whole GPUs, TP groups of each size)
bounds the replicas placed on it; capacities times replicas meet each target. Spread: a workload
that needs two nodes gets `host[w,g]` (nodes of g hosting it, at most 2) summing to >= 2.

Stages: (1) minimise cost — its proven bound is what the plan reports; (2) with cost fixed at the
best found, minimise layout changes against today; (3) then the number of distinct layouts.
Each stage is warm-started with the previous stage's solution.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ortools.sat.python import cp_model

from planner.problem import PlanningProblem
from planner.solution import CountSolution



@dataclass
class _Vars:
    fresh: dict = field(default_factory=dict)
    kept: dict = field(default_factory=dict)
    gpus: dict = field(default_factory=dict)
    rep: dict = field(default_factory=dict)
    active: dict = field(default_factory=dict)
    cost: object = None
    changes: object = None
    distinct: object = None


def _build(problem: PlanningProblem) -> tuple[cp_model.CpModel, _Vars]:
    model = cp_model.CpModel()
    v = _Vars()
    supply: dict[tuple[int, str], list] = {}  # (group, resource) -> linear terms

    def add_supply(g: int, res: str, term) -> None:
        supply.setdefault((g, res), []).append(term)

    for group in problem.groups:
        g = group.id
        n_gpu = group.gpus_per_node
        avail = group.available
        for k, packing in enumerate(group.packings):
            v.fresh[g, k] = model.NewIntVar(0, avail, f"fresh_g{g}_k{k}")
        if group.kept is not None:
            for k, packing in enumerate(group.kept.packings):
                v.kept[g, k] = model.NewIntVar(0, avail, f"kept_g{g}_k{k}")
        fresh_nodes = [v.fresh[g, k] for k in range(len(group.packings))]
        kept_nodes = [v.kept[g, k] for k in range(len(group.kept.packings))] if group.kept else []
        active = model.NewIntVar(0, avail, f"active_g{g}")
        model.Add(active == sum(fresh_nodes) + sum(kept_nodes))
        v.active[g] = active

        # GPUs of fresh nodes not taken by TP groups choose a layout (or stay idle).
        free_gpus = sum(v.fresh[g, k] * (n_gpu - p.gpus) for k, p in enumerate(group.packings))
        layout_vars = []
        for layout in problem.layouts[group.gpu]:
            x = model.NewIntVar(0, avail * n_gpu, f"gpus_g{g}_{layout.key}")
            v.gpus[g, layout.key] = x
            layout_vars.append(x)
            if layout.mode == "full":
                add_supply(g, group.gpu, x)
            for profile, count in layout.counts:
                add_supply(g, f"{group.gpu}/{profile}", count * x)
        model.Add(sum(layout_vars) <= free_gpus)

        for k, packing in enumerate(group.packings):
            for size in sorted({len(t) for t in packing.groups}):
                add_supply(g, f"{group.gpu}/tp{size}", packing.count(size) * v.fresh[g, k])
        if group.kept is not None:
            kept_total = sum(kept_nodes)
            for profile, count in group.kept.fixed:
                add_supply(g, f"{group.gpu}/{profile}", count * kept_total)
            for k, packing in enumerate(group.kept.packings):
                off_free = len(group.kept.off) - packing.gpus
                if off_free:
                    add_supply(g, group.gpu, off_free * v.kept[g, k])
                for size in sorted({len(t) for t in packing.groups}):
                    add_supply(g, f"{group.gpu}/tp{size}", packing.count(size) * v.kept[g, k])

    # Replicas: on each group, of each candidate resource, bounded by supply.
    users: dict[tuple[int, str], list] = {}
    for demand_index, demand in enumerate(problem.demands):
        coverage = []
        count_terms = []
        hosts = []
        for group in problem.groups:
            g = group.id
            cands = problem.candidates.get((demand_index, group.gpu), [])
            group_reps = []
            for cand in cands:
                res = str(cand.resource)
                if (g, res) not in supply:
                    continue
                ub = _supply_ub(group, cand.resource, problem)
                r = model.NewIntVar(0, ub, f"rep_w{demand_index}_g{g}_{res}")
                v.rep[demand_index, g, res] = r
                users.setdefault((g, res), []).append(r)
                coverage.append(cand.capacity * r)
                count_terms.append(r)
                group_reps.append(r)
            if demand.spread and group_reps:
                # Nodes of g hosting w (at most 2 matter). Each needs its own replica and its own
                # GPU or TP group able to hold w, so count those carriers too: without that bound
                # the model could "spread" two replicas over one GPU and an empty second node.
                h = model.NewIntVar(0, min(2, group.available), f"host_w{demand_index}_g{g}")
                model.Add(h <= v.active[g])
                model.Add(h <= sum(group_reps))
                model.Add(h <= _carriers(group, problem, v, {str(c.resource) for c in cands}))
                hosts.append(h)
        model.Add(sum(coverage) >= demand.target_scaled)
        if demand.min_replicas:
            model.Add(sum(count_terms) >= demand.min_replicas)
        if demand.max_replicas is not None:
            model.Add(sum(count_terms) <= demand.max_replicas)
        if demand.spread:
            model.Add(sum(hosts) >= 2)
    for key, reps in users.items():
        model.Add(sum(reps) <= sum(supply[key]))

    v.cost = sum(group.price_scaled * v.active[group.id] for group in problem.groups)
    v.changes = sum(
        v.active[group.id] - sum(v.kept[group.id, k] for k in range(len(group.kept.packings)))
        for group in problem.groups
        if group.kept is not None
    )
    # Distinct layouts per GPU type (MIG-off counts as one layout; TP groups are not layouts).
    used: dict[tuple[str, str], cp_model.IntVar] = {}
    for group in problem.groups:
        for layout in problem.layouts[group.gpu]:
            key = (group.gpu, layout.key)
            if key not in used:
                used[key] = model.NewBoolVar(f"uses_{group.gpu}_{layout.key}")
            x = v.gpus[group.id, layout.key]
            model.Add(x == 0).OnlyEnforceIf(used[key].Not())
        if group.kept is not None:
            for layout in group.kept.fixed_layouts:
                total = sum(v.kept[group.id, k] for k in range(len(group.kept.packings)))
                model.Add(total == 0).OnlyEnforceIf(used[group.gpu, layout.key].Not())
    v.distinct = sum(used.values())
    return model, v


def _carriers(group, problem: PlanningProblem, v: _Vars, usable: set[str]):
    """GPUs (or TP groups) of a group that could hold a replica using one of `usable` resources."""
    g, gpu = group.id, group.gpu
    terms = []
    for layout in problem.layouts[gpu]:
        holds = (gpu in usable) if layout.mode == "full" else any(f"{gpu}/{p}" in usable for p, _ in layout.counts)
        if holds:
            terms.append(v.gpus[g, layout.key])
    for k, packing in enumerate(group.packings):
        n = sum(1 for t in packing.groups if f"{gpu}/tp{len(t)}" in usable)
        if n:
            terms.append(n * v.fresh[g, k])
    if group.kept is not None:
        fixed = sum(1 for layout in group.kept.fixed_layouts if any(f"{gpu}/{p}" in usable for p, _ in layout.counts))
        for k, packing in enumerate(group.kept.packings):
            n = fixed + sum(1 for t in packing.groups if f"{gpu}/tp{len(t)}" in usable)
            if gpu in usable:
                n += len(group.kept.off) - packing.gpus
            if n:
                terms.append(n * v.kept[g, k])
    return sum(terms)


def _supply_ub(group, resource, problem: PlanningProblem) -> int:
    """Most units of a resource a group could ever supply (keeps variable domains tight)."""
    n = group.available
    if resource.kind == "tp":
        return n * (group.gpus_per_node // resource.gpus)
    if resource.kind == "full":
        return n * group.gpus_per_node
    best = max((c for layout in problem.layouts[group.gpu] for p, c in layout.counts if p == resource.profile), default=0)
    if group.kept is not None:
        best = max(best, dict(group.kept.fixed).get(resource.profile, 0))
    return n * group.gpus_per_node * best


class _Progress(cp_model.CpSolverSolutionCallback):
    def __init__(self, report: Callable[[float, float, float], None] | None, scale: float):
        super().__init__()
        self._report = report
        self._scale = scale

    def on_solution_callback(self) -> None:
        if self._report:
            self._report(self.ObjectiveValue() / self._scale, self.BestObjectiveBound() / self._scale, self.WallTime())


def _status(code: int) -> str:
    return {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
        cp_model.MODEL_INVALID: "invalid",
    }.get(code, "unknown")


def _extract(solver: cp_model.CpSolver, v: _Vars, out: CountSolution) -> None:
    out.fresh = {k: solver.Value(x) for k, x in v.fresh.items() if solver.Value(x)}
    out.kept = {k: solver.Value(x) for k, x in v.kept.items() if solver.Value(x)}
    out.layouts = {k: solver.Value(x) for k, x in v.gpus.items() if solver.Value(x)}
    out.replicas = {k: solver.Value(x) for k, x in v.rep.items() if solver.Value(x)}


def _interruptible_solve(solver: cp_model.CpSolver, model: cp_model.CpModel, callback, out: CountSolution) -> int:
    """Solve in a worker thread so Ctrl-C reaches Python: the main thread then stops the search,
    and the best solution found so far is kept (CP-SAT returns it as FEASIBLE)."""
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(solver.Solve(model, callback) if callback else solver.Solve(model)),
        name="cp-sat",
        daemon=True,
    )
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        out.interrupted = True
        solver.StopSearch()
        worker.join()
    return result[0]


def _hint(model: cp_model.CpModel, v: _Vars, sol: CountSolution) -> None:
    model.ClearHints()
    for table, values in ((v.fresh, sol.fresh), (v.kept, sol.kept), (v.gpus, sol.layouts), (v.rep, sol.replicas)):
        for key, var in table.items():
            model.AddHint(var, values.get(key, 0))


def solve(
    problem: PlanningProblem,
    time_limit_s: float,
    workers: int = 0,
    seed: int = 0,
    relative_gap: float = 0.0,
    warm_start: CountSolution | None = None,
    progress: Callable[[float, float, float], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> CountSolution:
    start = time.monotonic()
    workers = max(workers, 1)
    model, v = _build(problem)
    out = CountSolution(status="unknown", solver="cp-sat", workers=workers, seed=seed)

    def run(stage_limit: float, callback=None) -> tuple[int, cp_model.CpSolver]:
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.num_workers = workers
        p.random_seed = seed
        # One worker with the full LP relaxation (linearization level 2) proves the fleet-sized
        # models optimal fastest and is deterministic. With several workers, interleaved search
        # keeps the portfolio deterministic too: same model and seed, same answer, whatever the
        # machine's load — as long as the time limit is not what ends the search.
        p.linearization_level = 2
        if workers > 1:
            p.interleave_search = True
        p.max_time_in_seconds = max(stage_limit, 0.05)
        p.relative_gap_limit = relative_gap
        return _interruptible_solve(solver, model, callback, out), solver

    # Stage 1: cost.
    model.Minimize(v.cost)
    if warm_start is not None:
        _hint(model, v, warm_start)
    status, solver = run(time_limit_s * 0.8, _Progress(progress, 1000.0) if progress else None)
    out.status = _status(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        out.seconds = time.monotonic() - start
        return out
    _extract(solver, v, out)
    out.cost_scaled = int(round(solver.ObjectiveValue()))
    out.bound_scaled = int(round(solver.BestObjectiveBound()))
    if status == cp_model.OPTIMAL:
        out.bound_scaled = out.cost_scaled
    model.Add(v.cost <= out.cost_scaled)

    # Stages 2 and 3: fewer changes, then fewer distinct layouts, at no extra cost.
    for name, expr in (("changes", v.changes), ("distinct_layouts", v.distinct)):
        if out.interrupted:
            out.notes.append(f"interrupted before minimising {name}")
            break
        if isinstance(expr, int):
            setattr(out, name, expr)
            continue
        remaining = time_limit_s - (time.monotonic() - start)
        if remaining <= 0.05:
            out.notes.append(f"no time left to minimise {name}")
            break
        _hint(model, v, out)
        model.Minimize(expr)
        status, solver = run(min(remaining, max(time_limit_s * 0.1, 1.0)))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            _extract(solver, v, out)
            value = int(round(solver.ObjectiveValue()))
            setattr(out, name, value)
            model.Add(expr <= value)
            if status != cp_model.OPTIMAL:
                out.notes.append(f"{name} minimised within the time limit, not proven minimal")
    out.seconds = time.monotonic() - start
    return out
