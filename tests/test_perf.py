"""The performance model held to reference/perf.md's calibration points, and properties that
would catch a wrong model."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.catalog import load_catalog
from planner.catalog.models import load_models, resolve_model
from planner.perf import Estimate, PerfModel, valid_units, workload_kind
from planner.perf import efficiency as eff
from planner.perf.diffusion import DiffusionModel, OutputSize, reference_size
from planner.perf.hardware import hardware
from planner.perf.llm import LlmRoofline
from planner.perf.memory import GIB, kv_bytes_per_token_per_gpu, llm_memory
from planner.perf.table import estimate_rows
from planner.resources import Resource, parse_resource
from planner.spec.models import TARGET_UNITS, Fleet

CAT = load_catalog()
H100 = "H100-SXM5-80GB"
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fleet(*workloads: dict, profiles: list[dict] | None = None) -> Fleet:
    return Fleet.model_validate(
        {
            "version": 1,
            "name": "test",
            "node_types": {"hgx": {"gpu": H100, "count": 8, "nvlink": "all"}},
            "workloads": list(workloads),
            "profiles": profiles or [],
        }
    )


def llm(name="chat", model="llama-3.1-8b", **extra) -> dict:
    return {"name": name, "model": model, "target": {"output_tokens_per_s": 1000}, **extra}


def estimate(workload: dict, resource: str, profiles=None) -> Estimate:
    f = fleet(workload, profiles=profiles)
    return PerfModel(f, CAT).estimate(f.workloads[0], parse_resource(resource))


def hw(resource: str):
    return hardware(CAT, parse_resource(resource))


def mig_resources(gpu: str) -> list[Resource]:
    return [Resource.mig(gpu, p.name) for p in CAT.gpu(gpu).mig.profiles]


# --------------------------------------------------------------------------- calibration (perf.md)


def test_vllm_memory_log_llama3_8b_on_h100():
    """perf.md §2: usable 71.29 GiB, weights 14.96 GiB, KV cache ≈ 53.29 GiB ≈ 436k tokens (±5 %)."""
    mem = llm_memory(resolve_model("llama-3.1-8b"), 1, hw(H100).memory_gib, "bf16", 2.0)
    assert mem.budget_gib == pytest.approx(71.29, rel=0.05)
    assert mem.weights_gib == pytest.approx(14.96, rel=0.05)
    assert mem.kv_cache_gib == pytest.approx(53.29, rel=0.05)
    assert mem.kv_tokens == pytest.approx(436_000, rel=0.05)
    assert mem.runtime_gib + mem.activation_gib == pytest.approx(1.79 + 1.26, rel=0.05)


@pytest.mark.parametrize(
    "model,gpu,tokens_in,tokens_out,reference",
    [
        ("llama-3.1-8b", H100, 128, 128, 28_837),
        ("llama-3.1-8b", H100, 1000, 1000, 15_245),
        ("llama-3.1-70b", "H200-SXM5-141GB", 128, 128, 4_021),
    ],
)
def test_tensorrt_llm_offline_throughput(model, gpu, tokens_in, tokens_out, reference):
    """perf.md §3: TensorRT-LLM v0.17, FP8, tp1, offline: within 25 %."""
    e = estimate(llm(model=model, precision="fp8", tokens={"input": tokens_in, "output": tokens_out}), gpu)
    assert e.fits and e.source == "estimate"
    assert e.throughput == pytest.approx(reference, rel=0.25)


def test_online_point_8b_bf16_h100_low_load():
    """perf.md §3: 467/256 tokens at 2 req/s (≈ 4 in flight): TTFT 23 ms, inter-token 8 ms."""
    rf = LlmRoofline(resolve_model("llama-3.1-8b"), hw(H100), "bf16", "bf16", 2.0, 467, 256)
    assert rf.ttft(4) * 1e3 == pytest.approx(23, rel=0.25)
    assert rf.tpot(4) * 1e3 == pytest.approx(8, rel=0.25)
    # an SLO at those figures leaves a small batch, far below the memory limit
    e = estimate(llm(tokens={"input": 467, "output": 256}, slo={"ttft_ms": 30, "tpot_ms": 10}), H100)
    assert e.fits and e.limit == "slo" and 1 <= e.batch < 100


def test_sdxl_30_steps_on_a100():
    """perf.md §5: SDXL, 30 steps, one 1024² image, A100-80GB BF16: 3.31 s (±25 %)."""
    dm = DiffusionModel(resolve_model("sdxl"), hw("A100-SXM4-80GB"), "bf16", "bf16", OutputSize(1024, 1024, 1, 30))
    assert dm.seconds(1) == pytest.approx(3.31, rel=0.25)
    # and through the public API with a latency SLO that forces batch 1
    w = {"name": "img", "model": "sdxl", "image": {"steps": 30}, "target": {"images_per_s": 1}, "slo": {"latency_ms": 4000}}
    e = estimate(w, "A100-SXM4-80GB")
    assert e.fits and e.batch == 1 and 1 / e.throughput == pytest.approx(3.31, rel=0.25)


def test_cogvideox_2b_clip_on_h100():
    """perf.md §5: CogVideoX-2B ≈ 45 s per 6-second 720×480 clip on H100, 50 steps."""
    model = resolve_model("cogvideox-2b")
    dm = DiffusionModel(model, hw(H100), "bf16", "bf16", reference_size(model))
    assert dm.seconds(1) == pytest.approx(45, rel=0.25)
    e = estimate({"name": "clips", "model": "cogvideox-2b", "target": {"videos_per_hour": 10}}, H100)
    assert e.fits and e.throughput == pytest.approx(3600 / 45, rel=0.25)


def test_diffusion_batching_raises_utilisation_from_one_image():
    """perf.md §5: one image ~15–25 % of peak (CFG batches two passes), batching towards 80–90 %."""
    dm = DiffusionModel(resolve_model("flux.1-dev"), hw(H100), "bf16", "bf16", OutputSize(1024, 1024, 1, 28))
    assert 0.15 <= dm.utilisation(1) <= 0.3
    assert dm.utilisation(64) > 0.75


def test_whisper_batching_fit():
    """insanely-fast-whisper: large-v3 FP16 at batch 24 ≈ 92× real time on A100-80GB."""
    e = estimate({"name": "asr", "model": "whisper-large-v3", "target": {"audio_seconds_per_s": 100}}, "A100-SXM4-80GB")
    assert e.fits and e.batch == 24
    assert e.throughput == pytest.approx(92, rel=0.25)


# --------------------------------------------------------------------------- memory properties


def test_kv_follows_kv_heads_not_parameters():
    phi, l70 = resolve_model("phi-3-mini"), resolve_model("llama-3.1-70b")
    assert phi.params_b < l70.params_b / 10
    assert kv_bytes_per_token_per_gpu(phi, 1, 2) > kv_bytes_per_token_per_gpu(l70, 1, 2)
    # the same long prompts therefore fit fewer Phi-3 requests than it would by size alone
    m_phi = llm_memory(phi, 1, 79.25, "bf16", 2)
    assert m_phi.kv_bytes_per_token == 384 * 1024


def test_tp_shards_weights_and_kv():
    model = resolve_model("llama-3.1-70b")
    one = llm_memory(model, 1, 79.25, "bf16", 2)
    two = llm_memory(model, 2, 79.25, "bf16", 2)
    assert two.weights_gib == pytest.approx(one.weights_gib / 2)
    assert two.kv_bytes_per_token == one.kv_bytes_per_token / 2
    assert two.runtime_gib > one.runtime_gib  # NCCL
    # 8 KV heads cannot be split 16 ways: a head per GPU, replicated
    assert kv_bytes_per_token_per_gpu(model, 16, 2) == kv_bytes_per_token_per_gpu(model, 8, 2)


def test_tp2_of_70b_fits_where_tp1_does_not():
    w = llm(model="llama-3.1-70b", precision="bf16", tokens={"input": 2000, "output": 500})
    tp1 = estimate(w, H100)
    tp2 = estimate(w, f"{H100}/tp2")
    assert not tp1.fits and tp1.limit == "memory" and tp1.throughput is None
    assert tp1.memory_gb > tp1.memory_available_gb
    assert "GiB usable on H100-SXM5-80GB" in tp1.reason
    assert tp2.fits and tp2.throughput > 0 and tp2.memory_gb <= tp2.memory_available_gb


def test_mig_uses_usable_gib_not_the_name():
    e = estimate(llm(), f"{H100}/3g.40gb")
    assert e.memory_available_gb == 39.5
    small = estimate(llm(), f"{H100}/1g.10gb")
    assert not small.fits and small.memory_available_gb == 9.75
    assert "9.75 GiB usable on 1g.10gb" in small.reason


def test_moe_memory_counts_all_experts_compute_uses_active():
    mixtral = resolve_model("mixtral-8x7b")
    mem = llm_memory(mixtral, 1, 79.25, "bf16", 2)
    assert mem.weights_gib == pytest.approx(46.7e9 * 2 / GIB)
    rf = LlmRoofline(mixtral, hw("H200-SXM5-141GB"), "bf16", "bf16", 2.0, 128, 128)
    # a decode step's FLOPs use the active 12.9 B parameters
    _, t_cmp = rf.step_parts(512)
    flops = t_cmp * rf._flops
    assert flops == pytest.approx(2 * 12.9e9 * 512, rel=0.05)
    # one token reads about the active weights; a large batch touches every expert
    assert rf.weights_read_bytes(1) == pytest.approx(12.9e9 * 2, rel=0.01)
    assert rf.weights_read_bytes(4096) == pytest.approx(46.7e9 * 2, rel=0.01)
    # so MoE decodes faster than a dense model of its total size at small batch
    dense = LlmRoofline(resolve_model("llama-3.1-70b"), hw("H200-SXM5-141GB"), "bf16", "bf16", 2.0, 128, 128)
    assert rf.step(1) < dense.step(1)


def test_fp8_refused_on_a100_unless_fallback():
    w = llm(precision="fp8")
    refused = estimate(w, "A100-SXM4-80GB")
    assert not refused.fits and refused.limit == "precision" and refused.throughput is None
    assert "FP8 is not native on A100-SXM4-80GB" in refused.reason and "precision_fallback" in refused.reason
    allowed = estimate({**w, "precision_fallback": True}, "A100-SXM4-80GB")
    assert allowed.fits and allowed.throughput > 0 and "runs at bf16" in allowed.note
    bf16 = estimate(llm(precision="bf16"), "A100-SXM4-80GB")
    assert allowed.throughput == pytest.approx(bf16.throughput)
    assert estimate(w, H100).fits  # Hopper has FP8
    fp4 = estimate(llm(precision="fp4"), H100)
    assert fp4.limit == "precision" and "FP4" in fp4.reason
    assert estimate(llm(precision="fp4"), "B200-180GB").fits


def test_fallback_also_applies_to_image_models():
    w = {"name": "img", "model": "sdxl", "precision": "fp8", "target": {"images_per_s": 1}}
    assert estimate(w, "A100-SXM4-80GB").limit == "precision"
    assert estimate({**w, "precision_fallback": True}, "A100-SXM4-80GB").fits


# --------------------------------------------------------------------------- throughput properties

LLM_NAMES = ["llama-3.1-8b", "qwen2.5-7b", "phi-3-mini", "mixtral-8x7b", "qwen3-30b-a3b", "gemma-2-9b"]
OTHER = [
    {"name": "img", "model": "sdxl", "target": {"images_per_s": 1}},
    {"name": "img", "model": "sd-1.5", "target": {"images_per_s": 1}},
    {"name": "tts", "model": "xtts-v2", "target": {"realtime_streams": 1}},
    {"name": "tts", "model": "kokoro-82m", "target": {"audio_seconds_per_s": 1}},
    {"name": "asr", "model": "whisper-large-v3-turbo", "target": {"audio_seconds_per_s": 1}},
    {"name": "asr", "model": "whisper-large-v3-turbo", "target": {"realtime_streams": 1}},
]

llm_workloads = st.builds(
    lambda model, prec, tin, tout, ttft, tpot: llm(
        model=model,
        precision=prec,
        tokens={"input": tin, "output": tout},
        slo={k: v for k, v in (("ttft_ms", ttft), ("tpot_ms", tpot)) if v is not None} or None,
    ),
    st.sampled_from(LLM_NAMES),
    st.sampled_from(["bf16", "fp8", "int4"]),
    st.integers(16, 8000),
    st.integers(16, 2000),
    st.one_of(st.none(), st.floats(20, 5000)),
    st.one_of(st.none(), st.floats(5, 200)),
)
any_workload = st.one_of(llm_workloads, st.sampled_from(OTHER))


def _dominates(a, b) -> bool:
    return a.slots >= b.slots and a.sms >= b.sms and a.memory_gib >= b.memory_gib


@FAST
@given(any_workload, st.sampled_from([H100, "A100-SXM4-80GB", "H200-SXM5-141GB", "A30"]))
def test_bigger_mig_slice_never_gives_less(workload, gpu):
    f = fleet(workload)
    pm = PerfModel(f, CAT)
    w = f.workloads[0]
    profiles = CAT.gpu(gpu).mig.profiles
    tput = {p.name: pm.estimate(w, Resource.mig(gpu, p.name)).throughput or 0.0 for p in profiles}
    for big in profiles:
        for small in profiles:
            if _dominates(big, small):
                assert tput[big.name] >= tput[small.name] * (1 - 1e-9), (big.name, small.name, tput)
    # a whole GPU is at least its largest slice
    full = pm.estimate(w, Resource.full(gpu)).throughput or 0.0
    assert full >= max(tput.values()) * (1 - 1e-9)


@FAST
@given(
    st.sampled_from(LLM_NAMES),
    st.integers(64, 4000),
    st.integers(16, 1000),
    st.floats(10, 3000),
    st.floats(1.01, 4),
    st.sampled_from([H100, f"{H100}/3g.40gb", "L40S", f"{H100}/tp2"]),
)
def test_tighter_slo_never_gives_more(model, tin, tout, tpot, factor, resource):
    loose = estimate(llm(model=model, tokens={"input": tin, "output": tout}, slo={"tpot_ms": tpot * factor, "ttft_ms": 50 * tpot * factor}), resource)
    tight = estimate(llm(model=model, tokens={"input": tin, "output": tout}, slo={"tpot_ms": tpot, "ttft_ms": 50 * tpot}), resource)
    none = estimate(llm(model=model, tokens={"input": tin, "output": tout}), resource)
    assert (tight.throughput or 0) <= (loose.throughput or 0) * (1 + 1e-9)
    assert (loose.throughput or 0) <= (none.throughput or 0) * (1 + 1e-9)


@FAST
@given(st.floats(50, 60_000), st.floats(1.01, 5), st.sampled_from(["sdxl", "sd-1.5", "flux.1-schnell", "kokoro-82m", "whisper-large-v3"]))
def test_tighter_latency_slo_never_gives_more(latency, factor, model):
    unit = {"sdxl": "images_per_s", "sd-1.5": "images_per_s", "flux.1-schnell": "images_per_s"}.get(model, "audio_seconds_per_s")
    base = {"name": "w", "model": model, "target": {unit: 1}}
    tight = estimate({**base, "slo": {"latency_ms": latency}}, H100)
    loose = estimate({**base, "slo": {"latency_ms": latency * factor}}, H100)
    assert (tight.throughput or 0) <= (loose.throughput or 0) * (1 + 1e-9)


RESOURCES = [Resource.full(g.name) for g in CAT] + mig_resources(H100) + mig_resources("A30") + [
    Resource.tp(H100, 2),
    Resource.tp(H100, 4),
    Resource.tp("H200-SXM5-141GB", 8),
    Resource.tp("L40S", 2),
]


@FAST
@given(any_workload, st.sampled_from(RESOURCES))
def test_no_throughput_without_fit_and_memory_within_resource(workload, resource):
    e = estimate(workload, str(resource))
    assert e.fits == (e.throughput is not None)
    assert e.resource == str(resource)
    if e.fits:
        assert e.throughput > 0 and math.isfinite(e.throughput)
        assert e.reason is None
        assert e.memory_gb <= e.memory_available_gb + 1e-9
        assert e.source == "estimate" and e.limit in ("memory", "bandwidth", "compute", "slo")
    else:
        assert e.reason and e.batch is None and e.limit != "measured"


def test_estimates_are_deterministic_and_memoised():
    f = fleet(llm())
    pm = PerfModel(f, CAT)
    a = pm.estimate(f.workloads[0], Resource.full(H100))
    assert pm.estimate(f.workloads[0], Resource.full(H100)) is a
    assert PerfModel(f, CAT).estimate(f.workloads[0], Resource.full(H100)) == a


def test_tp_reports_memory_per_gpu_and_throughput_of_the_group():
    w = llm(model="llama-3.1-70b", precision="fp8", tokens={"input": 2000, "output": 500})
    tp2, tp4 = estimate(w, f"{H100}/tp2"), estimate(w, f"{H100}/tp4")
    assert tp2.memory_available_gb == tp4.memory_available_gb == 79.25
    assert tp4.throughput > tp2.throughput  # more GPUs, more throughput for the group
    assert tp4.throughput < 2.2 * tp2.throughput  # but not more than linear (all-reduce, MBU)


def test_requests_per_s_goes_through_output_tokens():
    base = llm(tokens={"input": 1000, "output": 250})
    tok = estimate(base, H100)
    req = estimate({**base, "target": {"requests_per_s": 5}}, H100)
    assert req.unit == "requests_per_s"
    assert req.throughput == pytest.approx(tok.throughput / 250)


def test_slo_that_cannot_be_met_is_a_no_fit_with_reason():
    e = estimate(llm(model="llama-3.1-8b", slo={"tpot_ms": 1}), H100)
    assert not e.fits and e.limit == "slo" and "TPOT" in e.reason and e.throughput is None


def test_context_longer_than_the_model_is_refused():
    e = estimate(llm(model="phi-3-mini", tokens={"input": 8000, "output": 500}), H100)
    assert not e.fits and "context" in e.reason


def test_video_and_speech_numbers_are_sane():
    wan = estimate({"name": "v", "model": "wan2.1-t2v-1.3b", "target": {"videos_per_hour": 1}}, H100)
    assert wan.fits and 10 < wan.throughput < 200  # minutes per clip, not hours or seconds
    big = estimate({"name": "v", "model": "hunyuanvideo", "target": {"videos_per_hour": 1}}, f"{H100}/3g.40gb")
    assert not big.fits and big.limit == "memory"
    voice = estimate({"name": "t", "model": "xtts-v2", "target": {"realtime_streams": 1}}, H100)
    assert voice.fits and voice.throughput == voice.batch >= 4


def test_video_spec_fields_left_out_take_the_reference():
    model = resolve_model("cogvideox-2b")
    base = {"name": "v", "model": "cogvideox-2b", "target": {"videos_per_hour": 1}}
    same = estimate({**base, "video": {"steps": 50}}, H100)
    ref = estimate(base, H100)
    assert same.throughput == pytest.approx(ref.throughput)
    longer = estimate({**base, "video": {"seconds": 12}}, H100)  # twice the clip at the reference fps
    assert longer.throughput < ref.throughput / 2
    assert model.ref_fps == 8


def test_tp_is_for_llms_only():
    e = estimate({"name": "img", "model": "sdxl", "target": {"images_per_s": 1}}, f"{H100}/tp2")
    assert not e.fits and e.limit == "unsupported"


# --------------------------------------------------------------------------- units


def test_valid_units_as_data():
    assert valid_units("llm") == ("output_tokens_per_s", "requests_per_s")
    assert valid_units("diffusion") == ("images_per_s",)
    assert valid_units("video") == ("videos_per_hour",)
    assert set(valid_units("asr")) == {"audio_seconds_per_s", "realtime_streams"}
    assert set(valid_units("tts")) == {"audio_seconds_per_s", "realtime_streams"}
    assert set(valid_units("generic")) == set(TARGET_UNITS)
    assert valid_units("nonsense") == ()


def test_a_unit_that_makes_no_sense_is_refused():
    e = estimate({"name": "img", "model": "sdxl", "target": {"output_tokens_per_s": 1}}, H100)
    assert not e.fits and e.limit == "unit" and "makes no sense for a diffusion model" in e.reason


def test_workload_kind():
    f = fleet(llm(), {"name": "g", "kind": "generic", "memory_gb": 1, "target": {"requests_per_s": 1}})
    assert workload_kind(f.workloads[0]) == "llm"
    assert workload_kind(f.workloads[1]) == "generic"
    inline = fleet(llm(model={"kind": "tts", "params_b": 0.1, "memory_gb": 1, "rtf": 0.1}, target={"realtime_streams": 1}))
    assert workload_kind(inline.workloads[0]) == "tts"


# --------------------------------------------------------------------------- overrides


def test_measured_profile_overrides_the_estimate():
    w = llm(model="llama-3.1-70b", precision="fp8", tokens={"input": 2000, "output": 500})
    measured = estimate(w, f"{H100}/tp2", profiles=[{"workload": "chat", "resource": "H100/tp2", "throughput": 6200}])
    assert measured.source == "measured" and measured.throughput == 6200 and measured.limit == "measured"
    assert measured.fits and measured.memory_gb is not None and "estimate is" in measured.note
    other = estimate(w, f"{H100}/tp4", profiles=[{"workload": "chat", "resource": "H100/tp2", "throughput": 6200}])
    assert other.source == "estimate"


def test_measured_profile_wins_where_the_estimate_says_no_fit():
    w = llm(model="llama-3.1-70b", precision="bf16")
    e = estimate(w, f"{H100}/3g.40gb", profiles=[{"workload": "chat", "resource": "H100-SXM5-80GB/3g.40gb", "throughput": 10}])
    assert e.fits and e.throughput == 10 and e.source == "measured"
    assert e.memory_gb > e.memory_available_gb  # memory still reported
    assert "does not fit" in e.note


def test_generic_workload_uses_capacity_with_aliases():
    g = {
        "name": "ranker",
        "kind": "generic",
        "memory_gb": 6,
        "capacity": {"H100-SXM5-80GB/1g.10gb": 120, "h100/3g.40gb": 380},
        "target": {"requests_per_s": 900},
    }
    f = fleet(g)
    pm = PerfModel(f, CAT)
    w = f.workloads[0]
    small = pm.estimate(w, Resource.mig(H100, "1g.10gb"))
    assert small.fits and small.throughput == 120 and small.source == "measured" and small.memory_gb == 6
    assert pm.estimate(w, Resource.mig(H100, "3g.40gb")).throughput == 380
    none = pm.estimate(w, Resource.full(H100))
    assert not none.fits and none.throughput is None and none.limit == "no-capacity"
    assert none.reason == "no capacity given for this resource"


def test_unknown_model_and_resource_do_not_crash():
    bad = estimate(llm(model="llama-9"), H100)
    assert not bad.fits and bad.limit == "unsupported" and "unknown model" in bad.reason
    nogpu = estimate(llm(), "Z100")
    assert not nogpu.fits and "unknown GPU" in nogpu.reason
    noprofile = estimate(llm(), f"{H100}/3g.71gb")
    assert not noprofile.fits and "no MIG profile 3g.71gb" in noprofile.reason
    nomig = estimate(llm(), "L4/1g.6gb")
    assert not nomig.fits and "has no MIG" in nomig.reason


def test_inline_architecture_estimates_like_the_preset():
    inline = {"kind": "llm", "params_b": 8.03, "layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "head_dim": 128, "max_context": 131072}
    a = estimate(llm(model=inline, tokens={"input": 1000, "output": 300}), H100)
    b = estimate(llm(tokens={"input": 1000, "output": 300}), H100)
    assert a.throughput == pytest.approx(b.throughput) and a.memory_gb == pytest.approx(b.memory_gb)


# --------------------------------------------------------------------------- table


def test_estimate_rows_filters():
    f = fleet(llm(), {"name": "img", "model": "sdxl", "target": {"images_per_s": 1}})
    res = [Resource.full(H100), Resource.mig(H100, "3g.40gb"), Resource.full("L4")]
    rows = estimate_rows(f, CAT, res)
    assert [(r.workload, r.resource) for r in rows] == [(w.name, str(r)) for w in f.workloads for r in res]
    assert len(estimate_rows(f, CAT, res, workload="img")) == 3
    assert {r.resource for r in estimate_rows(f, CAT, res, gpu="h100")} == {H100, f"{H100}/3g.40gb"}
    with pytest.raises(ValueError, match="no workload named 'nope'"):
        estimate_rows(f, CAT, res, workload="nope")


def test_efficiency_table_is_documented():
    import inspect

    source = inspect.getsource(eff)
    assert "perf.md" in source and "(fitted)" in source and "(assumed)" in source
    assert eff.MEMORY_UTILIZATION == 0.90


def test_every_preset_gets_an_estimate_somewhere():
    units = {"llm": "output_tokens_per_s", "diffusion": "images_per_s", "video": "videos_per_hour", "tts": "realtime_streams", "asr": "audio_seconds_per_s"}
    big = [Resource.full("B200-180GB"), Resource.tp("H200-SXM5-141GB", 8)]
    for name, preset in load_models().items():
        e = [estimate({"name": "w", "model": name, "precision": "fp8", "target": {units[preset.kind]: 1}}, str(r)) for r in big]
        assert any(x.fits for x in e), (name, [x.reason for x in e])
