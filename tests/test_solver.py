"""The solvers end to end: hand-computed optima on tiny fleets, infeasible fleets, determinism,
and property tests on random small fleets (every plan verifies, CP-SAT never costs more than
greedy, cost never below the reported bound, CP-SAT matches brute force on tiny fleets).

Every fleet here uses `kind: generic` workloads (memory + a capacity per resource), so the
throughputs are exact numbers chosen by hand, independent of the performance model.
"""

from __future__ import annotations

import dataclasses
import math
import os
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import mig
from planner.errors import NoFeasiblePlan
from planner.plan import Plan, dump_plan
from planner.planning import make_plan
from planner.spec import parse_fleet
from planner.verify import verify

H100 = "H100-SXM5-80GB"
TIME_LIMIT = 5.0


def fleet(*parts: str, name: str = "t") -> str:
    """A fleet file from YAML parts, each dedented on its own."""
    return f"version: 1\nname: {name}\n" + "".join(textwrap.dedent(p).lstrip("\n") for p in parts)


def solve(text: str, solver: str = "cp-sat", time_limit_s: float = TIME_LIMIT) -> Plan:
    """Solve and re-verify (make_plan verifies too; a test that solves always runs verify)."""
    loaded = parse_fleet(text, "fleet.yaml")
    plan = make_plan(loaded, solver=solver, time_limit_s=time_limit_s)
    assert verify(plan, loaded) == []
    if plan.lower_bound_per_hour is not None:
        assert plan.cost_per_hour >= plan.lower_bound_per_hour - 1e-6
    return plan


def replicas(plan: Plan, workload: str) -> dict[str, int]:
    w = next(w for w in plan.workloads if w.name == workload)
    return {r.resource: r.count for r in w.replicas}


def infeasible(text: str, solver: str = "cp-sat") -> list[str]:
    loaded = parse_fleet(text, "fleet.yaml")
    with pytest.raises(NoFeasiblePlan) as info:
        make_plan(loaded, solver=solver, time_limit_s=TIME_LIMIT)
    reasons = info.value.reasons
    assert reasons and all(isinstance(r, str) and r for r in reasons)
    return reasons


def optimal(plan: Plan, cost: float) -> None:
    assert plan.status == "optimal"
    assert plan.cost_per_hour == pytest.approx(cost, abs=1e-6)
    assert plan.lower_bound_per_hour == pytest.approx(cost, abs=1e-6)
    assert plan.gap == 0


# ---------------------------------------------------------------------------------------------
# Hand-computed optima
# ---------------------------------------------------------------------------------------------

# One node type: a single H100 at $2/h, bought from the market.
ONE_H100 = """
gpus:
  H100-SXM5-80GB: {price_per_hour: 2.0}
node_types:
  one: {gpu: H100-SXM5-80GB, count: 1}
market:
  one: {max: 10}
"""


def generic(name: str, target: float, capacity: dict[str, float], memory_gb: float = 5, extra: str = "") -> str:
    cap = ", ".join(f"{k}: {v}" for k, v in capacity.items())
    out = f"""
  - name: {name}
    kind: generic
    memory_gb: {memory_gb}
    capacity: {{{cap}}}
    target: {{requests_per_s: {target}}}
"""
    return out + (textwrap.indent(textwrap.dedent(extra).strip(), "    ") + "\n" if extra else "")


def workloads(*items: str) -> str:
    return "workloads:" + "".join(items)


@pytest.mark.parametrize(
    "target, cost",
    [
        # Per GPU the best is MIG off: 80 (3g.40gb + 4×1g.10gb gives 35 + 40 = 75; 7×1g.10gb 70).
        (80, 2.0),  # one GPU, MIG off
        (155, 4.0),  # 80 + 75 (or 80 + 80): two GPUs
        (160, 4.0),  # exactly two whole GPUs
        (161, 6.0),  # two GPUs give at most 160: a third is needed
    ],
)
def test_single_h100_type_counts_gpus(target: float, cost: float) -> None:
    cap = {f"{H100}/1g.10gb": 10, f"{H100}/3g.40gb": 35, H100: 80}
    plan = solve(fleet(ONE_H100, workloads(generic("w", target, cap))))
    optimal(plan, cost)
    assert len(plan.nodes) == round(cost / 2.0)
    assert all(n.origin == "market" and n.price_per_hour == 2.0 for n in plan.nodes)


def test_mig_beats_whole_gpu_when_slices_give_more() -> None:
    # 1g.10gb gives 12, a whole GPU 80. Seven 1g.10gb slices per GPU give 84 > 80.
    # Target 168 = 2 × 84: two GPUs ($4) only if both run 7×1g.10gb (any whole GPU or other
    # layout gives at most 80 + 84 = 164 < 168); with whole GPUs only it would take three ($6).
    cap = {f"{H100}/1g.10gb": 12, H100: 80}
    plan = solve(fleet(ONE_H100, workloads(generic("w", 168, cap))))
    optimal(plan, 4.0)
    assert replicas(plan, "w") == {f"{H100}/1g.10gb": 14}
    for node in plan.nodes:
        (gpu,) = node.gpus
        assert gpu.mode == "mig"
        assert sorted(i.profile for i in gpu.instances) == ["1g.10gb"] * 7
        assert all(i.workload == "w" for i in gpu.instances)


def test_two_workloads_share_one_gpu_through_mig() -> None:
    # a needs 35 (one 3g.40gb), b needs 40 (four 1g.10gb). 3g.40gb + 4×1g.10gb is a valid H100
    # layout (3g at start 4, 1g at 0..3), so one GPU ($2) carries both; MIG off would need two.
    plan = solve(
        fleet(
            ONE_H100,
            workloads(
                generic("a", 35, {f"{H100}/3g.40gb": 35, H100: 60}),
                generic("b", 40, {f"{H100}/1g.10gb": 10, H100: 60}),
            )
        )
    )
    optimal(plan, 2.0)
    assert replicas(plan, "a") == {f"{H100}/3g.40gb": 1}
    assert replicas(plan, "b") == {f"{H100}/1g.10gb": 4}


L4_VS_H100 = """
gpus:
  H100-SXM5-80GB: {price_per_hour: 2.0}
  L4: {price_per_hour: 0.8}
node_types:
  h100: {gpu: H100-SXM5-80GB, count: 1}
  l4: {gpu: L4, count: 1}
market:
  h100: {max: 10}
  l4: {max: 10}
"""


