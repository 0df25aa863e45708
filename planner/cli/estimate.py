"""`mig-plan estimate FLEET [--workload W] [--gpu G] [--json]`: what one replica of each workload
does on every resource the fleet offers — fits or why not, memory, batch, throughput, and
throughput per dollar-hour — so a platform engineer can sanity-check the numbers the solver uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from planner.catalog import Catalog, UnknownGpu
from planner.cli.common import JSON_OPTION, bad_usage, console, handles_errors, print_json
from planner.offers import offered_resources, used_node_types
from planner.perf.estimate import Estimate
from planner.perf.table import estimate_rows
from planner.resources import Resource
from planner.spec import load_fleet
from planner.spec.errors import suggest
from planner.spec.models import Fleet, Workload

# Short unit names for table headers: "tok/s per replica", "tok/s per $/h".
UNIT_LABELS: dict[str, str] = {
    "output_tokens_per_s": "tok/s",
    "requests_per_s": "req/s",
    "images_per_s": "img/s",
    "videos_per_hour": "videos/h",
    "audio_seconds_per_s": "audio s/s",
    "realtime_streams": "streams",
}

FOOTER = "estimates are roofline figures (reference/perf.md); measured profiles override them"


# --------------------------------------------------------------------------- prices


def gpu_prices(fleet: Fleet, catalog: Catalog) -> dict[str, float]:
    """USD per GPU-hour by canonical GPU name, for throughput per dollar-hour.

    The catalog's price (which already holds the fleet's `gpus:` overrides), unless a node type
    that offers the GPU sets its own `price_per_hour`: then that node price / its GPU count. Where
    several node types offer one GPU, the cheapest per GPU wins.
    """
    prices: dict[str, float] = {}
    for name in used_node_types(fleet):
        nt = fleet.node_types[name]
        gpu = catalog.gpu(nt.gpu)
        per_gpu = nt.price_per_hour / nt.count if nt.price_per_hour is not None else gpu.price_per_hour
        prices[gpu.name] = min(per_gpu, prices.get(gpu.name, per_gpu))
    return prices


def resource_share(resource: Resource, catalog: Catalog) -> float:
    """Fraction of GPUs a resource takes: a MIG slice its memory slots over the GPU's, a whole GPU
    1, a tensor-parallel group of N GPUs N."""
    if resource.kind == "mig":
        gpu = catalog.gpu(resource.gpu)
        assert gpu.mig is not None and resource.profile is not None
        return gpu.mig.profile(resource.profile).slots / gpu.mig.slots
    return float(resource.gpus)


def resource_price(resource: Resource, catalog: Catalog, prices: dict[str, float]) -> float:
    """USD per hour of one resource, for ranking only.

    This is the MARGINAL share of a GPU's price (a 3g.40gb slice takes 4 of an H100's 8 memory
    slots, so it costs 4/8 of the GPU), not what a plan pays: a plan buys whole nodes, and slots a
    layout leaves empty or that no workload wants still cost money. `mig-plan solve` prices whole
    nodes.
    """
    gpu = catalog.gpu(resource.gpu)
    return prices.get(gpu.name, gpu.price_per_hour) * resource_share(resource, catalog)


# --------------------------------------------------------------------------- rows


def _row(est: Estimate, price: float) -> dict:
    per_dollar = None
    if est.fits and est.throughput is not None and price > 0:
        per_dollar = est.throughput / price
    return {
        "workload": est.workload,
        "resource": est.resource,
        "fits": est.fits,
        "throughput": est.throughput if est.fits else None,
        "unit": est.unit,
        "batch": est.batch,
        "memory_gb": est.memory_gb,
        "memory_available_gb": est.memory_available_gb,
        "source": est.source,
        "limit": est.limit,
        "throughput_per_dollar_hour": per_dollar,
        "price_per_hour": price,
        "reason": est.reason,
        "note": est.note,
    }


def _display_order(rows: list[dict]) -> list[dict]:
    """Fitting rows by throughput per $/h, best first (free resources first of all), then the rest
    in the fleet's resource order. Ties keep the fleet's resource order (sorted() is stable)."""

    def key(r: dict) -> tuple:
        if not r["fits"]:
            return (2, 0.0)
        if r["throughput_per_dollar_hour"] is None:  # price 0: a free resource
            return (0, -(r["throughput"] or 0.0))
        return (1, -r["throughput_per_dollar_hour"])

    return sorted(rows, key=key)


# --------------------------------------------------------------------------- formatting


def fmt_num(x: float | None) -> str:
    """Three or so significant figures, thousands separated; '—' for none."""
    if x is None:
        return "—"
    a = abs(x)
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    if a == 0:
        return "0"
    return f"{x:#.3g}"  # '#' keeps trailing zeros: 0.800, not 0.8


def _memory_cell(r: dict) -> str:
    # One decimal: rounding is monotonic, so a row that fits never shows need > available.
    need = "—" if r["memory_gb"] is None else f"{r['memory_gb']:.1f}"
    return f"{need}/{r['memory_available_gb']:.1f}"


def _model_label(w: Workload) -> str:
    if w.kind == "generic":
        return "generic (memory and capacities given by hand)"
    if isinstance(w.model, str):
        return w.model
    if isinstance(w.model, dict):
        return str(w.model.get("name") or "inline model")
    return "no model"


def _title(w: Workload) -> Text:
    unit = w.target.unit
    parts = [_model_label(w)]
    if w.kind != "generic":
        parts.append(w.precision)
    parts.append(f"target {w.target.value:,.10g} {unit} ({UNIT_LABELS.get(unit, unit)})")
    slo = w.slo
    slo_parts = []
    if slo is not None:
        for field, label in (("ttft_ms", "TTFT"), ("tpot_ms", "TPOT"), ("latency_ms", "latency")):
            value = getattr(slo, field)
            if value is not None:
                slo_parts.append(f"{label} ≤ {value:g} ms")
    if slo_parts:
        parts.append("SLO " + ", ".join(slo_parts))
    elif w.kind != "generic":
        parts.append("no SLO: offline throughput at the largest batch memory allows")
    return Text.assemble((w.name, "bold"), " — " + ", ".join(parts))


def _table(title: str | None = None) -> Table:
    # No vertical rules and one-space padding: the resource names and the reasons need the width.
    return Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )


def _print_tables(fleet: Fleet, rows: list[dict], notes: list[str]) -> None:
    """Per workload: the resources it fits, best throughput per $/h first, then those it does not
    fit with why. Two tables rather than one, so that the reasons get the width to be read."""
    out = console()
    by_workload: dict[str, list[dict]] = {}
    for r in rows:
        by_workload.setdefault(r["workload"], []).append(r)
    workloads = {w.name: w for w in fleet.workloads}
    for note in notes:
        out.print(note, markup=False)
    for name, wrows in by_workload.items():
        w = workloads[name]
        u = UNIT_LABELS.get(w.target.unit, w.target.unit)
        ordered = _display_order(wrows)
        fitting = [r for r in ordered if r["fits"]]
        failing = [r for r in ordered if not r["fits"]]
        out.print(_title(w))
        if fitting:
            table = _table(f"fits on {len(fitting)} of {len(wrows)} resources, best {u} per $/h first")
            table.add_column("resource", no_wrap=True)
            table.add_column("GiB\nneed/avail", justify="right", no_wrap=True)
            table.add_column("batch", justify="right")
            table.add_column(f"{u} per\nreplica", justify="right", no_wrap=True)
            table.add_column(f"{u}\nper $/h", justify="right", no_wrap=True)
            table.add_column("$/h", justify="right")
            table.add_column("source", no_wrap=True)
            table.add_column("limit", no_wrap=True)
            table.add_column("note", overflow="fold")
            for r in fitting:
                measured = r["source"] == "measured"
                per_dollar = "free" if r["price_per_hour"] == 0 else fmt_num(r["throughput_per_dollar_hour"])
                table.add_row(
                    *map(Text, (
                        r["resource"],
                        _memory_cell(r),
                        "—" if r["batch"] is None else str(r["batch"]),
                        fmt_num(r["throughput"]),
                        per_dollar,
                        f"{r['price_per_hour']:.2f}",
                    )),
                    Text(r["source"], style="bold" if measured else ""),
                    Text(r["limit"]),
                    Text(r["note"] or "", style="dim"),
                )
            out.print(table)
        else:
            out.print(Text(f"fits on none of the {len(wrows)} resources", style="red"))
        if failing:
            table = _table(f"does not fit on {len(failing)} of {len(wrows)} resources")
            table.add_column("resource", no_wrap=True)
            table.add_column("GiB\nneed/avail", justify="right", no_wrap=True)
            table.add_column("limit", no_wrap=True)
            table.add_column("why", overflow="fold")
            for r in failing:
                table.add_row(*map(Text, (r["resource"], _memory_cell(r), r["limit"], r["reason"] or "")))
            out.print(table)
        out.print()
    for line in (
        "memory is per GPU (a tpN group: on each of its GPUs); throughput is per replica (a tpN group: all of it)",
        "$/h: the resource's marginal share of its GPU's price (MIG: its slots / the GPU's), not what a plan pays",
    ):
        out.print(line, markup=False)
    out.print(FOOTER, markup=False)


# --------------------------------------------------------------------------- the command


@handles_errors
def estimate(
    fleet: Path = typer.Argument(..., help="Fleet file (YAML)."),
    workload: Optional[str] = typer.Option(None, "--workload", "-w", help="Only this workload."),
    gpu: Optional[str] = typer.Option(
        None,
        "--gpu",
        "-g",
        help="Only resources of this GPU (name or alias); a catalog GPU the fleet lacks is estimated as a what-if.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Per workload, every resource the fleet offers: fits, memory, batch, throughput per replica
    and per dollar-hour, source (estimate or measured) and what limits it."""
    loaded = load_fleet(fleet)
    f, catalog = loaded.fleet, loaded.catalog

    names = [w.name for w in f.workloads]
    if workload is not None and workload not in names:
        guess = suggest(workload, names)
        hint = f"did you mean '{guess}'?" if guess else f"the fleet has: {', '.join(names)}"
        raise bad_usage(f"no workload named '{workload}' in {fleet}; {hint}", as_json)

    resources = offered_resources(f, catalog)
    notes: list[str] = []
    if gpu is not None:
        try:
            gpu_name = catalog.resolve(gpu)
        except UnknownGpu as exc:
            raise bad_usage(f"{exc} (see `mig-plan catalog`)", as_json)
        if not any(r.gpu == gpu_name for r in resources):
            # What-if: a GPU no node type of the fleet has. Its MIG slices and the whole GPU;
            # no NVLink groups, since those depend on a node type's topology.
            g = catalog.gpu(gpu_name)
            resources = [Resource.mig(g.name, p.name) for p in (g.mig.profiles if g.mig else ()) if not p.media]
            resources.append(Resource.full(g.name))
            notes.append(
                f"{g.name} is not in the fleet's node types: a what-if at its catalog price "
                f"(${g.price_per_hour:.2f}/h), MIG slices and whole GPU only (no NVLink groups)."
            )

    prices = gpu_prices(f, catalog)
    price_of = {r: resource_price(r, catalog, prices) for r in resources}
    by_name = {str(r): r for r in resources}
    estimates = estimate_rows(f, catalog, resources, workload=workload, gpu=gpu)
    rows = [_row(e, price_of[by_name[e.resource]]) for e in estimates]

    selected = [w for w in f.workloads if workload is None or w.name == workload]
    if as_json:
        # Rows in fleet order (workload, then resource), not the tables' ranking: stable to diff.
        print_json({"fleet": f.name, "units": {w.name: w.target.unit for w in selected}, "rows": rows})
        return
    _print_tables(f, rows, notes)
