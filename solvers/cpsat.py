"""CP-SAT back end: the count model (`solvers/countmodel.py`) solved lexicographically.

Stages: (1) minimise cost — its proven bound is what the plan reports; (2) with cost fixed at the
best found, minimise changes to today's fleet (`countmodel.changes`: nodes re-cut, released or
bought); (3) then the number of distinct layouts. Each stage is warm-started with the previous
stage's solution.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

from ortools.sat.python import cp_model

from planner.interrupts import ctrl_c_requests_stop
from planner.problem import PlanningProblem, cheapest_candidates, restricted
from planner.solution import CountSolution
from planner.spec.models import PATTERNS_IN_CP_SAT, PATTERNS_IN_HIGHS, PATTERNS_OFF
from solvers import highs as highs_search
from solvers import patterns as replica_patterns
from solvers.countmodel import CountModel, build
from solvers.highs import HighsRun, HighsTask
from solvers.lp import relax


HIGHS_HEAD_START_S = 1.0  # CP-SAT alone first: the fleet-sized models it proves optimal in well under this
# The replica-pattern search (solvers/patterns.py, `patterns`) takes its time either from the HiGHS
# process's second half (fleets of hundreds of workloads) or from CP-SAT's cost stage after its head
# start: CP-SAT waits while a HiGHS process of its own searches patterns (beside the racing HiGHS
# process on the full model), then resumes from the best plan (fleets of tens of workloads, where
# the full model needs all of the racing HiGHS's time).
# With the pattern search in CP-SAT's time: CP-SAT's head start (guided stage and full model) ends
# at HIGHS_HEAD_START_S, the full model getting at least this long of it.
HANDOVER_MIN_CP_SAT_S = 0.2
COST_SHARE = 0.8  # of the time limit for the cost stage (CP-SAT and HiGHS); the rest: secondary objectives
NEIGHBOURS = 2  # cheapest resources per workload added to the LP's support (benchmarks: 2 beats 1 and 3)


class _CpSatModel:
    """The count model's back-end interface over a CP-SAT model."""

    def __init__(self) -> None:
        self.model = cp_model.CpModel()

    def int_var(self, lb: int, ub: int, name: str):
        return self.model.NewIntVar(lb, ub, name)

    def add(self, constraint) -> None:
        if isinstance(constraint, bool):  # both sides were constants
            if not constraint:
                self.model.AddBoolOr([])  # an empty clause: infeasible
            return
        self.model.Add(constraint)



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


def _extract(solver: cp_model.CpSolver, v: CountModel, out: CountSolution) -> None:
    out.fresh = {k: solver.Value(x) for k, x in v.fresh.items() if solver.Value(x)}
    out.kept = {k: solver.Value(x) for k, x in v.kept.items() if solver.Value(x)}
    out.layouts = {k: solver.Value(x) for k, x in v.gpus.items() if solver.Value(x)}
    out.replicas = {k: solver.Value(x) for k, x in v.rep.items() if solver.Value(x)}


def _interruptible_solve(solver: cp_model.CpSolver, model: cp_model.CpModel, callback, out: CountSolution, tick=None) -> int:
    """Solve in a worker thread, so that the main thread can answer Ctrl-C (`out.interrupted`,
    see `planner.interrupts`) by stopping the search; the best solution found so far is kept
    (CP-SAT returns it as FEASIBLE).

    Waits on an Event, not Thread.join: a KeyboardInterrupt inside join() can leave CPython
    believing the thread has ended while it still runs. `tick`, when given, is called every
    0.1 s from the main thread while the search runs."""
    if out.interrupted:  # asked to stop before this stage began
        return cp_model.UNKNOWN
    done = threading.Event()
    result: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            result.append(solver.Solve(model, callback) if callback else solver.Solve(model))
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)
        finally:
            done.set()

    threading.Thread(target=work, name="cp-sat", daemon=True).start()
    try:
        while not done.wait(0.1):
            if out.interrupted:
                solver.StopSearch()
                done.wait()
            elif tick is not None:
                tick()
    except KeyboardInterrupt:  # a second Ctrl-C: stop the search, and pass it on
        out.interrupted = True
        solver.StopSearch()
        done.wait()
        raise
    if errors:
        raise errors[0]
    return result[0]


