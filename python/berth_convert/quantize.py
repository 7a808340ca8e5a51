"""Quantization by llama.cpp's own `llama_model_quantize`, run on a worker thread so signals stay responsive."""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

from .errors import ConvertError
from .libllama import LLAMA_FTYPES, load_libllama
from .progress import Reporter

# Bits per weight of 2-D tensors, for size estimates (disk-space check, progress totals).
BITS_PER_WEIGHT = {"F16": 16.0, "BF16": 16.0, "Q8_0": 8.5, "Q5_K_M": 5.7, "Q4_K_M": 4.9}


def estimate_bytes(quantization: str, n_params: int) -> int:
    return int(n_params * BITS_PER_WEIGHT[quantization] / 8) + (1 << 20)


def quantize(src: Path, dst: Path, quantization: str, threads: int, expected_bytes: int,
             reporter: Reporter) -> None:
    """Quantizes src (an F16/BF16 GGUF) to dst; reports progress from dst's growing size."""
    lib = load_libllama()
    lib.llama_backend_init()
    params = lib.llama_model_quantize_default_params()
    params.nthread = threads
    params.ftype = LLAMA_FTYPES[quantization]
    result: dict[str, int | BaseException] = {}

    def work() -> None:
        try:
            result["rc"] = lib.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
        except BaseException as e:  # reported on the main thread
            result["error"] = e

    worker = threading.Thread(target=work, name="llama_model_quantize", daemon=True)
    reporter.log(f"quantizing to {quantization} with llama.cpp ({threads} threads)")
    worker.start()
    while worker.is_alive():
        worker.join(timeout=0.25)  # the main thread stays in Python, so SIGTERM handlers run promptly
        try:
            size = os.path.getsize(dst)
        except OSError:
            size = 0
        reporter.progress("quantize", 0, 1, min(size, expected_bytes), expected_bytes)
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    if result.get("rc") != 0 or not dst.is_file():
        raise ConvertError("QUANTIZE_FAILED", f"llama.cpp could not quantize to {quantization} "
                           f"(llama_model_quantize returned {result.get('rc')}); see the log above",
                           "Check free disk space; the log lines from llama.cpp name the cause.")
    size = dst.stat().st_size
    reporter.progress("quantize", 1, 1, size, size, force=True)
