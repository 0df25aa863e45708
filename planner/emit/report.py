"""The HTML report (DESIGN §6): one self-contained file people can look at.

Pure: a `Plan` (plus the catalog, for MIG slot geometry) in, an HTML string out. No network
references, no script, no timestamps: the same plan renders to the same bytes. Identical nodes
(same type, origin, price and per-GPU content) are drawn once as a card "×N", so a 1,000-node
fleet renders as a handful of drawings.
"""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from planner.plan import GpuPlan, NodePlan, Plan

# Light, distinct fills that keep dark text readable; workloads take them in plan order.
PALETTE = (
    "#7fb8e6", "#f4a259", "#8cc97a", "#e88c8c", "#b59ad9", "#e6c35c",
    "#6fcfc4", "#f09ac6", "#a8b86b", "#c9a27e", "#9fb4f5", "#ffd2a6",
)
IDLE_FILL = "#eeeeee"
INK = "#1f2328"
MUTED = "#6a737d"

# SVG geometry of one node drawing (px).
LABEL_W = 50  # "GPU 7" column
BAR_W = 384  # a GPU's row, whatever its slot count
ROW_H = 30
ROW_GAP = 6
SLOT_HEAD = 14  # slot numbers above the first row
LANE_W = 12  # one tensor-parallel bracket lane
TP_LABEL_W = 110
CHAR_W = 5.9  # average width of a 10.5 px sans-serif character

GENERATOR = "mig-plan report"
# Marks a file as a report: `mig-plan report` replaces those without --force.
GENERATOR_MARK = f'<meta name="generator" content="{GENERATOR}">'

NAMES_INLINE = 6  # name ranges shown before the rest fold into <details>


# ---------------------------------------------------------------------------------------------
# colours, names, numbers


def workload_colours(plan: Plan) -> dict[str, str]:
    """A fixed colour per workload: palette in plan order, then golden-angle hues."""
    names = [w.name for w in plan.workloads]
    seen = set(names)
    extra = sorted({
        name
        for node in plan.nodes
        for g in node.gpus
        for name in ([g.workload] + [i.workload for i in (g.instances or [])])
        if name is not None and name not in seen
    })
    colours = {}
    for i, name in enumerate(names + extra):
        if i < len(PALETTE):
            colours[name] = PALETTE[i]
        else:
            colours[name] = f"hsl({(i * 137.508) % 360:.1f}, 55%, 74%)"
    return colours


_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def compress_names(names: list[str]) -> list[str]:
    """Node names as ranges: gpu-b-0 … gpu-b-999 → "gpu-b-[0-999]" (sorted, stable)."""
    numbered: dict[str, list[str]] = defaultdict(list)
    plain: list[str] = []
    for name in names:
        m = _NUMBERED.match(name)
        if m:
            numbered[m.group(1)].append(m.group(2))
        else:
            plain.append(name)
    out = sorted(plain)
    for prefix in sorted(numbered):
        digits = sorted(numbered[prefix], key=lambda d: (int(d), d))
        runs: list[list[str]] = []
        for d in digits:
            if runs:
                last = runs[-1][-1]
                padded = (len(d) > 1 and d[0] == "0") or (len(last) > 1 and last[0] == "0")
                if int(d) == int(last) + 1 and (not padded or len(d) == len(last)):
                    runs[-1].append(d)
                    continue
            runs.append([d])
        for run in runs:
            out.append(f"{prefix}{run[0]}" if len(run) == 1 else f"{prefix}[{run[0]}-{run[-1]}]")
    return out


def _num(x: float) -> str:
    ax = abs(x)
    if ax >= 100:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:,.1f}".rstrip("0").rstrip(".")
    if ax == 0:
        return "0"
    return f"{x:.3g}"


def _money(x: float) -> str:
    return f"${x:,.2f}"


def _pct(x: float, signed: bool = False) -> str:
    return f"{x:+.1%}" if signed else f"{x:.1%}"


def _unit(key: str) -> str:
    return key.replace("_per_s", "/s").replace("_", " ")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fit(text: str, width: float) -> str:
    """Cut text to what fits `width` px at 11 px (an ellipsis marks the cut)."""
    room = int((width - 6) / CHAR_W)
    if room <= 0:
        return ""
    return text if len(text) <= room else (text[: room - 1] + "…" if room > 1 else "")


def _profile_label(profile: str, width: float) -> str:
    """The profile's name, or its short form ("1g10") where the name would not fit (bold)."""
    from planner.naming import short_profile

    return profile if len(profile) * CHAR_W * 1.1 <= width - 6 else short_profile(profile)