def _same_plan(a: CountSolution, b: CountSolution) -> bool:
    return (a.fresh, a.kept, a.layouts, a.replicas) == (b.fresh, b.kept, b.layouts, b.replicas)


def _hint(model: cp_model.CpModel, v: CountModel, sol: CountSolution) -> None:
    model.ClearHints()
    for table, values in v.paired(sol):
        for key, var in table.items():
            model.AddHint(var, values.get(key, 0))


class _Budget:
    """What is left of the time limit. In seconds on the wall clock, or — deterministic mode —
    in CP-SAT's deterministic seconds: a count of the work done, the same on every run of the
    same model, so that the search stops at the same point and returns the same plan however
    fast or loaded the machine is. (It runs slower than the clock: measured on the M benchmark
    fleet, 2.1 deterministic seconds per 5 s of wall time on a 2-core machine.)"""

    def __init__(self, limit: float, deterministic: bool) -> None:
        self.limit, self.deterministic = limit, deterministic
        self.start = time.monotonic()
        self.work = 0.0  # deterministic seconds of the CP-SAT solves so far

    def used(self) -> float:
        return self.work if self.deterministic else time.monotonic() - self.start

    def left(self, fraction: float = 1.0) -> float:
        """What is left until `fraction` of the limit."""
        return self.limit * fraction - self.used()

    def charge(self, solver: cp_model.CpSolver) -> None:
        try:
            self.work += solver.deterministic_time
        except RuntimeError:  # never ran: the stage was skipped (Ctrl-C)
            pass

    def apply(self, solver: cp_model.CpSolver, stage_limit: float) -> None:
        stage_limit = max(stage_limit, 0.05)
        if self.deterministic:
            solver.parameters.max_deterministic_time = stage_limit
        else:
            solver.parameters.max_time_in_seconds = stage_limit


def _params(solver: cp_model.CpSolver, workers: int, seed: int, limit: float, relative_gap: float, budget: _Budget) -> None:
    p = solver.parameters
    p.num_workers = workers
    p.random_seed = seed
    # Ctrl-C belongs to Python: the main thread catches it and stops the search cleanly
    # (`_interruptible_solve`); CP-SAT's own SIGINT handler would take the process down.
    p.catch_sigint_signal = False
    # One worker with the full LP relaxation (linearization level 2) proves the fleet-sized
    # models optimal fastest and is deterministic. With several workers, interleaved search
    # keeps the portfolio deterministic too: same model and seed, same answer, whatever the
    # machine's load — as long as the time limit is not what ends the search.
    p.linearization_level = 2
    if workers > 1:
        p.interleave_search = True
    budget.apply(solver, limit)
    p.relative_gap_limit = relative_gap


def _cost_only(problem: PlanningProblem, limit: float, workers: int, seed: int, out: CountSolution, budget: _Budget, tick=None) -> CountSolution | None:
    """Cheapest plan of a (restricted) problem within `limit` seconds, or None."""
    wrapper = _CpSatModel()
    v = build(problem, wrapper, secondary=False)
    wrapper.model.Minimize(v.cost)
    solver = cp_model.CpSolver()
    _params(solver, workers, seed, limit, 0.0, budget)
    status = _interruptible_solve(solver, wrapper.model, None, out, tick)
    budget.charge(solver)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    found = CountSolution(status=_status(status), solver="cp-sat")
    _extract(solver, v, found)
    found.cost_scaled = int(round(solver.ObjectiveValue()))
    return found


