"""HF folder -> F16/BF16 GGUF: metadata and tensor infos first, then the tensors' data streamed in blocks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

from .architectures import Hparams, PlannedTensor, extra_tensors, plan_tensors, read_hparams, write_hparams
from .checkpoint import TensorSource, load_config, open_tensors
from .metadata import header_bytes
from .progress import Reporter
from .stream import Item, StreamWriter, pwrite_all
from .vocab import write_vocab

FTYPES = {"F16": gguf.LlamaFileType.MOSTLY_F16, "BF16": gguf.LlamaFileType.MOSTLY_BF16}
WIDTH = {"F32": 4, "F16": 2, "BF16": 2}
WIDTH_SOURCE = {**WIDTH, "F64": 8}


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
               tokenizer_dir: Path | None = None, sync: bool = True) -> int:
    """Writes the GGUF to out_path (fsynced unless `sync` is False); returns its size in bytes.

    `tokenizer_dir` is where the tokenizer files are when they are not beside the weights: a Trainer's
    checkpoint-N/ folders have none unless the tokenizer was passed to the Trainer, but the run's root has it.
    """
    w = header_writer(plan, model_dir, reporter, tokenizer_dir)
    reporter.phase("metadata")
    return write_file(w, plan, out_path, reporter, sync)


def header_writer(plan: Plan, model_dir: Path, reporter: Reporter,
                  tokenizer_dir: Path | None = None) -> gguf.GGUFWriter:
    """A GGUFWriter holding the file's metadata and tensor infos (no data yet)."""
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
    return w


def part_source(src: TensorSource, index: tuple | None) -> TensorSource:
    """One expert of a checkpoint tensor: `src[index]`, where index is leading integers and at most one slice of
    the next dimension (the whole remaining dimensions), so the part is one contiguous run of the file."""
    if index is None:
        return src
    lead: list[int] = []
    cut: slice | None = None
    for i in index:
        if isinstance(i, slice):
            cut = i
            break
        lead.append(int(i))
    dims = list(src.shape)
    d = len(lead)
    start, stop = (0, dims[d]) if cut is None else (cut.start or 0, dims[d] if cut.stop is None else cut.stop)
    shape = tuple([stop - start] + dims[d + 1:])
    row = int(np.prod(dims[d + 1:], dtype=np.int64))
    first = 0
    for k, i in enumerate(lead):
        first = first * dims[k] + i
    first = (first * dims[d] + start) * row  # element index of the part's first value
    width = src.n_elements and WIDTH_SOURCE[src.dtype]
    offset = None if src.offset is None else src.offset + first * width
    return TensorSource(src.name, src.dtype, shape, src.file, lambda: src.load()[index], offset)


def write_file(w: gguf.GGUFWriter, plan: Plan, out_path: Path, reporter: Reporter, sync: bool = True) -> int:
    """Header from the filled writer, then the tensors' data streamed by a pool of threads (stream.py)."""
    header, offsets, data_bytes = header_bytes(w)
    align = w.data_alignment
    data_start = -(-len(header) // align) * align
    end = data_start + data_bytes
    items = [Item(name, data_start + offsets[i], "F32", array=arr) for i, (name, arr) in enumerate(plan.extras.items())]
    base = len(items)
    for k, t in enumerate(plan.tensors):
        offset = data_start + offsets[base + k]
        if not t.parts:
            items.append(Item(t.hf_name or t.gguf_name, offset, plan.target(t),
                              source=plan.sources[t.hf_name] if t.hf_name else None, transform=t.transform))
            continue
        # a stacked expert tensor: its parts (one expert each) written one after another, each streamed alone
        for name, index in t.parts:
            part = part_source(plan.sources[name], index)
            items.append(Item(name, offset, plan.target(t), source=part, transform=t.transform))
            offset += part.n_elements * WIDTH[plan.target(t)]
    total = plan.data_bytes
    done = 0
    finished = 0

    def on_block(n: int, tensors_finished: int) -> None:
        nonlocal done, finished
        done += n
        finished += tensors_finished
        reporter.progress("convert", finished, len(items), done, total, force=finished == len(items))

    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        pwrite_all(fd, header, 0)
        reporter.phase("header")
        problems = StreamWriter(fd, plan.hp.n_head, plan.hp.n_head_kv, on_block=on_block).write(items)
        os.ftruncate(fd, end)  # the padding after the last tensor (and any gaps) reads as zeros
        reporter.phase("tensors")
        for idx in sorted(problems):
            name = items[idx].name
            if "nonfinite" in problems[idx]:
                reporter.warn(f"tensor {name} contains NaN or Inf values; the model will produce garbage")
            if "overflow" in problems[idx]:
                reporter.warn(f"tensor {name} has values beyond F16's range (65504) that became Inf; "
                              f"convert with --outtype bf16")
        if sync:
            os.fsync(fd)
            reporter.phase("fsync")
    finally:
        os.close(fd)
    return end
