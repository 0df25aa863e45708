"""`mig-plan export`: mig-parted configs, node labels and Kubernetes objects from solved plans.

- Golden files (tests/golden/export/) for every format on the examples; `UPDATE_GOLDEN=1`
  rewrites them. Exports leave out `solver.seconds`, so solving again gives the same text.
- Every mig-parted config emitted is checked with a strict re-implementation of the real
  parser's rules (reference/mig.md §4) and replayed against the plan: each GPU matches exactly
  one entry, that entry's counts are the plan's, and `planner.mig.fits` places them.
- Kubernetes objects are validated against the Kubernetes OpenAPI schemas shipped offline by
  `kubernetes-validate` (strict: unknown fields are errors). ClusterPolicy is a custom resource
  (nvidia.com/v1): no Kubernetes schema covers it, so it alone is checked by hand here.
- Label keys and values are checked against the Kubernetes syntax (reference/mig.md §5) with
  regexes written here, independently of planner/emit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from planner import mig
from planner.cli import app
from planner.emit import k8s, labels, migparted
from planner.emit.common import ExportError, dns_label, is_label_key, label_safe, plan_revision
from planner.plan import Plan, dump_plan
from planner.planning import make_plan
from planner.spec import load_fleet

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "export"
EXAMPLES = ("fleet", "replan", "tensor-parallel")
K8S_VERSION = "1.30"

# A fleet that exercises what the examples do not: serving settings, today's layouts (one node
# keeps its layout, one changes), a GPU with two PCI ids, a fleet name that is no label value.
SERVING_FLEET = """\
version: 1
name: Export Test/fleet
node_types:
  a100x2: {gpu: A100-PCIE-40GB, count: 2, nvlink: none}
nodes:
  - name: old-a100
    type: a100x2
    mig: {all: [7g.40gb]}
  - name: same-a100
    type: a100x2
    mig: {0: [1g.5gb, 1g.5gb, 1g.5gb, 1g.5gb, 1g.5gb, 1g.5gb, 1g.5gb], 1: off}
workloads:
  - name: small
    kind: generic
    memory_gb: 4
    capacity: {A100-PCIE-40GB/1g.5gb: 10}
    target: {requests_per_s: 110}
    replicas: {min: 2}
    serving: {image: "ghcr.io/acme/small:1.2", args: ["--port", "8000"], env: {MODE: fast}, port: 8000}
  - name: big
    kind: generic
    memory_gb: 30
    capacity: {A100-PCIE-40GB: 10}
    target: {requests_per_s: 10}
