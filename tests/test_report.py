"""`mig-plan report`: the HTML report of a plan — self-contained, deterministic, grouped at scale,
and really drawn (a headless Chromium screenshot is checked to be non-blank)."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from planner.emit.report import PALETTE, compress_names, group_nodes, render_report
from planner.plan import Plan, dump_plan

ROOT = Path(__file__).resolve().parent.parent

# A small plan touching every drawing case: MIG slices (one idle), a whole GPU, a tensor-parallel
# pair, an idle GPU, a GPU without MIG; inventory and market nodes; a change; a releasable node.
SMALL_PLAN = {
    "version": 1,
    "fleet": "report-demo",
    "fleet_sha256": "0" * 64,
    "status": "feasible",
    "cost_per_hour": 22.4,
    "lower_bound_per_hour": 20.0,
    "gap": 0.107143,
    "solver": {"name": "cp-sat", "seconds": 1.5, "workers": 2, "seed": 0, "time_limit_s": 10.0, "notes": []},
    "workloads": [
        {"name": "chat-70b", "target": {"output_tokens_per_s": 3000.0}, "capacity": 3100.0, "headroom": 0.0333,
         "replicas": [{"resource": "H100-SXM5-80GB/tp2", "count": 1, "throughput_each": 3100.0, "source": "measured"}],
         "cost_per_hour": 4.0},
        {"name": "support-8b", "target": {"requests_per_s": 20.0}, "capacity": 24.2, "headroom": 0.21,
         "replicas": [{"resource": "H100-SXM5-80GB", "count": 1, "throughput_each": 17.8, "source": "estimate"},
                      {"resource": "H100-SXM5-80GB/3g.40gb", "count": 1, "throughput_each": 6.4, "source": "estimate"}],
         "cost_per_hour": 3.0},
        {"name": "ranker", "target": {"requests_per_s": 500.0}, "capacity": 600.0, "headroom": 0.2,
         "replicas": [{"resource": "H100-SXM5-80GB/1g.10gb", "count": 5, "throughput_each": 120.0, "source": "measured"}],
         "cost_per_hour": 1.25},
        {"name": "product-images", "target": {"images_per_s": 0.4}, "capacity": 0.44, "headroom": 0.1,
         "replicas": [{"resource": "L4", "count": 2, "throughput_each": 0.22, "source": "estimate"}],
         "cost_per_hour": 1.6},
    ],
    "nodes": [
        {"name": "gpu-a-01", "type": "hgx-h100", "gpu": "H100-SXM5-80GB", "origin": "inventory",
         "price_per_hour": 16.0, "mig_config": "mp-demo", "kept": False,
         "gpus": [
             {"index": 0, "mode": "tp", "group": "chat-70b-0", "workload": "chat-70b"},
             {"index": 1, "mode": "tp", "group": "chat-70b-0", "workload": "chat-70b"},
             {"index": 2, "mode": "full", "workload": "support-8b"},
             {"index": 3, "mode": "mig", "instances": [
                 {"profile": "3g.40gb", "start": 0, "workload": "support-8b"},
                 {"profile": "1g.10gb", "start": 4, "workload": "ranker"},
                 {"profile": "1g.10gb", "start": 5, "workload": "ranker"},
                 {"profile": "1g.10gb", "start": 6, "workload": None}]},
             {"index": 4, "mode": "mig", "instances": [
                 {"profile": "1g.10gb", "start": 0, "workload": "ranker"},
                 {"profile": "1g.10gb", "start": 1, "workload": "ranker"},
                 {"profile": "1g.10gb", "start": 2, "workload": "ranker"}]},
             {"index": 5, "mode": "idle"},
             {"index": 6, "mode": "idle"},
             {"index": 7, "mode": "idle"},
         ]},
        {"name": "l4-new-0", "type": "l4x4", "gpu": "L4", "origin": "market", "price_per_hour": 3.2,
         "mig_config": "all-disabled", "kept": False,
         "gpus": [{"index": 0, "mode": "full", "workload": "product-images"},
                  {"index": 1, "mode": "full", "workload": "product-images"},
                  {"index": 2, "mode": "idle"}, {"index": 3, "mode": "idle"}]},
        {"name": "l4-new-1", "type": "l4x4", "gpu": "L4", "origin": "market", "price_per_hour": 3.2,
         "mig_config": "all-disabled", "kept": False,
         "gpus": [{"index": 0, "mode": "full", "workload": "product-images"},
                  {"index": 1, "mode": "full", "workload": "product-images"},
                  {"index": 2, "mode": "idle"}, {"index": 3, "mode": "idle"}]},
    ],
    "releasable": ["gpu-a-02"],
    "changes": [{"node": "gpu-a-01", "gpus": [3, 4], "from": ["7g.80gb", "7g.80gb"],
                 "to": ["3g.40gb,1g.10gb,1g.10gb,1g.10gb", "1g.10gb,1g.10gb,1g.10gb"]}],
    "rounding": {"price_max_error_per_node": 0.0, "capacity_max_relative_error": 1e-5, "note": "rounded"},
}

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Checker(HTMLParser):
    """Tags balance (void elements aside), and where the document points to."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.links: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        self.links += [v for k, v in attrs if k in ("src", "href", "xlink:href", "action", "srcset") and v]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.links += [v for k, v in attrs if k in ("src", "href", "xlink:href") and v]

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def check_html(text: str) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert not checker.errors, checker.errors[:5]
    assert not checker.stack, f"unclosed: {checker.stack}"
    return checker


