"""Counts → a concrete plan: named nodes, GPU indices, MIG starts, replica assignments.

Solver-neutral: reads the problem and a `CountSolution`, writes a `Plan`. Choices made here:
- inventory nodes are used in file order; kept nodes first (their layouts do not change);
- each layout kind is dealt to the fresh node with the most free GPUs, so identical layouts spread
  over nodes (replicas can then spread) and equal counts give identical nodes;
- on a fresh inventory node, a GPU whose new layout equals today's keeps its index;
- replicas go to the unit on the node hosting the fewest replicas of that workload so far, and
  workloads that must spread are placed first;
- a spread workload left on one node gets a trade of units (`_repair_spread`), then, if need be,
  layouts exchanged between GPUs of two nodes and its replicas placed again (`_redeal_for_spread`).
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, deque
from dataclasses import dataclass, field

from planner import mig
from planner.naming import gpu_layout_token, node_config_name, node_name_stem
from planner.plan import (
    Change,
    GpuPlan,
    Instance,
    NodePlan,
    Plan,
    ReplicaGroup,
    Rounding,
    SolverInfo,
    WorkloadPlan,
    fleet_file_entry,
)
from planner.problem import FULL, PRICE_SCALE, LayoutOption, NodeGroup, PlanningProblem, resource_price
from planner.resources import Resource, parse_resource
from planner.solution import CountSolution


@dataclass
class _Unit:
    """One place a replica can run: a MIG instance, a whole GPU, or a TP group."""

    node: int  # index into _Draft.nodes
    resource: str
    gpus: tuple[int, ...]
    start: int | None = None  # MIG instances
    workload: str | None = None


@dataclass
class _Node:
    name: str
    group: NodeGroup
    kept: bool
    layouts: dict[int, LayoutOption | None] = field(default_factory=dict)  # gpu index -> layout (None idle)
    tp_groups: list[tuple[int, ...]] = field(default_factory=list)


def _market_names(problem: PlanningProblem) -> dict[int, list[str]]:
    """Names for the nodes a plan may buy: `<node type>-new-<i>`, as a Kubernetes node name (the
    type's key in lower case, other characters as '-') and never one an inventory node has."""
    taken = {node.name for node in problem.loaded.fleet.nodes}
    counters: Counter = Counter()
    names: dict[int, list[str]] = {}
    for g in problem.groups:
        if g.origin == "market":
            stem = node_name_stem(g.node_type, 40)
            names[g.id] = []
            while len(names[g.id]) < g.available:
                name = f"{stem}-new-{counters[stem]}"
                counters[stem] += 1
                if name not in taken:
                    taken.add(name)
                    names[g.id].append(name)
    return names


def _balance_packings(group: NodeGroup, packings: list, used_tp: Counter) -> list:
    """Spread the tensor-parallel groups over the nodes (replicas of one workload then land on
    different nodes) while each node's groups stay a packing its topology allows.

    The count model fixes only how many TP groups of each size the group holds and how many GPUs
    they take; which node holds which is free, so this changes neither cost nor capacity. Only
    the groups that carry a replica (`used_tp`: size -> count) are placed: a TP group the solver
    left empty would only take GPUs (and nodes) that MIG or whole-GPU replicas can use, e.g. to
    spread a workload over two nodes. Falls back to the solver's own assignment if the balanced
    one does not fit.
    """
    if len(packings) < 2:
        return packings
    by_sizes = {p.sizes: p for p in group.packings}
    sizes = sorted(used_tp.elements(), reverse=True)
    per_node: list[list[int]] = [[] for _ in packings]
    for size in sizes:
        # Fewest groups of this size first, then the least loaded node: two TP2 groups go to two
        # nodes (one beside a TP4) rather than both to the one empty node, so that a workload of
        # two TP2 replicas that must spread can.
        order = sorted(range(len(per_node)), key=lambda i: (per_node[i].count(size), sum(per_node[i]), i))
        for i in order:
            candidate = tuple(sorted(per_node[i] + [size], reverse=True))
            if candidate in by_sizes:
                per_node[i].append(size)
                break
        else:
            return packings
    return [by_sizes[tuple(sorted(n, reverse=True))] for n in per_node]


def _deal_layouts(nodes: list[_Node], free: list[list[int]], layouts: list[tuple[LayoutOption, int]]) -> None:
    """Give each fresh node's free GPUs their layouts, spreading every layout kind across nodes."""
    remaining = [len(f) for f in free]
    assigned: list[list[LayoutOption]] = [[] for _ in nodes]
    for layout, count in layouts:
        # The node with the fewest GPUs of this layout so far, then the most free GPUs: a node
        # whose TP group leaves fewer free GPUs still gets its share of each layout, so a spread
        # workload's whole GPUs or slices are not all dealt to the emptier nodes.
        dealt = [0] * len(nodes)
        for _ in range(count):
            best = max((i for i in range(len(nodes)) if remaining[i] > 0), key=lambda i: (-dealt[i], remaining[i], -i), default=None)
            if best is None:
                raise AssertionError("more GPU layouts than free GPUs: solver output is inconsistent")
            assigned[best].append(layout)
            remaining[best] -= 1
            dealt[best] += 1
    for node, indices, chosen in zip(nodes, free, assigned):
        chosen.sort(key=lambda lay: lay.key)
        today = node.group.today
        slots = list(indices)
        # Keep today's layout on its own GPU index where the new layout equals it.
        if today is not None:
            for layout in list(chosen):
                for i in slots:
                    if _same(today[i], layout):
                        node.layouts[i] = layout
                        slots.remove(i)
                        chosen.remove(layout)
                        break
        for i, layout in zip(slots, chosen):
            node.layouts[i] = layout
        for i in slots[len(chosen):]:
            node.layouts[i] = None


def _same(today, layout: LayoutOption) -> bool:
    if today == "off":
        return layout.mode == "full"
    if today is None or layout.mode != "mig":
        return False
    return tuple(sorted(Counter(today).items())) == layout.counts


def place(problem: PlanningProblem, sol: CountSolution) -> Plan:
    loaded = problem.loaded
    catalog = loaded.catalog
    market_names = _market_names(problem)
    nodes: list[_Node] = []
    releasable: list[str] = []
    fresh_tp_carried = _fresh_tp_replicas_by_group(problem, sol)

    for group in problem.groups:
        names = list(group.names) if group.origin == "inventory" else market_names[group.id]
        used = 0
        if group.kept is not None:
            for k, packing in enumerate(group.kept.packings):
                for _ in range(sol.kept.get((group.id, k), 0)):
                    node = _Node(names[used], group, kept=True)
                    used += 1
                    node.tp_groups = list(packing.groups)
                    in_tp = {i for t in packing.groups for i in t}
                    for i, today in enumerate(group.today):
                        if today == "off":
                            node.layouts[i] = None if i in in_tp else FULL
                        else:
                            node.layouts[i] = LayoutOption.of_counts(tuple(sorted(Counter(today).items())))
                    nodes.append(node)
        fresh_nodes: list[_Node] = []
        free: list[list[int]] = []
        packings = _balance_packings(group, [
            packing for k, packing in enumerate(group.packings) for _ in range(sol.fresh.get((group.id, k), 0))
        ], fresh_tp_carried[group.id])
        for packing in packings:
            node = _Node(names[used], group, kept=False)
            used += 1
            node.tp_groups = list(packing.groups)
            in_tp = {i for t in packing.groups for i in t}
            free.append([i for i in range(group.gpus_per_node) if i not in in_tp])
            fresh_nodes.append(node)
        layouts = [
            (layout, sol.layouts.get((group.id, layout.key), 0))
            for layout in problem.layouts[group.gpu]
            if sol.layouts.get((group.id, layout.key), 0)
        ]
        _deal_layouts(fresh_nodes, free, layouts)
        nodes.extend(fresh_nodes)
        if group.origin == "inventory":
            releasable.extend(names[used:])

    units = _units(nodes, catalog)
    _assign_replicas(problem, sol, nodes, units)
    if _unspread(problem, units):
        units = _redeal_for_spread(problem, sol, nodes, catalog, units)
    return _build_plan(problem, sol, nodes, units, releasable)


def _units(nodes: list[_Node], catalog) -> list[_Unit]:
    """Every node's units, in node and GPU order."""
    units: list[_Unit] = []
    for ni, node in enumerate(nodes):
        gpu = catalog.gpu(node.group.gpu)
        for t in sorted(node.tp_groups):
            units.append(_Unit(ni, str(Resource.tp(gpu.name, len(t))), tuple(t)))
        for i in sorted(node.layouts):
            layout = node.layouts[i]
            if layout is None:
                continue
            if layout.mode == "full":
                units.append(_Unit(ni, gpu.name, (i,)))
                continue
            positional = mig.place(gpu, dict(layout.counts))
            if positional is None:
                raise AssertionError(f"layout {layout.key} does not fit {gpu.name}")
            for p in positional:
                units.append(_Unit(ni, f"{gpu.name}/{p.profile}", (i,), p.start))
    return units


def _unspread(problem: PlanningProblem, units: list[_Unit]) -> list[str]:
    """Spread workloads whose replicas all sit on one node."""
    hosts: dict[str, set[int]] = {}
    for u in units:
        if u.workload is not None:
            hosts.setdefault(u.workload, set()).add(u.node)
    return [d.name for d in problem.demands if d.spread and len(hosts.get(d.name, ())) == 1]


# Layout exchanges tried when a spread workload is stuck, each a full replica assignment: at most
# SPREAD_REDEALS, and at most SPREAD_REDEAL_UNITS units placed in all. One trial on the XL
# benchmark's greedy plan (30,867 units) takes 0.6-0.85 s on this project's machine: 9 trials
# there, under 8 s; L's (7,701 units) 38 trials, about 3 s; M and smaller, 100 trials in
# milliseconds. Deterministic (no clock): the same counts give the same plan.
SPREAD_REDEALS = 100
SPREAD_REDEAL_UNITS = 300_000


def _redeal_for_spread(problem: PlanningProblem, sol: CountSolution, nodes: list[_Node], catalog, units: list[_Unit]) -> list[_Unit]:
    """When trading units (`_repair_spread`) leaves a spread workload on one node, deal the layouts
    differently: exchange a GPU of that node offering one of its resources with a GPU of another
    fresh node of the group cut otherwise (or idle), and place the replicas again; keep each
    exchange that leaves fewer workloads unspread. Why: layouts are dealt kind by kind, blind to
    who will need them. A random fleet's two-GPU nodes got {4g.40gb, 2g.20gb} and {2g.20gb ×3} on
    one node and {4g.40gb, 2g.20gb} on the other, one 2g.20gb slice for two spread workloads;
    {4g.40gb, 2g.20gb} twice and {2g.20gb ×3} spread both. The counts do not change. The stuck
    workloads take turns, so one that no exchange helps does not use up the others' tries."""
    stuck = _unspread(problem, units)
    tries = min(SPREAD_REDEALS, max(1, SPREAD_REDEAL_UNITS // max(len(units), 1)))
    while stuck and tries > 0:
        improved = False
        turns = itertools.zip_longest(*(_exchanges(name, nodes, units) for name in stuck))
        for a, i, b, j in (exchange for turn in turns for exchange in turn if exchange is not None):
            if tries <= 0:
                break
            tries -= 1
            nodes[a].layouts[i], nodes[b].layouts[j] = nodes[b].layouts[j], nodes[a].layouts[i]
            trial = _units(nodes, catalog)
            _assign_replicas(problem, sol, nodes, trial)
            left = _unspread(problem, trial)
            if len(left) < len(stuck):
                units, stuck, improved = trial, left, True
                break
            nodes[a].layouts[i], nodes[b].layouts[j] = nodes[b].layouts[j], nodes[a].layouts[i]
        if not improved:
            break
    return units


def _exchanges(name: str, nodes: list[_Node], units: list[_Unit]):
    """(node a, GPU i, node b, GPU j): `name`'s only node a gives a GPU offering one of its
    resources for a differently cut (or idle) GPU of fresh node b of the same group. GPUs cut alike
    on one node are one exchange: of those, a GPU whose layout is not today's goes first (the one
    that is today's keeps it, and its index: no change to report)."""
    resources = {u.resource for u in units if u.workload == name}
    (a,) = {u.node for u in units if u.workload == name}
    if nodes[a].kept:
        return
    gpu = nodes[a].group.gpu
    tried: set[tuple] = set()
    for i, layout in _by_today(nodes[a]):
        if layout is None or not _offers(gpu, layout, resources):
            continue
        for b, node in enumerate(nodes):
            if b == a or node.kept or node.group.id != nodes[a].group.id:
                continue
            for j, other in _by_today(node):
                key = (layout, b, other)
                if other != layout and key not in tried:
                    tried.add(key)
                    yield a, i, b, j


def _by_today(node: _Node) -> list[tuple[int, LayoutOption | None]]:
    """A fresh node's GPUs and layouts, those cut as today last, then by index."""
    today = node.group.today

    def as_today(i: int, layout) -> bool:
        return today is not None and layout is not None and _same(today[i], layout)

    return sorted(node.layouts.items(), key=lambda item: (as_today(*item), item[0]))


def _offers(gpu: str, layout: LayoutOption, resources: set[str]) -> bool:
    if layout.mode == "full":
        return gpu in resources
    return any(f"{gpu}/{profile}" in resources for profile, _ in layout.counts)


def _fresh_tp_replicas_by_group(problem: PlanningProblem, sol: CountSolution) -> dict[int, Counter]:
    """How many TP groups of fresh nodes carry a replica, per group and size. The solvers count
    replicas per pool (`NodeGroup.pool`), so the pool's count is dealt to its groups in order, each
    up to the TP groups it holds, and within a group kept nodes' TP groups are used first. The
    pool's supply covers the count, so every replica gets a TP group."""
    wanted: Counter = Counter()  # (pool, size) -> replicas
    for (_, pool, res), count in sol.replicas.items():
        if "/tp" in res:
            wanted[pool, int(res.rsplit("/tp", 1)[1])] += count
    out: dict[int, Counter] = {}
    for group in problem.groups:
        fresh: Counter = Counter()
        for k, packing in enumerate(group.packings):
            for t in packing.groups:
                fresh[len(t)] += sol.fresh.get((group.id, k), 0)
        kept: Counter = Counter()
        for k, packing in enumerate(group.kept.packings if group.kept is not None else ()):
            for t in packing.groups:
                kept[len(t)] += sol.kept.get((group.id, k), 0)
        dealt: Counter = Counter()
        for size, count in (fresh + kept).items():
            dealt[size] = min(count, wanted[group.pool, size])
            wanted[group.pool, size] -= dealt[size]
        out[group.id] = dealt - kept
    return out


def _assign_replicas(problem: PlanningProblem, sol: CountSolution, nodes: list[_Node], units: list[_Unit]) -> None:
    # Replicas are counted per pool: any unit of the resource on any node of the pool will do,
    # and the node hosting the fewest replicas of the workload so far is taken first (spread).
    free: dict[tuple[int, str], list[_Unit]] = {}
    for u in units:
        free.setdefault((nodes[u.node].group.pool, u.resource), []).append(u)
    order = sorted(range(len(problem.demands)), key=lambda w: (not problem.demands[w].spread, w))
    for w in order:
        name = problem.demands[w].name
        hosted: Counter = Counter()
        mine = sorted((key, count) for key, count in sol.replicas.items() if key[0] == w)
        if problem.demands[w].spread:
            # The resource free on the fewest nodes first: placing a replica of a widely available
            # resource first could take the one node that alone carries another of its resources
            # (a GPU kept in today's MIG layout), leaving both replicas on that node.
            mine.sort(key=lambda item: len({u.node for u in free.get(item[0][1:], [])}))
        for (wi, g, res), count in mine:
            pool = free.get((g, res), [])
            if count > len(pool):
                raise AssertionError(f"no free {res} left in pool {g} for {name}")
            # Each replica takes the unit minimising (replicas of w on its node, position in the
            # pool): the first unit on a node not hosting w yet, else the least loaded node. A heap
            # of nodes keyed by (their count, their first free unit) gives that unit in O(log n),
            # so a workload of 100,000 replicas places in linear-logarithmic time, not quadratic.
            by_node: dict[int, deque] = {}
            for i, u in enumerate(pool):
                by_node.setdefault(u.node, deque()).append(i)
            heap = [(hosted[node], positions[0], node) for node, positions in by_node.items()]
            heapq.heapify(heap)
            taken: set[int] = set()
            for _ in range(count):
                _, i, node = heapq.heappop(heap)
                positions = by_node[node]
                positions.popleft()
                pool[i].workload = name
                hosted[node] += 1
                taken.add(i)
                if positions:
                    heapq.heappush(heap, (hosted[node], positions[0], node))
            free[g, res] = [u for i, u in enumerate(pool) if i not in taken]
    _repair_spread(problem, nodes, units)


def _repair_spread(problem: PlanningProblem, nodes: list[_Node], units: list[_Unit]) -> None:
    """Move a spread workload left on one node onto a second one, by swapping one of its units
    with a unit of the same resource and pool on another node (free, or another workload's that
    stays valid) — or, failing that, with another spread workload's unit and then moving that
    workload onto a second node the same way. Placing workloads one at a time can leave a late one
    only units on a single node although the counts allow two: generated M fleet, seed 2, a
    pattern plan using every whole H100 PCIe GPU of four nodes put both replicas of a spread
    workload on one; a random fleet whose two MIG GPUs' 3g.20gb slices went to one workload
    needed the second, two-step trade."""
    spread = {d.name for d in problem.demands if d.spread}
    hosts: dict[str, Counter] = {}
    for u in units:
        if u.workload is not None:
            hosts.setdefault(u.workload, Counter())[u.node] += 1
    for demand in problem.demands:
        if demand.name in spread and len(hosts.get(demand.name, ())) == 1:
            _spread_out(demand.name, spread, hosts, nodes, units, depth=2)


SECOND_TRADES = 64  # trades tried that un-spread another workload, per workload to spread


def _swap(mine: _Unit, theirs: _Unit, hosts: dict[str, Counter]) -> None:
    """Trade the workloads of two units of one resource (either may be free), keeping `hosts`."""
    for unit, before, after in ((mine, mine.workload, theirs.workload), (theirs, theirs.workload, mine.workload)):
        if before is not None:
            hosts[before][unit.node] -= 1
            hosts[before] += Counter()  # drop nodes left with no replica
        if after is not None:
            hosts.setdefault(after, Counter())[unit.node] += 1
    mine.workload, theirs.workload = theirs.workload, mine.workload


def _spread_out(name: str, spread: set[str], hosts: dict[str, Counter], nodes, units, depth: int) -> bool:
    """Put spread workload `name` (on one node) on a second node by one trade that leaves every
    other spread workload on two nodes, or (depth 2) one that un-spreads another which a second
    trade then spreads again. Whether it succeeded; a failed attempt changes nothing."""
    (only,) = hosts[name]
    tried: set[tuple] = set()
    second_trades = SECOND_TRADES  # a nested search scans every unit: bounded, for large fleets
    for mine in units:
        if mine.workload != name:
            continue
        pool = nodes[mine.node].group.pool
        for theirs in units:
            if theirs.node == only or theirs.resource != mine.resource or nodes[theirs.node].group.pool != pool:
                continue
            other = theirs.workload
            key = (mine.resource, theirs.node, other)  # units alike in these are the same trade
            if key in tried:
                continue
            tried.add(key)
            _swap(mine, theirs, hosts)
            if other is None or other not in spread or len(hosts[other]) >= 2:
                return True
            if depth > 1 and second_trades > 0:
                second_trades -= 1
                # A second trade is one that un-spreads nobody, so `name` keeps its two nodes.
                if _spread_out(other, spread, hosts, nodes, units, depth - 1):
                    return True
            _swap(mine, theirs, hosts)  # undo
    return False


def _gpu_plans(node: _Node, units_by_gpu: dict[int, list[_Unit]], tp_names: dict[tuple, str]) -> list[GpuPlan]:
    out = []
    tp_of = {i: t for t in node.tp_groups for i in t}
    for i in range(node.group.gpus_per_node):
        if i in tp_of:
            t = tp_of[i]
            workload = units_by_gpu[t[0]][0].workload if units_by_gpu.get(t[0]) else None
            if workload is None:
                # A TP group the sizing supplied but no replica took: its GPUs simply stay free
                # (MIG off, as a TP group's are), not a group of nothing.
                out.append(GpuPlan(index=i, mode="idle"))
            else:
                out.append(GpuPlan(index=i, mode="tp", group=tp_names.get(t), workload=workload))
            continue
        layout = node.layouts.get(i)
        if layout is None:
            out.append(GpuPlan(index=i, mode="idle"))
        elif layout.mode == "full":
            unit = units_by_gpu[i][0]
            out.append(GpuPlan(index=i, mode="full", workload=unit.workload))
        else:
            instances = [
                Instance(profile=u.resource.split("/", 1)[1], start=u.start, workload=u.workload)
                for u in sorted(units_by_gpu.get(i, []), key=lambda u: u.start)
            ]
            out.append(GpuPlan(index=i, mode="mig", instances=instances))
    return out


def _layout_text(today) -> str:
    if today == "off":
        return "off"
    if today is None:
        return "unknown"
    return ",".join(today) if today else "empty"


def _build_plan(problem: PlanningProblem, sol: CountSolution, nodes: list[_Node], units: list[_Unit], releasable: list[str]) -> Plan:
    loaded = problem.loaded
    carrying = {u.node for u in units if u.workload is not None}
    units_by_node: dict[int, dict[int, list[_Unit]]] = {}
    for u in units:
        units_by_node.setdefault(u.node, {}).setdefault(u.gpus[0], []).append(u)

    node_plans: list[NodePlan] = []
    changes: list[Change] = []
    tp_counter: Counter = Counter()
    for ni, node in enumerate(nodes):
        group = node.group
        if ni not in carrying:
            if group.origin == "inventory":
                releasable.append(node.name)
            continue
        tp_names = {}
        for t in sorted(node.tp_groups):
            owner = units_by_node.get(ni, {}).get(t[0], [None])[0]
            if owner is not None and owner.workload:
                tp_names[t] = f"{owner.workload}-{tp_counter[owner.workload]}"
                tp_counter[owner.workload] += 1
        gpus = _gpu_plans(node, units_by_node.get(ni, {}), tp_names)
        per_gpu = [
            [inst.profile for inst in gp.instances] if gp.mode == "mig" else None for gp in gpus
        ]
        node_plans.append(
            NodePlan(
                name=node.name,
                type=group.node_type,
                gpu=group.gpu,
                origin=group.origin,
                price_per_hour=group.price,
                mig_config=node_config_name(per_gpu),
                kept=node.kept,
                gpus=gpus,
            )
        )
        if group.today is not None and not node.kept:
            changed = [i for i, gp in enumerate(gpus) if gpu_layout_token(per_gpu[i]) != gpu_layout_token(
                None if group.today[i] == "off" else list(group.today[i]))]
            if changed:
                changes.append(
                    Change(
                        node=node.name,
                        gpus=changed,
                        **{"from": [_layout_text(group.today[i]) for i in changed]},
                        to=[_layout_text("off" if per_gpu[i] is None else tuple(per_gpu[i])) for i in changed],
                    )
                )

    workloads = _workload_plans(problem, nodes, units)
    cost = round(sum(n.price_per_hour for n in node_plans), 6)
    bound = None
    if sol.bound_scaled is not None:
        slack = problem.rounding.price_max_error * sum(g.available for g in problem.groups)
        bound = max(0.0, round(sol.bound_scaled / PRICE_SCALE - slack, 6))
        bound = min(bound, cost)
    gap = round((cost - bound) / cost, 6) if bound is not None and cost > 0 else (0.0 if bound is not None else None)
    status = sol.status
    if status == "optimal" and gap and gap > 1e-9:
        status = "feasible"
    return Plan(
        fleet=loaded.fleet.name,
        fleet_file=fleet_file_entry(loaded.file, None),
        fleet_sha256=loaded.sha256,
        status=status,
        cost_per_hour=cost,
        lower_bound_per_hour=bound,
        gap=gap,
        solver=SolverInfo(
            name=sol.solver,
            seconds=round(sol.seconds, 3),
            workers=sol.workers,
            seed=sol.seed,
            time_limit_s=sol.time_limit_s,
            interrupted=sol.interrupted,
            notes=list(sol.notes),
            found_by=sol.found_by or sol.solver,
        ),
        workloads=workloads,
        nodes=node_plans,
        releasable=list(dict.fromkeys(releasable)),  # first-seen order, duplicates dropped
        changes=changes,
        rounding=Rounding(
            price_max_error_per_node=round(problem.rounding.price_max_error, 6),
            capacity_max_relative_error=round(problem.rounding.capacity_max_relative_error, 8),
            note="prices are solved in $0.001/h steps; each replica's throughput is rounded down and each"
            " target up, so the plan meets the true targets; the bound holds for the rounded capacities",
        ),
    )


def _unit_share(problem: PlanningProblem, node: _Node, unit: _Unit) -> float:
    """Cost of a unit: its resource's share of the node's price."""
    return resource_price(problem, node.group, parse_resource(unit.resource))


def _tidy(x: float) -> float:
    """A throughput as the plan writes it: four decimals, or six significant digits below 0.1,
    where four decimals would lose more than the verifier's tolerance (a workload measured in
    thousandths of a request per second keeps its figures)."""
    return round(x, 4) if abs(x) >= 0.1 else float(f"{x:.6g}")


def _workload_plans(problem: PlanningProblem, nodes: list[_Node], units: list[_Unit]) -> list[WorkloadPlan]:
    fleet = problem.loaded.fleet
    out = []
    for w, demand in zip(fleet.workloads, problem.demands):
        counts: Counter = Counter()
        cost = 0.0
        for u in units:
            if u.workload == w.name:
                counts[u.resource] += 1
                cost += _unit_share(problem, nodes[u.node], u)
        groups = []
        capacity = 0.0
        for res_text in sorted(counts):
            est = problem.perf.estimate(w, parse_resource(res_text))
            each = est.throughput or 0.0
            capacity += each * counts[res_text]
            groups.append(ReplicaGroup(resource=res_text, count=counts[res_text], throughput_each=_tidy(each), source=est.source))
        out.append(
            WorkloadPlan(
                name=w.name,
                target=w.target.as_dict(),
                capacity=_tidy(capacity),
                headroom=round(capacity / demand.target - 1, 4),
                replicas=groups,
                cost_per_hour=round(cost, 4),
            )
        )
    return out