@pytest.mark.parametrize(
    "target, cost, types",
    [
        # L4 gives 30 for $0.80 ($0.0267 per unit), H100 gives 100 for $2 ($0.02 per unit).
        (30, 0.8, {"l4": 1}),  # one L4 ($0.80) beats one H100 ($2)
        (60, 1.6, {"l4": 2}),  # two L4 ($1.60) beat one H100 ($2)
        (100, 2.0, {"h100": 1}),  # one H100 ($2) beats four L4 ($3.20)
        (120, 2.8, {"h100": 1, "l4": 1}),  # H100 + L4 ($2.80) beats 2×H100 ($4) and 4×L4 ($3.20)
    ],
)
def test_l4_versus_h100(target: float, cost: float, types: dict[str, int]) -> None:
    cap = {"L4": 30, H100: 100}
    plan = solve(fleet(L4_VS_H100, workloads(generic("w", target, cap))))
    optimal(plan, cost)
    got: dict[str, int] = {}
    for n in plan.nodes:
        got[n.type] = got.get(n.type, 0) + 1
    assert got == types


def tp_fleet(nvlink: str, target: float) -> str:
    # 120 GB per replica: fits no single 80 GB H100, only an NVLinked pair (tp2, 160 GB).
    return fleet(
        f"""
        gpus:
          H100-SXM5-80GB: {{price_per_hour: 2.0}}
        node_types:
          quad: {{gpu: H100-SXM5-80GB, count: 4, nvlink: {nvlink}}}
        market:
          quad: {{max: 3}}
        """,
        workloads(generic("big", target, {f"{H100}/tp2": 50}, memory_gb=120))
    )


@pytest.mark.parametrize(
    "target, cost",
    [
        (100, 8.0),  # two tp2 groups: pairs {0,1} and {2,3} of one 4-GPU node ($8)
        (150, 16.0),  # three groups: a node holds two, so two nodes
    ],
)
def test_tensor_parallel_needs_nvlink_pairs(target: float, cost: float) -> None:
    plan = solve(tp_fleet("[[0, 1], [2, 3]]", target))
    optimal(plan, cost)
    for node in plan.nodes:
        groups: dict[str, list[int]] = {}
        for g in node.gpus:
            if g.mode == "tp":
                groups.setdefault(g.group, []).append(g.index)
        assert sorted(sorted(v) for v in groups.values()) in ([[0, 1]], [[2, 3]], [[0, 1], [2, 3]])


def test_tensor_parallel_without_nvlink_is_infeasible() -> None:
    reasons = infeasible(tp_fleet("none", 100))
    assert any(r.startswith("big:") and "fits no resource" in r for r in reasons)


def test_market_max_forces_a_more_expensive_type() -> None:
    # Three whole GPUs are needed (200 / 80 -> 3). Only one $2 node may be bought, so the other
    # two are $3 nodes: 2 + 3 + 3 = $8.
    text = fleet(
        """
        gpus:
          H100-SXM5-80GB: {price_per_hour: 2.0}
        node_types:
          cheap: {gpu: H100-SXM5-80GB, count: 1}
          dear: {gpu: H100-SXM5-80GB, count: 1, price_per_hour: 3.0}
        market:
          cheap: {max: 1}
          dear: {max: 5}
        """,
        workloads(generic("w", 200, {H100: 80}))
    )
    plan = solve(text)
    optimal(plan, 8.0)
    assert sorted(n.type for n in plan.nodes) == ["cheap", "dear", "dear"]


def inventory_fleet(inventory_price: float, target: float) -> str:
    return fleet(
        f"""
        gpus:
          H100-SXM5-80GB: {{price_per_hour: 2.0}}
        node_types:
          one: {{gpu: H100-SXM5-80GB, count: 1}}
        nodes:
          - {{name: old, type: one, price_per_hour: {inventory_price}}}
        market:
          one: {{max: 5}}
        """,
        workloads(generic("w", target, {H100: 80}))
    )


def test_cheap_inventory_node_is_used_first() -> None:
    # Two GPUs needed (160). The inventory node costs $0.50 (override), market nodes $2: 2.50.
    plan = solve(inventory_fleet(0.5, 160))
    optimal(plan, 2.5)
    by_name = {n.name: n for n in plan.nodes}
    assert by_name["old"].origin == "inventory" and by_name["old"].price_per_hour == 0.5
    assert sum(n.origin == "market" for n in plan.nodes) == 1


def test_dear_inventory_node_is_released() -> None:
    # The inventory node costs $5 (override), a market node $2: one market node, `old` released.
    plan = solve(inventory_fleet(5.0, 80))
    optimal(plan, 2.0)
    assert [n.origin for n in plan.nodes] == ["market"]
    assert plan.releasable == ["old"]


def spread_fleet(spread: bool) -> str:
    # Nodes of two GPUs at $4. One whole GPU (80) covers the target 50, but replicas.min 2
    # needs two replicas; with spread they must sit on two nodes ($8), without it one node
    # holds both ($4).
    return fleet(
        """
        gpus:
          H100-SXM5-80GB: {price_per_hour: 2.0}
        node_types:
          duo: {gpu: H100-SXM5-80GB, count: 2, nvlink: all}
        market:
          duo: {max: 3}
        """,
        workloads(generic("w", 50, {H100: 80}, extra=f"replicas: {{min: 2, spread: {str(spread).lower()}}}"))
    )


def test_min_replicas_with_spread_needs_two_nodes() -> None:
    plan = solve(spread_fleet(True))
    optimal(plan, 8.0)
    assert len(plan.nodes) == 2
    assert sum(replicas(plan, "w").values()) >= 2
    for node in plan.nodes:
        assert any(g.workload == "w" for g in node.gpus)


def test_min_replicas_without_spread_fits_one_node() -> None:
    plan = solve(spread_fleet(False))
    optimal(plan, 4.0)
    assert len(plan.nodes) == 1
    assert replicas(plan, "w") == {H100: 2}


def today_fleet(today: str, capacity: dict[str, float], target: float, market: int = 0) -> str:
    """One owned one-H100 node `a` at $2/h with today's layout; `market` more of its type for sale."""
    offer = f"market:\n  one: {{max: {market}}}\n" if market else ""
    return fleet(
        f"""
        gpus:
          H100-SXM5-80GB: {{price_per_hour: 2.0}}
        node_types:
          one: {{gpu: H100-SXM5-80GB, count: 1}}
        nodes:
          - {{name: a, type: one, mig: {{all: {today}}}}}
        """,
        offer,
        workloads(generic("w", target, capacity)),
    )


def test_todays_layout_is_kept_when_it_costs_nothing_more() -> None:
    # Today: 2×3g.40gb = 70, exactly the target. 7×1g.10gb = 70 would do too at the same cost,
    # but the second stage minimises changes: the node is kept as it is.
    plan = solve(today_fleet("[3g.40gb, 3g.40gb]", {f"{H100}/3g.40gb": 35, f"{H100}/1g.10gb": 10}, 70))
    optimal(plan, 2.0)
    assert plan.changes == []
    (node,) = plan.nodes
    assert node.name == "a" and node.kept is True
    assert sorted(i.profile for i in node.gpus[0].instances) == ["3g.40gb", "3g.40gb"]
    assert replicas(plan, "w") == {f"{H100}/3g.40gb": 2}