def _runs(values: list[str]) -> str:
    """'1g.10gb,1g.10gb,3g.40gb' → '1g.10gb ×2, 3g.40gb' (run-length, order kept)."""
    items = [v for v in values if v]
    out: list[str] = []
    i = 0
    while i < len(items):
        j = i
        while j < len(items) and items[j] == items[i]:
            j += 1
        out.append(items[i] + (f" ×{j - i}" if j - i > 1 else ""))
        i = j
    return ", ".join(out)


def _index_ranges(indices: list[int]) -> str:
    parts: list[str] = []
    for i in sorted(indices):
        if parts and isinstance(parts[-1], list) and parts[-1][1] == i - 1:
            parts[-1][1] = i
        else:
            parts.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in parts)


# ---------------------------------------------------------------------------------------------
# geometry and grouping


@dataclass(frozen=True)
class Geometry:
    """How one GPU type's row is cut: its slot count and each MIG profile's width in slots."""

    slots: int
    widths: dict[str, int] = field(default_factory=dict)
    mig: bool = False


def gpu_geometry(gpu_name: str, catalog, nodes: list[NodePlan] = ()) -> Geometry:
    """Slot geometry from the catalog; for a GPU it does not know, a guess from the plan's starts."""
    gpu = None
    if catalog is not None:
        try:
            gpu = catalog.gpu(gpu_name)
        except KeyError:
            gpu = None
    if gpu is not None:
        if gpu.mig is None:
            return Geometry(1)
        return Geometry(gpu.mig.slots, {p.name: p.slots for p in gpu.mig.profiles}, True)
    # Unknown GPU: an instance spans to the next start on its GPU (at least one slot).
    widths: dict[str, int] = {}
    slots = 1
    mig = False
    for node in nodes:
        for g in node.gpus:
            if g.mode != "mig" or not g.instances:
                continue
            mig = True
            starts = sorted(g.instances, key=lambda i: i.start)
            end = max(8, starts[-1].start + 1)
            for a, b in zip(starts, starts[1:] + [None]):
                width = max(1, (b.start if b is not None else end) - a.start)
                widths[a.profile] = min(widths.get(a.profile, width), width)
            slots = max(slots, end, *(i.start + widths[i.profile] for i in starts))
    return Geometry(slots if mig else 1, widths, mig)


def _node_state(node: NodePlan, changed: set[str]) -> str:
    if node.name in changed:
        return "re-cut"
    if node.origin == "market":
        return "new node"
    return "layout kept" if node.kept else "today's layout unknown"


def node_signature(node: NodePlan, state: str = "") -> tuple:
    """What makes two nodes draw the same: type, price, origin and each GPU's content (tensor-
    parallel groups by their member GPUs, not their names)."""
    tp_first: dict[str, int] = {}
    for g in node.gpus:
        if g.mode == "tp" and g.group is not None:
            tp_first.setdefault(g.group, g.index)
    gpus = tuple(
        (
            g.index,
            g.mode,
            g.workload,
            tp_first.get(g.group) if g.mode == "tp" else None,
            tuple((i.profile, i.start, i.workload) for i in (g.instances or ())),
        )
        for g in node.gpus
    )
    return (node.type, node.gpu, node.origin, node.price_per_hour, node.mig_config, state, gpus)


@dataclass
class NodeGroup:
    """Identical nodes, drawn once."""

    nodes: list[NodePlan]
    state: str  # new node | layout kept | re-cut | today's layout unknown

    @property
    def first(self) -> NodePlan:
        return self.nodes[0]

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]


def group_nodes(plan: Plan) -> list[NodeGroup]:
    """Nodes grouped by `node_signature`, in order of first appearance in the plan."""
    changed = {c.node for c in plan.changes}
    groups: dict[tuple, NodeGroup] = {}
    for node in plan.nodes:
        state = _node_state(node, changed)
        key = node_signature(node, state)
        if key in groups:
            groups[key].nodes.append(node)
        else:
            groups[key] = NodeGroup([node], state)
    return list(groups.values())


def _busy_share(g: GpuPlan, geo: Geometry) -> float:
    """Share of one GPU that carries a replica (MIG: by memory slots)."""
    if g.mode in ("full", "tp"):
        return 1.0 if g.workload is not None else 0.0
    if g.mode == "mig":
        used = sum(geo.widths.get(i.profile, 1) for i in (g.instances or []) if i.workload is not None)
        return min(1.0, used / max(1, geo.slots))
    return 0.0


# ---------------------------------------------------------------------------------------------
# the node drawing (inline SVG)


