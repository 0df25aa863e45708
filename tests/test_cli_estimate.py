"""`mig-plan estimate`: tables and JSON of every workload on every resource the fleet offers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "fleet.yaml")

REQUIRED_KEYS = {
    "workload", "resource", "fits", "throughput", "unit", "batch",
    "memory_gb", "memory_available_gb", "source", "limit",
}
ADDED_KEYS = {"throughput_per_dollar_hour", "price_per_hour", "reason", "note"}

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["estimate", *args])


def run_json(*args: str) -> dict:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def example() -> dict:
    return run_json(EXAMPLE)


def test_example_runs_and_prints_units_and_sources() -> None:
    result = run(EXAMPLE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for workload in ("chat-70b", "support-8b", "product-images", "voice", "transcribe", "ranker"):
        assert workload in out
    assert "tok/s per" in out and "replica" in out  # the unit is in the header
    assert "per $/h" in out
    assert "measured" in out and "estimate" in out  # sources shown
    assert "does not fit" in out and "why" in out
    assert "estimates are roofline figures (reference/perf.md); measured profiles override them" in out
    assert "Traceback" not in out


def test_json_shape(example: dict) -> None:
    assert example["fleet"] == "acme-inference-2027q1"
    assert example["units"] == {
        "chat-70b": "output_tokens_per_s",
        "support-8b": "requests_per_s",
        "product-images": "images_per_s",
        "voice": "realtime_streams",
        "transcribe": "audio_seconds_per_s",
        "ranker": "requests_per_s",
    }
    rows = example["rows"]
    assert rows
    for row in rows:
        assert set(row) == REQUIRED_KEYS | ADDED_KEYS
        assert row["unit"] == example["units"][row["workload"]]
        assert row["source"] in ("estimate", "measured")
        assert isinstance(row["fits"], bool)
        assert row["memory_available_gb"] > 0
        assert row["price_per_hour"] > 0


def test_every_workload_on_every_offered_resource(example: dict) -> None:
    pairs = [(r["workload"], r["resource"]) for r in example["rows"]]
    assert len(pairs) == len(set(pairs))
    resources = {r for _, r in pairs}
    assert len(pairs) == len(example["units"]) * len(resources)
    assert {"H100-SXM5-80GB/3g.40gb", "H100-SXM5-80GB/tp8", "H100-PCIE-80GB/tp2", "L4"} <= resources
    assert "H100-PCIE-80GB/tp4" not in resources  # its NVLink pairs are [0,1] and [2,3]


def test_non_fitting_rows_say_why(example: dict) -> None:
    failing = [r for r in example["rows"] if not r["fits"]]
    assert failing
    for row in failing:
        assert row["throughput"] is None
        assert row["throughput_per_dollar_hour"] is None
        assert row["reason"]


def test_fitting_rows_have_throughput_and_per_dollar(example: dict) -> None:
    fitting = [r for r in example["rows"] if r["fits"]]
    assert fitting
    for row in fitting:
        assert row["throughput"] > 0
        assert row["throughput_per_dollar_hour"] == pytest.approx(row["throughput"] / row["price_per_hour"])
        if row["memory_gb"] is not None and row["source"] == "estimate":
            assert row["memory_gb"] <= row["memory_available_gb"]


def test_measured_profile_overrides(example: dict) -> None:
    row = next(r for r in example["rows"] if (r["workload"], r["resource"]) == ("chat-70b", "H100-SXM5-80GB/tp2"))
    assert row["source"] == "measured"
    assert row["throughput"] == 3100
    assert "estimate" in row["note"]


def test_prices_are_marginal_shares(example: dict) -> None:
    price = {r["resource"]: r["price_per_hour"] for r in example["rows"] if r["workload"] == "chat-70b"}
    # H100-SXM5-80GB is $2.00/h in the fleet file; 8 memory slots.
    assert price["H100-SXM5-80GB"] == pytest.approx(2.00)
    assert price["H100-SXM5-80GB/3g.40gb"] == pytest.approx(2.00 * 4 / 8)  # 3g.40gb takes 4 of 8 slots
    assert price["H100-SXM5-80GB/1g.10gb"] == pytest.approx(2.00 / 8)
    assert price["H100-SXM5-80GB/tp4"] == pytest.approx(8.00)
    # l4x4 sets its own node price: $3.20 for 4 GPUs.
    assert price["L4"] == pytest.approx(0.80)


def test_offline_workload_without_slo_uses_a_large_batch(example: dict) -> None:
    rows = [r for r in example["rows"] if r["workload"] == "support-8b" and r["fits"]]
    whole = next(r for r in rows if r["resource"] == "H100-SXM5-80GB")
    assert whole["limit"] != "slo"
    assert whole["batch"] > 1


def test_filters_workload_and_gpu_alias() -> None:
    data = run_json(EXAMPLE, "--workload", "support-8b", "--gpu", "H100")
    assert data["units"] == {"support-8b": "requests_per_s"}
    rows = data["rows"]
    assert rows
    assert {r["workload"] for r in rows} == {"support-8b"}
    assert all(r["resource"].split("/")[0] == "H100-SXM5-80GB" for r in rows)
    human = run(EXAMPLE, "--workload", "support-8b", "--gpu", "H100")
    assert human.exit_code == 0, human.output
    assert "chat-70b" not in human.stdout and "H200" not in human.stdout


def test_gpu_outside_the_fleet_is_a_what_if() -> None:
    data = run_json(EXAMPLE, "--workload", "support-8b", "--gpu", "A100-SXM4-80GB")
    resources = [r["resource"] for r in data["rows"]]
    assert "A100-SXM4-80GB" in resources and "A100-SXM4-80GB/3g.40gb" in resources
    assert not any("/tp" in r for r in resources)
    human = run(EXAMPLE, "--workload", "support-8b", "--gpu", "A100-SXM4-80GB")
    assert human.exit_code == 0 and "what-if" in human.stdout


def test_deterministic() -> None:
    assert run(EXAMPLE, "--json").stdout == run(EXAMPLE, "--json").stdout
    assert run(EXAMPLE).stdout == run(EXAMPLE).stdout


def test_unknown_workload_suggests() -> None:
    result = run(EXAMPLE, "--workload", "chat70b")
    assert result.exit_code == 2
    assert "did you mean 'chat-70b'" in result.output
    assert "Traceback" not in result.output
    data = json.loads(run(EXAMPLE, "--workload", "chat70b", "--json").stdout)
    assert data["ok"] is False and "chat-70b" in data["problems"][0]["message"]


def test_unknown_gpu_exits_2() -> None:
    result = run(EXAMPLE, "--gpu", "H100-SMX5")
    assert result.exit_code == 2
    assert "unknown GPU 'H100-SMX5'" in result.output
    assert "did you mean" in result.output


def test_missing_fleet_file_exits_2(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "file not found" in result.output
    assert "Traceback" not in result.output


def test_invalid_fleet_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nworkloads: 3\n")
    result = run(str(bad))
    assert result.exit_code == 2
    assert "workloads" in result.output
    assert "Traceback" not in result.output
