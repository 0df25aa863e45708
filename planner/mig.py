"""MIG placement: the single source of truth for which instance layouts a GPU can run.

A layout is a set of placements (profile + start slot) on one GPU, applied to an empty GPU.
It is valid when every instance starts at one of its profile's legal starts, no two instances
share a slot, no profile exceeds its max count, and at most one instance holds the media
extensions (reference/mig.md §1). On every MIG family the slot check alone decides feasibility
(a non-overlapping placement never exceeds the compute-slice total), so compute slices are not
searched, only slots.

All layouts of a geometry are enumerated once by depth-first search over slot positions, and
cached per (geometry value, with_me): a custom GPU with the built-in geometry shares the cache.
The largest table (8 slots, with `+me`) has 2,319 layouts; maximal layouts and multisets are
filtered from that enumeration. `place`/`fits` do not need it: they backtrack over the
requested instances directly (a handful of steps) and memoize per (geometry, request).

GPUs without MIG: `enumerate_layouts`, `maximal_layouts` and `maximal_multisets` raise
MigError; `place`/`fits` raise MigError for a non-empty request and accept the empty request
(nothing to place: the empty layout).
"""

from __future__ import annotations

import difflib
import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from planner.catalog import Gpu, MigGeometry, MigProfile

__all__ = [
    "Layout",
    "MigError",
    "Multiset",
    "Placement",
    "enumerate_layouts",
    "fits",
    "layout_problems",
    "layout_str",
    "maximal_layouts",
    "maximal_multisets",
    "place",
    "profile_counts",
]


class MigError(ValueError):
    """A MIG request that cannot be interpreted: a GPU without MIG, an unknown profile name."""


@dataclass(frozen=True, order=True)
class Placement:
    """One GPU instance: where it starts and which profile it is. Orders by start."""

    start: int
    profile: str

    def __str__(self) -> str:
        return f"{self.profile}@{self.start}"


Layout = tuple[Placement, ...]  # sorted by start
Multiset = tuple[tuple[str, int], ...]  # (profile, count) pairs sorted by profile, counts > 0


# --------------------------------------------------------------------------- helpers


@functools.cache
def _profiles_by_name(geometry: MigGeometry) -> dict[str, MigProfile]:
    return {p.name: p for p in geometry.profiles}


def _geometry(gpu: Gpu) -> MigGeometry:
    if gpu.mig is None:
        raise MigError(f"GPU {gpu.name} does not support MIG")
    return gpu.mig


def profile_counts(layout: Iterable[Placement]) -> Multiset:
    """The layout's profiles as a canonical multiset: ((profile, count), ...) sorted by name."""
    return tuple(sorted(Counter(p.profile for p in layout).items()))


def layout_str(layout: Iterable[Placement]) -> str:
    """"3g.40gb@0,2g.20gb@4,1g.10gb@6" (placements in the given order; "" for the empty layout)."""
    return ",".join(str(p) for p in layout)


