"""The foundation commands through CliRunner: validate, catalog, schema — with and without --json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from planner import mig
from planner.catalog import load_catalog

# --------------------------------------------------------------------------- validate


def test_validate_example(cli, example_fleet):
    result = cli("validate", example_fleet)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"valid: {example_fleet}")
    assert "6 workloads" in result.stdout and "3 nodes today (24 GPUs)" in result.stdout
    assert result.stderr == ""


EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_is_valid(cli, path):
    result = cli("validate", path, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True


def test_validate_example_json(cli, example_fleet):
    result = cli("validate", example_fleet, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["file"] == str(example_fleet)
    assert report["fleet"] == "acme-inference-2027q1"
    assert (report["node_types"], report["inventory_nodes"], report["inventory_gpus"]) == (4, 3, 24)
    assert (report["market_offers"], report["workloads"], report["profiles"]) == (3, 6, 1)
    assert report["sha256"] == hashlib.sha256(example_fleet.read_bytes()).hexdigest()


BROKEN = """\
version: 1
name: broken
node_types:
  hgx: {gpu: H100, count: 8, nvlnk: all}
  l4: {gpu: L4, count: 4, price_per_hour: -1}
nodes:
  - name: n1
    type: hgx
workloads:
  - name: chat
    model: llama-3.1-8b
    tokens: {input: 100, output: 100}
    target: {output_tokens_per_s: 0}
