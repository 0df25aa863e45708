"""Numbers the user gives instead of estimates: fleet `profiles:` (measured throughput of a
workload on a resource) and a generic workload's `capacity:` map. Resource GPU names may be
aliases; everything is keyed by the canonical resource string."""

from __future__ import annotations

from planner.catalog import Catalog, UnknownGpu
from planner.resources import Resource, ResourceSyntaxError, parse_resource
from planner.spec.models import Fleet


def canonical(catalog: Catalog, resource: Resource | str) -> Resource | None:
    """The resource with its GPU's canonical name; None when it does not parse or resolve."""
    try:
        res = parse_resource(resource) if isinstance(resource, str) else resource
        name = catalog.resolve(res.gpu)
    except (ResourceSyntaxError, UnknownGpu):
        return None
    return Resource(name, res.kind, res.profile, res.gpus)


class Overrides:
    """Measured throughputs by (workload, canonical resource). Entries that do not parse or name
    an unknown GPU are skipped here; the spec validator reports them."""

    def __init__(self, fleet: Fleet, catalog: Catalog):
        self.profiles: dict[tuple[str, str], float] = {}
        for entry in fleet.profiles:
            res = canonical(catalog, entry.resource)
            if res is not None:
                self.profiles[(entry.workload, str(res))] = float(entry.throughput)
        self.capacity: dict[str, dict[str, float]] = {}
        for w in fleet.workloads:
            if w.capacity:
                table: dict[str, float] = {}
                for text, value in w.capacity.items():
                    res = canonical(catalog, text)
                    if res is not None:
                        table[str(res)] = float(value)
                self.capacity[w.name] = table

    def measured(self, workload: str, resource: str) -> float | None:
        return self.profiles.get((workload, resource))

    def given_capacity(self, workload: str, resource: str) -> float | None:
        return self.capacity.get(workload, {}).get(resource)
