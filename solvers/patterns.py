"""Replica patterns: a MIP over each workload's whole-replica choices (price-and-branch).

Why: on fleets of a hundred workloads and more, what the engines leave on the table is the
rounding of replica counts, coupled through shared capacity (README "Performance"): HiGHS on the
count model branches on one replica count at a time and stalls. Here a workload's replicas are
chosen as one *pattern* — an integer replica count per resource that meets its target — and the
MIP picks one pattern per workload (a binary each), which lets HiGHS branch on whole choices.

The patterns come from column generation on the count model's LP relaxation (Dantzig–Wolfe by
workload): the LP, with each workload's replicas a convex combination of its patterns so far,
prices every resource; a small exact search per workload (`cheapest_pattern`, a knapsack cover)
finds the pattern those prices favour most, and it joins the pool if it would lower the LP's cost.
The pool starts with the plans already known (greedy, HiGHS's) and one single-resource pattern
per candidate. Then the count model, with `rep[w,p,r] = Σ pattern[r] × chosen[w,pattern]`, is
solved by HiGHS: every plan of this restricted model is a plan of the full model (checked again
with exact integers), but its bound holds only for the patterns in the pool, so the bound a plan
reports still comes from the full model (`solvers/highs.py`).

Opt-in (`solver.patterns: true`; `solvers/highs.py` runs it after the full model's first half).
Measured on the L benchmark fleet (seed 0, this 2-core machine): 18 s of column generation and 24 s
of HiGHS on the pool gave $9,013.84/h; HiGHS on the full model for 44 s, $9,048.36/h; 240 s and
120 s, $8,997.96/h (README "Performance").
"""

from __future__ import annotations

import math
import time
from datetime import timedelta

from ortools.linear_solver import pywraplp

from planner.problem import PlanningProblem
from planner.solution import CountSolution
from solvers.countmodel import build
from solvers.lp import _LpModel

# A pricing search that visits more nodes than this returns the best pattern found so far: any
# pattern meeting the target is valid, and one workload must not hold up the whole round.
PRICING_NODE_LIMIT = 20_000
REDUCED_COST_EPS = 1e-6  # scaled cost units: patterns must lower the LP's cost by more than this

Pattern = dict  # (pool, resource) -> replicas


def cheapest_pattern(items: list[tuple[float, int, int, tuple]], target: int, fewest: int, most: int) -> tuple[float, Pattern]:
    """The cheapest integer replica counts meeting a target: minimise Σ price·x subject to
    Σ capacity·x >= target, fewest <= Σ x <= most, 0 <= x <= bound. `items` are
    (price, capacity, bound, key); prices below zero count as zero (they are LP prices, and a free
    replica adds nothing a cheaper pattern would not). Depth-first, best price per capacity first,
    pruned by the fractional (knapsack) bound; (inf, {}) when no pattern exists."""
    items = sorted(((max(price, 0.0), cap, bound, key) for price, cap, bound, key in items if cap > 0 and bound > 0), key=lambda it: (it[0] / it[1], it[3]))
    best_cost, best = math.inf, None
    counts = [0] * len(items)
    ratio_from = [min((it[0] / it[1] for it in items[i:]), default=0.0) for i in range(len(items) + 1)]
    nodes = 0

    def search(i: int, covered: int, count: int, cost: float) -> None:
        nonlocal best_cost, best, nodes
        nodes += 1
        if nodes > PRICING_NODE_LIMIT and best is not None:
            return
        if covered >= target and count >= fewest:
            if cost < best_cost:
                best_cost, best = cost, list(counts)
            return
        if i == len(items) or count >= most:
            return
        if cost + max(target - covered, 0) * ratio_from[i] >= best_cost:
            return
        price, cap, bound, _ = items[i]
        top = min(bound, max(-(-max(target - covered, 0) // cap), fewest - count), most - count)
        for n in range(top, -1, -1):
            counts[i] = n
            search(i + 1, covered + n * cap, count + n, cost + n * price)
        counts[i] = 0

    search(0, 0, 0, 0.0)
    if best is None:
        return math.inf, {}
    return best_cost, {items[i][3]: n for i, n in enumerate(best) if n}


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


def generate(problem: PlanningProblem, deadline: float, known: list[CountSolution]) -> dict[int, list[Pattern]]:
    """Patterns per workload by column generation until `deadline` (time.time()) or until no
    pattern would lower the LP's cost. `known` plans (greedy, HiGHS's) seed the pool, so that the
    restricted MIP can start from the best of them."""
    solver = pywraplp.Solver.CreateSolver("GLOP")
    v = build(problem, _LpModel(solver), secondary=False)
    solver.Minimize(v.cost)
    capacity = {(w, str(c.resource)): c.capacity for (w, _), cs in problem.candidates.items() for c in cs}
    reps = _replicas_by_workload(v)
    # Each workload's replicas = a convex combination of its patterns: one row per replica
    # variable (rep - Σ pattern·λ = 0) and one per workload (Σ λ = 1).
    link = {}
    convex = {}
    for w, items in reps.items():
        convex[w] = solver.Constraint(1, 1)
        for pool, res, var in items:
            row = solver.Constraint(0, 0)
            row.SetCoefficient(var, 1)
            link[w, pool, res] = row
    pool = _Pool()

    def add(w: int, pattern: Pattern) -> bool:
        if not pool.add(w, pattern):
            return False
        weight = solver.NumVar(0, 1, "")
        convex[w].SetCoefficient(weight, 1)
        for (p, res), n in pattern.items():
            link[w, p, res].SetCoefficient(weight, -n)
        return True

    limits = {}
    for w, items in reps.items():
        demand = problem.demands[w]
        fewest = max(demand.min_replicas, 2 if demand.spread else 0)
        most = demand.max_replicas if demand.max_replicas is not None else 1 << 40
        limits[w] = (fewest, most)
        for sol in known:
            if sol is not None and sol.cost_scaled is not None:
                add(w, _pattern_of(sol, w))
        for p, res, var in items:
            n = max(-(-demand.target_scaled // capacity[w, res]), fewest)
            if n <= var.ub() and n <= most:
                add(w, {(p, res): n})
    while time.time() < deadline:
        solver.SetTimeLimit(max(int((deadline - time.time()) * 1000), 1))  # an LP round must not overrun
        if solver.Solve() != pywraplp.Solver.OPTIMAL:
            break
        prices = {w: ({(p, res): link[w, p, res].dual_value() for p, res, _ in items}, convex[w].dual_value()) for w, items in reps.items()}
        added = 0
        for w, items in reps.items():
            if time.time() >= deadline:
                break
            price, base = prices[w]
            offer = [(price[p, res], capacity[w, res], int(var.ub()), (p, res)) for p, res, var in items]
            cost, pattern = cheapest_pattern(offer, problem.demands[w].target_scaled, *limits[w])
            if pattern and cost - base < -REDUCED_COST_EPS and add(w, pattern):
                added += 1
        if not added:
            break
    return pool.patterns


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
