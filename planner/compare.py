"""What does MIG, and what does a mixed fleet, save? The same fleet solved three ways:
as it is, with MIG off everywhere (whole GPUs and NVLink groups only), and restricted to the one
GPU type whose single-type plan is cheapest. Each variant is a restricted problem of the same
model, solved and verified like any plan."""

from __future__ import annotations

from dataclasses import dataclass

from planner.errors import NoFeasiblePlan
from planner.offers import used_node_types
from planner.perf import PerfModel
from planner.plan import Plan
from planner.planning import make_plan
from planner.problem import build_problem
from planner.spec import LoadedFleet


@dataclass
class Variant:
    name: str  # "as-is" | "no-mig" | "single-type"
    description: str
    plan: Plan | None
    reasons: list[str]
    gpu_type: str | None = None
    interrupted: bool = False  # Ctrl-C: stopped during this variant's search, or before it began

    def to_dict(self) -> dict:
        plan = self.plan
        return {
            "name": self.name,
            "description": self.description,
            "status": plan.status if plan else ("not solved" if self.interrupted else "infeasible"),
            "interrupted": self.interrupted,
            "cost_per_hour": plan.cost_per_hour if plan else None,
            "lower_bound_per_hour": plan.lower_bound_per_hour if plan else None,
            "gap": plan.gap if plan else None,
            "nodes": len(plan.nodes) if plan else None,
            "gpus": sum(len(n.gpus) for n in plan.nodes) if plan else None,
            "mig_gpus": sum(1 for n in plan.nodes for g in n.gpus if g.mode == "mig") if plan else None,
            "gpu_type": self.gpu_type,
            "reasons": self.reasons,
        }


def _solve(loaded: LoadedFleet, perf: PerfModel, time_limit_s: float | None, **restrict) -> tuple[Plan | None, list[str]]:
    problem = build_problem(loaded, perf, **restrict)
    if not problem.groups:
        return None, ["no node type of this kind is offered"]
    try:
        return make_plan(loaded, "cp-sat", time_limit_s, problem=problem), []
    except NoFeasiblePlan as exc:
        return None, list(getattr(exc, "reasons", [str(exc)]))


def compare(loaded: LoadedFleet, time_limit_s: float | None = None) -> list[Variant]:
    """The three variants. After a Ctrl-C (a plan comes back interrupted) the variants not yet
    solved are not started: they are listed as interrupted, with no plan."""
    perf = PerfModel(loaded.fleet, loaded.catalog)
    stopped = False

    def solve(name: str, description: str, gpu_type: str | None = None, **restrict) -> Variant:
        nonlocal stopped
        if stopped:
            return Variant(name, description, None, ["not solved: interrupted before it began"], gpu_type, interrupted=True)
        plan, reasons = _solve(loaded, perf, time_limit_s, **restrict)
        stopped = plan is not None and plan.solver.interrupted
        return Variant(name, description, plan, reasons, gpu_type, interrupted=stopped)

    variants = [solve("as-is", "the fleet as written")]
    variants.append(solve("no-mig", "MIG off: whole GPUs and NVLink groups only", allow_mig=False))
    gpu_types = list(dict.fromkeys(loaded.fleet.node_types[t].gpu for t in used_node_types(loaded.fleet)))
    best: Variant | None = None
    for gpu in gpu_types:
        candidate = solve("single-type", f"only {gpu} nodes", gpu, gpu_types=frozenset({gpu}))
        plan = candidate.plan
        if best is None or (plan is not None and (best.plan is None or plan.cost_per_hour < best.plan.cost_per_hour)):
            best = candidate
    if best is not None:
        if best.plan is None and best.interrupted:
            best = Variant("single-type", "one GPU type only", None, best.reasons, interrupted=True)
        elif best.plan is None:
            best = Variant("single-type", "one GPU type only", None, ["no single GPU type can serve every workload"])
        elif stopped:
            # Only some single-type fleets were solved: the cheapest of those may not be the best.
            best.reasons = ["interrupted: the cheapest of the single-type fleets solved before Ctrl-C"]
            best.interrupted = True
        variants.append(best)
    return variants


def savings(variants: list[Variant]) -> dict[str, float | None]:
    """Dollars per hour the as-is plan saves against each restricted variant (None if either failed)."""
    base = variants[0].plan
    out: dict[str, float | None] = {}
    for v in variants[1:]:
        out[v.name] = round(v.plan.cost_per_hour - base.cost_per_hour, 4) if base and v.plan else None
    return out