def _tp_groups(node: NodePlan) -> list[tuple[str, str | None, list[int]]]:
    """(group id, workload, row positions) per tensor-parallel group, in GPU order."""
    rows: dict[str, list[int]] = {}
    owner: dict[str, str | None] = {}
    for row, g in enumerate(node.gpus):
        if g.mode == "tp":
            gid = g.group or f"tp@{g.index}"
            rows.setdefault(gid, []).append(row)
            owner.setdefault(gid, g.workload)
    return [(gid, owner[gid], r) for gid, r in rows.items()]


def _lanes(spans: list[tuple[int, int]]) -> list[int]:
    """Interval colouring: overlapping row spans get different bracket lanes."""
    lanes: list[int] = []
    ends: list[int] = []
    for lo, hi in spans:
        for lane, end in enumerate(ends):
            if end < lo:
                ends[lane] = hi
                lanes.append(lane)
                break
        else:
            ends.append(hi)
            lanes.append(len(ends) - 1)
    return lanes


def render_node_svg(group: NodeGroup, geo: Geometry, colours: dict[str, str], uid: int) -> str:
    node = group.first
    count = len(group.nodes)
    tps = _tp_groups(node)
    lanes = _lanes([(min(r), max(r)) for _, _, r in tps])
    n_lanes = max(lanes) + 1 if lanes else 0
    top = SLOT_HEAD if geo.mig else 4
    width = LABEL_W + BAR_W + (12 + n_lanes * LANE_W + TP_LABEL_W if tps else 12)
    height = top + len(node.gpus) * (ROW_H + ROW_GAP) + 2
    slot_w = BAR_W / geo.slots
    hatch = f"idle{uid}"
    out: list[str] = [
        f'<svg class="gpus" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(node.type)}: {len(node.gpus)} GPUs">',
        f'<defs><pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f4f4f4"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="#bdbdbd" stroke-width="2.2"/></pattern></defs>',
    ]
    if geo.mig:
        for s in range(geo.slots):
            out.append(
                f'<text class="slotno" x="{LABEL_W + (s + 0.5) * slot_w:.1f}" y="{SLOT_HEAD - 4}" '
                f'text-anchor="middle">{s}</text>'
            )

    def y_of(row: int) -> float:
        return top + row * (ROW_H + ROW_GAP)

    def block(x: float, y: float, w: float, fill: str, lines: list[str], tip: str, cls: str = "") -> None:
        rect_cls = f' class="{cls}"' if cls else ""
        out.append(
            f'<rect{rect_cls} x="{x + 1:.1f}" y="{y:.1f}" width="{max(1.0, w - 2):.1f}" height="{ROW_H}" '
            f'rx="3" fill="{fill}"><title>{_e(tip)}</title></rect>'
        )
        lines = [t for t in (_fit(s, w) for s in lines) if t]
        if len(lines) == 1:
            out.append(f'<text x="{x + w / 2:.1f}" y="{y + ROW_H / 2 + 4:.1f}" text-anchor="middle">{_e(lines[0])}</text>')
        elif lines:
            out.append(f'<text x="{x + w / 2:.1f}" y="{y + 12:.1f}" text-anchor="middle" class="b">{_e(lines[0])}</text>')
            out.append(f'<text x="{x + w / 2:.1f}" y="{y + 25:.1f}" text-anchor="middle">{_e(lines[1])}</text>')

    tp_size = {gid: len(rows) for gid, _, rows in tps}
    for row, g in enumerate(node.gpus):
        y = y_of(row)
        out.append(f'<text class="gpuno" x="{LABEL_W - 8}" y="{y + ROW_H / 2 + 4:.1f}" text-anchor="end">GPU {g.index}</text>')
        where = f"{node.name if count == 1 else node.type} GPU {g.index}"
        if g.mode == "mig":
            for s in range(geo.slots):
                out.append(
                    f'<rect class="slot" x="{LABEL_W + s * slot_w + 1:.1f}" y="{y:.1f}" '
                    f'width="{slot_w - 2:.1f}" height="{ROW_H}" rx="2"/>'
                )
            for inst in sorted(g.instances or [], key=lambda i: i.start):
                w = geo.widths.get(inst.profile, 1) * slot_w
                x = LABEL_W + inst.start * slot_w
                if inst.workload is None:
                    block(x, y, w, f"url(#{hatch})", [_profile_label(inst.profile, w), "idle"],
                          f"{where}: {inst.profile} at slot {inst.start}, idle (no replica)", "idle")
                else:
                    block(x, y, w, colours.get(inst.workload, IDLE_FILL), [_profile_label(inst.profile, w), inst.workload],
                          f"{where}: {inst.profile} at slot {inst.start} → {inst.workload}")
        elif g.mode == "idle" or g.workload is None:
            out.append(
                f'<rect class="idlegpu" x="{LABEL_W + 1}" y="{y:.1f}" width="{BAR_W - 2}" height="{ROW_H}" rx="3">'
                f'<title>{_e(where)}: idle (paid for, carries nothing)</title></rect>'
            )
            label = "idle GPU — paid for, carries nothing" if g.mode == "idle" else f"{g.mode} — no workload"
            out.append(f'<text class="muted" x="{LABEL_W + BAR_W / 2:.1f}" y="{y + ROW_H / 2 + 4:.1f}" text-anchor="middle">{_e(label)}</text>')
        elif g.mode == "full":
            kind = "whole GPU, MIG off" if geo.mig else "whole GPU"
            block(LABEL_W, y, BAR_W, colours.get(g.workload, IDLE_FILL), [f"{g.workload} · {kind}"],
                  f"{where}: whole GPU → {g.workload}")
        else:  # tp
            n = tp_size.get(g.group or f"tp@{g.index}", 1)
            text = f"{g.workload} · tp{n} group {g.group}" if count == 1 and g.group else f"{g.workload} · tensor-parallel tp{n}"
            block(LABEL_W, y, BAR_W, colours.get(g.workload, IDLE_FILL), [text],
                  f"{where}: member of tensor-parallel group {g.group} (tp{n}) → {g.workload}")

    # Tensor-parallel groups: an outline round contiguous members, a bracket with the group's name.
    for (gid, workload, rows), lane in zip(tps, lanes):
        y0, y1 = y_of(min(rows)), y_of(max(rows)) + ROW_H
        if max(rows) - min(rows) + 1 == len(rows):
            out.append(
                f'<rect class="tpbox" x="{LABEL_W - 1}" y="{y0 - 2:.1f}" width="{BAR_W + 2}" '
                f'height="{y1 - y0 + 4:.1f}" rx="5"/>'
            )
        bx = LABEL_W + BAR_W + 10 + lane * LANE_W
        path = [f"M{bx - 6},{y0 + 2:.1f} H{bx} V{y1 - 2:.1f} H{bx - 6}"]
        for r in rows:
            ym = y_of(r) + ROW_H / 2
            path.append(f"M{bx - 6},{ym:.1f} H{bx}")
        out.append(f'<path class="bracket" d="{" ".join(path)}"/>')
        lx = LABEL_W + BAR_W + 10 + n_lanes * LANE_W + 4
        ym = (y0 + y1) / 2
        name = gid if count == 1 else (workload or "idle")
        out.append(f'<text class="b" x="{lx}" y="{ym - 2:.1f}">{_e(_fit(name, TP_LABEL_W))}</text>')
        out.append(f'<text class="muted" x="{lx}" y="{ym + 11:.1f}">tp{len(rows)} · NVLink</text>')
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# sections


