"""The converter's former write path, kept as the reference for tests/test_stream.py: gguf's own GGUFWriter for
the header and key/values, then each tensor whole (one tensor in memory at a time), converted in 4 Mi-element
chunks and written in order. The streamed path (berth_convert/stream.py, metadata.py) must write the same bytes.
Copied from berth_convert/convert.py and tensors.py as they were before the streamed writer (commit b5bf3e0)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from berth_convert.convert import WIDTH, Plan, header_writer
from berth_convert.progress import Reporter
from berth_convert.tensors import f32_to_bf16, permute_rows, to_f32

CHUNK_ELEMENTS = 1 << 22


def write_tensor(fout: BinaryIO, data: np.ndarray, dtype: str, target: str, transform: str | None,
                 n_head: int, n_head_kv: int, on_chunk: Callable[[int], None]) -> list[str]:
    """Converts one tensor to `target` ("F32" | "F16" | "BF16") chunk by chunk and writes it; returns problems."""
    if transform == "permute_q":
        data = permute_rows(data, n_head)
    elif transform == "permute_k":
        data = permute_rows(data, n_head_kv)
    flat = data.reshape(-1)
    problems: list[str] = []
    scratch = np.empty(min(flat.size, CHUNK_ELEMENTS), dtype=np.uint32) if dtype == "BF16" else None
    passthrough = transform != "plus_one" and (dtype == target or (dtype == "BF16" and target == "BF16"))
    for start in range(0, flat.size, CHUNK_ELEMENTS):
        src = np.asarray(flat[start:start + CHUNK_ELEMENTS])
        if passthrough:
            out = src
            if dtype != "BF16" and not np.isfinite(out).all():
                problems.append("nonfinite")
            elif dtype == "BF16" and ((out & 0x7F80) == 0x7F80).any():
                problems.append("nonfinite")
        else:
            f32 = to_f32(src, dtype, scratch) if scratch is not None else src.astype(np.float32)
            if transform == "plus_one":
                f32 = f32 + np.float32(1.0)
            if target == "F16":
                out = f32.astype(np.float16)
            elif target == "BF16":
                out = f32_to_bf16(f32)
            else:
                out = f32 if f32.dtype == np.float32 else f32.astype(np.float32)
            if target == "BF16":
                bad = ((out & 0x7F80) == 0x7F80).any()
            else:
                bad = not np.isfinite(out).all()
            if bad:
                problems.append("nonfinite" if not np.isfinite(f32).all() else "overflow")
        fout.write(memoryview(np.ascontiguousarray(out)).cast("B"))
        on_chunk(out.nbytes)
    return sorted(set(problems))


def write_gguf(plan: Plan, model_dir: Path, out_path: Path, reporter: Reporter,
               tokenizer_dir: Path | None = None) -> tuple[int, list[str]]:
    """Writes the GGUF the old way; returns its size and the warnings it gave."""
    warnings: list[str] = []
    w = header_writer(plan, model_dir, reporter, tokenizer_dir)  # the metadata as Berth writes it

    w.write_header_to_file(path=out_path)
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    assert w.fout is not None
    fout = w.fout[0]
    align = w.data_alignment

    def pad() -> None:
        n = (-fout.tell()) % align
        if n:
            fout.write(b"\0" * n)

    total = plan.data_bytes
    n_tensors = len(plan.extras) + len(plan.tensors)
    done = 0
    index = 0

    def on_chunk(n: int) -> None:
        nonlocal done
        done += n
        reporter.progress("convert", index, n_tensors, done, total)

    for arr in plan.extras.values():
        pad()
        fout.write(arr.tobytes())
        index += 1
        on_chunk(arr.nbytes)
    for t in plan.tensors:
        pad()
        problems: list[str] = []
        for data, dtype in t.read(plan.sources):  # whole arrays; one expert at a time for a stacked tensor
            problems += write_tensor(fout, data, dtype, plan.target(t), t.transform, plan.hp.n_head, plan.hp.n_head_kv,
                                     on_chunk)
            del data
        index += 1
        if "nonfinite" in problems:
            warnings.append(f"tensor {t.hf_name} contains NaN or Inf values; the model will produce garbage")
        if "overflow" in problems:
            warnings.append(f"tensor {t.hf_name} has values beyond F16's range (65504) that became Inf; "
                            f"convert with --outtype bf16")
        reporter.progress("convert", index, n_tensors, done, total, force=index == n_tensors)
    pad()
    fout.flush()
    os.fsync(fout.fileno())
    size = fout.tell()
    w.close()
    return size, warnings
