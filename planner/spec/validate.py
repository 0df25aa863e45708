"""Checks that look across sections of the fleet file or need the catalog.

Each check appends `Problem`s instead of raising, so `mig-plan validate` lists every mistake at
once. The result of a clean run is a `LoadedFleet`: the fleet with every GPU name made canonical,
the catalog with the fleet's own GPUs and prices, and the inventory with pools expanded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from planner import mig
from planner.catalog import Catalog, Gpu, UnknownGpu, normalize_gpu_name
from planner.errors import Problem, yaml_path
from planner.naming import is_dns1123_subdomain
from planner.resources import Resource, ResourceSyntaxError, parse_resource
from planner.spec.errors import suggest
from planner.spec.models import Fleet, Node
from planner.yamlio import Document

# A GPU's layout today: MIG off ("off"), or a tuple of MIG profiles (MIG on), or None (unknown).
TodayLayout = tuple[str, ...] | str | None


@dataclass(frozen=True)
class InventoryNode:
    """One node that runs today, pools expanded (`gpu-b` count 3 → gpu-b-0, gpu-b-1, gpu-b-2)."""

    name: str
    type: str
    labels: dict[str, str]
    today: tuple[TodayLayout, ...]  # per GPU index
    price_per_hour: float | None
    entry: int  # index in the fleet file's nodes[]


@dataclass
class Checker:
    doc: Document
    problems: list[Problem] = field(default_factory=list)
    # Set when checking what is left of a file whose schema check failed (load.py sets the failed
    # entries aside): the file's index of each kept entry of a list section, and per section the
    # names its set-aside entries define (gpus, node_types, workloads) or name (profiles: the
    # workload), so that nothing is reported unknown only because its definition was set aside.
    positions: dict[str, list[int]] = field(default_factory=dict)
    set_aside: dict[str, set[str]] = field(default_factory=dict)

    def add(self, loc: tuple, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(message, yaml_path(loc), self.doc.line_of(loc), hint, self.doc.file))

    def at(self, section: str, index: int) -> tuple:
        """The location of entry `index` of a list section, numbered as in the file."""
        kept = self.positions.get(section)
        return (section, kept[index] if kept is not None else index)

    def was_set_aside(self, section: str, name: str) -> bool:
        return name in self.set_aside.get(section, ())


def build_catalog(fleet: Fleet, base: Catalog, check: Checker) -> Catalog:
    """The catalog with the fleet's `gpus:` section applied (price overrides and custom GPUs)."""
    extra: dict[str, Gpu] = {}
    for name, definition in fleet.gpus.items():
        loc = ("gpus", name)
        figures = {k: v for k, v in definition.model_dump(exclude={"like"}).items() if v is not None}
        try:
            known = base.resolve(name)
        except UnknownGpu:
            known = None
        if known is not None:
            if known in extra:
                check.add(loc, f"'{name}' defines {known} a second time", "keep one of them (an alias names the same GPU)")
                continue
            if definition.like is not None:
                check.add(loc + ("like",), f"'{name}' is a catalog GPU; 'like' is only for GPUs the catalog lacks")
                continue
            gpu = base.gpu(known)
            update = dict(figures)
            if "tflops" in update:
                update["tflops"] = {**gpu.tflops, **update["tflops"]}
            if "price_per_hour" in update:
                update["price_source"] = "fleet file"
            extra[known] = gpu.model_copy(update=update)
            continue
        if definition.like is not None:
            try:
                template = base.gpu(definition.like)
            except UnknownGpu as exc:
                check.add(loc + ("like",), str(exc))
                continue
            update = dict(figures)
            if "tflops" in update:
                update["tflops"] = {**template.tflops, **update["tflops"]}
            extra[name] = template.model_copy(
                update={
                    **update,
                    "name": name,
                    "aliases": (),
                    "sources": (f"fleet file (like {template.name})",),
                    "price_source": "fleet file" if "price_per_hour" in update else template.price_source,
                }
            )
            continue
        missing = [k for k in ("memory_gb", "bandwidth_tbps", "tflops", "price_per_hour") if k not in figures]
        if missing:
            check.add(
                loc,
                f"'{name}' is not in the catalog; a custom GPU needs {', '.join(missing)}",
                "or write 'like: <catalog GPU>' to start from a known one (see `mig-plan catalog`)",
            )
            continue
        tflops = figures["tflops"]
        if tflops.get("bf16") is None and tflops.get("fp16") is None:
            check.add(loc + ("tflops",), "a custom GPU needs at least 'bf16' or 'fp16' TFLOPS")
            continue
        extra[name] = Gpu(
            name=name,
            aliases=(),
            architecture="custom",
            memory_gb=figures["memory_gb"],
            bandwidth_tbps=figures["bandwidth_tbps"],
            tflops={p: tflops.get(p) for p in ("bf16", "fp16", "fp8", "int8", "fp4")},
            sms=figures.get("sms", 1),  # only used for MIG shares; a custom GPU has no MIG
            nvlink_gbps=figures.get("nvlink_gbps", 0.0),
            nvlink_kind="switch" if figures.get("nvlink_gbps") else "none",
            tdp_w=figures.get("tdp_w") or 1.0,
            pci_device_id=None,
            price_per_hour=figures["price_per_hour"],
            price_source="fleet file",
            sources=("fleet file",),
            estimated_fields=tuple(k for k in ("sms", "tdp_w") if k not in figures),
            mig=None,
        )
    if not extra:
        return base
    try:
        return base.with_gpus(extra)
    except ValueError as exc:
        check.add(("gpus",), str(exc))
        return base