def _names_html(names: list[str]) -> str:
    ranges = compress_names(names)
    shown = ", ".join(_e(r) for r in ranges[:NAMES_INLINE])
    if len(ranges) <= NAMES_INLINE:
        return shown
    rest = ", ".join(_e(r) for r in ranges[NAMES_INLINE:])
    return f'{shown} <details class="more"><summary>and {len(ranges) - NAMES_INLINE} more</summary>{rest}</details>'


def _swatch(colour: str | None, cls: str = "") -> str:
    c = f" {cls}" if cls else ""
    style = f' style="background:{colour}"' if colour else ""
    return f'<span class="sw{c}"{style}></span>'


def _status_html(plan: Plan) -> str:
    meaning = {
        "optimal": "proven cheapest",
        "feasible": "meets every target; not proven cheapest",
        "infeasible": "no plan meets every target",
        "unknown": "the solver stopped without an answer",
    }[plan.status]
    return f'<span class="status {plan.status}">{_e(plan.status)}</span> <span class="muted">{meaning}</span>'


def _header(plan: Plan, gpu_total: int, busy: float) -> str:
    s = plan.solver
    bound = _money(plan.lower_bound_per_hour) + "/h" if plan.lower_bound_per_hour is not None else "none (this solver proves no bound)"
    gap = _pct(plan.gap) if plan.gap is not None else "—"
    util = f"{busy / gpu_total:.1%}" if gpu_total else "—"
    solver = f"{s.name}, {s.seconds:.2f} s, {s.workers} worker{'s' if s.workers != 1 else ''}, seed {s.seed}"
    if s.time_limit_s is not None:
        solver += f", limit {_num(s.time_limit_s)} s"
    facts = [
        ("status", _status_html(plan)),
        ("cost", f'<b class="big">{_money(plan.cost_per_hour)}/h</b> <span class="muted">≈ {_money(plan.cost_per_hour * 730)} per month (730 h)</span>'),
        ("proven lower bound", _e(bound)),
        ("gap", _e(gap) + ' <span class="muted">(cost − bound) / cost</span>'),
        ("solver", _e(solver)),
        ("fleet", _e(f"{len(plan.nodes):,} nodes, {gpu_total:,} GPUs, {len(plan.workloads)} workloads")),
        ("busy", f"{_e(_num(busy))} of {gpu_total:,} GPU-equivalents carry replicas ({util})"
         + (f"; {_e(_num(gpu_total - busy))} idle" if gpu_total - busy > 1e-9 else "; no idle capacity")),
    ]
    if plan.fleet_file:
        facts.append(("fleet file", f"<code>{_e(plan.fleet_file)}</code> <span class=\"muted\">sha256 {_e(plan.fleet_sha256[:12])}…</span>"))
    rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    notes = "".join(f'<p class="note">note: {_e(n)}</p>' for n in s.notes)
    return f'<header><h1>{_e(plan.fleet)}</h1><p class="sub">mig-plan report</p><table class="facts">{rows}</table>{notes}</header>'