class _Race:
    """HiGHS beside CP-SAT on the cost stage (`solvers/highs.py`, a second process).

    Started from CP-SAT's wait loop once CP-SAT has had its head start, so fleets CP-SAT proves
    optimal at once never pay for a second process and their plans stay CP-SAT's (deterministic);
    on large fleets HiGHS finds the cheaper plans. Runs until the cost stage's share of the time
    limit is spent, like CP-SAT's cost stage (wall-clock only: the race is off in deterministic mode).
    """

    def __init__(self, problem: PlanningProblem, enabled: bool, budget: _Budget, relative_gap: float, seed: int, patterns: str = PATTERNS_OFF):
        self.problem, self.enabled, self.budget = problem, enabled, budget
        self.relative_gap, self.seed = relative_gap, seed
        # The HiGHS process's second half on patterns, or all of it on the full model.
        self.search = highs_search.FULL_THEN_PATTERNS if patterns == PATTERNS_IN_HIGHS else highs_search.FULL
        self.hint: CountSolution | None = None  # the best plan so far, HiGHS's MIP start
        self.run: HighsRun | None = None
        self.notes: list[str] = []

    def tick(self, now: bool = False) -> None:
        """Start HiGHS once CP-SAT has had its head start (or `now`), unless under a second is left."""
        if self.run is not None or not self.enabled:
            return
        left = self.budget.left(COST_SHARE)
        if (self.budget.used() < HIGHS_HEAD_START_S and not now) or left <= 1.0:
            return
        try:
            self.run = HighsRun(left, HighsTask(self.problem, self.relative_gap, self.seed, self.hint, self.search))
        except (OSError, RuntimeError, ValueError) as exc:  # no second process here: CP-SAT alone
            self.enabled = False
            self.notes.append(f"HiGHS could not start ({type(exc).__name__}: {exc}); CP-SAT searched alone")

    def collect(self, out: CountSolution) -> CountSolution | None:
        """HiGHS's answer (waits until its deadline); None if it never ran or had nothing."""
        if self.run is None:
            return None
        answer = self.run.wait(stop=lambda: out.interrupted)
        self.cancel()
        if answer is not None:
            self.notes.extend(answer.notes)
        return answer

    def cancel(self) -> None:
        if self.run is not None:
            self.run.cancel()


def solve(
    problem: PlanningProblem,
    time_limit_s: float,
    workers: int = 0,
    seed: int = 0,
    relative_gap: float = 0.0,
    warm_start: CountSolution | None = None,
    progress: Callable[[float, float, float], None] | None = None,
    highs: bool = True,
    patterns: str = PATTERNS_OFF,
    stop_requested: Callable[[], bool] = lambda: False,
    deterministic: bool = False,
) -> CountSolution:
    """The cheapest plan within `time_limit_s`, its proven bound, then the secondary objectives.
    `stop_requested`: whether the caller, which handled Ctrl-C until this search took it over,
    already received one (`planner.planning`). `deterministic`: the time limit counts CP-SAT's
    deterministic seconds (`_Budget`), and HiGHS, which can only stop on the clock, does not race.
    `patterns`: where the replica-pattern search runs (PATTERNS_OFF, PATTERNS_IN_HIGHS or
    PATTERNS_IN_CP_SAT; only beside a racing HiGHS)."""
    start = time.monotonic()
    workers = max(workers, 1)
    out = CountSolution(status="unknown", solver="cp-sat", workers=workers, seed=seed)
    budget = _Budget(time_limit_s, deterministic)
    if deterministic:
        out.notes.append("deterministic: the time limit counted CP-SAT's deterministic seconds (work), and HiGHS did not race")
    race = _Race(problem, highs and not deterministic, budget, relative_gap, seed, patterns)
    race.hint = warm_start if warm_start is not None and warm_start.cost_scaled is not None else None
    pattern_search: _PatternSearch | None = None
    # Ctrl-C sets out.interrupted; every stage answers it, keeping the best plan so far. The
    # handler stays until HiGHS is cancelled (up to seconds), so a second press there still quits.
    with ctrl_c_requests_stop(lambda: out.interrupted, lambda: setattr(out, "interrupted", True)):
        try:
            # A press just before this handler took over reached the caller's: ask it, now that
            # no further press can slip between the two.
            out.interrupted = out.interrupted or stop_requested()
            if patterns == PATTERNS_IN_CP_SAT and race.enabled:
                pattern_search = _PatternSearch(budget, out)
            return _search(problem, time_limit_s, workers, seed, relative_gap, warm_start, progress, start, out, race, budget, pattern_search)
        finally:
            race.cancel()
            if pattern_search is not None:
                pattern_search.cancel()
            out.notes.extend(race.notes)


