"""MIG placement: enumeration, maximality, place/fits, against independent brute force and
hand-derived cases from the placement tables in reference/mig.md §1."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.catalog import Gpu, load_catalog
from planner.mig import (
    MigError,
    Placement,
    enumerate_layouts,
    fits,
    layout_problems,
    layout_str,
    maximal_layouts,
    maximal_multisets,
    place,
    profile_counts,
)

CATALOG = load_catalog()
H100 = CATALOG.gpu("H100")
A30 = CATALOG.gpu("A30")
RTX = CATALOG.gpu("RTX-PRO-6000")
FAMILIES = [H100, A30, RTX]  # one GPU per geometry family
MIG_GPUS = [g for g in CATALOG if g.mig_capable]


def _id(g: Gpu) -> str:
    return g.name


# --------------------------------------------------------------------------- independent brute force
#
# Written from the placement table alone, in a different way from planner.mig: as subsets of
# candidate placements (profile, start) as bitmasks, not as a walk over slots.


def _candidates(gpu: Gpu, with_me: bool) -> list[tuple[str, int, int, bool]]:
    out = []
    for p in gpu.mig.profiles:
        if p.media and not with_me:
            continue
        for s in p.starts:
            out.append((p.name, s, ((1 << p.slots) - 1) << s, p.media))
    return out


def brute_force_layouts(gpu: Gpu, with_me: bool) -> set[frozenset[Placement]]:
    cands = _candidates(gpu, with_me)
    max_count = {p.name: p.max_count for p in gpu.mig.profiles}
    found: set[frozenset[Placement]] = set()

    def rec(i: int, mask: int, counts: Counter, media: bool, chosen: list) -> None:
        if i == len(cands):
            found.add(frozenset(chosen))
            return
        rec(i + 1, mask, counts, media, chosen)
        name, start, m, is_media = cands[i]
        if not mask & m and counts[name] < max_count[name] and not (is_media and media):
            counts[name] += 1
            chosen.append(Placement(start, name))
            rec(i + 1, mask | m, counts, media or is_media, chosen)
            chosen.pop()
            counts[name] -= 1

    rec(0, 0, Counter(), False, [])
    return found


def brute_force_fits(gpu: Gpu, request: dict[str, int]) -> bool:
    """Try every assignment of legal starts to the requested instances (backtracking)."""
    profiles = {p.name: p for p in gpu.mig.profiles}
    if any(n > profiles[name].max_count for name, n in request.items()):
        return False
    if sum(n for name, n in request.items() if profiles[name].media) > 1:
        return False
    instances = sorted((name for name, n in request.items() for _ in range(n)),
                       key=lambda name: -profiles[name].slots)

    def rec(i: int, used: int) -> bool:
        if i == len(instances):
            return True
        p = profiles[instances[i]]
        for s in p.starts:
            m = ((1 << p.slots) - 1) << s
            if not used & m and rec(i + 1, used | m):
                return True
        return False

    return rec(0, 0)


# --------------------------------------------------------------------------- enumeration


@pytest.mark.parametrize("gpu", FAMILIES, ids=_id)
@pytest.mark.parametrize("with_me", [False, True])
def test_enumeration_matches_brute_force(gpu, with_me):
    layouts = enumerate_layouts(gpu, with_me)
    assert len(set(layouts)) == len(layouts), "duplicates"
    assert {frozenset(L) for L in layouts} == brute_force_layouts(gpu, with_me)
    assert list(layouts) == sorted(layouts)
    assert () in layouts


@pytest.mark.parametrize("gpu", FAMILIES, ids=_id)  # the other 8-slot GPUs: see the next test
def test_every_layout_is_legal(gpu):
    plain = set(enumerate_layouts(gpu))
    with_me = enumerate_layouts(gpu, with_me=True)
    assert plain < set(with_me)
    for layout in with_me:
        assert list(layout) == sorted(layout), "placements sorted by start"
        assert layout_problems(gpu, layout) == []
        media = [pl for pl in layout if gpu.mig.profile(pl.profile).media]
        assert len(media) <= 1
        assert (layout in plain) == (not media)


# Pinned: the counts of the brute force above (layouts / maximal layouts / maximal multisets).
@pytest.mark.parametrize(
    "gpu, with_me, counts",
    [
        (H100, False, (723, 78, 28)),
        (H100, True, (2319, 239, 44)),
        (A30, False, (26, 5, 4)),
        (A30, True, (76, 17, 8)),
        (RTX, False, (26, 5, 4)),
        (RTX, True, (66, 13, 6)),
    ],
    ids=lambda v: v.name if isinstance(v, Gpu) else str(v),
)
def test_layout_counts(gpu, with_me, counts):
    got = (len(enumerate_layouts(gpu, with_me)), len(maximal_layouts(gpu, with_me)),
           len(maximal_multisets(gpu, with_me)))
    assert got == counts


def test_all_eight_slot_gpus_have_the_same_layouts():
    def shape(gpu, layouts):
        ids = {p.name: p.profile_id for p in gpu.mig.profiles}
        return {tuple((pl.start, ids[pl.profile]) for pl in L) for L in layouts}

    reference = shape(H100, enumerate_layouts(H100, True))
    for gpu in MIG_GPUS:
        if gpu.mig.slots == 8:
            assert shape(gpu, enumerate_layouts(gpu, True)) == reference, gpu.name


def test_cache_is_shared_by_geometry_value():
    custom = H100.model_copy(update={"name": "My-H100", "price_per_hour": 1.0})
    assert enumerate_layouts(custom) is enumerate_layouts(H100)
    assert enumerate_layouts(H100, True) is not enumerate_layouts(H100, False)


# --------------------------------------------------------------------------- maximal layouts


def _can_extend(gpu: Gpu, layout, with_me: bool) -> bool:
    """Whether one more candidate placement fits beside the layout (bitmask check)."""
    profiles = {p.name: p for p in gpu.mig.profiles}
    used = 0
    for pl in layout:
        used |= ((1 << profiles[pl.profile].slots) - 1) << pl.start
    counts = Counter(pl.profile for pl in layout)
    media = any(profiles[pl.profile].media for pl in layout)
    return any(
        not used & mask and counts[name] < profiles[name].max_count and not (is_media and media)
        for name, _, mask, is_media in _candidates(gpu, with_me)
    )


@pytest.mark.parametrize("gpu", FAMILIES, ids=_id)
@pytest.mark.parametrize("with_me", [False, True])
def test_maximal_layouts_are_exactly_the_unextendable_ones(gpu, with_me):
    layouts = enumerate_layouts(gpu, with_me)
    maximal = set(maximal_layouts(gpu, with_me))
    assert maximal <= set(layouts)
    for layout in layouts:
        assert _can_extend(gpu, layout, with_me) == (layout not in maximal), layout_str(layout)


@pytest.mark.parametrize("gpu", FAMILIES, ids=_id)
@pytest.mark.parametrize("with_me", [False, True])
def test_maximal_multisets(gpu, with_me):
    considered = [p.name for p in gpu.mig.profiles if with_me or not p.media]
    maximal = maximal_multisets(gpu, with_me)
    assert len(set(maximal)) == len(maximal) and list(maximal) == sorted(maximal)
    for ms in maximal:
        assert fits(gpu, dict(ms))
        for name in considered:
            bigger = Counter(dict(ms))
            bigger[name] += 1
            assert not brute_force_fits(gpu, dict(bigger)), (ms, name)
    # every fitting multiset lies under some maximal one
    for layout in enumerate_layouts(gpu, with_me):
        counts = Counter(pl.profile for pl in layout)
        assert any(all(dict(ms).get(k, 0) >= v for k, v in counts.items()) for ms in maximal)


def test_h100_maximal_multisets_by_hand():
    maximal = set(maximal_multisets(H100))
    assert (("7g.80gb", 1),) in maximal
    assert (("1g.10gb", 7),) in maximal
    assert (("3g.40gb", 2),) in maximal
    assert (("3g.40gb", 1), ("4g.40gb", 1)) in maximal
    assert (("1g.10gb", 1), ("2g.20gb", 3)) in maximal
    assert (("1g.20gb", 4),) in maximal
    assert (("2g.20gb", 3),) not in maximal  # a 1g.10gb still fits at slot 6


# --------------------------------------------------------------------------- place / fits


@pytest.mark.parametrize("gpu", FAMILIES, ids=_id)
def test_place_realises_every_enumerated_multiset_the_preferred_way(gpu):
    """place() searches on its own (not via the enumeration); exhaustively cross-check it: every
    multiset some layout realises is placed, and placed as the preferred of those layouts (the
    starts, listed largest instance first, lexicographically smallest)."""
    profiles = {p.name: p for p in gpu.mig.profiles}

    def preference(layout):
        rank = sorted(layout, key=lambda pl: (-profiles[pl.profile].slots,
                                              -profiles[pl.profile].compute_slices, pl.profile, pl.start))
        return tuple(pl.start for pl in rank)

    best: dict = {}
    for layout in enumerate_layouts(gpu, with_me=True):
        ms = profile_counts(layout)
        if ms not in best or preference(layout) < preference(best[ms]):
            best[ms] = layout
    for ms, layout in best.items():
        assert place(gpu, dict(ms)) == layout, ms




def test_max_seven_1g10gb_on_h100():
    # 1g.10gb may start at slots 0..6 only; slot 7 is never usable by it.
    assert fits(H100, {"1g.10gb": 7})
    assert not fits(H100, {"1g.10gb": 8})
    assert max(Counter(pl.profile for pl in L)["1g.10gb"] for L in enumerate_layouts(H100)) == 7
    assert layout_str(place(H100, ["1g.10gb"] * 7)) == ",".join(f"1g.10gb@{s}" for s in range(7))


def test_h100_two_3g():
    assert place(H100, {"3g.40gb": 2}) == (Placement(0, "3g.40gb"), Placement(4, "3g.40gb"))


def test_h100_4g_with_3g():
    # 4g may only start at 0 (slots 0-3), leaving starts 4 for the 3g (slots 4-7).
    assert layout_str(place(H100, ["4g.40gb", "3g.40gb"])) == "4g.40gb@0,3g.40gb@4"


def test_h100_3g_and_two_2g():
    # 3g at 4 (slots 4-7) leaves slots 0-3 for 2g at 0 and 2.
    assert layout_str(place(H100, {"3g.40gb": 1, "2g.20gb": 2})) == "2g.20gb@0,2g.20gb@2,3g.40gb@4"


def test_h100_three_2g_and_a_1g_fit():
    # 2g.20gb starts at 0, 2 or 4 and takes 2 slots: three of them fill slots 0-5, exactly
    # their max count of 3. 1g.10gb may start at 6 (legal starts 0..6), slot 6 is free: fits,
    # using 3x2 + 1 = 7 compute slices, all of them. The other free slot, 7, cannot hold a
    # 1g.10gb, so a fifth instance of either kind does not fit.
    assert layout_str(place(H100, {"2g.20gb": 3, "1g.10gb": 1})) == (
        "2g.20gb@0,2g.20gb@2,2g.20gb@4,1g.10gb@6")
    assert not fits(H100, {"2g.20gb": 3, "1g.10gb": 2})
    assert not fits(H100, {"2g.20gb": 4})


def test_h100_full_gpu_takes_everything():
    assert not fits(H100, ["7g.80gb", "1g.10gb"])
    assert place(H100, ["7g.80gb"]) == (Placement(0, "7g.80gb"),)


def test_h100_preferred_layout():
    assert layout_str(place(H100, {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 1})) == (
        "3g.40gb@0,2g.20gb@4,1g.10gb@6")
    # a request given as names or as counts, in any order, gets the same layout
    assert place(H100, ["1g.10gb", "3g.40gb", "2g.20gb"]) == place(
        H100, {"2g.20gb": 1, "1g.10gb": 1, "3g.40gb": 1})


def test_h100_4g_3g_conflict_with_two_slot_shapes():
    # 4g (0-3) + 2g: 2g starts only at 0, 2, 4 -> at 4; then 1g.20gb at 6.
    assert fits(H100, {"4g.40gb": 1, "2g.20gb": 1, "1g.20gb": 1})
    # but a second 2g cannot go anywhere once the 4g holds slots 0-3
    assert not fits(H100, {"4g.40gb": 1, "2g.20gb": 2})


def test_never_two_media_instances():
    assert fits(H100, {"1g.10gb+me": 1, "1g.10gb": 6})
    assert not fits(H100, {"1g.10gb+me": 2})
    assert not fits(A30, {"1g.6gb+me": 1, "2g.12gb+me": 1})  # two media-holding instances
    assert fits(A30, {"1g.6gb+me": 1, "1g.6gb": 3})
    assert not fits(RTX, {"1g.24gb+me": 2})
    for gpu in FAMILIES:
        for layout in enumerate_layouts(gpu, with_me=True):
            assert sum(gpu.mig.profile(pl.profile).media for pl in layout) <= 1


def test_a30_cases():
    assert layout_str(place(A30, {"2g.12gb": 2})) == "2g.12gb@0,2g.12gb@2"
    assert not fits(A30, {"4g.24gb": 1, "1g.6gb": 1})  # 4g holds all 4 slots
    assert fits(A30, {"2g.12gb": 1, "1g.6gb": 2})
    assert not fits(A30, {"2g.12gb": 1, "1g.6gb": 3})


def test_rtx_pro_cases():
    assert layout_str(place(RTX, {"2g.48gb": 2})) == "2g.48gb@0,2g.48gb@6"
    assert layout_str(place(RTX, {"1g.24gb": 4})) == "1g.24gb@0,1g.24gb@3,1g.24gb@6,1g.24gb@9"
    assert fits(RTX, {"2g.48gb": 1, "1g.24gb": 2})
    assert not fits(RTX, {"2g.48gb": 1, "1g.24gb": 3})
    assert not fits(RTX, {"4g.96gb": 1, "1g.24gb": 1})


def test_empty_request():
    assert place(H100, {}) == ()
    assert place(H100, []) == ()
    assert place(H100, {"3g.40gb": 0}) == ()


# --------------------------------------------------------------------------- properties


def _requests(gpu: Gpu):
    names = list(gpu.mig.names)
    return st.dictionaries(st.sampled_from(names), st.integers(0, 4), max_size=len(names))


@st.composite
def gpu_and_request(draw):
    gpu = draw(st.sampled_from(FAMILIES + [CATALOG.gpu("B200")]))
    return gpu, draw(_requests(gpu))


@settings(max_examples=100, deadline=None)
@given(gpu_and_request())
def test_place_agrees_with_brute_force(case):
    gpu, request = case
    layout = place(gpu, request)
    assert (layout is not None) == brute_force_fits(gpu, request)
    assert fits(gpu, request) == (layout is not None)
    if layout is not None:
        assert layout_problems(gpu, layout) == []
        assert profile_counts(layout) == tuple(sorted((k, v) for k, v in request.items() if v))
        assert place(gpu, request) == layout  # deterministic


@settings(max_examples=60, deadline=None)
@given(gpu_and_request())
def test_subsets_of_fitting_requests_fit(case):
    gpu, request = case
    if not fits(gpu, request):
        return
    for name, n in request.items():
        if n:
            smaller = dict(request)
            smaller[name] = n - 1
            assert fits(gpu, smaller)


# --------------------------------------------------------------------------- helpers and errors


def test_profile_counts_and_layout_str():
    layout = (Placement(0, "3g.40gb"), Placement(4, "1g.10gb"), Placement(5, "1g.10gb"))
    assert profile_counts(layout) == (("1g.10gb", 2), ("3g.40gb", 1))
    assert layout_str(layout) == "3g.40gb@0,1g.10gb@4,1g.10gb@5"
    assert layout_str(()) == ""
    assert sorted([Placement(4, "a"), Placement(0, "b")])[0] == Placement(0, "b")


def test_layout_problems_explain():
    assert layout_problems(H100, [Placement(2, "3g.40gb")]) == [
        "3g.40gb@2: 3g.40gb may start only at slots [0, 4]"]
    assert "overlaps" in layout_problems(H100, [Placement(0, "4g.40gb"), Placement(2, "2g.20gb")])[0]
    assert "media" in layout_problems(A30, [Placement(0, "1g.6gb+me"), Placement(2, "2g.12gb+me")])[0]
    assert "at most 1 per GPU" in layout_problems(
        H100, [Placement(0, "1g.10gb+me"), Placement(1, "1g.10gb+me")])[0]
    assert "no MIG profile" in layout_problems(H100, [Placement(0, "3g.20gb")])[0]


def test_non_mig_gpu():
    l4 = CATALOG.gpu("L4")
    with pytest.raises(MigError, match="L4 does not support MIG"):
        enumerate_layouts(l4)
    with pytest.raises(MigError):
        maximal_layouts(l4)
    with pytest.raises(MigError):
        maximal_multisets(l4)
    with pytest.raises(MigError):
        place(l4, ["1g.10gb"])
    with pytest.raises(MigError):
        fits(l4, {"1g.10gb": 1})
    assert place(l4, []) == () and fits(l4, {})  # nothing to place
    assert layout_problems(l4, [Placement(0, "1g.10gb")]) == ["GPU L4 does not support MIG"]


def test_unknown_profile_names_the_gpu_and_the_valid_profiles():
    with pytest.raises(MigError) as err:
        place(H100, {"3g.20gb": 1})
    message = str(err.value)
    assert "H100-SXM5-80GB" in message and "3g.40gb" in message and "did you mean" in message
    with pytest.raises(MigError, match="whole number"):
        place(H100, {"3g.40gb": -1})
    assert isinstance(err.value, ValueError)
