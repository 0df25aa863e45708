"""Why no plan exists, in the user's terms: which workload fits nowhere (and the closest miss),
which target is above everything the inventory plus market could give, which replica limits
make a target unreachable. Computed from the problem alone, no solver.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.offers import node_type_resources, used_node_types
from planner.problem import MAX_SCALED, PlanningProblem


@dataclass
class Diagnosis:
    workload: str
    ok: bool
    message: str
    max_capacity: float | None = None  # if every available node served only this workload
    best_resource: str | None = None


def _max_capacity(problem: PlanningProblem, w: int) -> float:
    """Throughput if every node the fleet has or may buy served workload w alone (an upper bound)."""
    total = 0.0
    for group in problem.groups:
        cands = problem.candidates.get((w, group.gpu), [])
        if not cands:
            continue
        by_res = {str(c.resource): c.throughput for c in cands}
        per_gpu = max(
            [by_res.get(group.gpu, 0.0)]
            + [sum(by_res.get(f"{group.gpu}/{p}", 0.0) * n for p, n in layout.counts) for layout in problem.layouts[group.gpu]]
        )
        best_node = 0.0
        for packing in group.packings:
            tp = sum(by_res.get(f"{group.gpu}/tp{len(t)}", 0.0) for t in packing.groups)
            best_node = max(best_node, tp + (group.gpus_per_node - packing.gpus) * per_gpu)
        total += best_node * group.available
    return total


def _closest_miss(problem: PlanningProblem, w: int) -> str:
    workload = problem.loaded.fleet.workloads[w]
    fleet, catalog = problem.loaded.fleet, problem.loaded.catalog
    best = None
    offered = {g.gpu for g in problem.groups}
    for name in used_node_types(fleet):
        for res in node_type_resources(fleet.node_types[name], catalog):
            if res.gpu not in offered or (res.kind == "mig" and not any(lay.mode == "mig" for lay in problem.layouts[res.gpu])):
                continue  # not offered in this (possibly restricted) problem
            est = problem.perf.estimate(workload, res)
            if est.memory_gb and est.memory_available_gb:
                ratio = est.memory_available_gb / est.memory_gb
                if best is None or ratio > best[0]:
                    best = (ratio, est)
    if best is None:
        est = problem.perf.estimate(workload, node_type_resources(fleet.node_types[used_node_types(fleet)[0]], catalog)[0]) if used_node_types(fleet) else None
        return est.reason if est and est.reason else "no node type is offered"
    return f"closest: {best[1].resource} — {best[1].reason}"


def diagnose(problem: PlanningProblem) -> list[Diagnosis]:
    out = []
    for w, demand in enumerate(problem.demands):
        cands = [c for (wi, _), cs in problem.candidates.items() if wi == w for c in cs]
        dropped = [d.split(" on ", 1)[1] for d in problem.rounding.dropped if d.startswith(f"{demand.name} on ")]
        if not cands and dropped:
            # Dropped by the integer scaling, which keeps the target within MAX_SCALED units: one
            # replica gives less than one unit, i.e. less than target / (MAX_SCALED / 10).
            out.append(
                Diagnosis(
                    demand.name,
                    False,
                    f"target {demand.target:g} {demand.unit} is out of reach: it would take more than"
                    f" {MAX_SCALED // 10:.0e} replicas on every resource it fits ({', '.join(dropped)});"
                    " lower the target or check the capacities",
                )
            )
            continue
        if not cands:
            out.append(Diagnosis(demand.name, False, f"fits no resource the fleet offers; {_closest_miss(problem, w)}"))
            continue
        best = max(cands, key=lambda c: c.throughput)
        cap = _max_capacity(problem, w)
        if cap < demand.target:
            out.append(
                Diagnosis(
                    demand.name,
                    False,
                    f"target {demand.target:g} {demand.unit} is above the {cap:.4g} that all inventory plus market"
                    " could give it even alone (raise market max, add a node type, or lower the target)",
                    cap,
                    str(best.resource),
                )
            )
            continue
        if demand.max_replicas is not None and demand.max_replicas * best.throughput < demand.target:
            out.append(
                Diagnosis(
                    demand.name,
                    False,
                    f"replicas.max {demand.max_replicas} × at most {best.throughput:.4g} per replica ({best.resource})"
                    f" stays below the target {demand.target:g} {demand.unit}",
                    cap,
                    str(best.resource),
                )
            )
            continue
        out.append(Diagnosis(demand.name, True, f"can reach its target alone (up to {cap:.4g} {demand.unit})", cap, str(best.resource)))
    return out


def explain_infeasible(problem: PlanningProblem) -> list[str]:
    """Reasons a plan does not exist, most specific first."""
    reasons = [f"{d.workload}: {d.message}" for d in diagnose(problem) if not d.ok]
    if not reasons:
        reasons.append(
            "every workload can reach its target alone, but not all together: they compete for the same"
            " GPUs (raise market limits, add node types, or lower targets); `mig-plan explain` shows each"
            " workload's headroom"
        )
    return reasons
