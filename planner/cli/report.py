"""`mig-plan report PLAN [-o report.html] [--force] [--json]`: the plan as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from planner.cli.common import JSON_OPTION, console, err_console, handles_errors, print_json, warn_if_fleet_changed


def _catalog_for(plan, plan_path: Path):
    """The catalog the plan was made against, and the fleet file it came from: the fleet file's
    (custom GPUs) when it still loads, else the built-in one (and None). Only MIG slot geometry is
    read from it. Warns when the fleet file has changed since the plan was solved, as `export`
    does, and when the plan does not hold against it (a report still draws it)."""
    from planner.catalog import load_catalog
    from planner.errors import InputError
    from planner.plan import fleet_candidates
    from planner.spec import load_fleet
    from planner.verify import verify_read_plan

    for candidate in fleet_candidates(plan, plan_path):
        if candidate.is_file():
            try:
                loaded = load_fleet(candidate)
            except (InputError, OSError):
                err_console().print(
                    f"warning: {candidate} no longer loads as a fleet file; drawing the plan with the built-in catalog",
                    markup=False,
                    soft_wrap=True,
                )
                break
            warn_if_fleet_changed(candidate, loaded, plan, "the report shows the plan as it was solved")
            issues = verify_read_plan(plan, loaded)
            if issues:
                more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
                err_console().print(
                    f"warning: the plan does not hold against {candidate}: {issues[0]}{more}; `mig-plan export` refuses such a plan against the fleet file it was solved from",
                    markup=False,
                    soft_wrap=True,
                )
            return loaded.catalog, candidate
    return load_catalog(), None


@handles_errors
def report(
    plan_file: Path = typer.Argument(..., help="Plan file written by `mig-plan solve` (YAML or JSON)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the HTML here; default: the plan's name with .html, next to it."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output that is not an earlier report."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write an HTML report of a plan: node drawings, cost, headroom, changes. Opens offline."""
    from planner.emit.report import GENERATOR_MARK, group_nodes, render_report
    from planner.fileio import refuse_input_overwrite, refuse_replacing, write_atomic
    from planner.plan import load_plan

    plan = load_plan(plan_file)
    target = output if output is not None else plan_file.with_name(plan_file.stem + ".html")
    refuse_input_overwrite(target, (plan_file,))
    refuse_replacing(target, force, GENERATOR_MARK, "an earlier mig-plan report")
    catalog, fleet_path = _catalog_for(plan, plan_file)
    inputs = (plan_file,) if fleet_path is None else (plan_file, fleet_path)
    refuse_input_overwrite(target, inputs)
    write_atomic(target, render_report(plan, catalog), inputs=inputs)
    groups = len(group_nodes(plan))
    if as_json:
        print_json({"report": str(target), "nodes": len(plan.nodes), "node_groups": groups})
        return
    console().print(f"report written to {target} ({len(plan.nodes)} nodes in {groups} drawings)", markup=False)
