"""LLM throughput by roofline (perf.md §3), with the largest batch that fits memory and the SLO.

Per GPU of a replica (tp GPUs work in lock-step on the same batch B):

    decode step  = max(bytes_read / (bandwidth × MBU), flops / (peak × MFU)) + all-reduce
        bytes_read = weights/tp (MoE: the experts a batch of B tokens touches) + B × ctx × kv/token/tp
        flops      = (2 × N_active × B + 4 × layers × d_attn × ctx × B) / tp
    prefill(S)   = (2 × N_active × S + 2 × layers × d_attn × S²) / tp / (peak × MFU) + all-reduce
    TPOT(B)      = step(B) + (B / output) × prefill(input)
                   (continuous batching: every step, B/output requests finish and as many
                   prompts are prefilled in between, stretching the time between tokens)
    TTFT(B)      = max(prefill(input), weights/bandwidth) + step(B) + ½ × (B / output) × prefill(input)
                   (one prompt, the decode step in flight, half the prompts queued that step)
    throughput   = B / TPOT(B) output tokens/s for the whole replica

ctx = input + output/2, the average resident context of a request (paged KV cache). B is at most
the KV cache's tokens / ctx and the engine's batch cap; with an SLO, the largest B meeting it
(TPOT and TTFT both grow with B, so a bisection finds it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from planner.catalog.models import ModelPreset
from planner.perf import efficiency as eff
from planner.perf.hardware import Hardware
from planner.perf.memory import LlmMemory, llm_memory


def mbu(tp: int) -> float:
    """Decode bandwidth utilisation at a tensor-parallel size (the nearest listed size below)."""
    key = max(k for k in eff.MBU_BY_TP if k <= max(1, tp))
    return eff.MBU_BY_TP[key]


def mfu(compute_precision: str) -> float:
    return eff.MFU_16BIT if compute_precision in ("bf16", "fp16", "fp32", "tf32") else eff.MFU_LOW_PRECISION


@dataclass(frozen=True)
class LlmResult:
    fits: bool
    limit: str
    reason: str | None
    batch: int | None
    tokens_per_s: float | None  # output tokens/s of the whole replica
    memory_gib: float  # device memory per GPU at the chosen batch (or the minimum, when it does not fit)
    tpot_s: float | None = None
    ttft_s: float | None = None


class LlmRoofline:
    """Step and latency times of one replica; all times in seconds."""

    def __init__(
        self,
        model: ModelPreset,
        hw: Hardware,
        weights_precision: str,
        compute_precision: str,
        kv_bytes: float,
        input_tokens: int,
        output_tokens: int,
    ):
        assert model.layers is not None and model.hidden is not None and model.heads is not None
        self.model = model
        self.hw = hw
        self.tp = hw.n_gpus
        self.s_in = input_tokens
        self.s_out = output_tokens
        self.ctx = input_tokens + output_tokens / 2
        self.mem: LlmMemory = llm_memory(model, self.tp, hw.memory_gib, weights_precision, kv_bytes)

        bpp = eff.BYTES_PER_PARAM[weights_precision]
        total = model.params_b * 1e9
        active = model.active_b * 1e9
        if model.is_moe:
            e, k = model.experts, model.experts_per_token
            assert e is not None and k is not None
            expert = (total - active) * e / (e - k)
            self._moe_pick = k / e
        else:
            expert = 0.0
            self._moe_pick = 1.0
        self._dense_bytes = (total - expert) * bpp / self.tp
        self._expert_bytes = expert * bpp / self.tp
        self._active = active
        self._d_attn = model.heads * model.dim_head
        self._layers = model.layers
        self._hidden = model.hidden
        self._bandwidth = hw.bandwidth * mbu(self.tp)
        self._flops = hw.flops(compute_precision) * mfu(compute_precision)
        self._prefill = self._prefill_compute(input_tokens)

    # ---------------------------------------------------------------- pieces

    def weights_read_bytes(self, tokens: int) -> float:
        """Weight bytes a forward pass over `tokens` tokens reads per GPU. MoE: the expected
        share of experts touched, 1 - (1 - k/E)^tokens (all of them for large batches)."""
        if self._expert_bytes == 0:
            return self._dense_bytes
        touched = 1.0 - (1.0 - self._moe_pick) ** tokens
        return self._dense_bytes + self._expert_bytes * touched

    def allreduce(self, tokens: float) -> float:
        if self.tp <= 1:
            return 0.0
        n = self.tp
        payload = 2 * (n - 1) / n * tokens * self._hidden * 2  # ring all-reduce of 16-bit activations
        return 2 * self._layers * (eff.ALLREDUCE_LATENCY_S + payload / self.hw.allreduce_bytes_per_s)

    def step_parts(self, batch: int) -> tuple[float, float]:
        """(memory-bound time, compute-bound time) of one decode step at `batch`."""
        read = self.weights_read_bytes(batch) + batch * self.ctx * self.mem.kv_bytes_per_token
        flops = (2 * self._active * batch + 4 * self._layers * self._d_attn * self.ctx * batch) / self.tp
        return read / self._bandwidth, flops / self._flops

    def step(self, batch: int) -> float:
        t_mem, t_cmp = self.step_parts(batch)
        return max(t_mem, t_cmp) + self.allreduce(batch)

    def _prefill_compute(self, tokens: int) -> float:
        flops = (2 * self._active * tokens + 2 * self._layers * self._d_attn * tokens * tokens) / self.tp
        return flops / self._flops + self.allreduce(tokens)

    def prefill_latency(self) -> float:
        """One prompt alone: compute-bound, but never faster than reading the weights once."""
        weights = self.weights_read_bytes(self.s_in) / self._bandwidth
        return max(self._prefill, weights + self.allreduce(self.s_in))

    def tpot(self, batch: int) -> float:
        return self.step(batch) + batch / self.s_out * self._prefill

    def ttft(self, batch: int) -> float:
        return self.prefill_latency() + self.step(batch) + 0.5 * batch / self.s_out * self._prefill

    def tokens_per_s(self, batch: int) -> float:
        return batch / self.tpot(batch) * eff.LLM_ENGINE_CALIBRATION


def _largest(lo: int, hi: int, ok) -> int:
    """Largest b in [lo, hi] with ok(b), for ok monotone (true then false); lo - 1 if none."""
    if not ok(lo):
        return lo - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def estimate_llm(
    model: ModelPreset,
    hw: Hardware,
    weights_precision: str,
    compute_precision: str,
    kv_bytes: float,
    input_tokens: int,
    output_tokens: int,
    ttft_ms: float | None = None,
    tpot_ms: float | None = None,
) -> LlmResult:
    rf = LlmRoofline(model, hw, weights_precision, compute_precision, kv_bytes, input_tokens, output_tokens)
    mem = rf.mem
    context = input_tokens + output_tokens
    one_request = mem.need_gib(context)
    if model.max_context is not None and context > model.max_context:
        return LlmResult(
            False, "unsupported",
            f"{input_tokens} + {output_tokens} tokens exceed {model.label}'s context of {model.max_context}",
            None, None, one_request,
        )
    if mem.kv_tokens < context:
        if mem.kv_cache_gib <= 0:
            detail = f"weights alone take {mem.weights_gib:.1f} GiB" + (" per GPU" if rf.tp > 1 else "")
        else:
            detail = f"the KV cache holds {mem.kv_tokens:,} tokens, one request needs {context:,}"
        return LlmResult(
            False, "memory",
            f"needs {one_request:.1f} GiB, {hw.memory_gib:.2f} GiB usable on {hw.where} ({detail})",
            None, None, one_request,
        )

    b_mem = max(1, math.floor(mem.kv_tokens / rf.ctx))
    b_max = min(b_mem, eff.LLM_MAX_BATCH)

    def meets(b: int) -> bool:
        if tpot_ms is not None and rf.tpot(b) * 1e3 > tpot_ms:
            return False
        if ttft_ms is not None and rf.ttft(b) * 1e3 > ttft_ms:
            return False
        return True

    batch = _largest(1, b_max, meets)
    if batch < 1:
        parts = []
        if tpot_ms is not None and rf.tpot(1) * 1e3 > tpot_ms:
            parts.append(f"TPOT {rf.tpot(1) * 1e3:.1f} ms exceeds the {tpot_ms:g} ms SLO")
        if ttft_ms is not None and rf.ttft(1) * 1e3 > ttft_ms:
            parts.append(f"TTFT {rf.ttft(1) * 1e3:.1f} ms exceeds the {ttft_ms:g} ms SLO")
        return LlmResult(
            False, "slo", f"even one request at a time on {hw.where}: " + "; ".join(parts),
            None, None, one_request, rf.tpot(1), rf.ttft(1),
        )

    if batch < b_max:
        limit = "slo"
    elif batch == b_mem:
        limit = "memory"
    else:
        t_mem, t_cmp = rf.step_parts(batch)
        limit = "bandwidth" if t_mem >= t_cmp else "compute"
    return LlmResult(
        True, limit, None, batch, rf.tokens_per_s(batch), mem.need_gib(max(batch * rf.ctx, context)), rf.tpot(batch), rf.ttft(batch)
    )


__all__ = ["LlmResult", "LlmRoofline", "estimate_llm", "mbu", "mfu"]
