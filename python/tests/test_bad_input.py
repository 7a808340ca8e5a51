"""Bad input: a clear error (code, message naming the cause, hint), no .gguf, no partial left, source untouched."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import CONVERTER, SPM_TOKENIZER, json_lines, requires_llama, run_converter
from synthetic import llama_folder, write_safetensors


def tree_state(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def assert_failed(proc, out: Path, code: str, *words: str) -> dict:
    assert proc.returncode != 0, proc.stderr
    assert f"error [{code}]" in proc.stderr, proc.stderr
    error = json_lines(proc.stdout)[-1]
    assert error["event"] == "error" and error["code"] == code and error.get("hint")
    for w in words:
        assert w in error["message"], error["message"]
    assert not out.exists()
    assert not list(out.parent.glob("*.partial")), list(out.parent.glob("*"))
    return error


@pytest.fixture
def model(tmp_path) -> Path:
    return llama_folder(tmp_path / "model", SPM_TOKENIZER, hidden=64, layers=2, inter=128, heads=4, kv_heads=2)


def test_source_is_never_modified(model, tmp_path):
    before = tree_state(model)
    out = tmp_path / "out" / "m.gguf"
    out.parent.mkdir()
    assert run_converter(model, out).returncode == 0
    assert tree_state(model) == before


def test_missing_shard(tmp_path):
    m = llama_folder(tmp_path / "sharded", SPM_TOKENIZER, hidden=64, layers=2, inter=128, heads=4, shards=3)
    (m / "model-00002-of-00003.safetensors").unlink()
    out = tmp_path / "o.gguf"
    assert_failed(run_converter(m, out), out, "SHARD_MISSING", "model-00002-of-00003.safetensors")


def test_tensor_missing(model, tmp_path):
    from berth_convert.checkpoint import safetensors_sources

    tensors = {s.name: np.asarray(s.load()).astype(np.float32) if s.dtype != "BF16" else
               (np.asarray(s.load()).astype(np.uint32) << 16).view(np.float32)
               for s in safetensors_sources(model / "model.safetensors")}
    del tensors["model.layers.1.mlp.up_proj.weight"]
    write_safetensors(model / "model.safetensors", tensors, bf16=True)
    out = tmp_path / "o.gguf"
    assert_failed(run_converter(model, out), out, "TENSOR_MISSING", "model.layers.1.mlp.up_proj.weight")


def test_tensor_shaped_unlike_config(model, tmp_path):
    config = json.loads((model / "config.json").read_text())
    config["intermediate_size"] = 256
    (model / "config.json").write_text(json.dumps(config))
    out = tmp_path / "o.gguf"
    assert_failed(run_converter(model, out), out, "TENSOR_SHAPE", "model.layers.0.mlp.gate_proj.weight", "[256, 64]")


def test_nan_and_inf_are_warned_by_tensor_name(model, tmp_path):
    rng = np.random.default_rng(1)
    tensors = {"model.embed_tokens.weight": rng.standard_normal((32000, 64), dtype=np.float32)}
    from berth_convert.checkpoint import safetensors_sources

    for s in safetensors_sources(model / "model.safetensors"):
        tensors.setdefault(s.name, (np.asarray(s.load()).astype(np.uint32) << 16).view(np.float32))
    tensors["model.layers.0.self_attn.v_proj.weight"] = tensors["model.layers.0.self_attn.v_proj.weight"].copy()
    tensors["model.layers.0.self_attn.v_proj.weight"][3, 5] = np.nan
    tensors["model.norm.weight"] = tensors["model.norm.weight"].copy()
    tensors["model.norm.weight"][0] = np.inf
    write_safetensors(model / "model.safetensors", tensors, bf16=True)
    out = tmp_path / "o.gguf"
    proc = run_converter(model, out)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert any("model.layers.0.self_attn.v_proj.weight" in w and "NaN" in w for w in warnings), warnings
    assert any("model.norm.weight" in w for w in warnings), warnings
    assert len(warnings) == 2


def test_tokenizer_missing(model, tmp_path):
    for f in ("tokenizer.model", "tokenizer.json"):
        (model / f).unlink()
    out = tmp_path / "o.gguf"
    error = assert_failed(run_converter(model, out), out, "TOKENIZER_MISSING")
    assert "save_pretrained" in error["hint"]


def test_tokenizer_from_another_folder(model, tmp_path):
    """A Trainer checkpoint-N/ without tokenizer files converts with the run root's tokenizer (--tokenizer-dir)."""
    root = tmp_path / "run-root"
    root.mkdir()
    for f in ("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (model / f).exists():
            shutil.move(str(model / f), str(root / f))
    out = tmp_path / "o.gguf"
    assert_failed(run_converter(model, out), out, "TOKENIZER_MISSING")
    done = run_converter(model, out, "--tokenizer-dir", str(root))
    assert done.returncode == 0, done.stderr
    from gguf import GGUFReader
    fields = GGUFReader(str(out)).fields
    assert int(fields["tokenizer.ggml.tokens"].data.__len__()) > 0
    missing = run_converter(model, tmp_path / "p.gguf", "--tokenizer-dir", str(tmp_path / "nope"))
    assert_failed(missing, tmp_path / "p.gguf", "TOKENIZER_MISSING", "nope")


def test_vocab_larger_than_embedding(tmp_path):
    m = llama_folder(tmp_path / "small-vocab", SPM_TOKENIZER, hidden=64, layers=1, inter=128, heads=4,
                     vocab=31000)
    out = tmp_path / "o.gguf"
    error = assert_failed(run_converter(m, out), out, "VOCAB_TOO_LARGE", "32000", "31000")
    assert "resize_token_embeddings" in error["hint"]


def test_unsupported_architecture_lists_supported(model, tmp_path):
    config = json.loads((model / "config.json").read_text())
    config["architectures"] = ["GPTNeoXForCausalLM"]
    (model / "config.json").write_text(json.dumps(config))
    out = tmp_path / "o.gguf"
    error = assert_failed(run_converter(model, out), out, "UNSUPPORTED_MODEL", "GPTNeoXForCausalLM")
    assert "Qwen3ForCausalLM" in error["hint"] and "Gemma2ForCausalLM" in error["hint"]


@pytest.mark.parametrize("arch, nearest", [("Qwen3NextForCausalLM", "Qwen3ForCausalLM"),
                                            ("Gemma3nForConditionalGeneration", "Gemma3ForConditionalGeneration"),
                                            ("Olmo3ForCausalLM", "Olmo2ForCausalLM"),
                                            ("LlavaForConditionalGeneration", "LlamaForCausalLM")])
def test_unsupported_architecture_names_nearest_relative(model, tmp_path, arch, nearest):
    config = json.loads((model / "config.json").read_text())
    config["architectures"] = [arch]
    (model / "config.json").write_text(json.dumps(config))
    out = tmp_path / "o.gguf"
    error = assert_failed(run_converter(model, out), out, "UNSUPPORTED_MODEL", arch)
    assert f"nearest known relative: {nearest}" in error["message"]
    for known in ("Gemma3ForCausalLM", "Qwen3MoeForCausalLM", "MixtralForCausalLM", "SmolLM3ForCausalLM",
                  "Olmo2ForCausalLM", "GraniteForCausalLM", "Phi3ForCausalLM"):
        assert known in error["hint"]


def test_output_folder_not_writable(model):
    # /sys refuses new files even for root (chmod does not stop root, and tests here may run as root)
    out = Path("/sys/berth-test.gguf")
    proc = run_converter(model, out)
    assert proc.returncode != 0
    assert "OUTPUT_NOT_WRITABLE" in proc.stderr
    assert not out.exists()


def test_output_folder_missing(model, tmp_path):
    out = tmp_path / "nope" / "o.gguf"
    assert_failed(run_converter(model, out), out, "OUTPUT_NOT_WRITABLE", "does not exist")


@pytest.mark.parametrize("outtype", ["f16", "bf16"])  # bf16 from bf16: the kernel's copy_file_range fails too
def test_disk_full_mid_write(model, tmp_path, outtype):
    """RLIMIT_FSIZE (ulimit -f) makes the write fail part-way: Python ignores SIGXFSZ and gets EFBIG."""
    out = tmp_path / "o.gguf"

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    proc = run_converter(model, out, "--outtype", outtype, preexec_fn=limit)
    assert_failed(proc, out, "INSUFFICIENT_DISK", "o.gguf", "size limit")


def test_small_filesystem_fails_before_writing(model, tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN); the ulimit test covers a full disk")
    try:
        out = mnt / "o.gguf"
        assert_failed(run_converter(model, out), out, "INSUFFICIENT_DISK", "GiB")
        assert os.listdir(mnt) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@requires_llama
@pytest.mark.parametrize("stage,signum", [("convert", signal.SIGINT), ("quantize", signal.SIGTERM)])
def test_killed_mid_run(stage, signum, tmp_path):
    """A signal at the first progress line of a stage: no .gguf, no partial, the cause on stderr."""
    m = llama_folder(tmp_path / "big", SPM_TOKENIZER, hidden=1024, layers=4, inter=2816, heads=8)
    out = tmp_path / "o.gguf"
    proc = subprocess.Popen([sys.executable, str(CONVERTER), str(m), str(out), "--json-progress",
                             "--quantization", "Q4_K_M", "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line).get("stage") == stage:
            proc.send_signal(signum)
            break
    rest, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, stderr
    assert "CANCELLED" in stderr and f"signal {int(signum)}" in stderr
    assert json.loads(rest.splitlines()[-1])["code"] == "CANCELLED"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big"]


def test_legacy_bin_without_torch_explains(tmp_path):
    # The real legacy checkpoint (pytorch_model.bin) copied from the shared fixtures, with the Llama-2 tokenizer.
    src = Path(__file__).resolve().parents[2] / "electron/core/checkpoints/__fixtures__/shared/tiny-random-llama-spm"
    m = tmp_path / "bin-model"
    shutil.copytree(src, m)
    for f in SPM_TOKENIZER.iterdir():
        if f.name != "LICENSE.source":
            shutil.copy(f, m / f.name)
    out = tmp_path / "o.gguf"
    # a Python that cannot import torch: an empty torch package shadowing the real one raises ImportError
    shadow = tmp_path / "shadow" / "torch"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('torch is not installed')\n")
    env = {**os.environ, "PYTHONPATH": str(shadow.parent)}
    assert_failed(run_converter(m, out, env=env), out, "TORCH_REQUIRED", "pytorch_model.bin")
    assert run_converter(m, out).returncode == 0  # with torch it converts


@pytest.mark.parametrize("kind, key, value, word", [
    ("gemma3", "layer_types", ["full_attention"] * 6, "layer_types"),
    ("smollm3", "no_rope_layers", [1, 1, 1, 1], "no_rope_layers"),
    ("qwen3moe", "mlp_only_layers", [0], "mlp_only_layers"),
])
def test_layer_patterns_llama_cpp_cannot_run_are_refused(tmp_path, kind, key, value, word):
    """llama.cpp fixes these per-layer patterns; a checkpoint with another one would convert into a wrong model."""
    from tiny_models import build_model

    folder, _ = build_model(kind, tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config[key] = value
    (folder / "config.json").write_text(json.dumps(config))
    out = tmp_path / "o.gguf"
    assert_failed(run_converter(folder, out), out, "UNSUPPORTED_MODEL", word)
