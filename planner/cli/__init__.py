"""The `mig-plan` command line (typer): one module per command, wired together here."""

from __future__ import annotations

import typer

from planner.cli import catalog as catalog_cmd
from planner.cli import compare as compare_cmd
from planner.cli import estimate as estimate_cmd
from planner.cli import explain as explain_cmd
from planner.cli import export as export_cmd
from planner.cli import report as report_cmd
from planner.cli import schema as schema_cmd
from planner.cli import solve as solve_cmd
from planner.cli import validate as validate_cmd

app = typer.Typer(
    name="mig-plan",
    help="Plan a GPU inference fleet: GPUs, MIG layouts, replica placement, cost — with a proven bound.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("solve")(solve_cmd.solve)
app.command("validate")(validate_cmd.validate)
app.command("estimate")(estimate_cmd.estimate)
app.command("explain")(explain_cmd.explain)
app.command("compare")(compare_cmd.compare)
app.command("report")(report_cmd.report)
app.command("export")(export_cmd.export)
app.command("catalog")(catalog_cmd.catalog)
app.command("schema")(schema_cmd.schema)


def main() -> None:
    app()
