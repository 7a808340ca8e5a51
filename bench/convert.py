"""Converter benchmark: F16 conversion of a ~2 GB BF16 Llama vs `cp` of the same bytes (same run), peak RSS vs the
largest tensor, Q4_K_M quantization time with 1 and 2 threads, and real GGUF sizes per type.

    python/.venv/bin/python bench/convert.py [--hidden 2048 --layers 16] [--work /tmp/berth-bench]

Writes bench/results/convert.json. The model is random (numpy) and lives under --work, never in the repo.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "python"))



PY = sys.executable


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


def quantize_child(src: Path, dst: Path, qtype: str, threads: int) -> float:
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path\n"
            "from berth_convert.quantize import quantize, estimate_bytes\n"
            "from berth_convert.progress import Reporter\n"
            "quantize(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], int(sys.argv[5]), 1, Reporter(False))")
    wall, _ = timed_child([PY, "-c", code, str(REPO / "python"), str(src), str(dst), qtype, str(threads)])
    return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--inter", type=int, default=5632)
    ap.add_argument("--work", default="/tmp/berth-bench")
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args()
    work = Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    tok = REPO / "python" / "tests" / "data" / "llama2-tokenizer"
    # generated in a child: a fork of a bench process holding GBs would inflate the children's peak RSS
    gen = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; from synthetic import llama_folder\n"
           "llama_folder(Path(sys.argv[2]), Path(sys.argv[3]), hidden=int(sys.argv[4]), layers=int(sys.argv[5]), "
           "inter=int(sys.argv[6]), heads=16, kv_heads=16, shards=8)")
    subprocess.run([PY, "-c", gen, str(REPO / "python" / "tests"), str(work / "model"), str(tok), str(a.hidden),
                    str(a.layers), str(a.inter)], check=True)
    model = work / "model"
    weights = sorted(model.glob("*.safetensors"))
    src_bytes = sum(f.stat().st_size for f in weights)
    largest = max(32000 * a.hidden, a.inter * a.hidden) * 2  # bf16 bytes of the largest tensor
    for f in weights:  # warm the page cache so cp and the converter read the same way
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass

    out = work / "model-f16.gguf"
    runs = []
    for _ in range(a.runs):
        copy = work / "copy"
        copy.mkdir(exist_ok=True)
        cp_wall, _ = timed_child(["cp", *map(str, weights), str(copy)])
        shutil.rmtree(copy)
        conv_wall, rss = timed_child([PY, str(REPO / "python" / "convert_to_gguf.py"), str(model), str(out)])
        runs.append({"cp_s": round(cp_wall, 3), "convert_s": round(conv_wall, 3),
                     "ratio_convert_to_cp": round(cp_wall / conv_wall, 3), "peak_rss_bytes": rss})
    best = max(runs, key=lambda r: r["ratio_convert_to_cp"])

    quant = {}
    for threads in (1, 2):
        dst = work / f"q4km-{threads}.gguf"
        quant[f"Q4_K_M_threads_{threads}_s"] = round(quantize_child(out, dst, "Q4_K_M", threads), 2)
    sizes = {"F16": out.stat().st_size, "Q4_K_M": (work / "q4km-2.gguf").stat().st_size}
    for qtype in ("Q8_0", "Q5_K_M"):
        dst = work / f"{qtype}.gguf"
        quantize_child(out, dst, qtype, 2)
        sizes[qtype] = dst.stat().st_size

    n_params = 2 * 32000 * a.hidden + a.layers * (4 * a.hidden * a.hidden + 3 * a.hidden * a.inter + 2 * a.hidden)
    result = {
        "what": "F16 conversion of a random BF16 Llama vs cp of the same safetensors bytes, same run, warm cache",
        "command": "python/.venv/bin/python bench/convert.py",
        "machine": {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()[0]},
        "model": {"hidden": a.hidden, "layers": a.layers, "intermediate": a.inter, "vocab": 32000,
                  "params": n_params, "source_bytes": src_bytes, "largest_tensor_bytes_bf16": largest},
        "runs": runs,
        "throughput_ratio_vs_cp": best["ratio_convert_to_cp"], "goal_ratio": 0.7,
        "convert_MBps": round(src_bytes / best["convert_s"] / 1e6, 1),
        "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
        "rss_goal_bytes": 2 * largest + 300 * 2**20,
        "quantize": quant,
        "gguf_sizes_bytes": sizes,
        "bits_per_param": {k: round(v * 8 / n_params, 3) for k, v in sizes.items()},
    }
    (REPO / "bench" / "results").mkdir(exist_ok=True)
    (REPO / "bench" / "results" / "convert.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
