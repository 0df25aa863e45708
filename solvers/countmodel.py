"""The aggregated count model of DESIGN §4, written once for every linear back end.

Variables (all integers, per node group g, or per pool p = the groups of one node type):
  fresh[g,k]   nodes configured anew, holding tensor-parallel packing k
  kept[g,k]    inventory nodes left exactly as today, packing k over today's MIG-off GPUs
  gpus[g,L]    GPUs of fresh nodes running layout L (a MIG profile multiset, or MIG off)
  rep[w,p,r]   replicas of workload w on resource r of pool p (keyed by the pool's first group)
Supply of every resource in a pool (slices of each profile, whole GPUs, TP groups of each size,
summed over its groups) bounds the replicas placed on it; capacities times replicas meet each
target. Spread: a workload that needs two nodes gets `host[w,g]` (nodes of group g hosting it, at
most 2) summing to >= 2. By default each is bounded by the group's GPUs and TP groups that could
hold w (`_carrier_hosts`: light, but spread workloads competing for a few nodes can get a plan
placement cannot spread); with `problem.strict_spread` (planning's retry) each hosting node has a
whole GPU, TP group or MIG GPU of its own holding one of w's replicas in g (`_unit_hosts`).
The three objectives (cost, changes against today, distinct layouts) are linear expressions.

The model is purely linear, so CP-SAT (`solvers/cpsat.py`), GLOP (`solvers/lp.py`), HiGHS
(`solvers/highs.py`) and the exact integer checker (`check`) build it through the same code; a
back end supplies only `int_var` and `add`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol

from planner.problem import PlanningProblem
from planner.solution import CountSolution


class Backend(Protocol):
    def int_var(self, lb: int, ub: int, name: str) -> Any: ...

    def add(self, constraint: Any) -> Any: ...  # a handle on the row, where the back end has one


@dataclass
class CountModel:
    fresh: dict = field(default_factory=dict)
    kept: dict = field(default_factory=dict)
    gpus: dict = field(default_factory=dict)
    rep: dict = field(default_factory=dict)
    active: dict = field(default_factory=dict)
    cost: object = None
    changes: object = None
    distinct: object = None
    # Rows whose duals price the resources (a back end's `add` may return a handle; else None):
    supply_rows: dict = field(default_factory=dict)  # (pool, resource) -> replicas <= supply
    slot_rows: dict = field(default_factory=dict)  # pool -> memory slots used <= slots paid

    upper: dict = field(default_factory=dict)  # (table, key) -> upper bound of a count variable

    def paired(self, sol: CountSolution) -> tuple[tuple[dict, dict], ...]:
        """Each variable table with the solution field holding its values (same keys)."""
        return ((self.fresh, sol.fresh), (self.kept, sol.kept), (self.gpus, sol.layouts), (self.rep, sol.replicas))

    def tables(self) -> dict[str, dict]:
        """The count variables by table, named as `CountSolution`'s fields are."""
        return {"fresh": self.fresh, "kept": self.kept, "layouts": self.gpus, "replicas": self.rep}

    def count_var(self, model: "Backend", table: str, key: tuple, ub: int, name: str):
        """A count variable (0..ub) of one table, its bound kept for no-good rows (`_exclude`)."""
        self.upper[table, key] = ub
        return model.int_var(0, ub, name)


