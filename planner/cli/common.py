"""What every command shares: exit codes, error printing, JSON output, rich consoles.

Exit codes (DESIGN §5, like ruff's): 0 success, 1 valid input but no feasible plan,
2 bad input, bad usage, or an internal error; 130 interrupted (Ctrl-C), 141 the output pipe's
reader went away (`| head`). No Python traceback reaches a user unless
MIG_PLAN_DEBUG=1 is set.
"""

from __future__ import annotations

import functools
import io
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
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what the shell reports for a tool whose reader went away

# A file with thousands of mistakes is a wrong file, not a to-do list: print the first ones.
MAX_PRINTED_PROBLEMS = 200

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")

MAX_TIME_LIMIT_S = 86_400.0  # the fleet file's solver.time_limit_s allows at most a day, too


def time_limit_seconds(value: float | None) -> float | None:
    """--time-limit: a finite number of seconds, 0.01 to a day (click's range lets NaN through)."""
    if value is not None and not 0.01 <= value <= MAX_TIME_LIMIT_S:
        raise typer.BadParameter(f"{value} is not a number of seconds from 0.01 to {MAX_TIME_LIMIT_S:.0f}")
    return value


def _quiet_exit_on_broken_pipe() -> None:
    """`mig-plan ... | head`: the reader closed the pipe. Not an error worth a message, and not
    exit 1 (which means "no feasible plan"). Later writes, the interpreter's final flush
    included, go nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    raise SystemExit(EXIT_BROKEN_PIPE)


def _flush_stdout() -> None:
    if sys.stdout is not None:  # None when the program started with stdout closed (`>&-`)
        sys.stdout.flush()


class _Console(Console):
    def on_broken_pipe(self) -> None:  # rich's own exits with 1
        self.quiet = True
        _quiet_exit_on_broken_pipe()


def _is_terminal(stream) -> bool:
    return stream is not None and stream.isatty()


def console() -> Console:
    # Wide enough that tables are not wrapped into unreadable columns when output is piped.
    # Started with stdout closed (`>&-`), there is nowhere to print: output is dropped.
    where = {"file": io.StringIO()} if sys.stdout is None else {}
    return _Console(width=None if _is_terminal(sys.stdout) else 120, highlight=False, soft_wrap=False, **where)


def err_console() -> Console:
    if sys.stderr is None:
        return _Console(file=io.StringIO())
    return _Console(stderr=True, highlight=False, width=None if _is_terminal(sys.stderr) else 120)


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
        try:
            return run(*args, **kwargs)
        except BrokenPipeError:  # also from the error reports below, printed after the fact
            _quiet_exit_on_broken_pipe()

    def run(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json", False))
        try:
            result = fn(*args, **kwargs)
            # Flush here, not at exit, so that a closed pipe is met here (not by click, whose exit
            # code for it is 1). Not in a `finally`: that would hide the error being raised.
            _flush_stdout()
            return result
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
        except BrokenPipeError:
            _quiet_exit_on_broken_pipe()
        except (typer.Exit, typer.Abort):
            _flush_stdout()
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
