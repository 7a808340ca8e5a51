"""HF folder -> F16/BF16 GGUF, streamed: tensor infos first, then each tensor's data converted in chunks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

from .architectures import Hparams, PlannedTensor, extra_tensors, plan_tensors, read_hparams, write_hparams
from .checkpoint import TensorSource, load_config, open_tensors
from .progress import Reporter
from .tensors import write_tensor
from .vocab import write_vocab

FTYPES = {"F16": gguf.LlamaFileType.MOSTLY_F16, "BF16": gguf.LlamaFileType.MOSTLY_BF16}
WIDTH = {"F32": 4, "F16": 2, "BF16": 2}


@dataclass
class Plan:
    """Everything decided before a byte is written: hyperparameters, tensors, and the output size."""

    hp: Hparams
    sources: dict[str, TensorSource]
    tensors: list[PlannedTensor]
    extras: dict[str, np.ndarray]
    outtype: str

    def target(self, t: PlannedTensor) -> str:
        return "F32" if t.f32 else self.outtype

    @property
    def data_bytes(self) -> int:
        total = sum(int(np.prod(t.shape)) * WIDTH[self.target(t)] for t in self.tensors)
        return total + sum(a.nbytes for a in self.extras.values())

    @property
    def n_params(self) -> int:
        return sum(int(np.prod(t.shape)) for t in self.tensors)

    @property
    def largest_tensor_bytes(self) -> int:
        return max(s.n_elements * 4 for s in self.sources.values())


def make_plan(model_dir: Path, outtype: str, reporter: Reporter) -> Plan:
    hp = read_hparams(load_config(model_dir))
    sources = open_tensors(model_dir)
    tensors = plan_tensors(hp, {n: s.shape for n, s in sources.items()}, reporter.warn)
    reporter.log(f"{hp.hf_arch} -> {hp.arch}: {hp.n_layer} layers, hidden {hp.n_embd}, vocab {hp.n_vocab}, "
                 f"{len(tensors)} tensors")
    return Plan(hp, sources, tensors, extra_tensors(hp), outtype)


def write_gguf(plan: Plan, model_dir: Path, out_path: Path, reporter: Reporter,
               tokenizer_dir: Path | None = None) -> int:
    """Writes the GGUF to out_path (flushed and fsynced); returns its size in bytes.

    `tokenizer_dir` is where the tokenizer files are when they are not beside the weights: a Trainer's
    checkpoint-N/ folders have none unless the tokenizer was passed to the Trainer, but the run's root has it.
    """
    hp = plan.hp
    w = gguf.GGUFWriter(path=None, arch=hp.arch)
    w.add_name(model_dir.name)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_file_type(FTYPES[plan.outtype])
    write_hparams(w, hp, reporter.warn)
    write_vocab(w, tokenizer_dir or model_dir, hp.arch, hp.n_vocab, reporter)

    for name, arr in plan.extras.items():
        w.add_tensor_info(name, arr.shape, arr.dtype, arr.nbytes)
    for t in plan.tensors:
        target = plan.target(t)
        np_dtype = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}[target]
        raw = gguf.GGMLQuantizationType.BF16 if target == "BF16" else None
        w.add_tensor_info(t.gguf_name, t.shape, np.dtype(np_dtype), int(np.prod(t.shape)) * WIDTH[target], raw)

    w.write_header_to_file(path=out_path)
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    assert w.fout is not None
    fout = w.fout[0]
    align = w.data_alignment

    def pad() -> None:
        n = (-fout.tell()) % align
        if n:
            fout.write(b"\0" * n)

    total = plan.data_bytes
    n_tensors = len(plan.extras) + len(plan.tensors)
    done = 0
    index = 0

    def on_chunk(n: int) -> None:
        nonlocal done
        done += n
        reporter.progress("convert", index, n_tensors, done, total)

    for arr in plan.extras.values():
        pad()
        fout.write(arr.tobytes())
        index += 1
        on_chunk(arr.nbytes)
    for t in plan.tensors:
        pad()
        problems: list[str] = []
        for data, dtype in t.read(plan.sources):  # one piece (one expert of a stacked tensor) at a time
            problems += write_tensor(fout, data, dtype, plan.target(t), t.transform, hp.n_head, hp.n_head_kv,
                                     on_chunk)
            del data  # unmaps the source pages, keeping memory bounded by one tensor
        index += 1
        if "nonfinite" in problems:
            reporter.warn(f"tensor {t.hf_name} contains NaN or Inf values; the model will produce garbage")
        if "overflow" in problems:
            reporter.warn(f"tensor {t.hf_name} has values beyond F16's range (65504) that became Inf; "
                          f"convert with --outtype bf16")
        reporter.progress("convert", index, n_tensors, done, total, force=index == n_tensors)
    pad()
    fout.flush()
    os.fsync(fout.fileno())
    size = fout.tell()
    w.close()
    return size