def _resolve_gpu(catalog: Catalog, name: str, loc: tuple, check: Checker) -> str | None:
    try:
        return catalog.resolve(name)
    except UnknownGpu as exc:
        if not any(normalize_gpu_name(name) == normalize_gpu_name(g) for g in check.set_aside.get("gpus", ())):
            check.add(loc, str(exc), "see `mig-plan catalog` for known GPUs, or define it under 'gpus:'")
        return None


def resolve_resource(catalog: Catalog, text: str, loc: tuple, check: Checker) -> Resource | None:
    """Parse a resource string and check its GPU and profile exist; canonical GPU name."""
    try:
        res = parse_resource(text)
    except ResourceSyntaxError as exc:
        check.add(loc, str(exc))
        return None
    gpu_name = _resolve_gpu(catalog, res.gpu, loc, check)
    if gpu_name is None:
        return None
    gpu = catalog.gpu(gpu_name)
    if res.kind == "mig":
        if gpu.mig is None:
            check.add(loc, f"{gpu_name} has no MIG; use '{gpu_name}' (whole GPU) or '{gpu_name}/tp<N>'")
            return None
        if res.profile not in gpu.mig.names:
            guess = suggest(res.profile, gpu.mig.names)
            check.add(
                loc,
                f"{gpu_name} has no MIG profile '{res.profile}'",
                f"did you mean '{guess}'?" if guess else f"its profiles: {', '.join(gpu.mig.names)}",
            )
            return None
        return Resource.mig(gpu_name, res.profile)
    if res.kind == "tp":
        return Resource.tp(gpu_name, res.gpus)
    return Resource.full(gpu_name)


def _check_unique(items: list[tuple[str, tuple]], what: str, check: Checker) -> None:
    seen: dict[str, tuple] = {}
    for name, loc in items:
        if name in seen:
            check.add(loc, f"duplicate {what} '{name}' (also at {yaml_path(seen[name])})", f"{what} names must be unique")
        else:
            seen[name] = loc


def _check_node_types(fleet: Fleet, catalog: Catalog, check: Checker) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    for name, nt in fleet.node_types.items():
        loc = ("node_types", name)
        gpu_name = _resolve_gpu(catalog, nt.gpu, loc + ("gpu",), check)
        if isinstance(nt.nvlink, list):
            for gi, group in enumerate(nt.nvlink):
                for ii, index in enumerate(group):
                    if not 0 <= index < nt.count:
                        check.add(
                            loc + ("nvlink", gi, ii),
                            f"GPU index {index} is outside the node (count {nt.count}: indices 0..{nt.count - 1})",
                        )
                if len(set(group)) < 2:
                    check.add(loc + ("nvlink", gi), "an NVLink group joins at least two distinct GPUs")
        if gpu_name is not None:
            gpu = catalog.gpu(gpu_name)
            if nt.nvlink != "none" and gpu.nvlink_gbps == 0:
                check.add(
                    loc + ("nvlink",),
                    f"{gpu_name} has no NVLink",
                    "write 'nvlink: none'; tensor-parallel groups need NVLink",
                )
            updates[name] = nt.model_copy(update={"gpu": gpu_name})
    return updates


def _today_layouts(node: Node, loc: tuple, gpu: Gpu | None, count: int, check: Checker) -> tuple[TodayLayout, ...]:
    today: list[TodayLayout] = [None] * count
    if "all" in node.mig:
        today = [_layout(node.mig["all"], loc + ("mig", "all"), gpu, check)] * count
    for key, value in node.mig.items():
        if key == "all":
            continue
        if not 0 <= key < count:
            check.add(loc + ("mig", key), f"GPU index {key} is outside the node (indices 0..{count - 1})")
            continue
        today[key] = _layout(value, loc + ("mig", key), gpu, check)
    return tuple(today)


