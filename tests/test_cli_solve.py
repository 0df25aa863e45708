"""`mig-plan solve` and `mig-plan explain` through the CLI: exit codes, plan files, JSON output."""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml

from planner.plan import Plan, dump_plan, load_plan
from planner.spec import load_fleet
from planner.verify import verify

PLAN_KEYS = {"version", "fleet", "status", "cost_per_hour", "lower_bound_per_hour", "gap", "solver", "workloads", "nodes", "changes"}

SMALL = """\
version: 1
name: small
gpus:
  H100-SXM5-80GB: {price_per_hour: 2.0}
  L4: {price_per_hour: 0.8}
node_types:
  h100: {gpu: H100-SXM5-80GB, count: 1}
  l4: {gpu: L4, count: 1}
market:
  h100: {max: 10}
  l4: {max: 10}
workloads:
  - name: w
    kind: generic
    memory_gb: 5
    capacity: {L4: 30, H100-SXM5-80GB: 100}
    target: {requests_per_s: 120}
"""

# Target above what the market allows: at most 2 × 80 = 160 < 1000.
TOO_MUCH = """\
version: 1
name: too-much
gpus:
  H100-SXM5-80GB: {price_per_hour: 2.0}
node_types:
  one: {gpu: H100-SXM5-80GB, count: 1}
market:
  one: {max: 2}
workloads:
  - name: flood
    kind: generic
    memory_gb: 5
    capacity: {H100-SXM5-80GB: 80}
    target: {requests_per_s: 1000}
"""


def _stable(data: dict) -> dict:
    data = json.loads(json.dumps(data))
    data["solver"]["seconds"] = 0.0
    return data


