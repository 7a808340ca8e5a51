"""Writes expected.json: facts about the fixtures computed by the reference libraries (safetensors, gguf),
so the TypeScript readers are checked against an independent implementation, not against themselves.

Run from the repository root:  python/.venv/bin/python electron/core/checkpoints/__fixtures__/expected.py
"""

import json
from pathlib import Path

from gguf import GGUFReader
from safetensors import safe_open

HERE = Path(__file__).resolve().parent


def safetensors_facts(folder: Path) -> dict:
    params, dtypes, size = 0, set(), 0
    for f in sorted(folder.glob("*.safetensors")):
        size += f.stat().st_size
        with safe_open(str(f), framework="np") as st:
            for name in st.keys():
                sl = st.get_slice(name)
                n = 1
                for d in sl.get_shape():
                    n *= d
                params += n
                dtypes.add(sl.get_dtype())
    return {"parameters": params, "dtypes": sorted(dtypes), "size_bytes": size}


def gguf_facts(file: Path) -> dict:
    r = GGUFReader(str(file))
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
    ctx = int(r.fields[f"{arch}.context_length"].parts[-1][0])
    ftype = int(r.fields["general.file_type"].parts[-1][0])
    params = sum(int(t.n_elements) for t in r.tensors)
    return {"architecture": arch, "context_length": ctx, "file_type": ftype, "tensor_count": len(r.tensors),
            "parameters": params, "version": int(r.fields["GGUF.version"].parts[-1][0])}


def main() -> None:
    out = {}
    for folder in ["tiny-llama-bf16", "tiny-qwen2-sharded", "tiny-mistral-f32", "trainer-run", "trainer-run/checkpoint-3",
                   "lora-adapter", "shared/fake-gpt2"]:
        out[folder] = safetensors_facts(HERE / folder)
    out["shared/ollama-tiny-gguf/llama-2-tiny-random.gguf"] = gguf_facts(HERE / "shared/ollama-tiny-gguf/llama-2-tiny-random.gguf")
    (HERE / "expected.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
