"""HiGHS on the count model, in a child process: the LP-based branch and cut that races CP-SAT.

Why a second engine: on fleets of thousands of GPUs a single CP-SAT worker finds few improving
plans, while HiGHS's cutting planes and LP-guided sub-MIP heuristics (RINS, RENS) find cheaper
plans and a tighter bound (benchmarks/README: L-size fleet, 60 s: 0.7 % gap against 2.1 %).
CP-SAT stays the engine that proves small fleets optimal (fractions of a second) and that runs the
secondary objectives; HiGHS only has to find cheap plans and bounds for the cost stage.

Why a child process: HiGHS through OR-Tools' pywraplp crashes when run outside the main thread
and returns no solution when its time limit ends; through MathOpt it takes a MIP start and returns
its incumbent. In its own process it also runs beside CP-SAT without sharing the GIL, cannot take
the planner down if it crashes, and is stopped at once (Ctrl-C, or CP-SAT proved optimality) by
terminating it. The child ignores SIGINT: the parent decides what an interrupt means. If the
parent dies without a word (SIGKILL, a crash), the child notices its stdin close and exits at once
rather than computing on until its deadline.

Every plan HiGHS returns is re-checked with exact integers (`countmodel.check`): HiGHS works in
floating point with feasibility tolerances, the planner's promise does not.
"""

from __future__ import annotations

import math
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable

from planner.problem import PlanningProblem
from planner.solution import CountSolution
from solvers.patterns import PATTERN_MIP_MIN_S

ROW_SCALE_ABOVE = 1e4  # rows with a larger coefficient are normalised for HiGHS (see _MathOptModel)
# Seconds the child may take beyond its deadline (import, model export) before it is abandoned.
GRACE_S = 5.0
_ROOT = Path(__file__).resolve().parent.parent  # holds the planner and solvers packages


class _MathOptModel:
    """The count model's back-end interface over a MathOpt model."""

    def __init__(self) -> None:
        from ortools.math_opt.python import mathopt

        self._mathopt = mathopt
        self.model = mathopt.Model(name="count-model")

    def int_var(self, lb: int, ub: int, name: str):
        return self.model.add_integer_variable(lb=lb, ub=ub, name=name)

    def add(self, constraint) -> None:
        if isinstance(constraint, bool):  # both sides were constants
            if not constraint:  # infeasible, as it should be (MathOpt refuses lb > ub outright)
                never = self.model.add_integer_variable(lb=0, ub=0)
                self.model.add_linear_constraint(never >= 1)
            return
        # Throughput rows carry capacities scaled to exact integers (up to 1e13): divide such a row
        # by its largest coefficient, or HiGHS's LP works with badly scaled rows (it warns, and
        # the root cut loop slows down). Exactness is restored by `check` on the way back.
        flat = self._mathopt.as_flat_linear_expression(constraint.expression)
        largest = max((abs(c) for c in flat.terms.values()), default=1.0)
        if largest <= ROW_SCALE_ABOVE:
            self.model.add_linear_constraint(constraint)
            return
        expr = self._mathopt.LinearSum(self._mathopt.LinearTerm(var, c / largest) for var, c in flat.terms.items())
        self.model.add_linear_constraint(
            lb=(constraint.lower_bound - flat.offset) / largest, ub=(constraint.upper_bound - flat.offset) / largest, expr=expr
        )


def _hint_values(v, hint: CountSolution) -> dict:
    values = {}
    for table, chosen in v.paired(hint):
        for key, var in table.items():
            values[var] = chosen.get(key, 0)
    for group, var in v.active.items():
        values[var] = hint.active(group)
    return values


# What a HiGHS process searches (`solve_in_process`, `HighsRun`):
# - FULL: the count model, for a plan and the bound the plan reports;
# - FULL_THEN_PATTERNS: the count model for the first FULL_SHARE of the time (its bound is the one
#   reported, and its plan's patterns join the pool), then the replica-pattern MIP for the rest;
# - PATTERNS: the replica-pattern MIP alone (`patterns.search`), beside a FULL process, while
#   CP-SAT waits (`solvers/cpsat.py`). In a process of its own, not a thread: HiGHS ignores
#   MathOpt's interrupter (measured: 27 s to stop), and a process can be terminated on Ctrl-C.
FULL, FULL_THEN_PATTERNS, PATTERNS = "full", "full-then-patterns", "patterns"
SEARCHES = (FULL, FULL_THEN_PATTERNS, PATTERNS)
FULL_SHARE = 0.5
# Below this many seconds in all, half of them would leave the pattern MIP too little: the full
# model gets them all.
PATTERNS_MIN_SPAN_S = 2 * PATTERN_MIP_MIN_S + 1.0
PATTERNS_ANSWER_MARGIN_S = 0.3  # PATTERNS stops this long before its deadline: its answer must get back


