"""What every command shares: exit codes, error printing, JSON output, rich consoles.

Exit codes (DESIGN §5, like ruff's): 0 success, 1 valid input but no feasible plan,
2 bad input, bad usage, or an internal error. No Python traceback reaches a user unless
MIG_PLAN_DEBUG=1 is set.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from typing import Any, Callable

import typer
from rich.console import Console

from planner.errors import InputError, NoFeasiblePlan, Problem

EXIT_OK = 0
EXIT_INFEASIBLE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

# A file with thousands of mistakes is a wrong file, not a to-do list: print the first ones.
MAX_PRINTED_PROBLEMS = 200

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")


def console() -> Console:
    # Wide enough that tables are not wrapped into unreadable columns when output is piped.
    return Console(width=None if sys.stdout.isatty() else 120, highlight=False, soft_wrap=False)


def err_console() -> Console:
    return Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 120)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def report_problems(problems: list[Problem], as_json: bool) -> None:
    if as_json:
        print_json({"ok": False, "problems": [p.to_dict() for p in problems]})
        return
    err = err_console()
    noun = "problem" if len(problems) == 1 else "problems"
    err.print(f"[bold red]error[/]: {len(problems)} {noun}", markup=True)
    for p in problems[:MAX_PRINTED_PROBLEMS]:
        err.print(p.format(), markup=False, soft_wrap=True)  # one line per problem, greppable
    if len(problems) > MAX_PRINTED_PROBLEMS:
        more = len(problems) - MAX_PRINTED_PROBLEMS
        err.print(f"... and {more:,} more (--json lists them all)", markup=False, soft_wrap=True)


def handles_errors(fn: Callable) -> Callable:
    """Turn the domain's exceptions into exit codes and clear messages for one command."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json", False))
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            report_problems(exc.problems, as_json)
            raise typer.Exit(EXIT_BAD_INPUT)
        except NoFeasiblePlan as exc:
            if as_json:
                print_json({"ok": False, "status": "infeasible", "reasons": getattr(exc, "reasons", [str(exc)])})
            else:
                err = err_console()
                err.print("[bold red]no feasible plan[/]:")
                for reason in getattr(exc, "reasons", [str(exc)]):
                    err.print(f"  - {reason}", markup=False, soft_wrap=True)  # one line each, greppable
            raise typer.Exit(EXIT_INFEASIBLE)
        except KeyboardInterrupt:
            err_console().print("interrupted", markup=False)
            raise typer.Exit(EXIT_INTERRUPTED)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # a bug: say so plainly, no traceback unless asked
            if os.environ.get("MIG_PLAN_DEBUG"):
                raise
            err_console().print(
                f"internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in mig-plan. Re-run with MIG_PLAN_DEBUG=1 for the traceback.",
                markup=False,
            )
            raise typer.Exit(EXIT_BAD_INPUT)

    return wrapper


def bad_usage(message: str, as_json: bool = False) -> typer.Exit:
    report_problems([Problem(message)], as_json)
    return typer.Exit(EXIT_BAD_INPUT)


def warn_if_fleet_changed(fleet_path, loaded, plan, consequence: str) -> None:
    """Warn on stderr when the fleet file no longer hashes to what the plan was solved from."""
    if loaded.sha256 != plan.fleet_sha256:
        err_console().print(
            f"warning: {fleet_path} has changed since the plan was solved (sha256 differs from the plan's "
            f"fleet_sha256); {consequence}",
            markup=False,
            soft_wrap=True,
        )
