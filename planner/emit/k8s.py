"""Kubernetes objects from a plan (DESIGN §6): the GPU Operator's MIG settings and one Deployment
per workload and resource kind.

- A ConfigMap `mig-plan-mig-parted-config` in namespace `gpu-operator` carrying the mig-parted
  config (`config.yaml`), and a ClusterPolicy fragment pointing the MIG manager at it with the
  device plugin's `mixed` strategy (mixed layouts need it, reference/mig.md §5). The ConfigMap is
  not called `default-mig-parted-config`: the GPU Operator owns that one and reconciles it back
  to NVIDIA's defaults. ClusterPolicy is a custom resource (nvidia.com/v1): only with the GPU
  Operator's CRD installed does a cluster know it, and no Kubernetes schema covers it.
- Per workload, one Deployment per resource its replicas run on (`H100-SXM5-80GB/3g.40gb`,
  `L4`, `H100-SXM5-80GB/tp2`), named `<workload>-<gpu>[-<slice>]` (DNS-1123, ≤ 63), with the
  planned replica count; each container asks for `nvidia.com/mig-<profile>: 1` (mixed strategy,
  `+` written `.`) or `nvidia.com/gpu: N` (whole GPUs; N for a tensor-parallel group), and node
  affinity pins the pods to the planned nodes (`kubernetes.io/hostname In [...]`).
- Image, args, env and port come from the fleet file's `workloads[].serving`. Without an image
  the Deployment runs `PLACEHOLDER_IMAGE`, a name under the reserved `.invalid` domain that can
  never be pulled, and says so in the annotation `mig-plan.io/placeholder-image: "true"` and a
  comment.

Affinity pins pods to the set of planned nodes, not each pod to its planned node: the scheduler
may arrange them differently within that set; `mig-plan.io/planned-replicas` records the plan's
arrangement. Market nodes carry placeholder names until provisioned (said in a comment).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from planner.catalog import Catalog
from planner.emit import migparted
from planner.emit.common import (
    LABEL_PREFIX,
    ExportError,
    dns_label,
    is_label_key,
    mig_resource,
    plan_label,
    plan_revision,
)
from planner.emit.yamltext import FlowList, multi_doc
from planner.naming import is_dns1123_label, is_label_value, short_profile
from planner.plan import Plan
from planner.spec import LoadedFleet

PLACEHOLDER_IMAGE = "registry.example.invalid/mig-plan/placeholder:0"
GPU_OPERATOR_NAMESPACE = "gpu-operator"
MIG_PARTED_CONFIGMAP = "mig-plan-mig-parted-config"
CLUSTER_POLICY_NAME = "cluster-policy"  # the name the GPU Operator's Helm chart gives it
HOSTNAME_LABEL = "kubernetes.io/hostname"


@dataclass(frozen=True)
class Site:
    """Where one workload's replicas of one resource run: node -> replicas, in plan order."""

    workload: str
    resource: str
    gpu: str
    slice: str | None  # MIG profile, 'tpN', or None for a whole GPU
    nodes: dict[str, int]
    origin: dict[str, str]  # node -> inventory | market

    @property
    def replicas(self) -> int:
        return sum(self.nodes.values())

    def requests(self) -> dict[str, int]:
        if self.slice is None:
            return {"nvidia.com/gpu": 1}
        if self.slice.startswith("tp") and self.slice[2:].isdigit():
            return {"nvidia.com/gpu": int(self.slice[2:])}
        return {mig_resource(self.slice): 1}


