"""Seeded generator of realistic fleet files at four sizes.

    python -m benchmarks.generate M --seed 3 -o fleet-m.yaml

| size | GPUs offered | workloads | node types                                                      |
|------|-------------:|----------:|-----------------------------------------------------------------|
| S    |           16 |         6 | hgx-h100 (market), pcie-h100x4 and l40sx4 (inventory)            |
| M    |         ~512 |        40 | hgx-h100, hgx-h200, pcie-h100x4, a100x8, l40sx4, l4x8            |
| L    |       ~8,000 |       200 | same six, more and larger inventory pools                        |
| XL   |      ~32,000 |       500 | same six                                                         |

GPUs offered = inventory nodes plus every market offer's `max`, times GPUs per node. Each node
type's GPUs are split between inventory (pools of identical nodes, some with today's MIG layouts,
a few single nodes whose GPUs differ) and market offers (some at an on-demand premium).

Workloads are drawn from the model presets in six categories (large LLMs that need tensor
parallelism on 80 GB GPUs, smaller LLMs, image diffusion, video, speech, generic models with
measured capacities). Targets are sized so that the whole demand is a fraction (`Size.load`) of
what the fleet could serve, weighting each GPU type by what it serves compared with an
H100-SXM5-80GB: the plan then uses roughly half to four fifths of the GPUs offered, fast ones first.

Only a `random.Random` seeded with the size and seed draws anything: the same size and seed give the same text. The
throughput figures below are constants (not computed from `planner.perf` at generation time) so
that a fleet stays the same while the performance model evolves; they only scale the targets.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Size:
    gpus: int  # GPUs offered (inventory + market maxima), approximately
    workloads: int
    time_limit_s: float  # default solver time limit for the benchmark runner
    max_pools: int  # inventory pools per node type, at most
    load: float  # demand as a fraction of the fleet's H100-equivalent capacity


SIZES: dict[str, Size] = {
    "S": Size(gpus=16, workloads=6, time_limit_s=10, max_pools=1, load=0.62),
    "M": Size(gpus=512, workloads=40, time_limit_s=9, max_pools=3, load=0.75),
    "L": Size(gpus=8_000, workloads=200, time_limit_s=55, max_pools=5, load=0.75),
    "XL": Size(gpus=32_000, workloads=500, time_limit_s=260, max_pools=6, load=0.75),
}
# The time limits leave room for what planning does around the search (parse, build, greedy warm
# start, placement, verification), so that the whole plan fits the targets: M 10 s,
# L 60 s, XL 5 minutes (`plan_s` in the results).
# `load`: demand ≈ load × the fleet's capacity in H100-SXM5-80GB equivalents (each GPU weighted by
# `NodeKind.capability`). Tuned with the greedy planner so that plans use 50–80% of the GPUs
# offered and greedy still finds a plan: on S (whole nodes of 4 and 8 GPUs) 12 of 16 GPUs; on M
# 60–80% for greedy over seeds 0–11, the fast GPUs (H100, H200) nearly all used.

# --------------------------------------------------------------------------- node types

# Today's MIG layouts an inventory pool may run (each checked with planner.mig.fits by the tests).
_LAYOUTS_80 = (
    ("3g.40gb", "3g.40gb"),
    ("1g.10gb",) * 7,
    ("4g.40gb", "3g.40gb"),
    ("3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"),
    ("2g.20gb", "2g.20gb", "2g.20gb", "1g.10gb"),
    ("7g.80gb",),
)
_LAYOUTS_141 = (
    ("3g.71gb", "3g.71gb"),
    ("1g.18gb",) * 7,
    ("4g.71gb", "3g.71gb"),
    ("3g.71gb", "2g.35gb", "1g.18gb", "1g.18gb"),
    ("7g.141gb",),
)

# MIG profiles for generic workloads' capacities: (profile, usable GiB, compute slices of 7).
_PROFILES_80 = (("1g.10gb", 9.5, 1), ("2g.20gb", 19.5, 2), ("3g.40gb", 39.0, 3), ("4g.40gb", 39.0, 4), ("7g.80gb", 78.5, 7))
_PROFILES_141 = (("1g.18gb", 16.0, 1), ("2g.35gb", 32.0, 2), ("3g.71gb", 69.0, 3), ("4g.71gb", 69.0, 4), ("7g.141gb", 139.0, 7))


@dataclass(frozen=True)
class NodeKind:
    name: str  # node type name in the fleet file
    short: str  # pool name prefix
    gpu: str
    count: int  # GPUs per node
    nvlink: object  # "all" | "none" | [[0, 1], [2, 3]]
    share: float  # fraction of the GPUs offered (M and up)
    price: float  # the fleet's GPU price per hour (before the seeded jitter)
    capability: float  # throughput per GPU against an H100-SXM5-80GB, typical over the presets
    layouts: tuple = ()  # today's MIG layouts inventory may run; empty: no MIG
    profiles: tuple = ()  # MIG profiles for generic capacities
    memory_gb: float = 80.0


NODE_KINDS: dict[str, NodeKind] = {
    k.name: k
    for k in (
        NodeKind("hgx-h100", "h100", "H100-SXM5-80GB", 8, "all", 0.35, 2.00, 1.00, _LAYOUTS_80, _PROFILES_80, 80),
        NodeKind("hgx-h200", "h200", "H200-SXM5-141GB", 8, "all", 0.20, 2.60, 1.20, _LAYOUTS_141, _PROFILES_141, 141),
        NodeKind("pcie-h100x4", "h100p", "H100-PCIE-80GB", 4, [[0, 1], [2, 3]], 0.10, 1.85, 0.68, _LAYOUTS_80, _PROFILES_80, 80),
        NodeKind("a100x8", "a100", "A100-SXM4-80GB", 8, "all", 0.15, 1.45, 0.40, _LAYOUTS_80, _PROFILES_80, 80),
        NodeKind("l40sx4", "l40s", "L40S", 4, "none", 0.10, 0.95, 0.25, (), (), 48),
        NodeKind("l4x8", "l4", "L4", 8, "none", 0.10, 0.55, 0.08, (), (), 24),
    )
}

# --------------------------------------------------------------------------- workload templates


@dataclass(frozen=True)
class Template:
    category: str
    prefix: str  # workload name prefix (DNS-safe)
    unit: str  # target unit
    per_gpu: float  # target units one H100-SXM5-80GB serves on its best resource (perf model, 2025)
    spec: dict = field(default_factory=dict)  # model, precision, tokens, image, video, slo
    min_size: str = "S"  # smallest size the template appears in (TP8 models need big fleets)
    tp2: bool = False  # runs on an H100 NVLink pair: may carry a measured profile on .../tp2


_SIZE_ORDER = ["S", "M", "L", "XL"]

TEMPLATES: tuple[Template, ...] = (
    # Large LLMs: at fp8 they need tensor parallelism on 80 GB GPUs.
    Template("big-llm", "chat-70b", "output_tokens_per_s", 708, {
        "model": "llama-3.1-70b", "precision": "fp8", "tokens": {"input": 2000, "output": 500},
        "slo": {"ttft_ms": 2000, "tpot_ms": 50}}, tp2=True),
    Template("big-llm", "assist-72b", "requests_per_s", 2.09, {
        "model": "qwen2.5-72b", "precision": "fp8", "tokens": {"input": 1500, "output": 400},
        "slo": {"ttft_ms": 3000, "tpot_ms": 60}}, tp2=True),
    Template("big-llm", "agent-235b", "output_tokens_per_s", 905, {
        "model": "qwen3-235b-a22b", "precision": "fp8", "tokens": {"input": 2000, "output": 500},
        "slo": {"tpot_ms": 80}}, min_size="M"),
    Template("big-llm", "frontier-405b", "output_tokens_per_s", 94, {
        "model": "llama-3.1-405b", "precision": "fp8", "tokens": {"input": 2000, "output": 500},
        "slo": {"ttft_ms": 5000, "tpot_ms": 80}}, min_size="L"),
    Template("big-llm", "reason-v3", "output_tokens_per_s", 523, {
        "model": "deepseek-v3", "precision": "fp8", "tokens": {"input": 2000, "output": 500}}, min_size="L"),
    # Smaller LLMs: a whole GPU, a MIG slice, or a TP pair when that is cheaper per token.
    Template("llm", "batch-8b", "requests_per_s", 17.75, {
        "model": "llama-3.1-8b", "precision": "bf16", "tokens": {"input": 1000, "output": 300}}),
    Template("llm", "chat-8b", "output_tokens_per_s", 2826, {
        "model": "llama-3.1-8b", "precision": "bf16", "tokens": {"input": 2000, "output": 400},
        "slo": {"ttft_ms": 1000, "tpot_ms": 40}}),
    Template("llm", "support-7b", "requests_per_s", 29.0, {
        "model": "mistral-7b", "precision": "bf16", "tokens": {"input": 800, "output": 200}}),
    Template("llm", "extract-7b", "requests_per_s", 39.6, {
        "model": "qwen2.5-7b", "precision": "fp8", "tokens": {"input": 1200, "output": 300}}),
    Template("llm", "code-32b", "output_tokens_per_s", 2026, {
        "model": "qwen3-32b", "precision": "fp8", "tokens": {"input": 1500, "output": 400},
        "slo": {"tpot_ms": 60}}),
    Template("llm", "moe-30b", "output_tokens_per_s", 14000, {
        "model": "qwen3-30b-a3b", "precision": "fp8", "tokens": {"input": 1000, "output": 300}}),
    Template("llm", "mixtral", "output_tokens_per_s", 6096, {
        "model": "mixtral-8x7b", "precision": "fp8", "tokens": {"input": 1000, "output": 300}}),
    Template("llm", "summarize-9b", "requests_per_s", 12.2, {
        "model": "gemma-2-9b", "precision": "bf16", "tokens": {"input": 1000, "output": 200}}),
    Template("llm", "triage-27b", "requests_per_s", 9.37, {
        "model": "gemma-2-27b", "precision": "fp8", "tokens": {"input": 1000, "output": 300}}),
    Template("llm", "autocomplete-phi3", "requests_per_s", 39.4, {
        "model": "phi-3-mini", "precision": "bf16", "tokens": {"input": 500, "output": 150}}),
    # Image diffusion.
    Template("diffusion", "images-sdxl", "images_per_s", 1.72, {
        "model": "sdxl", "image": {"width": 1024, "height": 1024, "steps": 30}}),
    Template("diffusion", "thumbs-sd15", "images_per_s", 12.3, {
        "model": "sd-1.5", "image": {"width": 512, "height": 512, "steps": 30}}),
    Template("diffusion", "images-sd3", "images_per_s", 1.415, {"model": "sd3-medium"}),
    Template("diffusion", "art-flux", "images_per_s", 0.298, {"model": "flux.1-dev"}),
    Template("diffusion", "drafts-flux", "images_per_s", 2.03, {"model": "flux.1-schnell"}),
    # Video.
    Template("video", "clips-wan", "videos_per_hour", 43.3, {
        "model": "wan2.1-t2v-1.3b", "video": {"width": 832, "height": 480, "seconds": 5, "fps": 16}}),
    Template("video", "promo-cog2b", "videos_per_hour", 81.5, {"model": "cogvideox-2b"}),
    Template("video", "promo-cog5b", "videos_per_hour", 30.1, {"model": "cogvideox-5b"}),
    Template("video", "studio-wan14b", "videos_per_hour", 1.90, {"model": "wan2.1-t2v-14b"}, min_size="M"),
    Template("video", "studio-hunyuan", "videos_per_hour", 1.88, {"model": "hunyuanvideo"}, min_size="M"),
    # Speech.
    Template("speech", "transcribe", "audio_seconds_per_s", 210, {"model": "whisper-large-v3"}),
    Template("speech", "transcribe-fast", "audio_seconds_per_s", 1680, {"model": "whisper-large-v3-turbo"}),
    Template("speech", "voice-xtts", "realtime_streams", 28, {"model": "xtts-v2"}),
    Template("speech", "voice-f5", "realtime_streams", 40, {"model": "f5-tts"}),
    Template("speech", "voice-kokoro", "realtime_streams", 248, {"model": "kokoro-82m"}),
    Template("speech", "voice-bark", "realtime_streams", 8, {"model": "bark"}),
    # Generic: models the catalog does not know; `per_gpu` is the capacity of a whole H100-SXM5-80GB.
    Template("generic", "embed", "requests_per_s", 2400, {"memory_gb": 4}),
    Template("generic", "rerank", "requests_per_s", 900, {"memory_gb": 6}),
    Template("generic", "moderate", "requests_per_s", 3000, {"memory_gb": 3}),
    Template("generic", "ocr", "requests_per_s", 60, {"memory_gb": 12}),
    Template("generic", "recsys", "requests_per_s", 5000, {"memory_gb": 20}),
)

# (share of the demand, share of the workload count) per category.
CATEGORIES: dict[str, tuple[float, float]] = {
    "big-llm": (0.30, 0.15),
    "llm": (0.30, 0.30),
    "diffusion": (0.12, 0.15),
    "video": (0.10, 0.10),
    "speech": (0.08, 0.15),
    "generic": (0.10, 0.15),
}

# Generic capacity per GPU against an H100-SXM5-80GB (compute-bound small models).
_GENERIC_REL = {"H100-SXM5-80GB": 1.0, "H200-SXM5-141GB": 1.1, "H100-PCIE-80GB": 0.7,
                "A100-SXM4-80GB": 0.45, "L40S": 0.35, "L4": 0.12}

# --------------------------------------------------------------------------- generation


@dataclass
class _Offer:
    kind: NodeKind
    inventory: int  # nodes
    market: int  # nodes (market max)


def _nice(x: float, digits: int = 3) -> float | int:
    """Round to `digits` significant figures; an int when that loses nothing."""
    if x <= 0:
        raise ValueError(x)
    exp = math.floor(math.log10(x))
    q = 10 ** (exp - digits + 1)
    v = round(x / q) * q
    return int(round(v)) if v >= 10 ** (digits - 1) or float(v).is_integer() else float(f"{v:.{digits}g}")


def _rng(size: str, seed: int) -> random.Random:
    # A string seed is hashed the same way in every process (no PYTHONHASHSEED dependence).
    return random.Random(f"{size}:{seed}")


def _plan_offers(size: str, rng: random.Random) -> list[_Offer]:
    if size == "S":
        # 16 GPUs: one HGX node on the market, a PCIe and an L40S node in inventory.
        return [
            _Offer(NODE_KINDS["hgx-h100"], 0, 1),
            _Offer(NODE_KINDS["pcie-h100x4"], 1, 0),
            _Offer(NODE_KINDS["l40sx4"], 1, 0),
        ]
    spec = SIZES[size]
    offers = []
    for kind in NODE_KINDS.values():
        nodes = max(2, round(spec.gpus * kind.share / kind.count))
        inventory = round(nodes * rng.uniform(0.45, 0.65))
        offers.append(_Offer(kind, inventory, nodes - inventory))
    return offers


def offered_gpus(size: str, seed: int = 0) -> int:
    """GPUs the generated fleet offers (inventory + market maxima), without building the YAML."""
    return sum((o.inventory + o.market) * o.kind.count for o in _plan_offers(size, _rng(size, seed)))


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` as `parts` positive integers, seeded."""
    parts = max(1, min(parts, total))
    cuts = sorted(rng.sample(range(1, total), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, total]
    return [b - a for a, b in zip(bounds, bounds[1:])]


def _today(kind: NodeKind, rng: random.Random):
    """Today's layout of a pool: unknown (None), MIG off, or one MIG layout on every GPU."""
    r = rng.random()
    if not kind.layouts:
        return None if r < 0.5 else "off"
    if r < 0.2:
        return None
    if r < 0.45:
        return "off"
    return list(rng.choice(kind.layouts))


def _nodes(offers: list[_Offer], size: str, rng: random.Random) -> list[dict]:
    spec = SIZES[size]
    zones = ["a", "b", "c"]
    out: list[dict] = []
    for offer in offers:
        kind = offer.kind
        remaining = offer.inventory
        if remaining <= 0:
            continue
        if size == "S":
            # Named nodes: the PCIe node runs an NVLink pair MIG off and two GPUs cut for small
            # models today; the L40S node's state is not recorded.
            node: dict = {"name": f"{kind.short}-a-01", "type": kind.name,
                          "labels": {"topology.kubernetes.io/zone": "zone-a"}}
            if kind.layouts:
                node["mig"] = {"all": "off", 2: ["3g.40gb", "3g.40gb"], 3: ["1g.10gb"] * 7}
            out.append(node)
            continue
        # A single node whose GPUs differ (half one layout, half another), for MIG types.
        if kind.layouts and remaining > 2 and rng.random() < 0.7:
            a, b = rng.sample(kind.layouts, 2)
            half = kind.count // 2
            mig: dict = {"all": list(a)}
            for i in range(half, kind.count):
                mig[i] = list(b) if rng.random() < 0.6 else "off"
            zone = rng.choice(zones)
            out.append({"name": f"{kind.short}-{zone}-x01", "type": kind.name,
                        "labels": {"topology.kubernetes.io/zone": f"zone-{zone}"}, "mig": mig})
            remaining -= 1
        pools = _split(remaining, rng.randint(1, spec.max_pools), rng)
        for k, count in enumerate(pools):
            zone = zones[k % len(zones)]
            entry: dict = {"pool": f"{kind.short}-{zone}{k + 1}", "type": kind.name, "count": count,
                           "labels": {"topology.kubernetes.io/zone": f"zone-{zone}"}}
            today = _today(kind, rng)
            if today is not None:
                entry["mig"] = {"all": today}
            out.append(entry)
    return out


def _capacity(template: Template, kinds: list[NodeKind], rng: random.Random) -> dict[str, float]:
    """A generic workload's measured throughput per replica on each resource it fits."""
    memory = template.spec["memory_gb"]
    base = template.per_gpu * rng.uniform(0.9, 1.1)
    out: dict[str, float] = {}
    for kind in kinds:
        rel = _GENERIC_REL[kind.gpu]
        fitting = [p for p in kind.profiles if p[1] >= memory]
        # The two smallest slices that fit, and the largest (7g): small models gain a little from
        # small slices (less contention), so per compute slice they serve slightly more.
        for profile, _, slices in fitting[:2] + fitting[-1:]:
            out[f"{kind.gpu}/{profile}"] = _nice(base * rel * slices / 7 * (1.15 if slices == 1 else 1.0))
        if kind.memory_gb >= memory:
            out[kind.gpu] = _nice(base * rel)
    return out


def _counts_per_category(size: str, rng: random.Random) -> dict[str, int]:
    spec = SIZES[size]
    if size == "S":
        return {c: 1 for c in CATEGORIES}
    counts = {c: max(1, round(spec.workloads * share)) for c, (_, share) in CATEGORIES.items()}
    # Fix rounding on the largest category so the total is exact.
    diff = spec.workloads - sum(counts.values())
    counts["llm"] += diff
    return counts


def generate_data(size: str, seed: int = 0) -> dict:
    """The generated fleet as a mapping (what `generate` writes as YAML)."""
    if size not in SIZES:
        raise ValueError(f"unknown size '{size}'; one of {', '.join(SIZES)}")
    rng = _rng(size, seed)
    spec = SIZES[size]
    offers = _plan_offers(size, rng)
    kinds = [o.kind for o in offers]

    gpus = {k.gpu: {"price_per_hour": round(k.price * rng.uniform(0.95, 1.05), 2)} for k in kinds}
    node_types: dict[str, dict] = {}
    for k in kinds:
        node_types[k.name] = {"gpu": k.gpu, "count": k.count, "nvlink": k.nvlink}
    if "l4x8" in node_types:  # a node type priced as a whole (a provider's bundle)
        node_types["l4x8"]["price_per_hour"] = round(8 * gpus["L4"]["price_per_hour"] * 0.92, 2)

    nodes = _nodes(offers, size, rng)
    market: dict[str, dict] = {}
    for o in offers:
        if o.market <= 0:
            continue
        offer: dict = {"max": o.market}
        if rng.random() < 0.5:  # on demand costs more than what the team already has
            per_node = node_types[o.kind.name].get("price_per_hour", o.kind.count * gpus[o.kind.gpu]["price_per_hour"])
            offer["price_per_hour"] = round(per_node * rng.uniform(1.05, 1.3), 2)
        market[o.kind.name] = offer

    # Demand, in H100-SXM5-80GB equivalents, follows the fleet's capacity.
    capacity = sum((o.inventory + o.market) * o.kind.count * o.kind.capability for o in offers)
    demand = spec.load * capacity
    allowed = [t for t in TEMPLATES if _SIZE_ORDER.index(t.min_size) <= _SIZE_ORDER.index(size)]
    workloads: list[dict] = []
    profiles: list[dict] = []
    used_names: dict[str, int] = {}
    for category, count in _counts_per_category(size, rng).items():
        pool = [t for t in allowed if t.category == category]
        if size == "S" and category == "big-llm":
            pool = [t for t in pool if t.tp2]
        chosen = [rng.choice(pool) for _ in range(count)]
        weights = [rng.lognormvariate(0, 0.6) for _ in chosen]
        total_w = sum(weights)
        for template, w in zip(chosen, weights):
            share = CATEGORIES[category][0] * demand * w / total_w  # H100 equivalents
            used_names[template.prefix] = used_names.get(template.prefix, 0) + 1
            name = f"{template.prefix}-{used_names[template.prefix]:02d}"
            entry: dict = {"name": name}
            if category == "generic":
                entry["kind"] = "generic"
                entry["memory_gb"] = template.spec["memory_gb"]
                entry["capacity"] = _capacity(template, kinds, rng)
            else:
                entry.update({k: v for k, v in template.spec.items() if k != "slo"})
            value = _nice(share * template.per_gpu)
            if template.unit == "realtime_streams":
                value = max(1, math.ceil(value))
            entry["target"] = {template.unit: value}
            if "slo" in template.spec:
                entry["slo"] = template.spec["slo"]
            # Two replicas on two nodes; not for S's large LLM, which has one NVLink node to run on.
            two = rng.random() < 0.35 or (category == "big-llm" and share >= 6)
            if two and not (size == "S" and category == "big-llm"):
                entry["replicas"] = {"min": 2}
            workloads.append(entry)
            if template.tp2 and rng.random() < 0.25:
                profiles.append({"workload": name, "resource": "H100-SXM5-80GB/tp2",
                                 "throughput": _nice(2 * template.per_gpu * rng.uniform(1.0, 1.25)),
                                 "note": "load test"})
    rng.shuffle(workloads)

    data: dict = {
        "version": 1,
        "name": f"bench-{size.lower()}-seed{seed}",
        "gpus": gpus,
        "node_types": node_types,
        "nodes": nodes,
        "market": market,
        "workloads": workloads,
    }
    if profiles:
        data["profiles"] = profiles
    data["objective"] = {"minimize": "cost", "then": ["changes", "distinct_layouts"]}
    data["solver"] = {"time_limit_s": spec.time_limit_s, "relative_gap": 0.0, "workers": 0, "seed": seed}
    return data


def _flow(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 30).strip()


def _scalar(value) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30)
    return text.split("\n...")[0].strip()


