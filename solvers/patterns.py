"""Replica patterns: a MIP over each workload's whole-replica choices (price-and-branch).

Why: on fleets of tens of workloads and more, what the engines leave on the table is the
rounding of replica counts, coupled through shared capacity (README "Performance"): HiGHS on the
count model branches on one replica count at a time and stalls. Where it runs (the HiGHS process's
second half, or a HiGHS process of its own in CP-SAT's time): `solvers/cpsat.py`. Here a workload's replicas are
chosen as one *pattern* — an integer replica count per resource that meets its target — and the
MIP picks one pattern per workload (a binary each), which lets HiGHS branch on whole choices.

Where the patterns come from (`lp_priced`): the count model's LP relaxation prices every resource
of every pool (the duals of its supply and memory-slot rows), and splits each workload over
resources. For each workload, an exact depth-first knapsack-cover search (`cheapest_patterns`)
gives the few integer patterns those prices make cheapest, and the few cheapest completions of the
LP's split rounded down. The plans already known (greedy's, HiGHS's) join the pool, so the MIP can
start from the best of them. Then the count model, with `rep[w,p,r] = Σ pattern[r] × chosen[w,j]`,
is solved by HiGHS (`solve_restricted`): every plan of this restricted model is a plan of the full
model (checked again with exact integers), but its bound holds only for the patterns in the pool,
so the bound a plan reports still comes from the full model (`solvers/highs.py`).

Why one pricing round at the LP's prices rather than column generation to convergence: measured on
the L benchmark fleets (this 2-core machine), the LP's prices give the better pools. Column
generation (Dantzig–Wolfe by workload) had its master at $9,019/h after 45 s on seed 0, above
the plans the MIP finds, and the pools it grows slow the MIP down: 6 s of it after the LP-priced
patterns took seed 1 from $8,711.92 to $8,744.24 and seed 2 from $9,133.04 to $9,147.40, for the
same total time. With the rounded LP splits, greedy's plan alone seeds the pool as well as HiGHS's
plan does: $8,997.96, $8,702.52, $9,125.92 and $8,957.88 on seeds 0–3 in 25-30 s of pattern MIP
(HiGHS on the full model for 55 s: $9,048.36, $8,749.40, $9,156.12, $9,024.14).
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from datetime import timedelta

from ortools.linear_solver import pywraplp

from planner.problem import PlanningProblem
from planner.solution import CountSolution
from solvers.countmodel import build, replica_capacities, resource_slots
from solvers.lp import _LpModel

# A pricing search that visits more nodes than this returns the best patterns found so far: any
# pattern meeting the target is valid, and one workload must not hold up the whole pool.
PRICING_NODE_LIMIT = 20_000
# Patterns per workload at the LP's prices. L benchmark fleet, seeds 1 and 2, 25 s of pattern MIP:
# 3 gave $8,719.20 and $9,133.10, 5 $8,711.92 and $9,133.04, 10 $8,702.52 and $9,124.32.
PATTERNS_PER_WORKLOAD = 10
# Patterns per workload completing the LP's rounded-down split. L benchmark fleet, 25-30 s of pattern
# MIP from greedy's plan alone: seed 0 $9,004.80 -> $8,997.96, seed 3 $9,001.62 -> $8,957.88.
ROUNDED_PER_WORKLOAD = 3
LP_EPS = 1e-6  # an LP value this close below an integer counts as that integer
PATTERN_MIP_MIN_S = 3.0  # seconds the pattern MIP needs at least (its model build included)

Pattern = dict  # (pool, resource) -> replicas


def cheapest_patterns(items: list[tuple[float, int, int, tuple]], target: int, fewest: int, most: int, k: int = 1) -> list[tuple[float, Pattern]]:
    """The k cheapest integer replica counts meeting a target, cheapest first: minimise
    Σ price·x subject to Σ capacity·x >= target, fewest <= Σ x <= most, 0 <= x <= bound. `items`
    are (price, capacity, bound, key); prices below zero count as zero (they are LP prices, and a
    free replica adds nothing a cheaper pattern would not). Depth-first, best price per capacity
    first, pruned by the fractional (knapsack) bound against the k-th best so far; [] when no
    pattern exists. Patterns stop growing once they cover the target (only minimal ones count)."""
    items = sorted(((max(price, 0.0), cap, bound, key) for price, cap, bound, key in items if cap > 0 and bound > 0), key=lambda it: (it[0] / it[1], it[3]))
    found: list[tuple[float, int, list[int]]] = []  # a max-heap on cost: (-cost, order, counts)
    counts = [0] * len(items)
    ratio_from = [min((it[0] / it[1] for it in items[i:]), default=0.0) for i in range(len(items) + 1)]
    nodes = 0

    def worst() -> float:
        return -found[0][0] if len(found) >= k else math.inf

    def search(i: int, covered: int, count: int, cost: float) -> None:
        nonlocal nodes
        nodes += 1
        if nodes > PRICING_NODE_LIMIT and found:
            return
        if covered >= target and count >= fewest:
            if cost < worst():
                heapq.heappush(found, (-cost, nodes, list(counts)))
                if len(found) > k:
                    heapq.heappop(found)
            return
        if i == len(items) or count >= most:
            return
        if cost + max(target - covered, 0) * ratio_from[i] >= worst():
            return
        price, cap, bound, _ = items[i]
        top = min(bound, max(-(-max(target - covered, 0) // cap), fewest - count), most - count)
        for n in range(top, -1, -1):
            counts[i] = n
            search(i + 1, covered + n * cap, count + n, cost + n * price)
        counts[i] = 0

    search(0, 0, 0, 0.0)
    return [(-neg, {items[i][3]: n for i, n in enumerate(best) if n}) for neg, _, best in sorted(found, reverse=True)]


def _replicas_by_workload(v) -> dict[int, list]:
    """A count model's replica variables, per workload: (pool, resource, variable)."""
    reps: dict[int, list] = {}
    for (w, pool, res), var in v.rep.items():
        reps.setdefault(w, []).append((pool, res, var))
    return reps


