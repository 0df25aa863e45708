"""The `mig-plan` command line (typer): one module per command, wired together here."""

from __future__ import annotations

import typer
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from planner.cli.common import report_problems
from planner.errors import Problem
from planner.cli import catalog as catalog_cmd
from planner.cli import compare as compare_cmd
from planner.cli import estimate as estimate_cmd
from planner.cli import explain as explain_cmd
from planner.cli import export as export_cmd
from planner.cli import report as report_cmd
from planner.cli import schema as schema_cmd
from planner.cli import solve as solve_cmd
from planner.cli import validate as validate_cmd


class _Commands(TyperGroup):
    """The command group, which also answers usage errors (an unknown option, a missing argument)
    in JSON when `--json` was given: scripts reading stdout get the same `{"ok": false,
    "problems": [...]}` as for a bad fleet file, not an empty stream. The usual message still goes
    to stderr and the exit code stays 2."""

    def make_context(self, info_name, args, parent=None, **extra):
        self._wants_json = "--json" in args
        return super().make_context(info_name, args, parent=parent, **extra)

    def main(self, *args, **kwargs):
        self._wants_json = False
        return super().main(*args, **kwargs)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            self._report(exc)
            raise

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            self._report(exc)
            raise

    def _report(self, exc: UsageError) -> None:
        if getattr(self, "_wants_json", False):
            command = exc.ctx.command_path if exc.ctx is not None else "mig-plan"
            report_problems([Problem(exc.format_message(), hint=f"see '{command} --help'")], as_json=True)
            self._wants_json = False  # once, whichever level caught it first


app = typer.Typer(
    cls=_Commands,
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
