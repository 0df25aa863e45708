"""Performance model: does one replica of a workload fit a resource (a MIG slice, a whole GPU, an
NVLink tensor-parallel group), and how much of its target unit does it deliver within its SLO.

Formulas follow /work/shared/reference/perf.md; every efficiency factor lives in
`planner/perf/efficiency.py` with its source. Modules: memory (per-GPU footprint), llm (roofline),
diffusion (images and video), speech (real-time factor), units (valid target units per kind),
overrides (measured profiles, generic capacities), hardware (resource shares, precision),
model (PerfModel), table (rows for `mig-plan estimate`).
"""

from planner.perf.estimate import LIMITS, Estimate
from planner.perf.model import PerfModel, workload_kind
from planner.perf.units import VALID_UNITS, valid_units

__all__ = ["LIMITS", "VALID_UNITS", "Estimate", "PerfModel", "valid_units", "workload_kind"]
