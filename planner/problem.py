"""The solver-neutral planning problem: what may run where, at what price, for which throughput.

Built once from a loaded fleet and the performance model; every solver back end reads this and
nothing else. Following DESIGN §4, nodes are aggregated into *groups* of interchangeable nodes
(same node type, origin, price and — for today's inventory — same current layout), GPUs choose
among a small set of *layouts* (the maximal MIG profile multisets, MIG off, and today's
layouts), and nodes choose a *packing* of tensor-parallel groups that are NVLink cliques.

Integers: CP-SAT has no floats, so prices and throughputs are scaled here, in one place.
Prices are scaled to thousandths of a dollar per hour (rounded); capacities are rounded DOWN and
targets UP, so every plan the integer model accepts meets the true targets. `Rounding` reports
the worst error both scalings introduce.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace

from planner import mig
from planner.offers import node_type_resources, used_node_types
from planner.perf import Estimate, PerfModel
from planner.resources import Resource
from planner.spec import LoadedFleet
from planner.topology import group_packings

PRICE_SCALE = 1000  # integer price units per dollar-hour
# A capacity is scaled so that the smallest one relevant to its workload has at least this many
# integer units: the rounding then costs at most 1/CAPACITY_RESOLUTION of any replica's throughput.
CAPACITY_RESOLUTION = 10_000

Counts = tuple[tuple[str, int], ...]  # a MIG profile multiset, sorted


@dataclass(frozen=True)
class LayoutOption:
    """What one GPU runs: a MIG profile multiset, or MIG off (a whole GPU for one replica)."""

    key: str  # "mig:3g.40gb*2" or "full"
    mode: str  # "mig" | "full"
    counts: Counts = ()

    @staticmethod
    def of_counts(counts: Counts) -> "LayoutOption":
        return LayoutOption("mig:" + ",".join(f"{p}*{n}" for p, n in counts), "mig", counts)


FULL = LayoutOption("full", "full")


@dataclass(frozen=True)
class Packing:
    """Tensor-parallel groups one node holds at once; `groups` are witness GPU indices."""

    groups: tuple[tuple[int, ...], ...]

    @property
    def gpus(self) -> int:
        return sum(len(g) for g in self.groups)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Its group sizes, largest first: what identifies a packing of a node type."""
        return tuple(sorted((len(g) for g in self.groups), reverse=True))

    def count(self, size: int) -> int:
        return sum(1 for g in self.groups if len(g) == size)


@dataclass(frozen=True)
class Kept:
    """A node of today's inventory left exactly as it is: fixed MIG GPUs, MIG-off GPUs free."""

    fixed: Counts  # MIG profiles summed over the node's MIG GPUs
    fixed_layouts: tuple[LayoutOption, ...]  # one per MIG GPU (for distinct-layout counting)
    off: tuple[int, ...]  # indices of GPUs with MIG off today
    packings: tuple[Packing, ...]  # TP groups among the MIG-off GPUs


@dataclass
class NodeGroup:
    """Interchangeable nodes: one node type, origin and price (and today's layout, inventory)."""

    id: int
    node_type: str
    gpu: str
    gpus_per_node: int
    nvlink: object
    origin: str  # "inventory" | "market"
    price: float  # dollars per node-hour
    price_scaled: int
    available: int
    names: tuple[str, ...]  # inventory node names (empty for market groups)
    packings: tuple[Packing, ...]
    today: tuple | None  # per-GPU layouts today, when every GPU's layout is known
    kept: Kept | None
    # The pool: groups of one node type (same GPUs, same NVLink topology) offer replicas the same
    # resources, so the solvers count replicas per pool, not per group — keyed by the pool's
    # first group id. Splitting them by group would only add symmetric copies of every plan.
    pool: int = -1


@dataclass(frozen=True)
class Candidate:
    """Workload `workload` may run a replica on `resource` at `throughput` (its target unit)."""

    workload: int
    resource: Resource
    throughput: float
    capacity: int  # scaled, rounded down
    estimate: Estimate


@dataclass
class Demand:
    name: str
    unit: str
    target: float
    scale: float  # integer units per target unit
    target_scaled: int  # rounded up
    min_replicas: int
    max_replicas: int | None
    spread: bool  # replicas must sit on at least two nodes


@dataclass
class Rounding:
    price_max_error: float = 0.0  # dollars per node-hour, worst node
    capacity_max_relative_error: float = 0.0  # worst replica's throughput lost to rounding down
    dropped: list[str] = field(default_factory=list)  # candidates too small to represent


