"""PerfModel: memory and throughput of every workload on every resource, with its source and
what limits it. Measured numbers (fleet `profiles:`, generic `capacity:`) replace estimates."""

from __future__ import annotations

from planner.catalog import Catalog
from planner.catalog.models import ModelPreset, resolve_model
from planner.perf import efficiency as eff
from planner.perf.diffusion import estimate_diffusion, requested_size
from planner.perf.estimate import Estimate
from planner.perf.hardware import Hardware, Unsupported, hardware, plan_precision
from planner.perf.llm import estimate_llm
from planner.perf.memory import kv_bytes_per_element
from planner.perf.overrides import Overrides, canonical
from planner.perf.speech import estimate_speech
from planner.perf.units import unit_problem
from planner.resources import Resource
from planner.spec.models import Fleet, Workload


def workload_kind(workload: Workload) -> str:
    """The workload's explicit kind, else its model preset's (or inline model's) kind.

    Raises UnknownModel / ValueError when neither is given or the model does not resolve.
    """
    if workload.kind is not None:
        return workload.kind
    if workload.model is None:
        raise ValueError(f"workload {workload.name!r} gives neither 'kind' nor 'model'")
    return resolve_model(workload.model).kind


class _Result:
    """What a kind-specific estimator found, before it becomes an Estimate."""

    __slots__ = ("fits", "throughput", "batch", "memory", "limit", "reason", "note")

    def __init__(self, fits, throughput, batch, memory, limit, reason, note=None):
        self.fits, self.throughput, self.batch = fits, throughput, batch
        self.memory, self.limit, self.reason, self.note = memory, limit, reason, note


