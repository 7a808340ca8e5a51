"""Per-tensor numeric work: Q/K permutation, Gemma's norm offset, and dtype conversion of one block at a time
(BlockConverter, used by stream.py) with the NaN/Inf and F16-overflow checks."""

from __future__ import annotations

import numpy as np

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


def transform_tensor(data: np.ndarray, dtype: str, transform: str | None, n_head: int,
                     n_head_kv: int) -> tuple[np.ndarray, str]:
    """A tensor that has to be computed before it is written (a permuted or offset one): the whole tensor, in
    memory, contiguous, and its dtype name afterwards."""
    if transform == "permute_q":
        return permute_rows(data, n_head), dtype
    if transform == "permute_k":
        return permute_rows(data, n_head_kv), dtype
    if transform == "plus_one":
        flat = np.asarray(data).reshape(-1)
        f32 = to_f32(flat, dtype, np.empty(flat.size, dtype=np.uint32)) if dtype == "BF16" else \
            flat.astype(np.float32)
        return (f32 + np.float32(1.0)).reshape(data.shape), "F32"
    if transform is not None:
        raise ValueError(f"unknown tensor transform {transform}")
    return np.ascontiguousarray(data), dtype


NUMPY = {"BF16": np.uint16, "F16": np.float16, "F32": np.float32, "F64": np.float64}
WIDTH = {"BF16": 2, "F16": 2, "F32": 4, "F64": 8}
# |bits| at or above this: exponent all ones, i.e. Inf or NaN
_EXP_ONES = {"BF16": (np.uint16, 0x7FFF, 0x7F80), "F16": (np.uint16, 0x7FFF, 0x7C00),
             "F32": (np.uint32, 0x7FFFFFFF, 0x7F800000)}
_LUTS: dict[tuple[str, str], np.ndarray] = {}
LUT_RUN = 1 << 14


def _lut(src: str, target: str) -> np.ndarray:
    """All 65,536 results of a 16-bit -> 16-bit conversion, computed once by the very operations of the general
    path (widen to f32, then numpy's F16 cast or round-to-nearest-even BF16), so a lookup gives identical bits."""
    key = (src, target)
    if key not in _LUTS:
        bits = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
        f32 = (bits.astype(np.uint32) << 16).view(np.float32) if src == "BF16" else bits.view(np.float16).astype(
            np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            out = f32.astype(np.float16).view(np.uint16) if target == "F16" else f32_to_bf16(f32)
        _LUTS[key] = np.ascontiguousarray(out, dtype=np.uint16)
    return _LUTS[key]


class Scratch:
    """Per-thread reusable buffers, so a block's conversion allocates nothing."""

    def __init__(self) -> None:
        self._bufs: dict[tuple[str, int], np.ndarray] = {}

    def get(self, dtype, n: int, slot: str = "out") -> np.ndarray:
        dt = np.dtype(dtype)
        key = (slot, dt.itemsize)
        buf = self._bufs.get(key)
        if buf is None or buf.size < n:
            buf = self._bufs[key] = np.empty(max(n, 1), dtype=dt)
        return buf[:n].view(dt)


def nonfinite(x: np.ndarray, dtype: str, scratch: Scratch) -> bool:
    """Whether a BF16/F16/F32 block holds NaN or Inf: one AND and one max over its bits (isfinite is ~20x slower)."""
    if dtype not in _EXP_ONES:
        return not np.isfinite(x).all()
    bits_type, mask, ones = _EXP_ONES[dtype]
    if x.size == 0:
        return False
    bits = x.view(bits_type)
    tmp = scratch.get(bits_type, bits.size, "check")
    np.bitwise_and(bits, mask, out=tmp)
    return bool(tmp.max() >= ones)


class BlockConverter:
    """Converts blocks of one tensor from its source dtype to the target ("F32" | "F16" | "BF16").

    `copy` is True when the bytes stay as they are (BF16 -> BF16, F16 -> F16, F32 -> F32): the caller copies them
    (os.copy_file_range) and only calls check(). Otherwise convert() returns the output block (a view of a scratch
    buffer) and "nonfinite" / "overflow" / None, with the same decisions as the whole-tensor path had.
    """

    def __init__(self, src: str, target: str) -> None:
        self.src, self.target = src, target
        self.copy = src == target
        self.out_width = WIDTH[target]
        self.lut = _lut(src, target) if (src, target) in (("BF16", "F16"), ("F16", "BF16")) else None

    def check(self, x: np.ndarray, scratch: Scratch) -> str | None:
        return "nonfinite" if nonfinite(x, self.src, scratch) else None

    def convert(self, x: np.ndarray, scratch: Scratch) -> tuple[np.ndarray, str | None]:
        if self.copy:
            return x, self.check(x, scratch)
        n = x.size
        if self.lut is not None:  # BF16 <-> F16: one gather from a 128 KiB table
            out = scratch.get(np.uint16, n)
            bits = x.view(np.uint16)
            # in runs of 16 Ki: take() widens the indices to intp (4x the block) and buffers `out` in mode
            # "raise"; short runs keep that in the cache and out of the process's memory
            for s in range(0, n, LUT_RUN):
                np.take(self.lut, bits[s:s + LUT_RUN], out=out[s:s + LUT_RUN], mode="clip")
            if nonfinite(out, self.target, scratch):
                return out, "nonfinite" if nonfinite(x, self.src, scratch) else "overflow"
            return out, None
        if self.src == "BF16":  # widen bit patterns into a scratch buffer
            wide = scratch.get(np.uint32, n, "f32")
            np.left_shift(x, 16, out=wide, dtype=np.uint32, casting="unsafe")
            f32 = wide.view(np.float32)
        elif self.src == "F32":
            f32 = x
        else:
            f32 = scratch.get(np.float32, n, "f32")
            np.copyto(f32, x, casting="unsafe")
        if self.target == "F16":
            out = scratch.get(np.float16, n)
            with np.errstate(over="ignore", invalid="ignore"):
                np.copyto(out, f32, casting="unsafe")
        elif self.target == "BF16":
            out = f32_to_bf16(f32)
        else:  # F32 from BF16/F16/F64 (1-D tensors); F32 from F32 is a copy
            out = f32
        if nonfinite(out, self.target, scratch):
            return out, "nonfinite" if nonfinite(f32, "F32", scratch) else "overflow"
        return out, None