def small_plan() -> Plan:
    return Plan.model_validate(SMALL_PLAN)


def big_plan(n: int = 1000) -> Plan:
    """1,000 identical H100 nodes plus the small plan's others: a copy per name."""
    plan = small_plan()
    template = plan.nodes[0]
    nodes = [template.model_copy(update={"name": f"gpu-b-{i:04d}"}) for i in range(n)]
    nodes += plan.nodes[1:]
    cost = sum(node.price_per_hour for node in nodes)
    return plan.model_copy(update={"nodes": nodes, "changes": [], "cost_per_hour": cost, "lower_bound_per_hour": cost, "gap": 0.0})


# ---------------------------------------------------------------------------------------------
# the document


def test_report_is_well_formed_and_self_contained():
    text = render_report(small_plan())
    checker = check_html(text)
    assert text.startswith("<!DOCTYPE html>")
    for w in SMALL_PLAN["workloads"]:
        assert w["name"] in text
    # nothing to fetch: no src/href at all except in-page anchors, no scripts, no imports
    assert all(link.startswith("#") for link in checker.links), checker.links
    assert "<script" not in text and "@import" not in text and "<link" not in text
    without_xmlns = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in without_xmlns and "https://" not in without_xmlns
    assert not re.search(r"url\(\s*['\"]?(?!#)", text), "CSS/SVG url() must point inside the page"


def test_report_shows_status_cost_changes_and_idle_capacity():
    text = render_report(small_plan())
    assert "feasible" in text and "$22.40/h" in text and "$20.00/h" in text and "10.7%" in text  # status, cost, bound, gap
    assert "gpu-a-02" in text  # releasable
    assert "7g.80gb" in text and "1g.10gb ×3" in text  # change: from → to, run-length
    assert "idle GPU" in text and "idle capacity" in text
    assert "chat-70b-0" in text and "tp2" in text  # the tensor-parallel group, by name
    assert "inventory" in text and "market" in text
    assert "rounded" in text  # the rounding note


def test_one_drawing_per_node_group():
    plan = small_plan()
    text = render_report(plan)
    groups = group_nodes(plan)
    assert [len(g.nodes) for g in groups] == [1, 2]  # the two L4 nodes are identical
    assert text.count("<svg") == len(groups)
    assert "×2" in text and "l4-new-[0-1]" in text


def test_report_is_deterministic():
    assert render_report(small_plan()) == render_report(small_plan())


def test_workload_colours_are_stable_and_distinct():
    text = render_report(small_plan())
    for colour in PALETTE[:4]:
        assert colour in text


def test_thousand_identical_nodes_render_as_a_few_cards():
    plan = big_plan(1000)
    groups = group_nodes(plan)
    assert len(groups) == 2
    assert sum(len(g.nodes) for g in groups) == 1002
    text = render_report(plan)
    check_html(text)
    assert text.count("<svg") == 2
    assert "×1000" in text and "gpu-b-[0000-0999]" in text
    assert text.count("gpu-b-0500") == 0  # names are folded into ranges, not listed one by one
    assert len(text) < 200_000


def test_identical_content_with_other_tp_group_names_groups_together():
    plan = small_plan()
    twin = plan.nodes[0].model_copy(deep=True, update={"name": "gpu-a-03"})
    for g in twin.gpus:
        if g.mode == "tp":
            g.group = "chat-70b-7"
    plan = plan.model_copy(update={"nodes": [plan.nodes[0], twin] + plan.nodes[1:], "changes": []})
    assert [len(g.nodes) for g in group_nodes(plan)] == [2, 2]


def test_compress_names():
    assert compress_names(["n-2", "n-0", "n-1", "n-5", "solo"]) == ["solo", "n-[0-2]", "n-5"]
    assert compress_names(["a-09", "a-10", "a-11"]) == ["a-[09-11]"]


