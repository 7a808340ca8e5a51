"""Per-tensor numeric work: dtype conversion in bounded chunks, Q/K permutation, Gemma's norm offset, checks."""

from __future__ import annotations

from typing import BinaryIO, Callable

import numpy as np

CHUNK_ELEMENTS = 1 << 22  # 4 Mi elements: 16 MiB of f32 scratch per chunk


def permute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """Reorders Q/K rows from Hugging Face's rotate-half RoPE layout to llama.cpp's interleaved one."""
    rows = w.shape[0]
    return np.ascontiguousarray(
        w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def to_f32(src: np.ndarray, dtype: str, scratch: np.ndarray) -> np.ndarray:
    """A float32 view of a chunk; BF16 bit patterns are widened into `scratch` without an extra copy."""
    if dtype == "BF16":
        out = scratch[: src.size]
        np.left_shift(src, 16, out=out, dtype=np.uint32, casting="unsafe")
        return out.view(np.float32)
    return src.astype(np.float32, copy=False)


def f32_to_bf16(x: np.ndarray) -> np.ndarray:
    """Round-to-nearest-even float32 -> bfloat16 bit patterns (NaN kept quiet)."""
    n = x.view(np.uint32)
    nan = np.isnan(x)
    rounded = ((n.astype(np.uint64) + (0x7FFF + ((n >> 16) & 1))) >> 16).astype(np.uint16)
    if nan.any():
        rounded[nan] = ((n[nan] >> 16) | 0x40).astype(np.uint16)
    return rounded


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