def _layout(value: Any, loc: tuple, gpu: Gpu | None, check: Checker) -> TodayLayout:
    if value == "off":
        return "off"
    if gpu is None:
        return None
    if gpu.mig is None:
        check.add(loc, f"{gpu.name} has no MIG; remove this layout or write 'off'")
        return None
    unknown = [p for p in value if p not in gpu.mig.names]
    for p in unknown:
        guess = suggest(p, gpu.mig.names)
        check.add(
            loc,
            f"{gpu.name} has no MIG profile '{p}'",
            f"did you mean '{guess}'?" if guess else f"its profiles: {', '.join(gpu.mig.names)}",
        )
    if unknown:
        return None
    if not mig.fits(gpu, value):
        check.add(
            loc,
            f"the layout [{', '.join(value)}] cannot be placed on one {gpu.name}",
            "see `mig-plan catalog " + gpu.name + " --layouts` for the layouts that exist",
        )
        return None
    return tuple(value)


def _check_inventory(fleet: Fleet, catalog: Catalog, types: dict, check: Checker) -> list[InventoryNode]:
    nodes: list[InventoryNode] = []
    for i, node in enumerate(fleet.nodes):
        loc = check.at("nodes", i)
        nt = types.get(node.type) or fleet.node_types.get(node.type)
        if nt is None:
            if check.was_set_aside("node_types", node.type):
                continue
            guess = suggest(node.type, fleet.node_types)
            check.add(
                loc + ("type",),
                f"unknown node type '{node.type}'",
                f"did you mean '{guess}'?" if guess else f"define it under node_types (known: {', '.join(fleet.node_types)})",
            )
            continue
        gpu = catalog.gpu(nt.gpu) if nt.gpu in catalog else None
        today = _today_layouts(node, loc, gpu, nt.count, check)
        names = [node.name] if node.name is not None else [f"{node.pool}-{k}" for k in range(node.node_count)]
        if names and not is_dns1123_subdomain(names[0]):
            # Exports address nodes by name (kubectl label node NAME, Node patches); the API server
            # accepts only DNS-1123 subdomains as Node names, so a name outside that is a typo.
            key = "name" if node.name is not None else "pool"
            check.add(
                loc + (key,),
                f"'{getattr(node, key)}' cannot be a Kubernetes node name",
                "lowercase letters, digits, '-' and '.', each part between dots starting and ending with a letter or digit and at most 63 long, 253 in all",
            )
            continue
        for name in names:
            nodes.append(InventoryNode(name, node.type, dict(node.labels), today, node.price_per_hour, i))
    _check_unique(
        [(n.name, check.at("nodes", n.entry) + ("name" if fleet.nodes[n.entry].name else "pool",)) for n in nodes],
        "node",
        check,
    )
    return nodes


def _check_market(fleet: Fleet, check: Checker) -> None:
    for name in fleet.market:
        if name not in fleet.node_types and not check.was_set_aside("node_types", name):
            guess = suggest(name, fleet.node_types)
            check.add(("market", name), f"unknown node type '{name}'", f"did you mean '{guess}'?" if guess else "define it under node_types")


