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
}


def build_model(kind: str, folder: Path, seed: int = 0):
    """Saves a random model of `kind` in `folder`; returns (folder, model in float32 holding the BF16 weights)."""
    import torch
    import transformers

    config_class, tokenizer, kwargs = CONFIGS[kind]
    torch.manual_seed(seed)
    config = getattr(transformers, config_class)(**kwargs)
    if kind == "gemma2":
        config._attn_implementation = "eager"  # soft-capping is only applied by the eager attention
    model = transformers.AutoModelForCausalLM.from_config(config)
    with torch.no_grad():
        # Well-conditioned random weights (std 1/sqrt(fan_in)): attention stays soft and logits spread, so
        # arithmetic differences between transformers and llama.cpp stay small and top-1 ties are rare.
        for name, p in model.named_parameters():
            if p.dim() == 2:
                std = 1 / p.shape[1] ** 0.5
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
