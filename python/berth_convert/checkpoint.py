"""A model folder's tensors: safetensors headers read directly and memory-mapped read-only; legacy .bin via torch."""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import ConvertError

# safetensors dtype -> (numpy dtype of the raw bytes, bytes per element). BF16 stays as uint16 bit patterns.
SAFETENSORS_DTYPES: dict[str, tuple[Any, int]] = {
    "BF16": (np.uint16, 2),
    "F16": (np.float16, 2),
    "F32": (np.float32, 4),
    "F64": (np.float64, 8),
}
MAX_HEADER_BYTES = 100 * 1024 * 1024


@dataclass
class TensorSource:
    """One tensor of the checkpoint: where it is and how to read it, without reading it yet."""

    name: str
    dtype: str  # "BF16" | "F16" | "F32" | "F64"
    shape: tuple[int, ...]
    file: Path
    load: Callable[[], np.ndarray]
    # Byte offset of the raw little-endian data in `file` when it lies there as one contiguous run (safetensors);
    # None when the tensor has to be computed by load() (torch pickles, tensors built at convert time).
    offset: int | None = None

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def read_safetensors_header(path: Path) -> tuple[dict[str, Any], int]:
    """The JSON header of a .safetensors file and the offset where its data begins."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            raw = f.read(8)
            if len(raw) != 8:
                raise ValueError("shorter than its 8-byte header length")
            (n,) = struct.unpack("<Q", raw)
            if n > MAX_HEADER_BYTES or 8 + n > size:
                raise ValueError(f"header length {n} does not fit in a {size}-byte file")
            header = json.loads(f.read(n))
    except (OSError, ValueError) as e:
        raise ConvertError("INVALID_CHECKPOINT", f"{path.name} is not a readable safetensors file: {e}",
                           "Re-save the model with save_pretrained(safe_serialization=True).") from e
    return header, 8 + n


def safetensors_sources(path: Path) -> list[TensorSource]:
    """Every tensor of one .safetensors file, memory-mapped read-only on demand."""
    header, data_start = read_safetensors_header(path)
    size = path.stat().st_size
    sources = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info.get("dtype")
        if dtype not in SAFETENSORS_DTYPES:
            raise ConvertError("UNSUPPORTED_MODEL", f"Tensor {name} in {path.name} has dtype {dtype}",
                               "Berth converts BF16, F16 and F32 weights; dequantize the model first.")
        np_dtype, width = SAFETENSORS_DTYPES[dtype]
        shape = tuple(int(d) for d in info["shape"])
        begin, end = (int(x) for x in info["data_offsets"])
        count = int(np.prod(shape)) if shape else 1
        if end - begin != count * width or data_start + end > size:
            raise ConvertError("INVALID_CHECKPOINT",
                               f"Tensor {name} in {path.name} points past the end of the file (truncated download?)",
                               "Copy or download the shard again.")

        def load(offset=data_start + begin, np_dtype=np_dtype, shape=shape, path=path) -> np.ndarray:
            if not shape or 0 in shape:
                return np.zeros(shape, dtype=np_dtype)
            return np.memmap(path, dtype=np_dtype, mode="r", offset=offset, shape=shape)

        sources.append(TensorSource(name, dtype, shape, path, load, data_start + begin))
    return sources


def torch_bin_sources(path: Path) -> list[TensorSource]:
    """Tensors of a legacy pytorch_model.bin, which only torch can read (weights_only, memory-mapped)."""
    try:
        import torch  # type: ignore
    except ImportError as e:
        raise ConvertError("TORCH_REQUIRED", f"{path.name} is a PyTorch pickle and torch is not installed",
                           "Install torch in the converter's environment, or re-save the model as safetensors "
                           "(model.save_pretrained(dir, safe_serialization=True)).") from e
    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    names = {torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32", torch.float64: "F64"}
    sources = []
    for name, t in state.items():
        if t.dtype not in names:
            raise ConvertError("UNSUPPORTED_MODEL", f"Tensor {name} has dtype {t.dtype}",
                               "Berth converts BF16, F16 and F32 weights.")

        def load(t=t) -> np.ndarray:
            if t.dtype == torch.bfloat16:
                return t.contiguous().view(torch.int16).numpy().view(np.uint16)
            return t.contiguous().numpy()

        sources.append(TensorSource(name, names[t.dtype], tuple(t.shape), path, load))
    return sources


def weight_files(model_dir: Path) -> list[Path]:
    """The weight files of a model folder, from its index when there is one; a missing shard is an error."""
    for index_name, kind in (("model.safetensors.index.json", "safetensors"),
                             ("pytorch_model.bin.index.json", "bin")):
        index = model_dir / index_name
        if index.is_file():
            weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
            shards = sorted(set(weight_map.values()))
            missing = [s for s in shards if not (model_dir / s).is_file()]
            if missing:
                raise ConvertError("SHARD_MISSING",
                                   f"{index_name} lists {len(shards)} shards but {', '.join(missing)} is missing",
                                   "Copy the complete checkpoint folder (every shard) and try again.")
            for s in shards:
                if Path(s).name != s:
                    raise ConvertError("INVALID_CHECKPOINT", f"{index_name} names a shard outside the folder: {s}")
            return [model_dir / s for s in shards]
    files = sorted(model_dir.glob("*.safetensors"))
    if files:
        return files
    if (model_dir / "pytorch_model.bin").is_file():
        return [model_dir / "pytorch_model.bin"]
    raise ConvertError("INVALID_CHECKPOINT", f"No weights (*.safetensors or pytorch_model.bin) in {model_dir}",
                       "Pick the folder that holds the model's config.json and weight files.")


def open_tensors(model_dir: Path) -> dict[str, TensorSource]:
    """Every tensor of the model, by its Hugging Face name."""
    out: dict[str, TensorSource] = {}
    for f in weight_files(model_dir):
        sources = torch_bin_sources(f) if f.suffix == ".bin" else safetensors_sources(f)
        for s in sources:
            out[s.name] = s
    return out


def load_config(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "config.json"
    if not path.is_file():
        raise ConvertError("CHECKPOINT_NOT_FOUND", f"No config.json in {model_dir}",
                           "Pick the folder that holds config.json.")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ConvertError("INVALID_CHECKPOINT", f"config.json in {model_dir} is not valid JSON: {e}") from e
    if "text_config" in config and "num_hidden_layers" not in config:
        config = {**config, **config["text_config"]}
    return config


def readable(path: Path) -> bool:
    return os.access(path, os.R_OK)
