"""The fleet file (DESIGN §2): models, loading, and the checks that span sections."""

from planner.spec.load import LoadedFleet, load_fleet, parse_fleet
from planner.spec.models import Fleet, NodeType, Workload
from planner.spec.validate import InventoryNode

__all__ = ["Fleet", "InventoryNode", "LoadedFleet", "NodeType", "Workload", "load_fleet", "parse_fleet"]
