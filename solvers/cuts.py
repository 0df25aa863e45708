"""Per-workload replica floors: the cheapest whole-replica mix that meets each target.

For one workload alone, with every resource priced at its least share of a node's price
(`countmodel.unit_prices`), the cheapest integer mix of replicas meeting its target (and
`replicas.min`) is a small knapsack. Its proven optimum is a lower bound on the shares that
workload's replicas take in any plan, so `countmodel.build` adds it as a row: the LP relaxation then
pays for rounding every workload up to whole replicas, which it otherwise gets for free.
"""

from __future__ import annotations

import math

from ortools.sat.python import cp_model

from planner.problem import PlanningProblem
from solvers.countmodel import unit_prices

KNAPSACK_LIMIT_S = 0.5  # per workload; the proven bound is used, so a timeout only weakens the row


def replica_floors(problem: PlanningProblem) -> dict[int, int]:
    shares = unit_prices(problem)
    pools = {group.gpu: [] for group in problem.groups}
    for group in problem.groups:
        if group.pool not in pools[group.gpu]:
            pools[group.gpu].append(group.pool)
    floors: dict[int, int] = {}
    for w, demand in enumerate(problem.demands):
        # The cheapest share of each resource with its capacity; a resource no cheaper and no
        # larger than another adds nothing to the knapsack.
        items: dict[str, tuple[int, int]] = {}
        for (wi, gpu), cands in problem.candidates.items():
            if wi != w:
                continue
            for cand in cands:
                res = str(cand.resource)
                price = min((shares[pool, res] for pool in pools.get(gpu, []) if (pool, res) in shares), default=None)
                if price is not None and (res not in items or price < items[res][0]):
                    items[res] = (price, cand.capacity)
        useful = [
            (p, c) for p, c in set(items.values())
            if c > 0 and not any((q < p and d >= c) or (q <= p and d > c) for q, d in items.values())
        ]
        if not useful or demand.target_scaled <= 0:
            continue
        model = cp_model.CpModel()
        fewest = max(demand.min_replicas, 0)
        counts = [model.NewIntVar(0, max(-(-demand.target_scaled // c), fewest), "") for _, c in useful]
        model.Add(sum(c * n for (_, c), n in zip(useful, counts)) >= demand.target_scaled)
        if fewest:
            model.Add(sum(counts) >= fewest)
        model.Minimize(sum(p * n for (p, _), n in zip(useful, counts)))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = KNAPSACK_LIMIT_S
        solver.parameters.catch_sigint_signal = False
        status = solver.Solve(model)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            floors[w] = math.floor(solver.BestObjectiveBound() + 1e-9)
    return floors