def _workloads(plan: Plan, colours: dict[str, str]) -> str:
    if not plan.workloads:
        return '<section><h2>Workloads</h2><p class="muted">no workloads</p></section>'
    ratios = [w.capacity / v for w in plan.workloads for v in list(w.target.values())[:1] if v > 0]
    scale = min(3.0, max([1.0] + ratios) * 1.08)
    rows = []
    for w in plan.workloads:
        unit, value = next(iter(w.target.items())) if w.target else ("", 0.0)
        ratio = w.capacity / value if value > 0 else 1.0
        fill = min(ratio, scale) / scale * 100
        mark = 1.0 / scale * 100
        short = ratio < 1 - 1e-9
        bar = (
            f'<div class="bar" title="capacity {_num(w.capacity)} vs target {_num(value)}">'
            f'<div class="fill{" short" if short else ""}" style="width:{fill:.1f}%;background:{colours.get(w.name, IDLE_FILL)}"></div>'
            f'<div class="mark" style="left:{mark:.1f}%"></div></div>'
        )
        reps = "<br>".join(
            f"{r.count}× <code>{_e(r.resource)}</code> <span class=\"muted\">@ {_num(r.throughput_each)}"
            f"{' measured' if r.source == 'measured' else ''}</span>"
            for r in w.replicas
        )
        n_reps = sum(r.count for r in w.replicas)
        share = w.cost_per_hour / plan.cost_per_hour if plan.cost_per_hour > 0 else 0.0
        rows.append(
            f"<tr><td>{_swatch(colours.get(w.name, IDLE_FILL))}<b>{_e(w.name)}</b></td>"
            f'<td class="r">{_num(value)} <span class="muted">{_e(_unit(unit))}</span></td>'
            f'<td class="r">{_num(w.capacity)}</td>'
            f'<td>{bar}</td><td class="r{" bad" if short else ""}">{_pct(w.headroom, True)}</td>'
            f'<td class="r">{n_reps}</td><td>{reps}</td>'
            f'<td class="r">{_money(w.cost_per_hour)}</td><td class="r">{_pct(share)}</td></tr>'
        )
    head = (
        "<tr><th>workload</th><th>target</th><th>capacity</th><th>capacity vs target</th><th>headroom</th>"
        "<th>replicas</th><th>where (throughput each)</th><th>$/h</th><th>share</th></tr>"
    )
    return (
        "<section><h2>Workloads: target, capacity, headroom</h2>"
        '<p class="muted">The bar is capacity; the black mark is the target. Headroom = capacity / target − 1. '
        "$/h is the workload's share of node cost, by the GPU share its replicas take.</p>"
        f'<table class="grid">{head}{"".join(rows)}</table></section>'
    )


