"""The ctypes mirror of llama_model_quantize_params must match the llama.h that node-llama-cpp's binaries were built
from (its git bundle); a node-llama-cpp upgrade that changes the struct fails here, loudly."""

from __future__ import annotations

import ctypes
import re
import subprocess
from pathlib import Path

import pytest

from berth_convert.libllama import LLAMA_FTYPES, LlamaModelQuantizeParams, find_libllama, load_libllama
from conftest import REPO

BUNDLE = REPO / "node_modules" / "node-llama-cpp" / "llama" / "gitRelease.bundle"
C_TO_CTYPES = {"int32_t": ctypes.c_int32, "bool": ctypes.c_bool, "size_t": ctypes.c_size_t,
               "float": ctypes.c_float}


@pytest.fixture(scope="module")
def llama_h(tmp_path_factory) -> str:
    if not BUNDLE.is_file():
        pytest.skip("node-llama-cpp's llama.cpp bundle is not installed (npm ci)")
    dest = tmp_path_factory.mktemp("llama-src") / "llama.cpp"
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(BUNDLE), str(dest)], check=True)
    head = subprocess.run(["git", "-C", str(dest), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    return subprocess.run(["git", "-C", str(dest), "show", f"{head}:include/llama.h"], capture_output=True,
                          text=True, check=True).stdout


def parse_struct(header: str, name: str) -> list[tuple[str, str]]:
    body = re.search(r"typedef struct " + name + r" \{(.*?)\} " + name + ";", header, re.S)
    assert body, f"struct {name} not found in llama.h"
    fields = []
    for line in body.group(1).splitlines():
        line = line.split("//")[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"(.+?)\s*(\*?)\s*(\w+);", line)
        assert m, f"cannot parse field line {line!r}"
        ctype = m.group(1).strip() + (" *" if m.group(2) else "")
        fields.append((m.group(3), ctype))
    return fields


def expected_ctype(c_type: str):
    if c_type.endswith("*"):
        return ctypes.c_void_p
    if c_type.startswith("enum "):
        return ctypes.c_int
    return C_TO_CTYPES[c_type]


def test_quantize_params_match_shipped_header(llama_h):
    fields = parse_struct(llama_h, "llama_model_quantize_params")
    ours = [(n, t) for n, t in LlamaModelQuantizeParams._fields_]
    assert [n for n, _ in fields] == [n for n, _ in ours], (
        "llama_model_quantize_params changed in the shipped llama.h: update berth_convert/libllama.py")
    for (name, c_type), (_, our_type) in zip(fields, ours):
        assert expected_ctype(c_type) is our_type, f"field {name}: llama.h says {c_type}"


def test_ftype_values_match_header(llama_h):
    for name, value in LLAMA_FTYPES.items():
        enum = "LLAMA_FTYPE_MOSTLY_" + name
        m = re.search(enum + r"\s*=\s*(\d+)", llama_h)
        assert m and int(m.group(1)) == value, f"{enum} is not {value} in llama.h"


def test_default_params_from_the_library_are_sane():
    lib = load_libllama(find_libllama())
    params = lib.llama_model_quantize_default_params()
    # llama_model_quantize_default_params() in the bundle's src/llama-quant.cpp: Q8_0, output tensor quantized,
    # no pointers, 8 GiB row buffer. Reading the last field right means every offset before it is right.
    assert params.ftype == LLAMA_FTYPES["Q8_0"] and params.quantize_output_tensor
    assert not params.only_copy and not params.dry_run and not params.pure
    assert params.imatrix is None and params.kv_overrides is None and params.prune_layers is None
    assert params.max_buf_size == 8 << 30
    assert ctypes.sizeof(LlamaModelQuantizeParams) == 64  # 4 x 4 + 6 bools (padded to 24) + 4 pointers + size_t
