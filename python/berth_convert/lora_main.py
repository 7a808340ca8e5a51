"""`lora_to_gguf.py <adapter_dir> <output.gguf> --base <dir> [--mode adapter|merged] [--quantization ...]`:
a PEFT LoRA adapter as a llama.cpp LoRA GGUF, or merged into its base (then quantized like any conversion).
`--check` only checks the adapter against the base and prints a summary; nothing is written. Atomic output:
every failure removes what it wrote."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import CONVERTER_VERSION
from .convert import Plan, write_gguf
from .errors import ConvertError
from .lora import check_adapter, merged_sources, open_base, read_adapter, summary, write_adapter_gguf
from .main import MARGIN_BYTES, check_disk, run_reported
from .architectures import extra_tensors, plan_tensors
from .progress import Reporter
from .quantize import estimate_bytes, quantize

QUANTIZATIONS = ["F16", "BF16", "Q8_0", "Q5_K_M", "Q4_K_M"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lora_to_gguf.py", description="A PEFT LoRA adapter for llama.cpp.")
    p.add_argument("adapter_path")
    p.add_argument("output", nargs="?")
    p.add_argument("--base", required=True, help="the base model's folder (config.json and weights)")
    p.add_argument("--mode", choices=["adapter", "merged"], default="adapter")
    p.add_argument("--quantization", choices=QUANTIZATIONS, default=None, help="merged only (default F16)")
    p.add_argument("--adapter-type", choices=["F16", "F32"], default="F16", help="adapter GGUF tensor type")
    p.add_argument("--tokenizer-dir", default=None, help="merged: where the tokenizer is (default: the base)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--check", action="store_true", help="only check the adapter against the base")
    p.add_argument("--json-progress", action="store_true")
    p.add_argument("--version", action="version", version=f"berth-convert {CONVERTER_VERSION}")
    return p.parse_args(argv)


def run(args: argparse.Namespace, reporter: Reporter, partials: list[Path]) -> tuple[Path | None, int]:
    adapter_dir, base_dir = Path(args.adapter_path), Path(args.base)
    if not base_dir.is_dir():
        raise ConvertError("ADAPTER_BASE_MISSING", f"The base model folder {base_dir} does not exist",
                           "Pass the folder of the model the adapter was trained on (--base).")
    adapter = read_adapter(adapter_dir)
    base = open_base(base_dir)
    check_adapter(adapter, base.hp, base.shapes, as_adapter_gguf=args.mode == "adapter")
    info = summary(adapter, base)
    reporter.log(f"adapter: {info['adapted']} LoRA pairs, rank {info['ranks']}, alpha {info['alpha']}"
                 f"{' (rsLoRA)' if info['rslora'] else ''}, modules_to_save {info['modules_to_save'] or 'none'}"
                 f" over {base.hp.hf_arch} ({base.hp.n_layer} layers, hidden {base.hp.n_embd})")
    if args.check:
        reporter.event(info)
        return None, 0
    if not args.output:
        raise ConvertError("INVALID_REQUEST", "No output path given")
    out = Path(args.output)
    if not out.parent.is_dir():
        raise ConvertError("OUTPUT_NOT_WRITABLE", f"The output folder {out.parent} does not exist")
    partial = out.with_name(out.name + ".partial")
    partials.append(partial)

    if args.mode == "adapter":
        check_disk(out.parent, info["adapter_params"] * 4 + MARGIN_BYTES)
        write_adapter_gguf(adapter, base, partial, args.adapter_type, reporter)
    else:
        quantization = args.quantization or "F16"
        outtype = "BF16" if quantization == "BF16" else "F16"
        sources, extra = merged_sources(adapter, base)
        planned = plan_tensors(base.hp, {n: s.shape for n, s in base.sources.items()}, reporter.warn)
        plan = Plan(base.hp, sources, planned + extra, extra_tensors(base.hp), outtype)
        quantized = quantization not in ("F16", "BF16")
        check_disk(out.parent, plan.data_bytes + MARGIN_BYTES
                   + (estimate_bytes(quantization, plan.n_params) if quantized else 0))
        tokenizer_dir = Path(args.tokenizer_dir) if args.tokenizer_dir else None
        if quantized:
            unquantized = out.with_name(out.name + f".{outtype.lower()}.partial")
            partials.append(unquantized)
            write_gguf(plan, base_dir, unquantized, reporter, tokenizer_dir)
            quantize(unquantized, partial, quantization, max(1, args.threads),
                     estimate_bytes(quantization, plan.n_params), reporter)
            unquantized.unlink()
        else:
            write_gguf(plan, base_dir, partial, reporter, tokenizer_dir)
    with open(partial, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(partial, out)
    return out, out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    reporter = Reporter(args.json_progress)
    code, path, size = run_reported(reporter, Path(args.output or "."), lambda partials: run(args, reporter, partials))
    if code:
        return code
    if path is not None:
        reporter.log(f"wrote {path} ({size} bytes) in {reporter.elapsed():.1f}s")
        reporter.event({"event": "done", "path": str(path), "bytes": size, "elapsed_s": reporter.elapsed()})
    return 0
