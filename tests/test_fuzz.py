"""Property-based fuzzing of the command line (issue 7): mutated fleets and plans never crash it.

Start from examples/fleet.yaml (trimmed to three workloads so a solve takes a fraction of a
second) or from a plan solved from it; apply one to three random mutations — delete a key or an
entry, replace a value with one of another type (None, bools, huge and negative integers, NaN,
infinities, tiny floats, random text, GPU and profile names, lists, mappings), scale a number,
duplicate a list entry, misspell a key by one character, insert a key — and run the commands
on the result. The contract:

- the exit code is 0, 1 or 2 — never 130, never a crash;
- no "Traceback" and no "internal error" in what is printed;
- a plan `solve` writes verifies against its fleet (`planner.verify`) and claims "optimal" only
  with a zero gap;
- a plan written is exported as mig-parted config (exit 0, or 2 for a plan export refuses).

Examples are drawn at random (hypothesis' database keeps and replays failures); 40 fleets and 40
plans per run keep it to about ten seconds. MIG_PLAN_FUZZ_EXAMPLES=2000 runs a longer campaign.
"""

from __future__ import annotations

import copy
import os
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli import app
from planner.plan import load_plan
from planner.spec import load_fleet
from planner.verify import verify

ROOT = Path(__file__).resolve().parent.parent
KEEP = ("chat-70b", "ranker", "voice")  # tensor parallel with a measured profile, generic, a preset


def _base_fleet() -> dict:
    data = yaml.safe_load((ROOT / "examples" / "fleet.yaml").read_text(encoding="utf-8"))
    data["workloads"] = [w for w in data["workloads"] if w["name"] in KEEP]
    data["profiles"] = [p for p in data["profiles"] if p["workload"] in KEEP]
    data["solver"]["time_limit_s"] = 2
    return data


BASE_FLEET = _base_fleet()

# --------------------------------------------------------------------------- mutations


def _paths(node, prefix=()) -> list[tuple]:
    """Every place in a document (not the root), parents before children."""
    out = []
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return out
    for key, child in items:
        out.append(prefix + (key,))
        out.extend(_paths(child, prefix + (key,)))
    return out


def _parent(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    return doc


ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2, 64, 65, 100_000, 100_001, 10**12, 10**13]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 5e-324, 1e-9, 0.0004, 0.3333333, 1e12, 1.0000001e12, 1e300]),
    st.text(max_size=12),
    st.sampled_from(["", " ", "all", "none", "off", "H100", "L4", "H100-SXM5-80GB/tp2", "H100-SXM5-80GB/1g.10gb",
                     "7g.80gb", "a/b/c", "tp0", "llama-3.1-8b", "generic", "fp8", "1e3", "ünï", "x" * 300]),
    st.lists(st.integers(min_value=-2, max_value=9), max_size=3),
    st.lists(st.lists(st.integers(min_value=-1, max_value=9), min_size=1, max_size=3), max_size=2),
    st.dictionaries(st.sampled_from(["all", "0", "x", "max", "count"]), st.integers(min_value=-1, max_value=9), max_size=2),
)

FACTORS = [0, -1, 1e-6, 1e-3, 0.5, 0.999999, 1.000001, 2, 10, 1000]
# Scaling a number keeps the fleet valid more often than not, so that the later commands (solve,
# export) see many fleets; the other mutations mostly test what validation says.
OPS = ["scale", "scale", "scale", "delete", "replace", "duplicate", "rename", "insert"]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@st.composite
def mutated(draw, base: dict) -> tuple[dict, list[str]]:
    """`base` after one to three mutations, with what was done (for the failure report)."""
    doc = copy.deepcopy(base)
    done: list[str] = []
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        paths = _paths(doc)
        if not paths:
            break
        op = draw(st.sampled_from(OPS))
        numbers = [p for p in paths if _is_number(_parent(doc, p)[p[-1]])]
        path = draw(st.sampled_from(numbers if op == "scale" and numbers else paths))
        parent, key = _parent(doc, path), path[-1]
        value = parent[key]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(ODD_VALUES)
        elif op == "scale" and isinstance(value, int):
            parent[key] = draw(st.sampled_from([0, -value, value - 1, value + 1, 2 * value, 10 * value, 1000 * value]))
        elif op == "scale" and _is_number(value):
            parent[key] = value * draw(st.sampled_from(FACTORS))
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(value))
        elif op == "rename" and isinstance(parent, dict) and isinstance(key, str) and key:
            i = draw(st.integers(min_value=0, max_value=len(key) - 1))
            new = key[:i] + draw(st.sampled_from("abxyz_-.0")) + key[i + 1 :]
            parent[new] = parent.pop(key)
        elif op == "insert" and isinstance(value, dict):
            value[draw(st.sampled_from(["extra", "count", "max", "price_per_hour", "gpu", "nvlink", "mig", "min", 0, 7]))] = draw(ODD_VALUES)
        else:
            op = "replace"
            parent[key] = draw(ODD_VALUES)
        done.append(f"{op} {'.'.join(map(str, path))}")
    return doc, done


