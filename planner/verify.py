"""Independent re-check of a plan against its fleet — no solver code, no OR-Tools.

What the product promises, checked from first principles: every MIG layout legal on its GPU
(planner.mig's placement table), every replica fits its resource's memory (planner.perf),
tensor-parallel groups are NVLink cliques of one node (planner.topology), targets met with the
throughputs re-estimated here, replica limits and spread honoured, inventory and market limits
respected, and the cost recomputed from the fleet file's prices. `verify` returns the list of
violations; an empty list means the plan holds.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from planner import mig
from planner.perf import PerfModel
from planner.plan import Plan
from planner.resources import Resource, parse_resource
from planner.spec import LoadedFleet
from planner.topology import nvlink_graph

COST_TOLERANCE = 0.01  # dollars per hour
RELATIVE_TOLERANCE = 1e-9


def node_price(loaded: LoadedFleet, node_type: str, origin: str, name: str, inventory: dict | None = None) -> float:
    fleet = loaded.fleet
    nt = fleet.node_types[node_type]
    override = None
    if origin == "inventory":
        inventory = inventory if inventory is not None else {n.name: n for n in loaded.inventory}
        node = inventory.get(name)
        override = node.price_per_hour if node is not None else None
    else:
        offer = fleet.market.get(node_type)
        override = offer.price_per_hour if offer else None
    if override is not None:
        return override
    if nt.price_per_hour is not None:
        return nt.price_per_hour
    return nt.count * loaded.catalog.gpu(nt.gpu).price_per_hour


def verify_read_plan(plan: Plan, loaded: LoadedFleet) -> list[str]:
    """`verify` for a plan read from a file, which may have been edited into something the checks
    themselves trip over (a key missing from the fleet): that is one more finding, not a crash."""
    try:
        return verify(plan, loaded)
    except (KeyError, ValueError, IndexError) as exc:
        return [f"the plan does not match the fleet ({type(exc).__name__}: {exc})"]


def verify(plan: Plan, loaded: LoadedFleet, perf: PerfModel | None = None) -> list[str]:
    perf = perf or PerfModel(loaded.fleet, loaded.catalog)
    fleet = loaded.fleet
    issues: list[str] = []
    workloads = {w.name: w for w in fleet.workloads}
    inventory = {n.name: n for n in loaded.inventory}
    if plan.fleet != fleet.name:
        issues.append(f"plan is for fleet '{plan.fleet}', not '{fleet.name}'")

    replicas: dict[str, Counter] = defaultdict(Counter)  # workload -> resource -> count
    hosts: dict[str, set[str]] = defaultdict(set)
    market_use: Counter = Counter()
    cost = 0.0
    seen_nodes: set[str] = set()

    def fits(workload: str | None, resource: Resource, where: str) -> None:
        if workload is None:
            return
        if workload not in workloads:
            issues.append(f"{where}: unknown workload '{workload}'")
            return
        est = perf.estimate(workloads[workload], resource)
        if not est.fits:
            issues.append(f"{where}: {workload} does not fit {resource}: {est.reason}")
            return
        replicas[workload][str(resource)] += 1

    for node in plan.nodes:
        where = f"node {node.name}"
        if node.name in seen_nodes:
            issues.append(f"{where}: listed twice")
        seen_nodes.add(node.name)
        nt = fleet.node_types.get(node.type)
        if nt is None:
            issues.append(f"{where}: unknown node type '{node.type}'")
            continue
        if node.gpu != nt.gpu:
            issues.append(f"{where}: a {node.type} has {nt.gpu} GPUs, not {node.gpu}")
        if node.origin == "inventory":
            if node.name not in inventory:
                issues.append(f"{where}: not in the fleet's inventory")
            elif inventory[node.name].type != node.type:
                issues.append(f"{where}: is a {inventory[node.name].type} in the fleet, not {node.type}")
        else:
            market_use[node.type] += 1
        gpu = loaded.catalog.gpu(nt.gpu)
        price = node_price(loaded, node.type, node.origin, node.name, inventory)
        if abs(price - node.price_per_hour) > COST_TOLERANCE:
            issues.append(f"{where}: price {node.price_per_hour} differs from the fleet's {price}")
        cost += price
        indices = [g.index for g in node.gpus]
        if sorted(indices) != list(range(nt.count)):
            issues.append(f"{where}: GPU indices {indices} are not 0..{nt.count - 1}, each once")
        graph = nvlink_graph(nt.count, nt.nvlink)
        tp_members: dict[str, list] = defaultdict(list)
        carries = False
        for g in node.gpus:
            gw = f"{where} GPU {g.index}"
            if g.mode == "mig":
                placements = [mig.Placement(i.start, i.profile) for i in g.instances or []]
                for problem in mig.layout_problems(gpu, placements):
                    issues.append(f"{gw}: {problem}")
                for inst in g.instances or []:
                    if gpu.mig is not None and inst.profile in gpu.mig.names:
                        fits(inst.workload, Resource.mig(gpu.name, inst.profile), f"{gw} {inst.profile}@{inst.start}")
                    carries |= inst.workload is not None
                    if inst.workload:
                        hosts[inst.workload].add(node.name)
            elif g.mode == "full":
                fits(g.workload, Resource.full(gpu.name), gw)
                carries |= g.workload is not None
                if g.workload:
                    hosts[g.workload].add(node.name)
            elif g.mode == "tp":
                tp_members[g.group or ""].append(g)
        for group_id, members in tp_members.items():
            idx = sorted(m.index for m in members)
            names = {m.workload for m in members}
            gw = f"{where} TP group '{group_id}' (GPUs {idx})"
            if len(names) != 1:
                issues.append(f"{gw}: GPUs disagree on the workload {sorted(map(str, names))}")
                continue
            missing = [(a, b) for i, a in enumerate(idx) for b in idx[i + 1 :] if not graph.has_edge(a, b)]
            if missing:
                issues.append(f"{gw}: not all joined by NVLink (missing {missing})")
            workload = names.pop()
            fits(workload, Resource.tp(gpu.name, len(idx)), gw)
            if workload:
                carries = True
                hosts[workload].add(node.name)
        if not carries:
            issues.append(f"{where}: carries no replica but is paid for (list it as releasable instead)")

    for node_type, used in market_use.items():
        offer = fleet.market.get(node_type)
        limit = offer.max if offer else 0
        if used > limit:
            issues.append(f"{used} new {node_type} nodes exceed the market's max of {limit}")

    plan_workloads = {w.name: w for w in plan.workloads}
    for w in fleet.workloads:
        counted = replicas[w.name]
        capacity = sum(perf.estimate(w, parse_resource(r)).throughput * n for r, n in counted.items())
        total = sum(counted.values())
        target = w.target.value
        if capacity < target * (1 - RELATIVE_TOLERANCE):
            issues.append(f"workload {w.name}: capacity {capacity:.6g} is below its target {target:g} {w.target.unit}")
        if total < w.replicas.min:
            issues.append(f"workload {w.name}: {total} replicas, fewer than replicas.min {w.replicas.min}")
        if w.replicas.max is not None and total > w.replicas.max:
            issues.append(f"workload {w.name}: {total} replicas, more than replicas.max {w.replicas.max}")
        if w.replicas.spread and w.replicas.min >= 2 and len(hosts[w.name]) < 2 and _capable_nodes(loaded, perf, w) >= 2:
            issues.append(f"workload {w.name}: all replicas on one node ({', '.join(hosts[w.name])}); spread needs two")
        pw = plan_workloads.get(w.name)
        if pw is None:
            issues.append(f"workload {w.name}: missing from the plan's workloads")
            continue
        claimed = Counter({g.resource: g.count for g in pw.replicas})
        if claimed != counted:
            issues.append(f"workload {w.name}: replicas listed {dict(claimed)} differ from those placed {dict(counted)}")
        if abs(pw.capacity - capacity) > max(1e-3 * capacity, 1e-6):
            issues.append(f"workload {w.name}: capacity {pw.capacity} differs from the recomputed {capacity:.6g}")

    if abs(cost - plan.cost_per_hour) > COST_TOLERANCE:
        issues.append(f"cost {plan.cost_per_hour:.2f}/h differs from the recomputed {cost:.2f}/h")
    if plan.lower_bound_per_hour is not None and plan.lower_bound_per_hour > plan.cost_per_hour + COST_TOLERANCE:
        issues.append(f"lower bound {plan.lower_bound_per_hour} exceeds the cost {plan.cost_per_hour}")
    if plan.status == "optimal" and (plan.gap or 0) > fleet.solver.relative_gap + 1e-6:
        issues.append(f"status 'optimal' with a gap of {plan.gap}")
    for name in plan.releasable:
        if name not in inventory or name in seen_nodes:
            issues.append(f"releasable node {name} is not an unused inventory node")
    return issues


def _capable_nodes(loaded: LoadedFleet, perf: PerfModel, workload) -> int:
    """Nodes the fleet has or may buy on which at least one replica of the workload fits."""
    from planner.offers import node_type_resources

    fleet = loaded.fleet
    total = 0
    for name, node_type in fleet.node_types.items():
        if not any(perf.estimate(workload, r).fits for r in node_type_resources(node_type, loaded.catalog)):
            continue
        total += sum(1 for n in loaded.inventory if n.type == name)
        offer = fleet.market.get(name)
        total += offer.max if offer else 0
    return total
