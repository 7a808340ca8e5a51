"""Finds and binds the prebuilt libllama that node-llama-cpp ships (llama.cpp's own quantizer), via ctypes."""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

from .errors import ConvertError

# Mirrors `struct llama_model_quantize_params` in the shipped llama.h; tests/test_libllama_abi.py parses that
# header and fails when a node-llama-cpp upgrade changes the fields.
class LlamaModelQuantizeParams(ctypes.Structure):
    _fields_ = [
        ("nthread", ctypes.c_int32),
        ("ftype", ctypes.c_int),  # enum llama_ftype
        ("output_tensor_type", ctypes.c_int),  # enum ggml_type
        ("token_embedding_type", ctypes.c_int),  # enum ggml_type
        ("allow_requantize", ctypes.c_bool),
        ("quantize_output_tensor", ctypes.c_bool),
        ("only_copy", ctypes.c_bool),
        ("pure", ctypes.c_bool),
        ("keep_split", ctypes.c_bool),
        ("dry_run", ctypes.c_bool),
        ("imatrix", ctypes.c_void_p),
        ("kv_overrides", ctypes.c_void_p),
        ("tt_overrides", ctypes.c_void_p),
        ("prune_layers", ctypes.c_void_p),
        ("max_buf_size", ctypes.c_size_t),
    ]


# enum llama_ftype values from llama.h
LLAMA_FTYPES = {"F16": 1, "Q8_0": 7, "Q4_K_M": 15, "Q5_K_M": 17, "BF16": 32}


def _platform_dirs() -> list[str]:
    if sys.platform.startswith("linux"):
        arch = "arm64" if os.uname().machine in ("aarch64", "arm64") else "x64"
        return [f"linux-{arch}", f"linux-{arch}-vulkan", f"linux-{arch}-cuda"]
    if sys.platform == "darwin":
        return ["mac-arm64-metal", "mac-x64"]
    return ["win-x64", "win-x64-vulkan", "win-x64-cuda"]


def _lib_in(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    for pattern in ("libllama.*so*", "libllama.dylib", "libllama.*dylib", "llama.dll"):
        for f in sorted(folder.glob(pattern)):
            if "common" not in f.name:
                return f
    return None


def find_libllama() -> Path:
    """BERTH_LIBLLAMA when set; else node-llama-cpp's prebuilt binaries in a node_modules above this file."""
    override = os.environ.get("BERTH_LIBLLAMA")
    if override:
        p = Path(override)
        if p.is_file():
            return p
        raise ConvertError("LIBLLAMA_NOT_FOUND", f"BERTH_LIBLLAMA points to {override}, which does not exist",
                           "Point BERTH_LIBLLAMA at libllama from node-llama-cpp's prebuilt binaries.")
    here = Path(__file__).resolve()
    for base in here.parents:
        for nm in (base / "node_modules", base / "app.asar.unpacked" / "node_modules"):
            for plat in _platform_dirs():
                found = _lib_in(nm / "@node-llama-cpp" / plat / "bins" / plat)
                if found:
                    return found
    raise ConvertError("LIBLLAMA_NOT_FOUND", "llama.cpp's library (libllama from node-llama-cpp) was not found",
                       "Run `npm ci` in Berth's folder (it installs node-llama-cpp's prebuilt binaries), or set "
                       "BERTH_LIBLLAMA to a libllama built from llama.cpp.")


def load_libllama(path: Path | None = None) -> ctypes.CDLL:
    path = path or find_libllama()
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as e:
        raise ConvertError("LIBLLAMA_NOT_FOUND", f"{path} could not be loaded: {e}",
                           "Its libggml libraries must sit in the same folder; reinstall node-llama-cpp.") from e
    lib.llama_model_quantize_default_params.restype = LlamaModelQuantizeParams
    lib.llama_model_quantize_default_params.argtypes = []
    lib.llama_model_quantize.restype = ctypes.c_uint32
    lib.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                         ctypes.POINTER(LlamaModelQuantizeParams)]
    lib.llama_backend_init.restype = None
    lib.llama_backend_init.argtypes = []
    return lib
