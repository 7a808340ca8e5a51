"""PEFT LoRA adapters through lora_to_gguf.py, checked in real llama.cpp against transformers + peft.

Real adapters: made with `peft` on the tiny models (Llama with GQA, Qwen2 with tied embeddings), their A and B
set to random values large enough that the adapter visibly changes the model. For each: the adapter GGUF over
the base's F16 GGUF (llama.cpp's LoRA support, through node-llama-cpp) and the merged F16 GGUF give next-token
distributions within total variation TV_BOUND of peft's (unmerged, and merged with merge_and_unload()), with
the same top-1 at every position; the same distributions differ from the bare base's by more than CHANGED.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import PYTHON_DIR, REPO, TESTS, json_lines, requires_llama, run_converter
from tiny_models import build_model

LORA_CONVERTER = PYTHON_DIR / "lora_to_gguf.py"
TV_BOUND = 0.05
CHANGED = 0.1
PROMPT = "The quick brown fox jumps over the lazy dog. 1234"
LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

CASES = {
    # rank 8 on every linear layer, the LM head trained in full (modules_to_save)
    "llama-r8-modules_to_save": ("llama", dict(r=8, lora_alpha=16, target_modules=LINEAR,
                                                modules_to_save=["lm_head"])),
    # rank 64 with rsLoRA (alpha / sqrt(r)), and a LoRA on the token embeddings
    "llama-r64-rslora-embed": ("llama", dict(r=64, lora_alpha=32, use_rslora=True,
                                              target_modules=["q_proj", "k_proj", "v_proj", "o_proj",
                                                              "embed_tokens"])),
    # tied embeddings, per-module rank and alpha (rank_pattern / alpha_pattern)
    "qwen2-r8-patterns": ("qwen2", dict(r=8, lora_alpha=8, target_modules=LINEAR,
                                         rank_pattern={"down_proj": 4}, alpha_pattern={"v_proj": 32})),
}


def run_lora(adapter, out, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    args = [sys.executable, str(LORA_CONVERTER), str(adapter)] + ([str(out)] if out else [])
    return subprocess.run(args + ["--json-progress", *extra], capture_output=True, text=True, timeout=timeout)


def llama_eval(model, tokens, lora=None) -> np.ndarray:
    job = json.dumps({"model": str(model), "tokens": tokens, **({"lora": str(lora)} if lora else {})})
    proc = subprocess.run(["node", str(TESTS / "llama_eval.mjs"), job], capture_output=True, text=True,
                          timeout=180, cwd=REPO)
    assert proc.returncode == 0, f"llama.cpp failed on {model} (+{lora}):\n{proc.stderr[-3000:]}"
    return np.array(json.loads(proc.stdout)["logprobs"])


def probs(model, tokens) -> np.ndarray:
    import torch

    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0].double()
    return torch.softmax(logits, dim=-1).numpy()


def tv(p: np.ndarray, q: np.ndarray) -> float:
    """The largest total-variation distance over positions."""
    return float((0.5 * np.abs(p - q).sum(-1)).max())


def make_adapter(kind: str, lora_kwargs: dict, root, seed: int = 1, **config_extra):
    """A tiny base model, and a peft adapter over it with random (non-zero) A and B, saved like a Trainer does."""
    import torch
    from peft import LoraConfig, get_peft_model

    base_dir, model = build_model(kind, root / "base")
    peft_model = get_peft_model(model, LoraConfig(**lora_kwargs, **config_extra))
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_A" in name or "lora_embedding_A" in name:
                p.normal_(0, 1 / p.shape[-1] ** 0.5 if "lora_A" in name else 1.0)
            elif "lora_B" in name or "lora_embedding_B" in name:
                p.normal_(0, 0.5 / p.shape[-1] ** 0.5)
            elif "modules_to_save" in name:
                p.add_(0.5 * p.std() * torch.randn_like(p))
    # without the rescale, rsLoRA/rank_pattern adapters would differ in strength only by their scale
    adapter_dir = root / "adapter"
    peft_model.save_pretrained(adapter_dir)
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = str(base_dir)
    (adapter_dir / "adapter_config.json").write_text(json.dumps(config))
    return base_dir, model, peft_model, adapter_dir


def prompt_tokens(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder).encode(PROMPT)[:12]


@requires_llama
@pytest.mark.parametrize("case", list(CASES))
def test_adapter_and_merged_match_peft(case, tmp_path):
    kind, lora_kwargs = CASES[case]
    base_dir, _, peft_model, adapter_dir = make_adapter(kind, lora_kwargs, tmp_path)
    tokens = prompt_tokens(base_dir)
    with peft_model.disable_adapter():
        bare = probs(peft_model, tokens)
    adapted = probs(peft_model, tokens)
    merged_model = peft_model.merge_and_unload()
    merged_ref = probs(merged_model, tokens)
    vocab = adapted.shape[1]
    assert tv(adapted, bare) > CHANGED, "the adapter does not change the model: the test could not fail"

    base_gguf = tmp_path / "base.gguf"
    proc = run_converter(base_dir, base_gguf)
    assert proc.returncode == 0, proc.stderr
    adapter_gguf = tmp_path / "adapter.gguf"
    proc = run_lora(adapter_dir, adapter_gguf, "--base", str(base_dir), "--mode", "adapter")
    assert proc.returncode == 0, proc.stderr
    assert json_lines(proc.stdout)[-1]["event"] == "done"
    merged_gguf = tmp_path / "merged.gguf"
    proc = run_lora(adapter_dir, merged_gguf, "--base", str(base_dir), "--mode", "merged")
    assert proc.returncode == 0, proc.stderr

    import gguf

    reader = gguf.GGUFReader(str(adapter_gguf))
    assert reader.get_field("general.type").contents() == "adapter"
    assert reader.get_field("adapter.type").contents() == "lora"
    assert reader.get_field("adapter.lora.alpha").contents() == pytest.approx(lora_kwargs["lora_alpha"])
    names = {t.name for t in reader.tensors}
    assert "blk.0.attn_q.weight.lora_a" in names and "blk.0.attn_q.weight.lora_b" in names

    over_base = np.exp(llama_eval(base_gguf, tokens, lora=adapter_gguf))[:, :vocab]
    merged = np.exp(llama_eval(merged_gguf, tokens))[:, :vocab]
    bare_cpp = np.exp(llama_eval(base_gguf, tokens))[:, :vocab]
    results = {"adapter GGUF vs peft": tv(over_base, adapted), "merged GGUF vs peft merged": tv(merged, merged_ref),
               "bare base GGUF vs peft base": tv(bare_cpp, bare)}
    print(f"{case}: " + ", ".join(f"{k} TV {v:.4f}" for k, v in results.items()))
    for label, value in results.items():
        assert value < TV_BOUND, f"{label}: TV {value:.4f}"
    assert (over_base.argmax(-1) == adapted.argmax(-1)).all(), "adapter GGUF top-1 differs from peft"
    assert (merged.argmax(-1) == merged_ref.argmax(-1)).all(), "merged GGUF top-1 differs from peft"
    assert tv(over_base, bare_cpp) > CHANGED and tv(merged, bare_cpp) > CHANGED
    assert adapter_gguf.stat().st_size < merged_gguf.stat().st_size


def test_dora_is_refused_and_nothing_written(tmp_path):
    base_dir, _, _, adapter_dir = make_adapter("qwen2", dict(r=4, lora_alpha=8, target_modules=["q_proj"]),
                                               tmp_path, use_dora=True)
    for mode in ("adapter", "merged"):
        out = tmp_path / f"{mode}.gguf"
        proc = run_lora(adapter_dir, out, "--base", str(base_dir), "--mode", mode)
        assert proc.returncode == 1
        err = json_lines(proc.stdout)[-1]
        assert err["code"] == "ADAPTER_UNSUPPORTED" and "q_proj" in err["message"] and "DoRA" in err["message"]
        assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_mismatched_base_names_both_shapes(tmp_path):
    _, _, _, adapter_dir = make_adapter("qwen2", dict(r=4, lora_alpha=8, target_modules=["q_proj"]),
                                        tmp_path / "a")
    other, _ = build_model("llama", tmp_path / "other")  # hidden 256, not 64
    proc = run_lora(adapter_dir, tmp_path / "x.gguf", "--base", str(other), "--mode", "adapter")
    assert proc.returncode == 1
    err = json_lines(proc.stdout)[-1]
    assert err["code"] == "ADAPTER_BASE_MISMATCH"
    assert "[64, 64]" in err["message"] and "[256, 256]" in err["message"], err["message"]
    assert not (tmp_path / "x.gguf").exists()


def test_tied_lm_head_cannot_be_an_adapter_but_merges(tmp_path):
    base_dir, _, peft_model, adapter_dir = make_adapter(
        "qwen2", dict(r=4, lora_alpha=8, target_modules=["q_proj"], modules_to_save=["lm_head"]), tmp_path)
    proc = run_lora(adapter_dir, tmp_path / "a.gguf", "--base", str(base_dir), "--mode", "adapter")
    err = json_lines(proc.stdout)[-1]
    assert proc.returncode == 1 and err["code"] == "ADAPTER_UNSUPPORTED" and "lm_head" in err["message"]
    proc = run_lora(adapter_dir, None, "--base", str(base_dir), "--mode", "merged", "--check")
    assert proc.returncode == 0, proc.stderr
    info = json_lines(proc.stdout)[-1]
    assert info["event"] == "checked" and info["modules_to_save"] == ["lm_head.weight"] and info["ranks"] == [4]


def test_fan_in_fan_out_and_lora_bias_are_refused_naming_the_module(tmp_path):
    base_dir, _, _, adapter_dir = make_adapter("qwen2", dict(r=4, lora_alpha=8, target_modules=["v_proj"]),
                                               tmp_path)
    config_path = adapter_dir / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "fan_in_fan_out": True}))
    proc = run_lora(adapter_dir, tmp_path / "f.gguf", "--base", str(base_dir), "--mode", "merged")
    err = json_lines(proc.stdout)[-1]
    assert proc.returncode == 1 and err["code"] == "ADAPTER_UNSUPPORTED" and "v_proj" in err["message"]
    assert "fan_in_fan_out" in err["message"] and not (tmp_path / "f.gguf").exists()

    from safetensors.numpy import load_file, save_file

    config_path.write_text(json.dumps(config))
    weights = adapter_dir / "adapter_model.safetensors"
    tensors = load_file(weights)
    tensors["base_model.model.model.layers.0.self_attn.v_proj.lora_B.bias"] = np.zeros(32, dtype=np.float32)
    save_file(tensors, weights)
    proc = run_lora(adapter_dir, tmp_path / "b.gguf", "--base", str(base_dir), "--mode", "adapter")
    err = json_lines(proc.stdout)[-1]
    assert proc.returncode == 1 and err["code"] == "ADAPTER_UNSUPPORTED"
    assert "model.layers.0.self_attn.v_proj" in err["message"] and not (tmp_path / "b.gguf").exists()


@requires_llama
def test_merged_goes_through_the_quantizer(tmp_path):
    """Merged, then Q8_0 by llama.cpp's quantizer: close to peft's merged model (the bound test_architectures.py
    uses for Q8_0: top-1 equal at >= 80% of positions, TV well under the adapter's own effect)."""
    base_dir, _, peft_model, adapter_dir = make_adapter("llama", dict(r=8, lora_alpha=16, target_modules=LINEAR),
                                                        tmp_path)
    tokens = prompt_tokens(base_dir)
    with peft_model.disable_adapter():
        bare = probs(peft_model, tokens)
    ref = probs(peft_model.merge_and_unload(), tokens)
    out = tmp_path / "merged-q8.gguf"
    proc = run_lora(adapter_dir, out, "--base", str(base_dir), "--mode", "merged", "--quantization", "Q8_0",
                    "--threads", "2")
    assert proc.returncode == 0, proc.stderr
    assert {e.get("stage") for e in json_lines(proc.stdout)} >= {"convert", "quantize"}
    got = np.exp(llama_eval(out, tokens))[:, : ref.shape[1]]
    agree = float((got.argmax(-1) == ref.argmax(-1)).mean())
    print(f"merged Q8_0: top-1 agreement {agree:.2f}, TV {tv(got, ref):.4f} (adapter's own effect {tv(ref, bare):.4f})")
    assert agree >= 0.8 and tv(got, ref) < min(0.1, tv(ref, bare) / 2)
    assert not list(tmp_path.glob("*.partial"))
