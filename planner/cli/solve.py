"""`mig-plan solve FLEET [-o PLAN] [--json] [--time-limit S] [--solver cp-sat|greedy]`."""

from __future__ import annotations

import sys
import time
from collections import Counter
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from planner.cli.common import EXIT_INTERRUPTED, JSON_OPTION, console, err_console, handles_errors, print_json, time_limit_seconds


class SolverName(str, Enum):
    cp_sat = "cp-sat"
    greedy = "greedy"


RELEASABLE_SHOWN = 20  # node names printed in the summary; the plan file has every one


def print_summary(plan, out=None) -> None:
    out = out or console()
    bound = f"${plan.lower_bound_per_hour:,.2f}/h" if plan.lower_bound_per_hour is not None else "none (greedy proves nothing)"
    gap = f"{plan.gap:.2%}" if plan.gap is not None else "—"
    engine = plan.solver.name
    if plan.solver.found_by and plan.solver.found_by != plan.solver.name:
        engine += f", plan found by {plan.solver.found_by}"
    out.print(
        f"[bold]{plan.fleet}[/]: {plan.status} — cost [bold]${plan.cost_per_hour:,.2f}/h[/], "
        f"proven lower bound {bound}, gap {gap} ({engine}, {plan.solver.seconds:.2f} s)"
    )
    modes: Counter = Counter()
    by_type: Counter = Counter()
    for node in plan.nodes:
        by_type[(node.type, node.origin)] += 1
        for g in node.gpus:
            modes[g.mode] += 1
    nodes = Table(title="Nodes")
    for col in ("node type", "origin", "nodes", "$/h each"):
        nodes.add_column(col, justify="right" if col in ("nodes", "$/h each") else "left")
    prices = {(n.type, n.origin): n.price_per_hour for n in plan.nodes}
    for (t, origin), n in sorted(by_type.items()):
        nodes.add_row(t, origin, str(n), f"{prices[(t, origin)]:.2f}")
    out.print(nodes)
    out.print("GPUs by mode: " + ", ".join(f"{m} {modes[m]}" for m in ("mig", "full", "tp", "idle") if modes[m]))
    wl = Table(title="Workloads: capacity vs target")
    for col in ("workload", "target", "capacity", "headroom", "replicas", "$/h share"):
        wl.add_column(col, justify="left" if col in ("workload", "replicas") else "right")
    for w in plan.workloads:
        unit, value = next(iter(w.target.items()))
        reps = ", ".join(f"{r.count}× {r.resource}" + (" (measured)" if r.source == "measured" else "") for r in w.replicas)
        wl.add_row(w.name, f"{value:,.4g} {unit}", f"{w.capacity:,.4g}", f"{w.headroom:+.1%}", reps, f"{w.cost_per_hour:.2f}")
    out.print(wl)
    if plan.releasable:
        shown = plan.releasable[:RELEASABLE_SHOWN]
        more = len(plan.releasable) - len(shown)
        tail = f", ... and {more:,} more (the plan file lists them all)" if more else ""
        out.print(f"releasable (left empty, not paid for; {len(plan.releasable):,}): " + ", ".join(shown) + tail, markup=False)
    if plan.changes:
        out.print(f"layout changes against today: {len(plan.changes)} node(s): " + ", ".join(c.node for c in plan.changes))
    for note in plan.solver.notes:
        out.print(f"note: {note}")


@handles_errors
def solve(
    fleet: Path = typer.Argument(..., help="Fleet file (YAML)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the plan here (.yaml/.yml or .json)."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", callback=time_limit_seconds, help="Seconds (deterministic seconds of work if the fleet sets solver.deterministic); default: the fleet file's solver.time_limit_s."),
    solver: SolverName = typer.Option(SolverName.cp_sat, "--solver", help="cp-sat (optimal, with a bound) or greedy (fast baseline)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output that is not an earlier plan of this fleet."),
    keep_partial: bool = typer.Option(False, "--keep-partial", help="On Ctrl-C, still write the best verified plan found so far."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Find the cheapest plan that meets every target; print a summary, write the plan file."""
    from planner.fileio import check_output, write_atomic
    from planner.plan import dump_plan, fleet_file_entry, plan_format
    from planner.planning import PlanFailedVerification, make_plan
    from planner.spec import load_fleet

    loaded = load_fleet(fleet)
    if output is not None:
        check_output(output, (fleet,))  # before the search, not after it
        _check_replace(output, loaded.fleet.name, force)
    started = time.monotonic()
    err = err_console()
    show_progress = not as_json and sys.stderr is not None and sys.stderr.isatty()

    def progress(cost: float, bound: float, seconds: float) -> None:
        if show_progress and time.monotonic() - started > 1.0:
            err.print(f"  best ${cost:,.2f}/h, bound ${bound:,.2f}/h ({seconds:.1f} s)", markup=False)

    try:
        plan = make_plan(loaded, solver.value, time_limit, progress)
    except PlanFailedVerification as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2)
    # Recorded relative to the plan file, so that export and report find it from any directory.
    plan = plan.model_copy(update={"fleet_file": fleet_file_entry(fleet, output)})
    interrupted = plan.solver.interrupted
    write = output is not None and (not interrupted or keep_partial)
    if write:
        write_atomic(output, dump_plan(plan, plan_format(output)), inputs=(fleet,))
    if as_json:
        print_json(plan.to_data())
    else:
        print_summary(plan)
        if write:
            console().print(f"plan written to {output}")
    if interrupted:
        what = (
            "the search had already proven this plan optimal"
            if plan.status == "optimal"
            else "this is the best verified plan found so far, not proven optimal"
        )
        err.print(
            f"interrupted: {what}" + ("" if write or output is None else "; not written (use --keep-partial to write it)"),
            markup=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED)


def _check_replace(output: Path, fleet_name: str, force: bool) -> None:
    """An existing output is replaced only with --force or when it is an earlier plan of this fleet."""
    from planner.errors import InputError, Problem
    from planner.plan import load_plan

    if force or not output.is_file():  # a pipe or device (-o /dev/stdout) replaces nothing; never read it
        return
    try:
        earlier = load_plan(output)
    except InputError:
        earlier = None
    if earlier is None or earlier.fleet != fleet_name:
        raise InputError(
            [Problem("exists and is not an earlier plan of this fleet", "", None, "use --force to replace it, or another -o path", str(output))]
        )