@dataclass(frozen=True)
class HighsTask:
    """What a HiGHS process is sent to do (`HighsRun`): `solve_in_process`'s arguments but the deadline."""

    problem: PlanningProblem
    relative_gap: float
    seed: int
    hint: CountSolution | None
    search: str = FULL
    known: tuple[CountSolution, ...] = ()

    def __post_init__(self) -> None:
        _check_search(self.search)  # in the parent, before a process is sent a task it cannot do


def _check_search(search: str) -> None:
    if search not in SEARCHES:
        raise ValueError(f"unknown HiGHS search {search!r}")


def solve_in_process(
    problem: PlanningProblem,
    deadline: float,
    relative_gap: float,
    seed: int,
    hint: CountSolution | None,
    search: str = FULL,
    known: tuple[CountSolution, ...] = (),
) -> CountSolution:
    """Minimise cost with HiGHS until the wall-clock `deadline` (time.time()); runs in the child.
    `search` (above): with FULL_THEN_PATTERNS, the full model gets the first half (its bound is the
    one reported), then the replica-pattern MIP looks for a cheaper plan, from the cheaper of the
    full model's and the warm start `hint`; PATTERNS searches from `hint` and the `known` plans."""
    _check_search(search)
    from solvers import patterns as replica_patterns

    if search == PATTERNS:
        return replica_patterns.search(problem, deadline - PATTERNS_ANSWER_MARGIN_S, seed, [hint, *known])
    start = time.time()
    if search == FULL or deadline - start < PATTERNS_MIN_SPAN_S:
        return _solve_full(problem, deadline, relative_gap, seed, hint)
    full = _solve_full(problem, start + FULL_SHARE * (deadline - start), relative_gap, seed, hint)
    if full.status in ("optimal", "infeasible"):
        return full
    # The pattern MIP stops a second early (its answer must get back); where the LP leaves it too
    # little time, the full model goes on instead, from the cheaper known plan.
    found = replica_patterns.search(
        problem, deadline, seed, [full, hint], mip_deadline=deadline - 1.0, or_else=lambda start: _solve_full(problem, deadline, relative_gap, seed, start)
    )
    return _merged(full, found)


def _merged(preferred: CountSolution, other: CountSolution) -> CountSolution:
    """`preferred`'s plan unless `other` has a strictly cheaper one, with the higher of the two
    proven bounds (a pattern MIP proves none) capped at that plan's cost, and both runs' notes."""
    cheaper = other.cost_scaled is not None and (preferred.cost_scaled is None or other.cost_scaled < preferred.cost_scaled)
    best, rest = (other, preferred) if cheaper else (preferred, other)
    bounds = [b for b in (preferred.bound_scaled, other.bound_scaled) if b is not None]
    best.bound_scaled = max(bounds) if bounds else None
    if best.bound_scaled is not None and best.cost_scaled is not None:
        best.bound_scaled = min(best.bound_scaled, best.cost_scaled)
    best.notes.extend(note for note in rest.notes if note not in best.notes)
    return best


