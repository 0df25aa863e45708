"""Optimisation back ends behind one interface: `solve(problem, time_limit_s, ...) -> CountSolution`.

The registry is the only place the planner reaches OR-Tools, and it imports a back end only when
it is asked for, so commands that do not solve never load OR-Tools.
"""

from __future__ import annotations

import importlib
from typing import Callable

SOLVERS = {"cp-sat": "solvers.cpsat", "greedy": "solvers.greedy"}


def get_solver(name: str) -> Callable:
    if name not in SOLVERS:
        raise KeyError(name)
    return importlib.import_module(SOLVERS[name]).solve
