"""`mig-plan explain FLEET`: can each workload be served, and if no plan exists, why."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from planner.cli.common import EXIT_INFEASIBLE, JSON_OPTION, console, handles_errors, print_json, time_limit_seconds


@handles_errors
def explain(
    fleet: Path = typer.Argument(..., help="Fleet file (YAML)."),
    time_limit: float = typer.Option(10.0, "--time-limit", callback=time_limit_seconds, help="Seconds to look for a plan."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Diagnose a fleet: per workload, whether and how it can reach its target; exit 1 if no plan exists."""
    from planner.errors import NoFeasiblePlan
    from planner.explain import diagnose
    from planner.planning import make_plan
    from planner.problem import build_problem
    from planner.spec import load_fleet

    loaded = load_fleet(fleet)
    problem = build_problem(loaded)
    rows = diagnose(problem)
    feasible, reasons, cost = True, [], None
    if all(d.ok for d in rows):
        try:
            cost = make_plan(loaded, "cp-sat", time_limit, problem=problem).cost_per_hour
        except NoFeasiblePlan as exc:
            feasible, reasons = False, list(getattr(exc, "reasons", [str(exc)]))
    else:
        feasible = False
        reasons = [f"{d.workload}: {d.message}" for d in rows if not d.ok]
    if as_json:
        print_json(
            {
                "fleet": loaded.fleet.name,
                "feasible": feasible,
                "cost_per_hour": cost,
                "reasons": reasons,
                "workloads": [
                    {"name": d.workload, "ok": d.ok, "message": d.message, "max_capacity": d.max_capacity, "best_resource": d.best_resource}
                    for d in rows
                ],
            }
        )
    else:
        table = Table(title=f"{loaded.fleet.name}: can each workload reach its target?")
        for col in ("workload", "ok", "most throughput per replica", "diagnosis"):
            table.add_column(col)
        for d in rows:
            table.add_row(d.workload, "yes" if d.ok else "[red]no[/]", d.best_resource or "—", d.message)
        out = console()
        out.print(table)
        if feasible:
            out.print(f"a plan exists: ${cost:,.2f}/h (`mig-plan solve {fleet}`)")
        else:
            out.print("[red]no feasible plan[/]:")
            for r in reasons:
                out.print(f"  - {r}", markup=False)
    if not feasible:
        raise typer.Exit(EXIT_INFEASIBLE)
