"""Rows for `mig-plan estimate`: every workload on every resource the caller lists."""

from __future__ import annotations

from planner.catalog import Catalog
from planner.perf.estimate import Estimate
from planner.perf.model import PerfModel
from planner.resources import Resource
from planner.spec.models import Fleet


def estimate_rows(
    fleet: Fleet,
    catalog: Catalog,
    resources: list[Resource],
    workload: str | None = None,
    gpu: str | None = None,
) -> list[Estimate]:
    """Estimates in fleet workload order, then in the order of `resources`.

    `workload` keeps one workload (ValueError naming the known ones otherwise); `gpu` keeps the
    resources of one GPU, given by name or alias (UnknownGpu otherwise).
    """
    workloads = fleet.workloads
    if workload is not None:
        workloads = [w for w in fleet.workloads if w.name == workload]
        if not workloads:
            known = ", ".join(w.name for w in fleet.workloads)
            raise ValueError(f"no workload named {workload!r}; the fleet has: {known}")
    if gpu is not None:
        name = catalog.resolve(gpu)
        resources = [r for r in resources if r.gpu in catalog and catalog.resolve(r.gpu) == name]
    model = PerfModel(fleet, catalog)
    return [model.estimate(w, r) for w in workloads for r in resources]