"""

FORMATS = {"mig-parted": "yaml", "labels": "sh", "labels-yaml": "yaml", "k8s": "yaml"}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> dict:
    """name -> (plan, loaded fleet, plan file): the examples and SERVING_FLEET, solved once."""
    tmp = tmp_path_factory.mktemp("export")
    serving = tmp / "serving.yaml"
    serving.write_text(SERVING_FLEET, encoding="utf-8")
    fleets = {name: ROOT / "examples" / f"{name}.yaml" for name in EXAMPLES}
    fleets["serving"] = serving
    out = {}
    for name, path in fleets.items():
        loaded = load_fleet(path)
        plan = make_plan(loaded)
        plan_file = tmp / f"{name}.plan.yaml"
        plan_file.write_text(dump_plan(plan, "yaml"), encoding="utf-8")
        out[name] = (plan, loaded, plan_file)
    return out


def run(*args: object):
    return CliRunner().invoke(app, ["export", *(str(a) for a in args)])


def export_text(solved: dict, name: str, fmt: str, *extra: str) -> str:
    result = run(solved[name][2], "--format", fmt, *extra)
    assert result.exit_code == 0, result.output
    return result.stdout


# --------------------------------------------------------------------------- independent syntax checks
# reference/mig.md §5: label values ≤ 63 of (([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?; keys an
# optional DNS-subdomain prefix (≤ 253) and '/', then a name (1..63) of the same form.

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def valid_label_value(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 63 and bool(LABEL_VALUE.match(value))


def valid_label_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if "/" in key and not (
        0 < len(prefix) <= 253 and all(len(p) <= 63 and DNS_LABEL.match(p) for p in prefix.split("."))
    ):
        return False
    return 0 < len(name) <= 63 and bool(LABEL_VALUE.match(name))


def assert_labels(labels_: dict, where: str) -> None:
    for key, value in labels_.items():
        assert valid_label_key(key), f"{where}: bad label key {key!r}"
        assert valid_label_value(value), f"{where}: bad label value {value!r} for {key}"


# --------------------------------------------------------------------------- mig-parted's parser rules
# reference/mig.md §4 (NVIDIA mig-parted, api/spec/v1): `version` must be `v1`; unknown fields are
# errors; `mig-configs` has at least one config and each config at least one entry; `devices`
# (required) is `all` or a list of integers; `mig-enabled` (required) is a boolean; `device-filter`
# is a string or a list of strings; `mig-devices` is required when enabled (may be {}) and absent
# or empty when disabled; profile keys are `[<c>c.]<g>g.<n>gb` with an optional `+me`; counts are
# integers ≥ 0.

PROFILE_KEY = re.compile(r"^([1-9][0-9]*c\.)?[1-9][0-9]*g\.[1-9][0-9]*gb(\+me)?$")
PCI_FILTER = re.compile(r"^0x[0-9A-F]{4}10DE$")


def parse_mig_parted(text: str) -> dict:
    """The config as mig-parted would read it, or AssertionError naming the broken rule."""
    data = yaml.safe_load(text)
    assert isinstance(data, dict) and set(data) <= {"version", "mig-configs"}, f"unknown top-level fields: {data}"
    assert data.get("version") == "v1", "version must be v1"
    configs = data.get("mig-configs")
    assert isinstance(configs, dict) and configs, "at least one entry in mig-configs"
    for name, entries in configs.items():
        assert valid_label_value(name) and "+" not in name, f"config name {name!r} is no label value"
        assert isinstance(entries, list) and entries, f"{name}: at least one entry"
        seen: list[tuple[object, set | None]] = []
        for e in entries:
            where = f"{name}: {e}"
            assert isinstance(e, dict), where
            assert set(e) <= {"devices", "device-filter", "mig-enabled", "mig-devices"}, f"unexpected field in {where}"
            assert "devices" in e and "mig-enabled" in e, f"missing required field in {where}"
            devices = e["devices"]
            assert devices == "all" or (
                isinstance(devices, list)
                and devices
                and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in devices)
                and len(set(devices)) == len(devices)
            ), f"devices in {where}"
            filt = e.get("device-filter")
            if filt is not None:
                filters = [filt] if isinstance(filt, str) else filt
                assert isinstance(filters, list) and filters and all(
                    isinstance(f, str) and PCI_FILTER.match(f) for f in filters
                ), f"device-filter in {where}"
            assert isinstance(e["mig-enabled"], bool), f"mig-enabled in {where}"
            if e["mig-enabled"]:
                assert isinstance(e.get("mig-devices"), dict), f"mig-devices required when enabled: {where}"
                for key, count in e["mig-devices"].items():
                    assert isinstance(key, str) and PROFILE_KEY.match(key), f"profile key {key!r} in {where}"
                    assert isinstance(count, int) and not isinstance(count, bool) and count >= 0, where
            else:
                assert not e.get("mig-devices"), f"MIG devices included when mig-enabled is false: {where}"
            # entries for the same GPUs (same filter) must not overlap
            key = tuple(filt) if isinstance(filt, list) else filt
            ids = None if devices == "all" else set(devices)
            for other_key, other_ids in seen:
                if other_key == key:
                    assert ids is not None and other_ids is not None and not ids & other_ids, f"overlap in {name}"
            seen.append((key, ids))
    return data


def replay(config: dict, plan: Plan, loaded) -> None:
    """Apply the config to the plan's nodes as mig-parted would, and check it yields the plan."""
    configs = config["mig-configs"]
    for node in plan.nodes:
        gpu = loaded.catalog.gpu(node.gpu)
        ids = set(migparted.pci_filter(gpu))
        entries = configs[node.mig_config]
        for gp in node.gpus:
            matching = [
                e
                for e in entries
                if (e["devices"] == "all" or gp.index in e["devices"])
                and (
                    "device-filter" not in e
                    or ids & set([e["device-filter"]] if isinstance(e["device-filter"], str) else e["device-filter"])
                )
            ]
            assert len(matching) == 1, f"{node.name} GPU {gp.index}: {len(matching)} entries apply"
            e = matching[0]
            if gp.mode == "mig":
                assert e["mig-enabled"] is True
                wanted = Counter(i.profile for i in gp.instances)
                assert Counter({k: v for k, v in e["mig-devices"].items() if v}) == wanted
                assert mig.fits(gpu, e["mig-devices"]), f"{node.name} GPU {gp.index}: not placeable"
            else:
                assert e["mig-enabled"] is False


