"""`mig-plan compare`: as-is vs no-MIG vs single GPU type, on fleets whose answers are known."""

import json

from typer.testing import CliRunner

from planner.cli import app
from planner.compare import compare, savings
from planner.spec import parse_fleet

# One H100 node type ($2/GPU) and an L4 node type ($1/GPU). The workload's capacity is given
# per resource (generic), so the optimum is hand-computable:
#  - as is: 7 × 1g.10gb slices of ONE H100 give 7 × 10 = 70 ≥ 60 → $2/h;
#  - no MIG: a whole H100 gives 30, an L4 gives 20 → 2 × H100 = $4 or 3 × L4 = $3 or H100+2×L4 = $4
#    → cheapest $3/h (three L4s);
#  - single type: H100 alone $2/h (MIG) — the best single type equals as-is.
FLEET = """
version: 1
name: cmp
node_types:
  h100: {gpu: H100, count: 1, nvlink: none, price_per_hour: 2.0}
  l4: {gpu: L4, count: 1, nvlink: none, price_per_hour: 1.0}
market:
  h100: {max: 4}
  l4: {max: 4}
workloads:
  - name: svc
    kind: generic
    memory_gb: 5
    capacity: {H100/1g.10gb: 10, H100: 30, L4: 20}
    target: {requests_per_s: 60}
"""


def test_compare_hand_computed():
    variants = compare(parse_fleet(FLEET, "cmp.yaml"), time_limit_s=10)
    by_name = {v.name: v for v in variants}
    assert by_name["as-is"].plan.cost_per_hour == 2.0
    assert by_name["no-mig"].plan.cost_per_hour == 3.0
    assert by_name["single-type"].plan.cost_per_hour == 2.0
    assert by_name["single-type"].gpu_type == "H100-SXM5-80GB"
    assert all(g.mode != "mig" for n in by_name["no-mig"].plan.nodes for g in n.gpus)
    assert savings(variants) == {"no-mig": 1.0, "single-type": 0.0}


def test_compare_cli_json_and_infeasible_variant(tmp_path):
    # Only MIG capacity given: without MIG nothing fits, and compare says so instead of failing.
    path = tmp_path / "f.yaml"
    path.write_text(FLEET.replace("capacity: {H100/1g.10gb: 10, H100: 30, L4: 20}", "capacity: {H100/1g.10gb: 10}"))
    result = CliRunner().invoke(app, ["compare", str(path), "--json", "--time-limit", "10"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    names = [v["name"] for v in data["variants"]]
    assert names == ["as-is", "no-mig", "single-type"]
    no_mig = data["variants"][1]
    assert no_mig["status"] == "infeasible" and no_mig["cost_per_hour"] is None
    assert any("svc" in r for r in no_mig["reasons"])
    assert data["savings_per_hour"]["no-mig"] is None


def test_compare_human_output_and_bad_input(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(FLEET)
    result = CliRunner().invoke(app, ["compare", str(path), "--time-limit", "10"])
    assert result.exit_code == 0
    assert "MIG off" in result.stdout and "$1.00/h" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\n")
    result = CliRunner().invoke(app, ["compare", str(bad)])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_ctrl_c_stops_the_variants_still_to_come(monkeypatch, tmp_path):
    """Ctrl-C during the as-is search: that plan comes back interrupted, and the other variants
    are not started (before, each later variant needed its own Ctrl-C)."""
    import planner.compare as cmp

    real = cmp.make_plan
    calls = []

    def interrupted_once(*args, **kwargs):
        calls.append(1)
        assert len(calls) == 1, "a variant was started after Ctrl-C"
        plan = real(*args, **kwargs)
        plan.solver.interrupted = True
        return plan

    monkeypatch.setattr(cmp, "make_plan", interrupted_once)
    variants = compare(parse_fleet(FLEET, "cmp.yaml"), time_limit_s=10)
    assert [v.interrupted for v in variants] == [True, True, True]
    assert variants[0].plan is not None and variants[1].plan is None
    assert variants[1].to_dict()["status"] == "not solved"

    calls.clear()
    path = tmp_path / "cmp.yaml"
    path.write_text(FLEET, encoding="utf-8")
    result = CliRunner().invoke(app, ["compare", str(path), "--json"])
    assert result.exit_code == 130
    data = json.loads(result.stdout)
    assert [v["status"] for v in data["variants"]] == ["optimal", "not solved", "not solved"]