@dataclass
class PlanningProblem:
    loaded: LoadedFleet
    perf: PerfModel
    groups: list[NodeGroup]
    layouts: dict[str, list[LayoutOption]]  # per GPU type, FULL last
    demands: list[Demand]
    candidates: dict[tuple[int, str], list[Candidate]]  # (workload index, GPU) -> candidates
    rounding: Rounding
    # Spread workloads modelled unit by unit (solvers/countmodel.py, `_unit_hosts`): tighter and
    # larger than the default carrier count, whose plans placement can fail to spread. Planning
    # turns it on to solve again when that happens.
    strict_spread: bool = False
    # Count solutions the model must not return again, each as its nonzero values
    # ((table, key, value), sorted; tables as in `CountSolution`: fresh, kept, layouts, replicas):
    # plans placement could not spread even under `strict_spread` (planning's last resort).
    excluded: tuple[tuple[tuple[str, tuple, int], ...], ...] = ()


def resource_price(problem: PlanningProblem, group: NodeGroup, resource: Resource) -> float:
    """A resource's share of its node's price: the node split over its GPUs, a MIG slice by its
    memory slots. The marginal price a replica takes, not what a plan pays (that is whole nodes)."""
    per_gpu = group.price / group.gpus_per_node
    if resource.kind == "mig":
        geometry = problem.loaded.catalog.gpu(group.gpu).mig
        return per_gpu * geometry.profile(resource.profile).slots / geometry.slots
    return per_gpu * resource.gpus


def cheapest_candidates(problem: PlanningProblem, workload: int, count: int) -> list[str]:
    """The `count` resources giving this workload the most throughput per dollar-hour."""
    ranked = sorted(
        {
            (resource_price(problem, g, c.resource) / c.throughput, str(c.resource))
            for g in problem.groups
            for c in problem.candidates.get((workload, g.gpu), [])
        }
    )
    return [res for _, res in ranked[:count]]


def restricted(problem: PlanningProblem, candidates: set[tuple[int, str]], layouts: set[tuple[str, str]]) -> PlanningProblem:
    """The same problem with only the given (workload, resource) candidates and (gpu, layout key)
    layouts — plus MIG-off and today's layouts, which keeping a node needs. Group ids, layout keys
    and resource names are unchanged, so its solutions are solutions of the full problem."""
    kept_layouts = {(g.gpu, lay.key) for g in problem.groups if g.kept for lay in g.kept.fixed_layouts}
    cands = {
        key: [c for c in cs if (key[0], str(c.resource)) in candidates]
        for key, cs in problem.candidates.items()
    }
    return replace(  # everything else as it was (strict_spread included)
        problem,
        layouts={
            gpu: [lay for lay in options if lay.mode == "full" or (gpu, lay.key) in layouts or (gpu, lay.key) in kept_layouts]
            for gpu, options in problem.layouts.items()
        },
        candidates={key: cs for key, cs in cands.items() if cs},
    )


def _node_price(loaded: LoadedFleet, node_type: str, override: float | None) -> float:
    if override is not None:
        return override
    nt = loaded.fleet.node_types[node_type]
    if nt.price_per_hour is not None:
        return nt.price_per_hour
    return nt.count * loaded.catalog.gpu(nt.gpu).price_per_hour


def _as_counts(profiles) -> Counts:
    return tuple(sorted(Counter(profiles).items()))


def _packings(count: int, nvlink, indices: tuple[int, ...] | None = None) -> tuple[Packing, ...]:
    if indices is None:
        return tuple(Packing(p) for p in group_packings(count, nvlink))
    # TP groups among a subset of GPUs (today's MIG-off GPUs): restrict the topology to them.
    from planner.topology import nvlink_graph

    graph = nvlink_graph(count, nvlink).subgraph(indices)
    local = {g: i for i, g in enumerate(indices)}
    groups = [[local[a], local[b]] for a, b in graph.edges]
    packs = group_packings(len(indices), groups if groups else "none")
    return tuple(Packing(tuple(tuple(indices[i] for i in g) for g in p)) for p in packs)


def _kept(today: tuple, count: int, nvlink) -> Kept:
    fixed: Counter = Counter()
    layouts = []
    off = []
    for i, layout in enumerate(today):
        if layout == "off":
            off.append(i)
        else:
            fixed.update(layout)
            layouts.append(LayoutOption.of_counts(_as_counts(layout)))
    return Kept(tuple(sorted(fixed.items())), tuple(layouts), tuple(off), _packings(count, nvlink, tuple(off)))