# --------------------------------------------------------------------------- golden files


GOLDEN_CASES = [(name, fmt, ()) for name in EXAMPLES for fmt in FORMATS] + [
    ("fleet", "mig-parted", ("--device-filter",)),
    ("serving", "k8s", ()),
    ("serving", "labels", ()),
]


@pytest.mark.parametrize("name,fmt,extra", GOLDEN_CASES, ids=lambda v: "-".join(v) if isinstance(v, tuple) else v)
def test_golden(solved, name, fmt, extra):
    text = export_text(solved, name, fmt, *extra)
    suffix = "".join("." + e.lstrip("-") for e in extra)
    path = GOLDEN / f"{name}.{fmt}{suffix}.{FORMATS[fmt]}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run UPDATE_GOLDEN=1 pytest tests/test_export.py"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs (UPDATE_GOLDEN=1 rewrites it after a review)"


def test_export_is_deterministic_and_ignores_solver_time(solved):
    plan, loaded, _ = solved["fleet"]
    later = plan.model_copy(update={"solver": plan.solver.model_copy(update={"seconds": 99.0}), "fleet_file": "x.yaml"})
    assert plan_revision(later) == plan_revision(plan)
    config = migparted.build(plan, loaded.catalog)
    assert migparted.render(later, config) == migparted.render(plan, config)
    moved = plan.model_copy(deep=True)
    moved.nodes[0].name = "elsewhere"
    assert plan_revision(moved) != plan_revision(plan)


# --------------------------------------------------------------------------- mig-parted


@pytest.mark.parametrize("device_filter", [False, True])
def test_every_mig_parted_config_parses_and_places(solved, device_filter):
    for name, (plan, loaded, _) in solved.items():
        built = migparted.build(plan, loaded.catalog, device_filter)
        config = parse_mig_parted(migparted.render(plan, built))
        replay(config, plan, loaded)
        # the ConfigMap carries the same config
        docs = [d for _, d in k8s.build(plan, loaded, device_filter)]
        (configmap,) = [d for d in docs if d["kind"] == "ConfigMap"]
        assert parse_mig_parted(configmap["data"]["config.yaml"]) == config, name
        assert set(config["mig-configs"]) == {n.mig_config for n in plan.nodes} | {"all-disabled"}
        assert config["mig-configs"]["all-disabled"] == [{"devices": "all", "mig-enabled": False}]


def test_mig_parted_shape(solved):
    plan, loaded, _ = solved["fleet"]
    config = migparted.build(plan, loaded.catalog).to_data()["mig-configs"]
    # identical nodes share one config; a node whose GPUs differ gets device lists
    assert set(config) == {n.mig_config for n in plan.nodes} | {"all-disabled"}
    assert len(config) < len(plan.nodes)
    mixed = next(n for n in plan.nodes if n.mig_config.startswith("mp-"))
    entries = config[mixed.mig_config]
    assert all(e["devices"] != "all" for e in entries)
    assert sorted(i for e in entries for i in e["devices"]) == [g.index for g in mixed.gpus]
    off = [e for e in entries if not e["mig-enabled"]]
    assert off and all("mig-devices" not in e for e in off)
    # uniform nodes: one `devices: all` entry
    replan = migparted.build(solved["replan"][0], solved["replan"][1].catalog).to_data()["mig-configs"]
    assert replan["mp-3g40x2"] == [{"devices": "all", "mig-enabled": True, "mig-devices": {"3g.40gb": 2}}]