def _request(gpu: Gpu, profiles: Iterable[str] | Mapping[str, int] | str) -> Counter[str]:
    """Normalise a request (names, or name -> count) to a Counter, checking the names."""
    if isinstance(profiles, str):
        profiles = [profiles]
    if isinstance(profiles, Mapping):
        counts: Counter[str] = Counter()
        for name, n in profiles.items():
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise MigError(f"count of MIG profile {name!r} must be a whole number >= 0, not {n!r}")
            if n:
                counts[name] += n
    else:
        counts = Counter(profiles)
    if not counts:
        return counts
    geometry = _geometry(gpu)
    valid = geometry.names
    for name in counts:
        if name not in valid:
            close = difflib.get_close_matches(str(name), valid, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise MigError(
                f"unknown MIG profile {name!r} for {gpu.name}; {hint}valid profiles: {', '.join(valid)}"
            )
    return counts


# --------------------------------------------------------------------------- enumeration


@functools.cache
def _enumerate(geometry: MigGeometry, with_me: bool) -> tuple[Layout, ...]:
    """Every valid layout, by DFS over slots: at each slot either an instance starts there or
    the slot stays empty. Deciding slots left to right builds each layout exactly once."""
    considered = [p for p in geometry.profiles if with_me or not p.media]
    starting_at: list[list] = [[] for _ in range(geometry.slots)]
    for p in considered:
        for s in p.starts:
            starting_at[s].append(p)
    counts = dict.fromkeys((p.name for p in considered), 0)
    out: list[Layout] = []
    placed: list[Placement] = []

    def dfs(slot: int, media_used: bool) -> None:
        if slot >= geometry.slots:
            out.append(tuple(placed))
            return
        dfs(slot + 1, media_used)  # slot left empty
        for p in starting_at[slot]:
            if counts[p.name] >= p.max_count or (p.media and media_used):
                continue
            counts[p.name] += 1
            placed.append(Placement(slot, p.name))
            dfs(slot + p.slots, media_used or p.media)
            placed.pop()
            counts[p.name] -= 1

    dfs(0, False)
    return tuple(sorted(out))


def enumerate_layouts(gpu: Gpu, with_me: bool = False) -> tuple[Layout, ...]:
    """Every valid positional layout of the GPU, including the empty one, sorted.

    Without `with_me`, media (`+me`) profiles are left out. MigError for a GPU without MIG.
    """
    return _enumerate(_geometry(gpu), with_me)


def _mask(slots: int, start: int) -> int:
    """Bitmask of the slots [start, start + slots)."""
    return ((1 << slots) - 1) << start


def _extendable(geometry: MigGeometry, layout: Layout, with_me: bool) -> bool:
    """Can one more instance of a considered profile be added where it stands?"""
    by_name = _profiles_by_name(geometry)
    used = 0
    counts: Counter[str] = Counter()
    media_used = False
    for pl in layout:
        p = by_name[pl.profile]
        used |= _mask(p.slots, pl.start)
        counts[p.name] += 1
        media_used = media_used or p.media
    for p in geometry.profiles:
        if (p.media and (not with_me or media_used)) or counts[p.name] >= p.max_count:
            continue
        if any(not used & _mask(p.slots, s) for s in p.starts):
            return True
    return False


@functools.cache
def _maximal_layouts(geometry: MigGeometry, with_me: bool) -> tuple[Layout, ...]:
    return tuple(L for L in _enumerate(geometry, with_me) if not _extendable(geometry, L, with_me))


def maximal_layouts(gpu: Gpu, with_me: bool = False) -> tuple[Layout, ...]:
    """Positional layouts to which no further instance (of the considered profiles) can be
    added without moving the ones already placed."""
    return _maximal_layouts(_geometry(gpu), with_me)


# --------------------------------------------------------------------------- placing a request


@functools.lru_cache(maxsize=65536)
def _place(geometry: MigGeometry, request: Multiset) -> Layout | None:
    """Backtracking over the requested instances, largest first, each at its lowest free legal
    start (identical instances at increasing starts, so no permutation is tried twice).

    The first solution found is therefore the preferred one: big instances at low starts, e.g.
    3g.40gb@0,2g.20gb@4,1g.10gb@6 - the same layout for the same request, whatever its order.
    """
    by_name = _profiles_by_name(geometry)
    if any(n > by_name[name].max_count for name, n in request):
        return None
    if sum(n for name, n in request if by_name[name].media) > 1:
        return None
    instances = sorted(
        (by_name[name] for name, n in request for _ in range(n)),
        key=lambda p: (-p.slots, -p.compute_slices, p.name),
    )
    if sum(p.slots for p in instances) > geometry.slots:
        return None
    chosen: list[Placement] = []

    def rec(i: int, used: int, min_start: int) -> bool:
        if i == len(instances):
            return True
        p = instances[i]
        for s in p.starts:
            if s < min_start or used & _mask(p.slots, s):
                continue
            chosen.append(Placement(s, p.name))
            same_next = i + 1 < len(instances) and instances[i + 1].name == p.name
            if rec(i + 1, used | _mask(p.slots, s), s + 1 if same_next else 0):
                return True
            chosen.pop()
        return False

    return tuple(sorted(chosen)) if rec(0, 0, 0) else None


def place(gpu: Gpu, profiles: Iterable[str] | Mapping[str, int] | str) -> Layout | None:
    """A legal layout on an EMPTY GPU holding exactly the requested instances, or None.

    `profiles` is an iterable of profile names (repeats count), a mapping name -> count, or a
    single name. Media (`+me`) profiles are allowed when requested by name. Deterministic: the
    same request always gets the same layout (large instances first, at the lowest starts).
    MigError for unknown profile names or a non-empty request on a GPU without MIG.
    """
    counts = _request(gpu, profiles)
    if not counts:
        return ()
    return _place(_geometry(gpu), tuple(sorted(counts.items())))


def fits(gpu: Gpu, profiles: Iterable[str] | Mapping[str, int] | str) -> bool:
    """Whether the requested instances fit together on one empty GPU."""
    return place(gpu, profiles) is not None


# --------------------------------------------------------------------------- maximal multisets


@functools.cache
def _maximal_multisets(geometry: MigGeometry, with_me: bool) -> tuple[Multiset, ...]:
    fitting = {profile_counts(L) for L in _enumerate(geometry, with_me)}
    considered = [p.name for p in geometry.profiles if with_me or not p.media]

    def plus(ms: Multiset, name: str) -> Multiset:
        c = Counter(dict(ms))
        c[name] += 1
        return tuple(sorted(c.items()))

    return tuple(
        sorted(ms for ms in fitting if all(plus(ms, name) not in fitting for name in considered))
    )


def maximal_multisets(gpu: Gpu, with_me: bool = False) -> tuple[Multiset, ...]:
    """Distinct profile multisets that fit and to which no one more considered profile can be
    added (in any arrangement). This is what the solver picks GPU layouts from."""
    return _maximal_multisets(_geometry(gpu), with_me)


# --------------------------------------------------------------------------- checking


def layout_problems(gpu: Gpu, layout: Iterable[Placement]) -> list[str]:
    """Why a layout is not valid on the GPU, checked directly from the placement table (no
    enumeration), so a verifier can use it independently; [] when valid."""
    layout = list(layout)
    if not layout:
        return []
    if gpu.mig is None:
        return [f"GPU {gpu.name} does not support MIG"]
    geometry = gpu.mig
    problems: list[str] = []
    owner: dict[int, Placement] = {}
    counts: Counter[str] = Counter()
    media: list[Placement] = []
    for pl in layout:
        try:
            p = geometry.profile(pl.profile)
        except KeyError:
            problems.append(f"{pl}: {gpu.name} has no MIG profile {pl.profile!r}")
            continue
        if pl.start not in p.starts:
            problems.append(f"{pl}: {p.name} may start only at slots {list(p.starts)}")
            continue
        for s in range(pl.start, pl.start + p.slots):
            if s in owner:
                problems.append(f"{pl} overlaps {owner[s]} at slot {s}")
                break
            owner[s] = pl
        counts[p.name] += 1
        if p.media:
            media.append(pl)
    for name, n in sorted(counts.items()):
        if n > geometry.profile(name).max_count:
            problems.append(f"{n} x {name}, at most {geometry.profile(name).max_count} per GPU")
    if len(media) > 1:
        problems.append(f"{len(media)} media (+me) instances ({layout_str(media)}), at most 1 per GPU")
    return problems
