"""Real PEFT LoRA adapters over tiny-llama-bf16 for the deploy tests (peft 0.21.2, seeded).

Regenerate with `python/.venv/bin/python electron/core/checkpoints/__fixtures__/make_lora_fixtures.py` after
make_fixtures.py (it needs tiny-llama-bf16). A and B are random (PEFT starts B at zero, which would make an
adapter that changes nothing), so an adapter visibly changes the base's output.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def peft_adapter(base: Path, out: Path, seed: int, **lora) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **lora))
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_A" in name:
                p.normal_(0, 1 / p.shape[-1] ** 0.5)
            elif "lora_B" in name:
                p.normal_(0, 1.0 / p.shape[-1] ** 0.5)
    peft_model.save_pretrained(out)
    config = json.loads((out / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "../tiny-llama-bf16"  # relative to the run folder, as a run keeps it
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    (out / "README.md").unlink(missing_ok=True)


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    run = target / "lora-run"
    shutil.rmtree(run, ignore_errors=True)
    modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    peft_adapter(target / "tiny-llama-bf16", run / "checkpoint-2", 2, r=4, lora_alpha=8, target_modules=modules)
    peft_adapter(target / "tiny-llama-bf16", run / "checkpoint-4", 4, r=32, lora_alpha=16, use_rslora=True,
                 target_modules=modules)


if __name__ == "__main__":
    main()