def test_todays_layout_is_changed_when_it_cannot_serve() -> None:
    # Today: 7×1g.10gb, but the workload only runs on 3g.40gb (2 × 35 = 70): the GPU is re-laid.
    plan = solve(today_fleet("[1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb]", {f"{H100}/3g.40gb": 35}, 70))
    optimal(plan, 2.0)
    (node,) = plan.nodes
    assert node.kept is False
    assert [c.node for c in plan.changes] == ["a"]
    assert plan.changes[0].gpus == [0]


@pytest.mark.parametrize("today", ["[7g.80gb]", "off"])
def test_an_owned_node_is_re_cut_rather_than_released_for_a_market_one_at_its_price(today: str) -> None:
    # Today's node cannot serve as it is (7g.80gb, or MIG off; the workload runs on 1g.10gb
    # only), and the market sells the same node type at the same price: both plans cost $2/h.
    # Releasing the owned node and buying one is two changes to the fleet, re-cutting it one.
    plan = solve(today_fleet(today, {f"{H100}/1g.10gb": 10}, 70, market=2))
    optimal(plan, 2.0)
    (node,) = plan.nodes
    assert (node.name, node.origin, node.kept) == ("a", "inventory", False)
    assert [c.node for c in plan.changes] == ["a"]


def a100_market(gpus_per_node: int, most: int, *items: str) -> str:
    """A fleet of market A100-40GB nodes at $0.25/h (at most `most`), all GPUs NVLinked."""
    return fleet(
        f"""
        node_types:
          t: {{gpu: A100-SXM4-40GB, count: {gpus_per_node}, nvlink: all, price_per_hour: 0.25}}
        market:
          t: {{max: {most}}}
        """,
        workloads(*items),
    )


@pytest.mark.parametrize("solver", ["cp-sat", "greedy"])
def test_nodes_to_buy_get_kubernetes_names_no_inventory_node_has(solver) -> None:
    # Market nodes are named after their type's key. A key that is not a Kubernetes name gave
    # names the manifests cannot use ("HGX H100-new-0"), and an owned node already called
    # "hgx-new-0" was named twice (the verifier refused the plan as "a bug in mig-plan").
    from planner.naming import is_dns1123_subdomain

    text = fleet(
        f"""
        node_types:
          "HGX H100": {{gpu: {H100}, count: 1, nvlink: none, price_per_hour: 2.0}}
          hgx: {{gpu: {H100}, count: 1, nvlink: none, price_per_hour: 2.0}}
        market:
          "HGX H100": {{max: 2}}
          hgx: {{max: 2}}
        nodes:
          - {{name: hgx-new-0, type: hgx}}
          - {{name: hgx-h100-new-1, type: hgx}}
        """,
        workloads(generic("w", 6, {H100: 1})),
    )
    plan = solve(text, solver=solver)
    names = [node.name for node in plan.nodes] + plan.releasable
    assert len(names) == len(set(names)) == 6
    assert all(is_dns1123_subdomain(n) for n in names)
    assert {n.name for n in plan.nodes if n.origin == "market"} <= {"hgx-h100-new-0", "hgx-h100-new-2", "hgx-new-1", "hgx-new-2"}


def test_spread_with_mig_slices_needs_two_gpus() -> None:
    # Nodes of one A100 at $0.25, max 2. Target 1 needs one 1g.5gb replica, but min 2 with spread
    # needs replicas on two nodes: two nodes, $0.50 (a spread bug hypothesis found, now fixed).
    text = a100_market(1, 2, generic("w", 1, {"A100-SXM4-40GB/1g.5gb": 1}, memory_gb=4, extra="replicas: {min: 2}"))
    plan = solve(text)
    optimal(plan, 0.5)


def test_tp_groups_of_one_size_are_dealt_to_different_nodes() -> None:
    # Three 8-GPU nodes whose TP groups carry two TP4 and two TP2 replicas. Dealing each group to
    # the least loaded node put both TP2 groups on the third, empty node, so a workload of two TP2
    # replicas that must spread could not (generated M fleet, seed 2: a plan failed verification).
    # Now no node holds two TP2 groups while another holds none.
    from collections import Counter

    from planner.placement import _balance_packings
    from planner.problem import build_problem

    text = fleet(
        f"""
        node_types:
          hgx: {{gpu: {H100}, count: 8, nvlink: all, price_per_hour: 8.0}}
        market:
          hgx: {{max: 3}}
        """,
        workloads(generic("w", 1, {f"{H100}/tp2": 50}, memory_gb=120)),
    )
    (group,) = build_problem(parse_fleet(text, "fleet.yaml")).groups
    empty = next(p for p in group.packings if not p.groups)
    dealt = _balance_packings(group, [empty] * 3, Counter({4: 2, 2: 2}))
    assert sum((Counter(p.sizes) for p in dealt), Counter()) == Counter({4: 2, 2: 2})
    assert [p.count(2) for p in dealt].count(1) == 2


