"""`mig-plan compare FLEET`: the fleet as is vs without MIG vs one GPU type — what each saves."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from planner.cli.common import EXIT_INFEASIBLE, EXIT_INTERRUPTED, JSON_OPTION, console, err_console, handles_errors, print_json, time_limit_seconds


@handles_errors
def compare(
    fleet: Path = typer.Argument(..., help="Fleet file (YAML)."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", callback=time_limit_seconds, help="Seconds per variant (deterministic seconds if the fleet sets solver.deterministic); default: the fleet's solver.time_limit_s."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Solve the fleet as is, with MIG off, and with only its best single GPU type, side by side.

    Exit 1 when the fleet as is has no feasible plan (as `solve`); a variant alone being
    infeasible (no MIG, one GPU type) is an answer, not a failure."""
    from planner.compare import compare as run_compare
    from planner.compare import savings
    from planner.spec import load_fleet

    loaded = load_fleet(fleet)
    variants = run_compare(loaded, time_limit)
    saved = savings(variants)
    interrupted = any(v.interrupted for v in variants)
    as_is_infeasible = any(v.name == "as-is" and v.to_dict()["status"] == "infeasible" for v in variants)
    if as_json:
        print_json({"fleet": loaded.fleet.name, "variants": [v.to_dict() for v in variants], "savings_per_hour": saved})
        if interrupted:
            raise typer.Exit(EXIT_INTERRUPTED)
        if as_is_infeasible:
            raise typer.Exit(EXIT_INFEASIBLE)
        return
    table = Table(title=f"{loaded.fleet.name}: what MIG and a mixed fleet save")
    for col in ("variant", "status", "$/h", "bound $/h", "nodes", "GPUs", "MIG GPUs", "as-is saves"):
        table.add_column(col, justify="left" if col in ("variant", "status") else "right")
    for v in variants:
        d = v.to_dict()
        cost = d["cost_per_hour"]
        saving = saved.get(v.name)
        pct = f" ({saving / cost:.0%})" if saving is not None and cost else ""
        table.add_row(
            v.description,
            d["status"],
            f"{cost:,.2f}" if cost is not None else "—",
            f"{d['lower_bound_per_hour']:,.2f}" if d["lower_bound_per_hour"] is not None else "—",
            str(d["nodes"] or "—"),
            str(d["gpus"] or "—"),
            str(d["mig_gpus"] if d["mig_gpus"] is not None else "—"),
            (f"${saving:,.2f}/h" + pct) if saving is not None else ("—" if v.name == "as-is" else "n/a"),
        )
    out = console()
    out.print(table)
    for v in variants:
        if v.plan is None:
            out.print(f"{v.description}: no plan — " + "; ".join(v.reasons), markup=False)
    if interrupted:
        err_console().print("interrupted: the variants after the interrupted one were not solved", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED)
    if as_is_infeasible:
        raise typer.Exit(EXIT_INFEASIBLE)
