"""The whole planning pipeline: fleet → problem → solver(s) → placement → verification.

Every plan this returns has passed `planner.verify`; a plan that does not is a bug and raises
`PlanFailedVerification` rather than reaching a user's disk.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

from planner.errors import NoFeasiblePlan
from planner.explain import explain_infeasible
from planner.interrupts import StopRequest, ctrl_c_requests_stop
from planner.placement import place
from planner.plan import Plan
from planner.problem import PlanningProblem, build_problem
from planner.solution import CountSolution
from planner.spec import LoadedFleet
from planner.spec.models import PATTERNS_IN_CP_SAT, PATTERNS_OFF, SolverSettings
from planner.verify import verify


class PlanFailedVerification(Exception):
    def __init__(self, issues: list[str]):
        super().__init__("the plan failed verification (a bug in mig-plan):\n  " + "\n  ".join(issues))
        self.issues = issues


def make_plan(
    loaded: LoadedFleet,
    solver: str = "cp-sat",
    time_limit_s: float | None = None,
    progress: Callable[[float, float, float], None] | None = None,
    problem: PlanningProblem | None = None,
) -> Plan:
    """The verified plan of a fleet. Called from the main thread, it handles Ctrl-C while it runs
    (SIGINT's handler is replaced, and restored on return): the first press is a request — the
    greedy plan is finished, the search stops at once, placement and verification finish (seconds
    even at 32,000 GPUs), and the plan comes back with `solver.interrupted` set; a caller planning
    in a loop should check it. A second press raises KeyboardInterrupt."""
    stop = StopRequest()
    with ctrl_c_requests_stop(lambda: stop.requested, stop.request):
        plan = _plan(loaded, solver, time_limit_s, progress, problem, stop)
    plan.solver.interrupted = plan.solver.interrupted or stop.requested
    return plan


def _plan(loaded, solver, time_limit_s, progress, problem, stop: StopRequest) -> Plan:
    problem = problem or build_problem(loaded)
    plan, issues, first = _solve_and_place(loaded, solver, time_limit_s, progress, problem, stop)
    if issues and solver != "greedy" and not stop.requested and not problem.strict_spread and _only_spread(issues):
        # The count model's default spread rows are a light relaxation: rarely, placement cannot
        # spread a plan they admit (spread workloads competing for a few nodes' units). Solve
        # again with spread modelled unit by unit, which takes as long again at most.
        strict = dataclasses.replace(problem, strict_spread=True)
        first_seconds = plan.solver.seconds
        # The first solve's bound holds for every plan placement can spread (its spread rows are a
        # relaxation, as the unit-by-unit ones are): the higher of the two is reported.
        plan, issues, sol = _solve_and_place(loaded, solver, time_limit_s, progress, strict, stop, bound_floor=first.bound_scaled)
        plan.solver.seconds = round(first_seconds + plan.solver.seconds, 3)  # the user waited for both
        plan.solver.notes.append(
            f"placement could not spread the first plan's replicas; solved again with spread modelled unit by unit ({first_seconds:g} s of the time were the first solve's)"
        )
        if issues and not stop.requested and _only_spread(issues):
            plan, issues = _skip_unspreadable(loaded, solver, time_limit_s, progress, strict, stop, plan, issues, sol)
    if issues:
        raise PlanFailedVerification(issues)
    return plan


_SPREAD_ISSUE = "spread needs two"  # planner.verify's finding for a spread workload on one node
# Count solutions placement could not spread that the unit-by-unit model is told to skip, at most:
# the random fleets that needed it took 1 to 8 (each a solve of a fraction of a second).
MAX_SKIPPED = 50


def _only_spread(issues: list[str]) -> bool:
    return all(_SPREAD_ISSUE in issue for issue in issues)


def _skip_unspreadable(
    loaded, solver, time_limit_s, progress, strict: PlanningProblem, stop: StopRequest, plan: Plan, issues: list[str], sol: CountSolution
) -> tuple[Plan, list[str]]:
    """The last resort when placement cannot spread even the unit-by-unit model's plan (that model
    is still an aggregate: nodes are counted, not named). Its count solution is excluded and the
    model solved again, until placement spreads a plan, or else (the model has none left,
    `MAX_SKIPPED`, the time limit, Ctrl-C) there is no plan to show: NoFeasiblePlan (exit 1) with
    the reason. The bound reported stays the model's before any exclusion: placement is a
    heuristic, so a skipped count solution is not proven unspreadable."""
    from solvers.countmodel import excluded_key

    limit = time_limit_s if time_limit_s is not None else loaded.fleet.solver.time_limit_s
    deadline = time.monotonic() + limit
    bound, seconds, skipped, earlier = sol.bound_scaled, plan.solver.seconds, [], list(plan.solver.notes)
    while issues and _only_spread(issues) and not stop.requested and len(skipped) < MAX_SKIPPED:
        left = deadline - time.monotonic()
        if left <= 0.05:
            break
        skipped.append(excluded_key(sol))
        try:
            plan, issues, sol = _solve_and_place(loaded, solver, left, progress, dataclasses.replace(strict, excluded=tuple(skipped)), stop, bound_floor=bound)
        except NoFeasiblePlan as exc:
            why = f"no plan spreads every spread workload over two nodes: placement could not spread {len(skipped)} plan(s) of the count model, and it has no other"
            raise _no_plan([why] + exc.reasons) from None
        seconds += plan.solver.seconds
    if issues and _only_spread(issues):  # out of time, skips or patience: no spread plan to show
        why = "interrupted" if stop.requested else f"it skips {MAX_SKIPPED} at most" if len(skipped) >= MAX_SKIPPED else "out of time"
        raise _no_plan(
            [
                f"no plan found that spreads every spread workload over two nodes ({why}): placement could not spread "
                f"{len(skipped) + 1} plan(s) of the count model; raise --time-limit, or add nodes"
            ]
        )
    plan.solver.seconds = round(seconds, 3)
    plan.solver.notes = earlier + [note for note in plan.solver.notes if note not in earlier]
    plan.solver.notes.append(f"placement could not spread the unit-by-unit model's plan either; it skipped {len(skipped)} such plan(s)")
    return plan, issues


def _solve_and_place(
    loaded,
    solver,
    time_limit_s,
    progress,
    problem: PlanningProblem,
    stop: StopRequest,
    bound_floor: int | None = None,
) -> tuple[Plan, list[str], CountSolution]:
    """The placed plan of the chosen solver (or greedy's), the verifier's findings on it, and the
    count solution it places. `bound_floor`: a bound already proven for every plan placement can
    spread (planning's first solve, on the retry; the model's before any exclusion, with
    `problem.excluded`), reported where higher. With `problem.excluded` it is the only bound: the
    model's own holds only for the plans it has left (see `_skip_unspreadable`)."""
    from solvers import get_solver

    settings = loaded.fleet.solver
    limit = time_limit_s if time_limit_s is not None else settings.time_limit_s
    greedy = get_solver("greedy")(problem)
    if stop.requested and solver != "greedy":  # pressed while greedy ran: no search
        if greedy.status == "infeasible":
            raise KeyboardInterrupt  # and no plan to show
        greedy.notes.append("interrupted before the search began; this is the greedy plan")
    if solver == "greedy" or stop.requested:
        sol = greedy
        sol.interrupted = stop.requested
    else:
        sol = get_solver(solver)(
            problem,
            time_limit_s=limit,
            workers=settings.workers,
            seed=settings.seed,
            relative_gap=settings.relative_gap,
            highs=settings.highs,
            patterns=pattern_search(settings, problem),
            deterministic=settings.deterministic,
            warm_start=greedy if greedy.status != "infeasible" else None,
            progress=progress,
            stop_requested=lambda: stop.requested,
        )
        if sol.interrupted:
            stop.request()  # so that the next Ctrl-C quits
        if sol.status in ("unknown",) and greedy.status != "infeasible":
            interrupted = sol.interrupted
            sol = greedy
            sol.interrupted = interrupted
            why = "was interrupted before finding" if interrupted else "found no plan within the time limit"
            sol.notes.append(f"CP-SAT {why} a plan; this is the greedy plan")
    if sol.status == "infeasible":
        reasons = explain_infeasible(problem)
        if solver == "greedy":
            reasons.insert(0, "the greedy planner found no plan (it proves nothing: try --solver cp-sat)")
        raise _no_plan(reasons)
    if sol.status == "unknown" and sol.interrupted:
        raise KeyboardInterrupt  # stopped before any plan existed: nothing to show or write
    if sol.status == "unknown":
        reasons = [f"no plan found within the time limit of {limit:g} s, and none proven impossible: raise --time-limit"]
        raise _no_plan(reasons + [r for r in explain_infeasible(problem) if not r.startswith("every workload")])
    sol.time_limit_s = None if solver == "greedy" else limit
    if problem.excluded:
        sol.bound_scaled = None
    if bound_floor is not None and (sol.bound_scaled is None or sol.bound_scaled < bound_floor):
        sol.bound_scaled = min(bound_floor, sol.cost_scaled)
    if problem.excluded or bound_floor is not None:
        sol.status = "optimal" if sol.bound_scaled is not None and sol.bound_scaled >= sol.cost_scaled else "feasible"
    plan = place(problem, sol)
    return plan, verify(plan, loaded, problem.perf), sol


def pattern_search(settings: SolverSettings, problem: PlanningProblem) -> str:
    """Where the replica-pattern search runs (`SolverSettings.pattern_search`), except in CP-SAT's
    time on the unit-by-unit spread model (the retry): measured on M (seeds 0-2, 9 s), CP-SAT waits
    for a pattern MIP that finds nothing on that model, 8.5x the default's size, and the plans got
    dearer ($605.32 -> $730.98, greedy's; $630.86 -> $708.18; $624.32 -> $624.64)."""
    where = settings.pattern_search(len(problem.demands))
    return PATTERNS_OFF if problem.strict_spread and where == PATTERNS_IN_CP_SAT else where


def _no_plan(reasons: list[str]) -> NoFeasiblePlan:
    exc = NoFeasiblePlan("; ".join(reasons))
    exc.reasons = reasons
    return exc
