"""The replica-pattern stage (solvers/patterns.py): the exact per-workload search, the column
generation, and the pattern MIP's plans — valid plans of the full model, verified when placed."""

from __future__ import annotations

import itertools
import math
import random
import time

import pytest

from benchmarks.generate import generate
from planner.placement import place
from planner.problem import build_problem
from planner.spec import parse_fleet
from planner.verify import verify
from solvers import greedy, highs, patterns


def _brute_force(items, target, fewest, most):
    best = (math.inf, None)
    for counts in itertools.product(*(range(bound + 1) for _, _, bound, _ in items)):
        if sum(c * n for (_, c, _, _), n in zip(items, counts)) >= target and fewest <= sum(counts) <= most:
            cost = sum(max(p, 0.0) * n for (p, _, _, _), n in zip(items, counts))
            best = min(best, (cost, counts), key=lambda b: b[0])
    return best[0]


@pytest.mark.parametrize("seed", range(60))
def test_cheapest_pattern_is_the_cheapest(seed):
    rng = random.Random(seed)
    items = [(rng.choice([rng.uniform(-1, 10), rng.uniform(0, 10), 0.0]), rng.randint(1, 9), rng.randint(0, 4), ("pool", f"r{i}")) for i in range(rng.randint(1, 4))]
    target = rng.randint(1, 30)
    fewest, most = rng.choice([(0, 99), (2, 99), (0, 3), (1, 2)])
    cost, pattern = patterns.cheapest_pattern(items, target, fewest, most)
    expected = _brute_force(items, target, fewest, most)
    assert cost == pytest.approx(expected) or (cost == math.inf and expected == math.inf)
    if pattern:
        assert sum(dict((key, cap) for _, cap, _, key in items)[k] * n for k, n in pattern.items()) >= target
        assert fewest <= sum(pattern.values()) <= most


def test_pattern_stage_plans_are_plans_of_the_fleet():
    """Patterns for a generated M fleet, then the pattern MIP from greedy's plan: a cheaper plan
    than greedy's that passes the exact check and, placed, the verifier."""
    loaded = parse_fleet(generate("M", 1), "m.yaml")
    problem = build_problem(loaded)
    start = greedy.solve(problem)
    pool = patterns.generate(problem, time.time() + 4, [start])
    assert all(pool.get(w) for w in range(len(problem.demands)))
    found = patterns.solve_restricted(problem, pool, time.time() + 6, 0, start)
    assert found.cost_scaled is not None and found.cost_scaled <= start.cost_scaled
    assert found.bound_scaled is None  # the pool's bound is no bound on the fleet's cost
    found.time_limit_s = 10
    assert verify(place(problem, found), loaded) == []


def test_the_pattern_stage_reports_the_full_models_bound_and_a_verified_plan():
    loaded = parse_fleet(generate("M", 0), "m.yaml")
    problem = build_problem(loaded)
    out = highs.solve_in_process(problem, time.time() + 12, 0.0, 0, greedy.solve(problem), patterns=True)
    assert out.cost_scaled is not None and out.status == "feasible"
    assert out.bound_scaled is not None and out.bound_scaled <= out.cost_scaled
    out.time_limit_s = 12
    assert verify(place(problem, out), loaded) == []


def test_without_an_improved_plan_by_half_time_the_full_model_runs_again(monkeypatch):
    """Patterns start from the full model's plan; with none better than the warm start by half
    time they would start from the warm start too, so the full model gets the rest instead."""
    from planner.solution import CountSolution

    loaded = parse_fleet(generate("S", 0), "s.yaml")
    problem = build_problem(loaded)
    start = greedy.solve(problem)
    calls = []

    def fake_full(problem, deadline, relative_gap, seed, hint):
        calls.append(hint)
        out = CountSolution(status="feasible", solver="highs", cost_scaled=start.cost_scaled - (len(calls) - 1), bound_scaled=len(calls))
        return out

    monkeypatch.setattr(highs, "_solve_full", fake_full)
    monkeypatch.setattr(patterns, "generate", lambda *a, **k: pytest.fail("patterns must not run"))
    out = highs.solve_in_process(problem, time.time() + 2, 0.0, 0, start, patterns=True)
    assert len(calls) == 2 and out.cost_scaled == start.cost_scaled - 1
    assert out.bound_scaled == 2  # the higher of the two runs' bounds