def _groups(loaded: LoadedFleet, gpu_types: frozenset[str] | None, allow_mig: bool) -> tuple[list[NodeGroup], Rounding]:
    fleet = loaded.fleet
    rounding = Rounding()
    groups: list[NodeGroup] = []

    def add(node_type: str, origin: str, price: float, available: int, names: tuple, today) -> None:
        nt = fleet.node_types[node_type]
        if gpu_types is not None and nt.gpu not in gpu_types:
            return
        scaled = round(price * PRICE_SCALE)
        rounding.price_max_error = max(rounding.price_max_error, abs(scaled / PRICE_SCALE - price))
        known = today is not None and all(layout is not None for layout in today)
        # Without MIG a node can only be kept if none of its GPUs runs MIG today.
        known = known and (allow_mig or all(layout == "off" for layout in today))
        groups.append(
            NodeGroup(
                id=len(groups),
                node_type=node_type,
                gpu=nt.gpu,
                gpus_per_node=nt.count,
                nvlink=nt.nvlink,
                origin=origin,
                price=price,
                price_scaled=scaled,
                available=available,
                names=names,
                packings=_packings(nt.count, nt.nvlink),
                today=today if known else None,
                kept=_kept(today, nt.count, nt.nvlink) if known else None,
                pool=next((g.pool for g in groups if g.node_type == node_type), len(groups)),
            )
        )

    # Inventory: nodes are interchangeable when type, price and today's layout agree.
    buckets: dict[tuple, list[str]] = {}
    for node in loaded.inventory:
        price = _node_price(loaded, node.type, node.price_per_hour)
        buckets.setdefault((node.type, price, node.today), []).append(node.name)
    for (node_type, price, today), names in buckets.items():
        add(node_type, "inventory", price, len(names), tuple(names), today)
    for node_type in used_node_types(fleet):
        offer = fleet.market.get(node_type)
        if offer is not None and offer.max > 0:
            add(node_type, "market", _node_price(loaded, node_type, offer.price_per_hour), offer.max, (), None)
    return groups, rounding


def _useful_layouts(maximal: list[Counts], useful: set[str]) -> list[Counts]:
    """Project layouts onto the profiles some workload can use, keep the undominated ones.

    Exact for cost: a slice no workload can use never carries a replica, so a layout matters only
    through its useful profiles, and one whose useful counts are all <= another's is never needed.
    Fewer, distinct options make the count model much smaller and its LP relaxation tighter.
    """
    projected = sorted({tuple((p, n) for p, n in ms if p in useful) for ms in maximal})
    projected = [ms for ms in projected if ms]

    def dominated(a: Counts, b: Counts) -> bool:
        da, db = dict(a), dict(b)
        return a != b and all(db.get(p, 0) >= n for p, n in da.items())

    return [a for a in projected if not any(dominated(a, b) for b in projected)]


def _layouts(
    loaded: LoadedFleet, groups: list[NodeGroup], useful: dict[str, set[str]], allow_mig: bool
) -> dict[str, list[LayoutOption]]:
    out: dict[str, list[LayoutOption]] = {}
    for g in groups:
        if g.gpu in out:
            continue
        gpu = loaded.catalog.gpu(g.gpu)
        options: list[LayoutOption] = []
        if gpu.mig is not None and allow_mig:
            maximal = list(mig.maximal_multisets(gpu))
            options = [LayoutOption.of_counts(ms) for ms in _useful_layouts(maximal, useful.get(g.gpu, set()))]
        out[g.gpu] = options
    # Today's layouts stay available even when not maximal: keeping them avoids a change.
    for g in groups:
        if g.kept is not None:
            for layout in g.kept.fixed_layouts:
                if layout not in out[g.gpu]:
                    out[g.gpu].append(layout)
    for options in out.values():
        options.append(FULL)
    return out


# Scaled values stay far inside CP-SAT's int64 (sums of replicas × capacities included).
MAX_SCALED = 10**13


def _decimals(value: float) -> int:
    """Decimal places a number was written with (12345.678 → 3). Up to 9 for a number with at
    most 12 significant digits, as people write them (0.1234567); up to 6 for a longer one, a
    computed estimate that no power of ten makes exact, where more would only inflate the scale."""
    text = repr(float(value))
    if "e" in text or "." not in text:
        return 0
    whole, fraction = text.lstrip("-").split(".")
    fraction = fraction.rstrip("0")
    significant = len((whole + fraction).lstrip("0"))
    return min(len(fraction), 9 if significant <= 12 else 6)


