"""The count model's rounding cuts (solvers/countmodel.py, solvers/lp.py): valid for every
integer plan, what lifts the LP bound where replicas are few, and which of them a fleet gets."""

from __future__ import annotations

import itertools
import random

import pytest
from ortools.linear_solver import pywraplp

from benchmarks.generate import generate
from planner.problem import PRICE_SCALE, build_problem
from planner.spec import parse_fleet
from solvers import countmodel, lp


def _row(capacities: list[int], target: int, d: int) -> tuple[tuple[int, ...], int]:
    return tuple(-(-c // d) for c in capacities), -(-target // d)


@pytest.mark.parametrize("seed", range(80))
def test_rounding_cuts_hold_for_every_integer_cover(seed):
    """Brute force over small throughput rows: every replica vector meeting the target meets
    every cut; no cut is the all-ones replica-count row, and no two have the same coefficients."""
    rng = random.Random(seed)
    capacities = [rng.randint(1, 40) for _ in range(rng.randint(1, 4))]
    target = rng.randint(1, 90)
    divisors = countmodel.rounding_divisors(capacities, target)
    assert set(divisors) <= set(capacities) - {max(capacities)}
    rows = [_row(capacities, target, d) for d in divisors]
    most = max(-(-target // c) for c in capacities)
    for counts in itertools.product(range(most + 1), repeat=len(capacities)):
        if sum(c * n for c, n in zip(capacities, counts)) >= target:
            for coefficients, rhs in rows:
                assert sum(k * n for k, n in zip(coefficients, counts)) >= rhs, (capacities, target, counts)
    assert all(max(coefficients) > 1 for coefficients, _ in rows)
    assert len({coefficients for coefficients, _ in rows}) == len(rows)


def test_a_rounding_cut_removes_a_fractional_plan_the_throughput_and_count_rows_allow():
    # Capacities 10 and 6, target 16: x = (0.4, 2) meets 10x + 6y >= 16 and x + y >= 2, but
    # dividing by 6 and rounding up gives 2x + y >= 3, which it misses (2.8).
    assert countmodel.rounding_divisors([10, 6], 16) == [6]
    coefficients, rhs = _row([10, 6], 16, 6)
    assert (coefficients, rhs) == ((2, 1), 3)
    assert 2 * 0.4 + 1 * 2 < rhs


def test_the_divisors_are_the_capacities_but_the_largest():
    # The largest gives coefficients all 1: the replica-count cut, which the model has anyway.
    assert countmodel.rounding_divisors([9, 4, 9, 7], 20) == [4, 7]
    assert countmodel.rounding_divisors([9], 20) == []
    assert countmodel.rounding_divisors([9, 4], 0) == []


def _lp_bound(problem, cuts) -> float:
    solver = pywraplp.Solver.CreateSolver("GLOP")
    v = countmodel.build(problem, lp._LpModel(solver), secondary=False, cuts=cuts)
    solver.Minimize(v.cost)
    assert solver.Solve() == pywraplp.Solver.OPTIMAL
    return solver.Objective().Value() / PRICE_SCALE


@pytest.fixture(scope="module")
def fleet_m():
    return build_problem(parse_fleet(generate("M", 0), "m.yaml"))


def test_rounding_cuts_lift_the_lp_bound_of_a_generated_fleet(fleet_m):
    """Generated M fleet, seed 0: the LP bound is $577.43/h without the cuts; with them (the
    default for a fleet this size) it is above $583/h. Integer plans cost $593.4/h or more."""
    assert _lp_bound(fleet_m, {}) == pytest.approx(577.43, abs=0.01)
    assert countmodel.default_cuts(fleet_m) == countmodel.all_cuts(fleet_m)
    assert lp.relax(fleet_m).bound / PRICE_SCALE > 583.0


def test_separation_keeps_a_tenth_of_the_cuts_and_the_whole_lp_bound(fleet_m):
    every = countmodel.all_cuts(fleet_m)
    separated = lp.separate_cuts(fleet_m, every)
    count = sum(map(len, separated.values()))
    assert 0 < count < sum(map(len, every.values())) / 5
    assert all(set(ds) <= set(every[w]) for w, ds in separated.items())
    assert _lp_bound(fleet_m, separated) == pytest.approx(_lp_bound(fleet_m, every), rel=1e-4)


def test_a_fleet_with_too_many_cuts_gets_none_by_default(fleet_m, monkeypatch):
    monkeypatch.setattr(countmodel, "ALL_CUTS_MAX", 10)
    assert countmodel.too_many_cuts(countmodel.all_cuts(fleet_m))
    assert countmodel.default_cuts(fleet_m) == {}
