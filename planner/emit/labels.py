"""Node labels from a plan (reference/mig.md §5): `nvidia.com/mig.config=<config>` per node, plus
mig-plan's own bookkeeping labels `mig-plan.io/plan` and `mig-plan.io/revision`.

Each node of the plan is one of
- `changed`: an inventory node whose MIG config differs from today's layout (or today's layout
  is not in the fleet file): setting the label makes the MIG manager repartition it, so drain it;
- `unchanged`: an inventory node the plan keeps as it is (`kept: true`, or its config name is the
  name of today's layout): only the bookkeeping labels change, nothing to drain;
- `new`: a market node still to be provisioned: labelled once it has joined, under its real name.
Inventory nodes the plan leaves empty (`releasable`) are listed, not labelled.

Rendered two ways: a POSIX shell script of `kubectl label node NAME --overwrite k=v ...`
commands (`render_script`), and a multi-document YAML of Node patches (`render_patches`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Literal

from planner.emit.common import (
    LABEL_PREFIX,
    MIG_CONFIG_LABEL,
    ExportError,
    is_label_key,
    plan_label,
    plan_revision,
)
from planner.emit.yamltext import comment_lines, multi_doc
from planner.naming import is_label_value, node_config_name
from planner.plan import Plan
from planner.spec import InventoryNode, LoadedFleet

Status = Literal["changed", "unchanged", "new"]

PLAN_LABEL = LABEL_PREFIX + "plan"
REVISION_LABEL = LABEL_PREFIX + "revision"


@dataclass(frozen=True)
class NodeLabels:
    node: str
    node_type: str
    status: Status
    config: str  # the planned nvidia.com/mig.config
    today: str | None  # today's config name; None when unknown (market node, or no layout in the fleet file)
    labels: dict[str, str]  # what to set: all of them, or only the bookkeeping ones when unchanged
    reason: str

    def to_data(self) -> dict:
        return {
            "node": self.node,
            "node_type": self.node_type,
            "status": self.status,
            "config": self.config,
            "today": self.today,
            "labels": dict(self.labels),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class NodeLabelPlan:
    plan: str  # label-safe plan name
    revision: str
    nodes: tuple[NodeLabels, ...]
    releasable: tuple[str, ...] = field(default_factory=tuple)

    def count(self, status: Status) -> int:
        return sum(1 for n in self.nodes if n.status == status)

    def to_data(self) -> dict:
        return {
            "plan": self.plan,
            "revision": self.revision,
            "nodes": [n.to_data() for n in self.nodes],
            "releasable": list(self.releasable),
        }


def today_config(node: InventoryNode) -> str | None:
    """The config name of today's layout, named as the solver names plans; None when the fleet
    file does not give every GPU's layout."""
    if not node.today or any(layout is None for layout in node.today):
        return None
    return node_config_name([None if layout == "off" else list(layout) for layout in node.today])


def _check(labels: dict[str, str], where: str) -> None:
    for key, value in labels.items():
        if not is_label_key(key):
            raise ExportError(f"label key {key!r} is not a valid Kubernetes label key", where)
        if not is_label_value(value):
            raise ExportError(f"label value {value!r} (for {key}) is not a valid Kubernetes label value", where)


def build(plan: Plan, loaded: LoadedFleet) -> NodeLabelPlan:
    inventory = {n.name: n for n in loaded.inventory}
    name, revision = plan_label(plan), plan_revision(plan)
    bookkeeping = {PLAN_LABEL: name, REVISION_LABEL: revision}
    out: list[NodeLabels] = []
    for ni, node in enumerate(plan.nodes):
        full = {MIG_CONFIG_LABEL: node.mig_config, **bookkeeping}
        _check(full, f"nodes[{ni}]")
        if node.origin == "market":
            out.append(NodeLabels(node.name, node.type, "new", node.mig_config, None, full,
                                  f"market node of type {node.type}, still to be provisioned"))
            continue
        inv = inventory.get(node.name)
        today = today_config(inv) if inv is not None else None
        if node.kept or (today is not None and today == node.mig_config):
            out.append(NodeLabels(node.name, node.type, "unchanged", node.mig_config, today or node.mig_config,
                                  dict(bookkeeping), "keeps today's layout"))
        elif inv is None:
            out.append(NodeLabels(node.name, node.type, "changed", node.mig_config, None, full,
                                  "not among the fleet file's nodes: today's layout unknown"))
        elif today is None:
            out.append(NodeLabels(node.name, node.type, "changed", node.mig_config, None, full,
                                  "the fleet file does not give today's layout of every GPU"))
        else:
            out.append(NodeLabels(node.name, node.type, "changed", node.mig_config, today, full,
                                  f"today {today}"))
    return NodeLabelPlan(name, revision, tuple(out), tuple(plan.releasable))


