"""PEFT LoRA adapters for llama.cpp: read and check an adapter against its base model, then write either a
llama.cpp LoRA GGUF (general.type = adapter) or the merged model (W + scale * B @ A) through the normal
F16 -> quantize path.

Facts from llama.cpp (src/llama-adapter.cpp, convert_lora_to_gguf.py), re-implemented here:
- an adapter GGUF has general.type "adapter", adapter.type "lora" and adapter.lora.alpha (float32), the base's
  general.architecture, and per adapted base tensor "<gguf name>.lora_a" / ".lora_b".
- shapes in ggml order (ne): lora_a [n_in, r], lora_b [r, n_out] (numpy: A as (r, in), B as (out, r)), checked
  against the base tensor's [n_in, n_out]; token_embd is the exception: lora_a ne [r, n_vocab] holds PEFT's A
  transposed and lora_b ne [r, n_embd] holds PEFT's B (llm_build_inp_embd gathers rows of lora_a by token).
- llama.cpp scales each pair by alpha / rank (rank = lora_a's ne[1]), or by 1 when alpha is 0. Where PEFT's scale
  differs (rsLoRA's alpha / sqrt(r), rank_pattern, alpha_pattern, full-rank modules_to_save) the difference is
  folded into lora_b, so every pair computes exactly PEFT's delta.
- norm tensors in an adapter are ignored by llama.cpp, so an adapter that changes them cannot be served as one.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gguf
import numpy as np

from .architectures import Hparams, PlannedTensor, expected_tensors, read_hparams
from .checkpoint import TensorSource, load_config, open_tensors, safetensors_sources, torch_bin_sources
from .errors import ConvertError

PREFIX = "base_model.model."
# PEFT's tensor-name suffixes inside adapter_model.safetensors.
LORA_SUFFIXES = {".lora_A.weight": "A", ".lora_B.weight": "B", ".lora_embedding_A": "A", ".lora_embedding_B": "B"}


@dataclass
class LoraPair:
    """One adapted base weight: PEFT's A (r, in) and B (out, r) (embeddings: A (r, vocab), B (embd, r))."""

    module: str  # HF module path, e.g. model.layers.0.self_attn.q_proj
    a: TensorSource | None = None
    b: TensorSource | None = None
    embedding: bool = False
    scale: float = 1.0

    @property
    def weight(self) -> str:
        return self.module + ".weight"

    @property
    def rank(self) -> int:
        assert self.a is not None
        return self.a.shape[0]


@dataclass
class Adapter:
    """A PEFT LoRA adapter folder, read (headers only) and checked for what Berth can serve."""

    folder: Path
    config: dict[str, Any]
    pairs: dict[str, LoraPair]  # by base weight name (module + ".weight")
    saved: dict[str, TensorSource]  # modules_to_save (and trained biases): full tensors by base name
    base_layers: dict[str, TensorSource] = field(default_factory=dict)  # copies PEFT saves of embedding bases

    @property
    def alpha(self) -> float:
        return float(self.config.get("lora_alpha") or self.config.get("r") or 8)


def _pattern_value(patterns: dict[str, Any], module: str) -> Any:
    """PEFT's rank_pattern / alpha_pattern lookup: a key matches the module path or a dotted suffix of it."""
    for key, value in patterns.items():
        if re.match(rf"(.*\.)?({key})$", module):
            return value
    return None


def peft_scale(config: dict[str, Any], module: str) -> float:
    """PEFT's scaling for one module: alpha / r, or alpha / sqrt(r) with rsLoRA; patterns override both."""
    r = _pattern_value(config.get("rank_pattern") or {}, module) or config.get("r") or 8
    alpha = _pattern_value(config.get("alpha_pattern") or {}, module) or config.get("lora_alpha") or r
    return float(alpha) / (math.sqrt(r) if config.get("use_rslora") else float(r))


def _unsupported(message: str, hint: str) -> ConvertError:
    return ConvertError("ADAPTER_UNSUPPORTED", message, hint)


