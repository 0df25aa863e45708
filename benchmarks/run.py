"""Benchmark runner: solve generated fleets with greedy and with the planner's solver (CP-SAT,
raced by HiGHS on what CP-SAT does not prove at once), place, verify, measure.

    python -m benchmarks [--sizes S,M,L,XL] [--seed N] [--time-limit S] [--out benchmarks/results.json]

Each size runs in its own subprocess (`python -m benchmarks.run --one SIZE ...`, which prints one
JSON object) so that its peak memory is its own. The solvers are treated as black boxes: the runner
reads only the `CountSolution` and the placed `Plan`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.generate import SIZES, generate, offered_gpus
from planner.spec.models import PATTERN_SEARCHES, PATTERNS_AUTO_MIN_WORKLOADS, PATTERNS_IN_CP_SAT_MIN_WORKLOADS, PATTERNS_OFF

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results.json"


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    peak = resource.getrusage(who).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def _paid_gpus(plan) -> int:
    return sum(len(node.gpus) for node in plan.nodes)


def run_one(size: str, seed: int = 0, time_limit_s: float | None = None, workers: int | None = None, patterns: str | None = None) -> dict:
    """Generate, solve and verify one size in this process; the measurements as a JSON-able dict."""
    from planner.placement import place
    from planner.problem import PRICE_SCALE, build_problem
    from planner.spec import parse_fleet
    from planner.verify import verify
    from solvers import get_solver

    greedy_solve, cpsat_solve = get_solver("greedy"), get_solver("cp-sat")

    limit = time_limit_s if time_limit_s is not None else SIZES[size].time_limit_s
    out: dict = {"size": size, "seed": seed, "time_limit_s": limit}
    t0 = time.perf_counter()
    text = generate(size, seed)
    loaded = parse_fleet(text, f"<bench {size} seed {seed}>")
    settings = loaded.fleet.solver
    workers = settings.workers if workers is None else workers
    # --patterns WHERE / --no-patterns override the fleet's setting (auto: by the number of workloads).
    out["patterns"] = patterns if patterns is not None else settings.pattern_search(len(loaded.fleet.workloads))
    out["gpus_offered"] = offered_gpus(size, seed)
    out["workloads"] = len(loaded.fleet.workloads)
    t1 = time.perf_counter()
    out["generate_parse_s"] = round(t1 - t0, 3)

    problem = build_problem(loaded)
    t2 = time.perf_counter()
    out["build_s"] = round(t2 - t1, 3)
    out["groups"] = len(problem.groups)
    out["candidates"] = sum(len(c) for c in problem.candidates.values())

    g = greedy_solve(problem)
    t3 = time.perf_counter()
    out["greedy_s"] = round(t3 - t2, 3)
    out["greedy_status"] = g.status
    out["greedy_cost"] = g.cost_scaled / PRICE_SCALE if g.cost_scaled is not None else None

    sol = cpsat_solve(
        problem,
        time_limit_s=limit,
        workers=workers,
        seed=settings.seed,
        relative_gap=settings.relative_gap,
        warm_start=g if g.status != "infeasible" else None,
        highs=settings.highs,
        patterns=out["patterns"],
    )
    t4 = time.perf_counter()
    out["cpsat_s"] = round(t4 - t3, 3)
    out["cpsat_workers"] = sol.workers
    out["status"] = sol.status
    out["cost"] = sol.cost_scaled / PRICE_SCALE if sol.cost_scaled is not None else None
    out["bound"] = sol.bound_scaled / PRICE_SCALE if sol.bound_scaled is not None else None
    out["gap"] = (
        round((sol.cost_scaled - sol.bound_scaled) / sol.cost_scaled, 6)
        if sol.cost_scaled and sol.bound_scaled is not None
        else None
    )
    out["notes"] = list(sol.notes)
    out["found_by"] = sol.found_by
    out["greedy_ratio"] = (
        round(g.cost_scaled / sol.cost_scaled, 4) if g.cost_scaled and sol.cost_scaled else None
    )

    # Place and verify the CP-SAT plan (the greedy one when CP-SAT found none), then greedy's own.
    chosen = sol if sol.status in ("optimal", "feasible") else g
    out["placed"] = "cp-sat" if chosen is sol else ("greedy" if g.status in ("optimal", "feasible") else None)
    if out["placed"] is not None:
        chosen.time_limit_s = limit if chosen is sol else None
        plan = place(problem, chosen)
        issues = verify(plan, loaded, problem.perf)
        t5 = time.perf_counter()
        out["place_verify_s"] = round(t5 - t4, 3)
        # What a user waits for a plan: parse, build, greedy warm start, search, place, verify.
        out["plan_s"] = round(t5 - t0, 3)
        out["verify_issues"] = len(issues)
        out["verify_first_issues"] = issues[:5]
        # The placed plan's cost, recomputed from its nodes; below `cost` when placement packs the
        # counts onto fewer nodes than the solver paid for.
        out["plan_cost"] = plan.cost_per_hour
        out["gpus_paid"] = _paid_gpus(plan)
        out["gpu_use"] = round(out["gpus_paid"] / out["gpus_offered"], 3)
        if chosen is sol and g.status in ("optimal", "feasible"):
            gplan = place(problem, g)
            gissues = verify(gplan, loaded, problem.perf)
            out["greedy_verify_issues"] = len(gissues)
            out["greedy_verify_first_issues"] = gissues[:5]
            out["greedy_gpus_paid"] = _paid_gpus(gplan)
            out["greedy_place_verify_s"] = round(time.perf_counter() - t5, 3)
    out["total_s"] = round(time.perf_counter() - t0, 3)
    out["peak_rss_mb"] = _peak_rss_mb()
    # HiGHS races CP-SAT in a child process: its peak counts too (the largest child's).
    out["peak_child_rss_mb"] = _peak_rss_mb(resource.RUSAGE_CHILDREN)
    return out


def _child(size: str, seed: int, limit: float, workers: int | None, timeout: float, patterns: str | None = None) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.run", "--one", size, "--seed", str(seed), "--time-limit", str(limit)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    if patterns is not None:
        cmd += ["--patterns", patterns]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"size": size, "seed": seed, "time_limit_s": limit, "error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        why = f"exit status {proc.returncode}" + (" (killed: out of memory?)" if proc.returncode in (-9, 137) else "")
        return {"size": size, "seed": seed, "time_limit_s": limit, "error": why, "stderr_tail": tail,
                "total_s": round(time.perf_counter() - start, 3)}
    return json.loads(lines[-1])


def _fmt(value, spec: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and spec:
        return format(value, spec)
    return str(value)


COLUMNS = (
    ("size", "size", ""),
    ("GPUs", "gpus_offered", ","),
    ("wl", "workloads", ""),
    ("status", "status", ""),
    ("cost $/h", "cost", ",.2f"),
    ("plan $/h", "plan_cost", ",.2f"),
    ("bound $/h", "bound", ",.2f"),
    ("gap", "gap", ".2%"),
    ("found by", "found_by", ""),
    ("greedy $/h", "greedy_cost", ",.2f"),
    ("greedy/plan", "greedy_ratio", ".3f"),
    ("used", "gpu_use", ".0%"),
    ("build s", "build_s", ".1f"),
    ("greedy s", "greedy_s", ".1f"),
    ("solve s", "cpsat_s", ".1f"),
    ("place+verify s", "place_verify_s", ".1f"),
    ("plan s", "plan_s", ".1f"),
    ("peak MB", "peak_rss_mb", ",.0f"),
    ("HiGHS MB", "peak_child_rss_mb", ",.0f"),
    ("issues", "verify_issues", ""),
    ("greedy issues", "greedy_verify_issues", ""),
)


def table(results: list[dict]) -> str:
    rows: list[list[str]] = [[name for name, _, _ in COLUMNS]]
    for r in results:
        if "error" in r:
            rows.append([r["size"], "error: " + r["error"]])
            continue
        row = []
        for _, key, spec in COLUMNS:
            v = r.get(key)
            if spec == "," and isinstance(v, int):
                row.append(f"{v:,}")
            else:
                row.append(_fmt(float(v) if isinstance(v, int) and spec and spec != "," else v, spec))
        rows.append(row)
    full = [row for row in rows if len(row) == len(COLUMNS)]
    widths = [max(len(row[i]) for row in full) for i in range(len(COLUMNS))]
    lines = []
    for k, row in enumerate(rows):
        if len(row) != len(COLUMNS):  # an error: the size and what went wrong
            lines.append(f"{row[0]:<{widths[0]}}  {row[1]}")
            continue
        lines.append("  ".join(c.rjust(w) if k and i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _environment() -> dict:
    try:
        from importlib.metadata import version

        ortools = version("ortools")
    except Exception:  # pragma: no cover - metadata missing
        ortools = None
    return {
        "python": platform.python_version(),
        "ortools": ortools,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Solve generated fleets and measure.")
    parser.add_argument("--sizes", default="S,M,L,XL", help="comma-separated sizes (default S,M,L,XL)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=None,
                        help="solver seconds per size (default: S 10, M 9, L 55, XL 260)")
    parser.add_argument("--workers", type=int, default=None, help="CP-SAT workers (default: the fleet's, 0 → 1)")
    parser.add_argument(
        "--patterns",
        choices=PATTERN_SEARCHES,
        default=None,
        help="where the replica-pattern search runs: off, highs (the HiGHS process's second half) or cp-sat (CP-SAT's "
        f"time after its head start); default: the fleet's solver.patterns, auto (highs from {PATTERNS_AUTO_MIN_WORKLOADS} "
        f"workloads: L and XL; cp-sat from {PATTERNS_IN_CP_SAT_MIN_WORKLOADS}: M; off below: S)",
    )
    parser.add_argument("--no-patterns", dest="patterns", action="store_const", const=PATTERNS_OFF, help="--patterns off")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON results file (default benchmarks/results.json)")
    parser.add_argument("--one", metavar="SIZE", help=argparse.SUPPRESS)  # child mode: one size, JSON on stdout
    args = parser.parse_args(argv)

    if args.one:
        print(json.dumps(run_one(args.one, args.seed, args.time_limit, args.workers, args.patterns)), flush=True)
        return 0

    sizes = [s.strip().upper() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {', '.join(unknown)}; choose from {', '.join(SIZES)}")
    results = []
    for size in sizes:
        limit = args.time_limit if args.time_limit is not None else SIZES[size].time_limit_s
        print(f"[{size}] solving (time limit {limit:g} s) ...", file=sys.stderr, flush=True)
        # Generous: building, greedy, placement and verification come on top of the solver's time.
        result = _child(size, args.seed, limit, args.workers, timeout=limit * 4 + 900, patterns=args.patterns)
        results.append(result)
        print(table([result]).splitlines()[-1], file=sys.stderr, flush=True)
        for which in ("verify", "greedy_verify"):
            for issue in result.get(f"{which}_first_issues", []):  # a plan failing verification is a bug
                print(f"[{size}] {which.replace('_', ' ')} issue: {issue}", file=sys.stderr, flush=True)
    print(table(results))
    report = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seed": args.seed,
        "environment": _environment(),
        "results": results,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"saved {out}")
    failed = any("error" in r or r.get("verify_issues") or r.get("greedy_verify_issues") for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