def build(problem: PlanningProblem, model: Backend, secondary: bool = True, cuts: dict[int, list[int]] | None = None) -> CountModel:
    """The count model over `model`. `secondary=False` leaves out what only the secondary
    objectives need (the distinct-layout indicators): models that minimise cost alone are smaller.
    `cuts`: the rounding cuts to add, as divisors per workload (`rounding_divisors`); by default
    all of them while the fleet has at most `ALL_CUTS_MAX`, none beyond (see `default_cuts`)."""
    if cuts is None:
        cuts = default_cuts(problem)
    v = CountModel()
    supply: dict[tuple[int, str], list] = {}  # (group, resource) -> linear terms

    def add_supply(g: int, res: str, term) -> None:
        supply.setdefault((g, res), []).append(term)

    for group in problem.groups:
        g = group.id
        n_gpu = group.gpus_per_node
        avail = group.available
        for k, packing in enumerate(group.packings):
            v.fresh[g, k] = v.count_var(model, "fresh", (g, k), avail, f"fresh_g{g}_k{k}")
        if group.kept is not None:
            for k, packing in enumerate(group.kept.packings):
                v.kept[g, k] = v.count_var(model, "kept", (g, k), avail, f"kept_g{g}_k{k}")
        fresh_nodes = [v.fresh[g, k] for k in range(len(group.packings))]
        kept_nodes = [v.kept[g, k] for k in range(len(group.kept.packings))] if group.kept else []
        active = model.int_var(0, avail, f"active_g{g}")
        model.add(active == sum(fresh_nodes) + sum(kept_nodes))
        v.active[g] = active

        # GPUs of fresh nodes not taken by TP groups choose a layout (or stay idle).
        free_gpus = sum(v.fresh[g, k] * (n_gpu - p.gpus) for k, p in enumerate(group.packings))
        layout_vars = []
        for layout in problem.layouts[group.gpu]:
            x = v.count_var(model, "layouts", (g, layout.key), avail * n_gpu, f"gpus_g{g}_{layout.key}")
            v.gpus[g, layout.key] = x
            layout_vars.append(x)
            if layout.mode == "full":
                add_supply(group.pool, group.gpu, x)
            for profile, count in layout.counts:
                add_supply(group.pool, f"{group.gpu}/{profile}", count * x)
        model.add(sum(layout_vars) <= free_gpus)

        for k, packing in enumerate(group.packings):
            for size in sorted({len(t) for t in packing.groups}):
                add_supply(group.pool, f"{group.gpu}/tp{size}", packing.count(size) * v.fresh[g, k])
        if group.kept is not None:
            kept_total = sum(kept_nodes)
            for profile, count in group.kept.fixed:
                add_supply(group.pool, f"{group.gpu}/{profile}", count * kept_total)
            for k, packing in enumerate(group.kept.packings):
                off_free = len(group.kept.off) - packing.gpus
                if off_free:
                    add_supply(group.pool, group.gpu, off_free * v.kept[g, k])
                for size in sorted({len(t) for t in packing.groups}):
                    add_supply(group.pool, f"{group.gpu}/tp{size}", packing.count(size) * v.kept[g, k])

    # Replicas: per pool (the groups of one node type), of each candidate resource, bounded by
    # the pool's supply. Per pool rather than per group: groups of a node type differ only in
    # price, origin or today's layout, which decide cost and supply but not where a replica may
    # run, so per-group replica counts would multiply the variables and the symmetric plans.
    pools: dict[int, list] = {}
    for group in problem.groups:
        pools.setdefault(group.pool, []).append(group)
    users: dict[tuple[int, str], list] = {}
    shared = _SpreadShares()  # strict spread: what the spread workloads of a group share
    for demand_index, demand in enumerate(problem.demands):
        covers = []  # (capacity, replica variable) on every pool
        hosts = []
        for pool, members in pools.items():
            gpu = members[0].gpu
            cands = problem.candidates.get((demand_index, gpu), [])
            pool_reps = []
            pool_cand_reps = []  # per candidate, its replica variable here (None: no supply)
            for cand in cands:
                res = str(cand.resource)
                if (pool, res) not in supply:
                    pool_cand_reps.append(None)
                    continue
                ub = sum(_supply_ub(group, cand.resource, problem) for group in members)
                r = v.count_var(model, "replicas", (demand_index, pool, res), ub, f"rep_w{demand_index}_g{pool}_{res}")
                v.rep[demand_index, pool, res] = r
                users.setdefault((pool, res), []).append(r)
                covers.append((cand.capacity, r))
                pool_reps.append(r)
                pool_cand_reps.append(r)
            if demand.spread and pool_reps:
                place = _unit_hosts if problem.strict_spread else _carrier_hosts
                hosts += place(problem, model, v, demand_index, members, cands, pool_cand_reps, shared)
        model.add(sum(c * r for c, r in covers) >= demand.target_scaled)
        count_terms = [r for _, r in covers]
        # Valid cut: at least ceil(target / best capacity) replicas, whatever their resources.
        best = max(workload_capacities(problem, demand_index), default=0)
        fewest = -(-demand.target_scaled // best) if best else 0
        if max(fewest, demand.min_replicas):
            model.add(sum(count_terms) >= max(fewest, demand.min_replicas))
        for d in cuts.get(demand_index, ()):
            model.add(rounding_row(covers, d, demand.target_scaled))
        if demand.max_replicas is not None:
            model.add(sum(count_terms) <= demand.max_replicas)
        if demand.spread:
            model.add(sum(hosts) >= 2)
    # Strict spread: the spread workloads' replicas in one group share the whole GPUs and TP groups,
    # and the slices, that any of them can use (in a pool of one group, its supply rows say so).
    for g, (wholes, slices, uses) in shared.units.items():
        if len(wholes) > 1:
            group = problem.groups[g]
            model.add(sum(wholes) <= _whole_units(group, problem, v, uses))
            model.add(sum(slices) <= _slices(group, problem, v, uses))
    # ... and each node's units: the workloads hosted on the nodes of one packing hold a unit each.
    for (g, kept, k), hosted in shared.node_hosts.items():
        _node_unit_rows(model, v, problem.groups[g], kept, k, shared.kinds[g, kept, k], hosted)
    # ... and each layout's slices: the spread replicas placed on a layout's GPUs fit its slices.
    for per_gpu, gpus, placed in shared.layout_slices.values():
        model.add(sum(placed) <= per_gpu * gpus)
    for key, reps in users.items():
        v.supply_rows[key] = model.add(sum(reps) <= sum(supply[key]))
    # Valid cut, redundant for the integer model: the memory slots the replicas of a pool take
    # never exceed its GPUs' slots. Explicit as one row, it gives the LP-based cut generators an
    # aggregate knapsack to strengthen, which the per-layout rows hide.
    slot_use: dict[int, list] = {}
    for (wi, pool, res), r in v.rep.items():
        slot_use.setdefault(pool, []).append(resource_slots(problem, res) * r)
    for pool, members in pools.items():
        if pool in slot_use:
            per_node = _slots_per_gpu(problem, members[0].gpu) * members[0].gpus_per_node
            v.slot_rows[pool] = model.add(sum(slot_use[pool]) <= per_node * sum(v.active[group.id] for group in members))

    for number, values in enumerate(problem.excluded):
        _exclude(model, v, values, number)

    v.cost = sum(group.price_scaled * v.active[group.id] for group in problem.groups)
    v.changes = changes(problem, v)
    if not secondary:
        return v
    # Distinct layouts per GPU type (MIG-off counts as one layout; TP groups are not layouts).
    used: dict[tuple[str, str], Any] = {}
    for group in problem.groups:
        for layout in problem.layouts[group.gpu]:
            key = (group.gpu, layout.key)
            if key not in used:
                used[key] = model.int_var(0, 1, f"uses_{group.gpu}_{layout.key}")
            # A layout running on any GPU counts as used (linear: x <= its upper bound × used).
            model.add(v.gpus[group.id, layout.key] <= group.available * group.gpus_per_node * used[key])
        if group.kept is not None:
            for layout in group.kept.fixed_layouts:
                total = sum(v.kept[group.id, k] for k in range(len(group.kept.packings)))
                model.add(total <= group.available * used[group.gpu, layout.key])
    v.distinct = sum(used.values())
    return v


def changes(problem: PlanningProblem, v: CountModel):
    """The `changes` objective: nodes the plan touches against today's fleet. An inventory node
    configured anew (its layout known today) is one; so is an inventory node released and a market
    node bought. Why all three: counting only re-cut nodes made "release an owned node, buy the
    same node type at the same price" a free way to avoid a change, so a plan could leave a
    fleet's own node empty and buy another rather than re-cut it (a node bought must be racked and
    configured, and a node released has its workloads moved: neither is less disruptive)."""
    terms = []
    for group in problem.groups:
        g = group.id
        if group.origin == "market":
            terms.append(v.active[g])  # bought
        elif group.kept is not None:  # every node not kept exactly as today: re-cut or released
            terms.append(group.available - sum(v.kept[g, k] for k in range(len(group.kept.packings))))
        else:  # today's layout unknown: only a release is known to change the node
            terms.append(group.available - v.active[g])
    return sum(terms)


# Rounding cuts in the model: every one while the fleet has at most this many. Measured on
# generated fleets (HiGHS's bound after half the benchmark's time, on the full model alone): on
# M (689 cuts, seed 0) all of them lift it most ($591.83 without, $593.44 with all, $592.73 with
# the ones the LP violates, in 9 s); on L (3,265) the violated ones (`lp.separate_cuts`, about
# 200) beat all of them on seeds 1-3 and trail by $1.25 at most on seeds 0 and 4 (27 s; seed 3:
# $8,943.58 without, $8,935.35 with all, $8,947.53 with the violated ones); on XL (8,498) all of
# them slow HiGHS's LP so much that the bound drops ($35,448.69 -> $35,433.21 in 130 s; the
# violated ones: $35,452.83).
ALL_CUTS_MAX = 1500


def rounding_divisors(capacities: list[int], target: int) -> list[int]:
    """The Chvátal–Gomory roundings of a throughput row `sum(capacity * replicas) >= target` the
    model adds, one per divisor d: `sum(ceil(capacity / d) * replicas) >= ceil(target / d)` holds
    for every integer plan (divide the row by d, round each coefficient up, then the integer left
    side up). The divisors are the distinct capacities but the largest: with it every coefficient
    is 1 (the replica-count cut, built with the replica limits), and two capacities never give the
    same coefficients (under the smaller, the larger's is 2 or more). A target of 0 needs none.

    Why: the count model's integrality gap is here. Replicas are whole, and a workload whose target
    is a few replicas of its cheap resources pays for the last one in full where the LP pays a
    fraction (generated M, seed 0: the LP bound is $577.43/h, $578.00 with integer nodes and
    layouts, and $592.45 or more with integer replicas alone). The cuts price "one tp8 or two tp4
    or four tp2" in the LP (M's LP bound with them: $583.26)."""
    if target <= 0:
        return []
    return sorted({c for c in capacities if c > 0})[:-1]


def rounding_row(covers: list[tuple[int, Any]], d: int, target: int):
    """The rounding cut of divisor d over a workload's (capacity, replica variable) pairs."""
    return sum(-(-c // d) * r for c, r in covers) >= -(-target // d)


def replica_capacities(problem: PlanningProblem) -> dict[tuple[int, str], int]:
    """Capacity of one replica of each workload (by index) on each of its resources (by name)."""
    return {(w, str(c.resource)): c.capacity for (w, _), cands in problem.candidates.items() for c in cands}


def workload_capacities(problem: PlanningProblem, demand_index: int) -> list[int]:
    """Capacities of every resource the workload may run on (one per candidate and GPU type)."""
    return [c.capacity for (w, _), cands in problem.candidates.items() if w == demand_index for c in cands]


def all_cuts(problem: PlanningProblem) -> dict[int, list[int]]:
    """Every workload's rounding cuts, as divisors (`rounding_divisors`)."""
    return {w: rounding_divisors(workload_capacities(problem, w), d.target_scaled) for w, d in enumerate(problem.demands)}


def too_many_cuts(cuts: dict[int, list[int]]) -> bool:
    return sum(map(len, cuts.values())) > ALL_CUTS_MAX


def default_cuts(problem: PlanningProblem) -> dict[int, list[int]]:
    """Every workload's rounding cuts if the fleet has at most `ALL_CUTS_MAX` of them, else none
    (a back end with an LP at hand adds the ones the LP violates instead: `lp.separate_cuts`)."""
    every = all_cuts(problem)
    return {} if too_many_cuts(every) else every


def _carrier_hosts(problem: PlanningProblem, model: Backend, v: CountModel, w: int, members: list, cands: list, cand_reps: list, shared: dict) -> list:
    """Nodes of each group of a pool hosting spread workload w (at most 2 matter), each with a GPU
    or TP group in that group that could hold w. A relaxation, and a light one: every row holds
    for every placeable plan, but the carriers of a group are not shared out among its spread
    workloads, so a plan it admits may not spread (`_unit_hosts`, on the retry, shares them out)."""
    usable = {str(c.resource) for c in cands}
    hosts = []
    for group in members:
        h = model.int_var(0, min(2, group.available), f"host_w{w}_g{group.id}")
        model.add(h <= v.active[group.id])
        model.add(h <= _carriers(group, problem, v, usable))
        capable = _capable_nodes(group, problem, v, usable)
        if capable is not None:
            model.add(h <= capable)
        hosts.append(h)
    model.add(sum(hosts) <= sum(r for r in cand_reps if r is not None))
    return hosts


def _unit_hosts(problem: PlanningProblem, model: Backend, v: CountModel, w: int, members: list, cands: list, cand_reps: list, shared: dict) -> list:
    """Nodes of each group of a pool hosting spread workload w (at most 2 matter), each with a unit
    of its own holding one of w's replicas: a whole GPU or TP group w runs on (one per replica), or
    a MIG GPU with a slice of w. Replicas are counted per pool, so w's whole and sliced replicas are
    split over the pool's groups here, each group's within what it supplies to w and (`shared`, a
    row per group once every workload is built) to all its spread workloads together. Without
    that, one group's units could vouch for another's nodes, two spread workloads could both count
    one whole GPU, or a GPU whose slices are all another workload's could carry w. The hosting
    nodes are also counted per TP packing (`_packing_hosts`), where the spread workloads hosted
    hold a unit each: else two whole GPUs of one node could vouch for two hosts."""
    gpu = members[0].gpu
    usable = {str(c.resource) for c in cands}
    by_kind = {kind: [r for c, r in zip(cands, cand_reps) if r is not None and (c.resource.kind == "mig") == kind] for kind in (False, True)}
    slice_reps = {str(c.resource): r for c, r in zip(cands, cand_reps) if r is not None and c.resource.kind == "mig"}
    splits: dict[bool, list] = {False: [], True: []}  # per group, in pools of several
    carried_by: dict[str, list] = {}  # profile -> per group, nodes hosting w through it
    placed_by: dict[str, list] = {}  # profile -> per group and layout, w's slices placed there
    hosts = []
    for group in members:
        g = group.id
        h = model.int_var(0, min(2, group.available), f"host_w{w}_g{g}")
        if len(members) == 1:  # the pool's replicas are the group's (supply bounds them)
            whole, sliced = sum(by_kind[False]), sum(by_kind[True])
        else:
            top = group.available * group.gpus_per_node
            whole = model.int_var(0, top, f"spread_whole_w{w}_g{g}")
            sliced = model.int_var(0, top * _slots_per_gpu(problem, gpu), f"spread_sliced_w{w}_g{g}")
            model.add(whole <= _whole_units(group, problem, v, usable))
            model.add(sliced <= _slices(group, problem, v, usable))
            splits[False].append(whole)
            splits[True].append(sliced)
            wholes, slices, uses = shared.units.setdefault(g, ([], [], set()))
            wholes.append(whole)
            slices.append(sliced)
            uses |= usable
        # Through MIG, once per GPU whichever of w's profiles it offers, and per profile at most
        # as many nodes as w has slices of it and the group has MIG GPUs offering it.
        model.add(h <= whole + _mig_carriers(group, problem, v, set(slice_reps)))
        model.add(h <= whole + _mig_nodes(group, problem, v, set(slice_reps)))  # not all-TP nodes
        if len(slice_reps) <= 1:
            model.add(h <= whole + sliced)
        else:
            carried = []
            for res, r in slice_reps.items():
                y = model.int_var(0, min(2, group.available), f"host_w{w}_g{g}_{res}")
                model.add(y <= _mig_carriers(group, problem, v, {res}))
                if len(members) == 1:
                    model.add(y <= r)
                carried_by.setdefault(res, []).append(y)
                carried.append(y)
            if len(members) > 1:
                model.add(sum(carried) <= sliced)
            model.add(h <= whole + sum(carried))
        if slice_reps:
            model.add(h <= whole + _layout_hosts(problem, model, v, w, group, set(slice_reps), sliced, shared, placed_by))
        model.add(h <= v.active[g])
        # Per packing, at most its nodes (so only nodes with a unit w could use), sharing units.
        model.add(h <= sum(_packing_hosts(problem, model, v, w, group, usable, shared)))
        hosts.append(h)
    for kind in (False, True):
        if splits[kind]:
            model.add(sum(splits[kind]) == sum(by_kind[kind]))
    if len(members) > 1:
        for res, ys in carried_by.items():
            model.add(sum(ys) <= slice_reps[res])
    for res, placed in placed_by.items():
        model.add(sum(placed) == slice_reps[res])
    return hosts


@dataclass
class _SpreadShares:
    """What the strict spread rows of one group's spread workloads share, filled in workload by
    workload and turned into rows once every workload is built."""

    units: dict = field(default_factory=dict)  # group -> (whole splits, sliced splits, resources used)
    node_hosts: dict = field(default_factory=dict)  # (group, kept?, packing) -> [(unit kinds, hosts)]
    kinds: dict = field(default_factory=dict)  # (group, kept?, packing) -> its unit kinds per node
    # (group, fresh or kept, layout, profile) -> (its slices per GPU, GPUs in that layout, [spread
    # workloads' slices placed there])
    layout_slices: dict = field(default_factory=dict)


def _unit_kinds(problem: PlanningProblem, group, kept: bool, packing) -> dict[tuple, int]:
    """The kinds of unit a node of this group and packing has, with how many spread workloads
    each kind can hold per node: a TP group one, a GPU with MIG off one, a GPU free for a MIG
    layout as many as a layout has instances (for fresh nodes, a free GPU may be either)."""
    gpu = group.gpu
    kinds = {("tp", size): packing.count(size) for size in sorted({len(t) for t in packing.groups})}
    if kept:
        if len(group.kept.off) > packing.gpus:
            kinds["off",] = len(group.kept.off) - packing.gpus
        fixed = sum(n for layout in group.kept.fixed_layouts for _, n in layout.counts)
        if fixed:
            kinds["fixed",] = fixed
    elif group.gpus_per_node > packing.gpus:
        per_gpu = max((sum(n for _, n in layout.counts) for layout in problem.layouts[gpu] if layout.mode != "full"), default=1)
        kinds["free",] = (group.gpus_per_node - packing.gpus) * per_gpu
    return kinds


def _kinds_for(problem: PlanningProblem, group, kept: bool, kinds: dict[tuple, int], usable: set[str]) -> frozenset:
    """The unit kinds (of `_unit_kinds`) that could hold a replica using one of `usable` resources."""
    gpu = group.gpu
    out = {kind for kind in kinds if kind[0] == "tp" and f"{gpu}/tp{kind[1]}" in usable}
    if ("off",) in kinds and gpu in usable:
        out.add(("off",))
    if ("fixed",) in kinds and any(_holds(gpu, layout, usable) for layout in group.kept.fixed_layouts):
        out.add(("fixed",))
    if ("free",) in kinds and any(_holds(gpu, layout, usable) for layout in problem.layouts[gpu]):
        out.add(("free",))
    return frozenset(out)


def _packing_hosts(problem: PlanningProblem, model: Backend, v: CountModel, w: int, group, usable: set[str], shared: _SpreadShares) -> list:
    """Per packing of the group's nodes (fresh, and kept as today) that has a unit w could use,
    the nodes of that packing hosting w (at most 2 matter, at most its nodes); registered in
    `shared` for the per-node unit rows (`_node_unit_rows`)."""
    g = group.id
    options = [(False, k, packing, v.fresh[g, k]) for k, packing in enumerate(group.packings)]
    if group.kept is not None:
        options += [(True, k, packing, v.kept[g, k]) for k, packing in enumerate(group.kept.packings)]
    hosts = []
    for kept, k, packing, nodes in options:
        # A packing's unit kinds are the same for every spread workload: worked out once.
        if (g, kept, k) not in shared.kinds:
            shared.kinds[g, kept, k] = _unit_kinds(problem, group, kept, packing)
        kinds = shared.kinds[g, kept, k]
        mine = _kinds_for(problem, group, kept, kinds, usable)
        if not mine:
            continue
        y = model.int_var(0, min(2, group.available), f"host_w{w}_g{g}_{'kept' if kept else 'fresh'}{k}")
        model.add(y <= nodes)
        shared.node_hosts.setdefault((g, kept, k), []).append((mine, y))
        hosts.append(y)
    return hosts


def _layout_hosts(problem: PlanningProblem, model: Backend, v: CountModel, w: int, group, profiles: set[str], sliced, shared: _SpreadShares, placed_by: dict):
    """MIG GPUs of the group hosting spread workload w, each with a slice of w's own: w's slices
    in the group (`sliced`) are placed per layout and profile (fresh layouts, and today's on kept
    nodes), the spread workloads' slices on a layout fit its slices (a row per layout and profile
    once every workload is built, from `shared`), and a layout's GPUs host w at most as often as
    w has slices there. Without it, a GPU whose slices are all another spread workload's could
    carry w when a slice of that profile was free elsewhere, and w's two profiles on one GPU could
    count as two hosts (found by hypothesis: two one-GPU nodes, one workload on three of the four
    3g.20gb slices, the other left one node)."""
    g, gpu = group.id, group.gpu
    options = [(("fresh", layout.key), layout.counts, v.gpus[g, layout.key]) for layout in problem.layouts[gpu] if layout.mode != "full"]
    if group.kept is not None:
        kept_nodes = sum(v.kept[g, k] for k in range(len(group.kept.packings)))
        per_node: dict[str, int] = {}
        for layout in group.kept.fixed_layouts:
            per_node[layout.key] = per_node.get(layout.key, 0) + 1
        fixed = {layout.key: layout for layout in group.kept.fixed_layouts}
        options += [(("kept", key), fixed[key].counts, n * kept_nodes) for key, n in per_node.items()]
    top = group.available * group.gpus_per_node
    hosts, placed = [], []
    for (origin, key), counts, gpus in options:
        here = []
        for profile, n in counts:
            res = f"{gpu}/{profile}"
            if res not in profiles:
                continue
            s = model.int_var(0, n * top, f"placed_w{w}_g{g}_{origin}_{key}_{profile}")
            shared.layout_slices.setdefault((g, origin, key, profile), (n, gpus, []))[2].append(s)
            placed_by.setdefault(res, []).append(s)
            here.append(s)
        if here:
            z = model.int_var(0, min(2, top), f"host_w{w}_g{g}_{origin}_{key}")
            model.add(z <= gpus)
            model.add(z <= sum(here))
            hosts.append(z)
            placed += here
    model.add(sum(placed) == sliced)
    return sum(hosts)


def _node_unit_rows(model: Backend, v: CountModel, group, kept: bool, k: int, kinds: dict[tuple, int], hosted: list) -> None:
    """Spread workloads hosted on the nodes of one packing each hold a unit of their own there: for
    every set U of unit kinds, the workloads that can only use kinds in U are hosted at most
    (units of U per node) × nodes times. Without it, a node's two whole GPUs could vouch for two
    hosting nodes (a fleet where one spread workload's TP groups took the other nodes)."""
    nodes = v.kept[group.id, k] if kept else v.fresh[group.id, k]
    names = sorted(kinds)
    for size in range(1, len(names) + 1):
        for subset in itertools.combinations(names, size):
            inside = [y for mine, y in hosted if mine <= set(subset)]
            units = sum(kinds[kind] for kind in subset)
            if len(inside) > max(units, 1):  # else each host's own `y <= nodes` already says it
                model.add(sum(inside) <= units * nodes)


def excluded_key(sol: CountSolution) -> tuple[tuple[str, tuple, int], ...]:
    """A count solution as `PlanningProblem.excluded` holds it: its nonzero values, sorted."""
    tables = {"fresh": sol.fresh, "kept": sol.kept, "layouts": sol.layouts, "replicas": sol.replicas}
    return tuple(sorted((table, key, value) for table, chosen in tables.items() for key, value in chosen.items() if value))


def _exclude(model: Backend, v: CountModel, values: tuple, number: int) -> None:
    """No-good row: the count variables (nodes, layouts, replicas) differ from an excluded count
    solution in one place at least. Per variable, a binary for "above its excluded value" and
    one for "below" (the variable's own range as big-M); one of them holds."""
    excluded = {(table, key): value for table, key, value in values}
    tables = v.tables()
    if any(key not in tables[table] for table, key in excluded):
        return  # a variable it used is not in this model (a restricted one): it cannot recur here
    differs = []
    for table, variables in tables.items():
        for key, var in variables.items():
            value, ub = excluded.get((table, key), 0), v.upper[table, key]
            if value < ub:
                above = model.int_var(0, 1, f"nogood{number}_above_{len(differs)}")
                model.add(var >= (value + 1) * above)
                differs.append(above)
            if value > 0:
                below = model.int_var(0, 1, f"nogood{number}_below_{len(differs)}")
                model.add(var <= value - 1 + (ub - value + 1) * (1 - below))
                differs.append(below)
    model.add(sum(differs) >= 1)


class _Check:
    """A back end over fixed integer values: every constraint evaluates to a Python bool."""

    def __init__(self, values: dict[str, int]) -> None:
        self.values = values
        self.failures: list[str] = []
        self._rows = 0

    def int_var(self, lb: int, ub: int, name: str) -> int:
        value = self.values.get(name, 0)
        if not lb <= value <= ub:
            self.failures.append(f"{name} = {value} outside [{lb}, {ub}]")
        return value

    def add(self, constraint) -> None:
        self._rows += 1
        if constraint is False:
            self.failures.append(f"row {self._rows} of the count model violated")


def check(problem: PlanningProblem, values: dict[str, int]) -> list[str]:
    """Whether integer values (by variable name) satisfy the count model exactly; the failures.

    Used on plans from floating-point MIP solvers, whose tolerances the planner does not share."""
    checker = _Check(values)
    build(problem, checker, secondary=False)
    return checker.failures


def _holds(gpu: str, layout, usable: set[str]) -> bool:
    """Whether a GPU in this layout (MIG off: whole) offers one of the `usable` resources."""
    return (gpu in usable) if layout.mode == "full" else any(f"{gpu}/{p}" in usable for p, _ in layout.counts)


def _tp_carriers(gpu: str, packing, usable: set[str]) -> int:
    """TP groups of a packing that are a `usable` resource."""
    return sum(1 for t in packing.groups if f"{gpu}/tp{len(t)}" in usable)


def _kept_carriers(group, packing, usable: set[str]) -> int:
    """GPUs (or TP groups) of one kept node with this packing offering a `usable` resource: its
    MIG GPUs as today, its TP groups, and its other MIG-off GPUs whole."""
    gpu = group.gpu
    n = sum(1 for layout in group.kept.fixed_layouts if _holds(gpu, layout, usable)) + _tp_carriers(gpu, packing, usable)
    if gpu in usable:
        n += len(group.kept.off) - packing.gpus
    return n


def _carriers(group, problem: PlanningProblem, v: CountModel, usable: set[str]):
    """GPUs (or TP groups) of a group that could hold a replica using one of `usable` resources."""
    return _whole_units(group, problem, v, usable) + _mig_carriers(group, problem, v, usable)


def _whole_units(group, problem: PlanningProblem, v: CountModel, usable: set[str]):
    """Whole GPUs and TP groups of a group that are a `usable` resource, each holding one replica:
    fresh GPUs with MIG off, fresh TP groups, and kept nodes' TP groups and other MIG-off GPUs."""
    g, gpu = group.id, group.gpu
    terms = [v.gpus[g, layout.key] for layout in problem.layouts[gpu] if layout.mode == "full" and gpu in usable]
    terms += [n * v.fresh[g, k] for k, packing in enumerate(group.packings) if (n := _tp_carriers(gpu, packing, usable))]
    if group.kept is not None:
        off_whole = gpu in usable
        for k, packing in enumerate(group.kept.packings):
            n = _tp_carriers(gpu, packing, usable) + (len(group.kept.off) - packing.gpus if off_whole else 0)
            if n:
                terms.append(n * v.kept[g, k])
    return sum(terms)


def _slices(group, problem: PlanningProblem, v: CountModel, usable: set[str]):
    """MIG instances of a group of `usable` profiles, fresh and kept as today."""
    g, gpu = group.id, group.gpu

    def per_gpu(counts) -> int:
        return sum(n for p, n in counts if f"{gpu}/{p}" in usable)

    terms = [per_gpu(layout.counts) * v.gpus[g, layout.key] for layout in problem.layouts[gpu] if layout.mode != "full" and per_gpu(layout.counts)]
    if group.kept is not None and per_gpu(group.kept.fixed):
        terms += [per_gpu(group.kept.fixed) * v.kept[g, k] for k in range(len(group.kept.packings))]
    return sum(terms)


def _mig_carriers(group, problem: PlanningProblem, v: CountModel, usable: set[str]):
    """MIG GPUs of a group offering one of the `usable` slices (fresh layouts and kept nodes'
    GPUs as today)."""
    g, gpu = group.id, group.gpu
    terms = [v.gpus[g, layout.key] for layout in problem.layouts[gpu] if layout.mode != "full" and _holds(gpu, layout, usable)]
    if group.kept is not None:
        n = sum(1 for layout in group.kept.fixed_layouts if _holds(gpu, layout, usable))
        if n:
            terms += [n * v.kept[g, k] for k in range(len(group.kept.packings))]
    return sum(terms)


def _mig_nodes(group, problem: PlanningProblem, v: CountModel, usable: set[str]):
    """Nodes of a group that could have a MIG GPU offering one of the `usable` slices: fresh nodes
    whose TP groups leave a GPU free, kept nodes with such a GPU today."""
    gpu = group.gpu
    offered = any(layout.mode != "full" and _holds(gpu, layout, usable) for layout in problem.layouts[gpu])
    terms = [v.fresh[group.id, k] for k, packing in enumerate(group.packings) if offered and packing.gpus < group.gpus_per_node]
    if group.kept is not None and any(_holds(gpu, layout, usable) for layout in group.kept.fixed_layouts):
        terms += [v.kept[group.id, k] for k in range(len(group.kept.packings))]
    return sum(terms)


def _capable_nodes(group, problem: PlanningProblem, v: CountModel, usable: set[str]):
    """Nodes of a group that could hold a replica using one of `usable` resources: carriers are
    counted per group, so without this bound two carriers on one node (or none on a node whose
    GPUs all went to a TP group w cannot use) would vouch for two hosting nodes. None when every
    node of the group could (then `h <= active` already says it)."""
    gpu = group.gpu
    layout_holds = any(_holds(gpu, layout, usable) for layout in problem.layouts[gpu])
    terms = [
        v.fresh[group.id, k]
        for k, packing in enumerate(group.packings)
        if (group.gpus_per_node > packing.gpus and layout_holds) or _tp_carriers(gpu, packing, usable)
    ]
    if group.kept is not None:
        terms += [v.kept[group.id, k] for k, packing in enumerate(group.kept.packings) if _kept_carriers(group, packing, usable)]
    every = len(group.packings) + (len(group.kept.packings) if group.kept is not None else 0)
    return None if len(terms) == every else sum(terms)


def _slots_per_gpu(problem: PlanningProblem, gpu: str) -> int:
    geometry = problem.loaded.catalog.gpu(gpu).mig
    return geometry.slots if geometry is not None else 1


def resource_slots(problem: PlanningProblem, res: str) -> int:
    """Memory slots a resource takes (a whole GPU takes all of them)."""
    gpu, _, tail = res.partition("/")
    per_gpu = _slots_per_gpu(problem, gpu)
    if not tail:
        return per_gpu
    if tail.startswith("tp"):
        return int(tail[2:]) * per_gpu
    return problem.loaded.catalog.gpu(gpu).mig.profile(tail).slots


def _supply_ub(group, resource, problem: PlanningProblem) -> int:
    """Most units of a resource a group could ever supply (keeps variable domains tight)."""
    n = group.available
    if resource.kind == "tp":
        return n * (group.gpus_per_node // resource.gpus)
    if resource.kind == "full":
        return n * group.gpus_per_node
    best = max((c for layout in problem.layouts[group.gpu] for p, c in layout.counts if p == resource.profile), default=0)
    if group.kept is not None:
        best = max(best, dict(group.kept.fixed).get(resource.profile, 0))
    return n * group.gpus_per_node * best