def read_adapter(folder: Path) -> Adapter:
    """Reads adapter_config.json and the adapter's tensor headers; refuses variants llama.cpp cannot run."""
    path = folder / "adapter_config.json"
    if not path.is_file():
        raise ConvertError("ADAPTER_INVALID", f"No adapter_config.json in {folder}",
                           "Pick the folder PEFT saved the adapter to (model.save_pretrained()).")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ConvertError("ADAPTER_INVALID", f"adapter_config.json in {folder} is not valid JSON: {e}") from e
    peft_type = str(config.get("peft_type", "LORA")).upper()
    if peft_type != "LORA":
        raise _unsupported(f"This is a {peft_type} adapter; Berth converts LoRA adapters",
                           "Merge it into its base with PEFT (merge_and_unload()) and deploy the merged folder.")
    first = ", ".join(map(str, config.get("target_modules") or [])) or "the target modules"
    if config.get("use_dora"):
        raise _unsupported(f"DoRA adapter (use_dora) on {first}: llama.cpp has no weight-decomposed LoRA",
                           "Deploy it with vLLM, or merge it with PEFT (merge_and_unload()) and deploy the merge.")
    if config.get("fan_in_fan_out"):
        raise _unsupported(f"fan_in_fan_out layers ({first}) are stored transposed (GPT-2 Conv1D style); "
                           f"Berth's architectures have none", "Check that the adapter was trained on this base.")
    for key in ("use_qalora", "use_bdlora"):
        if config.get(key):
            raise _unsupported(f"{key} adapters are not plain LoRA", "Merge it with PEFT and deploy the merge.")
    if config.get("layer_replication"):
        raise _unsupported("layer_replication changes the model's layer count", "Merge it with PEFT first.")

    weights = folder / "adapter_model.safetensors"
    if weights.is_file():
        sources = safetensors_sources(weights)
    elif (folder / "adapter_model.bin").is_file():
        sources = torch_bin_sources(folder / "adapter_model.bin")
    else:
        raise ConvertError("ADAPTER_INVALID", f"No adapter_model.safetensors in {folder}",
                           "Copy the whole adapter folder (adapter_config.json and adapter_model.safetensors).")
    pairs: dict[str, LoraPair] = {}
    saved: dict[str, TensorSource] = {}
    base_layers: dict[str, TensorSource] = {}
    for src in sources:
        name = src.name[len(PREFIX):] if src.name.startswith(PREFIX) else src.name
        if "lora_magnitude_vector" in name:
            raise _unsupported(f"DoRA magnitude vector for {name.split('.lora_magnitude')[0]}",
                               "Deploy it with vLLM, or merge it with PEFT and deploy the merge.")
        suffix = next((s for s in LORA_SUFFIXES if name.endswith(s)), None)
        if suffix is not None:
            module = name[: -len(suffix)]
            pair = pairs.setdefault(module + ".weight", LoraPair(module))
            setattr(pair, LORA_SUFFIXES[suffix].lower(), src)
            pair.embedding = pair.embedding or "embedding" in suffix
            continue
        if name.endswith(".lora_B.bias"):
            raise _unsupported(f"LoRA bias (lora_bias) on {name[: -len('.lora_B.bias')]}",
                               "llama.cpp adapters have no bias term; merge it with PEFT first.")
        if name.endswith(".base_layer.weight"):  # PEFT's copy of an adapted embedding's base weight
            base_layers[name.replace(".base_layer.weight", ".weight")] = src
            continue
        saved[name] = src
    for weight, pair in pairs.items():
        if pair.a is None or pair.b is None:
            raise ConvertError("ADAPTER_INVALID", f"{pair.module} has lora_{'A' if pair.a is None else 'B'} "
                               f"missing", "The adapter file is incomplete; save it again with PEFT.")
        pair.scale = peft_scale(config, pair.module)
    if not pairs and not saved:
        raise ConvertError("ADAPTER_INVALID", f"{weights.name} holds no LoRA tensors",
                           "Save the adapter again with PEFT (model.save_pretrained()).")
    return Adapter(folder, config, pairs, saved, base_layers)