def _costs(plan: Plan, colours: dict[str, str], gpu_counts: dict[str, int]) -> str:
    total = plan.cost_per_hour
    attributed = sum(w.cost_per_hour for w in plan.workloads)
    idle = max(0.0, round(total - attributed, 6))
    segments = []
    if total > 0:
        for w in plan.workloads:
            if w.cost_per_hour > 0:
                segments.append(
                    f'<div class="seg" style="width:{w.cost_per_hour / total * 100:.2f}%;background:{colours.get(w.name, IDLE_FILL)}" '
                    f'title="{_e(w.name)}: {_money(w.cost_per_hour)}/h"></div>'
                )
        if idle > 0:
            segments.append(f'<div class="seg idle" style="width:{idle / total * 100:.2f}%" title="idle capacity: {_money(idle)}/h"></div>')
    legend = " ".join(
        f'<span class="key">{_swatch(colours.get(w.name, IDLE_FILL))}{_e(w.name)} {_money(w.cost_per_hour)}</span>'
        for w in plan.workloads if w.cost_per_hour > 0
    )
    if idle > 0:
        legend += f' <span class="key">{_swatch(None, "hatch")}idle capacity {_money(idle)}</span>'
    by: dict[tuple, list[NodePlan]] = defaultdict(list)
    for node in plan.nodes:
        by[(node.type, node.gpu, node.origin, node.price_per_hour)].append(node)
    rows = []
    for (ntype, gpu, origin, price), nodes in sorted(by.items(), key=lambda kv: (-kv[0][3] * len(kv[1]), kv[0])):
        sub = price * len(nodes)
        gpus = sum(len(n.gpus) for n in nodes)
        rows.append(
            f"<tr><td><b>{_e(ntype)}</b></td><td>{_e(gpu)}</td><td><span class=\"tag {origin}\">{_e(origin)}</span></td>"
            f'<td class="r">{len(nodes):,}</td><td class="r">{gpus:,}</td><td class="r">{_money(price)}</td>'
            f'<td class="r">{_money(sub)}</td><td class="r">{_pct(sub / total) if total > 0 else "—"}</td></tr>'
        )
    origin_totals = Counter()
    for node in plan.nodes:
        origin_totals[node.origin] += node.price_per_hour
    origin_line = ", ".join(f"{o}: {_money(origin_totals[o])}/h" for o in ("inventory", "market") if origin_totals[o])
    head = "<tr><th>node type</th><th>GPU</th><th>origin</th><th>nodes</th><th>GPUs</th><th>$/h each</th><th>$/h</th><th>share</th></tr>"
    table = f'<table class="grid">{head}{"".join(rows)}</table>' if rows else '<p class="muted">no nodes</p>'
    return (
        "<section><h2>Cost</h2>"
        f'<h3>By workload</h3><div class="stack">{"".join(segments)}</div><p class="keys">{legend}</p>'
        f'<h3>By node type and origin</h3>{table}<p class="muted">{_e(origin_line)}</p></section>'
    )


def _releasable(plan: Plan) -> str:
    if not plan.releasable:
        return ""
    n = len(plan.releasable)
    return (
        f"<section><h2>Releasable nodes ({n})</h2>"
        "<p>Inventory nodes the plan leaves empty; they are not in its cost — release them or keep them as spare.</p>"
        f'<p class="names">{_names_html(plan.releasable)}</p></section>'
    )


def _changes(plan: Plan) -> str:
    kept = sum(1 for n in plan.nodes if n.kept)
    intro = f"{kept} inventory node{'s keep' if kept != 1 else ' keeps'} today's layout. " if kept else ""
    if not plan.changes:
        return (
            "<section><h2>Changes against today</h2>"
            f"<p>{_e(intro)}No MIG layout changes against the fleet file's <code>nodes[].mig</code>.</p></section>"
        )
    grouped: dict[tuple, list[str]] = defaultdict(list)
    for c in plan.changes:
        pairs: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, a, b in zip(c.gpus, c.from_, c.to):
            pairs[(a, b)].append(i)
        key = tuple((tuple(sorted(ix)), a, b) for (a, b), ix in pairs.items())
        grouped[key].append(c.node)
    rows = []
    for key, nodes in grouped.items():
        parts = "".join(
            f"<div>GPU {_index_ranges(list(ix))}: <code>{_e(_runs(a.split(',')))}</code> → "
            f"<code>{_e(_runs(b.split(',')))}</code></div>"
            for ix, a, b in key
        )
        rows.append(f'<tr><td>{_names_html(nodes)}</td><td class="r">{len(nodes):,}</td><td>{parts}</td></tr>')
    n = len(plan.changes)
    return (
        f"<section><h2>Changes against today ({n} node{'s' if n != 1 else ''} re-cut)</h2>"
        f"<p>{_e(intro)}These nodes get a new MIG layout: drain them, apply the new "
        "<code>nvidia.com/mig.config</code>, then let the workloads return.</p>"
        '<table class="grid"><tr><th class="narrow">nodes</th><th class="narrow r">count</th><th>GPUs: from → to</th></tr>'
        f'{"".join(rows)}</table></section>'
    )


