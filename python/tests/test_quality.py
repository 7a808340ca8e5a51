"""Berth's quantization quality report (electron/core/quality) on a tiny model with trained weights.

The report's figures come from Berth's evaluator child (real llama.cpp through node-llama-cpp). They are checked
against (1) each other across quantization types, (2) transformers' perplexity of the HF model on the very tokens
the report scored, and (3) a direct numpy computation from both GGUFs' next-token probabilities on the same windows,
read by a separate helper (quality_logits.mjs). Every check is also run on a deliberately broken comparison
(distributions shifted by one token) and must fail there.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from conftest import REPO, TESTS, requires_llama, run_converter
from trained_tiny import trained_tiny_llama

pytestmark = requires_llama

CONTEXT = 128
WINDOWS = 8
TYPES = ["F16", "Q8_0", "Q5_K_M", "Q4_K_M"]


def evaluate(model, reference, tmp_path, tag: str, **extra) -> tuple[dict, dict]:
    """Runs the evaluator child as Berth does (job on stdin); returns (figures, windows it scored)."""
    dump = tmp_path / f"windows-{tag}.json"
    text = (REPO / "resources" / "eval" / "berth-eval.txt").read_text(encoding="utf-8")
    job = {"model": str(model), "reference": str(reference), "segments": [{"text": text}], "context": CONTEXT,
           "max_windows": WINDOWS, "gpu": "cpu", "threads": 2, "dump_windows": str(dump), **extra}
    proc = subprocess.run(["node", "--import", "tsx", "electron/core/quality/child.ts"], input=json.dumps(job),
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0, f"{lines[-1:]}\n{proc.stderr[-2000:]}"
    done = [ln for ln in lines if ln["event"] == "done"]
    assert done, proc.stdout[-2000:]
    # raw logits from libllama unless the fallback is asked for; a silent fallback would hide a binding break
    assert done[0]["figures"]["method"] == extra.get("method", "logits"), proc.stderr[-2000:]
    return done[0]["figures"], json.loads(dump.read_text())


@pytest.fixture(scope="module")
def ggufs(tmp_path_factory):
    model = trained_tiny_llama()
    out = tmp_path_factory.mktemp("quality-ggufs")
    files = {}
    for q in TYPES:
        path = out / f"tiny-{q}.gguf"
        proc = run_converter(model, path, "--quantization", q, "--threads", "2")
        assert proc.returncode == 0, proc.stderr[-2000:]
        files[q] = path
    return model, files


class Reports(dict):
    """Reports by type, each measured on first use (so `-k` runs only what its test needs)."""

    def __init__(self, files, tmp):
        super().__init__()
        self.files, self.tmp = files, tmp

    def __missing__(self, key):
        q, shift = (key[:-len("-shifted")], 1) if key.endswith("-shifted") else (key, 0)
        self[key] = evaluate(self.files[q], self.files["F16"], self.tmp, key, **({"test_shift": 1} if shift else {}))
        return self[key]


@pytest.fixture(scope="module")
def reports(ggufs, tmp_path_factory):
    return Reports(ggufs[1], tmp_path_factory.mktemp("quality-reports"))


# --- the assertions, as functions so each can be run on the broken comparison too ---

def assert_self_is_zero(f: dict) -> None:
    assert f["kl_mean"] < 1e-9 and f["kl_max"] < 1e-9, f
    assert f["top1_agreement"] == 1.0, f
    assert abs(f["ppl_ratio"] - 1) < 1e-9, f


def assert_ordering(figs: list[dict]) -> None:
    kl = [f["kl_mean"] for f in figs]
    top1 = [f["top1_agreement"] for f in figs]
    assert all(a < b for a, b in zip(kl, kl[1:])), f"KL not increasing F16 < Q8_0 < Q5_K_M < Q4_K_M: {kl}"
    assert all(a >= b for a, b in zip(top1, top1[1:])) and top1[0] > top1[-1], f"top-1 not decreasing: {top1}"


def transformers_ppl(model_dir, windows: dict, label_shift: int = 0) -> float:
    """Perplexity of the HF model (float32 holding its BF16 weights) on the report's scored positions."""
    import torch
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    first = windows["first"]
    nll, n = 0.0, 0
    with torch.no_grad():
        for w in windows["windows"]:
            ids = torch.tensor([w])
            logp = torch.log_softmax(model(input_ids=ids).logits[0].double(), dim=-1)
            for i in range(first, len(w) - 1 - label_shift):
                nll -= float(logp[i, w[i + 1 + label_shift]])
                n += 1
    return float(np.exp(nll / n))


def assert_ppl_matches(report_ppl: float, hf_ppl: float) -> None:
    assert abs(report_ppl / hf_ppl - 1) < 0.01, f"llama.cpp F16 PPL {report_ppl} vs transformers {hf_ppl}"


