"""NVLink topology of a node type, as a networkx graph, and the tensor-parallel groups it allows.

A tensor-parallel replica of size N needs N whole GPUs of one node that are all joined by NVLink,
i.e. an N-clique of the node's NVLink graph. Several replicas on one node need disjoint cliques;
`group_packings` lists every multiset of group sizes that one node can hold at once.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # networkx takes ~0.2 s to import; only commands that build graphs pay for it
    import networkx as nx

TP_SIZES = (2, 4, 8, 16)


def nvlink_graph(count: int, nvlink) -> "nx.Graph":
    """GPUs 0..count-1; an edge wherever two GPUs share NVLink. `nvlink` is 'all', 'none' or groups."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(count))
    if nvlink == "all":
        graph.add_edges_from(combinations(range(count), 2))
    elif isinstance(nvlink, list):
        for group in nvlink:
            graph.add_edges_from(combinations(sorted(set(group)), 2))
    return graph


def _key(count: int, nvlink) -> tuple:
    if isinstance(nvlink, list):
        return (count, tuple(tuple(sorted(set(g))) for g in nvlink))
    return (count, nvlink)


@lru_cache(maxsize=256)
def _cliques(key: tuple) -> dict[int, tuple[tuple[int, ...], ...]]:
    import networkx as nx

    count, spec = key
    nvlink = [list(g) for g in spec] if isinstance(spec, tuple) else spec
    graph = nvlink_graph(count, nvlink)
    out: dict[int, list[tuple[int, ...]]] = {}
    for size in TP_SIZES:
        if size > count:
            break
        found = []
        for clique in nx.find_cliques(graph):
            if len(clique) >= size:
                found.extend(tuple(sorted(c)) for c in combinations(sorted(clique), size))
        if found:
            out[size] = tuple(sorted(set(found)))
    return out


def tp_groups(count: int, nvlink, size: int) -> tuple[tuple[int, ...], ...]:
    """Every set of `size` GPU indices that are pairwise NVLinked."""
    return _cliques(_key(count, nvlink)).get(size, ())


def tp_sizes(count: int, nvlink) -> tuple[int, ...]:
    """Tensor-parallel sizes a node of this type can host at least once."""
    return tuple(sorted(_cliques(_key(count, nvlink))))


def _island_packings(island: tuple[int, ...]) -> list[tuple[tuple[int, ...], ...]]:
    """All multisets of TP sizes for a fully connected island, each laid out on consecutive GPUs."""
    sizes = [s for s in TP_SIZES if s <= len(island)]
    out: list[tuple[tuple[int, ...], ...]] = []

    def extend(free: int, smallest_allowed: int, chosen: tuple[int, ...]) -> None:
        groups, at = [], 0
        for s in chosen:
            groups.append(island[at : at + s])
            at += s
        out.append(tuple(groups))
        for s in sizes:
            if s >= smallest_allowed and s <= free:
                extend(free - s, s, chosen + (s,))

    extend(len(island), 0, ())
    return out


def _search_packings(graph: "nx.Graph", cliques: dict[int, tuple[tuple[int, ...], ...]]) -> dict:
    """Exact search for topologies whose islands are not cliques (rare: small nodes only)."""
    groups = [g for size in sorted(cliques, reverse=True) for g in cliques[size]]
    best: dict[tuple[int, ...], tuple[tuple[int, ...], ...]] = {}
    seen: set[frozenset] = set()

    def extend(start: int, used: frozenset, chosen: tuple) -> None:
        if used in seen and chosen:
            return
        seen.add(used)
        sizes = tuple(sorted((len(g) for g in chosen), reverse=True))
        best.setdefault(sizes, tuple(sorted(chosen)))
        for i in range(start, len(groups)):
            if used.isdisjoint(groups[i]):
                extend(i + 1, used | frozenset(groups[i]), chosen + (groups[i],))

    extend(0, frozenset(), ())
    return best


@lru_cache(maxsize=256)
def _packings(key: tuple) -> tuple[tuple[tuple[int, ...], ...], ...]:
    import networkx as nx

    count, spec = key
    nvlink = [list(g) for g in spec] if isinstance(spec, tuple) else spec
    graph = nvlink_graph(count, nvlink)
    islands = [tuple(sorted(c)) for c in nx.connected_components(graph)]
    islands.sort()
    if all(graph.subgraph(i).number_of_edges() == len(i) * (len(i) - 1) // 2 for i in islands):
        # Every island is all-to-all (the usual case: 'all', NVLink pairs, NVL4 boards), so any
        # disjoint groups inside an island are cliques: combine the islands' size multisets.
        best: dict[tuple[int, ...], tuple[tuple[int, ...], ...]] = {(): ()}
        for island in islands:
            if len(island) < 2:
                continue
            merged: dict[tuple[int, ...], tuple[tuple[int, ...], ...]] = {}
            for sizes, groups in best.items():
                for extra in _island_packings(island):
                    key_sizes = tuple(sorted(sizes + tuple(len(g) for g in extra), reverse=True))
                    merged.setdefault(key_sizes, groups + extra)
            best = merged
    else:
        best = _search_packings(graph, _cliques(key))
    return tuple(tuple(sorted(best[s])) for s in sorted(best))


def group_packings(count: int, nvlink) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """Each way one node can hold disjoint TP groups, one witness per distinct multiset of sizes.

    The empty packing (no TP groups) is always first. The witness gives concrete GPU indices,
    so placement can reuse it.
    """
    return _packings(_key(count, nvlink))