def _solve_full(
    problem: PlanningProblem, deadline: float, relative_gap: float, seed: int, hint: CountSolution | None
) -> CountSolution:
    """HiGHS on the count model itself: plans and a bound on the fleet's cost."""
    from ortools.math_opt.python import mathopt

    from solvers import countmodel, lp

    cuts = countmodel.all_cuts(problem)
    if countmodel.too_many_cuts(cuts):  # only those the LP violates (a quarter of the time at most)
        cuts = lp.separate_cuts(problem, cuts, deadline=time.time() + 0.25 * (deadline - time.time()))
    wrapper = _MathOptModel()
    v = countmodel.build(problem, wrapper, secondary=False, cuts=cuts)
    wrapper.model.minimize(v.cost)
    model_params = None
    if hint is not None and hint.cost_scaled is not None:
        model_params = mathopt.ModelSolveParameters(solution_hints=[mathopt.SolutionHint(variable_values=_hint_values(v, hint))])
    params = mathopt.SolveParameters(
        time_limit=timedelta(seconds=max(deadline - time.time(), 0.05)),
        relative_gap_tolerance=relative_gap,
        absolute_gap_tolerance=0.0,
        random_seed=seed,
    )
    result = mathopt.solve(wrapper.model, mathopt.SolverType.HIGHS, params=params, model_params=model_params)
    return solution_of(problem, v, result, mathopt)


def solution_of(problem: PlanningProblem, v, result, mathopt) -> CountSolution:
    """A MathOpt result on the count model as a CountSolution: its plan only if the plan passes
    the exact integer check, its bound rounded down generously (HiGHS works in floating point)."""
    from solvers.countmodel import check

    out = CountSolution(status="unknown", solver="highs")
    reason = result.termination.reason
    if reason == mathopt.TerminationReason.INFEASIBLE:
        out.status = "infeasible"
        return out
    bound = result.termination.objective_bounds.dual_bound
    if math.isfinite(bound):
        # HiGHS's bound is a float with tolerances; costs are integers, so round it down generously.
        out.bound_scaled = max(math.ceil(bound - 1e-6 * max(1.0, abs(bound))), 0)
    if not result.has_primal_feasible_solution():
        return out
    values = {var.name: int(round(x)) for var, x in result.variable_values().items()}
    problems = check(problem, values)
    if problems:
        out.notes.append(f"HiGHS's plan failed the exact integer check ({problems[0]}); not used")
        return out
    for table, into in v.paired(out):
        for key, var in table.items():
            if values.get(var.name):
                into[key] = values[var.name]
    out.cost_scaled = out.node_cost(problem.groups)
    out.status = "optimal" if reason == mathopt.TerminationReason.OPTIMAL else "feasible"
    if out.status == "optimal":
        out.bound_scaled = out.cost_scaled
    elif out.bound_scaled is not None:
        out.bound_scaled = min(out.bound_scaled, out.cost_scaled)
    return out


def _framed(obj) -> bytes:
    """An object as the parent and child exchange it: 8-byte big-endian length, then the pickle."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(8, "big") + data


def _read_framed(fd: int):
    return pickle.loads(_read_fd_exactly(fd, int.from_bytes(_read_fd_exactly(fd, 8), "big")))


def _read_fd_exactly(fd: int, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            raise EOFError(f"expected {size} bytes, got {got}")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _exit_when_orphaned(fd: int) -> None:
    """Blocks until the parent's end of stdin closes (it cancelled this search, exited or died),
    then ends this process. The parent writes nothing after the payload; EOF is the message.
    Reads the raw descriptor: a daemon thread blocked inside sys.stdin's buffered reader holds
    its lock, and the interpreter's exit then aborts trying to close it."""
    try:
        while os.read(fd, 1 << 16):
            pass
    except OSError:
        pass
    os._exit(0)  # no cleanup to do: the result only ever mattered to the parent


