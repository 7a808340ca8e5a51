"""Writes a small random-weight llama GGUF for bench/engine.ts: big enough that generation time is real work
(hidden 512, 4 blocks, ~50 M parameters, F16), small enough to build in seconds. The tokenizer (Llama-2's
32000-token SentencePiece vocabulary) is copied from the tiny fixture GGUF. Usage: engine.make-model.py OUT"""
import sys

import numpy as np
from gguf import GGUFReader, GGUFWriter, GGMLQuantizationType

FIXTURE = "electron/core/engine/__fixtures__/llama-2-tiny-random.gguf"
N_EMBD, N_BLOCKS, N_HEAD, N_FF, N_CTX = 512, 4, 8, 1408, 2048


def field_values(reader, name):
    field = reader.fields[name]
    return [field.parts[i] for i in field.data]


def main(out):
    reader = GGUFReader(FIXTURE)
    tokens = [bytes(p).decode("utf-8") for p in field_values(reader, "tokenizer.ggml.tokens")]
    scores = [float(p[0]) for p in field_values(reader, "tokenizer.ggml.scores")]
    types = [int(p[0]) for p in field_values(reader, "tokenizer.ggml.token_type")]
    vocab = len(tokens)

    w = GGUFWriter(out, "llama")
    w.add_name("berth-bench-random-llama")
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_BLOCKS)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(1)  # mostly F16
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)

    rng = np.random.default_rng(0)

    def matrix(rows, cols):
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float16)

    def norm():
        return np.ones(N_EMBD, dtype=np.float32)

    w.add_tensor("token_embd.weight", matrix(vocab, N_EMBD))
    for i in range(N_BLOCKS):
        w.add_tensor(f"blk.{i}.attn_norm.weight", norm())
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(f"blk.{i}.{name}.weight", matrix(N_EMBD, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", norm())
        w.add_tensor(f"blk.{i}.ffn_gate.weight", matrix(N_FF, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_up.weight", matrix(N_FF, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_down.weight", matrix(N_EMBD, N_FF))
    w.add_tensor("output_norm.weight", norm())
    w.add_tensor("output.weight", matrix(vocab, N_EMBD))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main(sys.argv[1])
