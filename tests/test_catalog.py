"""The GPU catalog: data integrity, name resolution, strict loading."""

from __future__ import annotations

import copy
import re

import pytest
from pydantic import ValidationError

from planner.catalog import (
    ARCHITECTURES,
    PRECISIONS,
    REQUIRED_PRECISIONS,
    Catalog,
    CatalogDataError,
    Gpu,
    MigProfile,
    UnknownGpu,
    build_gpu,
    load_catalog,
    normalize_gpu_name,
)
from planner.catalog import loader

EXPECTED_GPUS = [
    "A100-SXM4-40GB",
    "A100-PCIE-40GB",
    "A100-SXM4-80GB",
    "A100-PCIE-80GB",
    "A30",
    "H100-SXM5-80GB",
    "H100-PCIE-80GB",
    "H100-NVL-94GB",
    "H200-SXM5-141GB",
    "H200-NVL-141GB",
    "GH200-144GB",
    "B200-180GB",
    "GB200-186GB",
    "RTX-PRO-6000",
    "L4",
    "L40S",
    "RTX-6000-Ada",
]
NON_MIG = {"L4", "L40S", "RTX-6000-Ada"}
PROFILE_RE = re.compile(r"^(\d+)g\.(\d+)gb(\+me)?$")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def mig_gpus(catalog: Catalog) -> list[Gpu]:
    return [g for g in catalog if g.mig_capable]


# --------------------------------------------------------------------------- contents


def test_every_gpu_present_in_file_order(catalog):
    assert list(catalog.gpus) == EXPECTED_GPUS
    assert {g.name for g in catalog if not g.mig_capable} == NON_MIG


def test_load_catalog_is_cached(catalog):
    assert load_catalog() is catalog


def test_gpu_fields_are_sane(catalog):
    for g in catalog:
        assert g.architecture in ARCHITECTURES, g.name
        assert set(REQUIRED_PRECISIONS) <= set(g.tflops) <= set(PRECISIONS), g.name
        assert g.tflops["bf16"] and g.tflops["fp16"] and g.tflops["int8"], g.name
        assert g.sources, g.name
        assert g.price_per_hour > 0, g.name
        assert g.price_source == "assumed" or g.price_source.startswith("reference/"), g.name
        assert (g.nvlink_gbps == 0) == (g.nvlink_kind == "none"), g.name
        assert set(g.estimated_fields) <= set(Gpu.model_fields), g.name


def test_precision_support_follows_architecture(catalog):
    for g in catalog:
        # FP8 tensor cores arrived with Ada/Hopper, FP4 with Blackwell.
        assert g.supports_precision("fp8") == (g.architecture != "ampere"), g.name
        assert g.supports_precision("fp4") == (g.architecture == "blackwell"), g.name
        assert g.supports_precision("bf16"), g.name
    a100 = catalog.gpu("A100")
    assert not a100.supports_precision("fp8")
    assert not a100.supports_precision("FP8")  # case-insensitive
    assert catalog.gpu("H100").supports_precision("FP8")
    assert not catalog.gpu("A100").supports_precision("no-such-precision")


def test_reference_figures(catalog):
    h100 = catalog.gpu("H100-SXM5-80GB")
    assert (h100.memory_gb, h100.bandwidth_tbps, h100.sms, h100.tdp_w) == (80, 3.35, 132, 700)
    assert (h100.tflops["bf16"], h100.tflops["fp8"]) == (989, 1979)
    assert (h100.nvlink_gbps, h100.pci_device_id, h100.price_per_hour) == (900, "0x2330", 2.00)
    assert catalog.gpu("H200").price_per_hour == 2.60
    assert catalog.gpu("B200").tflops["fp4"] == 9000
    assert catalog.gpu("L40S").tflops["fp8"] == 733
    pcie = catalog.gpu("H100-PCIE-80GB")
    assert pcie.nvlink_kind == "bridge" and pcie.nvlink_gbps == 600


def test_aliases_and_pci_ids_are_unique(catalog):
    seen: dict[str, str] = {}
    for g in catalog:
        for spelling in (g.name, *g.aliases):
            key = normalize_gpu_name(spelling)
            assert seen.setdefault(key, g.name) == g.name, f"{spelling} used by {seen[key]} and {g.name}"
    ids = [i for g in catalog for i in ((g.pci_device_id,) if g.pci_device_id else ()) + g.alt_pci_device_ids]
    assert len(ids) == len(set(ids))
    assert all(g.pci_device_id for g in catalog)


# --------------------------------------------------------------------------- MIG tables


