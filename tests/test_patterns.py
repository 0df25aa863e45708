"""The replica-pattern stage (solvers/patterns.py): the exact per-workload search, the column
generation, and the pattern MIP's plans — valid plans of the full model, verified when placed."""

from __future__ import annotations

import itertools
import os
import random
import signal
import time

import pytest

from benchmarks.generate import generate
from planner.placement import place
from planner.problem import build_problem
from planner.spec import parse_fleet
from planner.verify import verify
from solvers import greedy, highs, patterns


def _brute_force(items, target, fewest, most):
    """Every pattern meeting the target and counts, by cost: [(cost, counts)]."""
    out = []
    for counts in itertools.product(*(range(bound + 1) for _, _, bound, _ in items)):
        if sum(c * n for (_, c, _, _), n in zip(items, counts)) >= target and fewest <= sum(counts) <= most:
            out.append((sum(max(p, 0.0) * n for (p, _, _, _), n in zip(items, counts)), counts))
    return sorted(out, key=lambda found: found[0])


@pytest.mark.parametrize("seed", range(60))
def test_cheapest_patterns_are_the_cheapest(seed):
    rng = random.Random(seed)
    items = [(rng.choice([rng.uniform(-1, 10), rng.uniform(0, 10), 0.0]), rng.randint(1, 9), rng.randint(0, 4), ("pool", f"r{i}")) for i in range(rng.randint(1, 4))]
    target = rng.randint(1, 30)
    fewest, most = rng.choice([(0, 99), (2, 99), (0, 3), (1, 2)])
    found = patterns.cheapest_patterns(items, target, fewest, most, k=3)
    every = _brute_force(items, target, fewest, most)
    if not every:
        assert found == []
        return
    assert found and found[0][0] == pytest.approx(every[0][0])  # the first is the cheapest of all
    costs = [cost for cost, _ in found]
    assert costs == sorted(costs) and len(found) <= 3
    capacity = {key: cap for _, cap, _, key in items}
    price = {key: max(p, 0.0) for p, _, _, key in items}
    bound = {key: b for _, _, b, key in items}
    assert len({tuple(sorted(pattern.items())) for _, pattern in found}) == len(found)  # no repeats
    for cost, pattern in found:
        assert sum(capacity[k] * n for k, n in pattern.items()) >= target
        assert fewest <= sum(pattern.values()) <= most
        assert all(0 < n <= bound[k] for k, n in pattern.items())
        assert cost == pytest.approx(sum(price[k] * n for k, n in pattern.items()))


def test_lp_priced_pool_holds_the_known_plans_and_gives_plans_of_the_fleet():
    """Patterns for a generated M fleet at the LP's prices, then the pattern MIP from greedy's
    plan: the pool starts with greedy's patterns, and the MIP's plan is cheaper than greedy's,
    passes the exact check and, placed, the verifier."""
    loaded = parse_fleet(generate("M", 1), "m.yaml")
    problem = build_problem(loaded)
    start = greedy.solve(problem)
    pool = patterns.lp_priced(problem, [start], time.time() + 10, per_workload=5)
    for w in range(len(problem.demands)):
        assert pool[w][0] == patterns._pattern_of(start, w)
        assert 2 <= len(pool[w]) <= 9  # greedy's, up to 3 rounded from the LP's split, up to 5 at its prices
    found = patterns.solve_restricted(problem, pool, time.time() + 6, 0, start)
    assert found.cost_scaled is not None and found.cost_scaled < start.cost_scaled
    assert found.bound_scaled is None  # the pool's bound is no bound on the fleet's cost
    found.time_limit_s = 10
    assert verify(place(problem, found), loaded) == []


def test_without_the_lp_the_pool_is_the_known_plans():
    loaded = parse_fleet(generate("S", 0), "s.yaml")
    problem = build_problem(loaded)
    start = greedy.solve(problem)
    pool = patterns.lp_priced(problem, [start, None], time.time() - 1)  # no time left for the LP
    assert pool == {w: [patterns._pattern_of(start, w)] for w in range(len(problem.demands))}


def test_the_pattern_stage_reports_the_full_models_bound_and_a_verified_plan():
    loaded = parse_fleet(generate("M", 0), "m.yaml")
    problem = build_problem(loaded)
    start = greedy.solve(problem)
    out = highs.solve_in_process(problem, time.time() + 12, 0.0, 0, start, search=highs.FULL_THEN_PATTERNS)
    assert out.cost_scaled is not None and out.cost_scaled < start.cost_scaled and out.status == "feasible"
    assert out.bound_scaled is not None and out.bound_scaled <= out.cost_scaled
    out.time_limit_s = 12
    assert verify(place(problem, out), loaded) == []


