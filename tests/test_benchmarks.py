"""The benchmark generator and runner (fast: only S is solved; L and XL are checked arithmetically)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `benchmarks/` is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import generate as gen  # noqa: E402
from benchmarks.run import main as run_main, run_one, table  # noqa: E402
from planner.catalog import load_catalog  # noqa: E402
from planner.mig import fits  # noqa: E402
from planner.spec import parse_fleet  # noqa: E402
from planner.spec.models import NAME_RE  # noqa: E402

TARGETS = {"S": (16, 6), "M": (512, 40), "L": (8_000, 200), "XL": (32_000, 500)}


def test_same_seed_same_text_other_seed_other_text():
    assert gen.generate("S", 0) == gen.generate("S", 0)
    assert gen.generate("M", 3) == gen.generate("M", 3)
    assert gen.generate("S", 0) != gen.generate("S", 1)
    assert gen.generate("M", 0) != gen.generate("M", 1)


@pytest.mark.parametrize("seed", range(5))
def test_s_fleets_validate(seed):
    loaded = parse_fleet(gen.generate("S", seed), f"S-{seed}")
    assert len(loaded.fleet.workloads) == 6
    assert loaded.inventory  # something runs today
    assert loaded.fleet.market  # something to buy
    assert any(any(t not in (None, "off") for t in n.today) for n in loaded.inventory)  # a MIG layout today


@pytest.mark.parametrize("seed", range(12))
def test_s_fleets_plan_and_verify_with_both_solvers(seed):
    """Generated fleets as a source of placement cases no hand-written test thought of (two
    placement bugs were found this way, on M). A plan that fails verification raises."""
    from planner.errors import NoFeasiblePlan
    from planner.planning import make_plan

    loaded = parse_fleet(gen.generate("S", seed), f"S-{seed}")
    plan = make_plan(loaded, "cp-sat", time_limit_s=5)
    assert plan.status == "optimal"
    try:
        greedy = make_plan(loaded, "greedy")
    except NoFeasiblePlan:  # greedy proves nothing: on tight fleets it may find no plan
        return
    assert greedy.cost_per_hour >= plan.cost_per_hour - 1e-9


def test_m_fleet_validates_and_mixes_what_the_issue_asks_for():
    loaded = parse_fleet(gen.generate("M", 0), "M-0")
    fleet = loaded.fleet
    assert {nt.nvlink if isinstance(nt.nvlink, str) else "pairs" for nt in fleet.node_types.values()} == {
        "all", "none", "pairs"}
    assert len({nt.gpu for nt in fleet.node_types.values()}) >= 5
    models = {w.model for w in fleet.workloads if isinstance(w.model, str)}
    assert any(w.kind == "generic" and w.capacity and w.memory_gb for w in fleet.workloads)
    assert models & {"llama-3.1-70b", "qwen2.5-72b"}  # TP on 80 GB GPUs at fp8
    assert any(w.replicas.min >= 2 for w in fleet.workloads)
    assert any(w.slo is not None for w in fleet.workloads)
    units = {w.target.unit for w in fleet.workloads}
    assert {"images_per_s", "videos_per_hour"} <= units
    assert units & {"audio_seconds_per_s", "realtime_streams"}
    assert units & {"output_tokens_per_s", "requests_per_s"}


@pytest.mark.parametrize("size", list(gen.SIZES))
def test_gpu_and_workload_counts_near_targets(size):
    gpus, workloads = TARGETS[size]
    data = gen.generate_data(size, 0)
    per_node = {name: nt["count"] for name, nt in data["node_types"].items()}
    inventory = sum(per_node[n["type"]] * n.get("count", 1) for n in data["nodes"])
    market = sum(per_node[name] * offer["max"] for name, offer in data["market"].items())
    assert inventory + market == gen.offered_gpus(size, 0)
    assert abs(inventory + market - gpus) <= 0.05 * gpus
    assert 0.3 <= inventory / (inventory + market) <= 0.8
    assert len(data["workloads"]) == workloads
    names = [w["name"] for w in data["workloads"]]
    assert len(set(names)) == len(names)
    assert all(NAME_RE.match(n) and len(n) <= 40 for n in names)
    node_names = [n.get("name") or n["pool"] for n in data["nodes"]]
    assert len(set(node_names)) == len(node_names)


def test_todays_layouts_are_placeable():
    catalog = load_catalog()
    for kind in gen.NODE_KINDS.values():
        for layout in kind.layouts:
            assert fits(catalog.gpu(kind.gpu), list(layout)), (kind.gpu, layout)


def test_s_solves_with_both_solvers_and_both_plans_verify():
    r = run_one("S", 0, time_limit_s=10)
    assert r["greedy_status"] == "feasible"
    assert r["status"] in ("optimal", "feasible")
    assert r["placed"] == "cp-sat"
    assert r["verify_issues"] == 0 and r["greedy_verify_issues"] == 0
    assert r["bound"] <= r["cost"] + 1e-9 <= r["greedy_cost"] + 1e-9
    assert r["greedy_ratio"] >= 1.0
    assert 0.5 <= r["gpu_use"] <= 0.8
    assert r["peak_rss_mb"] > 0
    assert "S" in table([r])


def test_greedy_plan_of_m_spreads_a_workload_whose_replicas_need_a_kept_node():
    """M seed 0: greedy gives transcribe-fast-01 (spread) a whole H200 and a 7g.141gb slice that
    only a node kept in today's layout has. Placement once put the whole GPU on that node too
    (it has MIG-off GPUs), and the plan failed verification; the scarcer resource goes first now."""
    from planner.planning import make_plan
    from planner.verify import verify

    loaded = parse_fleet(gen.generate("M", 0), "fleet-m.yaml")
    plan = make_plan(loaded, "greedy")
    assert verify(plan, loaded) == []
    hosts = {n.name for n in plan.nodes for gpu in n.gpus for w in [gpu.workload, *(i.workload for i in gpu.instances or ())] if w == "transcribe-fast-01"}
    assert len(hosts) >= 2


def test_generate_cli_writes_the_file(tmp_path):
    out = tmp_path / "s.yaml"
    assert gen.main(["S", "--seed", "2", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == gen.generate("S", 2)


def test_runner_cli_runs_a_size_in_a_subprocess_and_saves_json(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert run_main(["--sizes", "S", "--time-limit", "5", "--out", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    (result,) = report["results"]
    assert result["size"] == "S" and result["verify_issues"] == 0
    for key in ("cost", "bound", "gap", "cpsat_s", "greedy_s", "build_s", "place_verify_s", "peak_rss_mb",
                "greedy_cost", "greedy_ratio", "found_by", "plan_s", "peak_child_rss_mb"):
        assert key in result
    printed = capsys.readouterr().out
    assert "greedy/plan" in printed and "found by" in printed


def test_runner_fails_loudly_when_greedys_plan_fails_verification(tmp_path, capsys, monkeypatch):
    """A benchmark whose greedy plan failed verification once went unnoticed (a 1 in a column)."""
    import benchmarks.run as run

    fake = {"size": "S", "verify_issues": 0, "verify_first_issues": [], "greedy_verify_issues": 1,
            "greedy_verify_first_issues": ["workload w: all replicas on one node (n); spread needs two"]}
    monkeypatch.setattr(run, "_child", lambda *args, **kwargs: dict(fake))
    assert run_main(["--sizes", "S", "--out", str(tmp_path / "r.json")]) == 1
    assert "[S] greedy verify issue: workload w: all replicas on one node" in capsys.readouterr().err
