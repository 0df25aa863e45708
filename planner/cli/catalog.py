"""`mig-plan catalog [GPU|models] [--layouts] [--with-me] [--json]`: what the planner knows."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from planner import mig
from planner.catalog import Gpu, UnknownGpu, load_catalog
from planner.cli.common import JSON_OPTION, bad_usage, console, handles_errors, print_json


def gpu_summary(gpu: Gpu) -> dict:
    return {
        "name": gpu.name,
        "aliases": list(gpu.aliases),
        "architecture": gpu.architecture,
        "memory_gb": gpu.memory_gb,
        "bandwidth_tbps": gpu.bandwidth_tbps,
        "tflops": dict(gpu.tflops),
        "sms": gpu.sms,
        "nvlink_gbps": gpu.nvlink_gbps,
        "tdp_w": gpu.tdp_w,
        "pci_device_id": gpu.pci_device_id,
        "price_per_hour": gpu.price_per_hour,
        "price_source": gpu.price_source,
        "mig": gpu.mig_capable,
        "sources": list(gpu.sources),
    }


def _layout_json(layout: mig.Layout) -> list[dict]:
    return [{"profile": p.profile, "start": p.start} for p in layout]


def _gpu_table() -> None:
    table = Table(title="GPU catalog (dense TFLOPS; prices are defaults, override them in the fleet file)")
    for col in ("GPU", "memory GB", "TB/s", "BF16", "FP8", "SMs", "NVLink GB/s", "TDP W", "$/h", "MIG"):
        table.add_column(col, justify="left" if col == "GPU" else "right")
    for gpu in load_catalog():
        fp8 = gpu.tflops.get("fp8")
        table.add_row(
            gpu.name,
            f"{gpu.memory_gb:g}",
            f"{gpu.bandwidth_tbps:g}",
            f"{gpu.tflops['bf16']:g}",
            f"{fp8:g}" if fp8 else "—",
            str(gpu.sms),
            f"{gpu.nvlink_gbps:g}" if gpu.nvlink_gbps else "—",
            f"{gpu.tdp_w:g}",
            f"{gpu.price_per_hour:.2f}" + ("*" if gpu.price_source == "assumed" else ""),
            f"{len(gpu.mig.profiles)} profiles" if gpu.mig else "no",
        )
    out = console()
    out.print(table)
    out.print("* price assumed (no public figure in the references); `mig-plan catalog GPU` for MIG profiles")


def _gpu_detail(gpu: Gpu, with_me: bool, as_json: bool) -> None:
    profiles = gpu.mig.profiles if gpu.mig else ()
    n_layouts = len(mig.enumerate_layouts(gpu, with_me)) if gpu.mig else 0
    n_maximal = len(mig.maximal_layouts(gpu, with_me)) if gpu.mig else 0
    if as_json:
        print_json(
            {
                "gpu": gpu_summary(gpu),
                "profiles": [
                    {
                        "name": p.name,
                        "profile_id": p.profile_id,
                        "slots": p.slots,
                        "starts": list(p.starts),
                        "compute_slices": p.compute_slices,
                        "max_count": p.max_count,
                        "memory_gib": p.memory_gib,
                        "sms": p.sms,
                        "media": p.media,
                        "estimated": p.estimated,
                    }
                    for p in profiles
                ],
                "slots": gpu.mig.slots if gpu.mig else None,
                "compute_slices": gpu.mig.compute_slices if gpu.mig else None,
                "layouts": n_layouts,
                "maximal_layouts": n_maximal,
            }
        )
        return
    out = console()
    fp8 = gpu.tflops.get("fp8")
    out.print(
        f"[bold]{gpu.name}[/] ({gpu.architecture}) — {gpu.memory_gb:g} GB, {gpu.bandwidth_tbps:g} TB/s, "
        f"BF16 {gpu.tflops['bf16']:g} / FP8 {f'{fp8:g}' if fp8 else '—'} TFLOPS dense, {gpu.sms} SMs, "
        f"NVLink {gpu.nvlink_gbps:g} GB/s, ${gpu.price_per_hour:.2f}/h ({gpu.price_source})"
    )
    if gpu.aliases:
        out.print("aliases: " + ", ".join(gpu.aliases))
    if not gpu.mig:
        out.print("no MIG: runs whole-GPU replicas (resource '" + gpu.name + "') and NVLink groups where linked")
        return
    table = Table(title=f"MIG profiles ({gpu.mig.slots} memory slots, {gpu.mig.compute_slices} compute slices)")
    for col in ("profile", "id", "slots", "legal starts", "compute", "max", "usable GiB", "SMs", "note"):
        table.add_column(col, justify="left" if col in ("profile", "legal starts", "note") else "right")
    for p in profiles:
        note = []
        if p.media:
            note.append("media ext. (one per GPU)")
        if p.estimated:
            note.append("estimated: " + ", ".join(p.estimated_fields))
        table.add_row(
            p.name, str(p.profile_id), str(p.slots), ",".join(map(str, p.starts)), str(p.compute_slices),
            str(p.max_count), f"{p.memory_gib:g}", str(p.sms), "; ".join(note),
        )
    out.print(table)
    me = " (with +me)" if with_me else " (without +me; --with-me to include)"
    out.print(f"{n_layouts} valid layouts, {n_maximal} maximal{me}; --layouts lists them")


def _layouts(gpu: Gpu, with_me: bool, as_json: bool) -> None:
    if not gpu.mig:
        raise bad_usage(f"{gpu.name} has no MIG, so it has no layouts", as_json)
    layouts = mig.enumerate_layouts(gpu, with_me)
    maximal = mig.maximal_layouts(gpu, with_me)
    if as_json:
        print_json(
            {
                "gpu": gpu.name,
                "layouts": [_layout_json(layout) for layout in layouts],
                "maximal": [_layout_json(layout) for layout in maximal],
            }
        )
        return
    out = console()
    maximal_set = set(maximal)
    for layout in layouts:
        mark = "  maximal" if layout in maximal_set else ""
        out.print((mig.layout_str(layout) or "(empty)") + mark)
    out.print(f"{len(layouts)} layouts, {len(maximal)} maximal ({gpu.name}, profile@start)")


def _model_details(m) -> str:
    if m.description:
        return m.description
    if m.kind == "llm":
        text = f"{m.layers} layers, {m.heads}/{m.n_kv_heads} heads"
        if m.is_moe:
            text += f", MoE {m.experts_per_token} of {m.experts} experts ({m.active_b:g}B active)"
        return text + (", MLA" if m.is_mla else "")
    if m.kind in ("diffusion", "video"):
        return f"{m.tflop_per_pass:g} TFLOP per pass, {m.default_steps} steps"
    return f"{m.memory_gb:g} GiB, real-time factor {m.rtf:g}"


def _models(as_json: bool) -> None:
    from planner.catalog.models import load_models

    models = load_models()
    if as_json:
        print_json({"models": [m.model_dump(mode="json", exclude_none=True) for m in models.values()]})
        return
    table = Table(title="Model presets (use as `model:` in a workload)")
    for col in ("name", "kind", "parameters (B)", "details", "source"):
        table.add_column(col)
    for name, m in models.items():
        table.add_row(name, m.kind, f"{m.params_b:g}", _model_details(m), m.source)
    console().print(table)


@handles_errors
def catalog(
    name: Optional[str] = typer.Argument(None, help="A GPU (name or alias), or 'models' for model presets."),
    layouts: bool = typer.Option(False, "--layouts", help="List every valid MIG layout of the GPU."),
    with_me: bool = typer.Option(False, "--with-me", help="Include +me (media extension) profiles in layouts."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the GPU catalog, one GPU's MIG profiles and layouts, or the model presets."""
    if name is None:
        if layouts:
            raise bad_usage("--layouts needs a GPU: mig-plan catalog H100 --layouts", as_json)
        if as_json:
            print_json({"gpus": [gpu_summary(g) for g in load_catalog()]})
        else:
            _gpu_table()
        return
    if name == "models":
        _models(as_json)
        return
    try:
        gpu = load_catalog().gpu(name)
    except UnknownGpu as exc:
        raise bad_usage(f"{exc} (see `mig-plan catalog`)", as_json)
    if layouts:
        _layouts(gpu, with_me, as_json)
    else:
        _gpu_detail(gpu, with_me, as_json)
