"""What Berth knows about each supported architecture, in one table (`ARCHITECTURES`): the GGUF architecture,
transformers' config defaults, the layer layout (attention, norms, MLP or experts), the tensor transforms, and the
architecture's own GGUF keys. Adding an architecture llama.cpp already runs is one `Arch` entry, plus a `keys`
function when it has hyperparameters of its own.

Facts (names, layouts, keys) come from gguf-py's MODEL_ARCH / TensorNameMap and llama.cpp's loader."""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import gguf
import numpy as np

from .errors import ConvertError

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Arch:
    """One Hugging Face architecture as llama.cpp expects it."""

    gguf: str                                   # GGUF / llama.cpp architecture name
    defaults: dict[str, Any]                    # transformers' config defaults for this model type
    attn: str = "split"                         # "split" q/k/v projections | "fused" qkv_proj (Phi-3)
    qk_norm: str | None = None                  # "head" (RMSNorm per head) | "full" (OLMo 2: whole projection)
    norms: tuple[str, ...] = ("input_layernorm", "post_attention_layernorm")
    mlp: str = "dense"                          # "dense" | "fused" (gate_up_proj) | "experts" | "granite_moe"
    experts: tuple[str, str, str, str] | None = None  # (router, gate, up, down) HF names; {x} is the expert
    shared_expert: str | None = None            # HF prefix of an always-on expert with its own sigmoid gate
    permute_qk: bool = False                    # HF rotate-half -> llama.cpp's interleaved RoPE (NORM rope type)
    norm_plus_one: bool = False                 # Gemma's RMSNorm scales by (1 + w)
    lm_head: str = "config"                     # "config": untied unless tie_word_embeddings | "never" written
    biases: str = "config"                      # "always" (Qwen2) | "config" (attention_bias)
    keys: Callable[[gguf.GGUFWriter, "Hparams", Callable[[str], None]], None] | None = None
    prefixes: tuple[tuple[str, str], ...] = ()  # HF name prefixes of a wrapped text model -> plain names
    dropped: tuple[str, str] | None = None      # (regex of tensors that are not converted, what they are)


_COMMON = {"rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": False, "attention_bias": False}
_QWEN3_MOE_EXPERTS = ("mlp.gate", "mlp.experts.{x}.gate_proj", "mlp.experts.{x}.up_proj", "mlp.experts.{x}.down_proj")
_MIXTRAL_EXPERTS = ("block_sparse_moe.gate", "block_sparse_moe.experts.{x}.w1", "block_sparse_moe.experts.{x}.w3",
                    "block_sparse_moe.experts.{x}.w2")
_GEMMA_NORMS = ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                "post_feedforward_layernorm")


@dataclass
class Hparams:
    """The config facts the converter uses, defaults filled in as transformers would."""

    hf_arch: str
    arch: str
    spec: Arch
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
    n_expert: int = 0
    n_expert_used: int = 0
    n_ff_exp: int = 0
    n_ff_shexp: int = 0  # shared experts' intermediate size (GraniteMoeShared); 0 without

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


# --- architecture-specific GGUF keys -------------------------------------------------------------------------

def _keys_llama(w: gguf.GGUFWriter, hp: Hparams, warn) -> None:
    w.add_vocab_size(hp.n_vocab)
    w.add_rope_dimension_count(hp.head_dim)


def _keys_gemma2(w: gguf.GGUFWriter, hp: Hparams, warn) -> None:
    w.add_attn_logit_softcapping(float(hp.raw["attn_logit_softcapping"]))
    w.add_final_logit_softcapping(float(hp.raw["final_logit_softcapping"]))
    w.add_sliding_window(int(hp.raw["sliding_window"]))
    _check_attn_scalar(hp, warn)