def test_patterns_start_from_the_warm_start_when_the_full_model_finds_no_plan(monkeypatch):
    """The LP's prices do not need the full model's plan: with none (its first plans can take
    over 20 s on L fleets), the pattern MIP still improves on the warm start."""
    from planner.solution import CountSolution

    loaded = parse_fleet(generate("M", 0), "m.yaml")
    problem = build_problem(loaded)
    start = greedy.solve(problem)
    monkeypatch.setattr(highs, "_solve_full", lambda *a, **k: CountSolution(status="unknown", solver="highs", bound_scaled=1))
    out = highs.solve_in_process(problem, time.time() + 8, 0.0, 0, start, search=highs.FULL_THEN_PATTERNS)
    assert out.solver == "highs-patterns" and out.cost_scaled < start.cost_scaled
    assert out.bound_scaled == 1  # the full model's bound, the only one there is
    out.time_limit_s = 8
    assert verify(place(problem, out), loaded) == []


def test_a_failing_pattern_stage_returns_the_full_models_plan(monkeypatch):
    from planner.solution import CountSolution

    problem = build_problem(parse_fleet(generate("S", 0), "s.yaml"))
    start = greedy.solve(problem)
    full = CountSolution(status="feasible", solver="highs", cost_scaled=start.cost_scaled, bound_scaled=1)
    monkeypatch.setattr(highs, "_solve_full", lambda *a, **k: full)

    def broken(*args, **kwargs):
        raise MemoryError("pool too large")

    monkeypatch.setattr(patterns, "lp_priced", broken)
    out = highs.solve_in_process(problem, time.time() + 8, 0.0, 0, start, search=highs.FULL_THEN_PATTERNS)
    assert out is full and out.notes == ["replica patterns failed (MemoryError: pool too large)"]


def test_a_workload_without_patterns_leaves_the_pool_without_plans():
    problem = build_problem(parse_fleet(generate("S", 0), "s.yaml"))
    start = greedy.solve(problem)
    pool = {w: [patterns._pattern_of(start, w)] for w in range(1, len(problem.demands))}  # none for workload 0
    out = patterns.solve_restricted(problem, pool, time.time() + 5, 0, start)
    assert out.cost_scaled is None and out.status == "unknown"


def test_with_too_little_time_for_both_the_full_model_keeps_it_all(monkeypatch):
    from planner.solution import CountSolution

    problem = build_problem(parse_fleet(generate("S", 0), "s.yaml"))
    deadlines = []
    monkeypatch.setattr(highs, "_solve_full", lambda p, deadline, *a: deadlines.append(deadline) or CountSolution(status="feasible", solver="highs"))
    monkeypatch.setattr(patterns, "lp_priced", lambda *a, **k: pytest.fail("no time for patterns"))
    deadline = time.time() + highs.PATTERNS_MIN_SPAN_S - 0.5
    highs.solve_in_process(problem, deadline, 0.0, 0, None, search=highs.FULL_THEN_PATTERNS)
    assert deadlines == [deadline]


def test_when_the_lp_takes_the_pattern_mips_time_the_full_model_gets_it_back(monkeypatch):
    from planner.solution import CountSolution

    problem = build_problem(parse_fleet(generate("S", 0), "s.yaml"))
    deadlines = []

    def full(p, deadline, *args):
        deadlines.append(deadline)
        return CountSolution(status="feasible", solver="highs", cost_scaled=10 - len(deadlines), bound_scaled=len(deadlines))

    def slow_lp(problem, known, deadline):
        time.sleep(max(deadline - time.time(), 0) + 0.2)  # past the point where the MIP could run
        return {}

    monkeypatch.setattr(highs, "_solve_full", full)
    monkeypatch.setattr(patterns, "lp_priced", slow_lp)
    monkeypatch.setattr(patterns, "solve_restricted", lambda *a, **k: pytest.fail("no time for the pattern MIP"))
    monkeypatch.setattr(highs, "PATTERN_MIP_MIN_S", 0.2)  # shortened: the test waits out the LP's share
    monkeypatch.setattr(highs, "PATTERNS_MIN_SPAN_S", 0.5)
    deadline = time.time() + 1.0
    out = highs.solve_in_process(problem, deadline, 0.0, 0, None, search=highs.FULL_THEN_PATTERNS)
    assert len(deadlines) == 2 and deadlines[1] == deadline
    assert out.cost_scaled == 8 and out.bound_scaled == 2  # the second run's plan, the higher bound


# The pattern search in CP-SAT's time (`solver.patterns: auto` from 15 to 99 workloads): after its
# head start, CP-SAT waits while HiGHS searches patterns in a process of its own, then resumes.


def _spy_on_search(monkeypatch, before=None, replace=None) -> list:
    """Record each pattern search's `known` plans (and the search itself); call `before(search)`
    first, then the real search unless `replace`."""
    from solvers import cpsat

    calls = []
    real = cpsat._PatternSearch.search

    def spy(self, problem, known, seed):
        calls.append(([plan for plan in known if plan is not None], self))
        if before is not None:
            before(self)
        return replace(problem, known, seed) if replace is not None else real(self, problem, known, seed)

    monkeypatch.setattr(cpsat._PatternSearch, "search", spy)
    return calls


