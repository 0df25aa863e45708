"""Greedy first-fit-decreasing baseline: a quick plan, CP-SAT's warm start, the benchmark's yardstick.

Workloads are taken hardest first (largest tensor-parallel size, then most memory per replica).
Each replica goes to the resource with the lowest marginal cost per unit of throughput that can be
had: a free unit on a node already running, else a GPU of a running node configured for it, else
a newly opened node (inventory before market, cheapest first). It proves nothing, so its plans
carry no lower bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from planner.problem import FULL, LayoutOption, NodeGroup, PlanningProblem, resource_price
from planner.solution import CountSolution


@dataclass
class _OpenNode:
    group: NodeGroup
    kept: bool
    tp_sizes: list[int] = field(default_factory=list)
    layouts: list[LayoutOption] = field(default_factory=list)
    free_units: dict[str, int] = field(default_factory=dict)  # resource -> unused units
    free_gpus: int = 0
    hosted: dict[int, int] = field(default_factory=dict)  # workload index -> replicas here


def solve(problem: PlanningProblem, time_limit_s: float = 0.0, **_: object) -> CountSolution:
    start = time.monotonic()
    opened: list[_OpenNode] = []
    by_group: dict[int, list[_OpenNode]] = {g.id: [] for g in problem.groups}
    hosts_of: dict[int, list[_OpenNode]] = {}  # workload -> nodes hosting it, in order
    remaining_nodes = {g.id: g.available for g in problem.groups}
    replicas: dict[tuple[int, int, str], int] = {}
    sizes_of = {g.id: {p.sizes for p in g.packings} for g in problem.groups}

    def open_node(group: NodeGroup) -> _OpenNode | None:
        if remaining_nodes[group.id] <= 0:
            return None
        remaining_nodes[group.id] -= 1
        if group.kept is not None:
            node = _OpenNode(group, kept=True, free_gpus=0)
            for profile, count in group.kept.fixed:
                key = f"{group.gpu}/{profile}"
                node.free_units[key] = node.free_units.get(key, 0) + count
            if group.kept.off:
                node.free_units[group.gpu] = len(group.kept.off)
        else:
            node = _OpenNode(group, kept=False, free_gpus=group.gpus_per_node)
        opened.append(node)
        by_group[group.id].append(node)
        return node

    def configure(node: _OpenNode, resource) -> bool:
        """Give a free GPU (or NVLink group) of a fresh node the shape this resource needs."""
        if node.kept:
            if any(node.hosted.values()):
                return False
            # Nothing runs on it yet: re-cut it instead of keeping today's layout.
            node.kept, node.free_units, node.free_gpus = False, {}, node.group.gpus_per_node
        key = str(resource)
        if resource.kind == "tp":
            sizes = tuple(sorted(node.tp_sizes + [resource.gpus], reverse=True))
            if node.free_gpus < resource.gpus or sizes not in sizes_of[node.group.id]:
                return False
            node.tp_sizes.append(resource.gpus)
            node.free_gpus -= resource.gpus
            node.free_units[key] = node.free_units.get(key, 0) + 1
            return True
        if node.free_gpus < 1:
            return False
        if resource.kind == "full":
            layout = FULL
        else:
            options = [lay for lay in problem.layouts[node.group.gpu] if dict(lay.counts).get(resource.profile)]
            if not options:
                return False
            # Most slices of the wanted profile; then the layout with the fewest other slices.
            layout = max(options, key=lambda lay: (dict(lay.counts)[resource.profile], -sum(n for _, n in lay.counts), lay.key))
        node.layouts.append(layout)
        node.free_gpus -= 1
        if layout.mode == "full":
            node.free_units[key] = node.free_units.get(key, 0) + 1
        for profile, count in layout.counts:
            k = f"{node.group.gpu}/{profile}"
            node.free_units[k] = node.free_units.get(k, 0) + count
        return True

    def take(w: int, group: NodeGroup, resource) -> bool:
        key = str(resource)
        running = by_group[group.id]
        hosts = hosts_of.get(w, [])
        if problem.demands[w].spread and len(hosts) == 1:
            running = [n for n in running if n is not hosts[0]]  # spread: the next replica goes elsewhere
        running = sorted(running, key=lambda n: n.hosted.get(w, 0))
        for node in running:
            if node.free_units.get(key, 0) > 0:
                break
        else:
            node = next((n for n in running if configure(n, resource)), None)
            if node is None:
                node = open_node(group)
                if node is None or (node.free_units.get(key, 0) == 0 and not configure(node, resource)):
                    return False
        node.free_units[key] -= 1
        if not node.hosted.get(w):
            hosts_of.setdefault(w, []).append(node)
        node.hosted[w] = node.hosted.get(w, 0) + 1
        replicas[w, group.pool, key] = replicas.get((w, group.pool, key), 0) + 1  # counted per pool, as the solvers do
        return True

    def hardness(w: int) -> tuple:
        cands = [c for (wi, _), cs in problem.candidates.items() if wi == w for c in cs]
        smallest_tp = min((c.resource.gpus for c in cands if c.resource.kind != "mig"), default=0)
        memory = max((c.estimate.memory_gb or 0 for c in cands), default=0)
        return (-smallest_tp if all(c.resource.kind == "tp" for c in cands) and cands else 0, -memory, w)

    status = "feasible"
    for w in sorted(range(len(problem.demands)), key=hardness):
        demand = problem.demands[w]
        options = []
        for group in problem.groups:
            for cand in problem.candidates.get((w, group.gpu), []):
                unit_cost = resource_price(problem, group, cand.resource)
                options.append((unit_cost / cand.throughput, group.origin != "inventory", group.id, str(cand.resource), cand, group))
        options.sort(key=lambda o: o[:4])
        covered, count = 0, 0
        while covered < demand.target_scaled or count < demand.min_replicas:
            if demand.max_replicas is not None and count >= demand.max_replicas:
                status = "infeasible"
                break
            chosen = next((cand for *_, cand, group in options if take(w, group, cand.resource)), None)
            if chosen is None:
                status = "infeasible"
                break
            covered += chosen.capacity
            count += 1
        if status == "infeasible":
            break

    out = CountSolution(status=status if status == "infeasible" else "feasible", solver="greedy", seconds=0.0)
    if status == "infeasible":
        out.seconds = time.monotonic() - start
        return out
    for node in opened:
        if not any(node.hosted.values()):
            continue
        g = node.group
        if node.kept:
            out.kept[g.id, 0] = out.kept.get((g.id, 0), 0) + 1
            continue
        sizes = tuple(sorted(node.tp_sizes, reverse=True))
        k = next(i for i, p in enumerate(g.packings) if p.sizes == sizes)
        out.fresh[g.id, k] = out.fresh.get((g.id, k), 0) + 1
        for layout in node.layouts:
            out.layouts[g.id, layout.key] = out.layouts.get((g.id, layout.key), 0) + 1
    out.replicas = dict(replicas)
    out.cost_scaled = sum(g.price_scaled * out.active(g.id) for g in problem.groups)
    out.seconds = time.monotonic() - start
    return out

