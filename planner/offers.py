"""What a fleet can offer a replica: the resources of every node type it has or may buy.

A node type offers each MIG profile of its GPU (media variants aside: no workload here asks for
media engines), the whole GPU, and each tensor-parallel size its NVLink topology allows.
"""

from __future__ import annotations

from planner.catalog import Catalog
from planner.resources import Resource
from planner.spec.models import Fleet, NodeType
from planner.topology import tp_sizes


def node_type_resources(node_type: NodeType, catalog: Catalog) -> list[Resource]:
    gpu = catalog.gpu(node_type.gpu)
    out: list[Resource] = []
    if gpu.mig is not None:
        out.extend(Resource.mig(gpu.name, p.name) for p in gpu.mig.profiles if not p.media)
    out.append(Resource.full(gpu.name))
    out.extend(Resource.tp(gpu.name, s) for s in tp_sizes(node_type.count, node_type.nvlink))
    return out


def used_node_types(fleet: Fleet) -> list[str]:
    """Node types that have nodes today or a market offer, in the file's order."""
    used = {n.type for n in fleet.nodes} | {name for name, offer in fleet.market.items() if offer.max > 0}
    return [name for name in fleet.node_types if name in used]


def offered_resources(fleet: Fleet, catalog: Catalog) -> list[Resource]:
    """Every distinct resource the fleet's nodes (today's and buyable) can provide, stable order."""
    seen: dict[Resource, None] = {}
    for name in used_node_types(fleet):
        for res in node_type_resources(fleet.node_types[name], catalog):
            seen.setdefault(res, None)
    return list(seen)