def test_mig_profiles_are_well_formed(catalog):
    for g in mig_gpus(catalog):
        geo = g.mig
        assert geo.slots in (4, 8, 12), g.name
        assert len(set(geo.names)) == len(geo.names)
        assert len({p.profile_id for p in geo.profiles}) == len(geo.profiles), g.name
        for p in geo.profiles:
            m = PROFILE_RE.match(p.name)
            assert m, p.name
            assert int(m.group(1)) == p.compute_slices, p.name
            assert all(0 <= s and s + p.slots <= geo.slots for s in p.starts), p.name
            assert p.max_count <= len(p.starts) or p.slots * p.max_count <= geo.slots
            assert p.media == bool(m.group(3)), p.name
            if p.media:
                assert p.max_count == 1, p.name
                base = geo.profile(p.base)
                assert (base.slots, base.starts, base.memory_gib, base.sms) == (
                    p.slots, p.starts, p.memory_gib, p.sms)
            # usable GiB sits a little under the nominal size in the name
            nominal = int(m.group(2))
            assert 0.85 * nominal <= p.memory_gib <= nominal, p.name
            assert p.sms <= g.sms, p.name
            assert p.estimated == bool(p.estimated_fields), p.name


def test_bigger_slices_get_more(catalog):
    for g in mig_gpus(catalog):
        plain = sorted((p for p in g.mig.profiles if not p.media), key=lambda p: (p.slots, p.compute_slices))
        for a, b in zip(plain, plain[1:]):
            assert a.memory_gib <= b.memory_gib, (g.name, a.name, b.name)
            assert a.sms <= b.sms, (g.name, a.name, b.name)


EIGHT_SLOT_TABLE = {  # profile id: (slots, starts, compute slices, max count) - reference/mig.md §1
    19: (1, (0, 1, 2, 3, 4, 5, 6), 1, 7),
    20: (1, (0, 1, 2, 3, 4, 5, 6), 1, 1),
    15: (2, (0, 2, 4, 6), 1, 4),
    14: (2, (0, 2, 4), 2, 3),
    9: (4, (0, 4), 3, 2),
    5: (4, (0,), 4, 1),
    0: (8, (0,), 7, 1),
}


def test_eight_slot_family_shares_nvidia_placement_table(catalog):
    eight = [g for g in mig_gpus(catalog) if g.mig.slots == 8]
    assert {g.name for g in eight} == set(EXPECTED_GPUS) - NON_MIG - {"A30", "RTX-PRO-6000"}
    for g in eight:
        assert g.mig.compute_slices == 7 and g.mig.family == "slot8"
        table = {p.profile_id: (p.slots, p.starts, p.compute_slices, p.max_count) for p in g.mig.profiles}
        assert table == EIGHT_SLOT_TABLE, g.name
        media = [p for p in g.mig.profiles if p.media]
        assert [(p.profile_id, p.slots) for p in media] == [(20, 1)], g.name


def test_h100_profiles_match_nvidia_smi(catalog):
    geo = catalog.gpu("H100").mig
    got = {p.name: (p.profile_id, p.memory_gib, p.sms) for p in geo.profiles}
    assert got == {
        "1g.10gb": (19, 9.75, 16),
        "1g.10gb+me": (20, 9.75, 16),
        "1g.20gb": (15, 19.62, 26),
        "2g.20gb": (14, 19.62, 32),
        "3g.40gb": (9, 39.50, 60),
        "4g.40gb": (5, 39.50, 64),
        "7g.80gb": (0, 79.25, 132),
    }
    assert not any(p.estimated for p in geo.profiles)
    assert geo.profile("1g.10gb+me").base == "1g.10gb"
    assert geo.slot_fraction("3g.40gb") == 0.5
    with pytest.raises(KeyError):
        geo.profile("3g.20gb")


def test_a30_and_rtx_pro_tables(catalog):
    a30 = catalog.gpu("A30").mig
    assert (a30.slots, a30.compute_slices) == (4, 4)
    assert {p.name: (p.profile_id, p.slots, p.starts, p.max_count) for p in a30.profiles} == {
        "1g.6gb": (14, 1, (0, 1, 2, 3), 4),
        "1g.6gb+me": (21, 1, (0, 1, 2, 3), 1),
        "2g.12gb": (5, 2, (0, 2), 2),
        "2g.12gb+me": (6, 2, (0, 2), 1),
        "4g.24gb": (0, 4, (0,), 1),
    }
    rtx = catalog.gpu("RTX PRO 6000").mig
    assert (rtx.slots, rtx.compute_slices) == (12, 4)
    assert {p.name: (p.slots, p.starts, p.max_count, p.memory_gib, p.sms) for p in rtx.profiles} == {
        "1g.24gb": (3, (0, 3, 6, 9), 4, 23.62, 46),
        "1g.24gb+me": (3, (0, 3, 6, 9), 1, 23.62, 46),
        "2g.48gb": (6, (0, 6), 2, 47.38, 94),
        "4g.96gb": (12, (0,), 1, 95.00, 188),
    }