# --------------------------------------------------------------------------- running the CLI


class _TooSlow(BaseException):
    """Raised by the watchdog; BaseException so that no `except Exception` in the CLI hides it."""


@contextmanager
def watchdog(seconds: int, what: str):
    """Fail (instead of hanging the suite) when one command runs for more than `seconds`."""

    def expire(signum, frame):
        raise _TooSlow(f"{what} ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run(*args: object):
    """Invoke the CLI and check the contract every invocation keeps."""
    argv = [str(a) for a in args]
    with watchdog(60, "mig-plan " + " ".join(argv)):
        result = CliRunner().invoke(app, argv)
    printed = result.output + (result.stderr or "")
    assert result.exit_code in (0, 1, 2), (argv, result.exit_code, printed)
    assert "Traceback" not in printed, (argv, printed)
    assert "internal error" not in printed, (argv, printed)
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), (argv, repr(result.exception))
    return result


def _dump(doc) -> str | None:
    try:
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:  # e.g. a key yaml cannot represent: nothing for the CLI to read
        return None


# MIG_PLAN_FUZZ_EXAMPLES=2000 for a longer campaign than `make test` runs.
SETTINGS = settings(
    max_examples=int(os.environ.get("MIG_PLAN_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="the watchdog needs SIGALRM")
@SETTINGS
@given(case=mutated(BASE_FLEET))
def test_mutated_fleets(case):
    doc, done = case
    text = _dump(doc)
    if text is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        fleet = Path(tmp) / "fleet.yaml"
        fleet.write_text(text, encoding="utf-8")
        validated = run("validate", fleet)
        estimated = run("estimate", fleet, "--json")
        out = Path(tmp) / "plan.yaml"
        solved = run("solve", fleet, "--time-limit", "2", "-o", out)
        event(f"solve exit {solved.exit_code}")
        if validated.exit_code == 2:  # every command reads the fleet the same way
            assert estimated.exit_code == 2 and solved.exit_code == 2, done
            assert not out.exists()
            return
        assert estimated.exit_code == 0, (done, estimated.output)
        if solved.exit_code != 0:
            assert solved.exit_code == 1 and not out.exists(), (done, solved.output)
            return
        plan = load_plan(out)
        assert verify(plan, load_fleet(fleet)) == [], done
        if plan.status == "optimal":
            assert plan.gap == 0
        assert plan.lower_bound_per_hour is None or plan.lower_bound_per_hour <= plan.cost_per_hour + 1e-9
        exported = run("export", out, "--format", "mig-parted")
        assert exported.exit_code == 0, (done, exported.output)


# --------------------------------------------------------------------------- plans


@pytest.fixture(scope="module")
def solved_base(tmp_path_factory) -> tuple[Path, dict]:
    directory = tmp_path_factory.mktemp("fuzz-plan")
    fleet = directory / "fleet.yaml"
    fleet.write_text(yaml.safe_dump(BASE_FLEET, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["solve", str(fleet), "-o", str(directory / "plan.yaml")])
    assert result.exit_code == 0, result.output
    return fleet, yaml.safe_load((directory / "plan.yaml").read_text(encoding="utf-8"))


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="the watchdog needs SIGALRM")
@SETTINGS
@given(data=st.data())
def test_mutated_plans(solved_base, data):
    fleet, plan = solved_base
    doc, done = data.draw(mutated(plan))
    text = _dump(doc)
    if text is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.yaml"
        path.write_text(text, encoding="utf-8")
        for fmt in ("mig-parted", "labels", "k8s"):
            run("export", path, "--format", fmt, "--fleet", fleet)
        run("report", path, "-o", Path(tmp) / "report.html")


def test_the_mutations_reach_every_kind_of_value():
    """The strategies above are worth running: the base fleet solves, and its places include
    mappings, lists, numbers and text."""
    paths = _paths(BASE_FLEET)
    kinds = {type(_parent(BASE_FLEET, p)[p[-1]]).__name__ for p in paths}
    assert {"dict", "list", "int", "float", "str"} <= kinds
    assert len(paths) > 50
