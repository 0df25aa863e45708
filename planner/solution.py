"""What a solver returns: counts over the problem's groups, packings, layouts and candidates.

Solver-neutral (no OR-Tools types). `planner.placement` turns counts into named nodes, GPU
indices and MIG starts; a solver never deals with names.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CountSolution:
    status: str  # "optimal" | "feasible" | "infeasible" | "unknown"
    solver: str
    seconds: float = 0.0
    workers: int = 1
    seed: int = 0
    time_limit_s: float | None = None
    # group id -> nodes used, as fresh nodes with packing index k, or kept as today with packing k
    fresh: dict[tuple[int, int], int] = field(default_factory=dict)
    kept: dict[tuple[int, int], int] = field(default_factory=dict)
    # (group id, layout key) -> GPUs of fresh nodes running that layout
    layouts: dict[tuple[int, str], int] = field(default_factory=dict)
    # (workload index, pool, resource string) -> replicas; a pool is the groups of one node type,
    # named by its first group's id (`NodeGroup.pool`)
    replicas: dict[tuple[int, int, str], int] = field(default_factory=dict)
    cost_scaled: int | None = None
    bound_scaled: int | None = None  # proven lower bound on cost_scaled
    changes: int | None = None
    distinct_layouts: int | None = None
    notes: list[str] = field(default_factory=list)
    found_by: str | None = None  # the engine whose plan won the cost stage (cp-sat, highs, highs-patterns, greedy)
    interrupted: bool = False  # the user stopped the search (Ctrl-C); the best plan so far is kept

    def node_cost(self, groups) -> int:
        """What the plan pays, in scaled price units: every active node of every group."""
        return sum(group.price_scaled * self.active(group.id) for group in groups)

    def active(self, group: int) -> int:
        return sum(n for (g, _), n in self.fresh.items() if g == group) + sum(
            n for (g, _), n in self.kept.items() if g == group
        )