def _child_main() -> None:
    """The child's entry: the payload (8-byte length, pickle) on stdin, the answer (the same
    framing) on stdout, and stdin held open by the parent as the child's lifeline."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything native code prints goes to stderr, never into the answer
    # Imported before the payload arrives: a process started ahead of its payload (`HighsRun.send`)
    # has them ready when its search begins.
    import importlib

    for module in ("ortools.math_opt.python.mathopt", "solvers.countmodel", "solvers.lp", "solvers.patterns"):
        importlib.import_module(module)

    try:
        task, deadline = _read_framed(0)
    except EOFError:
        os._exit(0)  # the parent went away before sending the problem
    # HiGHS releases the GIL while it solves (MathOpt's C++ call), so this thread runs beside it.
    threading.Thread(target=_exit_when_orphaned, args=(0,), name="lifeline", daemon=True).start()
    try:
        result = solve_in_process(task.problem, deadline, task.relative_gap, task.seed, task.hint, task.search, task.known)
    except BaseException as exc:  # reported to the parent, which carries on without HiGHS
        result = CountSolution(status="unknown", solver="highs", notes=[f"HiGHS failed: {type(exc).__name__}: {exc}"])
    answer.write(_framed(result))
    answer.flush()
    os._exit(0)  # at once: the lifeline thread still blocks on stdin, and nothing else is left


# The child's command line. `-P`: the working directory does not go first on the import path (a
# `solvers/` folder there must not shadow this package); this package's own root is appended
# only where the interpreter would not otherwise find it (a checkout run without installing).
_CHILD_CODE = (
    "import sys\n"
    "if {root!r} not in sys.path: sys.path.append({root!r})\n"
    "from solvers.highs import _child_main\n"
    "_child_main()\n"
)


class HighsRun:
    """One HiGHS search in a child process, started at once; `wait()` or `result()` collects it.

    The child is a fresh interpreter running `_child_main` (subprocess, not multiprocessing):
    multiprocessing's spawn re-imports the caller's main script in the child,
    so a user's planning script without an `if __name__ == "__main__"` guard would run again
    there, writing its files twice. In its own session, a terminal's Ctrl-C never reaches it.
    """

    def __init__(self, limit_s: float, task: HighsTask | None = None):
        """`task` None: start the process now (its imports take a second) and `send` the task
        later."""
        self.deadline = time.time() + limit_s
        self._closed = False
        self._answer: CountSolution | None = None
        self._answered = threading.Event()
        if getattr(sys, "frozen", False):  # a bundled app: sys.executable is the app, not Python
            raise RuntimeError("no Python interpreter to run HiGHS in (frozen application)")
        # Its own session (process group on Windows): a terminal's Ctrl-C is the parent's to handle.
        isolated = {"start_new_session": True} if os.name == "posix" else {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        self._process = subprocess.Popen(
            [sys.executable, "-P", "-c", _CHILD_CODE.format(root=str(_ROOT))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            **isolated,
        )
        # Threads: the payload may be megabytes (XL), more than a pipe holds, and the answer
        # arrives whenever HiGHS ends; neither may block the caller's loop. Stdin stays open
        # after the payload: it is the child's lifeline, closed by `cancel()` or by our exit.
        threading.Thread(target=self._receive, name="highs-receive", daemon=True).start()
        if task is not None:
            self.send(task, limit_s)

    def send(self, task: HighsTask, limit_s: float) -> None:
        """The task for a process started without one, to end `limit_s` from now."""
        self.deadline = time.time() + limit_s
        payload = _framed((task, self.deadline))
        threading.Thread(target=self._send, args=(payload,), name="highs-send", daemon=True).start()

    def _send(self, payload: bytes) -> None:
        try:
            self._process.stdin.write(payload)
            self._process.stdin.flush()
        except (OSError, ValueError):  # the child died, or was cancelled meanwhile
            pass

    def _receive(self) -> None:
        try:
            self._answer = _read_framed(self._process.stdout.fileno())
        except (EOFError, OSError, ValueError, pickle.UnpicklingError):
            self._answer = CountSolution(status="unknown", solver="highs", notes=["HiGHS's process ended without an answer"])
        self._answered.set()

    def result(self, wait: float = 0.1) -> CountSolution | None:
        """The child's answer once it has one (None until then). Waits at most `wait` seconds;
        call repeatedly so that Ctrl-C reaches the caller."""
        return self._answer if self._answered.wait(wait) else None

    def overdue(self) -> bool:
        return time.time() > self.deadline + GRACE_S

    def cancel(self) -> None:
        """Stop the child (if it still runs) and release its pipes; safe to call twice."""
        if self._closed:
            return
        if self._process.poll() is None:
            self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._closed = True  # only now: an interrupted cancel() is done again by the next call

    def wait(self, stop: Callable[[], bool] = lambda: False) -> CountSolution | None:
        """Block until the child answers, is overdue, or `stop()` says to give up (polled every
        0.1 s; the child is then cancelled and None returned). KeyboardInterrupt passes through."""
        while True:
            answer = self.result(0.1)
            if answer is not None:
                self.cancel()
                return answer
            if self.overdue() or stop():
                self.cancel()
                return None
