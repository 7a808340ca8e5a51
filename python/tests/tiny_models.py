"""Tiny random models of every supported architecture, saved with transformers as BF16 safetensors."""

from __future__ import annotations

from pathlib import Path

from conftest import BPE_TOKENIZER, SPM_TOKENIZER, copy_tokenizer

BASE = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=2048)

CONFIGS = {
    # Llama 3.1-style rope scaling (the converter must add rope_freqs), wider so K-quants apply per row
    "llama": ("LlamaConfig", SPM_TOKENIZER, dict(
        BASE, hidden_size=256, intermediate_size=512, vocab_size=32000, max_position_embeddings=128,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 16}, rope_theta=10000.0)),
    "mistral": ("MistralConfig", SPM_TOKENIZER, dict(BASE, vocab_size=32000, sliding_window=4096)),
    "qwen2": ("Qwen2Config", BPE_TOKENIZER, dict(BASE, vocab_size=50257, tie_word_embeddings=True)),
    "qwen3": ("Qwen3Config", BPE_TOKENIZER, dict(BASE, vocab_size=50257, head_dim=32)),
    "gemma2": ("Gemma2Config", SPM_TOKENIZER, dict(BASE, vocab_size=32000, head_dim=16, query_pre_attn_scalar=16,
                                                   sliding_window=4096, pad_token_id=0)),
    "phi3": ("Phi3Config", SPM_TOKENIZER, dict(BASE, vocab_size=32000, pad_token_id=0, bos_token_id=1,
                                               eos_token_id=2)),
    # Gemma 3: six layers so one is global (llama.cpp's fixed 5 local : 1 global pattern), a 4-token window
    # shorter than the prompt so the sliding-window mask matters, linear rope scaling on the global layers only
    "gemma3": ("Gemma3TextConfig", SPM_TOKENIZER, dict(
        BASE, num_hidden_layers=6, vocab_size=32000, head_dim=16, query_pre_attn_scalar=16, sliding_window=4,
        pad_token_id=0, rope_parameters={"full_attention": {"rope_type": "linear", "factor": 8.0,
                                                            "rope_theta": 1000000.0},
                                         "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}})),
    # the multimodal Gemma 3 with a tiny SigLIP vision tower, which the converter must drop (text only)
    "gemma3_vision": ("Gemma3Config", SPM_TOKENIZER, dict(
        text_config=dict(BASE, num_hidden_layers=6, vocab_size=32000, head_dim=16, query_pre_attn_scalar=16,
                         sliding_window=4, pad_token_id=0),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=28, patch_size=14), mm_tokens_per_image=4)),
    "qwen3moe": ("Qwen3MoeConfig", BPE_TOKENIZER, dict(
        BASE, vocab_size=50257, head_dim=16, moe_intermediate_size=48, num_experts=4, num_experts_per_tok=2,
        norm_topk_prob=True)),
    # Qwen2-MoE: q/k/v biases and a shared expert with its own sigmoid gate (ffn_*_shexp, ffn_gate_inp_shexp)
    "qwen2moe": ("Qwen2MoeConfig", BPE_TOKENIZER, dict(
        BASE, vocab_size=50257, moe_intermediate_size=48, shared_expert_intermediate_size=96, num_experts=4,
        num_experts_per_tok=2, norm_topk_prob=False)),
    "mixtral": ("MixtralConfig", SPM_TOKENIZER, dict(BASE, vocab_size=32000, num_local_experts=4,
                                                     num_experts_per_tok=2)),
    # SmolLM3: four layers so the fourth runs without RoPE; tied embeddings as in SmolLM3-3B
    "smollm3": ("SmolLM3Config", BPE_TOKENIZER, dict(BASE, num_hidden_layers=4, vocab_size=50257, pad_token_id=0,
                                                      bos_token_id=1, eos_token_id=2, tie_word_embeddings=True)),
    "olmo2": ("Olmo2Config", BPE_TOKENIZER, dict(BASE, vocab_size=50257, pad_token_id=0, bos_token_id=1,
                                                  eos_token_id=2)),
    # Granite 3's four multipliers, none of them 1, so each mapping is tested
    "granite": ("GraniteConfig", BPE_TOKENIZER, dict(
        BASE, vocab_size=50257, pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=True,
        embedding_multiplier=6.0, residual_multiplier=0.5, attention_multiplier=0.2, logits_scaling=2.0)),
    "granitemoe": ("GraniteMoeConfig", BPE_TOKENIZER, dict(
        BASE, vocab_size=50257, pad_token_id=0, bos_token_id=1, eos_token_id=2, num_local_experts=4,
        num_experts_per_tok=2, embedding_multiplier=6.0, residual_multiplier=0.5, attention_multiplier=0.2,
        logits_scaling=2.0)),
    # GraniteMoeShared: the same plus one always-on shared expert (ffn_*_shexp)
    "granitemoeshared": ("GraniteMoeSharedConfig", BPE_TOKENIZER, dict(
        BASE, vocab_size=50257, pad_token_id=0, bos_token_id=1, eos_token_id=2, num_local_experts=4,
        num_experts_per_tok=2, shared_intermediate_size=96, embedding_multiplier=6.0, residual_multiplier=0.5,
        attention_multiplier=0.2, logits_scaling=2.0)),
    # Phi-4 (14B): Phi-3 layout with a byte-level BPE tokenizer
    "phi4": ("Phi3Config", BPE_TOKENIZER, dict(BASE, vocab_size=50257, pad_token_id=0, bos_token_id=1,
                                               eos_token_id=2)),
    # Phi-4-mini: partial rotary (0.75 of each 16-dim head: 12 rotated, 6 frequencies), tied embeddings, and
    # longrope scaling with per-frequency factors (the prompt and llama.cpp's 256-token context are both under
    # original_max_position_embeddings, so both use the short factors; the attention factor applies throughout)
    "phi4_mini": ("Phi3Config", BPE_TOKENIZER, dict(
        BASE, vocab_size=50257, pad_token_id=0, bos_token_id=1, eos_token_id=2, partial_rotary_factor=0.75,
        tie_word_embeddings=True, max_position_embeddings=4096, original_max_position_embeddings=512,
        rope_scaling={"rope_type": "longrope", "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.5],
                      "long_factor": [1.0, 1.5, 2.5, 4.0, 6.0, 9.0]})),
}
MOE = {"qwen2moe", "qwen3moe", "mixtral", "granitemoe", "granitemoeshared"}


def build_model(kind: str, folder: Path, seed: int = 0):
    """Saves a random model of `kind` in `folder`; returns (folder, model in float32 holding the BF16 weights)."""
    import torch
    import transformers

    config_class, tokenizer, kwargs = CONFIGS[kind]
    torch.manual_seed(seed)
    config = getattr(transformers, config_class)(**kwargs)
    if kind == "gemma2":
        config._attn_implementation = "eager"  # soft-capping is only applied by the eager attention
    if kind == "gemma3_vision":
        model = transformers.Gemma3ForConditionalGeneration(config)
        config = config.text_config
    else:
        model = transformers.AutoModelForCausalLM.from_config(config)
    with torch.no_grad():
        # Well-conditioned random weights (std 1/sqrt(fan_in)): attention stays soft and logits spread, so
        # arithmetic differences between transformers and llama.cpp stay small and top-1 ties are rare.
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                std = 1 / p.shape[-1] ** 0.5
                if "embed_tokens" in name:
                    std = 0.3 if config.tie_word_embeddings else 1.0
                elif "lm_head" in name:
                    std *= 3
                p.normal_(0, std)
            else:  # norms and biases: move them off 1 / 0 so their mapping is tested
                p.add_(0.1 * torch.randn_like(p))
    model = model.to(torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    copy_tokenizer(tokenizer, folder)
    return folder, model.float().eval()