def _check_workloads(fleet: Fleet, catalog: Catalog, check: Checker) -> dict[int, Any]:
    from planner.catalog.models import UnknownModel, resolve_model
    from planner.perf.units import unit_problem

    updates: dict[int, Any] = {}
    names = [(w.name, check.at("workloads", i) + ("name",)) for i, w in enumerate(fleet.workloads)]
    _check_unique(names, "workload", check)
    for i, w in enumerate(fleet.workloads):
        loc = check.at("workloads", i)
        kind = w.kind
        if w.kind == "generic":
            if w.model is not None:
                check.add(loc + ("model",), "a generic workload has no model; give memory_gb and capacity")
            if w.memory_gb is None:
                check.add(loc, "a generic workload needs 'memory_gb' (memory one replica needs)")
            measured = [p for p in fleet.profiles if p.workload == w.name] or check.was_set_aside("profiles", w.name)
            if not w.capacity and not measured:
                check.add(loc, "a generic workload needs 'capacity' (throughput per replica by resource)")
            capacity = {}
            written: dict[str, str] = {}  # canonical resource -> the key that named it first
            for key, value in (w.capacity or {}).items():
                res = resolve_resource(catalog, key, loc + ("capacity", key), check)
                if res is None:
                    continue
                if str(res) in written:
                    # Two spellings of one resource (an alias and the full name): which figure
                    # was meant cannot be guessed, and the last one silently winning is worse.
                    check.add(
                        loc + ("capacity", key),
                        f"'{key}' is the same resource as '{written[str(res)]}' ({res})",
                        "give each resource's capacity once",
                    )
                    continue
                written[str(res)] = key
                capacity[str(res)] = value
            if w.capacity:
                updates[i] = {"capacity": capacity}
            continue
        if w.model is None:
            check.add(loc, "missing 'model'", "name a preset (`mig-plan catalog models`) or write 'kind: generic'")
            continue
        if w.capacity is not None or w.memory_gb is not None:
            check.add(loc, "'capacity' and 'memory_gb' are for generic workloads", "add 'kind: generic' or remove them")
        try:
            preset = resolve_model(w.model, w.kind)
        except UnknownModel as exc:  # its message already points at `mig-plan catalog models`
            check.add(loc + ("model",), str(exc))
            continue
        except ValueError as exc:
            check.add(loc + ("model",), str(exc))
            continue
        if kind is not None and kind != preset.kind:
            check.add(loc + ("kind",), f"kind '{kind}' does not match the model, which is '{preset.kind}'")
            continue
        kind = preset.kind
        wrong_unit = unit_problem(kind, w.target.unit)
        if wrong_unit:
            check.add(loc + ("target",), wrong_unit)
        if kind == "llm" and w.tokens is None:
            check.add(loc, "an LLM workload needs 'tokens: {input: N, output: M}' (typical prompt and answer lengths)")
        if kind != "llm" and w.tokens is not None:
            check.add(loc + ("tokens",), f"'tokens' is for LLMs; this is a {kind} model")
        if w.image is not None and kind != "diffusion":
            check.add(loc + ("image",), f"'image' is for diffusion models; this is a {kind} model")
        if w.video is not None and kind != "video":
            check.add(loc + ("video",), f"'video' is for video models; this is a {kind} model")
    return updates


def _check_profiles(fleet: Fleet, catalog: Catalog, check: Checker) -> dict[int, Any]:
    names = [w.name for w in fleet.workloads]
    updates: dict[int, Any] = {}
    seen: dict[tuple[str, str], int] = {}
    for i, p in enumerate(fleet.profiles):
        loc = check.at("profiles", i)
        if p.workload not in names and not check.was_set_aside("workloads", p.workload):
            guess = suggest(p.workload, names)
            check.add(loc + ("workload",), f"unknown workload '{p.workload}'", f"did you mean '{guess}'?" if guess else None)
        res = resolve_resource(catalog, p.resource, loc + ("resource",), check)
        if res is None:
            continue
        key = (p.workload, str(res))
        if key in seen:
            first = yaml_path(check.at("profiles", seen[key]))
            check.add(loc, f"a second profile for {p.workload} on {res} (first: {first})", "keep one")
        seen[key] = i
        updates[i] = {"resource": str(res)}
    return updates


def check_fleet(
    fleet: Fleet,
    base: Catalog,
    doc: Document,
    positions: dict[str, list[int]] | None = None,
    set_aside: dict[str, set[str]] | None = None,
) -> tuple[Fleet, Catalog, list[InventoryNode], list[Problem]]:
    """Run every cross-field check; return the canonical fleet, its catalog, inventory and problems.

    `positions` and `set_aside` describe entries removed because they failed the schema (see
    `Checker`); with them, only the problems are meaningful."""
    check = Checker(doc, positions=positions or {}, set_aside=set_aside or {})
    catalog = build_catalog(fleet, base, check)
    types = _check_node_types(fleet, catalog, check)
    inventory = _check_inventory(fleet, catalog, types, check)
    _check_market(fleet, check)
    workload_updates = _check_workloads(fleet, catalog, check)
    profile_updates = _check_profiles(fleet, catalog, check)
    canonical = fleet.model_copy(
        update={
            "node_types": {k: types.get(k, v) for k, v in fleet.node_types.items()},
            "workloads": [
                w.model_copy(update=workload_updates[i]) if i in workload_updates else w
                for i, w in enumerate(fleet.workloads)
            ],
            "profiles": [
                p.model_copy(update=profile_updates[i]) if i in profile_updates else p for i, p in enumerate(fleet.profiles)
            ],
        }
    )
    return canonical, catalog, inventory, check.problems
