"""MoE converter benchmark: peak RSS of an F16 conversion of a Qwen3-MoE-shaped checkpoint against the size of
its largest *stacked* expert tensor (ffn_*_exps: all experts of a layer), for two expert counts whose stacked
tensors differ 4x, and the conversion's time against `cp` of the same bytes. Interleaved runs (small, large, cp),
medians with min and max.

    python/.venv/bin/python bench/convert_moe.py [--runs 3] [--work /tmp/berth-bench-moe]

Writes bench/results/convert_moe.json. The models are random (numpy, per-expert tensors as transformers saves
them) and live under --work, never in the repo.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
HIDDEN, LAYERS, EXPERT_FF, VOCAB, HEADS, KV_HEADS, HEAD_DIM = 2048, 2, 768, 32000, 16, 4, 128


def shapes(experts: int) -> dict[str, tuple[int, ...]]:
    E, q, kv = HIDDEN, HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM
    out: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (VOCAB, E), "model.norm.weight": (E,),
                                       "lm_head.weight": (VOCAB, E)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        out |= {p + "input_layernorm.weight": (E,), p + "post_attention_layernorm.weight": (E,),
                p + "self_attn.q_proj.weight": (q, E), p + "self_attn.k_proj.weight": (kv, E),
                p + "self_attn.v_proj.weight": (kv, E), p + "self_attn.o_proj.weight": (E, q),
                p + "self_attn.q_norm.weight": (HEAD_DIM,), p + "self_attn.k_norm.weight": (HEAD_DIM,),
                p + "mlp.gate.weight": (experts, E)}
        for x in range(experts):
            out |= {p + f"mlp.experts.{x}.gate_proj.weight": (EXPERT_FF, E),
                    p + f"mlp.experts.{x}.up_proj.weight": (EXPERT_FF, E),
                    p + f"mlp.experts.{x}.down_proj.weight": (E, EXPERT_FF)}
    return out


def write_model(folder: Path, experts: int) -> int:
    """A random BF16 Qwen3-MoE checkpoint, written one tensor at a time (bounded memory); returns its bytes."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    table = shapes(experts)
    header, offset = {}, 0
    for name, shape in table.items():
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header).encode()
    raw += b" " * ((-len(raw)) % 8)
    with open(folder / "model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        for shape in table.values():
            x = rng.standard_normal(shape, dtype=np.float32) * 0.02
            f.write((x.view(np.uint32) >> 16).astype(np.uint16).tobytes())
    config = {"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "hidden_size": HIDDEN,
              "intermediate_size": 6144, "moe_intermediate_size": EXPERT_FF, "num_hidden_layers": LAYERS,
              "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "head_dim": HEAD_DIM,
              "vocab_size": VOCAB, "max_position_embeddings": 4096, "num_experts": experts,
              "num_experts_per_tok": 8, "norm_topk_prob": True, "torch_dtype": "bfloat16",
              "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    tok = REPO / "python" / "tests" / "data" / "llama2-tokenizer"
    for f in tok.iterdir():
        if f.name != "LICENSE.source":
            shutil.copy(f, folder / f.name)
    return 8 + len(raw) + offset


def timed_child(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args[:3]} failed:\n{err[-2000:]}")
    return wall, usage.ru_maxrss * 1024


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/berth-bench-moe")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    work = Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    load = os.getloadavg()[0]
    models = {"small": 32, "large": 128}
    # generated in a child: a fork of a bench process holding the generator's memory would inflate the
    # converter children's peak RSS (ru_maxrss counts what a child shares with its parent before exec)
    sizes = {}
    for k, n in models.items():
        gen = subprocess.run([PY, __file__, "--write", str(work / k), str(n)], check=True, capture_output=True,
                             text=True)
        sizes[k] = int(gen.stdout)
    for k in models:  # warm the page cache so cp and the converter read the same way
        with open(work / k / "model.safetensors", "rb") as fh:
            while fh.read(1 << 24):
                pass
    converter = str(REPO / "python" / "convert_to_gguf.py")
    runs: dict[str, list[dict[str, float]]] = {"small": [], "large": []}
    for _ in range(a.runs):
        for k in models:
            out = work / f"{k}.gguf"
            wall, rss = timed_child([PY, converter, str(work / k), str(out)])
            out.unlink()
            copy = work / "copy.safetensors"
            cp_wall, _ = timed_child(["cp", str(work / k / "model.safetensors"), str(copy)])
            copy.unlink()
            runs[k].append({"convert_s": round(wall, 3), "cp_s": round(cp_wall, 3), "peak_rss_bytes": rss})
    result: dict = {
        "what": "F16 conversion of random BF16 Qwen3-MoE checkpoints (per-expert tensors) with 32 and 128 experts: "
                "peak RSS vs the largest stacked expert tensor, time vs cp of the same bytes; interleaved runs",
        "command": "python/.venv/bin/python bench/convert_moe.py",
        "machine": {"cpus": os.cpu_count(), "load_avg_at_start": load},
        "models": {},
    }
    for k, n in models.items():
        stacked = n * EXPERT_FF * HIDDEN * 2  # one ffn_*_exps tensor in F16 (and in the BF16 source)
        rss = [r["peak_rss_bytes"] for r in runs[k]]
        result["models"][k] = {
            "experts": n, "layers": LAYERS, "hidden": HIDDEN, "expert_ff": EXPERT_FF, "source_bytes": sizes[k],
            "largest_stacked_tensor_bytes": stacked, "runs": runs[k],
            "peak_rss_bytes": summary(rss),
            "peak_rss_over_stacked_tensor": summary([r / stacked for r in rss]),
            "convert_over_cp_time": summary([r["convert_s"] / r["cp_s"] for r in runs[k]]),
        }
    small, large = (result["models"][k]["peak_rss_bytes"]["median"] for k in ("small", "large"))
    result["stacked_tensor_ratio_large_over_small"] = models["large"] / models["small"]
    result["peak_rss_ratio_large_over_small"] = round(large / small, 3)
    out = REPO / "bench" / "results" / "convert_moe.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "models"}, indent=2))
    for k, m in result["models"].items():
        print(k, m["experts"], "experts: stacked", m["largest_stacked_tensor_bytes"], "peak RSS",
              m["peak_rss_bytes"], "convert/cp", m["convert_over_cp_time"])
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        print(write_model(Path(sys.argv[2]), int(sys.argv[3])))
    else:
        main()
