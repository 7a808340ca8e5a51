"""Shared helpers: tiny random models saved with transformers, the converter as a child process, and real
llama.cpp (node-llama-cpp through llama_eval.mjs) to read back what the converter wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PYTHON_DIR = TESTS.parent
REPO = PYTHON_DIR.parent
CONVERTER = PYTHON_DIR / "convert_to_gguf.py"
DATA = TESTS / "data"
SPM_TOKENIZER = DATA / "llama2-tokenizer"
BPE_TOKENIZER = DATA / "gpt2-tokenizer"
sys.path.insert(0, str(PYTHON_DIR))


def run_converter(model: Path, out: Path, *extra: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Runs convert_to_gguf.py as Berth does: a child process with --json-progress."""
    return subprocess.run([sys.executable, str(CONVERTER), str(model), str(out), "--json-progress", *extra],
                          capture_output=True, text=True, timeout=timeout, **kw)


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def llama_cpp(model: Path, texts: list[str] | None = None, tokens: list[int] | None = None) -> dict:
    """Loads a GGUF in real llama.cpp; returns its file type, tokenizations and per-position log-probabilities."""
    job = json.dumps({"model": str(model), "texts": texts or [], "tokens": tokens or []})
    proc = subprocess.run(["node", str(TESTS / "llama_eval.mjs"), job], capture_output=True, text=True,
                          timeout=180, cwd=REPO)
    assert proc.returncode == 0, f"llama.cpp failed to load {model}:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout)


def copy_tokenizer(src: Path, dst: Path) -> None:
    for f in src.iterdir():
        if f.name != "LICENSE.source":
            shutil.copy(f, dst / f.name)


@pytest.fixture(scope="session")
def spm_model_dir(tmp_path_factory) -> Path:
    """A tiny random Llama with the real Llama-2 SentencePiece tokenizer, saved as BF16 safetensors."""
    from tiny_models import build_model

    return build_model("llama", tmp_path_factory.mktemp("llama"))[0]


def no_node() -> bool:
    return shutil.which("node") is None or not (REPO / "node_modules" / "node-llama-cpp").is_dir()


requires_llama = pytest.mark.skipif(no_node(), reason="node and node-llama-cpp (npm ci) are needed to run llama.cpp")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
