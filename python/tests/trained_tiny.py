"""A tiny Llama whose weights are trained, not random: fine-tuned (seeded, torch CPU) on Berth's default evaluation
text (resources/eval/berth-eval.txt) so its next-token distributions are peaked the way a real model's are, which
is what a quantization quality report needs to be tested against. Built once and cached, keyed by the training
code and settings, the text and the tokenizer: $BERTH_TEST_CACHE, else ~/.cache/berth-tests.

Run directly to build (or find) it and print its folder: python python/tests/trained_tiny.py
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent.parent
EVAL_TEXT = REPO / "resources" / "eval" / "berth-eval.txt"
TOKENIZER = TESTS / "data" / "llama2-tokenizer"

SEED = 0
STEPS = 120
BATCH = 4
SEQ = 128
LR = 3e-3
CONFIG = dict(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, vocab_size=32000, max_position_embeddings=256, rope_theta=10000.0,
              tie_word_embeddings=False)


def cache_root() -> Path:
    return Path(os.environ.get("BERTH_TEST_CACHE") or Path.home() / ".cache" / "berth-tests")


def fixture_key() -> str:
    import inspect

    h = hashlib.sha256()
    h.update(inspect.getsource(build).encode())
    h.update(json.dumps([SEED, STEPS, BATCH, SEQ, LR, CONFIG], sort_keys=True).encode())
    h.update(EVAL_TEXT.read_bytes())
    h.update((TOKENIZER / "tokenizer.json").read_bytes())
    return h.hexdigest()[:16]


def build(folder: Path) -> dict:
    import torch
    import transformers

    torch.manual_seed(SEED)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    tok = transformers.AutoTokenizer.from_pretrained(TOKENIZER)
    ids = tok(EVAL_TEXT.read_text(encoding="utf-8"), add_special_tokens=False)["input_ids"]
    data = torch.tensor(ids, dtype=torch.long)
    # Train a model over only the tokens the text uses (about 1,500 of the 32,000), then place its embedding and
    # output rows into the full-vocabulary model: the same network at a twentieth of the work on two CPU cores.
    # The other output rows are 0, so those tokens sit far below the ones the model learned to predict and the
    # full-vocabulary distributions are as peaked as a real model's.
    used = torch.tensor(sorted(set(ids) | {tok.bos_token_id}), dtype=torch.long)
    index = torch.full((CONFIG["vocab_size"],), -1, dtype=torch.long)
    index[used] = torch.arange(len(used))
    small = transformers.LlamaConfig(**{**CONFIG, "vocab_size": len(used)})
    model = transformers.LlamaForCausalLM(small)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 20) * max(0.1, 1 - s / STEPS))
    gen = torch.Generator().manual_seed(SEED)
    mapped = index[data]
    bos = int(index[tok.bos_token_id])
    started = time.time()
    losses = []
    for step in range(STEPS):
        starts = torch.randint(0, len(data) - SEQ - 1, (BATCH,), generator=gen)
        x = torch.stack([mapped[s:s + SEQ] for s in starts])
        x[:, 0] = bos  # windows start at BOS, as the report's do
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 25 == 0 or step == STEPS - 1:
            print(f"step {step} loss {losses[-1]:.3f} {time.time() - started:.0f}s", file=sys.stderr, flush=True)
    config = transformers.LlamaConfig(**CONFIG, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    full = transformers.LlamaForCausalLM(config)
    with torch.no_grad():
        state = model.state_dict()
        for name, p in full.named_parameters():
            if name == "model.embed_tokens.weight":
                p[used] = state[name]
            elif name == "lm_head.weight":
                p.zero_()
                p[used] = state[name]
            else:
                p.copy_(state[name])
    model = full
    model = model.to(torch.bfloat16)
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    for f in TOKENIZER.iterdir():
        if f.name != "LICENSE.source":
            shutil.copy(f, tmp / f.name)
    info = {"seed": SEED, "steps": STEPS, "batch": BATCH, "seq": SEQ, "lr": LR, "tokens": len(ids),
            "loss_first": losses[0], "loss_last": sum(losses[-10:]) / 10, "seconds": time.time() - started}
    (tmp / "berth-fixture.json").write_text(json.dumps(info, indent=2))
    tmp.rename(folder)
    return info


def trained_tiny_llama() -> Path:
    """The cached trained model folder (built on first use: a few minutes on two CPU cores)."""
    folder = cache_root() / f"trained-tiny-llama-{fixture_key()}"
    if not (folder / "berth-fixture.json").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        build(folder)
    return folder


if __name__ == "__main__":
    path = trained_tiny_llama()
    print(path)
    print((path / "berth-fixture.json").read_text(), file=sys.stderr)
