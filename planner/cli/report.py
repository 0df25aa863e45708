"""`mig-plan report PLAN [-o report.html] [--force] [--json]`: the plan as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from planner.cli.common import JSON_OPTION, console, err_console, handles_errors, print_json, warn_if_fleet_changed


def _catalog_for(plan, plan_path: Path):
    """The catalog the plan was made against: the fleet file's (custom GPUs) when it still loads,
    else the built-in one. Only MIG slot geometry is read from it. Warns when the fleet file has
    changed since the plan was solved, as `export` does."""
    from planner.catalog import load_catalog
    from planner.errors import InputError
    from planner.spec import load_fleet

    if plan.fleet_file:
        for candidate in (Path(plan.fleet_file), plan_path.parent / plan.fleet_file):
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
                return loaded.catalog
    return load_catalog()


def _check_replace(output: Path, force: bool) -> None:
    """An existing output is replaced only with --force or when it is an earlier report."""
    from planner.emit.report import GENERATOR
    from planner.errors import InputError, Problem

    if force or not output.is_file():
        return
    try:
        with open(output, encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        head = ""
    if f'<meta name="generator" content="{GENERATOR}">' not in head:
        raise InputError([Problem("exists and is not an earlier mig-plan report", "", None, "use --force to replace it, or another -o path", str(output))])


@handles_errors
def report(
    plan_file: Path = typer.Argument(..., help="Plan file written by `mig-plan solve` (YAML or JSON)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the HTML here; default: the plan's name with .html, next to it."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output that is not an earlier report."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write an HTML report of a plan: node drawings, cost, headroom, changes. Opens offline."""
    from planner.emit.report import group_nodes, render_report
    from planner.fileio import refuse_input_overwrite, write_atomic
    from planner.plan import load_plan

    plan = load_plan(plan_file)
    target = output if output is not None else plan_file.with_name(plan_file.stem + ".html")
    refuse_input_overwrite(target, (plan_file,))
    _check_replace(target, force)
    write_atomic(target, render_report(plan, _catalog_for(plan, plan_file)), inputs=(plan_file,))
    groups = len(group_nodes(plan))
    if as_json:
        print_json({"report": str(target), "nodes": len(plan.nodes), "node_groups": groups})
        return
    console().print(f"report written to {target} ({len(plan.nodes)} nodes in {groups} drawings)", markup=False)