def _shape_mismatch(module: str, adapter_shape: tuple[int, ...], base_shape: tuple[int, ...] | None,
                    hp: Hparams) -> ConvertError:
    base = list(base_shape) if base_shape else "no such tensor"
    return ConvertError(
        "ADAPTER_BASE_MISMATCH",
        f"The adapter does not fit this base model: {module} is {list(adapter_shape)} in the adapter, "
        f"{base} in the base ({hp.hf_arch}, hidden {hp.n_embd}, {hp.n_layer} layers)",
        "Pick the base model the adapter was trained on (base_model_name_or_path in adapter_config.json).")


def check_adapter(adapter: Adapter, hp: Hparams, base_shapes: dict[str, tuple[int, ...]],
                  as_adapter_gguf: bool) -> None:
    """Every adapted tensor exists in the base with the shape the adapter implies, and llama.cpp can map it."""
    expected, _ = expected_tensors(hp)
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH[hp.arch.upper()], hp.n_layer)
    for weight, pair in adapter.pairs.items():
        assert pair.a is not None and pair.b is not None
        if pair.embedding:
            implied = (pair.a.shape[1], pair.b.shape[0])  # (vocab, embd)
        else:
            implied = (pair.b.shape[0], pair.a.shape[1])  # (out, in)
        if pair.a.shape[0] != pair.b.shape[-1]:
            raise ConvertError("ADAPTER_INVALID", f"{pair.module}: lora_A has rank {pair.a.shape[0]}, lora_B "
                               f"{pair.b.shape[-1]}", "The adapter file is corrupt; save it again with PEFT.")
        base_shape = base_shapes.get(weight) or (base_shapes.get("model.embed_tokens.weight")
                                                 if weight == "lm_head.weight" and hp.tied else None)
        if base_shape != implied:
            raise _shape_mismatch(pair.module, implied, base_shape, hp)
        if weight not in expected or tmap.get_name(weight, try_suffixes=(".weight",)) is None:
            raise _unsupported(f"The adapter changes {pair.module}, which llama.cpp cannot map for {hp.arch}",
                               "Deploy it with vLLM, or merge it with PEFT and deploy the merge.")
        if as_adapter_gguf and hp.tied and weight in ("lm_head.weight", "model.embed_tokens.weight"):
            raise _unsupported(f"The adapter changes {pair.module} of a model with tied embeddings; a llama.cpp "
                               f"adapter cannot change one without the other", "Deploy it merged.")
    for name, src in adapter.saved.items():
        base_shape = base_shapes.get(name) or (base_shapes.get("model.embed_tokens.weight")
                                               if name == "lm_head.weight" and hp.tied else None)
        if base_shape is None and name not in expected:
            raise _unsupported(f"The adapter saves {name}, which the base model ({hp.hf_arch}) does not have",
                               "Pick the base model the adapter was trained on, or deploy it with vLLM.")
        if base_shape is not None and tuple(src.shape) != tuple(base_shape):
            raise _shape_mismatch(name, src.shape, base_shape, hp)
        if as_adapter_gguf:
            if len(src.shape) != 2:
                raise _unsupported(f"The adapter saves {name} (modules_to_save); llama.cpp adapters cannot "
                                   f"change 1-D tensors", "Deploy it merged.")
            if hp.tied and name in ("lm_head.weight", "model.embed_tokens.weight"):
                raise _unsupported(f"The adapter saves {name} of a model with tied embeddings; a llama.cpp "
                                   f"adapter cannot change one without the other", "Deploy it merged.")
    for name, src in adapter.base_layers.items():
        if tuple(src.shape) != tuple(base_shapes.get(name, ())):
            raise _shape_mismatch(name, src.shape, base_shapes.get(name), hp)


def f32(src: TensorSource) -> np.ndarray:
    """A tensor as float32 (BF16 bit patterns widened)."""
    data = np.asarray(src.load())
    if src.dtype == "BF16":
        return (data.astype(np.uint32) << 16).view(np.float32)
    return data.astype(np.float32)


def delta(pair: LoraPair) -> np.ndarray:
    """PEFT's weight delta in the base weight's HF layout: scale * B @ A (embeddings: its transpose)."""
    assert pair.a is not None and pair.b is not None
    d = (f32(pair.b).astype(np.float64) @ f32(pair.a).astype(np.float64)) * pair.scale
    return (d.T if pair.embedding else d).astype(np.float32)