def replica_sites(plan: Plan) -> list[Site]:
    """Every (workload, resource) pair the plan runs, with its nodes, in the order of the plan's
    workloads and their replica groups; cross-checked against the plan's replica counts."""
    found: dict[tuple[str, str], dict[str, int]] = {}
    shape: dict[tuple[str, str], tuple[str, str | None]] = {}
    origin: dict[str, str] = {}
    for node in plan.nodes:
        origin[node.name] = node.origin
        tp_size = Counter(gp.group for gp in node.gpus if gp.mode == "tp")
        tp_seen: set[str] = set()
        for gp in node.gpus:
            items: list[tuple[str, str | None]] = []  # (workload, slice)
            if gp.mode == "mig":
                items = [(i.workload, i.profile) for i in gp.instances or [] if i.workload]
            elif gp.mode == "full" and gp.workload:
                items = [(gp.workload, None)]
            elif gp.mode == "tp" and gp.workload and gp.group not in tp_seen:
                tp_seen.add(gp.group)
                items = [(gp.workload, f"tp{tp_size[gp.group]}")]
            for workload, slice_ in items:
                resource = node.gpu if slice_ is None else f"{node.gpu}/{slice_}"
                key = (workload, resource)
                found.setdefault(key, {}).setdefault(node.name, 0)
                found[key][node.name] += 1
                shape[key] = (node.gpu, slice_)
    sites: list[Site] = []
    for wi, w in enumerate(plan.workloads):
        for ri, group in enumerate(w.replicas):
            key = (w.name, group.resource)
            nodes = found.pop(key, {})
            if sum(nodes.values()) != group.count:
                raise ExportError(
                    f"workload {w.name} has {group.count} replica(s) on {group.resource}, but the plan's nodes "
                    f"place {sum(nodes.values())}",
                    f"workloads[{wi}].replicas[{ri}]",
                    "the plan file is inconsistent; re-run `mig-plan solve`",
                )
            if group.count:
                gpu, slice_ = shape[key]
                sites.append(Site(w.name, group.resource, gpu, slice_, nodes, {n: origin[n] for n in nodes}))
    if found:
        (workload, resource), nodes = next(iter(found.items()))
        raise ExportError(
            f"the plan's nodes place workload {workload} on {resource} ({', '.join(nodes)}), "
            "but its workloads section lists no such replicas",
            "nodes",
            "the plan file is inconsistent; re-run `mig-plan solve`",
        )
    return sites


def deployment_name(site: Site) -> str:
    parts = [site.workload, site.gpu]
    if site.slice is not None:
        parts.append(site.slice if site.slice.startswith("tp") else short_profile(site.slice))
    return dns_label("-".join(parts))


def _labels_ok(labels: dict[str, str], where: str) -> dict[str, str]:
    for key, value in labels.items():
        if not is_label_key(key) or not is_label_value(value):
            raise ExportError(f"label {key}={value!r} is not valid Kubernetes label syntax", where)
    return labels


def _serving(site: Site, loaded: LoadedFleet):
    for i, w in enumerate(loaded.fleet.workloads):
        if w.name == site.workload:
            return i, w.serving
    return None, None


def _container(site: Site, loaded: LoadedFleet) -> tuple[dict, bool]:
    serving = _serving(site, loaded)[1]
    image = serving.image if serving is not None and serving.image else None
    container: dict = {"name": site.workload, "image": image or PLACEHOLDER_IMAGE}
    if serving is not None and serving.args:
        container["args"] = list(serving.args)
    if serving is not None and serving.env:
        container["env"] = [{"name": k, "value": v} for k, v in serving.env.items()]
    if serving is not None and serving.port is not None:
        container["ports"] = [{"name": "serve", "containerPort": serving.port, "protocol": "TCP"}]
    requests = site.requests()
    container["resources"] = {"requests": dict(requests), "limits": dict(requests)}
    return container, image is None


def _affinity(nodes: list[str]) -> dict:
    if all(is_label_value(n) for n in nodes):
        term = {"matchExpressions": [{"key": HOSTNAME_LABEL, "operator": "In", "values": FlowList(nodes)}]}
    else:  # a node name that is no label value: select on the node's name itself
        term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": FlowList(nodes)}]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


