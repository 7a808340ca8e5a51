"""Writes safetensors with numpy only (for large synthetic models and broken checkpoints in tests and benches)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

DTYPE_NAMES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16"}


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], bf16: bool = False) -> None:
    """float32 arrays are stored as BF16 (truncated bit patterns) when bf16 is set."""
    header, offset, blobs = {}, 0, []
    for name, arr in tensors.items():
        if bf16 and arr.dtype == np.float32:
            data, dtype = (arr.view(np.uint32) >> 16).astype(np.uint16), "BF16"
        else:
            data, dtype = arr, DTYPE_NAMES[arr.dtype]
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + data.nbytes]}
        offset += data.nbytes
        blobs.append(data)
    raw = json.dumps(header).encode()
    raw += b" " * ((-len(raw)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(np.ascontiguousarray(b).tobytes())


def llama_folder(folder: Path, tokenizer_dir: Path, hidden: int, layers: int, inter: int, vocab: int = 32000,
                 heads: int = 8, kv_heads: int = 8, seed: int = 0, shards: int = 1) -> Path:
    """A random Llama checkpoint in BF16 (memory: one shard's tensors in float32 at a time)."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    head_dim = hidden // heads
    shapes = {"model.embed_tokens.weight": (vocab, hidden), "model.norm.weight": (hidden,),
              "lm_head.weight": (vocab, hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes |= {p + "input_layernorm.weight": (hidden,), p + "post_attention_layernorm.weight": (hidden,),
                   p + "self_attn.q_proj.weight": (hidden, hidden),
                   p + "self_attn.k_proj.weight": (kv_heads * head_dim, hidden),
                   p + "self_attn.v_proj.weight": (kv_heads * head_dim, hidden),
                   p + "self_attn.o_proj.weight": (hidden, hidden), p + "mlp.gate_proj.weight": (inter, hidden),
                   p + "mlp.up_proj.weight": (inter, hidden), p + "mlp.down_proj.weight": (hidden, inter)}
    names = list(shapes)
    groups = [names[i::shards] for i in range(shards)]
    weight_map = {}
    for s, group in enumerate(groups):
        fname = "model.safetensors" if shards == 1 else f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        tensors = {n: (rng.standard_normal(shapes[n], dtype=np.float32) * 0.02) for n in group}
        write_safetensors(folder / fname, tensors, bf16=True)
        weight_map |= {n: fname for n in group}
        del tensors
    if shards > 1:
        (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
              "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "vocab_size": vocab, "max_position_embeddings": 4096,
              "rms_norm_eps": 1e-5, "torch_dtype": "bfloat16", "tie_word_embeddings": False,
              "bos_token_id": 1, "eos_token_id": 2}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    for f in tokenizer_dir.iterdir():
        if f.name != "LICENSE.source":
            shutil.copy(f, folder / f.name)
    return folder