@dataclass
class Base:
    """The base model: its hyperparameters and tensors (memory-mapped on demand)."""

    folder: Path
    hp: Hparams
    sources: dict[str, TensorSource]

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {n: s.shape for n, s in self.sources.items()}


def open_base(folder: Path) -> Base:
    return Base(folder, read_hparams(load_config(folder)), open_tensors(folder))


def summary(adapter: Adapter, base: Base) -> dict[str, Any]:
    """What --check prints: the adapter's rank, alpha, modules and sizes, and the base it was checked against."""
    ranks = sorted({p.rank for p in adapter.pairs.values()})
    return {
        "event": "checked", "base": str(base.folder), "architecture": base.hp.hf_arch,
        "hidden_size": base.hp.n_embd, "layers": base.hp.n_layer, "ranks": ranks, "alpha": adapter.alpha,
        "rslora": bool(adapter.config.get("use_rslora")), "adapted": len(adapter.pairs),
        "modules_to_save": sorted(adapter.saved),
        "adapter_params": sum(p.a.n_elements + p.b.n_elements for p in adapter.pairs.values()  # type: ignore
                              ) + sum(s.n_elements for s in adapter.saved.values()),
    }


# ---------------------------------------------------------------------------------------------------------------
# merged: the base plan with adapted tensors replaced by W + delta


def merged_sources(adapter: Adapter, base: Base) -> tuple[dict[str, TensorSource], list[PlannedTensor]]:
    """Base sources with each adapted tensor's loader returning the merged float32 weight, plus extra tensors
    a tied base needs once its output and embeddings differ."""
    sources = dict(base.sources)
    changed: dict[str, list[Callable[[], np.ndarray]]] = {}
    for weight, pair in adapter.pairs.items():
        changed.setdefault(weight, []).append(lambda pair=pair: delta(pair))
    extra: list[PlannedTensor] = []
    hp = base.hp
    embed = "model.embed_tokens.weight"
    if hp.tied and ("lm_head.weight" in adapter.pairs or "lm_head.weight" in adapter.saved
                    or embed in adapter.pairs or embed in adapter.saved):
        # untie: the output keeps (or gets) its own weight, which llama.cpp loads as output.weight
        if "lm_head.weight" not in sources:
            sources["lm_head.weight"] = base.sources[embed]
        extra.append(PlannedTensor("output.weight", "lm_head.weight", base.sources[embed].shape, False, None))

    for name in set(changed) | set(adapter.saved):
        original = sources[name]

        def load(name=name, original=original) -> np.ndarray:
            if name in adapter.saved:
                w = f32(adapter.saved[name])
            else:
                w = f32(original)
            for d in changed.get(name, []):
                w = w + d()
            return w

        sources[name] = TensorSource(name, "F32", original.shape, original.file, load)
    return sources, extra


# ---------------------------------------------------------------------------------------------------------------
# adapter GGUF


@dataclass
class AdapterTensor:
    gguf_name: str  # <base gguf name>.lora_a / .lora_b
    shape: tuple[int, ...]  # numpy shape
    load: Callable[[], np.ndarray]


def _permute(hp: Hparams, weight: str) -> int | None:
    """Llama's Q/K rows are reordered for llama.cpp's RoPE layout: their LoRA B rows must follow."""
    if hp.arch != "llama":
        return None
    if weight.endswith("self_attn.q_proj.weight"):
        return hp.n_head
    if weight.endswith("self_attn.k_proj.weight"):
        return hp.n_head_kv
    return None


