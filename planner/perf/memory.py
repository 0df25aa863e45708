"""Memory a replica needs, per GPU, in GiB (perf.md §2).

    need = weights + kv_cache + activations + runtime
    weights  = parameters × bytes_per_param / tp          (MoE: all experts)
    activations = 40.3 B × 8,192 tokens × hidden / tp     (fitted to vLLM's 1.26 GiB for hidden 4096)
    kv/token = 2 × layers × kv_heads × head_dim × kv_bytes (MLA: layers × (latent + rope) × kv_bytes)
    usable   = device memory × 0.90

A replica's memory_gb is its footprint divided by 0.90: the device memory it takes once the
engine keeps its headroom; it fits when that is at most the resource's memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from planner.catalog.models import ModelPreset
from planner.perf import efficiency as eff

GIB = eff.GIB


def device_need_gib(footprint_gib: float) -> float:
    """Device memory that holds `footprint_gib` at the engine's memory utilisation."""
    return footprint_gib / eff.MEMORY_UTILIZATION


def weight_bytes(params_b: float, precision: str) -> float:
    return params_b * 1e9 * eff.BYTES_PER_PARAM[precision]


def kv_bytes_per_element(kv_precision: str, weights_precision: str) -> float:
    """`auto` caches FP8 when the weights are 8-bit float or narrower (TensorRT-LLM's FP8
    recipe, used by perf.md's calibration runs), else 16-bit."""
    if kv_precision == "auto":
        return 1.0 if weights_precision in ("fp8", "fp4") else 2.0
    return 1.0 if kv_precision == "fp8" else 2.0


def kv_bytes_per_token_per_gpu(model: ModelPreset, tp: int, kv_bytes: float) -> float:
    """KV cache per token on each GPU of a tp group. GQA heads are split across GPUs (a head is
    replicated when tp exceeds the KV heads); an MLA latent is replicated on every GPU."""
    assert model.layers is not None
    if model.is_mla:
        return model.kv_elements_per_token() * kv_bytes
    heads_per_gpu = math.ceil(model.n_kv_heads / tp)
    return 2 * model.layers * heads_per_gpu * model.dim_head * kv_bytes


@dataclass(frozen=True)
class LlmMemory:
    """Per-GPU memory plan of one LLM replica."""

    available_gib: float  # visible memory per GPU of the resource
    weights_gib: float
    runtime_gib: float
    activation_gib: float
    kv_bytes_per_token: float  # per GPU

    @property
    def budget_gib(self) -> float:
        """What the engine may use: available × 0.90 (vLLM's 'usable')."""
        return self.available_gib * eff.MEMORY_UTILIZATION

    @property
    def fixed_gib(self) -> float:
        return self.weights_gib + self.runtime_gib + self.activation_gib

    @property
    def kv_cache_gib(self) -> float:
        """Left for the KV cache once weights, runtime and activations are placed (may be < 0)."""
        return self.budget_gib - self.fixed_gib

    @property
    def kv_tokens(self) -> int:
        """Tokens the KV cache holds (per GPU the same count: each GPU holds its share of every token)."""
        return max(0, int(self.kv_cache_gib * GIB // self.kv_bytes_per_token))

    def need_gib(self, resident_tokens: float) -> float:
        """Device memory per GPU with `resident_tokens` in the KV cache."""
        return device_need_gib(self.fixed_gib + resident_tokens * self.kv_bytes_per_token / GIB)


def llm_memory(model: ModelPreset, tp: int, available_gib: float, weights_precision: str, kv_bytes: float) -> LlmMemory:
    assert model.hidden is not None
    weights = weight_bytes(model.params_b, weights_precision) / tp / GIB
    runtime = eff.LLM_RUNTIME_TP_GIB if tp > 1 else eff.LLM_RUNTIME_GIB
    # MLP and attention intermediates, which dominate the peak, are split across a tp group.
    activation = eff.LLM_ACTIVATION_BYTES_PER_TOKEN_HIDDEN * eff.LLM_TOKEN_BUDGET * model.hidden / GIB / tp
    return LlmMemory(available_gib, weights, runtime, activation, kv_bytes_per_token_per_gpu(model, tp, kv_bytes))


def diffusion_footprint_gib(model: ModelPreset, weights_precision: str, batch: int, token_ratio: float) -> float:
    """Weights of denoiser + encoders + VAE, CUDA context, and activations that grow with the
    tokens of each output in the batch (memory-efficient attention keeps them linear)."""
    params = model.params_b + (model.extra_params_b or 0.0)
    weights = weight_bytes(params, weights_precision) / GIB
    return weights + eff.OTHER_RUNTIME_GIB + (model.activation_gb or 0.0) * batch * token_ratio


def speech_footprint_gib(model: ModelPreset, streams: int) -> float:
    """The preset's footprint for one stream plus per-stream state for the others."""
    assert model.memory_gb is not None
    return model.memory_gb + (model.memory_per_stream_gb or 0.0) * max(0, streams - 1)
