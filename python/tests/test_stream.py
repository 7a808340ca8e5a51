"""The streamed write path (berth_convert/stream.py, metadata.py, BlockConverter) writes exactly the bytes of the
former whole-tensor path (reference_writer.py), with the same warnings, for F16/BF16/F32 checkpoints and F16/BF16
output, with blocks small enough that every tensor spans several (and ends in a partial one)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import gguf
import numpy as np
import pytest

import reference_writer
from berth_convert import stream, tensors
from berth_convert.convert import make_plan, write_gguf
from berth_convert.metadata import header_bytes
from berth_convert.progress import Reporter
from conftest import SPM_TOKENIZER
from synthetic import llama_folder, write_safetensors


class Quiet(Reporter):
    def __init__(self) -> None:
        super().__init__(False)
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def log(self, message: str) -> None:
        pass


def checkpoint(folder: Path, dtype: str) -> Path:
    """A small GQA Llama (permuted Q and K) in `dtype`, with NaN, Inf and values beyond F16's range planted."""
    llama_folder(folder, SPM_TOKENIZER, hidden=64, layers=2, inter=160, heads=4, kv_heads=2, vocab=32000)
    from berth_convert.checkpoint import safetensors_sources

    arrays = {}
    for s in safetensors_sources(folder / "model.safetensors"):
        arrays[s.name] = (np.asarray(s.load()).astype(np.uint32) << 16).view(np.float32).copy()
    arrays["model.layers.0.mlp.up_proj.weight"][7, 3] = np.nan
    arrays["model.layers.1.self_attn.q_proj.weight"][2, 9] = -np.inf  # a permuted tensor
    arrays["model.layers.1.mlp.down_proj.weight"][5, 100] = 1e6  # > 65504: overflow in F16 (kept by BF16/F32)
    arrays["model.layers.0.input_layernorm.weight"][3] = np.nan  # a 1-D tensor, kept F32
    if dtype == "BF16":
        write_safetensors(folder / "model.safetensors", arrays, bf16=True)
    else:
        with np.errstate(over="ignore"):
            cast = {k: v.astype(np.float16 if dtype == "F16" else np.float32) for k, v in arrays.items()}
        write_safetensors(folder / "model.safetensors", cast)
    return folder


def both(model: Path, outtype: str, tmp: Path, workers: int | None = None) -> tuple[bytes, bytes, list, list]:
    ref_rep, new_rep = Quiet(), Quiet()
    ref_out, new_out = tmp / f"ref-{outtype}.gguf", tmp / f"new-{outtype}.gguf"
    _, ref_warn = reference_writer.write_gguf(make_plan(model, outtype, ref_rep), model, ref_out, ref_rep)
    if workers is not None:
        orig = stream.workers_default
        stream.workers_default = lambda: workers  # type: ignore[assignment]
    try:
        size = write_gguf(make_plan(model, outtype, new_rep), model, new_out, new_rep)
    finally:
        if workers is not None:
            stream.workers_default = orig  # type: ignore[assignment]
    assert size == new_out.stat().st_size
    return ref_out.read_bytes(), new_out.read_bytes(), sorted(ref_warn), sorted(new_rep.warnings)


@pytest.fixture
def small_blocks(monkeypatch):
    # 6,000-byte blocks (not a multiple of the 64-element rows) and 1,000-element lookup runs
    monkeypatch.setattr(stream, "BLOCK_BYTES", 6000)
    monkeypatch.setattr(tensors, "LUT_RUN", 1000)


@pytest.mark.parametrize("src", ["BF16", "F16", "F32"])
@pytest.mark.parametrize("outtype", ["F16", "BF16"])
def test_same_bytes_as_whole_tensor_path(src, outtype, tmp_path, small_blocks):
    model = checkpoint(tmp_path / "m", src)
    ref, new, ref_warn, new_warn = both(model, outtype, tmp_path)
    assert len(new) == len(ref) and new == ref
    assert new_warn == ref_warn
    assert any("up_proj" in w and "NaN" in w for w in new_warn), new_warn
    assert any("q_proj" in w for w in new_warn) and any("input_layernorm" in w for w in new_warn), new_warn
    overflow = [w for w in new_warn if "65504" in w]
    assert (len(overflow) == 1 and "down_proj" in overflow[0]) if outtype == "F16" and src != "F16" else not overflow