def deployment(site: Site, loaded: LoadedFleet, plan_name: str, revision: str) -> tuple[list[str], dict]:
    name = deployment_name(site)
    container, placeholder = _container(site, loaded)
    selector = {"app.kubernetes.io/name": site.workload, "app.kubernetes.io/instance": name}
    pod_labels = {**selector, LABEL_PREFIX + "workload": site.workload}
    labels = {
        **pod_labels,
        "app.kubernetes.io/managed-by": "mig-plan",
        LABEL_PREFIX + "plan": plan_name,
        LABEL_PREFIX + "revision": revision,
    }
    where = f"deployment {name}"
    _labels_ok(labels, where)
    annotations = {
        LABEL_PREFIX + "resource": site.resource,
        LABEL_PREFIX + "planned-replicas": ", ".join(f"{n}={k}" for n, k in site.nodes.items()),
    }
    template_meta: dict = {"labels": pod_labels}
    comments = [f"{site.workload}: {site.replicas} replica(s) on {site.resource}"]
    if placeholder:
        annotations[LABEL_PREFIX + "placeholder-image"] = "true"
        template_meta["annotations"] = {LABEL_PREFIX + "placeholder-image": "true"}
        index = _serving(site, loaded)[0]
        where = f"workloads[{index}].serving.image" if index is not None else "its serving.image"
        comments.append(
            f"PLACEHOLDER IMAGE: the fleet file gives no image for workload {site.workload}, and "
            f"{PLACEHOLDER_IMAGE} can never be pulled: set {where} and export again."
        )
    market = [n for n, o in site.origin.items() if o == "market"]
    if market:
        comments.append(
            f"{', '.join(market)}: market node(s) still to be provisioned; put their real names in the node affinity."
        )
    if site.slice is not None and site.slice.startswith("tp"):
        comments.append(
            f"each replica takes {site.slice[2:]} whole GPUs of one node, which the plan puts in one NVLink group."
        )
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {
            "replicas": site.replicas,
            "selector": {"matchLabels": dict(selector)},
            "template": {
                "metadata": template_meta,
                "spec": {"affinity": _affinity(list(site.nodes)), "containers": [container]},
            },
        },
    }
    return comments, doc


def operator_documents(
    plan: Plan, catalog: Catalog, device_filter: bool, plan_name: str, revision: str
) -> list[tuple[list[str], dict]]:
    config = migparted.build(plan, catalog, device_filter)
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": MIG_PARTED_CONFIGMAP,
            "namespace": GPU_OPERATOR_NAMESPACE,
            "labels": {
                "app.kubernetes.io/managed-by": "mig-plan",
                LABEL_PREFIX + "plan": plan_name,
                LABEL_PREFIX + "revision": revision,
            },
        },
        "data": {"config.yaml": migparted.config_text(config)},
    }
    _labels_ok(configmap["metadata"]["labels"], "configmap")
    policy = {
        "apiVersion": "nvidia.com/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": CLUSTER_POLICY_NAME},
        "spec": {
            "mig": {"strategy": "mixed"},
            "migManager": {
                "enabled": True,
                "config": {"name": MIG_PARTED_CONFIGMAP, "default": migparted.ALL_DISABLED},
            },
        },
    }
    patch = json.dumps({"spec": policy["spec"]}, separators=(",", ":"))
    return [
        (
            [
                "The mig-parted config for NVIDIA's MIG manager (GPU Operator); nodes select a config with",
                "the label nvidia.com/mig.config (mig-plan export --format labels).",
            ],
            configmap,
        ),
        (
            [
                "FRAGMENT of the GPU Operator's ClusterPolicy (a custom resource, nvidia.com/v1; no Kubernetes",
                "schema covers it). Merge it into the existing one rather than creating another, e.g.",
                f"kubectl patch clusterpolicies.nvidia.com/{CLUSTER_POLICY_NAME} --type merge -p '{patch}'",
                "or set the Helm values mig.strategy=mixed and migManager.config.name. The mixed strategy exposes",
                "each MIG profile as its own resource, nvidia.com/mig-<profile>.",
            ],
            policy,
        ),
    ]


def build(plan: Plan, loaded: LoadedFleet, device_filter: bool = False) -> list[tuple[list[str], dict]]:
    """Every object to apply, each with the comments to print before it (pure: no text)."""
    plan_name, revision = plan_label(plan), plan_revision(plan)
    docs = operator_documents(plan, loaded.catalog, device_filter, plan_name, revision)
    names: dict[str, str] = {}
    for site in replica_sites(plan):
        comments, doc = deployment(site, loaded, plan_name, revision)
        name = doc["metadata"]["name"]
        if not is_dns1123_label(name) or name in names:
            raise ExportError(
                f"Deployment name {name!r} for {site.workload} on {site.resource} "
                + ("collides with the one for " + names[name] if name in names else "is not a DNS-1123 label"),
                "workloads",
            )
        names[name] = f"{site.workload} on {site.resource}"
        docs.append((comments, doc))
    return docs


def render(plan: Plan, docs: list[tuple[list[str], dict]]) -> str:
    header = [
        f"Kubernetes objects for plan {plan_label(plan)} (revision {plan_revision(plan)}), generated by mig-plan.",
        "kubectl apply -f THIS_FILE   (the ClusterPolicy needs the GPU Operator's CRD; Deployments go to the current namespace)",
    ]
    return multi_doc(docs, header)