class _PatternSearch:
    """The replica-pattern MIP (`patterns.search`) in a HiGHS process of its own while CP-SAT waits:
    started with the search, so that the process's imports (about a second) overlap CP-SAT's head
    start, and sent its problem when the head start ends."""

    def __init__(self, budget: _Budget, out: CountSolution) -> None:
        self.budget, self.out = budget, out
        try:
            self.run: HighsRun | None = HighsRun(budget.left(COST_SHARE))
        except (OSError, RuntimeError, ValueError) as exc:  # no second process here: CP-SAT goes on
            self.run = None
            out.notes.append(f"the replica-pattern search could not start ({type(exc).__name__}: {exc})")

    def search(self, problem: PlanningProblem, known: list, seed: int) -> CountSolution | None:
        """Its plan from the `known` plans' patterns (the cheapest is the MIP start), when the cost
        stage's share of the limit is spent, the MIP is done, or Ctrl-C; None if it had none."""
        known = [plan for plan in known if plan is not None and plan.cost_scaled is not None]
        left = self.budget.left(COST_SHARE)
        if self.run is None or not known or left < replica_patterns.PATTERN_MIP_MIN_S:
            self.cancel()
            return None
        self.run.send(HighsTask(problem, 0.0, seed, None, highs_search.PATTERNS, tuple(known)), left)
        try:
            answer = self.run.wait(stop=lambda: self.out.interrupted)
        finally:
            self.cancel()
        if answer is not None:
            self.out.notes.extend(answer.notes)
        return answer

    def cancel(self) -> None:
        if self.run is not None:
            self.run.cancel()


