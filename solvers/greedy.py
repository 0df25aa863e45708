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
    order: int = 0  # opening order: ties go to the node opened first


def solve(problem: PlanningProblem, time_limit_s: float = 0.0, **_: object) -> CountSolution:
    start = time.monotonic()
    opened: list[_OpenNode] = []
    hosts_of: dict[int, list[_OpenNode]] = {}  # workload -> nodes hosting it, in order
    remaining_nodes = {g.id: g.available for g in problem.groups}
    replicas: dict[tuple[int, int, str], int] = {}
    sizes_of = {g.id: {p.sizes for p in g.packings} for g in problem.groups}
    # The layout a GPU gets for a profile: most slices of it, then the fewest other slices.
    layouts_with: dict[str, dict[str, LayoutOption]] = {}
    for gpu, options in problem.layouts.items():
        profiles = {p for lay in options for p, _ in lay.counts}
        layouts_with[gpu] = {
            profile: max(
                (lay for lay in options if dict(lay.counts).get(profile)),
                key=lambda lay: (dict(lay.counts)[profile], -sum(n for _, n in lay.counts), lay.key),
            )
            for profile in profiles
        }
    # Indexes over the opened nodes, kept in step with them: (group, resource) -> nodes with a
    # free unit of it; group -> nodes that can still configure a GPU (fresh with a free GPU, or
    # kept with nothing running yet). Dicts keyed by opening order, so iteration is deterministic.
    free_nodes: dict[tuple[int, str], dict[int, _OpenNode]] = {}
    configurable: dict[int, dict[int, _OpenNode]] = {g.id: {} for g in problem.groups}

    def add_units(node: _OpenNode, key: str, count: int) -> None:
        node.free_units[key] = node.free_units.get(key, 0) + count
        if node.free_units[key] > 0:
            free_nodes.setdefault((node.group.id, key), {})[node.order] = node

    def use_unit(node: _OpenNode, key: str) -> None:
        node.free_units[key] -= 1
        if node.free_units[key] == 0:
            del free_nodes[node.group.id, key][node.order]

    def refresh(node: _OpenNode) -> None:
        if node.free_gpus > 0 or (node.kept and not any(node.hosted.values())):
            configurable[node.group.id][node.order] = node
        else:
            configurable[node.group.id].pop(node.order, None)

    def open_node(group: NodeGroup) -> _OpenNode | None:
        if remaining_nodes[group.id] <= 0:
            return None
        remaining_nodes[group.id] -= 1
        if group.kept is not None:
            node = _OpenNode(group, kept=True, free_gpus=0, order=len(opened))
            for profile, count in group.kept.fixed:
                add_units(node, f"{group.gpu}/{profile}", count)
            if group.kept.off:
                add_units(node, group.gpu, len(group.kept.off))
        else:
            node = _OpenNode(group, kept=False, free_gpus=group.gpus_per_node, order=len(opened))
        opened.append(node)
        refresh(node)
        return node

    def configure(node: _OpenNode, resource) -> bool:
        """Give a free GPU (or NVLink group) of a fresh node the shape this resource needs."""
        if node.kept:
            if any(node.hosted.values()):
                return False
            # Nothing runs on it yet: re-cut it instead of keeping today's layout.
            for key in node.free_units:
                free_nodes.get((node.group.id, key), {}).pop(node.order, None)
            node.kept, node.free_units, node.free_gpus = False, {}, node.group.gpus_per_node
        key = str(resource)
        if resource.kind == "tp":
            sizes = tuple(sorted(node.tp_sizes + [resource.gpus], reverse=True))
            if node.free_gpus < resource.gpus or sizes not in sizes_of[node.group.id]:
                refresh(node)
                return False
            node.tp_sizes.append(resource.gpus)
            node.free_gpus -= resource.gpus
            add_units(node, key, 1)
            refresh(node)
            return True
        if node.free_gpus < 1:
            refresh(node)
            return False
        if resource.kind == "full":
            layout = FULL
        else:
            options = layouts_with[node.group.gpu].get(resource.profile)
            if not options:
                refresh(node)
                return False
            layout = options
        node.layouts.append(layout)
        node.free_gpus -= 1
        if layout.mode == "full":
            add_units(node, key, 1)
        for profile, count in layout.counts:
            add_units(node, f"{node.group.gpu}/{profile}", count)
        refresh(node)
        return True

    def take(w: int, group: NodeGroup, resource) -> bool:
        key = str(resource)
        hosts = hosts_of.get(w, [])
        # Spread: the next replica goes elsewhere than the only node hosting the workload so far.
        avoid = hosts[0] if problem.demands[w].spread and len(hosts) == 1 else None

        def first(nodes) -> list[_OpenNode]:
            """Nodes in the order they are tried: fewest replicas of w first, then opening order."""
            return sorted((n for n in nodes if n is not avoid), key=lambda n: (n.hosted.get(w, 0), n.order))

        # Only nodes with a free unit of this resource, or with a GPU still to configure, are
        # candidates (indexed, not scanned: at fleet scale most nodes are full).
        with_unit = first(free_nodes.get((group.id, key), {}).values())
        if with_unit:
            node = with_unit[0]
        else:
            node = next((n for n in first(configurable[group.id].values()) if configure(n, resource)), None)
            if node is None:
                node = open_node(group)
                if node is None or (node.free_units.get(key, 0) == 0 and not configure(node, resource)):
                    return False
        use_unit(node, key)
        if not node.hosted.get(w):
            hosts_of.setdefault(w, []).append(node)
        node.hosted[w] = node.hosted.get(w, 0) + 1
        refresh(node)  # a kept node running a replica can no longer be re-cut
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
    out.cost_scaled = out.node_cost(problem.groups)
    out.seconds = time.monotonic() - start
    return out

