"""The plan file (DESIGN §3, public contract) as pydantic models, with YAML/JSON I/O.

Fields may be added, never renamed or repurposed: users' scripts read these files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer

from planner.errors import InputError, Problem


class _Model(BaseModel):
    # NaN or infinity in a plan is an edit or a corruption, never something `solve` writes.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SolverInfo(_Model):
    name: str
    seconds: float
    workers: int
    seed: int
    time_limit_s: float | None = None
    interrupted: bool = False  # stopped by the user (Ctrl-C): the best verified plan found so far
    notes: list[str] = Field(default_factory=list)
    # Which engine found the plan's sizing: cp-sat, highs (raced beside CP-SAT on large fleets) or
    # greedy (the warm start, when nothing beat it). Absent in plans written before it existed.
    found_by: str | None = None


class ReplicaGroup(_Model):
    resource: str
    count: int
    throughput_each: float
    source: Literal["estimate", "measured"]


class WorkloadPlan(_Model):
    name: str
    target: dict[str, float]
    capacity: float  # same unit as target
    headroom: float  # capacity / target - 1
    replicas: list[ReplicaGroup]
    cost_per_hour: float  # share of node cost, by the GPU share its replicas take


class Instance(_Model):
    profile: str
    start: int
    workload: str | None


class GpuPlan(_Model):
    index: int
    mode: Literal["mig", "full", "tp", "idle"]
    instances: list[Instance] | None = None  # mode mig
    group: str | None = None  # mode tp: the TP group's id, shared by its GPUs
    workload: str | None = None  # mode full / tp

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler):
        # Only the fields of the GPU's mode are written: {index, mode: tp, group, workload}.
        return {k: v for k, v in handler(self).items() if v is not None}


class NodePlan(_Model):
    name: str
    type: str
    gpu: str
    origin: Literal["inventory", "market"]
    price_per_hour: float
    mig_config: str
    kept: bool  # layout unchanged against the fleet file's nodes[].mig
    gpus: list[GpuPlan]


class Change(_Model):
    node: str
    gpus: list[int]
    from_: list[str] = Field(alias="from")
    to: list[str]

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class Rounding(_Model):
    price_max_error_per_node: float
    capacity_max_relative_error: float
    note: str


class Plan(_Model):
    version: Literal[1] = 1
    fleet: str
    # The fleet file solved, relative to the plan file's directory (or absolute); plans written
    # before that recorded it as given to `solve`, relative to where it ran (read: `fleet_candidates`).
    fleet_file: str | None = None
    fleet_sha256: str
    status: Literal["optimal", "feasible", "infeasible", "unknown"]
    cost_per_hour: float
    lower_bound_per_hour: float | None
    gap: float | None
    solver: SolverInfo
    workloads: list[WorkloadPlan]
    nodes: list[NodePlan]
    releasable: list[str] = Field(default_factory=list)  # inventory nodes the plan leaves empty
    changes: list[Change] = Field(default_factory=list)
    rounding: Rounding | None = None

    def to_data(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)


def dump_plan(plan: Plan, fmt: str) -> str:
    data = plan.to_data()
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    # libyaml's emitter where PyYAML has it: same text, ~3x faster on 8,000-GPU plans.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)


def fleet_file_entry(fleet_path: str | Path, plan_path: str | Path | None) -> str | None:
    """`fleet_file` as a plan written to `plan_path` records it: relative to the plan's directory
    (both with symbolic links resolved), so that `export` and `report` find the fleet from
    wherever they run; an absolute path, or a plan that is no regular file (a pipe, /dev/stdout),
    keeps the path as given. None for a path that cannot be written as text (not valid UTF-8)."""
    text = str(fleet_path)
    if plan_path is not None and not Path(fleet_path).is_absolute() and _is_regular_or_new(Path(plan_path)):
        try:
            text = os.path.relpath(os.path.realpath(fleet_path), os.path.dirname(os.path.realpath(plan_path)))
        except ValueError:  # another drive (Windows): no relative path exists
            text = os.path.abspath(fleet_path)
        text = text.replace(os.sep, "/")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


def _is_regular_or_new(path: Path) -> bool:
    try:
        return path.is_file() or not path.exists()
    except OSError:
        return False


def fleet_candidates(plan: "Plan", plan_path: str | Path) -> list[Path]:
    """Where the fleet file a plan names may be: next to the plan (how `solve` records it; the
    plan's real directory first, for a plan reached through a link), then relative to the
    current directory (how plans written before that recorded it)."""
    if not plan.fleet_file:
        return []
    named = Path(plan.fleet_file)
    if named.is_absolute():
        return [named]
    out: list[Path] = []
    for directory in (Path(os.path.realpath(plan_path)).parent, Path(plan_path).parent, Path(".")):
        if directory / named not in out:
            out.append(directory / named)
    return out


def plan_format(path: str | Path) -> str:
    return "json" if str(path).lower().endswith(".json") else "yaml"


def load_plan(path: str | Path) -> Plan:
    from planner.spec.errors import problems_from_validation
    from planner.yamlio import load_document

    doc = load_document(path)
    if not isinstance(doc.data, dict):
        raise InputError([Problem("not a plan file: the top level is not a mapping", "", 1, None, str(path))])
    if "node_types" in doc.data and "fleet_sha256" not in doc.data:
        raise InputError(
            [
                Problem(
                    "this is a fleet file, not a plan",
                    "",
                    1,
                    f"solve it first with `mig-plan solve {path} -o plan.yaml`, then pass the plan file",
                    str(path),
                )
            ]
        )
    try:
        return Plan.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, Plan, doc))
