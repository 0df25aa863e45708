"""mig-parted config (reference/mig.md §4) from a plan: what NVIDIA's MIG manager applies.

One named config per distinct node layout, named by the plan's `nodes[].mig_config` (the value of
the node label `nvidia.com/mig.config`), so identical nodes share one. A node whose GPUs all run
the same layout gets one `devices: all` entry; otherwise one entry per group of GPUs with the
same layout (`devices: [3, 4]`). Whole-GPU, tensor-parallel and idle GPUs get
`mig-enabled: false` and no `mig-devices`. Every count map is checked with `planner.mig.fits`:
mig-parted holds counts only and finds the placement itself, so a map that cannot be placed on
an empty GPU would fail on the node.

`device_filter=True` adds the GPU's PCI id (device + NVIDIA's vendor id, `0x233010DE`; a list
when the product has several ids) to every entry, so a config applies only to the GPU type it
was planned for; two GPU types sharing a config name then get one set of entries each.
`all-disabled` (NVIDIA's name for "MIG off everywhere", the GPU Operator's default label) is
always present, unfiltered: released nodes and nodes outside the plan can be set to it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from planner import mig
from planner.catalog import Catalog, Gpu
from planner.emit.common import ExportError, plan_label, plan_revision
from planner.emit.yamltext import FlowList, comment_lines, dump
from planner.naming import is_label_value
from planner.plan import GpuPlan, NodePlan, Plan

NVIDIA_VENDOR_ID = "10DE"
ALL_DISABLED = "all-disabled"


@dataclass(frozen=True)
class Entry:
    """One entry of a named config: which GPUs, MIG on or off, and how many of each profile."""

    devices: tuple[int, ...] | None  # None = all
    mig_enabled: bool
    mig_devices: tuple[tuple[str, int], ...] = ()  # (profile, count), largest profile first
    device_filter: tuple[str, ...] = ()

    def to_data(self) -> dict:
        data: dict = {"devices": "all" if self.devices is None else FlowList(self.devices)}
        if self.device_filter:
            data["device-filter"] = (
                self.device_filter[0] if len(self.device_filter) == 1 else FlowList(self.device_filter)
            )
        data["mig-enabled"] = self.mig_enabled
        if self.mig_enabled:
            data["mig-devices"] = dict(self.mig_devices)
        return data


@dataclass(frozen=True)
class MigPartedConfig:
    configs: dict[str, tuple[Entry, ...]]  # by name, sorted
    users: dict[str, tuple[str, ...]]  # config name -> the plan's nodes that use it

    def to_data(self) -> dict:
        return {
            "version": "v1",
            "mig-configs": {name: [e.to_data() for e in entries] for name, entries in self.configs.items()},
        }


def pci_filter(gpu: Gpu) -> tuple[str, ...]:
    """mig-parted's device-filter values for a GPU type: `0x<device><vendor>`, upper-case hex."""
    ids = [i for i in (gpu.pci_device_id, *gpu.alt_pci_device_ids) if i]
    return tuple(f"0x{i[2:].upper()}{NVIDIA_VENDOR_ID}" for i in ids)


def _profile_order(profile: str) -> tuple:
    g = profile.split("g", 1)[0]
    return (-int(g) if g.isdigit() else 0, profile)


def gpu_counts(gpu: Gpu, gp: GpuPlan, where: str) -> tuple[tuple[str, int], ...] | None:
    """The GPU's count map (None = MIG off), checked to be placeable on an empty GPU."""
    if gp.mode != "mig":
        return None
    if gpu.mig is None:
        raise ExportError(f"{gpu.name} has no MIG, but the plan runs MIG instances on it", where)
    counts = Counter(inst.profile for inst in gp.instances or [])
    try:
        placeable = mig.fits(gpu, counts)
    except mig.MigError as exc:
        raise ExportError(str(exc), where) from None
    if not placeable:
        listed = ", ".join(f"{n}x {p}" for p, n in sorted(counts.items()))
        raise ExportError(
            f"MIG instances {listed} cannot be placed together on one {gpu.name}",
            where,
            "this plan would fail on the node; re-run `mig-plan solve` (and report it if it came from solve)",
        )
    return tuple(sorted(counts.items(), key=lambda kv: _profile_order(kv[0])))