def _scale_for(target: float, capacities: list[float]) -> float:
    """Integer units per target unit for one workload.

    Fine enough that the smallest capacity keeps CAPACITY_RESOLUTION units, and that numbers the
    user wrote in decimals (targets, measured capacities: 12345.678) scale exactly — so a target of
    exactly three replicas' capacity stays feasible; capped so nothing overflows (a capacity too
    small to register at the cap is dropped and reported in `Rounding.dropped`).
    """
    smallest = min(capacities) if capacities else target
    exponent = math.ceil(math.log10(CAPACITY_RESOLUTION / smallest)) if smallest > 0 else 0
    exponent = max(exponent, _decimals(target), *(_decimals(c) for c in capacities), 0)
    largest = max([target, *capacities])
    while exponent > 0 and largest * 10.0**exponent > MAX_SCALED:
        exponent -= 1
    return 10.0**exponent


def _scaled(value: float, scale: float, up: bool) -> int:
    """value × scale as an integer: exact when it is one (up to float noise), else rounded
    towards the safe side (capacities down, targets up)."""
    exact = value * scale
    nearest = round(exact)
    if abs(exact - nearest) <= 1e-9 * max(1.0, abs(exact)):
        return int(nearest)
    return math.ceil(exact) if up else math.floor(exact)


def _supplied(loaded: LoadedFleet, groups: list[NodeGroup], allow_mig: bool) -> dict[str, list[Resource]]:
    """Every resource each GPU type can supply somewhere in the fleet (before pruning layouts)."""
    out: dict[str, dict[Resource, None]] = {}
    for g in groups:
        res = out.setdefault(g.gpu, {})
        for r in node_type_resources(loaded.fleet.node_types[g.node_type], loaded.catalog):
            if allow_mig or r.kind != "mig":
                res.setdefault(r, None)
    return {gpu: sorted(res, key=lambda r: (r.kind != "mig", r.gpus, r.profile or "")) for gpu, res in out.items()}


def build_problem(
    loaded: LoadedFleet,
    perf: PerfModel | None = None,
    *,
    gpu_types: frozenset[str] | None = None,
    allow_mig: bool = True,
) -> PlanningProblem:
    """The problem for a fleet; `gpu_types` and `allow_mig` restrict it for what-if comparisons."""
    perf = perf or PerfModel(loaded.fleet, loaded.catalog)
    groups, rounding = _groups(loaded, gpu_types, allow_mig)
    supplied = _supplied(loaded, groups, allow_mig)

    demands: list[Demand] = []
    candidates: dict[tuple[int, str], list[Candidate]] = {}
    for wi, w in enumerate(loaded.fleet.workloads):
        fitting: list[tuple[str, Resource, Estimate]] = []
        for gpu, resources in supplied.items():
            for res in resources:
                est = perf.estimate(w, res)
                if est.fits and est.throughput and est.throughput > 0:
                    fitting.append((gpu, res, est))
        target = w.target.value
        scale = _scale_for(target, [e.throughput for _, _, e in fitting])
        min_replicas = w.replicas.min
        demands.append(
            Demand(
                name=w.name,
                unit=w.target.unit,
                target=target,
                scale=scale,
                target_scaled=_scaled(target, scale, up=True),
                min_replicas=min_replicas,
                max_replicas=w.replicas.max,
                # Spread needs two nodes that can host the workload; a fleet without them waives it.
                spread=w.replicas.spread
                and min_replicas >= 2
                and sum(g.available for g in groups if any(gpu == g.gpu for gpu, _, _ in fitting)) >= 2,
            )
        )
        for gpu, res, est in fitting:
            cap = _scaled(est.throughput, scale, up=False)
            if cap <= 0:
                rounding.dropped.append(f"{w.name} on {res}")
                continue
            rounding.capacity_max_relative_error = max(
                rounding.capacity_max_relative_error, (est.throughput - cap / scale) / est.throughput
            )
            candidates.setdefault((wi, gpu), []).append(Candidate(wi, res, est.throughput, cap, est))

    useful: dict[str, set[str]] = {}
    for (_, gpu), cands in candidates.items():
        useful.setdefault(gpu, set()).update(c.resource.profile for c in cands if c.resource.kind == "mig")
    layouts = _layouts(loaded, groups, useful, allow_mig)
    return PlanningProblem(loaded, perf, groups, layouts, demands, candidates, rounding)