def test_estimates_are_marked(catalog):
    gh200 = catalog.gpu("GH200").mig
    assert not {"memory_gib"} & set(gh200.profile("2g.36gb").estimated_fields)  # read off hardware
    assert gh200.profile("3g.72gb").estimated_fields == ("memory_gib", "sms")
    b200 = catalog.gpu("B200").mig
    assert not b200.profile("1g.23gb").estimated
    assert b200.profile("7g.180gb").estimated
    assert catalog.gpu("H100-PCIE-80GB").mig.profile("3g.40gb").estimated_fields == ("sms",)
    assert "tflops" in catalog.gpu("RTX-PRO-6000").estimated_fields


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "spelling, canonical",
    [
        ("H100", "H100-SXM5-80GB"),
        ("h100-sxm", "H100-SXM5-80GB"),
        ("NVIDIA-H100-80GB-HBM3", "H100-SXM5-80GB"),  # GPU Feature Discovery's product label
        ("A100", "A100-SXM4-80GB"),
        ("a100-80gb", "A100-SXM4-80GB"),
        ("NVIDIA A100-SXM4-40GB", "A100-SXM4-40GB"),
        ("H200", "H200-SXM5-141GB"),
        ("B200", "B200-180GB"),
        ("L40s", "L40S"),
        ("l4", "L4"),
        ("RTX PRO 6000", "RTX-PRO-6000"),
        ("rtx_6000_ada", "RTX-6000-Ada"),
        ("H100-PCIe", "H100-PCIE-80GB"),
    ],
)
def test_resolve(catalog, spelling, canonical):
    assert catalog.resolve(spelling) == canonical
    assert catalog.gpu(spelling).name == canonical
    assert spelling in catalog


def test_unknown_gpu_suggests(catalog):
    with pytest.raises(UnknownGpu) as err:
        catalog.resolve("H10")
    assert isinstance(err.value, KeyError)
    assert str(err.value) == "unknown GPU 'H10'; did you mean 'H100'?"
    assert err.value.suggestion == "H100"
    with pytest.raises(KeyError, match="did you mean 'L40S'"):
        catalog.gpu("L40SS")
    with pytest.raises(UnknownGpu) as err:
        catalog.resolve("TPU-v5")
    assert str(err.value).startswith("unknown GPU 'TPU-v5'; known GPUs: A100-SXM4-40GB, ")
    assert "TPU-v5" not in catalog


# --------------------------------------------------------------------------- with_gpus


def test_with_gpus_overrides_and_adds(catalog):
    cheap = catalog.gpu("H100").model_copy(update={"price_per_hour": 1.0, "price_source": "user"})
    custom = Gpu(
        name="X1", aliases=("x-one",), architecture="hopper", memory_gb=64, bandwidth_tbps=2.0,
        tflops={"bf16": 500, "fp16": 500, "fp8": 1000, "int8": 1000}, sms=100, tdp_w=400,
        price_per_hour=1.5,
    )
    derived = catalog.with_gpus({cheap.name: cheap, "X1": custom})
    assert list(derived.gpus) == EXPECTED_GPUS + ["X1"]
    assert derived.gpu("H100").price_per_hour == 1.0
    assert catalog.gpu("H100").price_per_hour == 2.00  # the original is untouched
    assert derived.resolve("X-ONE") == "X1"
    assert derived.gpu("X1").tflops["fp4"] is None  # missing standard precisions become None
    with pytest.raises(ValueError, match="used by both"):
        catalog.with_gpus({"X2": custom.model_copy(update={"name": "X2", "aliases": ("H100",)})})
    with pytest.raises(ValueError, match="differs"):
        catalog.with_gpus({"X3": custom})


def test_gpu_values_are_hashable_and_frozen(catalog):
    h100 = catalog.gpu("H100")
    assert len({h100, catalog.gpu("H100-SXM5-80GB")}) == 1
    with pytest.raises(ValidationError):
        h100.price_per_hour = 1.0  # type: ignore[misc]