def test_device_filter_uses_pci_ids(solved):
    plan, loaded, _ = solved["serving"]
    config = migparted.build(plan, loaded.catalog, device_filter=True).to_data()["mig-configs"]
    filters = {tuple(e["device-filter"]) for name, es in config.items() if name != "all-disabled" for e in es}
    assert filters == {("0x20B110DE", "0x20F110DE")}  # A100-PCIE-40GB: two device ids, NVIDIA vendor id
    plan, loaded, _ = solved["fleet"]
    config = migparted.build(plan, loaded.catalog, device_filter=True).to_data()["mig-configs"]
    assert {e["device-filter"] for es in config.values() for e in es if "device-filter" in e} == {"0x233010DE"}
    assert "device-filter" not in config["all-disabled"][0]


def _edited(solved, name: str):
    plan, loaded, _ = solved[name]
    return plan.model_copy(deep=True), loaded


def test_unplaceable_count_map_is_refused(solved):
    plan, loaded = _edited(solved, "replan")
    gpu = plan.nodes[0].gpus[0]
    gpu.instances = gpu.instances + [gpu.instances[0].model_copy()]  # 3 × 3g.40gb: at most 2 per GPU
    with pytest.raises(ExportError, match="cannot be placed") as info:
        migparted.build(plan, loaded.catalog)
    assert info.value.where == "nodes[0].gpus[0]"


def test_bad_config_name_is_refused(solved):
    plan, loaded = _edited(solved, "replan")
    plan.nodes[0].mig_config = "mp-1g.10gb+me"
    with pytest.raises(ExportError, match="not a valid label value"):
        migparted.build(plan, loaded.catalog)


def test_one_name_two_layouts_is_refused(solved):
    plan, loaded = _edited(solved, "replan")
    plan.nodes[1].mig_config = plan.nodes[0].mig_config
    with pytest.raises(ExportError, match="different layouts"):
        migparted.build(plan, loaded.catalog)


# --------------------------------------------------------------------------- labels


def _label_pairs(line: str) -> dict:
    words = line.split()
    assert words[:3] == ["kubectl", "label", "node"] and words[4] == "--overwrite", line
    return dict(w.split("=", 1) for w in words[5:])


def test_labels_script(solved):
    for name, (plan, loaded, _) in solved.items():
        text = export_text(solved, name, "labels")
        lines = text.splitlines()
        assert lines[0] == "#!/bin/sh" and "set -eu" in lines
        if shutil.which("sh"):
            subprocess.run(["sh", "-n"], input=text, text=True, check=True)
        live = {ln.split()[3]: _label_pairs(ln) for ln in lines if ln.startswith("kubectl ")}
        commented = {ln.split()[4]: _label_pairs(ln[2:]) for ln in lines if ln.startswith("# kubectl ")}
        lp = labels.build(plan, loaded)
        for n in lp.nodes:
            if n.status == "new":
                assert n.node in commented and n.node not in live
                assert commented[n.node]["nvidia.com/mig.config"] == n.config
                continue
            pairs = live[n.node]
            assert_labels(pairs, f"{name} {n.node}")
            assert pairs["mig-plan.io/revision"] == plan_revision(plan)
            if n.status == "unchanged":
                assert "nvidia.com/mig.config" not in pairs
                assert f"# unchanged: {n.node} keeps nvidia.com/mig.config={n.config}" in text
            else:
                assert pairs["nvidia.com/mig.config"] == n.config
        for released in plan.releasable:
            assert f"# releasable: {released}" in text and released not in live


def test_label_statuses(solved):
    by = {name: {n.node: n for n in labels.build(*solved[name][:2]).nodes} for name in solved}
    # replan keeps both nodes' layouts: nothing to drain
    assert {n.status for n in by["replan"].values()} == {"unchanged"}
    # serving fleet: one node keeps today's layout (named like the plan's), one changes from 7g.40gb
    assert by["serving"]["same-a100"].status == "unchanged"
    assert by["serving"]["old-a100"].status == "changed" and by["serving"]["old-a100"].today == "mp-7g40"
    # fleet example: the pool's layout is not given today; market nodes are new
    assert by["fleet"]["gpu-b-0"].status == "changed" and by["fleet"]["gpu-b-0"].today is None
    assert {n.status for k, n in by["fleet"].items() if k.startswith("l4x4-new")} == {"new"}
    assert labels.build(*solved["serving"][:2]).plan == "Export-Test-fleet-2e2f8c3a"


