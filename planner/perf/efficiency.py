"""The calibrated table: every efficiency factor and engine constant of the performance model.

One place, each constant with where it came from. "perf.md" is /work/shared/reference/perf.md
(the project's reference of facts); "mig.md" likewise. "(fitted)" means chosen so the model
lands on a calibration point of perf.md (tests/test_perf.py holds it there); "(assumed)" means
no reference gives it, it is a stated engineering assumption, and a measured profile in the
fleet file overrides every estimate that depends on it.

Units: memory in GiB (2**30 bytes) throughout the performance model, like the MIG profiles'
usable memory in the catalog; FLOP rates in FLOP/s; bandwidth in bytes/s.
"""

from __future__ import annotations

GIB = float(2**30)

# --------------------------------------------------------------------------- memory

# Share of device memory an engine may use; the rest is headroom (allocator fragmentation,
# other processes). vLLM's default gpu_memory_utilization. perf.md §2 ("usable = device × 0.90").
MEMORY_UTILIZATION = 0.90

# Device memory the driver shows for a GPU without a MIG geometry, as a share of its datasheet
# GB: L4 shows 23,034 MiB of "24 GB", L40S 46,068 MiB of "48 GB" (nvidia-smi), i.e. 0.937.
# MIG-capable GPUs use their full-size MIG profile's usable GiB instead (mig.md §2, read off
# hardware: H100 7g.80gb 79.25 GiB, which matches vLLM's 71.29 / 0.9 = 79.21 GiB in perf.md §2).
VISIBLE_MEMORY_FRACTION = 0.937

# Bytes per weight by precision. perf.md §2 (BF16/FP16 2, FP8/INT8 1, INT4 ≈ 0.53 with scales).
# FP4 (NVFP4: 4-bit values + an FP8 scale per 16) ≈ 0.56 (assumed, same reasoning as INT4).
BYTES_PER_PARAM = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.53,
    "fp4": 0.56,
}

# CUDA context + non-torch allocations of one engine process. perf.md §2: vLLM's log shows
# 1.79 GiB non-torch memory for Llama-3-8B on one H100; "≈ 3.5 GiB with NCCL under tp ≥ 2".
LLM_RUNTIME_GIB = 1.79
LLM_RUNTIME_TP_GIB = 3.5

# Activation peak of an LLM engine: perf.md §2 gives 1.26 GiB for Llama-3-8B (hidden 4096) at
# vLLM's 8,192 batched tokens; it scales with hidden size × token budget:
# 1.26 GiB / (8192 × 4096) = 40.3 bytes per token per hidden unit. (fitted to that log line)
LLM_TOKEN_BUDGET = 8192
LLM_ACTIVATION_BYTES_PER_TOKEN_HIDDEN = 1.26 * GIB / (8192 * 4096)

# CUDA context of a diffusion / video / speech process (perf.md §2: 0.3–1 GiB; the middle).
OTHER_RUNTIME_GIB = 0.5

# --------------------------------------------------------------------------- LLM rooflines

# Decode model-bandwidth utilisation by tensor-parallel size. perf.md §3: "decode MBU ≈ 0.6 on
# one GPU, 0.4–0.5 at tp 4"; tp 2 interpolated, tp 8+ at the low end (assumed).
MBU_BY_TP = {1: 0.60, 2: 0.55, 4: 0.45, 8: 0.40, 16: 0.35}

# Model-FLOPs utilisation of prefill and of compute-bound decode. perf.md §3: prefill MFU
# 0.4–0.7; FP8 on Hopper ≈ 0.47 of its peak, FP16 on Ampere ≈ 0.68.
# - 8-bit and 4-bit tensor paths: 0.50 (fitted): it centres the three TensorRT-LLM calibration
#   points (8B 128/128, 8B 1000/1000, 70B 128/128) within ±15 %; perf.md's 0.47 puts the 70B
#   point at -18 %.
# - 16-bit: 0.60 (assumed), between Hopper FP8's 0.47 and Ampere FP16's 0.68; with it the online
#   point (8B BF16 on H100, TTFT 23 ms) comes out at ≈ 21 ms.
MFU_LOW_PRECISION = 0.50
MFU_16BIT = 0.60

# An engine's scheduler caps concurrent sequences; TensorRT-LLM's default max_batch_size is
# 2048 (trtllm-build). (assumed; the throughput calibration points are compute-bound there)
LLM_MAX_BATCH = 2048