"""


def test_validate_lists_every_problem(cli, write_fleet):
    path = write_fleet(BROKEN)
    result = cli("validate", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "error: 3 problems"
    assert lines[1:] == [
        f"{path}:4: node_types.hgx.nvlnk: unknown key 'nvlnk' (did you mean 'nvlink'?)",
        f"{path}:5: node_types.l4.price_per_hour: input should be greater than or equal to 0",
        f"{path}:13: workloads[0].target.output_tokens_per_s: input should be greater than 0",
    ]


def test_validate_json_lists_every_problem(cli, write_fleet):
    path = write_fleet(BROKEN)
    result = cli("validate", path, "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["problems"][0] == {
        "file": str(path),
        "path": "node_types.hgx.nvlnk",
        "line": 4,
        "message": "unknown key 'nvlnk'",
        "hint": "did you mean 'nvlink'?",
    }
    assert [(p["path"], p["line"]) for p in report["problems"]] == [
        ("node_types.hgx.nvlnk", 4),
        ("node_types.l4.price_per_hour", 5),
        ("workloads[0].target.output_tokens_per_s", 13),
    ]


def test_validate_needs_a_file(cli):
    result = cli("validate")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_an_internal_error_is_no_traceback(cli, example_fleet, monkeypatch):
    import planner.cli.validate as validate_module

    def broken(path):
        raise RuntimeError("boom")

    monkeypatch.delenv("MIG_PLAN_DEBUG", raising=False)
    monkeypatch.setattr(validate_module, "load_fleet", broken)
    result = cli("validate", example_fleet)
    assert result.exit_code == 2
    assert "internal error: RuntimeError: boom" in result.stderr
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- catalog


def test_catalog_table(cli):
    result = cli("catalog")
    assert result.exit_code == 0, result.output
    for gpu in load_catalog():
        assert gpu.name in result.stdout
    assert "7 profiles" in result.stdout  # the MIG column of an A100/H100


def test_catalog_json(cli):
    result = cli("catalog", "--json")
    assert result.exit_code == 0
    gpus = json.loads(result.stdout)["gpus"]
    assert [g["name"] for g in gpus] == [g.name for g in load_catalog()]
    by_name = {g["name"]: g for g in gpus}
    assert by_name["H100-SXM5-80GB"]["mig"] is True and by_name["L4"]["mig"] is False
    assert by_name["H100-SXM5-80GB"]["memory_gb"] == 80
    assert "H100" in by_name["H100-SXM5-80GB"]["aliases"]


def test_catalog_gpu(cli):
    gpu = load_catalog().gpu("H100")
    result = cli("catalog", "H100")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("H100-SXM5-80GB (hopper)")
    for name in gpu.mig.names:
        assert name in result.stdout
    n_layouts, n_maximal = len(mig.enumerate_layouts(gpu)), len(mig.maximal_layouts(gpu))
    assert f"{n_layouts} valid layouts, {n_maximal} maximal" in result.stdout


def test_catalog_gpu_without_mig(cli):
    result = cli("catalog", "L4")
    assert result.exit_code == 0
    assert "no MIG" in result.stdout


def test_catalog_gpu_json_by_alias_in_any_case(cli):
    result = cli("catalog", "h100", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    gpu = load_catalog().gpu("H100-SXM5-80GB")
    assert data["gpu"]["name"] == "H100-SXM5-80GB"
    assert [p["name"] for p in data["profiles"]] == list(gpu.mig.names)
    three = next(p for p in data["profiles"] if p["name"] == "3g.40gb")
    assert (three["slots"], three["starts"], three["compute_slices"], three["max_count"]) == (4, [0, 4], 3, 2)
    assert data["slots"] == 8 and data["compute_slices"] == 7
    assert data["layouts"] == len(mig.enumerate_layouts(gpu))
    assert data["maximal_layouts"] == len(mig.maximal_layouts(gpu))


def _check_layouts(data: dict, gpu_name: str, with_me: bool) -> None:
    """Independently of planner.mig: every layout is legal on the GPU, maximal ones cannot grow."""
    gpu = load_catalog().gpu(gpu_name)
    profiles = {p.name: p for p in gpu.mig.profiles}
    usable = [p for p in profiles.values() if with_me or not p.media]
    assert set(data) == {"gpu", "layouts", "maximal"}
    assert data["gpu"] == gpu_name

    def slots_of(layout: list[dict]) -> set[int]:
        used: set[int] = set()
        for inst in layout:
            assert set(inst) == {"profile", "start"}
            p = profiles[inst["profile"]]
            assert inst["start"] in p.starts
            span = set(range(inst["start"], inst["start"] + p.slots))
            assert not used & span, f"overlap in {layout}"
            used |= span
        counts = {name: sum(i["profile"] == name for i in layout) for name in profiles}
        assert all(counts[name] <= profiles[name].max_count for name in profiles)
        assert sum(counts[p.name] for p in profiles.values() if p.media) <= 1
        return used

    def can_grow(layout: list[dict]) -> bool:
        used = slots_of(layout)
        media_used = any(profiles[i["profile"]].media for i in layout)
        for p in usable:
            if sum(i["profile"] == p.name for i in layout) >= p.max_count or (p.media and media_used):
                continue
            if any(not used & set(range(s, s + p.slots)) for s in p.starts):
                return True
        return False

    keys = [tuple(sorted((i["profile"], i["start"]) for i in layout)) for layout in data["layouts"]]
    assert len(keys) == len(set(keys)), "no layout twice"
    for layout in data["layouts"]:
        slots_of(layout)
        assert all(not profiles[i["profile"]].media for i in layout) or with_me
    maximal = [tuple(sorted((i["profile"], i["start"]) for i in layout)) for layout in data["maximal"]]
    assert set(maximal) <= set(keys)
    for layout in data["maximal"]:
        assert not can_grow(layout), f"{layout} is not maximal"
    # and every layout that cannot grow is listed as maximal
    assert {k for k, layout in zip(keys, data["layouts"]) if not can_grow(layout)} == set(maximal)


def test_catalog_layouts_json(cli):
    result = cli("catalog", "H100", "--layouts", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    _check_layouts(data, "H100-SXM5-80GB", with_me=False)
    assert not any("+me" in i["profile"] for layout in data["layouts"] for i in layout)
    assert [] in data["layouts"] and [] not in data["maximal"]
    # layouts a person knows by heart
    for known in (
        [{"profile": "7g.80gb", "start": 0}],
        [{"profile": "4g.40gb", "start": 0}, {"profile": "3g.40gb", "start": 4}],
        [{"profile": "3g.40gb", "start": 0}, {"profile": "3g.40gb", "start": 4}],
        [{"profile": "1g.10gb", "start": s} for s in range(7)],
    ):
        assert known in data["maximal"]
    # 3g.40gb + 2g.20gb + 1g.10gb×2 is the layout of examples/fleet.yaml; it fills the GPU
    assert [
        {"profile": "3g.40gb", "start": 0},
        {"profile": "2g.20gb", "start": 4},
        {"profile": "1g.10gb", "start": 6},
        {"profile": "1g.10gb", "start": 7},
    ] not in data["layouts"], "1g.10gb cannot start at slot 7"
    assert [{"profile": "3g.40gb", "start": 4}, {"profile": "3g.40gb", "start": 0}] not in data["layouts"], "sorted by start"


def test_catalog_layouts_with_me(cli):
    result = cli("catalog", "H100", "--layouts", "--with-me", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    _check_layouts(data, "H100-SXM5-80GB", with_me=True)
    with_me = [layout for layout in data["layouts"] if any("+me" in i["profile"] for i in layout)]
    assert with_me and any(any("+me" in i["profile"] for i in layout) for layout in data["maximal"])
    plain = json.loads(cli("catalog", "H100", "--layouts", "--json").stdout)
    assert len(data["layouts"]) == len(plain["layouts"]) + len(with_me)


@pytest.mark.parametrize("gpu", ["A30", "A100-SXM4-40GB", "RTX-PRO-6000"])
def test_catalog_layouts_json_other_families(cli, gpu):
    if not load_catalog().gpu(gpu).mig:
        pytest.skip(f"{gpu} has no MIG in this catalog")
    result = cli("catalog", gpu, "--layouts", "--json")
    assert result.exit_code == 0, result.output
    _check_layouts(json.loads(result.stdout), load_catalog().resolve(gpu), with_me=False)


def test_catalog_layouts_text(cli):
    gpu = load_catalog().gpu("H100")
    result = cli("catalog", "H100", "--layouts")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    n_layouts, n_maximal = len(mig.enumerate_layouts(gpu)), len(mig.maximal_layouts(gpu))
    assert len(lines) == n_layouts + 1
    assert sum(line.endswith("maximal") for line in lines[:-1]) == n_maximal
    assert lines[-1].startswith(f"{n_layouts} layouts, {n_maximal} maximal")
    assert "7g.80gb@0  maximal" in lines


@pytest.mark.parametrize("as_json", [False, True])
def test_catalog_layouts_of_a_gpu_without_mig(cli, as_json):
    result = cli("catalog", "L4", "--layouts", *(["--json"] if as_json else []))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    if as_json:
        report = json.loads(result.stdout)
        assert report["ok"] is False and "L4 has no MIG" in report["problems"][0]["message"]
    else:
        assert "L4 has no MIG, so it has no layouts" in result.stderr


def test_catalog_layouts_needs_a_gpu(cli):
    result = cli("catalog", "--layouts")
    assert result.exit_code == 2
    assert "--layouts needs a GPU" in result.stderr


@pytest.mark.parametrize(
    "name,expected",
    [("H10", "did you mean 'H100'?"), ("a100-sxm4-80", "did you mean"), ("NOPE", "known GPUs: A100-SXM4-40GB")],
)
def test_catalog_unknown_gpu(cli, name, expected):
    result = cli("catalog", name)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"unknown GPU '{name}'" in result.stderr and expected in result.stderr
    result = cli("catalog", name, "--json")
    assert result.exit_code == 2
    message = json.loads(result.stdout)["problems"][0]["message"]
    assert f"unknown GPU '{name}'" in message and expected in message


def test_catalog_models(cli):
    result = cli("catalog", "models")
    assert result.exit_code == 0, result.output
    assert "llama-3.1-8b" in result.stdout
    models = json.loads(cli("catalog", "models", "--json").stdout)["models"]
    llama = next(m for m in models if m["name"] == "llama-3.1-8b")
    assert llama["kind"] == "llm" and llama["params_b"] > 7


# --------------------------------------------------------------------------- schema


def _schema(cli, *args: str) -> dict:
    result = cli("schema", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_schema_is_json_schema_of_the_fleet_file(cli):
    schema = _schema(cli)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False  # unknown keys are errors for editors too
    assert set(schema["required"]) == {"version", "name", "node_types", "workloads"}
    assert "workloads" in schema["properties"]
    assert schema["properties"]["workloads"]["type"] == "array"
    assert _schema(cli, "--json") == schema


def test_example_fleet_satisfies_the_schema(cli, example_fleet):
    jsonschema = pytest.importorskip("jsonschema")  # not a dependency of mig-plan
    import yaml

    schema = _schema(cli)
    data = yaml.safe_load(example_fleet.read_text())
    # YAML 1.1 reads `off` as false and allows integer keys; JSON has neither, so compare JSON data
    data = json.loads(json.dumps(data))
    jsonschema.validate(data, schema)
    data["workloadz"] = data.pop("workloads")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_schema_says_what_solver_patterns_accepts(cli):
    patterns = _schema(cli)["$defs"]["SolverSettings"]["properties"]["patterns"]
    assert patterns["default"] == "auto"
    assert patterns["anyOf"] == [{"type": "boolean"}, {"const": "auto"}]