def probabilities(model, windows: dict, tmp_path, tag: str) -> np.ndarray:
    out = tmp_path / f"probs-{tag}.f32"
    job = {"model": str(model), "windows": windows["windows"], "first": windows["first"], "out": str(out)}
    proc = subprocess.run(["node", str(TESTS / "quality_logits.mjs"), json.dumps(job)], capture_output=True,
                          text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shape = json.loads(proc.stdout)
    return np.fromfile(out, dtype=np.float32).reshape(shape["rows"], shape["vocab"])


def numpy_figures(p_ref: np.ndarray, p_mod: np.ndarray, next_tokens: np.ndarray) -> dict:
    lp = np.log(np.maximum(p_ref.astype(np.float64), 1e-45))
    lq = np.log(np.maximum(p_mod.astype(np.float64), 1e-45))
    lp -= np.log(np.exp(lp).sum(axis=1, keepdims=True))
    lq -= np.log(np.exp(lq).sum(axis=1, keepdims=True))
    kl = (np.exp(lp) * (lp - lq)).sum(axis=1)
    rows = np.arange(len(next_tokens))
    return {"kl_mean": float(kl.mean()), "kl_p99": float(np.percentile(kl, 99)),
            "top1_agreement": float((lp.argmax(1) == lq.argmax(1)).mean()),
            "ppl_reference": float(np.exp(-lp[rows, next_tokens].mean())),
            "ppl_model": float(np.exp(-lq[rows, next_tokens].mean()))}


def assert_matches_numpy(report: dict, direct: dict) -> None:
    # Not bit for bit: the report evaluates each window in chunks, the helper in one batch, and llama.cpp's
    # arithmetic depends on the batch shape. So 1e-3 on KL (and 5 % of it), and near-ties may flip one top-1.
    for key in ("kl_mean", "kl_p99"):
        diff = abs(report[key] - direct[key])
        assert diff < 1e-3 and diff <= 0.05 * direct[key], f"{key}: report {report[key]} vs numpy {direct[key]}"
    one_token = 1 / report["tokens"]
    assert abs(report["top1_agreement"] - direct["top1_agreement"]) <= one_token + 1e-12, (report, direct)
    for key in ("ppl_reference", "ppl_model"):
        assert abs(report[key] / direct[key] - 1) < 1e-3, f"{key}: report {report[key]} vs numpy {direct[key]}"


# --- the tests ---

def test_trained_fixture_is_trained(ggufs):
    info = json.loads((ggufs[0] / "berth-fixture.json").read_text())
    assert info["loss_last"] < info["loss_first"] - 3, info  # from ~ln(32000) = 10.4 to a few nats


def test_kl_of_f16_against_itself_is_zero(reports):
    f16, _ = reports["F16"]
    assert f16["tokens"] == WINDOWS * (CONTEXT - 1 - CONTEXT // 2)
    assert_self_is_zero(f16)
    with pytest.raises(AssertionError):
        assert_self_is_zero(reports["F16-shifted"][0])


def test_kl_grows_and_top1_falls_with_coarser_quantization(reports):
    figs = [reports[q][0] for q in TYPES]
    print("\n" + "\n".join(f"{q:7} KL {f['kl_mean']:.5f} p99 {f['kl_p99']:.5f} top-1 {f['top1_agreement']:.3f} "
                           f"PPL {f['ppl_model']:.3f} ratio {f['ppl_ratio']:.4f}" for q, f in zip(TYPES, figs)))
    assert [f["model_type"] for f in figs] == TYPES
    assert_ordering(figs)
    with pytest.raises(AssertionError):  # the shifted self-comparison in F16's place breaks the order
        assert_ordering([reports["F16-shifted"][0], *figs[1:]])


def test_f16_perplexity_equals_transformers(ggufs, reports):
    model_dir, _ = ggufs
    f16, windows = reports["F16"]
    assert windows["bos"] is True and all(w[0] == 1 for w in windows["windows"])
    assert_ppl_matches(f16["ppl_reference"], transformers_ppl(model_dir, windows))
    with pytest.raises(AssertionError):
        assert_ppl_matches(f16["ppl_reference"], transformers_ppl(model_dir, windows, label_shift=1))


def test_report_matches_numpy_on_the_same_windows(ggufs, reports, tmp_path):
    _, files = ggufs
    q4, windows = reports["Q4_K_M"]
    p_ref = probabilities(files["F16"], windows, tmp_path, "ref")
    p_mod = probabilities(files["Q4_K_M"], windows, tmp_path, "q4")
    first = windows["first"]
    next_tokens = np.array([t for w in windows["windows"] for t in w[first + 1:]])
    assert len(next_tokens) == q4["tokens"] == len(p_ref) == len(p_mod)
    direct = numpy_figures(p_ref, p_mod, next_tokens)
    assert_matches_numpy(q4, direct)
    broken = numpy_figures(p_ref[:-1], p_mod[1:], next_tokens[:-1])  # model distributions one token late
    with pytest.raises(AssertionError):
        assert_matches_numpy(q4, broken)


def test_fallback_reader_gives_the_same_figures(ggufs, reports, tmp_path):
    """node-llama-cpp's per-position probabilities (the fallback where libllama cannot be bound) against the raw
    logits the report reads by default: the same windows, so the same figures up to float32 rounding."""
    _, files = ggufs
    fast, windows = reports["Q4_K_M"]
    slow, slow_windows = evaluate(files["Q4_K_M"], files["F16"], tmp_path, "fallback", method="probabilities")
    assert slow_windows == windows and slow["tokens"] == fast["tokens"]
    assert_matches_numpy(fast, slow)  # speed is measured in bench/quality.ts, not asserted here