def to_yaml(data: dict, header: str = "") -> str:
    """Fleet YAML in the style of examples/: one line per node type, node, offer and profile."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for key, value in data.items():
        if key in ("version", "name"):
            lines.append(f"{key}: {_scalar(value)}")
        elif key in ("gpus", "node_types", "market"):
            lines.append(f"{key}:")
            lines += [f"  {_scalar(k)}: {_flow(v)}" for k, v in value.items()]
        elif key in ("nodes", "profiles"):
            lines.append(f"{key}:")
            lines += [f"  - {_flow(v)}" for v in value]
        elif key == "workloads":
            lines.append("workloads:")
            for w in value:
                first = True
                for k, v in w.items():
                    text = _flow(v) if isinstance(v, (dict, list)) else _scalar(v)
                    lines.append(f"  {'- ' if first else '  '}{k}: {text}")
                    first = False
        else:
            lines.append(f"{key}: {_flow(value)}")
    return "\n".join(lines) + "\n"


def generate(size: str, seed: int = 0) -> str:
    """Fleet YAML text for `size` (S, M, L, XL); deterministic for a given size and seed."""
    data = generate_data(size, seed)
    gpus = offered_gpus(size, seed)
    header = (
        f"Generated by `python -m benchmarks.generate {size} --seed {seed}`: a benchmark fleet of\n"
        f"{gpus} GPUs offered (inventory + market maxima) and {len(data['workloads'])} workloads."
    )
    return to_yaml(data, header)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("size", choices=list(SIZES), help="fleet size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    args = parser.parse_args(argv)
    text = generate(args.size, args.seed)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