@pytest.mark.parametrize("workers", [1, 3])
def test_same_bytes_with_default_blocks_and_any_thread_count(workers, tmp_path):
    model = checkpoint(tmp_path / "m", "BF16")
    ref, new, ref_warn, new_warn = both(model, "F16", tmp_path, workers=workers)
    assert new == ref and new_warn == ref_warn


def test_same_bytes_without_copy_file_range(tmp_path, small_blocks, monkeypatch):
    """Where the kernel cannot copy between the files (EXDEV on old kernels), plain writes give the same file."""
    calls = []

    def refuse(*args):
        calls.append(args)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refuse, raising=False)
    model = checkpoint(tmp_path / "m", "BF16")
    ref, new, _, _ = both(model, "BF16", tmp_path)
    assert calls and new == ref


@pytest.mark.parametrize("kind", ["llama", "gemma2", "mixtral", "granitemoe", "granitemoeshared", "qwen2moe"])
def test_same_bytes_for_computed_tensors(kind, tmp_path, small_blocks):
    """Llama 3 rope factors (an extra tensor), permuted Q/K, Gemma's norms + 1: all computed at convert time;
    MoE experts stacked one expert per part (Mixtral: one tensor each; GraniteMoe: slices of one tensor)."""
    from tiny_models import build_model

    folder, _ = build_model(kind, tmp_path / "model")
    for outtype in ("F16", "BF16"):
        ref, new, ref_warn, new_warn = both(folder, outtype, tmp_path)
        assert new == ref and new_warn == ref_warn == []


@pytest.mark.parametrize("src,target", [("BF16", "F16"), ("F16", "BF16")])
def test_lookup_table_equals_arithmetic_for_every_bit_pattern(src, target):
    bits = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    lut, _ = tensors.BlockConverter(src, target).convert(bits, tensors.Scratch())
    f32 = (bits.astype(np.uint32) << 16).view(np.float32) if src == "BF16" else bits.view(np.float16).astype(
        np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        expect = f32.astype(np.float16).view(np.uint16) if target == "F16" else tensors.f32_to_bf16(f32)
    assert np.array_equal(lut, expect)


def test_header_bytes_equal_gguf_writer(tmp_path):
    """Every kind of key/value gguf writes (scalars of each type, string and number arrays, a bytes array)."""
    w = gguf.GGUFWriter(path=None, arch="llama")
    w.add_uint8("a.u8", 7)
    w.add_int8("a.i8", -7)
    w.add_uint16("a.u16", 65535)
    w.add_int16("a.i16", -2)
    w.add_uint32("a.u32", 2**32 - 1)
    w.add_int32("a.i32", -(2**31))
    w.add_uint64("a.u64", 2**64 - 1)
    w.add_int64("a.i64", -(2**63))
    w.add_float32("a.f32", 0.1)
    w.add_float64("a.f64", 0.1)
    w.add_bool("a.bool", True)
    w.add_string("a.str", "héllo ▁ <s>")
    w.add_array("a.strs", ["x", "", "ü" * 300] * 1000)
    w.add_array("a.bytes_strs", [b"\xff\x00", b"ab"])
    w.add_array("a.floats", [-10000.0, 0.5, 1e-30, 3.4e38])
    w.add_array("a.ints", [1, 2, -3])
    w.add_array("a.bools", [True, False])
    w.add_array("a.types", list(gguf.TokenType)[:4] * 10)
    w.add_token_merges(["a b", "c d"])
    w.add_tensor_info("t0", (3, 5), np.dtype(np.float16), 30)
    w.add_tensor_info("t1", (7,), np.dtype(np.float32), 28)
    w.add_tensor_info("t2", (2, 3, 4), np.dtype(np.uint16), 48, gguf.GGMLQuantizationType.BF16)
    header, offsets, data_bytes = header_bytes(w)
    path = tmp_path / "h.gguf"
    w.write_header_to_file(path=path)
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    assert header == path.read_bytes()
    assert offsets == [0, 32, 64] and data_bytes == 128