@pytest.mark.parametrize("solver", ["cp-sat", "greedy"])
def test_a_spread_workload_cannot_count_a_node_its_tp_neighbour_fills(solver) -> None:
    # Two 2-GPU nodes at most: one holds w1's TP2 group, so both whole GPUs w0 may use are on the
    # other, and w0 cannot spread. The count model once counted the group's carriers (two GPUs)
    # as two hosting nodes and returned a plan the verifier refused (found by hypothesis).
    spread = generic("w0", 1, {"A100-SXM4-40GB": 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}")
    tp = generic("w1", 1, {"A100-SXM4-40GB/tp2": 1}, memory_gb=4)
    with pytest.raises(NoFeasiblePlan):
        solve(a100_market(2, 2, spread, tp), solver=solver)
    plan = solve(a100_market(2, 3, spread, tp), solver=solver)
    assert plan.cost_per_hour == pytest.approx(0.75)


A100 = "A100-SXM4-40GB"


@pytest.mark.parametrize("solver", ["cp-sat", "greedy"])
@pytest.mark.parametrize(
    ("caps0", "caps1"),
    [
        # w1 takes whole GPUs; w0 runs whole or on a slice. The model counted w1's whole GPUs as
        # carriers for w0 too.
        ({A100: 1, f"{A100}/1g.5gb": 1}, {A100: 1}),
        # w0 takes a 7g.40gb GPU on two nodes; w1 runs on 7g.40gb, whole or 1g.5gb. The model
        # counted w0's 7g.40gb GPUs as carriers for w1's 1g.5gb slices.
        ({f"{A100}/7g.40gb": 1}, {f"{A100}/7g.40gb": 1, A100: 1, f"{A100}/1g.5gb": 1}),
    ],
)
def test_two_spread_workloads_cannot_share_a_one_gpu_node_one_of_them_fills(solver, caps0, caps1) -> None:
    # One-GPU nodes: each of w0 and w1 needs two nodes, and one of them fills its nodes' GPUs,
    # so four nodes are needed (found by hypothesis: the verifier refused the three-node plans).
    w0 = generic("w0", 1, caps0, memory_gb=4, extra="replicas: {min: 2, spread: true}")
    w1 = generic("w1", 1, caps1, memory_gb=4, extra="replicas: {min: 2, spread: true}")
    with pytest.raises(NoFeasiblePlan):
        solve(a100_market(1, 3, w0, w1), solver=solver)
    plan = solve(a100_market(1, 5, w0, w1), solver=solver)
    assert plan.cost_per_hour == pytest.approx(1.0)  # four nodes, not five
    for name in ("w0", "w1"):
        assert len({node.name for node in plan.nodes for gpu in node.gpus if name in _workloads_on(gpu)}) == 2


def _two_gpu_h100_slices(most: int) -> str:
    """Market two-GPU H100 nodes; w0 wants two 4g.40gb slices, spread w1 and w2 two 2g.20gb each
    (a random fleet, trimmed: greedy's plan failed verification)."""
    return fleet(
        f"""
        node_types:
          t1: {{gpu: H100-SXM5-80GB, count: 2, nvlink: all, price_per_hour: 0.25}}
        market:
          t1: {{max: {most}}}
        """,
        workloads(
            generic("w0", 3, {f"{H100}/4g.40gb": 2}, memory_gb=4),
            generic("w1", 1, {f"{H100}/2g.20gb": 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}"),
            generic("w2", 1, {f"{H100}/2g.20gb": 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}"),
        ),
    )


@pytest.mark.parametrize("solver", ["cp-sat", "greedy"])
def test_layouts_are_dealt_again_when_a_spread_workload_is_left_on_one_node(solver) -> None:
    # Greedy's counts: {4g.40gb, 2g.20gb} on two GPUs and {2g.20gb x3} on one, over two nodes.
    # Dealt kind by kind, one node got {4g, 2g} and {2g x3}, the other {4g, 2g} alone: one 2g.20gb
    # slice there for two spread workloads, and greedy (which has no retry) failed verification.
    plan = solve(_two_gpu_h100_slices(2), solver=solver)
    assert plan.cost_per_hour == pytest.approx(0.50)
    for name in ("w1", "w2"):
        assert len({node.name for node in plan.nodes for gpu in node.gpus if name in _workloads_on(gpu)}) == 2


def test_dealing_layouts_again_keeps_the_counts() -> None:
    # Placement alone, on greedy's count solution: the same layouts and replicas, spread.
    from collections import Counter

    from planner.placement import place
    from planner.problem import build_problem
    from solvers import greedy

    loaded = parse_fleet(_two_gpu_h100_slices(2), "fleet.yaml")
    problem = build_problem(loaded)
    sol = greedy.solve(problem)
    assert sorted(sol.layouts.values()) == [1, 2]  # the two kinds the first deal got wrong
    plan = place(problem, sol)
    assert verify(plan, loaded) == []
    cut = Counter(tuple(sorted(Counter(i.profile for i in gpu.instances).items())) for node in plan.nodes for gpu in node.gpus if gpu.instances)
    assert cut == {(("2g.20gb", 1), ("4g.40gb", 1)): 2, (("2g.20gb", 3),): 1}


def test_a_gpu_cut_as_today_is_the_last_a_layout_exchange_gives_away() -> None:
    # Of GPUs cut alike, the exchange takes one whose layout is not today's: the other keeps its
    # layout on its index, and the plan reports one change fewer.
    from types import SimpleNamespace

    from planner.placement import _by_today
    from planner.problem import FULL, LayoutOption

    half = LayoutOption.of_counts((("3g.40gb", 2),))
    node = SimpleNamespace(group=SimpleNamespace(today=(("3g.40gb", "3g.40gb"), "off", None, ("1g.10gb",))), layouts={0: half, 1: FULL, 2: half, 3: None})
    assert [i for i, _ in _by_today(node)] == [2, 3, 0, 1]
    node.group.today = None  # today's layout unknown: index order
    assert [i for i, _ in _by_today(node)] == [0, 1, 2, 3]


def test_a_plan_solved_again_for_spread_reports_both_solves_time(monkeypatch) -> None:
    # The one-GPU fleet above: the light spread rows admit a three-node plan placement cannot
    # spread, so planning solves again unit by unit; `solver.seconds` is what the user waited.
    from planner import planning

    seconds = []
    real = planning._solve_and_place

    def spy(*args, **kwargs):
        plan, issues, sol = real(*args, **kwargs)
        seconds.append(plan.solver.seconds)
        return plan, issues, sol

    monkeypatch.setattr(planning, "_solve_and_place", spy)
    w0 = generic("w0", 1, {f"{A100}/7g.40gb": 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}")
    w1 = generic("w1", 1, {f"{A100}/7g.40gb": 1, A100: 1, f"{A100}/1g.5gb": 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}")
    plan = solve(a100_market(1, 5, w0, w1))
    assert len(seconds) == 2
    assert plan.solver.seconds == pytest.approx(seconds[0] + seconds[1], abs=0.002)
    assert any("solved again with spread modelled unit by unit" in note for note in plan.solver.notes)


def test_a_plan_solved_again_for_spread_keeps_the_first_solves_higher_bound(monkeypatch) -> None:
    # The first solve's bound holds for every plan placement can spread, so the retry reports it
    # when its own is lower: on M the unit-by-unit model's in a few seconds is its LP's, $10 lower.
    # The retry is forced: the verifier's first finding is made up.
    from benchmarks.generate import generate
    from planner import planning

    solves, findings = [], [["w: spread needs two nodes, got 1 (made up by the test)"]]
    real_solve, real_verify = planning._solve_and_place, planning.verify

    def solve_spy(*args, **kwargs):
        plan, issues, sol = real_solve(*args, **kwargs)
        solves.append(sol.bound_scaled)
        return plan, issues, sol

    monkeypatch.setattr(planning, "_solve_and_place", solve_spy)
    monkeypatch.setattr(planning, "verify", lambda *args: findings.pop() if findings else real_verify(*args))
    loaded = parse_fleet(generate("M", 0), "m.yaml")
    plan = planning.make_plan(loaded, time_limit_s=3)
    assert any("solved again with spread modelled unit by unit" in note for note in plan.solver.notes)
    assert len(solves) == 2 and solves[0] > 0
    assert plan.lower_bound_per_hour == pytest.approx(min(solves[0], round(plan.cost_per_hour * 1000)) / 1000)
    assert plan.lower_bound_per_hour <= plan.cost_per_hour and verify(plan, loaded) == []


@pytest.mark.parametrize("solver", ["cp-sat", "greedy"])
@pytest.mark.parametrize(
    ("gpus_per_node", "spread_caps", "other"),
    [
        # w0 and w1 each need whole GPUs on both 3-GPU nodes; the model let both count the market
        # node's one whole GPU as a host.
        (3, [{A100: 1}, {A100: 1}], None),
        # w0 and w1 run whole or on a slice, w2 on a whole GPU. The model put both spread
        # workloads' slices on the owned node's MIG GPUs and let the market node's whole GPUs
        # (w2's and an empty one) vouch for their second host.
        (2, [{A100: 1, f"{A100}/1g.5gb": 1}, {A100: 1, f"{A100}/1g.5gb": 1, f"{A100}/2g.10gb": 1}], {A100: 1}),
        # Three spread workloads of whole GPUs on 4-GPU nodes: the owned node's shared units
        # counted a TP2 group none of them can use.
        (4, [{A100: 1}] * 3, None),
    ],
)
def test_spread_workloads_host_only_where_their_own_replicas_run(solver, gpus_per_node, spread_caps, other) -> None:
    # One owned node and one from the market, of one type: two groups of one pool. Replicas are
    # counted per pool, so a group's GPUs could vouch for a spread workload whose replicas ran in
    # the other group (found by hypothesis; the verifier refused the plans). Now each spread
    # workload's whole and sliced replicas are split over the groups, and a group's units are
    # shared among its spread workloads.
    items = [generic(f"w{i}", 1, caps, memory_gb=4, extra="replicas: {min: 2, spread: true}") for i, caps in enumerate(spread_caps)]
    if other:
        items.append(generic(f"w{len(items)}", 1, other, memory_gb=4))
    text = a100_market(gpus_per_node, 1, *items).replace("workloads:", "nodes:\n  - {name: own, type: t}\nworkloads:", 1)
    plan = solve(text, solver=solver)
    assert plan.cost_per_hour == pytest.approx(0.5)  # both nodes, $0.25 each
    for i in range(len(spread_caps)):
        assert len({node.name for node in plan.nodes for gpu in node.gpus if f"w{i}" in _workloads_on(gpu)}) == 2


@pytest.mark.parametrize("solver", ["cp-sat", "greedy"])
def test_two_whole_gpus_of_one_node_do_not_vouch_for_two_hosts(solver) -> None:
    # 2-GPU nodes, two owned and one from the market. w1 (TP2 only) fills two nodes, so w0 (TP2 or
    # a whole GPU) is left one node: four are needed. The unit-by-unit spread rows counted the
    # free node's two whole GPUs as two hosts, and planning reported its own plan as a bug
    # (found by hypothesis). Now the spread workloads on the nodes of one TP packing hold a unit
    # of their own each.
    w0 = generic("w0", 1, {f"{A100}/tp2": 1, A100: 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}")
    w1 = generic("w1", 1, {f"{A100}/tp2": 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}")
    owned = "nodes:\n  - {name: own0, type: t}\n  - {name: own1, type: t}\nworkloads:"
    with pytest.raises(NoFeasiblePlan):
        solve(a100_market(2, 1, w0, w1).replace("workloads:", owned, 1), solver=solver)
    plan = solve(a100_market(2, 2, w0, w1).replace("workloads:", owned, 1), solver=solver)
    assert plan.cost_per_hour == pytest.approx(1.0)  # four nodes
    for name in ("w0", "w1"):
        assert len({node.name for node in plan.nodes for gpu in node.gpus if name in _workloads_on(gpu)}) == 2


def test_a_mig_gpu_full_of_one_spread_workloads_slices_does_not_host_another() -> None:
    # Two owned one-GPU nodes. w0 needs three 3g.20gb slices (3 each, target 7) of the four the two
    # GPUs have, so one GPU is all w0's and w1 is left the other. The unit-by-unit spread rows let
    # the full GPU carry w1 (a 3g.20gb slice was free on the other GPU) and counted w1's 2g.10gb
    # and 1g.5gb slices on one GPU as two hosts (found by hypothesis). Now w's slices are placed
    # per layout and profile, within the layout's slices.
    w0 = generic("w0", 7, {f"{A100}/7g.40gb": 1, f"{A100}/3g.20gb": 3, A100: 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}")
    w1 = generic("w1", 1, {A100: 1, f"{A100}/1g.5gb": 1, f"{A100}/2g.10gb": 1, f"{A100}/3g.20gb": 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}")
    owned = "nodes:\n  - {name: own0, type: t, mig: {0: [1g.5gb, 1g.5gb]}}\n  - {name: own1, type: t, mig: {0: [1g.5gb, 1g.5gb]}}\nworkloads:"
    with pytest.raises(NoFeasiblePlan):
        solve(a100_market(1, 0, w0, w1).replace("workloads:", owned, 1))
    plan = solve(a100_market(1, 1, w0, w1).replace("workloads:", owned, 1))
    assert plan.cost_per_hour == pytest.approx(0.75)  # a third node
    for name in ("w0", "w1"):
        assert len({node.name for node in plan.nodes for gpu in node.gpus if name in _workloads_on(gpu)}) == 2


def test_a_count_plan_placement_cannot_spread_is_skipped() -> None:
    # Owned: two 2-GPU nodes and a 1-GPU one; three spread workloads on 3g.20gb slices (two per
    # GPU). Three MIG GPUs of the 2-GPU nodes hold their six replicas, but then one node has a
    # single MIG GPU (two slices) and all three workloads need both nodes. Counted, not named, the
    # nodes satisfy every spread row; placement cannot spread it, so planning skips that count
    # solution and the next one lays out all four GPUs (found by hypothesis: the planner refused
    # its own plan as a bug).
    items = [generic(f"w{i}", 1, {f"{A100}/3g.20gb": 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}") for i in range(3)]
    text = fleet(
        """
        node_types:
          t0: {gpu: A100-SXM4-40GB, count: 2, nvlink: all, price_per_hour: 0.25}
          t1: {gpu: A100-SXM4-40GB, count: 1, nvlink: all, price_per_hour: 0.25}
        nodes:
          - {name: own0, type: t0}
          - {name: own1, type: t0}
          - {name: own2, type: t1}
        """,
        workloads(*items),
    )
    plan = solve(text)
    optimal(plan, 0.5)
    assert any("skipped 1 such plan" in note for note in plan.solver.notes)
    for i in range(3):
        assert len({node.name for node in plan.nodes for gpu in node.gpus if f"w{i}" in _workloads_on(gpu)}) == 2


def test_a_fleet_whose_count_plans_all_fail_to_spread_has_no_plan() -> None:
    # Two owned 2-GPU nodes: w0's TP2 group fills one, and w1 (spread) is left the other. Every
    # count plan at that cost admits it; each is skipped in turn, then none is left: no plan.
    w0 = generic("w0", 1, {f"{A100}/tp2": 1}, memory_gb=4)
    w1 = generic("w1", 1, {A100: 1, f"{A100}/1g.5gb": 1, f"{A100}/tp2": 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}")
    owned = "nodes:\n  - {name: own0, type: t}\n  - {name: own1, type: t}\nworkloads:"
    reasons = infeasible(a100_market(2, 0, w0, w1).replace("workloads:", owned, 1))
    assert reasons[0].startswith("no plan spreads every spread workload over two nodes")


def test_a_mig_gpu_offering_two_of_a_spread_workloads_profiles_hosts_it_once() -> None:
    # Two one-GPU nodes: both replicas may share one MIG GPU (a 1g.5gb and a 3g.20gb slice), but
    # spread needs them on both nodes. Counted per profile, that one GPU vouched for two nodes: the
    # count model (spread unit by unit) must have no solution with both nodes bought and a single
    # GPU laid out.
    from ortools.sat.python import cp_model

    from planner.problem import build_problem, restricted
    from solvers.countmodel import build
    from solvers.cpsat import _CpSatModel

    w0 = generic("w0", 1, {f"{A100}/1g.5gb": 1, f"{A100}/3g.20gb": 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}")
    problem = dataclasses.replace(build_problem(parse_fleet(a100_market(1, 2, w0), "fleet.yaml")), strict_spread=True)
    backend = _CpSatModel()
    v = build(problem, backend, secondary=False)
    backend.model.Add(sum(v.gpus.values()) == 1)
    assert cp_model.CpSolver().Solve(backend.model) == cp_model.INFEASIBLE
    # CP-SAT's first stage solves a neighbourhood of the problem: spread unit by unit there too.
    assert restricted(problem, set(), set()).strict_spread
    plan = solve(a100_market(1, 2, w0))
    assert len({node.name for node in plan.nodes for gpu in node.gpus if "w0" in _workloads_on(gpu)}) == 2


def test_spread_through_mig_needs_a_node_whose_tp_groups_leave_a_gpu_free() -> None:
    # Two 4-GPU H100 nodes: w2 needs three TP2 groups and ten 1g.10gb slices (the A100s are w0's),
    # so one node holds two TP2 groups and no MIG GPU, and w1 (a TP2 group or a slice) cannot be on
    # both. Unit by unit, the model counted the all-TP node as able to host w1 through MIG (found by
    # a random search: the retry's plan failed verification).
    text = fleet(
        f"""
        node_types:
          t0: {{gpu: {H100}, count: 4, nvlink: all, price_per_hour: 0.25}}
          t1: {{gpu: {A100}, count: 1, nvlink: all, price_per_hour: 0.25}}
        market:
          t0: {{max: 2}}
          t1: {{max: 2}}
        """,
        workloads(
            generic("w0", 1, {A100: 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}"),
            generic("w1", 1, {f"{H100}/tp2": 1, f"{H100}/1g.10gb": 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}"),
            generic("w2", 61, {A100: 1, f"{H100}/tp2": 17, f"{H100}/1g.10gb": 1}, memory_gb=4, extra="replicas: {min: 2, spread: true}"),
        ),
    )
    with pytest.raises(NoFeasiblePlan):
        solve(text)


def _workloads_on(gpu) -> set[str]:
    """Workloads with a replica on one GPU of a plan (whole, TP or a MIG instance)."""
    return {x.workload for x in gpu.instances or []} | ({gpu.workload} if gpu.workload else set())


def _units_on(nodes_units):
    """Placement units: {node index: [workload or None, or (resource, workload), per unit]} on
    one pool (a bare workload is on a whole H100)."""
    from types import SimpleNamespace

    from planner.placement import _Unit

    nodes = [SimpleNamespace(group=SimpleNamespace(pool=0)) for _ in nodes_units]
    units = [
        _Unit(node=n, resource=w[0] if isinstance(w, tuple) else "H100", gpus=(i,), workload=w[1] if isinstance(w, tuple) else w)
        for n, ws in nodes_units.items()
        for i, w in enumerate(ws)
    ]
    return nodes, units


def _hosts(units, name):
    return sorted({u.node for u in units if u.workload == name})


@pytest.mark.parametrize(
    ("layout", "moved", "kept"),
    [
        ({0: ["a", "a"], 1: [None]}, "a", None),  # a free GPU on another node: moved there
        ({0: ["a", "a"], 1: ["b"]}, "a", "b"),  # another workload's GPU: swapped (b is not spread)
        ({0: ["a", "a"], 1: ["s", "x"], 2: ["s"]}, "a", "s"),  # a trade that leaves spread s on two nodes
        # Two trades: a's 3g slice for s's, which leaves s on node 0 alone; then s's 1g slice for a
        # free one on node 1 (two MIG GPUs' worth of a random fleet, found by hypothesis).
        ({0: [("3g", "a"), ("3g", "a"), ("1g", "s"), ("1g", "x")], 1: [("3g", "s"), ("1g", "x"), ("1g", None)]}, "a", "s"),
    ],
)
def test_a_spread_workload_left_on_one_node_is_moved_to_a_second(layout, moved, kept) -> None:
    # Placing workloads one at a time left a spread workload's units all on one node although the
    # counts allow two (generated M fleet, seed 2, a replica-pattern plan failed verification).
    from types import SimpleNamespace

    from planner.placement import _repair_spread

    spread = {"a", "s"}
    names = sorted({w for w in (u.workload for u in _units_on(layout)[1]) if w})
    problem = SimpleNamespace(demands=[SimpleNamespace(name=n, spread=n in spread) for n in names])
    nodes, units = _units_on(layout)
    before = {n: sum(u.workload == n for u in units) for n in names}
    _repair_spread(problem, nodes, units)
    assert {n: sum(u.workload == n for u in units) for n in names} == before  # same replicas
    assert len(_hosts(units, moved)) == 2
    if kept in spread:
        assert len(_hosts(units, kept)) == 2


def test_no_trade_that_would_unspread_another_spread_workload() -> None:
    from types import SimpleNamespace

    from planner.placement import _repair_spread

    problem = SimpleNamespace(demands=[SimpleNamespace(name="a", spread=True), SimpleNamespace(name="s", spread=True)])
    nodes, units = _units_on({0: ["a", "a", "s"], 1: ["s"]})
    _repair_spread(problem, nodes, units)
    assert _hosts(units, "a") == [0] and _hosts(units, "s") == [0, 1]  # no single trade helps: left alone


def test_greedy_finds_a_verified_plan_without_bound() -> None:
    plan = solve(fleet(L4_VS_H100, workloads(generic("w", 120, {"L4": 30, H100: 100}))), solver="greedy")
    assert plan.solver.name == "greedy"
    assert plan.cost_per_hour >= 2.8 - 1e-6
    assert plan.lower_bound_per_hour is None


# ---------------------------------------------------------------------------------------------
# Infeasible fleets: the reasons name the workload and the cause
# ---------------------------------------------------------------------------------------------


def test_model_too_big_for_every_resource() -> None:
    # llama-3.1-405b in bf16 needs ~810 GB of weights; an L4 has 24 GB (and no NVLink for TP).
    text = fleet(
        """
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
    for solver in ("cp-sat", "greedy"):
        reasons = infeasible(text, solver)
        assert any(r.startswith("huge:") and "fits no resource" in r for r in reasons)


def test_target_above_inventory_plus_market() -> None:
    # At most 2 market GPUs of 80 each = 160 < 1000.
    text = fleet(
        """
        gpus:
          H100-SXM5-80GB: {price_per_hour: 2.0}
        node_types:
          one: {gpu: H100-SXM5-80GB, count: 1}
        market:
          one: {max: 2}
        """,
        workloads(generic("w", 1000, {H100: 80}))
    )
    for solver in ("cp-sat", "greedy"):
        reasons = infeasible(text, solver)
        assert any(r.startswith("w:") and "target 1000" in r and "160" in r for r in reasons)


def test_replicas_max_below_target() -> None:
    text = fleet(ONE_H100, workloads(generic("w", 200, {H100: 80}, extra="replicas: {max: 2}")))
    reasons = infeasible(text)
    assert any(r.startswith("w:") and "replicas.max 2" in r for r in reasons)


def test_workloads_compete_for_the_same_gpus() -> None:
    # Each workload alone fits on the one GPU available; together they need two.
    text = fleet(
        """
        gpus:
          H100-SXM5-80GB: {price_per_hour: 2.0}
        node_types:
          one: {gpu: H100-SXM5-80GB, count: 1}
        market:
          one: {max: 1}
        """,
        workloads(generic("a", 80, {H100: 80}), generic("b", 80, {H100: 80}))
    )
    reasons = infeasible(text)
    assert any("compete" in r for r in reasons)


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------


def _stable(plan: Plan, fmt: str = "yaml") -> str:
    plan = plan.model_copy(deep=True)
    plan.solver.seconds = 0.0
    return dump_plan(plan, fmt)


def test_same_fleet_same_plan() -> None:
    text = fleet(
        L4_VS_H100,
        workloads(
            generic("a", 170, {"L4": 30, H100: 100, f"{H100}/1g.10gb": 13}),
            generic("b", 45, {"L4": 20, f"{H100}/3g.40gb": 40}),
        )
    )
    first, second = solve(text), solve(text)
    assert _stable(first) == _stable(second)
    assert _stable(first, "json") == _stable(second, "json")
    g1, g2 = solve(text, "greedy"), solve(text, "greedy")
    assert _stable(g1) == _stable(g2)


# ---------------------------------------------------------------------------------------------
# Property tests on random small fleets
# ---------------------------------------------------------------------------------------------

# GPU kinds the random fleets draw from, with the resources a generic capacity may name.
GPU_KINDS = {
    H100: ["1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"],
    "A100-SXM4-40GB": ["1g.5gb", "2g.10gb", "3g.20gb", "7g.40gb"],
    "L4": [],
}


@st.composite
def random_fleets(draw, most_workloads: int = 2, spread_odds: int = 5, owned: int | None = None) -> str:
    """A random small fleet. By default one owned node per type at most, one or two workloads, one
    in five with two replicas; the spread variant (`owned`, `spread_odds=1`) draws up to `owned`
    owned nodes per type, some with today's MIG layout, and workloads that all have two replicas,
    most of them spread."""
    n_types = draw(st.integers(1, 3))
    node_types, market, nodes = {}, {}, []
    resources: list[str] = []
    for t in range(n_types):
        gpu = draw(st.sampled_from(sorted(GPU_KINDS)))
        count = draw(st.integers(1, 4))
        nvlink = "none" if gpu == "L4" else draw(st.sampled_from(["all", "none"] + (["[[0, 1], [2, 3]]"] if count == 4 else [])))
        price = draw(st.integers(1, 40)) / 4
        node_types[f"t{t}"] = f"{{gpu: {gpu}, count: {count}, nvlink: {nvlink}, price_per_hour: {price}}}"
        market[f"t{t}"] = draw(st.integers(0, 3))
        if owned is None:
            if draw(st.booleans()):
                nodes.append(f"- {{name: inv{t}, type: t{t}}}")
        else:
            for i in range(draw(st.integers(0, owned))):
                today = ""
                if gpu != "L4" and draw(st.booleans()):
                    profile = GPU_KINDS[gpu][0]
                    today = f", mig: {{0: [{profile}, {profile}]}}"
                nodes.append(f"- {{name: inv{t}x{i}, type: t{t}{today}}}")
        resources.append(gpu)
        resources += [f"{gpu}/{p}" for p in GPU_KINDS[gpu]]
        if count >= 2 and nvlink != "none":
            resources.append(f"{gpu}/tp2")
    resources = sorted(set(resources))
    items = []
    for w in range(draw(st.integers(1, most_workloads))):
        chosen = draw(st.lists(st.sampled_from(resources), min_size=1, max_size=4, unique=True))
        cap = {r: draw(st.integers(1, 100)) for r in chosen}
        extra = ""
        if draw(st.integers(0, spread_odds - 1)) == 0:
            spread = ["true", "false"] if owned is None else ["true", "true", "true", "false"]
            extra = f"replicas: {{min: 2, spread: {draw(st.sampled_from(spread))}}}"
        items.append(generic(f"w{w}", draw(st.integers(1, 300)), cap, memory_gb=4, extra=extra))
    text = "node_types:\n" + "".join(f"  {k}: {v}\n" for k, v in node_types.items())
    text += "market:\n" + "".join(f"  {k}: {{max: {v}}}\n" for k, v in market.items())
    if nodes:
        text += "nodes:\n" + "".join(f"  {n}\n" for n in nodes)
    return fleet(text, workloads(*items))


def _try(loaded, solver: str) -> Plan | None:
    try:
        return make_plan(loaded, solver=solver, time_limit_s=TIME_LIMIT)
    except NoFeasiblePlan as exc:
        assert exc.reasons
        return None


# Derandomized: the same fleets on every run, so that CI never turns on a new draw. Fleets a
# random draw once found wrong stay as tests of their own (the spread cases above and below). To
# search new draws, MIG_PLAN_PROPERTY_EXAMPLES=N runs N random fleets per property test instead.
_SEARCH_TEXT = os.environ.get("MIG_PLAN_PROPERTY_EXAMPLES", "0")
if not _SEARCH_TEXT.isdigit():
    raise pytest.UsageError(f"MIG_PLAN_PROPERTY_EXAMPLES must be a whole number of fleets, not {_SEARCH_TEXT!r}")
_SEARCH = int(_SEARCH_TEXT)


def _property(examples: int):
    return settings(
        max_examples=_SEARCH or examples, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=not _SEARCH, database=None
    )


@_property(25)
@given(random_fleets())
def test_random_fleets_cpsat_versus_greedy(text: str) -> None:
    _check_random_fleet(text)


@_property(15)
@given(random_fleets(most_workloads=3, spread_odds=1, owned=2))
def test_random_spread_fleets_cpsat_versus_greedy(text: str) -> None:
    # Spread workloads competing for a few nodes' units: where the count model's light spread rows
    # admit a plan placement cannot spread, planning solves again unit by unit.
    _check_random_fleet(text)


@_property(15)
@given(random_fleets(most_workloads=5, spread_odds=2, owned=4))
def test_random_crowded_fleets_cpsat_versus_greedy(text: str) -> None:
    # More workloads and owned nodes, half of them spread: where the unit-by-unit spread model's
    # plans still could not be spread and planning skips them (`planning._skip_unspreadable`).
    _check_random_fleet(text)


def _check_random_fleet(text: str) -> None:
    loaded = parse_fleet(text, "fleet.yaml")
    greedy = _try(loaded, "greedy")
    best = _try(loaded, "cp-sat")
    if greedy is not None:
        assert verify(greedy, loaded) == []
        assert best is not None, "greedy found a plan, CP-SAT none"
    if best is None:
        return
    assert verify(best, loaded) == []
    if greedy is not None:
        assert best.cost_per_hour <= greedy.cost_per_hour + 1e-6
    if best.lower_bound_per_hour is not None:
        assert best.cost_per_hour >= best.lower_bound_per_hour - 1e-6
    if best.status == "optimal" and not any("not proven" in note or "no time" in note for note in best.solver.notes):
        # Releasing an owned node and buying one of its type (here always at its price) is never
        # cheaper than using the owned node, and is one change more.
        released = {node.type for node in loaded.inventory if node.name in best.releasable}
        bought = {node.type for node in best.nodes if node.origin == "market"}
        assert not released & bought, f"released and bought: {sorted(released & bought)}"
    if best.status == "optimal":
        assert best.gap == 0
        assert best.lower_bound_per_hour == pytest.approx(best.cost_per_hour, abs=1e-6)


# Brute force: one node type of k <= 3 H100s, market only, one or two generic workloads with
# integer capacities on MIG profiles and MIG off. GPUs are interchangeable and no workload has
# spread or replica limits beyond min 1, so the cheapest plan buys ceil(G / k) nodes for the fewest
# GPUs G that can meet both targets. What one GPU can give is enumerated from every legal layout
# (planner.mig.enumerate_layouts, not the solver's pruned layouts) and every assignment of its
# slices to the workloads (or to nobody); G is found by extending Pareto fronts of (c0, c1).

_H100_PROFILES = ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"]


def _per_gpu_options(caps: list[dict[str, int]]) -> set[tuple[int, ...]]:
    from planner.catalog import load_catalog

    gpu = load_catalog().gpu(H100)
    n = len(caps)
    options: set[tuple[int, ...]] = set()
    for w in range(n):  # MIG off: the whole GPU to one workload
        if caps[w].get("full"):
            options.add(tuple(caps[w]["full"] if i == w else 0 for i in range(n)))
    for layout in mig.enumerate_layouts(gpu):
        front = {tuple([0] * n)}
        for placement in layout:
            nxt = set(front)
            for c in front:
                for w in range(n):
                    got = caps[w].get(placement.profile, 0)
                    if got:
                        nxt.add(tuple(c[i] + (got if i == w else 0) for i in range(n)))
            front = nxt
        options |= front
    return _pareto(options)


def _pareto(points: set[tuple[int, ...]]) -> set[tuple[int, ...]]:
    return {p for p in points if not any(q != p and all(a >= b for a, b in zip(q, p)) for q in points)}


def _fewest_gpus(caps: list[dict[str, int]], targets: list[int], most: int) -> int | None:
    options = _per_gpu_options(caps)
    front = {tuple([0] * len(caps))}
    for g in range(1, most + 1):
        front = _pareto({tuple(min(a + b, t) for a, b, t in zip(p, o, targets)) for p in front for o in options})
        if tuple(targets) in front:
            return g
    return None


@st.composite
def tiny_fleets(draw):
    k = draw(st.integers(1, 3))
    max_nodes = draw(st.integers(1, 3))
    price = draw(st.integers(1, 20)) / 2
    n_workloads = draw(st.integers(1, 2))
    caps, targets = [], []
    for _ in range(n_workloads):
        keys = draw(st.lists(st.sampled_from(_H100_PROFILES + ["full"]), min_size=1, max_size=3, unique=True))
        caps.append({key: draw(st.integers(1, 60)) for key in keys})
        targets.append(draw(st.integers(1, 250)))
    return k, max_nodes, price, caps, targets


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_fleets())
def test_cpsat_matches_brute_force_on_tiny_fleets(case) -> None:
    k, max_nodes, price, caps, targets = case
    items = []
    for w, (cap, target) in enumerate(zip(caps, targets)):
        named = {(H100 if key == "full" else f"{H100}/{key}"): v for key, v in cap.items()}
        items.append(generic(f"w{w}", target, named, memory_gb=4))
    text = fleet(
        f"""
        node_types:
          box: {{gpu: {H100}, count: {k}, nvlink: all, price_per_hour: {price}}}
        market:
          box: {{max: {max_nodes}}}
        """,
        workloads(*items)
    )
    gpus = _fewest_gpus(caps, targets, k * max_nodes)
    loaded = parse_fleet(text, "fleet.yaml")
    if gpus is None:
        with pytest.raises(NoFeasiblePlan):
            make_plan(loaded, time_limit_s=TIME_LIMIT)
        return
    plan = make_plan(loaded, time_limit_s=TIME_LIMIT)
    assert verify(plan, loaded) == []
    expected = math.ceil(gpus / k) * price
    assert plan.status == "optimal"
    assert plan.cost_per_hour == pytest.approx(expected, abs=1e-6), (gpus, caps, targets)
    assert plan.lower_bound_per_hour == pytest.approx(expected, abs=1e-6)


def test_objective_then_order_is_honoured():
    """`objective.then` picks the tie-breaking stages, in order. examples/replan.yaml costs $32/h
    whichever way: minimising changes first keeps both of today's nodes; minimising distinct
    layouts first may re-cut a node, but never ends with more distinct GPU layouts."""
    from pathlib import Path

    from planner.naming import gpu_layout_token

    def distinct(plan: Plan) -> int:
        return len({gpu_layout_token([i.profile for i in g.instances] if g.mode == "mig" else None) for n in plan.nodes for g in n.gpus})

    text = Path("examples/replan.yaml").read_text()
    plans = {}
    for then in ("[]", "[changes, distinct_layouts]", "[distinct_layouts, changes]"):
        loaded = parse_fleet(text + f"objective: {{minimize: cost, then: {then}}}\n", "replan.yaml")
        plan = make_plan(loaded, "cp-sat", 20)
        assert plan.status == "optimal" and plan.cost_per_hour == 32.0
        assert verify(plan, loaded) == []
        plans[then] = plan
    assert plans["[changes, distinct_layouts]"].changes == []
    assert all(n.kept for n in plans["[changes, distinct_layouts]"].nodes)
    assert distinct(plans["[distinct_layouts, changes]"]) <= distinct(plans["[changes, distinct_layouts]"])
