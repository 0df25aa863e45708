"""`mig-plan export PLAN --format mig-parted|labels|labels-yaml|k8s [-o FILE] [--device-filter] [--fleet FLEET] [--json]`."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from planner.cli.common import JSON_OPTION, bad_usage, err_console, handles_errors, print_json, warn_if_fleet_changed


class ExportFormat(str, Enum):
    mig_parted = "mig-parted"
    labels = "labels"
    labels_yaml = "labels-yaml"
    k8s = "k8s"


HELP = """Write what operators apply, from a plan file (DESIGN §6).

\b
Formats:
  mig-parted   mig-parted config (v1): one named config per distinct node
               layout; `devices` lists where a node's GPUs differ.
               --device-filter adds each GPU type's PCI id.
  labels       shell script of `kubectl label node N --overwrite ...`:
               nvidia.com/mig.config plus mig-plan.io/plan and
               mig-plan.io/revision. Unchanged nodes (`# unchanged:`) get
               only mig-plan's labels (nothing to drain); market nodes still
               to provision are commented out.
  labels-yaml  the same labels as Node patches, one YAML document per
               existing node (kubectl apply --server-side -f FILE).
  k8s          GPU Operator ConfigMap with the mig-parted config, a
               ClusterPolicy fragment (mig.strategy: mixed), and one
               Deployment per workload and resource kind.

\b
The fleet file (GPU data, today's layouts, workloads' `serving:`) is the
one the plan names, or --fleet; if it changed since the plan was solved,
a warning is printed. The plan is re-checked against that fleet first
(the checks `solve` runs before writing one): a plan edited into an illegal MIG
layout, a GPU the node does not have, or a missed target, or a plan of
another fleet, is refused (exit 2) rather than exported; against a fleet file
edited since the plan was solved, the findings are warnings. Without -o the text goes to stdout; an existing
-o file is replaced only when it is an earlier export, or with --force.

\b
--json prints {"format", "output", "data"}: `output` is the file written
(or null); `data` is the mig-parted config; for labels and labels-yaml
{"plan", "revision", "nodes": [{"node", "status", "config", "today",
"labels", ...}], "releasable"}; for k8s {"documents": [...]}.
"""


def _fleet_path(plan, plan_path: Path, fleet: Optional[Path], as_json: bool) -> Path:
    if fleet is not None:
        return fleet
    if not plan.fleet_file:
        raise bad_usage(f"{plan_path}: the plan does not name its fleet file; pass --fleet FLEET", as_json)
    from planner.plan import fleet_candidates

    named = Path(plan.fleet_file)
    for candidate in fleet_candidates(plan, plan_path):
        if candidate.is_file():
            return candidate
    raise bad_usage(
        f"{plan_path}: the plan's fleet file {plan.fleet_file} was not found"
        + ("" if named.is_absolute() else f" (looked next to the plan, in {plan_path.parent}, and in the current directory)")
        + "; pass --fleet FLEET",
        as_json,
    )


def _refuse_unverified(plan, plan_file: Path, loaded, fleet_path: Path) -> None:
    """Operators apply what export writes: a plan that does not hold against the fleet file it
    was solved from (edited by hand), or that belongs to another fleet, is refused with the
    verifier's findings. Against a fleet file edited since (a price, a measured profile, a node
    released), the findings are warnings: the reviewed plan is still the one to export."""
    from planner.errors import InputError, Problem
    from planner.verify import verify_read_plan

    issues = verify_read_plan(plan, loaded)
    if not issues:
        return
    if loaded.sha256 != plan.fleet_sha256 and plan.fleet == loaded.fleet.name:
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        err_console().print(f"warning: against {fleet_path} as it is now: {issues[0]}{more}", markup=False, soft_wrap=True)
        return
    hint = f"re-run `mig-plan solve {fleet_path}`, or pass the fleet the plan was solved from with --fleet"
    raise InputError(
        [Problem(f"the plan does not hold against {fleet_path}: {issue}", "", None, hint if k == 0 else None, str(plan_file)) for k, issue in enumerate(issues)]
    )


@handles_errors
def export(
    plan_file: Path = typer.Argument(..., metavar="PLAN", help="Plan file written by `mig-plan solve` (.yaml or .json)."),
    fmt: ExportFormat = typer.Option(..., "--format", "-f", help="mig-parted | labels | labels-yaml | k8s."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write here (atomically) instead of stdout."),
    device_filter: bool = typer.Option(
        False, "--device-filter", help="mig-parted entries carry the GPU's PCI id (device-filter)."
    ),
    fleet: Optional[Path] = typer.Option(None, "--fleet", help="Fleet file to read; default: the one the plan names."),
    force: bool = typer.Option(False, "--force", help="Replace an existing -o file that is not an earlier export."),
    as_json: bool = JSON_OPTION,
) -> None:
    from planner.emit import k8s, labels, migparted
    from planner.emit.common import EXPORT_MARK, ExportError
    from planner.errors import InputError, Problem
    from planner.fileio import check_output, refuse_replacing, write_atomic
    from planner.plan import load_plan
    from planner.spec import load_fleet

    plan = load_plan(plan_file)
    fleet_path = _fleet_path(plan, plan_file, fleet, as_json)
    if output is not None:
        check_output(output, (plan_file, fleet_path))
        refuse_replacing(output, force, EXPORT_MARK, "an earlier mig-plan export")
    loaded = load_fleet(fleet_path)
    warn_if_fleet_changed(
        fleet_path, loaded, plan, "exporting the plan as it is, with this fleet file's GPU data and serving settings"
    )
    try:
        if fmt is ExportFormat.mig_parted:
            config = migparted.build(plan, loaded.catalog, device_filter)
            text, data = migparted.render(plan, config), config.to_data()
        elif fmt in (ExportFormat.labels, ExportFormat.labels_yaml):
            lp = labels.build(plan, loaded)
            text = labels.render_script(lp) if fmt is ExportFormat.labels else labels.render_patches(lp)
            data = lp.to_data()
        else:
            docs = k8s.build(plan, loaded, device_filter)
            text, data = k8s.render(plan, docs), {"documents": [d for _, d in docs]}
    except ExportError as exc:
        problem = Problem(f"cannot export: {exc.message}", exc.where, None, exc.hint, str(plan_file))
        raise InputError([problem]) from None
    # After the emitters' own checks (they name the place in the plan file), before anything is written.
    _refuse_unverified(plan, plan_file, loaded, fleet_path)

    if output is not None:
        write_atomic(output, text, inputs=(plan_file, fleet_path))
        if fmt is ExportFormat.labels and output.is_file():
            # A script: executable wherever it is readable (0644 -> 0755, 0600 -> 0700).
            mode = output.stat().st_mode & 0o777
            os.chmod(output, mode | (mode & 0o444) >> 2)
    if as_json:
        print_json({"format": fmt.value, "output": str(output) if output is not None else None, "data": data})
    elif output is None:
        typer.echo(text, nl=False)
    else:
        err_console().print(f"{fmt.value} written to {output}", markup=False)


export.__doc__ = HELP