def _search(
    problem, time_limit_s, workers, seed, relative_gap, warm_start, progress, start, out, race: _Race, budget: _Budget, pattern_search: "_PatternSearch | None"
) -> CountSolution:
    """The stages. With a `pattern_search` (the handover): after CP-SAT's head start, CP-SAT waits
    while HiGHS searches replica patterns from the best plans so far, then resumes from the cheaper."""
    handover = pattern_search is not None

    # Stage 0: the LP relaxation — a proven bound, an early proof of infeasibility, and the
    # neighbourhood (resources and layouts it uses) where a restricted model finds good plans fast.
    relaxation = relax(problem)
    if not relaxation.feasible:
        out.status = "infeasible"
        out.seconds = time.monotonic() - start
        return out
    lp_bound = math.ceil(relaxation.bound - 1e-6) if relaxation.bound is not None else None
    incumbents = [s for s in (warm_start,) if s is not None and s.status != "infeasible" and s.cost_scaled is not None]
    guided_optimal = False
    if lp_bound is not None and relaxation.candidates:
        # First the LP's support alone (small: solves fast at fleet scale); when it is too thin for
        # an integer plan (whole replicas, spread), widen it with each workload's most
        # cost-efficient resources.
        for widen in (0, NEIGHBOURS):
            neighbourhood = set(relaxation.candidates)
            for w in range(len(problem.demands)):
                neighbourhood.update((w, res) for res in cheapest_candidates(problem, w, widen))
            guided = _cost_only(
                restricted(problem, neighbourhood, relaxation.layouts),
                min(time_limit_s * 0.3, budget.left() * 0.5, HIGHS_HEAD_START_S if handover else math.inf),
                workers,
                seed,
                out,
                budget,
                race.tick,
            )
            if guided is not None or out.interrupted:
                break
        if guided is not None:
            incumbents.append(guided)
            # Optimal within the neighbourhood and equal to the LP bound: optimal, full stop.
            guided_optimal = guided.status == "optimal" and guided.cost_scaled <= lp_bound
    best = min(incumbents, key=lambda s: s.cost_scaled, default=None)
    if best is not None and progress:
        progress(best.cost_scaled / 1000.0, (lp_bound or 0) / 1000.0, time.monotonic() - start)

    # Stage 1: cost, on the full model, warm-started from the best plan so far.
    wrapper = _CpSatModel()
    v = build(problem, wrapper)
    model = wrapper.model

    def run(stage_limit: float, callback=None, tick=None) -> tuple[int, cp_model.CpSolver]:
        solver = cp_model.CpSolver()
        _params(solver, workers, seed, stage_limit, relative_gap, budget)
        status = _interruptible_solve(solver, model, callback, out, tick)
        budget.charge(solver)
        return status, solver

    model.Minimize(v.cost)
    bound = lp_bound or 0

    def cost_run(stage_limit: float) -> int:
        """CP-SAT on cost from the best plan so far; keeps its plan if no dearer, and its bound."""
        nonlocal best, bound
        if best is not None:
            _hint(model, v, best)
        status, solver = run(stage_limit, _Progress(progress, 1000.0) if progress else None, race.tick)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            full = CountSolution(status=_status(status), solver="cp-sat")
            _extract(solver, v, full)
            full.cost_scaled = int(round(solver.ObjectiveValue()))
            if best is not None and _same_plan(full, best):
                full.solver = best.solver  # the plan CP-SAT was hinted with: its finder found it
            if best is None or full.cost_scaled <= best.cost_scaled:
                best = full
            bound = max(bound, int(round(solver.BestObjectiveBound())))
            if status == cp_model.OPTIMAL:
                bound = max(bound, full.cost_scaled)
        return status

    if guided_optimal:
        status = cp_model.OPTIMAL
    elif out.interrupted:
        status = cp_model.UNKNOWN
    else:
        race.hint = best
        # Until the cost stage's share of the limit is spent, when HiGHS stops too; with the
        # handover, first only to the end of CP-SAT's head start.
        first = budget.left(COST_SHARE)
        if not handover:
            status = cost_run(first)
        else:
            status = cost_run(min(first, max(HIGHS_HEAD_START_S - budget.used(), HANDOVER_MIN_CP_SAT_S)))
            if status not in (cp_model.OPTIMAL, cp_model.INFEASIBLE) and not out.interrupted:
                race.tick(now=True)  # HiGHS on the full model beside the pattern search: the bound
                # The warm start's patterns too: the pool is richer for them (M seed 0: $597.96 -> $594.28).
                found = pattern_search.search(problem, [best, warm_start], seed)
                if found is not None and found.cost_scaled is not None and (best is None or found.cost_scaled < best.cost_scaled):
                    best = found
                    if progress:
                        progress(best.cost_scaled / 1000.0, bound / 1000.0, time.monotonic() - start)
                if budget.left(COST_SHARE) > 0.05 and not out.interrupted:
                    status = cost_run(budget.left(COST_SHARE))
            pattern_search.cancel()  # CP-SAT proved optimality, or the search is done
        if status == cp_model.INFEASIBLE:
            out.status = "infeasible"
            out.seconds = time.monotonic() - start
            return out
    if status != cp_model.OPTIMAL and not out.interrupted:
        other = race.collect(out)
        if other is not None:
            if other.bound_scaled is not None:
                bound = max(bound, other.bound_scaled)
            if other.cost_scaled is not None and (best is None or other.cost_scaled < best.cost_scaled):
                best = other
                if progress:
                    progress(best.cost_scaled / 1000.0, bound / 1000.0, time.monotonic() - start)
    race.cancel()  # CP-SAT proved optimality, or the user stopped: HiGHS has nothing to add
    if best is None:
        out.status = "unknown"
        out.seconds = time.monotonic() - start
        return out
    out.fresh, out.kept, out.layouts, out.replicas = best.fresh, best.kept, best.layouts, best.replicas
    out.cost_scaled = best.cost_scaled
    out.found_by = best.solver
    out.bound_scaled = min(bound, best.cost_scaled)
    out.status = "optimal" if out.bound_scaled >= out.cost_scaled else "feasible"
    model.Add(v.cost <= out.cost_scaled)

    # Stages 2 and 3: the fleet's `objective.then` (default: fewer changes, then fewer distinct
    # layouts), each at no extra cost and no loss on the stages before it.
    secondary = {"changes": v.changes, "distinct_layouts": v.distinct}
    for name in problem.loaded.fleet.objective.then:
        expr = secondary[name]
        if out.interrupted:
            out.notes.append(f"interrupted before minimising {name}")
            break
        if isinstance(expr, int):
            setattr(out, name, expr)
            continue
        left = budget.left()
        if left <= 0.05:
            out.notes.append(f"no time left to minimise {name}")
            break
        _hint(model, v, out)
        model.Minimize(expr)
        status, solver = run(min(left, max(time_limit_s * 0.1, 1.0)))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            _extract(solver, v, out)
            value = int(round(solver.ObjectiveValue()))
            setattr(out, name, value)
            model.Add(expr <= value)
            if status != cp_model.OPTIMAL:
                out.notes.append(f"{name} minimised within the time limit, not proven minimal")
    out.seconds = time.monotonic() - start
    return out