# ---------------------------------------------------------------------------------------------
# the command


def test_cli_report_default_path_and_json(cli, tmp_path):
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(dump_plan(small_plan(), "yaml"), encoding="utf-8")
    result = cli("report", plan_path, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == {"report": str(tmp_path / "plan.html"), "nodes": 3, "node_groups": 2}
    first = (tmp_path / "plan.html").read_bytes()
    assert cli("report", plan_path, "-o", tmp_path / "again.html").exit_code == 0
    assert (tmp_path / "again.html").read_bytes() == first  # same plan, same bytes


def test_cli_report_bad_plan_exits_2(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nfleet: x\nstatus: great\n", encoding="utf-8")
    result = cli("report", bad)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert not (tmp_path / "bad.html").exists()
    assert cli("report", tmp_path / "missing.yaml").exit_code == 2


def test_cli_report_refuses_to_overwrite_the_plan(cli, tmp_path):
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(dump_plan(small_plan(), "yaml"), encoding="utf-8")
    assert cli("report", plan_path, "-o", plan_path).exit_code == 2
    assert plan_path.read_text(encoding="utf-8").startswith("version: 1")


def test_cli_report_replaces_only_earlier_reports(cli, tmp_path):
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(dump_plan(small_plan(), "yaml"), encoding="utf-8")
    notes = tmp_path / "notes.html"
    notes.write_text("<p>mine</p>", encoding="utf-8")
    assert cli("report", plan_path, "-o", notes).exit_code == 2
    assert notes.read_text(encoding="utf-8") == "<p>mine</p>"
    assert cli("report", plan_path, "-o", notes, "--force").exit_code == 0
    assert cli("report", plan_path, "-o", notes).exit_code == 0  # an earlier report: replaced


def test_unknown_gpu_is_drawn_from_the_plan_alone():
    plan = small_plan()
    node = plan.nodes[0].model_copy(update={"gpu": "X1000-CUSTOM"})
    text = render_report(plan.model_copy(update={"nodes": [node]}), catalog=None)
    check_html(text)
    assert "X1000-CUSTOM" in text and "ranker" in text


# ---------------------------------------------------------------------------------------------
# the screenshot


def read_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows) of an 8-bit, non-interlaced PNG — standard library only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    width = height = bpp = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and ctype in (0, 2, 4, 6), (depth, ctype, interlace)
            bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        at = y * (stride + 1)
        kind, line = raw[at], bytearray(raw[at + 1 : at + 1 + stride])
        if kind == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for x in range(bpp):
                line[x] = (line[x] + (prev[x] >> 1)) & 255
            for x in range(bpp, stride):
                line[x] = (line[x] + ((line[x - bpp] + prev[x]) >> 1)) & 255
        elif kind == 4:
            for x in range(bpp):  # no left neighbour: the predictor is the byte above
                line[x] = (line[x] + prev[x]) & 255
            for x in range(bpp, stride):
                a, b, c = line[x - bpp], prev[x], prev[x - bpp]
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_renders_in_headless_chromium(cli, tmp_path):
    browser = find_chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI installs it (.ci/run)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    plan_path = tmp_path / "plan.yaml"
    result = cli("solve", ROOT / "examples" / "fleet.yaml", "-o", plan_path, "--json")
    assert result.exit_code == 0, result.output
    assert cli("report", plan_path, "-o", tmp_path / "report.html").exit_code == 0
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
         (tmp_path / "report.html").as_uri()],
        capture_output=True, text=True, timeout=60,
    )
    assert shot.is_file(), f"no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    width, height, bpp, rows = read_png(shot.read_bytes())
    assert (width, height) == (1280, 2000)
    pixels = [row[x : x + 3] for row in rows[::2] for x in range(0, len(row), bpp * 2)]
    background = max(set(pixels[:5000]), key=pixels[:5000].count)
    colours = set(pixels)
    not_background = sum(1 for p in pixels if p != background) / len(pixels)
    assert len(colours) > 200, f"only {len(colours)} distinct colours: a blank page?"
    assert not_background > 0.03, f"{not_background:.1%} of the page differs from the background"
    # the workload colours were drawn (table swatches, bars, node drawings)
    wanted = [bytes(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in PALETTE[:6]]
    near = lambda p, q: all(abs(a - b) <= 4 for a, b in zip(p, q))  # noqa: E731
    drawn = [c for c in wanted if any(near(c, p) for p in colours)]
    assert len(drawn) >= 5, f"workload colours seen: {len(drawn)} of 6"
