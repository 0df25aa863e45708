"""`mig-plan validate FLEET`: check a fleet file; list every problem, not only the first."""

from __future__ import annotations

from pathlib import Path

import typer

from planner.cli.common import JSON_OPTION, console, handles_errors, print_json
from planner.spec import load_fleet


@handles_errors
def validate(
    fleet: Path = typer.Argument(..., help="Fleet file (YAML)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check a fleet file. Exit 0 when valid, 2 with every problem listed."""
    loaded = load_fleet(fleet)
    f = loaded.fleet
    summary = {
        "ok": True,
        "file": str(fleet),
        "fleet": f.name,
        "node_types": len(f.node_types),
        "inventory_nodes": len(loaded.inventory),
        "inventory_gpus": sum(f.node_types[n.type].count for n in loaded.inventory),
        "market_offers": len(f.market),
        "workloads": len(f.workloads),
        "profiles": len(f.profiles),
        "sha256": loaded.sha256,
    }
    if as_json:
        print_json(summary)
        return
    console().print(
        f"[green]valid[/]: {fleet} — fleet '{f.name}': {summary['workloads']} workloads, "
        f"{summary['node_types']} node types, {summary['inventory_nodes']} nodes today "
        f"({summary['inventory_gpus']} GPUs), {summary['market_offers']} market offers",
        soft_wrap=True,  # one line, whatever the width
    )