def test_gpu_validation():
    with pytest.raises(ValidationError, match="unknown precision"):
        Gpu(name="G", architecture="ada", memory_gb=1, bandwidth_tbps=1, tflops={"bf61": 1},
            sms=1, tdp_w=1, price_per_hour=1)
    with pytest.raises(ValidationError, match="pci_device_id"):
        Gpu(name="G", architecture="ada", memory_gb=1, bandwidth_tbps=1, tflops={}, sms=1,
            tdp_w=1, price_per_hour=1, pci_device_id="2330")
    with pytest.raises(ValidationError, match="not of the form"):
        MigProfile(name="3g40gb", profile_id=9, slots=4, starts=(0, 4), compute_slices=3,
                   max_count=2, memory_gib=39.5, sms=60)


# --------------------------------------------------------------------------- strict loading


@pytest.fixture(scope="module")
def raw() -> tuple[dict, dict]:
    return loader.read_data_file(loader.GPU_FILE), loader.read_data_file(loader.GEOMETRY_FILE)


def test_raw_data_builds(raw):
    gpus = loader.build_gpus(*raw)
    assert [g.name for g in gpus] == EXPECTED_GPUS


def _mutated(raw, edit):
    gpus, geometry = copy.deepcopy(raw)
    edit(gpus, geometry)
    return gpus, geometry


@pytest.mark.parametrize(
    "edit",
    [
        lambda g, m: g["gpus"][0].update(memory_gib=40),  # typo'd key
        lambda g, m: g["gpus"][0]["tflops"].pop("fp8"),  # required precision missing
        lambda g, m: g["gpus"][0]["tflops"].update(fp6=1),  # unknown precision
        lambda g, m: g["gpus"][0].pop("mig"),  # `mig: null` must be explicit
        lambda g, m: g["gpus"][0].update(architecture="volta"),
        lambda g, m: g["gpus"][0].update(pci_device_id="20B0"),
        lambda g, m: g["gpus"][0]["mig"]["profiles"]["3g"].update(memory=19.5),
        lambda g, m: m["families"]["slot8"]["shapes"]["3g"].update(start=[0]),
        lambda g, m: m["families"]["slot8"]["shapes"]["3g"].update(starts=[0, 6]),  # runs past slot 8
        lambda g, m: m["families"]["slot8"]["shapes"]["1g.1slot+me"].update(slots=2),
    ],
)
def test_typos_fail_loudly(raw, edit):
    with pytest.raises((ValidationError, CatalogDataError)):
        loader.build_gpus(*_mutated(raw, edit))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda g, m: g["gpus"][5]["mig"]["profiles"].pop("4g"), "missing"),
        (lambda g, m: g["gpus"][5]["mig"].update(family="slot9"), "unknown MIG family"),
        (lambda g, m: m["families"]["a30"]["shapes"]["2g+me"].update(variant_of="3g"), "not a base shape"),
    ],
)
def test_cross_reference_errors(raw, edit, message):
    with pytest.raises(CatalogDataError, match=message):
        loader.build_gpus(*_mutated(raw, edit))


def test_duplicate_yaml_keys_are_refused():
    with pytest.raises(CatalogDataError, match="duplicate key 'sms'"):
        loader.parse_yaml("gpus:\n  - name: A\n    sms: 1\n    sms: 2\n")


def test_build_gpu_reuses_builtin_family():
    gpu = build_gpu(
        {
            "name": "Lab-H100", "architecture": "hopper", "memory_gb": 80, "bandwidth_tbps": 3.35,
            "tflops": {"bf16": 989, "fp16": 989, "fp8": 1979, "int8": 1979, "fp4": None},
            "sms": 132, "nvlink_gbps": 0, "nvlink_kind": "none", "tdp_w": 700,
            "pci_device_id": None, "price_per_hour": 1.0, "price_source": "user",
            "sources": ["lab measurement"],
            "mig": {"family": "slot8", "source": "copied from H100",
                    "profiles": {k: {"name": n, "memory_gib": m, "sms": s} for k, n, m, s in [
                        ("1g.1slot", "1g.10gb", 9.75, 16), ("1g.2slot", "1g.20gb", 19.62, 26),
                        ("2g", "2g.20gb", 19.62, 32), ("3g", "3g.40gb", 39.5, 60),
                        ("4g", "4g.40gb", 39.5, 64), ("7g", "7g.80gb", 79.25, 132)]}},
        }
    )
    assert gpu.mig == load_catalog().gpu("H100").mig  # same geometry value: shares MIG caches
