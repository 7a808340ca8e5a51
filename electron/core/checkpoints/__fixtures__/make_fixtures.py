"""Writes the checkpoint-intake test fixtures with real transformers / tokenizers / sentencepiece.

Run from the repository root:  python/.venv/bin/python electron/core/checkpoints/__fixtures__/make_fixtures.py
Everything is tiny (hidden 16) so the committed copy stays small; weights are random (seeded).
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
# Both tokenizers cover every byte (SentencePiece byte fallback, byte-level BPE's full alphabet) as real
# Llama / Qwen tokenizers do: llama.cpp needs a newline token and byte tokens to load and run them.
VOCAB = 320
torch.manual_seed(0)

TEXT = [
    "the quick brown fox jumps over the lazy dog",
    "berth gives a freshly trained model a running server",
    "a checkpoint holds weights and the trainer state",
    "safetensors headers describe every tensor without reading data",
] * 8

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def spm_tokenizer(out: Path) -> None:
    """A real SentencePiece model (tokenizer.model) trained on a few lines, with a Llama tokenizer_config."""
    import sentencepiece as spm

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp, "corpus.txt")
        corpus.write_text("\n".join(TEXT))
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(Path(tmp, "sp")), vocab_size=VOCAB, model_type="bpe",
            character_coverage=1.0, normalization_rule_name="identity", bos_id=1, eos_id=2, unk_id=0, pad_id=-1, minloglevel=2,
            byte_fallback=True,
        )
        shutil.copy(Path(tmp, "sp.model"), out / "tokenizer.model")
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "add_bos_token": True, "chat_template": CHAT_TEMPLATE,
    }, indent=2))
    (out / "special_tokens_map.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}))


def bpe_tokenizer(out: Path, template_file: bool) -> None:
    """A real byte-level BPE tokenizer.json (tokenizers library), chat template in chat_template.jinja or not at all."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(TEXT, trainers.BpeTrainer(
        vocab_size=VOCAB, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "Qwen2Tokenizer", "eos_token": "<|endoftext|>"}, indent=2))
    if template_file:
        (out / "chat_template.jinja").write_text(CHAT_TEMPLATE)


def tiny_config(kind: str):
    from transformers import LlamaConfig, MistralConfig, Qwen2Config

    common = dict(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                  num_attention_heads=4, max_position_embeddings=256)
    if kind == "llama":
        return LlamaConfig(**common, num_key_value_heads=2, tie_word_embeddings=False,
                           rope_scaling={"rope_type": "linear", "factor": 2.0})
    if kind == "qwen2":
        return Qwen2Config(**common, num_key_value_heads=2, tie_word_embeddings=True)
    if kind == "mistral":
        return MistralConfig(**common, num_key_value_heads=4, sliding_window=None)
    raise ValueError(kind)


def save_model(kind: str, out: Path, dtype, shard: str | None = None):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_config(tiny_config(kind)).to(dtype)
    out.mkdir(parents=True, exist_ok=True)
    kwargs = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(out, **kwargs)
    return model


def trainer_run(out: Path) -> None:
    """A real HF Trainer run: 12 steps, a checkpoint and an eval every 3, best model by eval loss, final model at root."""
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    model = AutoModelForCausalLM.from_config(tiny_config("llama"))
    g = torch.Generator().manual_seed(1)
    # Counting sequences (start, start+1, ...): learnable, so the loss curve really falls.
    def rows(n):
        starts = torch.randint(0, VOCAB - 3, (n, 1), generator=g)
        ids = (starts + torch.arange(12)) % (VOCAB - 3) + 3
        return [{"input_ids": x, "labels": x} for x in ids]
    args = TrainingArguments(
        output_dir=str(out), max_steps=12, save_steps=3, eval_strategy="steps", eval_steps=3, logging_steps=1,
        per_device_train_batch_size=4, per_device_eval_batch_size=8, learning_rate=3e-2, report_to=[],
        load_best_model_at_end=True, metric_for_best_model="eval_loss", use_cpu=True, seed=0,
        dataloader_num_workers=0, save_only_model=False,
    )
    trainer = Trainer(model=model, args=args, train_dataset=rows(48), eval_dataset=rows(8))
    trainer.train()
    trainer.save_model(str(out))
    trainer.save_state()
    spm_tokenizer(out)
    # Absolute paths of this machine would leak into the fixture; keep them relative to the run.
    for state_file in out.rglob("trainer_state.json"):
        state = json.loads(state_file.read_text())
        if state.get("best_model_checkpoint"):
            state["best_model_checkpoint"] = str(Path(out.name) / Path(state["best_model_checkpoint"]).name)
        state_file.write_text(json.dumps(state, indent=2))


def lora_adapter(out: Path, base: str) -> None:
    """A PEFT LoRA adapter in PEFT's on-disk format (adapter_config.json + adapter_model.safetensors).

    peft is not installed in this venv, so the files are written directly with PEFT's field and tensor names.
    """
    out.mkdir(parents=True, exist_ok=True)
    r, modules = 4, ["q_proj", "v_proj"]
    (out / "adapter_config.json").write_text(json.dumps({
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": base, "r": r,
        "lora_alpha": 8, "lora_dropout": 0.05, "target_modules": modules, "bias": "none",
        "fan_in_fan_out": False, "inference_mode": True,
    }, indent=2))
    tensors = {}
    for layer in range(2):
        for m in modules:
            out_dim = 16 if m == "q_proj" else 8
            p = f"base_model.model.model.layers.{layer}.self_attn.{m}"
            tensors[f"{p}.lora_A.weight"] = torch.randn(r, 16, dtype=torch.float32)
            tensors[f"{p}.lora_B.weight"] = torch.zeros(out_dim, r, dtype=torch.float32)
    save_file(tensors, str(out / "adapter_model.safetensors"), metadata={"format": "pt"})


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for name in ["tiny-llama-bf16", "tiny-qwen2-sharded", "tiny-mistral-f32", "trainer-run", "lora-adapter", "lora-missing-base"]:
        shutil.rmtree(target / name, ignore_errors=True)
    save_model("llama", target / "tiny-llama-bf16", torch.bfloat16)
    spm_tokenizer(target / "tiny-llama-bf16")
    save_model("qwen2", target / "tiny-qwen2-sharded", torch.float32, shard="8KB")
    bpe_tokenizer(target / "tiny-qwen2-sharded", template_file=True)
    save_model("mistral", target / "tiny-mistral-f32", torch.float32)
    bpe_tokenizer(target / "tiny-mistral-f32", template_file=False)
    trainer_run(target / "trainer-run")
    lora_adapter(target / "lora-adapter", "../tiny-llama-bf16")
    lora_adapter(target / "lora-missing-base", "acme-missing/base-model-7b")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