def test_label_patches_are_valid_nodes(solved):
    for name in solved:
        docs = [d for d in yaml.safe_load_all(export_text(solved, name, "labels-yaml")) if d is not None]
        plan = solved[name][0]
        assert {d["metadata"]["name"] for d in docs} == {n.name for n in plan.nodes if n.origin == "inventory"}
        for doc in docs:
            assert doc["kind"] == "Node"
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
            assert_labels(doc["metadata"]["labels"], f"{name} {doc['metadata']['name']}")


# --------------------------------------------------------------------------- Kubernetes objects


def node_term(deployment: dict) -> dict:
    affinity = deployment["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    return affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]


def _k8s_docs(solved, name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(export_text(solved, name, "k8s")) if d is not None]


def test_k8s_objects_validate_against_kubernetes_schemas(solved):
    for name in solved:
        for doc in _k8s_docs(solved, name):
            if doc["kind"] == "ClusterPolicy":
                # A custom resource of the GPU Operator: no Kubernetes schema covers it.
                with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
                assert doc["apiVersion"] == "nvidia.com/v1"
                assert doc["spec"]["mig"] == {"strategy": "mixed"}
                assert doc["spec"]["migManager"]["config"] == {"name": k8s.MIG_PARTED_CONFIGMAP, "default": "all-disabled"}
                continue
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
            meta = doc["metadata"]
            assert DNS_LABEL.match(meta["name"]) and len(meta["name"]) <= 63
            assert_labels(meta.get("labels", {}), meta["name"])
            if doc["kind"] == "Deployment":
                spec = doc["spec"]
                assert_labels(spec["selector"]["matchLabels"], meta["name"])
                assert_labels(spec["template"]["metadata"]["labels"], meta["name"])
                assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
                term = node_term(doc)
                assert all(valid_label_value(v) for v in term["matchExpressions"][0]["values"])


def test_schema_validator_is_live(solved):
    """The validator rejects what the API server would: a wrong type, an unknown field."""
    deployment = next(d for d in _k8s_docs(solved, "fleet") if d["kind"] == "Deployment")
    bad = json.loads(json.dumps(deployment))
    bad["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)
    bad = json.loads(json.dumps(deployment))
    bad["spec"]["template"]["spec"]["containers"][0]["gpu"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_deployments_follow_the_plan(solved):
    for name, (plan, _, _) in solved.items():
        deployments = [d for d in _k8s_docs(solved, name) if d["kind"] == "Deployment"]
        total: Counter = Counter()
        for d in deployments:
            workload = d["metadata"]["labels"]["mig-plan.io/workload"]
            resource = d["metadata"]["annotations"]["mig-plan.io/resource"]
            group = next(r for w in plan.workloads if w.name == workload for r in w.replicas if r.resource == resource)
            assert d["spec"]["replicas"] == group.count
            total[workload] += d["spec"]["replicas"]
            container = d["spec"]["template"]["spec"]["containers"][0]
            limits = container["resources"]["limits"]
            assert container["resources"]["requests"] == limits
            slice_ = resource.split("/", 1)[1] if "/" in resource else None
            if slice_ is None:
                assert limits == {"nvidia.com/gpu": 1}
            elif slice_.startswith("tp"):
                assert limits == {"nvidia.com/gpu": int(slice_[2:])}
            else:
                assert limits == {"nvidia.com/mig-" + slice_.replace("+", "."): 1}
            term = node_term(d)
            expr = term["matchExpressions"][0]
            assert expr["key"] == "kubernetes.io/hostname" and expr["operator"] == "In"
            planned = d["metadata"]["annotations"]["mig-plan.io/planned-replicas"]
            assert [p.split("=")[0] for p in planned.split(", ")] == expr["values"]
            assert sum(int(p.split("=")[1]) for p in planned.split(", ")) == group.count
        assert total == Counter({w.name: sum(r.count for r in w.replicas) for w in plan.workloads})
        assert len({d["metadata"]["name"] for d in deployments}) == len(deployments)


def test_serving_settings_and_placeholder_image(solved):
    docs = {d["metadata"]["name"]: d for d in _k8s_docs(solved, "serving") if d["kind"] == "Deployment"}
    small = docs["small-a100-pcie-40gb-1g5"]
    container = small["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/small:1.2"
    assert container["args"] == ["--port", "8000"]
    assert container["env"] == [{"name": "MODE", "value": "fast"}]
    assert container["ports"][0]["containerPort"] == 8000
    assert "mig-plan.io/placeholder-image" not in small["metadata"]["annotations"]
    big = docs["big-a100-pcie-40gb"]
    assert big["spec"]["template"]["spec"]["containers"][0]["image"] == k8s.PLACEHOLDER_IMAGE
    assert k8s.PLACEHOLDER_IMAGE.split("/")[0].endswith(".invalid")  # can never be pulled
    assert big["metadata"]["annotations"]["mig-plan.io/placeholder-image"] == "true"
    assert big["spec"]["template"]["metadata"]["annotations"]["mig-plan.io/placeholder-image"] == "true"
    assert "PLACEHOLDER IMAGE" in export_text(solved, "serving", "k8s")


# --------------------------------------------------------------------------- CLI


def test_output_file_matches_stdout_and_json(solved, tmp_path):
    plan_file = solved["fleet"][2]
    out = tmp_path / "labels.sh"
    result = run(plan_file, "--format", "labels", "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_text() == export_text(solved, "fleet", "labels")
    assert os.access(out, os.X_OK)
    result = run(plan_file, "--format", "mig-parted", "--json")
    data = json.loads(result.stdout)
    assert data["format"] == "mig-parted" and data["output"] is None and data["data"]["version"] == "v1"
    result = run(plan_file, "--format", "k8s", "--json", "-o", tmp_path / "k8s.yaml")
    data = json.loads(result.stdout)
    assert data["output"].endswith("k8s.yaml")
    assert [d["kind"] for d in data["data"]["documents"]][:2] == ["ConfigMap", "ClusterPolicy"]
    data = json.loads(run(plan_file, "--format", "labels-yaml", "--json").stdout)
    assert {n["status"] for n in data["data"]["nodes"]} == {"changed", "new"}


def test_fleet_file_changes_and_overrides(solved, tmp_path):
    plan, loaded, plan_file = solved["serving"]
    edited = tmp_path / "fleet.yaml"
    edited.write_text(SERVING_FLEET + "# edited\n", encoding="utf-8")
    result = run(plan_file, "--format", "mig-parted", "--fleet", edited)
    assert result.exit_code == 0
    assert "warning" in result.stderr and "changed since the plan was solved" in result.stderr
    assert result.stdout == export_text(solved, "serving", "mig-parted")
    result = run(plan_file, "--format", "mig-parted")
    assert result.exit_code == 0 and "warning" not in result.stderr


def test_missing_fleet_file_and_bad_plan_exit_2(solved, tmp_path):
    plan = solved["replan"][0].model_copy(update={"fleet_file": str(tmp_path / "gone.yaml")})
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(dump_plan(plan, "yaml"))
    result = run(plan_file, "--format", "labels")
    assert result.exit_code == 2 and "gone.yaml" in result.stderr and "--fleet" in result.stderr
    result = run(plan_file, "--format", "labels", "--fleet", tmp_path / "nope.yaml")
    assert result.exit_code == 2 and "not found" in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nfleet: x\n")
    result = run(bad, "--format", "labels")
    assert result.exit_code == 2 and "Traceback" not in result.output
    result = run(plan_file, "--format", "helm")
    assert result.exit_code == 2


def test_fleet_file_found_next_to_the_plan(solved, tmp_path):
    plan, _, _ = solved["serving"]
    (tmp_path / "serving.yaml").write_text(SERVING_FLEET)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(dump_plan(plan.model_copy(update={"fleet_file": "serving.yaml"}), "json"))
    result = run(plan_file, "--format", "labels")
    assert result.exit_code == 0, result.output
    assert result.stdout == export_text(solved, "serving", "labels")


def test_inconsistent_plan_is_reported_against_the_plan_file(solved, tmp_path):
    plan, _, _ = solved["replan"]
    edited = plan.model_copy(deep=True)
    gpu = edited.nodes[0].gpus[0]
    gpu.instances = gpu.instances + [gpu.instances[0].model_copy()]
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(dump_plan(edited, "yaml"))
    result = run(plan_file, "--format", "mig-parted")
    assert result.exit_code == 2
    assert "plan.yaml" in result.stderr and "nodes[0].gpus[0]" in result.stderr and "cannot be placed" in result.stderr
    edited = plan.model_copy(deep=True)
    edited.workloads[0].replicas[0].count += 1
    plan_file.write_text(dump_plan(edited, "yaml"))
    result = run(plan_file, "--format", "k8s")
    assert result.exit_code == 2 and "workloads[0].replicas[0]" in result.stderr


# --------------------------------------------------------------------------- helpers


def test_label_helpers():
    assert label_safe("acme-inference-2027q1") == "acme-inference-2027q1"
    for text in ("Export Test/fleet", "x" * 80, "+++", "é"):
        value = label_safe(text)
        assert valid_label_value(value) and value
    assert label_safe("a b") != label_safe("a/b")
    for key in ("nvidia.com/mig.config", "mig-plan.io/revision", "app.kubernetes.io/name", "plain"):
        assert is_label_key(key) and valid_label_key(key)
    for key in ("Nvidia.com/x", "a/b/c", "/x", "x/", "a" * 64, "-bad"):
        assert not is_label_key(key) and not valid_label_key(key)
    assert dns_label("chat-70b-H100-SXM5-80GB-tp2") == "chat-70b-h100-sxm5-80gb-tp2"
    long = dns_label("w" * 40 + "-" + "custom-gpu-with-a-very-long-name-indeed")
    assert len(long) <= 63 and DNS_LABEL.match(long)


# --------------------------------------------------------------------------- what export refuses


def test_export_replaces_only_an_earlier_export(solved, tmp_path):
    plan_file = solved["fleet"][2]
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    notes.chmod(0o600)
    result = run(plan_file, "--format", "labels", "-o", notes)
    assert result.exit_code == 2 and "is not an earlier mig-plan export" in result.stderr and "--force" in result.stderr
    assert notes.read_text() == "my notes\n"
    assert run(plan_file, "--format", "labels", "-o", notes, "--force").exit_code == 0
    assert notes.stat().st_mode & 0o777 == 0o700  # executable, but no wider than it was
    for fmt in FORMATS:  # an earlier export of any format is replaced without --force
        assert run(plan_file, "--format", fmt, "-o", notes).exit_code == 0, fmt


def test_export_writes_through_a_link_and_into_a_fifo(solved, tmp_path):
    import threading

    plan_file = solved["fleet"][2]
    real = tmp_path / "real.yaml"
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    assert run(plan_file, "--format", "mig-parted", "-o", link).exit_code == 0
    assert link.is_symlink() and "mig-parted config generated by mig-plan" in real.read_text()

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    result = run(plan_file, "--format", "labels", "-o", fifo)
    reader.join(10)
    assert result.exit_code == 0, result.output
    assert fifo.is_fifo()  # not replaced by a plain file
    assert received and received[0].startswith("#!/bin/sh")


def _hand_edited(solved, tmp_path, edit) -> Path:
    plan = solved["fleet"][0].model_copy(deep=True)
    edit(plan)
    path = tmp_path / "edited.yaml"
    path.write_text(dump_plan(plan, "yaml"))
    return path


def test_export_refuses_a_plan_that_does_not_hold_against_its_fleet(solved, tmp_path):
    def gpu_index_beyond_the_node(plan):
        plan.nodes[0].gpus[-1].index = 99

    def another_fleet(plan):
        plan.fleet = "someone-else"

    def wrong_gpu(plan):
        plan.nodes[0].gpu = "L4"

    for edit, message in (
        (gpu_index_beyond_the_node, "GPU indices"),
        (another_fleet, "plan is for fleet 'someone-else'"),
        (wrong_gpu, "GPUs, not L4"),
    ):
        out = tmp_path / "out.yaml"
        result = run(_hand_edited(solved, tmp_path, edit), "--format", "labels", "--fleet", ROOT / "examples" / "fleet.yaml", "-o", out)
        assert result.exit_code == 2, (edit.__name__, result.output)
        assert "does not hold against" in result.stderr and message in result.stderr, result.stderr
        assert not out.exists()


def test_a_plan_with_nan_is_refused(solved, tmp_path):
    path = tmp_path / "nan.yaml"
    path.write_text(dump_plan(solved["fleet"][0], "yaml").replace("cost_per_hour: 38.4", "cost_per_hour: .nan", 1))
    result = run(path, "--format", "labels")
    assert result.exit_code == 2 and "finite number" in result.stderr


def test_the_fleet_is_found_next_to_the_plan_from_any_directory(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "fleets").mkdir(parents=True)
    (project / "out").mkdir()
    shutil.copy(ROOT / "examples" / "fleet.yaml", project / "fleets" / "f.yaml")
    monkeypatch.chdir(project)
    solve = CliRunner().invoke(app, ["solve", "fleets/f.yaml", "-o", "out/p.yaml"])
    assert solve.exit_code == 0, solve.output
    assert yaml.safe_load((project / "out" / "p.yaml").read_text())["fleet_file"] == "../fleets/f.yaml"
    for cwd in (project / "out", tmp_path):
        monkeypatch.chdir(cwd)
        result = run(project / "out" / "p.yaml", "--format", "labels")
        assert result.exit_code == 0, (cwd, result.output)


def test_unused_tp_groups_are_idle_gpus(tmp_path):
    # The sizing may choose a packing whose TP group no replica takes: its GPUs are free, shown
    # as idle (MIG off), not as a tensor-parallel group of nothing.
    fleet = tmp_path / "f.yaml"
    fleet.write_text(
        "version: 1\nname: tiny\nnode_types:\n  h100x8: {gpu: H100, count: 8, nvlink: all}\nmarket:\n  h100x8: {max: 2}\n"
        "workloads:\n  - {name: r, kind: generic, memory_gb: 60, capacity: {H100/1g.10gb: 100}, target: {requests_per_s: 30}}\n"
    )
    plan = make_plan(load_fleet(fleet))
    gpus = [g for n in plan.nodes for g in n.gpus]
    assert all(g.workload is not None for g in gpus if g.mode == "tp")
    assert all(g.instances for g in gpus if g.mode == "mig")


def test_a_plan_still_exports_after_a_harmless_fleet_edit_with_a_warning(tmp_path):
    fleet = tmp_path / "f.yaml"
    fleet.write_text((ROOT / "examples" / "fleet.yaml").read_text())
    solve = CliRunner().invoke(app, ["solve", str(fleet), "-o", str(tmp_path / "p.yaml")])
    assert solve.exit_code == 0, solve.output
    plan = yaml.safe_load((tmp_path / "p.yaml").read_text())
    # Prices change after the review: the reviewed plan is still the one to apply.
    fleet.write_text(fleet.read_text().replace("price_per_hour: ", "price_per_hour: 1", 1))
    assert "price_per_hour: 1" in fleet.read_text(), "the example fleet has a price to edit"
    result = run(tmp_path / "p.yaml", "--format", "labels")
    assert result.exit_code == 0, result.output
    assert "has changed since the plan was solved" in result.stderr and "as it is now" in result.stderr
    assert plan["fleet_file"] == str(fleet)  # given absolute, kept absolute


def test_a_plan_reached_through_a_link_finds_its_fleet(tmp_path, monkeypatch):
    (tmp_path / "fleets").mkdir()
    (tmp_path / "plans").mkdir()
    shutil.copy(ROOT / "examples" / "fleet.yaml", tmp_path / "fleets" / "f.yaml")
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["solve", "fleets/f.yaml", "-o", "plans/q1.yaml"]).exit_code == 0
    (tmp_path / "current.yaml").symlink_to(tmp_path / "plans" / "q1.yaml")
    result = run("current.yaml", "--format", "labels")
    assert result.exit_code == 0, result.output


def test_solve_into_a_fifo_needs_no_force_and_does_not_hang(tmp_path):
    import subprocess
    import sys
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    code = "import sys; sys.argv[0] = 'mig-plan'; from planner.cli import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "solve", str(ROOT / "examples" / "fleet.yaml"), "-o", str(fifo)],
        capture_output=True, text=True, timeout=120,
    )
    reader.join(10)
    assert proc.returncode == 0, proc.stderr
    assert received and received[0].startswith("version: 1")
