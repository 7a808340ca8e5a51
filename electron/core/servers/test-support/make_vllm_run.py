"""A real transformers.Trainer run that the real vLLM (CPU build) can serve, plus a real PEFT LoRA adapter over it.

    python/.venv/bin/python electron/core/servers/test-support/make_vllm_run.py OUT_DIR

Writes OUT_DIR/run (Trainer output_dir: checkpoint-2/ and checkpoint-4/ with optimizer, scheduler and rng states
and trainer_state.json, the final model and the tokenizer at the root) and OUT_DIR/lora-adapter (PEFT's own
save_pretrained, base_model_name_or_path = OUT_DIR/run). Not committed: the real-vLLM tests make it once per
version of this file. Why not the committed checkpoints/__fixtures__/trainer-run: its head_dim is 4, and vLLM's
CPU attention supports head sizes 32..512 only ("Unsupported CPU attention configuration: head_dim=4"). So this
Llama has hidden 64 and 2 heads (head_dim 32), 1 KV head, 2 layers, and the same real SentencePiece tokenizer
(vocab 320, with a chat template). Seeded; takes seconds on a CPU.
"""

import json
import shutil
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
TOKENIZER_FROM = HERE.parents[1] / "checkpoints" / "__fixtures__" / "trainer-run"
TEXT = [
    "the quick brown fox jumps over the lazy dog",
    "berth gives a freshly trained model a running server",
    "a checkpoint holds weights and the trainer state",
    "safetensors headers describe every tensor without reading data",
] * 8


class Lines(torch.utils.data.Dataset):
    def __init__(self, tokenizer):
        self.items = [tokenizer(t, truncation=True, max_length=32)["input_ids"] for t in TEXT]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        ids = torch.tensor(self.items[i])
        return {"input_ids": ids, "labels": ids.clone()}


def collate(batch):
    width = max(len(b["input_ids"]) for b in batch)
    pad = lambda t, v: torch.cat([t, torch.full((width - len(t),), v, dtype=t.dtype)])
    return {
        "input_ids": torch.stack([pad(b["input_ids"], 0) for b in batch]),
        "labels": torch.stack([pad(b["labels"], -100) for b in batch]),
    }


def main(out: Path) -> None:
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Trainer, TrainingArguments

    torch.manual_seed(0)
    run = out / "run"
    if run.exists():
        shutil.rmtree(run)
    tok_dir = out / "tokenizer-src"
    tok_dir.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(TOKENIZER_FROM / name, tok_dir / name)
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    config = LlamaConfig(
        vocab_size=320, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=256, tie_word_embeddings=False, bos_token_id=1,
        eos_token_id=2,
    )
    model = LlamaForCausalLM(config)
    args = TrainingArguments(
        output_dir=str(run), max_steps=4, save_steps=2, per_device_train_batch_size=8, learning_rate=1e-3,
        logging_steps=1, report_to=[], use_cpu=True, seed=0, save_strategy="steps", disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=Lines(tokenizer), data_collator=collate)
    trainer.train()
    trainer.save_model(str(run))
    trainer.save_state()
    tokenizer.save_pretrained(str(run))
    shutil.rmtree(tok_dir)

    adapter = out / "lora-adapter"
    if adapter.exists():
        shutil.rmtree(adapter)
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        print(json.dumps({"run": str(run), "adapter": None, "why": "peft is not installed"}))
        return
    base = LlamaForCausalLM.from_pretrained(str(run))
    peft_model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                                                 lora_dropout=0.0, task_type="CAUSAL_LM"))
    lora_args = TrainingArguments(
        output_dir=str(out / "lora-train"), max_steps=2, per_device_train_batch_size=8, learning_rate=1e-2,
        report_to=[], use_cpu=True, seed=0, save_strategy="no", disable_tqdm=True,
    )
    Trainer(model=peft_model, args=lora_args, train_dataset=Lines(tokenizer), data_collator=collate).train()
    peft_model.save_pretrained(str(adapter))
    shutil.rmtree(out / "lora-train", ignore_errors=True)
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = str(run)
    (adapter / "adapter_config.json").write_text(json.dumps(cfg, indent=2))
    print(json.dumps({"run": str(run), "adapter": str(adapter)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
