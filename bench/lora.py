"""LoRA benchmark: for one checkpoint (a real peft adapter, r=16 on every linear layer of a random BF16 Llama),
the adapter GGUF (`lora_to_gguf.py --mode adapter`) against the merged model (`--mode merged`, F16 and Q4_K_M):
wall time (interleaved, >= 3 runs each: median, min, max) and file size. What switching checkpoints costs is the
adapter's row; what a merge per checkpoint costs is the merged rows.

    python/.venv/bin/python bench/lora.py [--hidden 1024 --layers 8 --rank 16 --runs 3] [--work /tmp/berth-bench-lora]

Writes bench/results/lora.json. The model and adapter live under --work, never in the repo.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LORA = REPO / "python" / "lora_to_gguf.py"
PY = sys.executable


def build(work: Path, hidden: int, layers: int, rank: int) -> tuple[Path, Path]:
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model

    base, adapter = work / "base", work / "adapter"
    if (adapter / "adapter_config.json").is_file():
        return base, adapter
    torch.manual_seed(0)
    config = transformers.LlamaConfig(hidden_size=hidden, intermediate_size=int(hidden * 2.75), num_hidden_layers=layers,
                                      num_attention_heads=hidden // 64, num_key_value_heads=hidden // 256,
                                      vocab_size=32000, max_position_embeddings=4096)
    model = transformers.AutoModelForCausalLM.from_config(config).to(torch.bfloat16)
    model.save_pretrained(base, safe_serialization=True)
    shutil.copytree(REPO / "python" / "tests" / "data" / "llama2-tokenizer", base, dirs_exist_ok=True)
    modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    peft_model = get_peft_model(model.float(), LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=modules))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.01)
    peft_model.save_pretrained(adapter)
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = str(base)
    (adapter / "adapter_config.json").write_text(json.dumps(cfg))
    return base, adapter


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{args[1:4]} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def stats(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "runs": len(values)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--work", default="/tmp/berth-bench-lora")
    a = p.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    base, adapter = build(work, a.hidden, a.layers, a.rank)
    threads = str(os.cpu_count() or 1)
    variants = {
        "adapter F16": ["--mode", "adapter"],
        "merged F16": ["--mode", "merged", "--quantization", "F16"],
        "merged Q4_K_M": ["--mode", "merged", "--quantization", "Q4_K_M", "--threads", threads],
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    sizes: dict[str, int] = {}
    for _ in range(a.runs):  # interleaved: each round runs every variant once
        for name, extra in variants.items():
            out = work / f"{name.replace(' ', '-')}.gguf"
            times[name].append(timed([PY, str(LORA), str(adapter), str(out), "--base", str(base), *extra]))
            sizes[name] = out.stat().st_size
    adapter_t = statistics.median(times["adapter F16"])
    result = {
        "what": "lora_to_gguf.py on one checkpoint: adapter GGUF vs merged model (wall seconds, bytes)",
        "model": {"hidden": a.hidden, "layers": a.layers, "rank": a.rank,
                  "base_bytes": sum(f.stat().st_size for f in base.glob("*.safetensors")),
                  "adapter_bytes": (adapter / "adapter_model.safetensors").stat().st_size},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "seconds": {k: stats(v) for k, v in times.items()},
        "bytes": sizes,
        "ratios": {
            "merged F16 time / adapter time": round(statistics.median(times["merged F16"]) / adapter_t, 2),
            "merged Q4_K_M time / adapter time": round(statistics.median(times["merged Q4_K_M"]) / adapter_t, 2),
            "merged F16 size / adapter size": round(sizes["merged F16"] / sizes["adapter F16"], 1),
            "merged Q4_K_M size / adapter size": round(sizes["merged Q4_K_M"] / sizes["adapter F16"], 1),
        },
    }
    out = REPO / "bench" / "results" / "lora.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