def test_cpsat_hands_its_time_to_the_pattern_search_and_keeps_the_cheaper_plan(monkeypatch):
    from planner.planning import make_plan
    from solvers import cpsat

    loaded = parse_fleet(generate("M", 0), "m.yaml")
    start = greedy.solve(build_problem(loaded))
    calls = _spy_on_search(monkeypatch)
    answers = []
    real_wait = highs.HighsRun.wait
    monkeypatch.setattr(highs.HighsRun, "wait", lambda self, **kw: answers.append(real_wait(self, **kw)) or answers[-1])
    plan = make_plan(loaded, time_limit_s=8)
    assert len(calls) == 1 and any(known.replicas == start.replicas for known in calls[0][0])  # greedy's patterns too
    found = [a for a in answers if a is not None and a.solver == "highs-patterns"]
    assert len(found) == 1 and found[0].cost_scaled is not None and found[0].bound_scaled is None
    assert plan.cost_per_hour <= found[0].cost_scaled / 1000 < start.cost_scaled / 1000
    assert plan.lower_bound_per_hour is not None and plan.lower_bound_per_hour <= plan.cost_per_hour
    assert verify(plan, loaded) == []
    assert calls[0][1].run._process.poll() is not None  # its process ended with it
    assert isinstance(calls[0][1], cpsat._PatternSearch)


@pytest.mark.parametrize(
    ("setting", "searched"),
    [("", True), ("highs: false", False), ("deterministic: true", False), ("patterns: false", False), ("patterns: true", False)],
)
def test_no_pattern_search_in_cpsat_time_without_the_race_or_when_set_elsewhere(monkeypatch, setting, searched):
    """It needs the racing HiGHS (its bound: `highs: false` and `deterministic: true` have none), and
    `patterns: true` puts the search in the HiGHS process instead. The first case, the default,
    shows the search would have run."""
    from planner.planning import make_plan

    text = generate("M", 0).replace("solver: {", f"solver: {{{setting}, ", 1) if setting else generate("M", 0)
    loaded = parse_fleet(text, "m.yaml")
    expected = "highs" if setting == "patterns: true" else "off" if setting == "patterns: false" else "cp-sat"
    assert loaded.fleet.solver.pattern_search(40) == expected
    calls = _spy_on_search(monkeypatch, replace=lambda *args: None)
    make_plan(loaded, time_limit_s=1.0 if "deterministic" in setting else 2.5)
    assert len(calls) == (1 if searched else 0)


def test_the_unit_by_unit_spread_retry_gets_no_pattern_search_in_cpsat_time(monkeypatch):
    """Planning's retry model is 8.5x the default's size on M, and CP-SAT waiting for a pattern MIP
    made its plans dearer (`planning.pattern_search`). The default case above is the control."""
    import dataclasses

    from planner import planning

    loaded = parse_fleet(generate("M", 0), "m.yaml")
    problem = build_problem(loaded)
    strict = dataclasses.replace(problem, strict_spread=True)
    assert planning.pattern_search(loaded.fleet.solver, problem) == "cp-sat"
    assert planning.pattern_search(loaded.fleet.solver, strict) == "off"
    calls = _spy_on_search(monkeypatch, replace=lambda *args: None)
    plan = planning.make_plan(loaded, time_limit_s=2.5, problem=strict)
    assert calls == [] and verify(plan, loaded) == []
    # `patterns: true` still means the HiGHS process, strict or not.
    text = generate("M", 0).replace("solver: {", "solver: {patterns: true, ", 1)
    assert planning.pattern_search(parse_fleet(text, "m.yaml").fleet.solver, strict) == "highs"


def test_a_fleet_cpsat_proves_in_its_head_start_never_waits_for_patterns(monkeypatch):
    """The example fleet (too few workloads for `auto` to choose it) with the handover forced:
    CP-SAT proves it optimal within its head start, so no pattern search runs."""
    from planner.spec import load_fleet
    from solvers import cpsat
    from tests.test_highs import EXAMPLES

    problem = build_problem(load_fleet(str(EXAMPLES / "fleet.yaml")))
    calls = _spy_on_search(monkeypatch)
    out = cpsat.solve(problem, 30, warm_start=greedy.solve(problem), patterns="cp-sat")
    assert out.status == "optimal" and out.found_by == "cp-sat" and calls == []


@pytest.mark.skipif(os.name != "posix", reason="sends itself SIGINT")
def test_ctrl_c_during_the_pattern_search_stops_its_process_and_keeps_the_best_plan(monkeypatch):
    from solvers import cpsat

    problem = build_problem(parse_fleet(generate("M", 0), "m.yaml"))
    start = greedy.solve(problem)
    calls = _spy_on_search(monkeypatch, before=lambda search: os.kill(os.getpid(), signal.SIGINT))
    began = time.monotonic()
    out = cpsat.solve(problem, 20, warm_start=start, patterns="cp-sat")
    assert len(calls) == 1 and out.interrupted
    assert calls[0][1].run._process.poll() is not None  # terminated, not left to its deadline
    assert out.cost_scaled is not None and out.cost_scaled <= start.cost_scaled
    assert out.bound_scaled is not None and out.bound_scaled <= out.cost_scaled
    assert time.monotonic() - began < 8  # not the 16 s of the cost stage
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