def _rounding(plan: Plan) -> str:
    r = plan.rounding
    if r is None:
        return ""
    return (
        "<section><h2>Rounding</h2>"
        f"<p>{_e(r.note.rstrip('.'))}.</p><p class=\"muted\">largest price error per node {_money(r.price_max_error_per_node)}/h; "
        f"largest relative capacity error {r.capacity_max_relative_error:.2e}.</p></section>"
    )


def _legend(plan: Plan, colours: dict[str, str]) -> str:
    keys = [f'<span class="key">{_swatch(c)}{_e(n)}</span>' for n, c in colours.items()]
    keys += [
        f'<span class="key">{_swatch(None, "hatch")}idle MIG slice (configured, no replica)</span>',
        f'<span class="key">{_swatch(None, "slot")}unused memory slot</span>',
        f'<span class="key">{_swatch(None, "dashed")}idle GPU</span>',
        '<span class="key"><span class="sw tp"></span>tensor-parallel group (NVLink)</span>',
    ]
    return f'<p class="keys legend">{" ".join(keys)}</p>'


def _node_cards(plan: Plan, groups: list[NodeGroup], geos: dict[str, Geometry], colours: dict[str, str]) -> str:
    if not groups:
        return '<section><h2>Nodes</h2><p class="muted">no nodes in the plan</p></section>'
    cards = []
    for uid, group in enumerate(groups):
        node = group.first
        n = len(group.nodes)
        geo = geos[node.gpu]
        modes = Counter(g.mode for g in node.gpus)
        mode_text = ", ".join(f"{modes[m]} {m}" for m in ("mig", "full", "tp", "idle") if modes[m])
        busy = sum(_busy_share(g, geo) for g in node.gpus)
        title = f'<span class="count">×{n}</span> ' if n > 1 else ""
        cards.append(
            f'<div class="card">'
            f'<h3>{title}{_e(node.type)} <span class="tag {node.origin}">{_e(node.origin)}</span> '
            f'<span class="tag state">{_e(group.state)}</span></h3>'
            f'<p class="names">{_names_html(group.names)}</p>'
            f'<p class="meta">{len(node.gpus)}× {_e(node.gpu)} · {_e(mode_text)} · busy {_num(busy)}/{len(node.gpus)} GPUs · '
            f'{_money(node.price_per_hour)}/h each{f" · {_money(node.price_per_hour * n)}/h together" if n > 1 else ""}<br>'
            f'<code>nvidia.com/mig.config={_e(node.mig_config)}</code></p>'
            f"{render_node_svg(group, geo, colours, uid)}</div>"
        )
    return (
        f"<section><h2>Nodes ({len(plan.nodes)} in {len(groups)} drawing{'s' if len(groups) != 1 else ''})</h2>"
        "<p class=\"muted\">Each GPU is a row of its memory slots; a MIG slice spans its slots from its start. "
        "Identical nodes are drawn once.</p>"
        f'{_legend(plan, colours)}<div class="cards">{"".join(cards)}</div></section>'
    )