class PerfModel:
    """Estimates per (workload, resource), memoised. `catalog` already holds the fleet's GPU overrides."""

    def __init__(self, fleet: Fleet, catalog: Catalog):
        self.fleet = fleet
        self.catalog = catalog
        self.overrides = Overrides(fleet, catalog)
        self._cache: dict[tuple[str, str], tuple[Workload, Estimate]] = {}
        self._models: dict[str, tuple[Workload, ModelPreset | Exception]] = {}
        self._hardware: dict[Resource, Hardware | Unsupported] = {}

    # ---------------------------------------------------------------- public

    def estimate(self, workload: Workload, resource: Resource) -> Estimate:
        key = (workload.name, str(resource))
        hit = self._cache.get(key)
        if hit is not None and hit[0] is workload:
            return hit[1]
        est = self._estimate(workload, resource)
        self._cache[key] = (workload, est)
        return est

    # ---------------------------------------------------------------- lookups

    def _hw(self, resource: Resource) -> Hardware | Unsupported:
        hw = self._hardware.get(resource)
        if hw is None:
            try:
                hw = hardware(self.catalog, resource)
            except Unsupported as exc:
                hw = exc
            self._hardware[resource] = hw
        return hw

    def _model(self, workload: Workload) -> ModelPreset | Exception:
        hit = self._models.get(workload.name)
        if hit is not None and hit[0] is workload:
            return hit[1]
        try:
            if workload.model is None:
                raise ValueError(f"workload {workload.name!r} has no model; give a preset name or an inline architecture")
            model: ModelPreset | Exception = resolve_model(workload.model, workload.kind)
        except (KeyError, ValueError) as exc:
            model = exc
        self._models[workload.name] = (workload, model)
        return model

    # ---------------------------------------------------------------- the estimate

    def _estimate(self, workload: Workload, resource: Resource) -> Estimate:
        unit = workload.target.unit
        hw = self._hw(resource)

        def out(r: _Result, source: str = "estimate") -> Estimate:
            return Estimate(
                workload=workload.name,
                resource=str(resource),
                fits=r.fits,
                throughput=r.throughput if r.fits else None,
                unit=unit,
                batch=r.batch if r.fits else None,
                memory_gb=r.memory,
                memory_available_gb=hw.memory_gib if isinstance(hw, Hardware) else 0.0,
                source=source,  # type: ignore[arg-type]
                limit=r.limit,
                reason=None if r.fits else r.reason,
                note=r.note,
            )

        if isinstance(hw, Unsupported):
            return out(_Result(False, None, None, None, hw.limit, hw.reason))
        res_key = str(canonical(self.catalog, resource) or resource)
        measured = self.overrides.measured(workload.name, res_key)

        if workload.kind == "generic":
            g = self._generic(workload, hw, res_key, measured)
            return out(g, "measured" if g.fits else "estimate")

        model = self._model(workload)
        if isinstance(model, Exception):
            return out(_Result(False, None, None, None, "unsupported", str(model)))
        kind = model.kind
        if workload.kind is not None and workload.kind != kind:
            return out(_Result(False, None, None, None, "unsupported",
                               f"workload kind is {workload.kind} but {model.label} is {'an' if kind in ('llm', 'asr') else 'a'} {kind} model"))
        problem = unit_problem(kind, unit)
        if problem is not None:
            return out(_Result(False, None, None, None, "unit", problem))

        base = self._estimate_model(workload, model, hw, unit)
        if measured is None:
            return out(base)
        # A measurement wins, even where the estimate says it does not fit: the user ran it.
        if base.fits:
            note = f"measured; the estimate is {base.throughput:,.4g} {unit}"
        else:
            note = f"measured; the estimate says it does not fit: {base.reason}"
        return out(_Result(True, measured, base.batch, base.memory, "measured", None, note), "measured")

    def _generic(self, workload: Workload, hw: Hardware, res_key: str, measured: float | None) -> _Result:
        memory = workload.memory_gb
        value = measured if measured is not None else self.overrides.given_capacity(workload.name, res_key)
        if value is None:
            return _Result(False, None, None, memory, "no-capacity", "no capacity given for this resource")
        note = None
        if memory is not None and memory > hw.memory_gib:
            note = f"memory_gb {memory:g} exceeds the {hw.memory_gib:.2f} GiB of {hw.where}; trusting the given capacity"
        return _Result(True, value, None, memory, "measured", None, note)

    def _estimate_model(self, workload: Workload, model: ModelPreset, hw: Hardware, unit: str) -> _Result:
        if hw.n_gpus > 1 and model.kind != "llm":
            return _Result(False, None, None, None, "unsupported",
                           f"tensor parallelism is modelled for LLMs only; run {model.label} one replica per GPU")
        try:
            plan = plan_precision(hw.gpu, workload.precision, workload.precision_fallback)
        except Unsupported as exc:
            return _Result(False, None, None, None, exc.limit, exc.reason)
        slo = workload.slo
        if model.kind == "llm":
            tokens = workload.tokens
            s_in = tokens.input if tokens else eff.DEFAULT_INPUT_TOKENS
            s_out = tokens.output if tokens else eff.DEFAULT_OUTPUT_TOKENS
            kv_bytes = kv_bytes_per_element(workload.kv_cache_precision, plan.weights)
            r = estimate_llm(
                model, hw, plan.weights, plan.compute, kv_bytes, s_in, s_out,
                slo.ttft_ms if slo else None, slo.tpot_ms if slo else None,
            )
            tput = r.tokens_per_s
            if tput is not None and unit == "requests_per_s":
                tput = tput / s_out
            note = plan.note
            if tokens is None:
                note = "; ".join(filter(None, [note, f"no tokens given: assumed {s_in} in / {s_out} out"]))
            return _Result(r.fits, tput, r.batch, r.memory_gib, r.limit, r.reason, note or None)
        if model.kind in ("diffusion", "video"):
            spec = workload.image if model.kind == "diffusion" else workload.video
            size = requested_size(model, spec)
            d = estimate_diffusion(model, hw, plan.weights, plan.compute, size, slo.latency_ms if slo else None)
            tput = d.outputs_per_s
            if tput is not None and unit == "videos_per_hour":
                tput *= 3600.0
            return _Result(d.fits, tput, d.batch, d.memory_gib, d.limit, d.reason, plan.note)
        s = estimate_speech(model, hw, plan.compute, unit == "realtime_streams", slo.latency_ms if slo else None)
        tput = float(s.streams) if unit == "realtime_streams" and s.streams is not None else s.audio_seconds_per_s
        return _Result(s.fits, tput, s.streams, s.memory_gib, s.limit, s.reason, plan.note)