def _check_attn_scalar(hp: Hparams, warn) -> None:
    scalar = hp.raw.get("query_pre_attn_scalar")
    if scalar not in (hp.head_dim, hp.n_embd // hp.n_head):
        warn(f"query_pre_attn_scalar {scalar} differs from head_dim {hp.head_dim}; llama.cpp scales attention "
             f"by 1/sqrt(head_dim), so outputs will differ from transformers")


GEMMA3_SWA_PATTERN = 6  # llama.cpp: every 6th layer global, the other five sliding-window (not read from the GGUF)
GEMMA3_LOCAL_ROPE_BASE = 10000.0


def gemma3_layer_types(n_layer: int) -> list[str]:
    return ["full_attention" if (i + 1) % GEMMA3_SWA_PATTERN == 0 else "sliding_attention" for i in range(n_layer)]


def _keys_gemma3(w: gguf.GGUFWriter, hp: Hparams, warn) -> None:
    pattern = hp.raw.get("sliding_window_pattern", GEMMA3_SWA_PATTERN)  # transformers 4.x
    types = hp.raw.get("layer_types") or gemma3_layer_types(hp.n_layer)
    if list(types) != gemma3_layer_types(hp.n_layer) or pattern != GEMMA3_SWA_PATTERN:
        raise ConvertError("UNSUPPORTED_MODEL", "This Gemma 3's layer_types are not llama.cpp's fixed pattern "
                           f"(five sliding-window layers, then one global): {types}",
                           "Only Gemma 3 checkpoints with the standard layer pattern convert.")
    w.add_sliding_window(int(hp.raw["sliding_window"]))
    local = float(hp.raw.get("_local_rope_theta", GEMMA3_LOCAL_ROPE_BASE))
    w.add_rope_freq_base_swa(local)
    if local != GEMMA3_LOCAL_ROPE_BASE:
        warn(f"rope_local_base_freq {local} is not 10000; llama.cpp may use 10000 for the sliding-window layers")
    if hp.raw.get("final_logit_softcapping"):
        w.add_final_logit_softcapping(float(hp.raw["final_logit_softcapping"]))
    if hp.raw.get("attn_logit_softcapping"):
        warn("attn_logit_softcapping is set; llama.cpp's Gemma 3 does not soft-cap attention")
    _check_attn_scalar(hp, warn)


def _keys_phi3(w: gguf.GGUFWriter, hp: Hparams, warn) -> None:
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


def _keys_smollm3(w: gguf.GGUFWriter, hp: Hparams, warn) -> None:
    # llama.cpp skips RoPE in every 4th layer (fixed; not read from the GGUF)
    expected = [int((i + 1) % 4 != 0) for i in range(hp.n_layer)]
    found = hp.raw.get("no_rope_layers") or expected
    if list(found) != expected:
        raise ConvertError("UNSUPPORTED_MODEL", f"This SmolLM3's no_rope_layers {found} are not llama.cpp's fixed "
                           "pattern (RoPE skipped in every 4th layer)",
                           "Only SmolLM3 checkpoints with the standard no-RoPE pattern convert.")
    w.add_vocab_size(hp.n_vocab)
    w.add_rope_dimension_count(hp.head_dim)


def _keys_granite(w: gguf.GGUFWriter, hp: Hparams, warn) -> None:
    w.add_vocab_size(hp.n_vocab)
    w.add_rope_dimension_count(hp.head_dim)
    w.add_embedding_scale(float(hp.raw.get("embedding_multiplier", 1.0)))
    w.add_residual_scale(float(hp.raw.get("residual_multiplier", 1.0)))
    w.add_attention_scale(float(hp.raw.get("attention_multiplier", 1.0)))
    w.add_logit_scale(float(hp.raw.get("logits_scaling", 1.0)))
    if hp.n_ff_shexp:
        w.add_expert_shared_feed_forward_length(hp.n_ff_shexp)


def _keys_qwen2moe(w: gguf.GGUFWriter, hp: Hparams, warn) -> None:
    if hp.raw.get("norm_topk_prob", False):
        warn("norm_topk_prob is true: transformers renormalises the chosen experts' weights, llama.cpp's Qwen2-MoE "
             "does not, so outputs will differ")
    if hp.raw.get("mlp_only_layers") or int(hp.raw.get("decoder_sparse_step", 1)) != 1:
        raise ConvertError("UNSUPPORTED_MODEL", "This Qwen2-MoE mixes dense and expert layers "
                           "(mlp_only_layers / decoder_sparse_step), which llama.cpp's Qwen2-MoE does not",
                           "Only Qwen2-MoE checkpoints with experts in every layer convert.")
    if hp.n_ff_shexp:
        w.add_expert_shared_feed_forward_length(hp.n_ff_shexp)


def _keys_qwen3moe(w: gguf.GGUFWriter, hp: Hparams, warn) -> None:
    if not hp.raw.get("norm_topk_prob", False):
        warn("norm_topk_prob is false: transformers does not renormalise the chosen experts' weights, llama.cpp's "
             "Qwen3-MoE does, so outputs will differ")
    sparse_step = int(hp.raw.get("decoder_sparse_step", 1))
    if hp.raw.get("mlp_only_layers") or sparse_step != 1:
        raise ConvertError("UNSUPPORTED_MODEL", "This Qwen3-MoE mixes dense and expert layers "
                           "(mlp_only_layers / decoder_sparse_step), which llama.cpp's Qwen3-MoE does not",
                           "Only Qwen3-MoE checkpoints with experts in every layer convert.")


# Rope dims for Llama-family MoE (Mixtral) come from _keys_llama; the expert keys are written for every MoE.
_LLAMA = {**_COMMON, "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
          "num_attention_heads": 32, "max_position_embeddings": 2048}
_GEMMA3 = Arch("gemma3", {**_COMMON, "vocab_size": 262208, "hidden_size": 2304, "intermediate_size": 9216,
                          "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4,
                          "head_dim": 256, "max_position_embeddings": 131072, "tie_word_embeddings": True,
                          "query_pre_attn_scalar": 256, "sliding_window": 4096, "rope_theta": 1000000.0,
                          "rope_local_base_freq": 10000.0},
               qk_norm="head", norms=_GEMMA_NORMS, norm_plus_one=True, lm_head="never", keys=_keys_gemma3)

ARCHITECTURES: dict[str, Arch] = {
    "LlamaForCausalLM": Arch("llama", _LLAMA, permute_qk=True, keys=_keys_llama),
    "MistralForCausalLM": Arch("llama", {**_LLAMA, "intermediate_size": 14336, "num_key_value_heads": 8,
                                         "max_position_embeddings": 131072}, permute_qk=True, keys=_keys_llama),
    "MixtralForCausalLM": Arch("llama", {**_LLAMA, "rms_norm_eps": 1e-5, "intermediate_size": 14336,
                                         "num_key_value_heads": 8, "max_position_embeddings": 131072,
                                         "rope_theta": 1e6, "num_local_experts": 8, "num_experts_per_tok": 2},
                               mlp="experts", experts=_MIXTRAL_EXPERTS, permute_qk=True, keys=_keys_llama),
    "Qwen2ForCausalLM": Arch("qwen2", {**_COMMON, "vocab_size": 151936, "hidden_size": 4096,
                                       "intermediate_size": 22016, "num_hidden_layers": 32, "num_attention_heads": 32,
                                       "num_key_value_heads": 32, "max_position_embeddings": 32768},
                             biases="always"),
    "Qwen3ForCausalLM": Arch("qwen3", {**_COMMON, "vocab_size": 151936, "hidden_size": 4096,
                                       "intermediate_size": 22016, "num_hidden_layers": 32, "num_attention_heads": 32,
                                       "num_key_value_heads": 32, "head_dim": 128, "max_position_embeddings": 32768},
                             qk_norm="head"),
    "Qwen2MoeForCausalLM": Arch("qwen2moe", {**_COMMON, "vocab_size": 151936, "hidden_size": 2048,
                                             "intermediate_size": 5632, "moe_intermediate_size": 1408,
                                             "shared_expert_intermediate_size": 5632, "num_hidden_layers": 24,
                                             "num_attention_heads": 16, "num_key_value_heads": 16,
                                             "max_position_embeddings": 32768, "num_experts": 60,
                                             "num_experts_per_tok": 4, "norm_topk_prob": False},
                                biases="always", mlp="experts", experts=_QWEN3_MOE_EXPERTS,
                                shared_expert="mlp.shared_expert", keys=_keys_qwen2moe),
    "Qwen3MoeForCausalLM": Arch("qwen3moe", {**_COMMON, "vocab_size": 151936, "hidden_size": 2048,
                                             "intermediate_size": 6144, "moe_intermediate_size": 768,
                                             "num_hidden_layers": 24, "num_attention_heads": 32,
                                             "num_key_value_heads": 4,
                                             "max_position_embeddings": 32768, "num_experts": 128,
                                             "num_experts_per_tok": 8, "norm_topk_prob": False},
                                qk_norm="head", mlp="experts", experts=_QWEN3_MOE_EXPERTS, keys=_keys_qwen3moe),
    "Gemma2ForCausalLM": Arch("gemma2", {**_COMMON, "vocab_size": 256000, "hidden_size": 2304,
                                         "intermediate_size": 9216, "num_hidden_layers": 26,
                                         "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
                                         "max_position_embeddings": 8192, "tie_word_embeddings": True,
                                         "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0,
                                         "query_pre_attn_scalar": 256, "sliding_window": 4096},
                              norms=_GEMMA_NORMS, norm_plus_one=True, lm_head="never", keys=_keys_gemma2),
    "Gemma3ForCausalLM": _GEMMA3,
    # The text part of the multimodal Gemma 3 (4B and up); the SigLIP vision tower is left out, with a warning.
    "Gemma3ForConditionalGeneration": Arch(
        **{**_GEMMA3.__dict__, "prefixes": (("language_model.model.", "model."), ("model.language_model.", "model."),
                                            ("language_model.lm_head.", "lm_head.")),
           "dropped": (r"^(model\.)?(vision_tower|multi_modal_projector)\.", "the vision tower and its projector")}),
    "Phi3ForCausalLM": Arch("phi3", {**_COMMON, "rms_norm_eps": 1e-5, "vocab_size": 32064, "hidden_size": 3072,
                                     "intermediate_size": 8192, "num_hidden_layers": 32, "num_attention_heads": 32,
                                     "max_position_embeddings": 4096, "sliding_window": None},
                            attn="fused", mlp="fused", keys=_keys_phi3),
    "SmolLM3ForCausalLM": Arch("smollm3", {**_COMMON, "vocab_size": 128256, "hidden_size": 2048,
                                           "intermediate_size": 11008, "num_hidden_layers": 36,
                                           "num_attention_heads": 16, "num_key_value_heads": 4,
                                           "max_position_embeddings": 32768, "rope_theta": 2000000.0,
                                           "tie_word_embeddings": True},
                               permute_qk=True, keys=_keys_smollm3),
    "Olmo2ForCausalLM": Arch("olmo2", {**_COMMON, "rms_norm_eps": 1e-5, "vocab_size": 50304, "hidden_size": 4096,
                                       "intermediate_size": 11008, "num_hidden_layers": 32,
                                       "num_attention_heads": 32, "max_position_embeddings": 2048},
                             qk_norm="full", norms=("post_attention_layernorm", "post_feedforward_layernorm")),
    "GraniteForCausalLM": Arch("granite", {**_LLAMA, "vocab_size": 32000}, permute_qk=True, keys=_keys_granite),
    "GraniteMoeForCausalLM": Arch("granitemoe", {**_LLAMA, "vocab_size": 32000, "num_local_experts": 8,
                                                 "num_experts_per_tok": 2},
                                  mlp="granite_moe", permute_qk=True, keys=_keys_granite),
    # GraniteMoe with a shared expert (shared_intermediate_size), as in Granite 4's MoE layers
    "GraniteMoeSharedForCausalLM": Arch("granitemoe", {**_LLAMA, "vocab_size": 32000, "num_local_experts": 8,
                                                       "num_experts_per_tok": 2, "shared_intermediate_size": 0},
                                        mlp="granite_moe", permute_qk=True, keys=_keys_granite),
}
SUPPORTED = ", ".join(ARCHITECTURES)


def nearest_known(name: str) -> str:
    """The supported architecture whose name is closest to `name` (its nearest relative, for the error message)."""
    base = re.sub(r"For(CausalLM|ConditionalGeneration|Vision2Seq|ImageTextToText)$", "", name).lower()
    names = {re.sub(r"For(CausalLM|ConditionalGeneration)$", "", a).lower(): a for a in ARCHITECTURES}
    close = difflib.get_close_matches(base, list(names), n=1, cutoff=0.0)
    return names[close[0]] if close else "LlamaForCausalLM"


def read_hparams(config: dict[str, Any]) -> Hparams:
    archs = config.get("architectures") or []
    hf_arch = next((a for a in archs if a in ARCHITECTURES), None)
    if hf_arch is None:
        found = ", ".join(archs) or f"model_type {config.get('model_type', '?')}"
        nearest = nearest_known(archs[0] if archs else str(config.get("model_type", "")))
        raise ConvertError("UNSUPPORTED_MODEL", f"Berth cannot convert {found} to GGUF (nearest known relative: "
                           f"{nearest})",
                           f"Supported architectures: {SUPPORTED}. A fine-tune of {nearest} converts; vLLM can "
                           "serve other architectures as they are.")
    spec = ARCHITECTURES[hf_arch]
    defaults = spec.defaults
    raw = {**defaults, **{k: v for k, v in config.items() if v is not None or k not in defaults}}
    n_head = int(raw["num_attention_heads"])
    n_embd = int(raw["hidden_size"])
    head_dim = raw.get("head_dim") or n_embd // n_head
    # transformers 5 keeps rope settings in rope_parameters (per layer type for Gemma 3); 4.x in rope_scaling +
    # rope_theta (+ rope_local_base_freq).
    params = dict(raw.get("rope_parameters") or {})
    if "full_attention" in params:
        local = params.get("sliding_attention") or {}
        raw["_local_rope_theta"] = local.get("rope_theta", raw.get("rope_local_base_freq", GEMMA3_LOCAL_ROPE_BASE))
        params = dict(params["full_attention"])
    elif "rope_local_base_freq" in raw:
        raw["_local_rope_theta"] = raw["rope_local_base_freq"]
    rope = params or dict(raw.get("rope_scaling") or {})
    if "type" in rope and "rope_type" not in rope:
        rope["rope_type"] = rope["type"]
    rope.setdefault("rope_theta", raw.get("rope_theta", 10000.0))
    n_expert = 0
    if spec.mlp in ("experts", "granite_moe"):  # transformers 5 saves num_local_experts, Qwen's hub num_experts
        n_expert = int(config.get("num_local_experts") or config.get("num_experts") or
                       defaults.get("num_local_experts") or defaults.get("num_experts"))
    n_ff = int(raw["intermediate_size"])
    return Hparams(
        hf_arch=hf_arch, arch=spec.gguf, spec=spec, raw=raw, n_vocab=int(raw["vocab_size"]), n_embd=n_embd,
        n_ff=n_ff, n_layer=int(raw["num_hidden_layers"]), n_head=n_head,
        n_head_kv=int(raw.get("num_key_value_heads") or n_head), head_dim=int(head_dim),
        n_ctx=int(raw["max_position_embeddings"]), rms_eps=float(raw["rms_norm_eps"]),
        tied=bool(raw.get("tie_word_embeddings")), rope=rope, n_expert=n_expert,
        n_expert_used=int(raw.get("num_experts_per_tok") or 0) if n_expert else 0,
        n_ff_exp=int(raw.get("moe_intermediate_size") or n_ff) if n_expert else 0,
        n_ff_shexp=int(raw.get("shared_intermediate_size") or 0) if spec.mlp == "granite_moe" else
        int(raw.get("shared_expert_intermediate_size") or 0) if spec.shared_expert else 0,
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
    if hp.raw.get("head_dim") or hp.spec.qk_norm == "head" or hp.spec.norm_plus_one:
        w.add_key_length(hp.head_dim)
        w.add_value_length(hp.head_dim)
    if hp.n_expert:
        w.add_expert_count(hp.n_expert)
        w.add_expert_used_count(hp.n_expert_used)
        if hp.raw.get("moe_intermediate_size"):
            w.add_expert_feed_forward_length(hp.n_ff_exp)
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
    if hp.spec.keys:
        hp.spec.keys(w, hp, warn)


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


def _layer_tensors(hp: Hparams) -> dict[str, Shape]:
    """One layer's HF tensors (relative names) and shapes."""
    spec = hp.spec
    E, F, D = hp.n_embd, hp.n_ff, hp.head_dim
    q, kv = hp.n_head * D, hp.n_head_kv * D
    layer: dict[str, Shape] = {f"{n}.weight": (E,) for n in spec.norms}
    layer["self_attn.o_proj.weight"] = (E, q)
    if spec.attn == "fused":
        layer["self_attn.qkv_proj.weight"] = (q + 2 * kv, E)
    else:
        layer |= {"self_attn.q_proj.weight": (q, E), "self_attn.k_proj.weight": (kv, E),
                  "self_attn.v_proj.weight": (kv, E)}
    if spec.biases == "always" or hp.get("attention_bias"):
        layer |= {"self_attn.q_proj.bias": (q,), "self_attn.k_proj.bias": (kv,), "self_attn.v_proj.bias": (kv,)}
    if spec.qk_norm == "head":
        layer |= {"self_attn.q_norm.weight": (D,), "self_attn.k_norm.weight": (D,)}
    elif spec.qk_norm == "full":
        layer |= {"self_attn.q_norm.weight": (q,), "self_attn.k_norm.weight": (kv,)}
    if spec.mlp == "dense":
        layer |= {"mlp.gate_proj.weight": (F, E), "mlp.up_proj.weight": (F, E), "mlp.down_proj.weight": (E, F)}
    elif spec.mlp == "fused":
        layer |= {"mlp.gate_up_proj.weight": (2 * F, E), "mlp.down_proj.weight": (E, F)}
    elif spec.mlp == "experts":
        assert spec.experts
        router, gate, up, down = spec.experts
        Fx = hp.n_ff_exp
        layer[f"{router}.weight"] = (hp.n_expert, E)
        for x in range(hp.n_expert):
            layer |= {f"{gate.format(x=x)}.weight": (Fx, E), f"{up.format(x=x)}.weight": (Fx, E),
                      f"{down.format(x=x)}.weight": (E, Fx)}
        if spec.shared_expert and hp.n_ff_shexp:
            S, se = hp.n_ff_shexp, spec.shared_expert
            layer |= {f"{se}.gate_proj.weight": (S, E), f"{se}.up_proj.weight": (S, E),
                      f"{se}.down_proj.weight": (E, S), f"{se}_gate.weight": (1, E)}
    elif spec.mlp == "granite_moe":
        layer |= {"block_sparse_moe.router.layer.weight": (hp.n_expert, E),
                  "block_sparse_moe.input_linear.weight": (hp.n_expert, 2 * F, E),
                  "block_sparse_moe.output_linear.weight": (hp.n_expert, E, F)}
        if hp.n_ff_shexp:  # GraniteMoeShared: one always-on expert, gate and up rows fused
            layer |= {"shared_mlp.input_linear.weight": (2 * hp.n_ff_shexp, E),
                      "shared_mlp.output_linear.weight": (E, hp.n_ff_shexp)}
    return layer


def expected_tensors(hp: Hparams) -> tuple[dict[str, Shape], set[str]]:
    """HF tensor name -> shape, for the tensors the architecture requires, and the names it may also hold."""
    E, V = hp.n_embd, hp.n_vocab
    need: dict[str, Shape] = {"model.embed_tokens.weight": (V, E), "model.norm.weight": (E,)}
    optional: dict[str, Shape] = {}
    if not hp.tied and hp.spec.lm_head != "never":
        need["lm_head.weight"] = (V, E)
    layer = _layer_tensors(hp)
    for i in range(hp.n_layer):
        p = f"model.layers.{i}."
        need |= {p + k: v for k, v in layer.items()}
        if hp.get("attention_bias") and hp.arch == "llama":
            optional[p + "self_attn.o_proj.bias"] = (E,)
    optional["lm_head.weight"] = (V, E)
    return need | {k: v for k, v in optional.items() if k not in need}, set(optional) - set(need)


IGNORED = re.compile(r"(^|\.)rotary_emb\.inv_freq$")


@dataclass
class PlannedTensor:
    """One GGUF tensor: its name, its source (HF name), GGUF shape (numpy order), whether it is kept F32, its
    transform, and, for stacked expert tensors, the parts (HF name, index into it) written one after another."""

    gguf_name: str
    hf_name: str | None
    shape: Shape
    f32: bool
    transform: str | None  # "permute_q" | "permute_k" | "plus_one" | None
    parts: list[tuple[str, tuple | None]] | None = None

    def read(self, sources: dict[str, Any]) -> Iterator[tuple[np.ndarray, str]]:
        """The tensor's data as (array, source dtype) pieces whose bytes, in order, make the tensor. One piece
        is loaded at a time (memory-mapped), so a stacked tensor never needs the whole stack in memory."""
        for name, index in self.parts or [(self.hf_name, None)]:  # type: ignore[list-item]
            src = sources[name]
            data = src.load()
            yield (data if index is None else data[index]), src.dtype
            del data


def _stacks(hp: Hparams) -> dict[str, tuple[str, list[tuple[str, tuple | None]], Shape]]:
    """Per-expert HF tensors that become one stacked GGUF tensor: relative GGUF name suffix -> parts."""
    out: dict[str, tuple[str, list[tuple[str, tuple | None]], Shape]] = {}
    spec, n, E = hp.spec, hp.n_expert, hp.n_embd
    for i in range(hp.n_layer):
        p = f"model.layers.{i}."
        if spec.mlp == "experts":
            assert spec.experts
            _, gate, up, down = spec.experts
            Fx = hp.n_ff_exp
            for kind, tmpl, shape in (("gate", gate, (n, Fx, E)), ("up", up, (n, Fx, E)), ("down", down, (n, E, Fx))):
                out[f"blk.{i}.ffn_{kind}_exps.weight"] = (
                    p + tmpl.format(x=0) + ".weight", [(p + tmpl.format(x=x) + ".weight", None) for x in range(n)],
                    shape)
        elif spec.mlp == "granite_moe":
            F = hp.n_ff
            name = p + "block_sparse_moe.input_linear.weight"  # (experts, gate rows then up rows, embd)
            out[f"blk.{i}.ffn_gate_exps.weight"] = (name, [(name, (x, slice(0, F))) for x in range(n)], (n, F, E))
            out[f"blk.{i}.ffn_up_exps.weight"] = (name, [(name, (x, slice(F, 2 * F))) for x in range(n)], (n, F, E))
            if hp.n_ff_shexp:
                S, shared = hp.n_ff_shexp, p + "shared_mlp.input_linear.weight"
                out[f"blk.{i}.ffn_gate_shexp.weight"] = (shared, [(shared, (slice(0, S),))], (S, E))
                out[f"blk.{i}.ffn_up_shexp.weight"] = (shared, [(shared, (slice(S, 2 * S),))], (S, E))
    return out


def _normalise_names(hp: Hparams, names_and_shapes: dict[str, Shape], warn) -> tuple[dict[str, Shape], dict[str, str]]:
    """Plain-text-model names for a wrapped model (prefixes stripped) and without the parts not converted."""
    spec = hp.spec
    out: dict[str, Shape] = {}
    origin: dict[str, str] = {}
    dropped = 0
    dropped_params = 0
    for name, shape in names_and_shapes.items():
        if spec.dropped and re.search(spec.dropped[0], name):
            dropped += 1
            dropped_params += int(np.prod(shape))
            continue
        plain = name
        for old, new in spec.prefixes:
            if name.startswith(old):
                plain = new + name[len(old):]
                break
        out[plain] = shape
        origin[plain] = name
    if dropped and spec.dropped:
        warn(f"text only: {spec.dropped[1]} ({dropped} tensors, {dropped_params:,} parameters) are not converted; "
             f"the GGUF takes text, not images")
    return out, origin


def plan_tensors(hp: Hparams, names_and_shapes: dict[str, Shape], warn) -> list[PlannedTensor]:
    """Checks the checkpoint's tensors against the architecture and maps each to its GGUF name."""
    spec = hp.spec
    names_and_shapes, origin = _normalise_names(hp, names_and_shapes, warn)
    expected, optional = expected_tensors(hp)
    missing = [n for n in expected if n not in names_and_shapes and n not in optional]
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        raise ConvertError("TENSOR_MISSING", f"The checkpoint has no tensor {', '.join(missing[:3])}{more}",
                           "The weights are incomplete or do not match config.json; copy the whole checkpoint.")
    stacks = _stacks(hp)
    stacked = {name for _, parts, _ in stacks.values() for name, _ in parts}
    model_arch = next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == spec.gguf)
    tmap = gguf.get_tensor_name_map(model_arch, hp.n_layer)
    planned = []
    for name, shape in names_and_shapes.items():
        if IGNORED.search(name):
            continue
        if name == "lm_head.weight" and (hp.tied or spec.lm_head == "never"):
            continue  # tied: llama.cpp reuses token_embd
        if name not in expected:
            raise ConvertError("UNSUPPORTED_MODEL", f"Unexpected tensor {origin[name]} for {hp.hf_arch}",
                               "The checkpoint holds weights this architecture does not have (a custom or "
                               "quantized model?); only plain fine-tunes of supported architectures convert.")
        if tuple(shape) != expected[name]:
            raise ConvertError("TENSOR_SHAPE", f"Tensor {origin[name]} has shape {list(shape)}, config.json implies "
                               f"{list(expected[name])}", "config.json does not describe these weights.")
        if name in stacked:
            continue
        gname = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        if gname is None:
            raise ConvertError("UNSUPPORTED_MODEL", f"No GGUF name for tensor {name} ({spec.gguf})")
        transform = None
        if spec.permute_qk and re.search(r"self_attn\.q_proj\.(weight|bias)$", name):
            transform = "permute_q"
        elif spec.permute_qk and re.search(r"self_attn\.k_proj\.(weight|bias)$", name):
            transform = "permute_k"
        elif spec.norm_plus_one and name.endswith("norm.weight"):
            transform = "plus_one"
        if gname.endswith("ffn_gate_inp_shexp.weight"):
            shape = (shape[-1],)  # the shared expert's gate: one row, a vector in llama.cpp
        # 1-D tensors and the expert router stay F32 (llama.cpp keeps ffn_gate_inp unquantized too)
        f32 = len(shape) == 1 or gname.endswith("ffn_gate_inp.weight")
        planned.append(PlannedTensor(gname, origin[name], tuple(shape), f32, transform))
    for gname, (first, parts, shape) in stacks.items():
        planned.append(PlannedTensor(gname, origin[first], shape, False, None,
                                     [(origin[n], index) for n, index in parts]))
    return planned