@pytest.fixture(scope="module")
def example_plan_json(tmp_path_factory) -> tuple[dict, str]:
    """Solve the example once (a few seconds) to a YAML file and as --json; share across tests."""
    from typer.testing import CliRunner

    from planner.cli import app
    from tests.conftest import EXAMPLE_FLEET

    out = tmp_path_factory.mktemp("example") / "plan.yaml"
    result = CliRunner().invoke(app, ["solve", str(EXAMPLE_FLEET), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), str(out)


def test_example_solves_optimally(example_plan_json, example_fleet) -> None:
    data, path = example_plan_json
    assert PLAN_KEYS <= set(data)
    assert data["version"] == 1 and data["fleet"] == "acme-inference-2027q1"
    assert data["status"] == "optimal"
    assert data["gap"] == 0
    assert data["lower_bound_per_hour"] == pytest.approx(data["cost_per_hour"])
    assert data["solver"]["name"] == "cp-sat"
    plan = load_plan(path)
    assert _stable(plan.to_data()) == _stable(data)  # -o and --json carry the same plan
    loaded = load_fleet(example_fleet)
    assert verify(plan, loaded) == []
    assert {w["name"] for w in data["workloads"]} == {w.name for w in loaded.fleet.workloads}


def test_example_summary_and_plan_file(cli, example_fleet, tmp_path) -> None:
    out = tmp_path / "plan.yaml"
    result = cli("solve", example_fleet, "-o", out)
    assert result.exit_code == 0, result.output
    assert "optimal" in result.stdout and "plan written to" in result.stdout
    plan = load_plan(out)
    assert plan.status == "optimal" and plan.gap == 0


def test_yaml_and_json_outputs_carry_the_same_plan(cli, write_fleet, tmp_path) -> None:
    fleet = write_fleet(SMALL)
    yaml_out, json_out = tmp_path / "plan.yaml", tmp_path / "plan.json"
    assert cli("solve", fleet, "-o", yaml_out).exit_code == 0
    assert cli("solve", fleet, "-o", json_out).exit_code == 0
    from_yaml = yaml.safe_load(yaml_out.read_text())
    from_json = json.loads(json_out.read_text())
    assert _stable(from_yaml) == _stable(from_json)
    assert load_plan(json_out).cost_per_hour == pytest.approx(2.8)  # H100 + L4, see test_solver


def test_solve_is_deterministic(cli, write_fleet, tmp_path) -> None:
    fleet = write_fleet(SMALL)
    texts = []
    for i in range(2):
        out = tmp_path / f"plan{i}.yaml"
        assert cli("solve", fleet, "-o", out).exit_code == 0
        plan = load_plan(out)
        plan.solver.seconds = 0.0
        texts.append(dump_plan(plan, "yaml"))
    assert texts[0] == texts[1]


def test_json_prints_the_plan(cli, write_fleet) -> None:
    result = cli("solve", write_fleet(SMALL), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert PLAN_KEYS <= set(data)
    assert data["status"] == "optimal" and data["cost_per_hour"] == pytest.approx(2.8)
    Plan.model_validate(data)


def test_greedy_solver(cli, write_fleet) -> None:
    result = cli("solve", write_fleet(SMALL), "--solver", "greedy", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["solver"]["name"] == "greedy"
    assert data["lower_bound_per_hour"] is None
    assert data["cost_per_hour"] >= 2.8 - 1e-6


def test_time_limit(cli, write_fleet) -> None:
    result = cli("solve", write_fleet(SMALL), "--time-limit", "2", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["solver"]["time_limit_s"] == pytest.approx(2.0)


def test_bad_time_limit_and_solver(cli, write_fleet) -> None:
    fleet = write_fleet(SMALL)
    assert cli("solve", fleet, "--time-limit", "0").exit_code == 2
    assert cli("solve", fleet, "--solver", "simplex").exit_code == 2


def test_refuses_to_write_over_the_fleet(cli, write_fleet) -> None:
    fleet = write_fleet(SMALL)
    before = fleet.read_bytes()
    result = cli("solve", fleet, "-o", fleet)
    assert result.exit_code == 2
    assert "refusing" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert fleet.read_bytes() == before


def test_bad_fleet_exits_2_without_traceback(cli, write_fleet) -> None:
    bad = write_fleet("version: 1\nname: bad\nnode_types: {}\nworkloads: []\n")
    for args in ((), ("--json",)):
        result = cli("solve", bad, *args)
        assert result.exit_code == 2
        assert "Traceback" not in result.output + result.stderr
    missing = cli("solve", "no-such-fleet.yaml")
    assert missing.exit_code == 2
    assert "Traceback" not in missing.output + missing.stderr


def test_infeasible_solve_exits_1_with_reason(cli, write_fleet, tmp_path) -> None:
    fleet = write_fleet(TOO_MUCH)
    out = tmp_path / "plan.yaml"
    result = cli("solve", fleet, "-o", out)
    assert result.exit_code == 1
    text = result.stdout + result.stderr
    assert "flood" in text and "1000" in text
    assert "Traceback" not in text
    assert not out.exists()  # no plan file for an infeasible fleet
    as_json = cli("solve", fleet, "--json")
    assert as_json.exit_code == 1
    assert "flood" in as_json.stdout + as_json.stderr


def test_explain_infeasible(cli, write_fleet) -> None:
    fleet = write_fleet(TOO_MUCH)
    result = cli("explain", fleet)
    assert result.exit_code == 1
    assert "flood" in result.stdout and "no feasible plan" in result.stdout
    result = cli("explain", fleet, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["feasible"] is False and data["cost_per_hour"] is None
    assert any(r.startswith("flood:") and "1000" in r for r in data["reasons"])
    (row,) = data["workloads"]
    assert row["name"] == "flood" and row["ok"] is False and row["max_capacity"] == pytest.approx(160)


def test_explain_feasible(cli, write_fleet) -> None:
    result = cli("explain", write_fleet(SMALL), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["feasible"] is True and data["reasons"] == []
    assert data["cost_per_hour"] == pytest.approx(2.8)
    plain = cli("explain", write_fleet(SMALL))
    assert plain.exit_code == 0 and "a plan exists" in plain.stdout


def test_explain_model_too_big(cli, write_fleet) -> None:
    fleet = write_fleet(
        textwrap.dedent(
            """\
            version: 1
            name: huge
            node_types:
              l4x4: {gpu: L4, count: 4, nvlink: none}
            market:
              l4x4: {max: 10}
            workloads:
              - name: huge
                model: llama-3.1-405b
                precision: bf16
                tokens: {input: 1000, output: 200}
                target: {output_tokens_per_s: 100}
            """
        )
    )
    result = cli("explain", fleet, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert any(r.startswith("huge:") and "fits no resource" in r for r in data["reasons"])
    solved = cli("solve", fleet)
    assert solved.exit_code == 1
    assert "huge" in solved.stdout + solved.stderr