def _pattern_of(sol: CountSolution, w: int) -> Pattern:
    return {(pool, res): n for (wi, pool, res), n in sol.replicas.items() if wi == w and n}


class _Pool:
    """Each workload's patterns, without repeats, in the order found (deterministic)."""

    def __init__(self) -> None:
        self.patterns: dict[int, list[Pattern]] = {}
        self._seen: set[tuple] = set()

    def add(self, w: int, pattern: Pattern) -> bool:
        key = (w, tuple(sorted(pattern.items())))
        if key in self._seen:
            return False
        self._seen.add(key)
        self.patterns.setdefault(w, []).append(pattern)
        return True

    def __len__(self) -> int:
        return len(self._seen)


def lp_priced(problem: PlanningProblem, known: list[CountSolution | None], deadline: float, per_workload: int = PATTERNS_PER_WORKLOAD) -> dict[int, list[Pattern]]:
    """Each workload's patterns: those of the `known` plans, then its `per_workload` cheapest at the
    LP relaxation's resource prices. If the LP is not solved by `deadline`, the known ones only."""
    pool = _Pool()
    for w in range(len(problem.demands)):
        for sol in known:
            if sol is not None and sol.cost_scaled is not None:
                pool.add(w, _pattern_of(sol, w))
    if time.time() >= deadline:
        return pool.patterns
    solver = pywraplp.Solver.CreateSolver("GLOP")
    v = build(problem, _LpModel(solver), secondary=False)
    solver.Minimize(v.cost)
    solver.SetTimeLimit(max(int((deadline - time.time()) * 1000), 1))
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return pool.patterns

    # A replica's price is what its resource costs at the margin: the dual of the pool's supply row
    # for that resource plus its memory slots at the dual of the pool's slot row (both rows are
    # "<=", so their duals are <= 0 when minimising). The workload's own rows (its target, its
    # replica counts) are left out: every pattern meets them by construction.
    def dual(row) -> float:
        return row.dual_value() if row is not None else 0.0

    capacity = replica_capacities(problem)
    for w, items in sorted(_replicas_by_workload(v).items()):
        if time.time() >= deadline:
            break
        demand = problem.demands[w]
        fewest = max(demand.min_replicas, 2 if demand.spread else 0)
        most = demand.max_replicas if demand.max_replicas is not None else 1 << 40
        price = {(p, res): -dual(v.supply_rows.get((p, res))) - resource_slots(problem, res) * dual(v.slot_rows.get(p)) for p, res, _ in items}
        bound = {(p, res): int(var.ub()) for p, res, var in items}
        # The LP's own split of the workload over resources, rounded down and completed cheaply:
        # it mixes resources in the proportions the fleet's capacity allows, which the prices alone
        # (all the cheapest patterns sit at one corner) do not show.
        base = {(p, res): math.floor(var.solution_value() + LP_EPS) for p, res, var in items if var.solution_value() + LP_EPS >= 1}
        covered = sum(capacity[w, key[1]] * n for key, n in base.items())
        rest = [(price[key], capacity[w, key[1]], bound[key] - base.get(key, 0), key) for key in price]
        for _, extra in cheapest_patterns(rest, max(demand.target_scaled - covered, 0), max(fewest - sum(base.values()), 0), most - sum(base.values()), k=ROUNDED_PER_WORKLOAD):
            pool.add(w, {key: base.get(key, 0) + extra.get(key, 0) for key in sorted(base.keys() | extra.keys())})
        offer = [(price[key], capacity[w, key[1]], bound[key], key) for key in price]
        for _, pattern in cheapest_patterns(offer, demand.target_scaled, fewest, most, k=per_workload):
            pool.add(w, pattern)
    return pool.patterns


