"""Every supported architecture: convert a tiny random model, run it in real llama.cpp, compare with transformers.

Bounds (stated, not tuned per run): the checkpoints are BF16, which F16 holds exactly, so F16 differences come only
from llama.cpp's arithmetic (F16 activations in matmuls, F16 KV cache). F16: the top-1 token equals transformers'
at every position, every log-probability is within F16_BOUND and the total variation distance between the two
next-token distributions is below TV_BOUND at every position. Q8_0: log-probabilities within Q8_BOUND, total
variation below Q8_TV_BOUND at every position, and the same top-1 at >= 70% of positions (Q8_0 rounds activations
too, which flips near ties between two tokens of these tiny random models; the distance bounds are the test of
closeness). Mixture-of-experts models have 4 experts, 2 used per token.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import json_lines, llama_cpp, requires_llama, run_converter
from tiny_models import CONFIGS, MOE, build_model

F16_BOUND = 0.03
TV_BOUND = 0.05
Q8_BOUND = 0.5
Q8_TV_BOUND = 0.1
PROMPT = "The quick brown fox jumps over the lazy dog. 1234"


def reference(model, tokens):
    import torch

    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0].double()
    return torch.log_softmax(logits, dim=-1).numpy()


def total_variation(a, b):
    """Per position: half the L1 distance between two next-token distributions given as log-probabilities."""
    return 0.5 * np.abs(np.exp(a) - np.exp(b)).sum(-1)


def prompt_tokens(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder).encode(PROMPT)[:12]


@requires_llama
@pytest.mark.parametrize("kind", list(CONFIGS))
def test_f16_matches_transformers(kind, tmp_path):
    folder, model = build_model(kind, tmp_path / "model")  # not "phi3...": llama.cpp keys a Phi-3 vocab quirk on the name
    out = tmp_path / f"{kind}.gguf"
    proc = run_converter(folder, out)
    assert proc.returncode == 0, proc.stderr
    assert json_lines(proc.stdout)[-1]["event"] == "done"
    tokens = prompt_tokens(folder)
    ref = reference(model, tokens)
    got = llama_cpp(out, tokens=tokens)
    assert got["file_type"] == 1  # LLAMA_FTYPE_MOSTLY_F16
    cpp = np.array(got["logprobs"])[:, : ref.shape[1]]
    assert cpp.shape == ref.shape
    assert (cpp.argmax(-1) == ref.argmax(-1)).all(), f"top-1 differs: {cpp.argmax(-1)} vs {ref.argmax(-1)}"
    diff = float(np.abs(cpp - ref).max())
    tv = float(total_variation(cpp, ref).max())
    print(f"{kind}: max |log p diff| = {diff:.4f}, max total variation = {tv:.4f}")
    assert diff < F16_BOUND
    assert tv < TV_BOUND
    stderr = proc.stderr
    if kind == "gemma3_vision":  # the vision tower is dropped, and said so
        assert "text only: the vision tower" in stderr, stderr
    if kind in MOE:
        assert got["experts"] == [4, 2], got["experts"]


@requires_llama
@pytest.mark.parametrize("kind", ["llama", "qwen2", "gemma3", "qwen2moe", "qwen3moe", "mixtral", "smollm3",
                                  "olmo2", "granite", "granitemoe", "granitemoeshared", "phi4_mini"])
def test_q8_0_close_and_q4_k_m_runs(kind, tmp_path):
    folder, model = build_model(kind, tmp_path / "model")  # not "phi3...": llama.cpp keys a Phi-3 vocab quirk on the name
    tokens = prompt_tokens(folder)
    ref = reference(model, tokens)
    q8 = tmp_path / "q8.gguf"
    proc = run_converter(folder, q8, "--quantization", "Q8_0", "--threads", "2")
    assert proc.returncode == 0, proc.stderr
    assert {e.get("stage") for e in json_lines(proc.stdout)} >= {"convert", "quantize"}
    got = llama_cpp(q8, tokens=tokens)
    assert got["file_type"] == 7  # LLAMA_FTYPE_MOSTLY_Q8_0
    cpp = np.array(got["logprobs"])[:, : ref.shape[1]]
    agree = float((cpp.argmax(-1) == ref.argmax(-1)).mean())
    diff = float(np.abs(cpp - ref).max())
    tv = float(total_variation(cpp, ref).max())
    print(f"{kind} Q8_0: top-1 agreement {agree:.2f}, max |log p diff| = {diff:.4f}, max total variation = {tv:.4f}")
    assert diff < Q8_BOUND and tv < Q8_TV_BOUND and agree >= 0.7

    q4 = tmp_path / "q4.gguf"
    proc = run_converter(folder, q4, "--quantization", "Q4_K_M", "--threads", "2")
    assert proc.returncode == 0, proc.stderr
    got = llama_cpp(q4, tokens=tokens[:4])
    assert got["file_type"] == 15  # LLAMA_FTYPE_MOSTLY_Q4_K_M
    assert np.isfinite(np.array(got["logprobs"])).all()
    assert q4.stat().st_size < q8.stat().st_size
    assert not list(tmp_path.glob("*.partial"))


def test_intake_lists_the_converters_architectures():
    """The app's list of convertible architectures (capabilities.ts) is the converter's table, no more, no less."""
    import re

    from berth_convert.architectures import ARCHITECTURES
    from conftest import REPO

    source = (REPO / "electron/core/checkpoints/capabilities.ts").read_text()
    block = source[source.index("GGUF_CONVERTIBLE_ARCHITECTURES = ["):source.index("] as const")]
    assert sorted(re.findall(r"'(\w+)'", block)) == sorted(ARCHITECTURES)