# Engine calibration: real engines differ by 1.3–2.7× between versions (perf.md §3). The
# roofline is calibrated against TensorRT-LLM v0.17's published throughput, so its factor is 1.
# Lower it (or give measured profiles) for slower engines.
LLM_ENGINE_CALIBRATION = 1.0

# Tokens per request when a workload gives none (assumed; a chat-style request).
DEFAULT_INPUT_TOKENS = 1024
DEFAULT_OUTPUT_TOKENS = 256

# Tensor-parallel all-reduce: two per layer (after attention and after the MLP), each moving
# 2(N-1)/N × tokens × hidden × 2 bytes over NVLink (ring all-reduce).
# - achieved all-reduce bus bandwidth = 0.4 × the catalog's per-GPU NVLink figure (which counts
#   both directions): H100's 900 GB/s → 360 GB/s, the range NCCL's all_reduce_perf reports on
#   HGX H100 (assumed).
# - fixed cost per all-reduce 6 µs (assumed; small-message NCCL/custom all-reduce latency).
# - GPUs without NVLink all-reduce over PCIe: 25 GB/s achieved (assumed; PCIe 4.0 ×16).
ALLREDUCE_BUS_FRACTION = 0.4
ALLREDUCE_LATENCY_S = 6e-6
PCIE_ALLREDUCE_GBPS = 25.0

# --------------------------------------------------------------------------- MIG slices

# A MIG slice gets its SM share of compute and slots/total slots of bandwidth (mig.md §2,
# perf.md §6), times this efficiency: a compute-bound job on an A100 1g slice measured ≈ 0.12
# of a full GPU against an SM share of 14/108 = 0.130 → 0.93 (perf.md §6; neighbours cost a
# further 0–7 %, inside this figure's error).
MIG_SLICE_EFFICIENCY = 0.93

# --------------------------------------------------------------------------- diffusion / video

# Utilisation of peak FLOPs vs how much work is in flight: u(f) = U_MAX × f / (f + K), with
# f = work units per 100 SMs of the resource and one work unit = one denoiser pass over 4,096
# tokens (a 1024² image). perf.md §5: one image reaches ~15–25 % (more with CFG, which batches
# two passes), batching raises it towards 80–90 %. Counting work per SM makes a small MIG slice
# easier to fill than a whole GPU (perf.md §6: workloads that cannot fill a GPU scale
# sub-linearly at the top).
# - images: U_MAX 0.85 (perf.md §5, "towards 80–90 %"); K 2.04 (fitted: SDXL, 30 steps, 1024²,
#   one image on A100-80GB in 3.31 s, perf.md §5).
# - video: K as for images, U_MAX 0.39 (fitted: CogVideoX-2B, 50 steps, 720×480×49 on H100 in
#   ≈ 45 s, perf.md §5); attention-dominated video DiTs reach a lower share of peak.
DIFFUSION_U_MAX = {"diffusion": 0.85, "video": 0.39}
DIFFUSION_FILL_K = 2.04
DIFFUSION_TOKENS_PER_UNIT = 4096

# Largest batch a replica runs (assumed): past ~8 images at 1024² utilisation gains are a few
# percent; video is generated one clip at a time.
DIFFUSION_MAX_BATCH = {"diffusion": 8, "video": 1}

# --------------------------------------------------------------------------- speech

# Real-time factors in the presets are for one stream on the "speech reference GPU", taken as
# an A100-80GB class device (perf.md §5 says "one recent GPU"; assumed).
SPEECH_REF_TFLOPS = 312.0
SPEECH_REF_BANDWIDTH_TBPS = 2.039

# A resource runs a speech model at speed s relative to the reference: the geometric mean of its
# compute ratio and bandwidth ratio (an encoder / vocoder is compute-bound, an autoregressive
# decoder bandwidth-bound). (assumed)
#
# Batching c concurrent streams: aggregate audio seconds per second
#   A(c) = (s / rtf) × c × (1 + K) / (c + K)
# so one stream runs at s / rtf and a full batch approaches (1 + K) × s / rtf (perf.md §5:
# "streams per GPU ≈ concurrency / RTF", concurrency = 1 + K).
# - asr: K 13.3 (fitted: Whisper large-v3 FP16 at batch 24 reaches 92× real time on A100-80GB,
#   insanely-fast-whisper benchmark, against 10× for one stream).
# - tts: K 3 (assumed: TTS servers batch streams poorly).
SPEECH_BATCH_K = {"asr": 13.3, "tts": 3.0}
