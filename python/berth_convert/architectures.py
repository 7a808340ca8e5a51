"""What Berth knows about each supported architecture: hyperparameters with transformers' defaults, the tensors a
checkpoint must hold (with their shapes), and how each becomes a GGUF tensor."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import gguf
import numpy as np

from .errors import ConvertError

# HF architecture -> (GGUF architecture, transformers' config defaults for that model type).
_COMMON = {"rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": False, "attention_bias": False}
ARCHITECTURES: dict[str, tuple[str, dict[str, Any]]] = {
    "LlamaForCausalLM": ("llama", {**_COMMON, "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008,
                                   "num_hidden_layers": 32, "num_attention_heads": 32,
                                   "max_position_embeddings": 2048}),
    "MistralForCausalLM": ("llama", {**_COMMON, "vocab_size": 32000, "hidden_size": 4096,
                                     "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
                                     "num_key_value_heads": 8, "max_position_embeddings": 131072}),
    "Qwen2ForCausalLM": ("qwen2", {**_COMMON, "vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 22016,
                                   "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                                   "max_position_embeddings": 32768}),
    "Qwen3ForCausalLM": ("qwen3", {**_COMMON, "vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 22016,
                                   "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                                   "head_dim": 128, "max_position_embeddings": 32768}),
    "Gemma2ForCausalLM": ("gemma2", {**_COMMON, "vocab_size": 256000, "hidden_size": 2304,
                                     "intermediate_size": 9216, "num_hidden_layers": 26, "num_attention_heads": 8,
                                     "num_key_value_heads": 4, "head_dim": 256, "max_position_embeddings": 8192,
                                     "tie_word_embeddings": True, "attn_logit_softcapping": 50.0,
                                     "final_logit_softcapping": 30.0, "query_pre_attn_scalar": 256,
                                     "sliding_window": 4096}),
    "Phi3ForCausalLM": ("phi3", {**_COMMON, "rms_norm_eps": 1e-5, "vocab_size": 32064, "hidden_size": 3072,
                                 "intermediate_size": 8192, "num_hidden_layers": 32, "num_attention_heads": 32,
                                 "max_position_embeddings": 4096, "sliding_window": None}),
}
SUPPORTED = ", ".join(ARCHITECTURES)


@dataclass
class Hparams:
    """The config facts the converter uses, defaults filled in as transformers would."""

    hf_arch: str
    arch: str
    raw: dict[str, Any]
    n_vocab: int
    n_embd: int
    n_ff: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ctx: int
    rms_eps: float
    tied: bool
    rope: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


def read_hparams(config: dict[str, Any]) -> Hparams:
    archs = config.get("architectures") or []
    hf_arch = next((a for a in archs if a in ARCHITECTURES), None)
    if hf_arch is None:
        found = ", ".join(archs) or f"model_type {config.get('model_type', '?')}"
        raise ConvertError("UNSUPPORTED_MODEL", f"Berth cannot convert {found} to GGUF",
                           f"Supported architectures: {SUPPORTED}. vLLM can serve other architectures as they are.")
    arch, defaults = ARCHITECTURES[hf_arch]
    raw = {**defaults, **{k: v for k, v in config.items() if v is not None or k not in defaults}}
    n_head = int(raw["num_attention_heads"])
    n_embd = int(raw["hidden_size"])
    head_dim = raw.get("head_dim") or n_embd // n_head
    # transformers 5 keeps rope settings in rope_parameters; 4.x in rope_scaling + rope_theta.
    rope = dict(raw.get("rope_parameters") or raw.get("rope_scaling") or {})
    if "type" in rope and "rope_type" not in rope:
        rope["rope_type"] = rope["type"]
    rope.setdefault("rope_theta", raw.get("rope_theta", 10000.0))
    return Hparams(
        hf_arch=hf_arch, arch=arch, raw=raw, n_vocab=int(raw["vocab_size"]), n_embd=n_embd,
        n_ff=int(raw["intermediate_size"]), n_layer=int(raw["num_hidden_layers"]), n_head=n_head,
        n_head_kv=int(raw.get("num_key_value_heads") or n_head), head_dim=int(head_dim),
        n_ctx=int(raw["max_position_embeddings"]), rms_eps=float(raw["rms_norm_eps"]),
        tied=bool(raw.get("tie_word_embeddings")), rope=rope,
    )


def write_hparams(w: gguf.GGUFWriter, hp: Hparams, warn) -> None:
    """The GGUF metadata llama.cpp reads for this architecture."""
    w.add_context_length(hp.n_ctx)
    w.add_embedding_length(hp.n_embd)
    w.add_block_count(hp.n_layer)
    w.add_feed_forward_length(hp.n_ff)
    w.add_head_count(hp.n_head)
    w.add_head_count_kv(hp.n_head_kv)
    w.add_layer_norm_rms_eps(hp.rms_eps)
    w.add_rope_freq_base(float(hp.rope["rope_theta"]))
    if hp.raw.get("head_dim") or hp.arch in ("qwen3", "gemma2"):
        w.add_key_length(hp.head_dim)
        w.add_value_length(hp.head_dim)
    rope_type = str(hp.rope.get("rope_type", "default")).lower()
    factor = hp.rope.get("factor")
    if rope_type == "linear" and factor:
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(float(factor))
    elif rope_type == "yarn" and factor:
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(float(factor))
        w.add_rope_scaling_orig_ctx_len(int(hp.rope["original_max_position_embeddings"]))
    elif rope_type not in ("default", "llama3", "longrope", "su"):
        warn(f"RoPE type {rope_type!r} is not converted; llama.cpp will use plain RoPE")

    if hp.arch == "llama":
        w.add_vocab_size(hp.n_vocab)
        w.add_rope_dimension_count(hp.head_dim)
    elif hp.arch == "gemma2":
        w.add_attn_logit_softcapping(float(hp.raw["attn_logit_softcapping"]))
        w.add_final_logit_softcapping(float(hp.raw["final_logit_softcapping"]))
        w.add_sliding_window(int(hp.raw["sliding_window"]))
        scalar = hp.raw.get("query_pre_attn_scalar")
        if scalar not in (hp.head_dim, hp.n_embd // hp.n_head):
            warn(f"query_pre_attn_scalar {scalar} differs from head_dim {hp.head_dim}; llama.cpp scales attention "
                 f"by 1/sqrt(head_dim), so outputs will differ from transformers")
    elif hp.arch == "phi3":
        rot = float(hp.rope.get("partial_rotary_factor", hp.raw.get("partial_rotary_factor", 1.0)))
        orig = hp.rope.get("original_max_position_embeddings", hp.raw.get("original_max_position_embeddings", hp.n_ctx))
        w.add_rope_scaling_orig_ctx_len(int(orig))
        w.add_rope_dimension_count(int(rot * hp.n_embd) // hp.n_head)
        w.add_sliding_window(int(hp.raw.get("sliding_window") or 0))
        if hp.rope.get("long_factor"):
            scale = hp.n_ctx / int(orig)
            attn = math.sqrt(1 + math.log(scale) / math.log(int(orig))) if scale > 1.0 else 1.0
            w.add_rope_scaling_type(gguf.RopeScalingType.LONGROPE)
            w.add_rope_scaling_attn_factors(attn)


def extra_tensors(hp: Hparams) -> dict[str, np.ndarray]:
    """Tensors llama.cpp needs that the checkpoint does not hold: Llama-3 rope factors, Phi-3 longrope factors."""
    out: dict[str, np.ndarray] = {}
    rope_type = str(hp.rope.get("rope_type", "")).lower()
    if hp.arch == "llama" and rope_type == "llama3":
        base = float(hp.rope["rope_theta"])
        dim = hp.head_dim
        freqs = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
        factor = float(hp.rope.get("factor", 8.0))
        low = float(hp.rope.get("low_freq_factor", 1.0))
        high = float(hp.rope.get("high_freq_factor", 4.0))
        old_ctx = float(hp.rope.get("original_max_position_embeddings", 8192))
        low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
        factors = []
        for f in freqs:
            wavelen = 2 * math.pi / f
            if wavelen < high_wavelen:
                factors.append(1.0)
            elif wavelen > low_wavelen:
                factors.append(factor)
            else:
                smooth = (old_ctx / wavelen - low) / (high - low)
                factors.append(1 / ((1 - smooth) / factor + smooth))
        out["rope_freqs.weight"] = np.array(factors, dtype=np.float32)
    if hp.arch == "phi3" and hp.rope.get("long_factor"):
        out["rope_factors_long.weight"] = np.array(hp.rope["long_factor"], dtype=np.float32)
        out["rope_factors_short.weight"] = np.array(hp.rope["short_factor"], dtype=np.float32)
    return out


def expected_tensors(hp: Hparams) -> tuple[dict[str, tuple[int, ...]], set[str]]:
    """HF tensor name -> shape, for the tensors the architecture requires, and the names it may also hold."""
    E, F, V, D = hp.n_embd, hp.n_ff, hp.n_vocab, hp.head_dim
    q, kv = hp.n_head * D, hp.n_head_kv * D
    need: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (V, E), "model.norm.weight": (E,)}
    optional: dict[str, tuple[int, ...]] = {}
    if not hp.tied and hp.arch != "gemma2":
        need["lm_head.weight"] = (V, E)
    for i in range(hp.n_layer):
        p = f"model.layers.{i}."
        layer = {"input_layernorm.weight": (E,), "post_attention_layernorm.weight": (E,),
                 "self_attn.o_proj.weight": (E, q), "mlp.down_proj.weight": (E, F)}
        if hp.arch == "phi3":
            layer |= {"self_attn.qkv_proj.weight": (q + 2 * kv, E), "mlp.gate_up_proj.weight": (2 * F, E)}
        else:
            layer |= {"self_attn.q_proj.weight": (q, E), "self_attn.k_proj.weight": (kv, E),
                      "self_attn.v_proj.weight": (kv, E), "mlp.gate_proj.weight": (F, E),
                      "mlp.up_proj.weight": (F, E)}
        biases = {"self_attn.q_proj.bias": (q,), "self_attn.k_proj.bias": (kv,), "self_attn.v_proj.bias": (kv,)}
        if hp.arch == "qwen2" or hp.get("attention_bias"):
            layer |= biases
        if hp.arch == "qwen3":
            layer |= {"self_attn.q_norm.weight": (D,), "self_attn.k_norm.weight": (D,)}
        if hp.arch == "gemma2":
            layer |= {"pre_feedforward_layernorm.weight": (E,), "post_feedforward_layernorm.weight": (E,)}
        if hp.get("attention_bias") and hp.arch == "llama":
            optional[p + "self_attn.o_proj.bias"] = (E,)
        need |= {p + k: v for k, v in layer.items()}
    optional["lm_head.weight"] = (V, E)
    return need | {k: v for k, v in optional.items() if k not in need}, set(optional) - set(need)


IGNORED = re.compile(r"(^|\.)rotary_emb\.inv_freq$")


@dataclass
class PlannedTensor:
    """One GGUF tensor: its name, its source (HF name), GGUF shape, whether it is kept F32, and its transform."""

    gguf_name: str
    hf_name: str | None
    shape: tuple[int, ...]
    f32: bool
    transform: str | None  # "permute_q" | "permute_k" | "plus_one" | None


def plan_tensors(hp: Hparams, names_and_shapes: dict[str, tuple[int, ...]], warn) -> list[PlannedTensor]:
    """Checks the checkpoint's tensors against the architecture and maps each to its GGUF name."""
    expected, optional = expected_tensors(hp)
    missing = [n for n in expected if n not in names_and_shapes and n not in optional]
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        raise ConvertError("TENSOR_MISSING", f"The checkpoint has no tensor {', '.join(missing[:3])}{more}",
                           "The weights are incomplete or do not match config.json; copy the whole checkpoint.")
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH[hp.arch.upper()], hp.n_layer)
    planned = []
    for name, shape in names_and_shapes.items():
        if IGNORED.search(name):
            continue
        if name == "lm_head.weight" and (hp.tied or hp.arch == "gemma2"):
            continue  # tied: llama.cpp reuses token_embd
        if name not in expected:
            raise ConvertError("UNSUPPORTED_MODEL", f"Unexpected tensor {name} for {hp.hf_arch}",
                               "The checkpoint holds weights this architecture does not have (a custom or "
                               "quantized model?); only plain fine-tunes of supported architectures convert.")
        if tuple(shape) != expected[name]:
            raise ConvertError("TENSOR_SHAPE", f"Tensor {name} has shape {list(shape)}, config.json implies "
                               f"{list(expected[name])}", "config.json does not describe these weights.")
        gname = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        if gname is None:
            raise ConvertError("UNSUPPORTED_MODEL", f"No GGUF name for tensor {name} ({hp.arch})")
        transform = None
        if hp.arch == "llama" and re.search(r"self_attn\.q_proj\.(weight|bias)$", name):
            transform = "permute_q"
        elif hp.arch == "llama" and re.search(r"self_attn\.k_proj\.(weight|bias)$", name):
            transform = "permute_k"
        elif hp.arch == "gemma2" and name.endswith("norm.weight"):
            transform = "plus_one"
        planned.append(PlannedTensor(gname, name, tuple(shape), len(shape) == 1, transform))
    return planned