def node_entries(node: NodePlan, gpu: Gpu, where: str, device_filter: bool = False) -> tuple[Entry, ...]:
    """The entries of one node's config: `devices: all` when its GPUs agree, else one entry per
    group of GPUs with the same layout, groups in the order of their first GPU."""
    groups: dict[tuple | None, list[int]] = {}
    for gi, gp in enumerate(node.gpus):
        key = gpu_counts(gpu, gp, f"{where}.gpus[{gi}]")
        groups.setdefault(key, []).append(gp.index)
    filt = pci_filter(gpu) if device_filter else ()
    whole = len(groups) == 1
    return tuple(
        Entry(
            devices=None if whole else tuple(sorted(indices)),
            mig_enabled=counts is not None,
            mig_devices=counts or (),
            device_filter=filt,
        )
        for counts, indices in groups.items()
    )


def build(plan: Plan, catalog: Catalog, device_filter: bool = False) -> MigPartedConfig:
    """The mig-parted config for every node of the plan (pure: no text)."""
    per_name: dict[str, dict[str, tuple[Entry, ...]]] = {}  # name -> GPU type -> entries
    first_user: dict[tuple[str, str], str] = {}
    users: dict[str, list[str]] = {}
    for ni, node in enumerate(plan.nodes):
        where = f"nodes[{ni}]"
        name = node.mig_config
        if not is_label_value(name) or not name:
            raise ExportError(
                f"mig_config {name!r} of node {node.name} is not a valid label value",
                where + ".mig_config",
                "at most 63 characters of letters, digits, '-', '_' and '.', starting and ending alphanumeric",
            )
        try:
            gpu = catalog.gpu(node.gpu)
        except KeyError as exc:
            raise ExportError(str(exc), where + ".gpu") from None
        entries = node_entries(node, gpu, where, device_filter)
        by_gpu = per_name.setdefault(name, {})
        seen = by_gpu.get(gpu.name)
        if seen is not None and seen != entries:
            raise ExportError(
                f"config {name!r} means different layouts on node {first_user[(name, gpu.name)]} and node {node.name}",
                where + ".mig_config",
                "one config name must stand for one layout; re-run `mig-plan solve`",
            )
        by_gpu[gpu.name] = entries
        first_user.setdefault((name, gpu.name), node.name)
        users.setdefault(name, []).append(node.name)

    configs: dict[str, tuple[Entry, ...]] = {}
    for name, by_gpu in per_name.items():
        variants = list(by_gpu.values())
        if device_filter:
            configs[name] = tuple(e for entries in variants for e in entries)
            continue
        if any(v != variants[0] for v in variants[1:]):
            raise ExportError(
                f"config {name!r} means different layouts on {' and '.join(by_gpu)}",
                "nodes",
                "export with --device-filter, so that each GPU type gets its own entries",
            )
        configs[name] = variants[0]
    disabled = (Entry(devices=None, mig_enabled=False),)
    if ALL_DISABLED in configs and not all(
        not e.mig_enabled and e.devices is None for e in configs[ALL_DISABLED]
    ):
        raise ExportError(f"config {ALL_DISABLED!r} is used for a layout with MIG on", "nodes")
    configs[ALL_DISABLED] = disabled  # MIG off on every GPU, whatever its type
    return MigPartedConfig(
        configs={k: configs[k] for k in sorted(configs)},
        users={k: tuple(users.get(k, ())) for k in sorted(configs)},
    )


def header(plan: Plan, config: MigPartedConfig) -> list[str]:
    lines = [
        f"mig-parted config generated by mig-plan from plan {plan_label(plan)} (revision {plan_revision(plan)}).",
        "Select a config on a node with the label nvidia.com/mig.config=<name> (see `mig-plan export --format labels`).",
    ]
    for name, nodes in config.users.items():
        lines.append(f"  {name}: " + (", ".join(nodes) if nodes else "no node in this plan (NVIDIA's name for MIG off)"))
    if plan.releasable:
        lines.append(f"Left empty by the plan (releasable): {', '.join(plan.releasable)}.")
    return lines


def render(plan: Plan, config: MigPartedConfig) -> str:
    return comment_lines(header(plan, config)) + dump(config.to_data())


def config_text(config: MigPartedConfig) -> str:
    """The bare config (no comments): what goes into the GPU Operator's ConfigMap."""
    return dump(config.to_data())
