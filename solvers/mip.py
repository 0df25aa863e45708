"""LP-based MIP back end (HiGHS or SCIP, both shipped in the OR-Tools wheel) for the count model.

Same model as CP-SAT (`solvers/countmodel.py`), same lexicographic stages. Branch-and-bound on
the LP relaxation closes the cost gap of fleet-sized instances far faster than CP-SAT's single
worker (see benchmarks/), and both engines are deterministic single-threaded.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from ortools.linear_solver import pywraplp

from planner.problem import PlanningProblem
from planner.solution import CountSolution
from solvers.countmodel import CountModel, build

ENGINES = {"highs": "HIGHS", "scip": "SCIP"}


class _MipModel:
    """The count model's back-end interface over a pywraplp solver."""

    def __init__(self, solver: pywraplp.Solver) -> None:
        self.solver = solver

    def int_var(self, lb: int, ub: int, name: str):
        return self.solver.IntVar(lb, ub, name)

    def add(self, constraint) -> None:
        if isinstance(constraint, bool):  # both sides were constants
            if not constraint:
                self.solver.Add(self.solver.IntVar(1, 1, "") <= 0)
            return
        self.solver.Add(constraint)


_STATUS = {
    pywraplp.Solver.OPTIMAL: "optimal",
    pywraplp.Solver.FEASIBLE: "feasible",
    pywraplp.Solver.INFEASIBLE: "infeasible",
}


def _values(table: dict) -> dict:
    out = {}
    for key, var in table.items():
        value = int(round(var.solution_value()))
        if value:
            out[key] = value
    return out


def _extract(v: CountModel, out: CountSolution) -> None:
    out.fresh = _values(v.fresh)
    out.kept = _values(v.kept)
    out.layouts = _values(v.gpus)
    out.replicas = _values(v.rep)


def _hint(solver: pywraplp.Solver, v: CountModel, sol: CountSolution) -> None:
    variables, values = [], []
    for table, chosen in ((v.fresh, sol.fresh), (v.kept, sol.kept), (v.gpus, sol.layouts), (v.rep, sol.replicas)):
        for key, var in table.items():
            variables.append(var)
            values.append(float(chosen.get(key, 0)))
    solver.SetHint(variables, values)


def _expr_value(expr) -> float:
    return expr.solution_value() if hasattr(expr, "solution_value") else float(expr)


def solve(
    problem: PlanningProblem,
    time_limit_s: float,
    workers: int = 0,
    seed: int = 0,
    relative_gap: float = 0.0,
    warm_start: CountSolution | None = None,
    progress: Callable[[float, float, float], None] | None = None,
    engine: str = "highs",
) -> CountSolution:
    start = time.monotonic()
    solver = pywraplp.Solver.CreateSolver(ENGINES[engine])
    v = build(problem, _MipModel(solver))
    out = CountSolution(status="unknown", solver=f"mip-{engine}", workers=1, seed=seed)
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, relative_gap)

    def run(limit: float) -> int:
        solver.SetTimeLimit(max(int(limit * 1000), 50))
        result: list[int] = []
        worker = threading.Thread(target=lambda: result.append(solver.Solve(params)), name="mip", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.1)
        except KeyboardInterrupt:
            out.interrupted = True
            solver.InterruptSolve()
            worker.join()
        return result[0]

    solver.Minimize(v.cost)
    if warm_start is not None and warm_start.status != "infeasible":
        _hint(solver, v, warm_start)
    status = run(time_limit_s * 0.8)
    out.status = _STATUS.get(status, "unknown")
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        out.seconds = time.monotonic() - start
        return out
    _extract(v, out)
    out.cost_scaled = int(round(_expr_value(v.cost)))
    bound = solver.Objective().BestBound()
    # Prices are integers, so any bound can be rounded up to the next integer.
    out.bound_scaled = min(out.cost_scaled, int(-(-bound // 1))) if status != pywraplp.Solver.OPTIMAL or relative_gap else out.cost_scaled
    if progress:
        progress(out.cost_scaled / 1000.0, out.bound_scaled / 1000.0, time.monotonic() - start)
    solver.Add(v.cost <= out.cost_scaled)

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
        _hint(solver, v, out)
        solver.Minimize(expr)
        status = run(min(remaining, max(time_limit_s * 0.1, 1.0)))
        if status in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            _extract(v, out)
            value = int(round(_expr_value(expr)))
            setattr(out, name, value)
            solver.Add(expr <= value)
            if status != pywraplp.Solver.OPTIMAL:
                out.notes.append(f"{name} minimised within the time limit, not proven minimal")
    out.seconds = time.monotonic() - start
    return out
