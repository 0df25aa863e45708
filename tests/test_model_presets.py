"""Model presets: every preset loads, cites its source and matches reference/perf.md; names
resolve with aliases and hints; inline architectures pass the same schema."""

from __future__ import annotations

import pytest

from planner.catalog.models import (
    MODEL_KINDS,
    ModelPreset,
    UnknownModel,
    load_models,
    resolve_model,
)

# reference/perf.md §4: KV cache per token in BF16, KiB.
KV_KIB = {
    "llama-3.1-8b": 128,
    "llama-3.1-70b": 320,
    "llama-3.1-405b": 504,
    "mistral-7b": 128,
    "mixtral-8x7b": 128,
    "qwen2.5-7b": 56,
    "qwen2.5-72b": 320,
    "qwen3-32b": 256,
    "qwen3-235b-a22b": 188,
    "qwen3-30b-a3b": 96,
    "gemma-2-9b": 336,
    "gemma-2-27b": 368,
    "phi-3-mini": 384,
}

# reference/perf.md §4: total (active) parameters, billions.
PARAMS = {
    "llama-3.1-8b": (8.03, 8.03),
    "llama-3.1-70b": (70.6, 70.6),
    "mixtral-8x7b": (46.7, 12.9),
    "qwen3-235b-a22b": (235, 22),
    "qwen3-30b-a3b": (30.5, 3.3),
    "deepseek-v3": (671, 37),
}

REQUIRED_PRESETS = {
    "llm": list(KV_KIB) + ["deepseek-v3"],
    "diffusion": ["sd-1.5", "sdxl", "sd3-medium", "flux.1-dev", "flux.1-schnell"],
    "video": ["wan2.1-t2v-1.3b", "wan2.1-t2v-14b", "cogvideox-2b", "cogvideox-5b", "hunyuanvideo"],
    "asr": ["whisper-large-v3", "whisper-large-v3-turbo"],
    "tts": ["xtts-v2", "f5-tts", "kokoro-82m", "bark"],
}

LLAMA_8B_INLINE = {"kind": "llm", "params_b": 8.03, "layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "head_dim": 128}


def test_every_required_preset_is_there_with_its_kind():
    models = load_models()
    for kind, names in REQUIRED_PRESETS.items():
        for name in names:
            assert name in models, name
            assert models[name].kind == kind, name
            assert models[name].name == name


def test_every_preset_cites_a_source():
    for name, preset in load_models().items():
        assert preset.source and preset.source != "inline", name
        assert preset.kind in MODEL_KINDS


@pytest.mark.parametrize("name,kib", sorted(KV_KIB.items()))
def test_kv_per_token_matches_perf_md(name, kib):
    preset = load_models()[name]
    assert preset.kv_elements_per_token() * 2 == kib * 1024


def test_deepseek_mla_latent_per_token():
    # perf.md §2: (512 + 64) × 61 × 2 B = 70,272 B per token.
    assert resolve_model("deepseek-v3").kv_elements_per_token() * 2 == 70_272


@pytest.mark.parametrize("name,params", sorted(PARAMS.items()))
def test_parameters_match_perf_md(name, params):
    preset = load_models()[name]
    assert preset.params_b == pytest.approx(params[0])
    assert preset.active_b == pytest.approx(params[1])


def test_moe_presets_are_consistent():
    for name, p in load_models().items():
        if p.is_moe:
            assert p.active_b < p.params_b, name
            assert p.experts_per_token < p.experts, name


def test_flux_and_speech_figures_from_perf_md():
    models = load_models()
    assert models["flux.1-dev"].tflop_per_pass == 75
    assert models["flux.1-dev"].cfg is False  # guidance-distilled: one pass per step
    assert models["sdxl"].cfg is True
    assert models["whisper-large-v3"].memory_gb == 10
    assert models["whisper-large-v3-turbo"].memory_gb == 6
    assert models["xtts-v2"].rtf == 0.24
    assert models["bark"].rtf == 0.52


def test_names_resolve_case_insensitively_and_by_alias():
    assert resolve_model("Llama-3.1-8B").name == "llama-3.1-8b"
    assert resolve_model("meta-llama/Llama-3.1-70B-Instruct").name == "llama-3.1-70b"
    assert resolve_model("  SDXL ").name == "sdxl"
    assert resolve_model("openai/whisper-large-v3-turbo").name == "whisper-large-v3-turbo"


def test_unknown_name_is_a_keyerror_with_a_clean_hint():
    with pytest.raises(UnknownModel) as info:
        resolve_model("llama-3.1-8c")
    err = info.value
    assert isinstance(err, KeyError)
    assert str(err).startswith("unknown model 'llama-3.1-8c'; did you mean 'llama-3.1-8b'?")
    with pytest.raises(UnknownModel) as info:
        resolve_model("zzzzqqq")
    assert "known presets:" in str(info.value) and "sdxl" in str(info.value)


def test_inline_architecture_uses_the_same_schema():
    inline = resolve_model(LLAMA_8B_INLINE)
    preset = resolve_model("llama-3.1-8b")
    assert isinstance(inline, ModelPreset)
    assert inline.kv_elements_per_token() == preset.kv_elements_per_token()
    assert inline.name is None and inline.source == "inline"
    # kind may come from the workload
    no_kind = {k: v for k, v in LLAMA_8B_INLINE.items() if k != "kind"}
    assert resolve_model(no_kind, kind="llm").kind == "llm"


@pytest.mark.parametrize(
    "bad,words",
    [
        ({"params_b": 1, "layers": 2, "hidden": 64, "heads": 4}, "needs 'kind'"),
        ({"kind": "llm", "params_b": 1, "layers": 2}, "needs hidden, heads"),
        ({**LLAMA_8B_INLINE, "kv_head": 8}, "did you mean 'kv_heads'"),
        ({**LLAMA_8B_INLINE, "rtf": 0.2}, "'rtf' (tts/asr) does not apply to an llm model"),
        ({**LLAMA_8B_INLINE, "kv_heads": 5}, "must divide heads"),
        ({**LLAMA_8B_INLINE, "params_b": "8"}, "params_b"),
        ({**LLAMA_8B_INLINE, "params_b": -1}, "params_b"),
        ({**LLAMA_8B_INLINE, "experts": 8}, "experts_per_token"),
        ({**LLAMA_8B_INLINE, "active_params_b": 9}, "exceeds params_b"),
        ({"kind": "diffusion", "params_b": 1}, "needs tflop_per_pass"),
        ({"kind": "robot", "params_b": 1}, "kind"),
    ],
)
def test_bad_inline_models_fail_with_clear_text(bad, words):
    with pytest.raises(ValueError) as info:
        resolve_model(bad)
    assert not isinstance(info.value, KeyError)
    assert words in str(info.value)
    assert str(info.value).startswith(("inline model", "an inline model"))


def test_load_models_is_cached():
    assert load_models() is load_models()


def test_not_a_name_or_mapping():
    with pytest.raises(ValueError):
        resolve_model(42)  # type: ignore[arg-type]