def adapter_tensors(adapter: Adapter, base: Base) -> list[AdapterTensor]:
    """The lora_a / lora_b pairs of the adapter GGUF, with PEFT's per-module scale folded into lora_b."""
    from .tensors import permute_rows

    hp = base.hp
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH[hp.arch.upper()], hp.n_layer)
    alpha = adapter.alpha
    out: list[AdapterTensor] = []

    def fold(b: np.ndarray, rank: int, scale: float) -> np.ndarray:
        llama_scale = alpha / rank if alpha else 1.0
        return b if math.isclose(scale, llama_scale, rel_tol=1e-9) else b * np.float32(scale / llama_scale)

    def add(weight: str, a_shape, b_shape, load_a, load_b) -> None:
        name = tmap.get_name(weight, try_suffixes=(".weight",))
        assert name is not None
        out.append(AdapterTensor(name + ".lora_a", tuple(a_shape), load_a))
        out.append(AdapterTensor(name + ".lora_b", tuple(b_shape), load_b))

    for weight, pair in sorted(adapter.pairs.items()):
        assert pair.a is not None and pair.b is not None
        rank, perm = pair.rank, _permute(hp, weight)
        if pair.embedding:  # ggml: lora_a ne [r, vocab] = A^T, lora_b ne [r, embd] = B
            add(weight, pair.a.shape[::-1], pair.b.shape,
                lambda pair=pair: np.ascontiguousarray(f32(pair.a).T),  # type: ignore[arg-type]
                lambda pair=pair, rank=rank: fold(f32(pair.b), rank, pair.scale))  # type: ignore[arg-type]
        else:
            def load_b(pair=pair, rank=rank, perm=perm) -> np.ndarray:
                b = fold(f32(pair.b), rank, pair.scale)  # type: ignore[arg-type]
                return permute_rows(b, perm) if perm else b
            add(weight, pair.a.shape, pair.b.shape, lambda pair=pair: f32(pair.a), load_b)  # type: ignore

    for name, src in sorted(adapter.saved.items()):
        # a saved full tensor W' is the full-rank pair W' - W = I @ (W' - W), scaled 1
        rows, cols = src.shape
        perm = _permute(hp, name)

        def full_delta(name=name, src=src, perm=perm) -> np.ndarray:
            d = f32(src) - f32(base.sources[name])
            return permute_rows(d, perm) if perm else d

        if name == "model.embed_tokens.weight":  # (vocab, embd): lora_a = delta (vocab, r=embd), lora_b = I
            add(name, (rows, cols), (cols, cols), full_delta,
                lambda cols=cols: fold(np.eye(cols, dtype=np.float32), cols, 1.0))
        else:  # (out, in): lora_a = I (r=in, in), lora_b = delta (out, in)
            add(name, (cols, cols), (rows, cols), lambda cols=cols: np.eye(cols, dtype=np.float32),
                lambda full_delta=full_delta, cols=cols: fold(full_delta(), cols, 1.0))
    return out


WIDTHS = {"F32": (np.float32, 4), "F16": (np.float16, 2)}


def write_adapter_gguf(adapter: Adapter, base: Base, out_path: Path, outtype: str, reporter) -> int:
    """Writes the llama.cpp LoRA GGUF (flushed and fsynced); returns its size."""
    import os

    np_type, width = WIDTHS[outtype]
    tensors = adapter_tensors(adapter, base)
    w = gguf.GGUFWriter(path=None, arch=base.hp.arch)
    w.add_type(gguf.GGUFType.ADAPTER)
    w.add_string(gguf.Keys.Adapter.TYPE, "lora")
    w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, adapter.alpha)
    w.add_name(adapter.folder.name)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if outtype == "F16" else gguf.LlamaFileType.ALL_F32)
    for t in tensors:
        w.add_tensor_info(t.gguf_name, t.shape, np.dtype(np_type), int(np.prod(t.shape)) * width)
    w.write_header_to_file(path=out_path)
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    assert w.fout is not None
    fout = w.fout[0]
    total = sum(int(np.prod(t.shape)) * width for t in tensors)
    done = 0
    for i, t in enumerate(tensors):
        n = (-fout.tell()) % w.data_alignment
        if n:
            fout.write(b"\0" * n)
        data = np.ascontiguousarray(t.load(), dtype=np.float32)
        if tuple(data.shape) != t.shape:
            raise ConvertError("INTERNAL", f"{t.gguf_name}: planned {t.shape}, computed {data.shape}")
        if not np.isfinite(data).all():
            reporter.warn(f"{t.gguf_name} holds NaN or Inf values")
        fout.write(data.astype(np_type).tobytes())
        done += data.size * width
        reporter.progress("convert", i + 1, len(tensors), done, total, force=i + 1 == len(tensors))
    n = (-fout.tell()) % w.data_alignment
    if n:
        fout.write(b"\0" * n)
    fout.flush()
    os.fsync(fout.fileno())
    size = fout.tell()
    w.close()
    return size