CSS = """
:root{color-scheme:light}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2328;background:#fff;margin:0;padding:24px 32px;max-width:1400px}
h1{font-size:26px;margin:0}
h2{font-size:19px;margin:28px 0 8px;padding-bottom:4px;border-bottom:2px solid #e5e7eb}
h3{font-size:15px;margin:14px 0 6px}
.sub{margin:0 0 10px;color:#6a737d}
.muted{color:#6a737d}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f4f6;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse}
table.facts th{text-align:left;font-weight:600;padding:3px 18px 3px 0;vertical-align:top;color:#57606a}
table.facts td{padding:3px 0}
.big{font-size:18px}
table.grid{width:100%;margin:6px 0}
table.grid th{text-align:left;font-weight:600;background:#f6f8fa;border-bottom:1px solid #d0d7de;padding:6px 8px;white-space:nowrap}
table.grid td{border-bottom:1px solid #eaeef2;padding:6px 8px;vertical-align:top}
td.r,th.r{text-align:right;white-space:nowrap}
th.narrow{width:1%}
td.bad{color:#b42318;font-weight:600}
.status{font-weight:700;padding:1px 8px;border-radius:10px;color:#fff}
.status.optimal{background:#1a7f37}.status.feasible{background:#bf8700}
.status.infeasible,.status.unknown{background:#b42318}
.note{background:#fff8c5;border:1px solid #eac54f;padding:4px 8px;border-radius:4px}
.sw{display:inline-block;width:14px;height:14px;border-radius:3px;vertical-align:-2px;margin-right:5px;border:1px solid rgba(0,0,0,.25)}
.sw.hatch,.seg.idle{background:repeating-linear-gradient(45deg,#f4f4f4 0 3px,#bdbdbd 3px 5px)}
.sw.slot{background:#fafafa;border:1px dashed #afb8c1}
.sw.dashed{background:#fff;border:1.5px dashed #8c959f}
.sw.tp{border:2px solid #24292f;background:transparent}
.key{display:inline-block;margin:2px 14px 2px 0;white-space:nowrap}
.bar{position:relative;width:180px;height:14px;background:#f3f4f6;border-radius:3px;border:1px solid #d0d7de}
.bar .fill{height:100%;border-radius:2px}
.bar .fill.short{outline:2px solid #b42318}
.bar .mark{position:absolute;top:-3px;bottom:-3px;width:2px;background:#24292f}
.stack{display:flex;height:22px;border-radius:4px;overflow:hidden;border:1px solid #d0d7de;max-width:900px}
.stack .seg{height:100%}
.tag{font-size:11px;font-weight:600;padding:1px 7px;border-radius:9px;background:#eaeef2;color:#24292f;vertical-align:2px}
.tag.market{background:#ddf4ff;color:#0969da}.tag.inventory{background:#dafbe1;color:#1a7f37}
.tag.state{background:#fbefff;color:#8250df}
.cards{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.card{border:1px solid #d0d7de;border-radius:8px;padding:10px 14px 12px;background:#fff;max-width:100%}
.card h3{margin:0 0 2px}
.count{font-size:18px;color:#0969da}
.names{margin:2px 0;font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;max-width:640px}
.meta{margin:2px 0 8px;font-size:12px;color:#57606a}
details.more{display:inline}
details.more summary{display:inline;cursor:pointer;color:#0969da}
svg.gpus{display:block;max-width:100%;height:auto;font:10.5px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
svg.gpus text{fill:#1f2328}
svg.gpus text.b{font-weight:600}
svg.gpus text.muted,svg.gpus text.slotno{fill:#6a737d}
svg.gpus text.slotno{font-size:9px}
svg.gpus text.gpuno{fill:#57606a;font-size:11px}
svg.gpus rect{stroke:rgba(0,0,0,.35);stroke-width:1}
svg.gpus rect.slot{fill:#fafafa;stroke:#d0d7de;stroke-dasharray:2 2}
svg.gpus rect.idle{stroke:#8c959f}
svg.gpus rect.idlegpu{fill:#fff;stroke:#8c959f;stroke-width:1.5;stroke-dasharray:6 4}
svg.gpus rect.tpbox{fill:none;stroke:#24292f;stroke-width:2}
svg.gpus path.bracket{fill:none;stroke:#24292f;stroke-width:2}
footer{margin-top:32px;color:#6a737d;font-size:12px}
@media print{body{padding:0}.card{break-inside:avoid}}
"""


def render_report(plan: Plan, catalog=None) -> str:
    """The report as one self-contained HTML document (deterministic for a given plan)."""
    if catalog is None:
        from planner.catalog import load_catalog

        catalog = load_catalog()
    colours = workload_colours(plan)
    groups = group_nodes(plan)
    by_gpu: dict[str, list[NodePlan]] = defaultdict(list)
    for g in groups:
        by_gpu[g.first.gpu].append(g.first)
    geos = {gpu: gpu_geometry(gpu, catalog, nodes) for gpu, nodes in by_gpu.items()}
    gpu_total = sum(len(n.gpus) for n in plan.nodes)
    busy = sum(
        len(g.nodes) * sum(_busy_share(gp, geos[g.first.gpu]) for gp in g.first.gpus) for g in groups
    )
    gpu_counts = Counter()
    for n in plan.nodes:
        gpu_counts[n.gpu] += len(n.gpus)
    body = "".join([
        _header(plan, gpu_total, busy),
        _workloads(plan, colours),
        _costs(plan, colours, gpu_counts),
        _releasable(plan),
        _changes(plan),
        _rounding(plan),
        _node_cards(plan, groups, geos, colours),
        f"<footer>mig-plan report of fleet {_e(plan.fleet)} (plan version {plan.version}, "
        f"fleet sha256 {_e(plan.fleet_sha256[:12])}…). Self-contained: no scripts, no network.</footer>",
    ])
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"{GENERATOR_MARK}"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(plan.fleet)} — mig-plan report</title><style>{CSS}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )
