"""The second engine and the pooled model: HiGHS in a child process, the exact integer check of
plans from floating-point solvers, the race beside CP-SAT, and replicas counted per pool.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ortools.sat.python import cp_model

from planner.placement import place
from planner.planning import make_plan
from planner.problem import build_problem
from planner.spec import load_fleet, parse_fleet
from planner.verify import verify
from solvers import cpsat, greedy, highs
from solvers.countmodel import build, check
from tests.test_solver import H100, fleet, generic, optimal, solve, workloads

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _problem(name: str):
    loaded = load_fleet(str(EXAMPLES / name))
    return loaded, build_problem(loaded)


def _cpsat_values(problem) -> tuple[dict[str, int], int]:
    """An optimal plan of the count model, as values by variable name (CP-SAT, cost only)."""
    wrapper = cpsat._CpSatModel()
    v = build(problem, wrapper, secondary=False)
    wrapper.model.Minimize(v.cost)
    solver = cp_model.CpSolver()
    cpsat._params(solver, 1, 0, 30.0, 0.0, cpsat._Budget(30.0, deterministic=False))
    assert solver.Solve(wrapper.model) == cp_model.OPTIMAL
    proto = wrapper.model.Proto()
    values = {var.name: solver.Value(wrapper.model.GetIntVarFromProtoIndex(i)) for i, var in enumerate(proto.variables)}
    return values, int(solver.ObjectiveValue())


def test_check_accepts_an_optimal_plan_and_names_what_a_broken_one_violates():
    _, problem = _problem("fleet.yaml")
    values, _ = _cpsat_values(problem)
    assert check(problem, values) == []
    assert check(problem, {}) != []  # nothing bought: targets unmet
    # One replica fewer somewhere: a throughput or replica-count row now fails.
    name = next(n for n, x in sorted(values.items()) if n.startswith("rep_") and x > 0)
    assert check(problem, {**values, name: values[name] - 1}) != []
    # Out of its domain.
    assert any("outside" in f for f in check(problem, {**values, name: -1}))


@pytest.mark.parametrize("example, cost", [("fleet.yaml", 38400), ("tensor-parallel.yaml", None), ("replan.yaml", None)])
def test_highs_finds_the_same_optimum_as_cpsat(example, cost):
    loaded, problem = _problem(example)
    _, best = _cpsat_values(problem)
    out = highs.solve_in_process(problem, time.time() + 30, 0.0, 0, None)
    assert out.status == "optimal" and out.solver == "highs"
    assert out.cost_scaled == best == (cost or best)
    assert out.bound_scaled == out.cost_scaled
    out.time_limit_s = 30
    plan = place(problem, out)
    assert verify(plan, loaded) == []


def test_highs_takes_a_warm_start_and_reports_infeasible():
    _, problem = _problem("fleet.yaml")
    start = greedy.solve(problem)
    out = highs.solve_in_process(problem, time.time() + 30, 0.0, 0, start)
    assert out.status == "optimal" and out.cost_scaled <= start.cost_scaled
    _, impossible = _problem("infeasible.yaml")
    assert highs.solve_in_process(impossible, time.time() + 30, 0.0, 0, None).status == "infeasible"


def test_highs_in_a_child_process_answers_and_is_cancelled_cleanly():
    _, problem = _problem("fleet.yaml")
    run = highs.HighsRun(30, highs.HighsTask(problem, 0.0, 0, greedy.solve(problem)))
    answer = run.wait()
    assert answer is not None and answer.status == "optimal" and answer.cost_scaled == 38400
    run.cancel()  # twice is fine
    # Cancelled while it works: nothing left running, no answer.
    run = highs.HighsRun(30, highs.HighsTask(problem, 0.0, 0, None))
    run.cancel()
    assert run._process.poll() is not None  # ended, and reaped


def test_highs_child_ends_cleanly_after_answering_on_its_own():
    """A child that answers before the parent collects it exits by itself: with status 0, not
    SIGABRT (the lifeline thread once held sys.stdin's lock, and interpreter exit aborted)."""
    _, problem = _problem("fleet.yaml")
    run = highs.HighsRun(30, highs.HighsTask(problem, 0.0, 0, None))
    try:
        answer = None
        while answer is None:
            answer = run.result(0.1)
        assert answer.status == "optimal"
        assert run._process.wait(timeout=30) == 0
    finally:
        run.cancel()


# A parent that starts HiGHS on a fleet it cannot prove quickly, says the child's pid, and waits.
_ORPHANING_PARENT = """
import sys, time
from benchmarks.generate import generate
from planner.problem import build_problem
from planner.spec import parse_fleet
from solvers import highs
run = highs.HighsRun(120, highs.HighsTask(build_problem(parse_fleet(generate("M", 0), "m.yaml")), 0.0, 0, None))
print(run._process.pid, flush=True)
time.sleep(120)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its parent's reaping is left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_highs_child_exits_when_the_planner_is_killed():
    """SIGKILL leaves the parent no chance to cancel: the child must notice on its own, and not
    compute on for minutes (its deadline here is two minutes away)."""
    parent = subprocess.Popen([sys.executable, "-c", _ORPHANING_PARENT], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parent.parent)
    try:
        child = int(parent.stdout.readline())
        time.sleep(1.0)  # into the search
        assert _running(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        gone_by = time.monotonic() + 10
        while _running(child) and time.monotonic() < gone_by:
            time.sleep(0.05)
        assert not _running(child)
    finally:
        parent.kill()
        parent.stdout.close()


# A user's planning script with no `if __name__ == "__main__"` guard: it counts its own runs.
_UNGUARDED_SCRIPT = """
import sys
from benchmarks.generate import generate
from planner.planning import make_plan
from planner.spec import parse_fleet
with open(sys.argv[1], "a") as runs:
    runs.write("ran\\n")
plan = make_plan(parse_fleet(generate("M", 0), "m.yaml"), time_limit_s=3)
print(plan.solver.found_by, *plan.solver.notes, sep="\\n")
"""


def test_a_script_without_a_main_guard_runs_once_and_races_highs(tmp_path):
    """multiprocessing's spawn re-ran the caller's main script in the HiGHS child: a script with
    no main guard ran twice (and its HiGHS never started). The child is `python -m` now."""
    runs = tmp_path / "runs.txt"
    script = tmp_path / "plan_it.py"
    script.write_text(_UNGUARDED_SCRIPT, encoding="utf-8")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, str(script), str(runs)], cwd=root, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    assert runs.read_text() == "ran\n"
    assert "could not start" not in done.stdout and "without an answer" not in done.stdout


def test_race_waits_for_cpsat_head_start_and_can_be_switched_off(monkeypatch):
    _, problem = _problem("fleet.yaml")
    started = []

    class Spy:
        def __init__(self, *args, **kwargs):
            started.append(args)

        def wait(self):
            return None

        def cancel(self):
            pass

    monkeypatch.setattr(cpsat, "HighsRun", Spy)
    # CP-SAT proves the example optimal well within its head start: HiGHS never starts.
    out = cpsat.solve(problem, 10, warm_start=greedy.solve(problem))
    assert out.status == "optimal" and out.found_by == "cp-sat" and started == []
    # Without a head start it would start; `highs=False` (fleet `solver.highs: false`) forbids it.
    monkeypatch.setattr(cpsat, "HIGHS_HEAD_START_S", 0.0)
    cpsat.solve(problem, 10, highs=False)
    assert started == []


def test_fleet_file_switches_highs_off():
    text = (EXAMPLES / "fleet.yaml").read_text().replace("seed: 0}", "seed: 0, highs: false}")
    assert parse_fleet(text, "f.yaml").fleet.solver.highs is False
    assert parse_fleet((EXAMPLES / "fleet.yaml").read_text(), "f.yaml").fleet.solver.highs is True


def test_race_keeps_the_cheaper_plan_and_the_higher_bound(monkeypatch):
    """A fleet CP-SAT cannot finish in its time: HiGHS's answer, when cheaper, becomes the plan
    (and is placed and verified like any other); the bound is the better of the two engines'."""
    import sys

    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from benchmarks.generate import generate

    # The race alone: no replica patterns in CP-SAT's time (tests/test_patterns.py has those).
    loaded = parse_fleet(generate("M", 0).replace("solver: {", "solver: {patterns: false, ", 1), "M.yaml")
    plan = make_plan(loaded, time_limit_s=8)
    assert verify(plan, loaded) == []
    assert plan.lower_bound_per_hour is not None and plan.cost_per_hour >= plan.lower_bound_per_hour
    assert plan.solver.found_by in ("cp-sat", "highs")
    start = greedy.solve(build_problem(loaded))
    assert plan.cost_per_hour <= start.cost_scaled / 1000


def pool_fleet() -> str:
    # One node type, two groups: an inventory node at $1 and market nodes at $2. A spread
    # workload needs two replicas on two nodes: the pool's replicas must land on both groups.
    return fleet(
        """
        gpus:
          H100-SXM5-80GB: {price_per_hour: 2.0}
        node_types:
          one: {gpu: H100-SXM5-80GB, count: 1}
        nodes:
          - {name: old, type: one, price_per_hour: 1.0}
        market:
          one: {max: 3}
        """,
        workloads(generic("w", 50, {H100: 80}, extra="replicas: {min: 2, spread: true}")),
    )


def test_replicas_are_counted_per_pool_and_spread_over_its_groups():
    loaded = parse_fleet(pool_fleet(), "fleet.yaml")
    problem = build_problem(loaded)
    assert len(problem.groups) == 2 and {g.pool for g in problem.groups} == {problem.groups[0].id}
    plan = solve(pool_fleet())
    optimal(plan, 3.0)  # the $1 node and one $2 node
    hosts = {n.name for n in plan.nodes if any(g.workload == "w" for g in n.gpus)}
    assert len(hosts) == 2 and "old" in hosts


def test_spread_needs_carriers_on_two_nodes_not_two_groups_of_one_pool():
    # Found by hypothesis: two groups of one node type, one node each. With replicas counted per
    # pool, the spread bound must still count carrier GPUs per group, or the model "spreads" two
    # replicas over the inventory node's GPUs plus an empty market node.
    text = """
version: 1
name: t
node_types:
  t2: {gpu: A100-SXM4-40GB, count: 2, nvlink: all, price_per_hour: 0.25}
market:
  t2: {max: 1}
nodes:
  - {name: inv2, type: t2}
workloads:
  - name: w0
    kind: generic
    memory_gb: 4
    capacity: {A100-SXM4-40GB: 1, A100-SXM4-40GB/1g.5gb: 1}
    target: {requests_per_s: 1}
    replicas: {min: 2, spread: true}
"""
    plan = solve(text)
    assert len(plan.nodes) == 2