# --------------------------------------------------------------------------- rendering


def _pairs(labels: dict[str, str]) -> str:
    return " ".join(shlex.quote(f"{k}={v}") for k, v in labels.items())


def _summary(lp: NodeLabelPlan) -> str:
    return (
        f"{lp.count('changed')} changed, {lp.count('unchanged')} unchanged, "
        f"{lp.count('new')} new (to provision), {len(lp.releasable)} releasable"
    )


def render_script(lp: NodeLabelPlan) -> str:
    lines = [
        "#!/bin/sh",
        f"# Node labels for plan {lp.plan} (revision {lp.revision}), generated by mig-plan.",
        f"# {_summary(lp)}.",
        f"# Setting {MIG_CONFIG_LABEL} makes NVIDIA's MIG manager repartition the node's GPUs: drain each",
        "# changed node first (kubectl drain NODE --ignore-daemonsets --delete-emptydir-data) and watch",
        "# nvidia.com/mig.config.state reach 'success'. Unchanged nodes only get mig-plan's own labels.",
        "set -eu",
    ]
    for n in lp.nodes:
        lines.append("")
        cmd = f"kubectl label node {shlex.quote(n.node)} --overwrite {_pairs(n.labels)}"
        if n.status == "changed":
            lines.append(f"# changed: {n.node} ({n.reason}) -> {MIG_CONFIG_LABEL}={n.config}; drain it first")
            lines.append(cmd)
        elif n.status == "unchanged":
            lines.append(f"# unchanged: {n.node} keeps {MIG_CONFIG_LABEL}={n.config} (no MIG change, no drain).")
            lines.append(f"# If the node's {MIG_CONFIG_LABEL} label has another value, set it (same layout, nothing to drain):")
            lines.append(f"#   kubectl label node {shlex.quote(n.node)} --overwrite {_pairs({MIG_CONFIG_LABEL: n.config})}")
            lines.append(cmd)
        else:
            lines.append(f"# new: {n.node} ({n.reason}); once it has joined the cluster, run with its real name:")
            lines.append(f"# {cmd}")
    for name in lp.releasable:
        lines.append("")
        lines.append(f"# releasable: {name} (the plan leaves it empty; not labelled)")
    return "\n".join(lines) + "\n"


def patch_documents(lp: NodeLabelPlan) -> list[tuple[list[str], dict]]:
    """(comments, Node patch) for every node that exists today (changed and unchanged)."""
    docs = []
    for n in lp.nodes:
        if n.status == "new":
            continue
        if n.status == "changed":
            comment = [f"changed: {n.node} ({n.reason}) -> {n.config}; drain it first"]
        else:
            comment = [f"unchanged: {n.node} keeps {n.config} (no MIG change, no drain)"]
        docs.append((comment, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n.node, "labels": dict(n.labels)}}))
    return docs


def render_patches(lp: NodeLabelPlan) -> str:
    header = [
        f"Node label patches for plan {lp.plan} (revision {lp.revision}), generated by mig-plan.",
        f"{_summary(lp)}.",
        "Apply with: kubectl apply --server-side --field-manager=mig-plan -f THIS_FILE",
        f"(drain changed nodes first: setting {MIG_CONFIG_LABEL} repartitions their GPUs).",
    ]
    trailer = [
        f"new: {n.node} ({n.reason}): label it {MIG_CONFIG_LABEL}={n.config} once it has joined"
        for n in lp.nodes
        if n.status == "new"
    ] + [f"releasable: {name} (the plan leaves it empty; not labelled)" for name in lp.releasable]
    return multi_doc(patch_documents(lp), header) + comment_lines(trailer)