def search(
    problem: PlanningProblem,
    deadline: float,
    seed: int,
    known: list[CountSolution | None],
    mip_deadline: float | None = None,
    or_else: Callable[[CountSolution | None], CountSolution] | None = None,
) -> CountSolution:
    """The pattern MIP over the LP-priced pool and the `known` plans' patterns, from the cheapest of
    them, until `mip_deadline` (default `deadline`) or done: a plan of the full model, no bound.
    The LP must be done `PATTERN_MIP_MIN_S` before `deadline`; where it took that time, `or_else`
    (given the cheapest known plan) runs instead, if given, else the MIP gets the known plans'
    patterns and what time is left. Failures come back as a note: the caller carries on with the
    plans it has."""
    known = [plan for plan in known if plan is not None and plan.cost_scaled is not None]
    start = min(known, key=lambda plan: plan.cost_scaled, default=None)
    try:
        pool = lp_priced(problem, known, deadline - PATTERN_MIP_MIN_S)
        if or_else is not None and deadline - time.time() < PATTERN_MIP_MIN_S:
            return or_else(start)
        found = solve_restricted(problem, pool, deadline if mip_deadline is None else mip_deadline, seed, start)
    except Exception as exc:
        return CountSolution(status="unknown", solver="highs-patterns", notes=[f"replica patterns failed ({type(exc).__name__}: {exc})"])
    found.solver = "highs-patterns"
    return found


def solve_restricted(
    problem: PlanningProblem, patterns: dict[int, list[Pattern]], deadline: float, seed: int, hint: CountSolution | None
) -> CountSolution:
    """The count model with each workload's replicas one of its patterns, by HiGHS until
    `deadline`. The plan (exactly checked) is a plan of the full model; the bound is not."""
    from ortools.math_opt.python import mathopt

    from solvers.highs import _MathOptModel, _hint_values, solution_of

    wrapper = _MathOptModel()
    v = build(problem, wrapper, secondary=False)
    wrapper.model.minimize(v.cost)
    chosen: dict = {}
    reps = _replicas_by_workload(v)
    if any(not patterns.get(w) for w in reps):  # a workload without a pattern: no plan in this pool
        return CountSolution(status="unknown", solver="highs-patterns")
    for w, items in reps.items():
        options = patterns.get(w, [])
        picks = [wrapper.model.add_binary_variable(name=f"pattern_w{w}_{j}") for j in range(len(options))]
        for j, pick in enumerate(picks):
            chosen[w, j] = pick
        wrapper.model.add_linear_constraint(sum(picks) == 1)
        for pool, res, var in items:
            terms = [pattern[pool, res] * pick for pattern, pick in zip(options, picks) if pattern.get((pool, res))]
            wrapper.model.add_linear_constraint(var == sum(terms) if terms else var == 0)
    model_params = None
    if hint is not None and hint.cost_scaled is not None:
        values = _hint_values(v, hint)
        for w, options in patterns.items():
            mine = _pattern_of(hint, w)
            for j, pattern in enumerate(options):
                values[chosen[w, j]] = 1 if pattern == mine else 0
        model_params = mathopt.ModelSolveParameters(solution_hints=[mathopt.SolutionHint(variable_values=values)])
    params = mathopt.SolveParameters(
        time_limit=timedelta(seconds=max(deadline - time.time(), 0.05)), relative_gap_tolerance=0.0, absolute_gap_tolerance=0.0, random_seed=seed
    )
    result = mathopt.solve(wrapper.model, mathopt.SolverType.HIGHS, params=params, model_params=model_params)
    out = solution_of(problem, v, result, mathopt)
    out.bound_scaled = None  # a bound over the pool's patterns only: not a bound on the fleet's cost
    if out.status == "optimal":
        out.status = "feasible"
    return out
