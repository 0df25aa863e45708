"""The count model's LP relaxation (GLOP): a proven lower bound on cost, and the resources and
layouts an optimal fractional plan uses — the neighbourhood where good integer plans live.

Used by the CP-SAT back end as a primal heuristic: solving the model restricted to the LP's
support is far smaller and finds plans the full search misses at fleet scale (benchmarks/).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.linear_solver import pywraplp

from planner.problem import PlanningProblem
from solvers.countmodel import build

SUPPORT_EPS = 1e-6


class _LpModel:
    def __init__(self, solver: pywraplp.Solver) -> None:
        self.solver = solver

    def int_var(self, lb: int, ub: int, name: str):
        return self.solver.NumVar(lb, ub, name)

    def add(self, constraint):
        """The row (its handle, for its dual), or None for a constant constraint."""
        if isinstance(constraint, bool):
            if not constraint:
                self.solver.Add(self.solver.NumVar(1, 1, "") <= 0)
            return None
        return self.solver.Add(constraint)


@dataclass
class Relaxation:
    feasible: bool
    bound: float | None = None  # scaled cost units
    candidates: set[tuple[int, str]] = field(default_factory=set)  # (workload, resource) used
    layouts: set[tuple[str, str]] = field(default_factory=set)  # (gpu, layout key) used


def relax(problem: PlanningProblem) -> Relaxation:
    solver = pywraplp.Solver.CreateSolver("GLOP")
    v = build(problem, _LpModel(solver), secondary=False)
    solver.Minimize(v.cost)
    status = solver.Solve()
    if status == pywraplp.Solver.INFEASIBLE:
        return Relaxation(False)
    if status != pywraplp.Solver.OPTIMAL:
        return Relaxation(True)
    out = Relaxation(True, solver.Objective().Value())
    for (w, _, res), var in v.rep.items():
        if var.solution_value() > SUPPORT_EPS:
            out.candidates.add((w, res))
    for (g, key), var in v.gpus.items():
        if var.solution_value() > SUPPORT_EPS:
            out.layouts.add((problem.groups[g].gpu, key))
    return out
