"""The data section of a GGUF, written at the speed of the disk.

Every tensor is cut into blocks of about BLOCK_BYTES; a small pool of threads converts and writes them with
positioned writes (numpy and os.pwrite release the GIL, so reading, converting and writing overlap across cores).
Memory stays bounded: a block per thread of scratch, plus the whole tensor only for tensors computed at convert
time (permuted Q/K, Gemma's norms, or a source without a file offset). Where the output bytes equal the source
bytes (BF16 -> BF16, F16 -> F16, F32 -> F32) the kernel copies them (os.copy_file_range) and the block is read
only for the NaN/Inf check. Blocks are read with pread into per-thread buffers (less kernel time than page faults
on a mapping, and no mapped pages piling up in the process's RSS).
"""

from __future__ import annotations

import errno
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .checkpoint import TensorSource
from .tensors import NUMPY, WIDTH, BlockConverter, Scratch, transform_tensor

BLOCK_BYTES = 4 << 20
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF, errno.ETXTBSY}


@dataclass
class Item:
    """One tensor of the output: from a checkpoint tensor (source) or an array made by the converter (array)."""

    name: str  # shown in warnings (the Hugging Face name for checkpoint tensors)
    offset: int  # absolute position of its data in the output file
    target: str  # "F32" | "F16" | "BF16"
    source: TensorSource | None = None
    array: np.ndarray | None = None
    transform: str | None = None


def workers_default() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def pwrite_all(fd: int, data, offset: int) -> None:
    view = memoryview(data).cast("B")
    while view:
        n = os.pwrite(fd, view, offset)
        if n <= 0:
            raise OSError(errno.EIO, "short write")
        view, offset = view[n:], offset + n


class _Sources:
    """Open source files (read-only descriptors), shared by the threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}

    def get(self, path) -> int:
        key = os.fspath(path)
        with self._lock:
            if key not in self._open:
                self._open[key] = os.open(key, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            return self._open[key]

    def close(self) -> None:
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()


class StreamWriter:
    """Writes the items' data into `fd` (opened for writing; header written by the caller)."""

    def __init__(self, fd: int, n_head: int, n_head_kv: int, workers: int | None = None,
                 on_block: Callable[[int, int], None] | None = None) -> None:
        self.fd = fd
        self.n_head, self.n_head_kv = n_head, n_head_kv
        self.workers = workers or workers_default()
        self.on_block = on_block or (lambda _done, _n: None)
        self.copy_range = hasattr(os, "copy_file_range")
        self._local = threading.local()
        self._sources = _Sources()

    # -- work done on the pool's threads -------------------------------------------------------------------
    def _scratch(self) -> Scratch:
        s = getattr(self._local, "scratch", None)
        if s is None:
            s = self._local.scratch = Scratch()
        return s

    def _copy(self, src_fd: int, src_off: int, dst_off: int, n: int, x: np.ndarray) -> None:
        """n bytes from src_fd at src_off to the output at dst_off; x holds the same bytes (for the fallback)."""
        if self.copy_range:
            try:
                while n > 0:
                    done = os.copy_file_range(src_fd, self.fd, n, src_off, dst_off)
                    if done <= 0:
                        raise OSError(errno.EIO, "copy_file_range copied nothing (source truncated?)")
                    src_off, dst_off, n = src_off + done, dst_off + done, n - done
                return
            except OSError as e:
                if e.errno not in _NO_COPY_RANGE:
                    raise
                self.copy_range = False  # e.g. across filesystems on old kernels: plain writes from now on
        skip = x.nbytes - n
        pwrite_all(self.fd, x.view(np.uint8)[skip:], dst_off)

    def _file_block(self, idx: int, conv: BlockConverter, src: TensorSource, start: int, count: int,
                    dst_off: int) -> tuple[int, int, str | None]:
        fd = self._sources.get(src.file)
        assert src.offset is not None
        src_off = src.offset + start * WIDTH[src.dtype]
        nbytes = count * WIDTH[src.dtype]
        scratch = self._scratch()
        # read with pread into a per-thread buffer: less kernel time than page faults on a mapping, and the
        # process's memory holds only the blocks in flight
        buf = scratch.get(np.uint8, nbytes, "in")
        got = os.preadv(fd, [buf], src_off)
        if got != nbytes:
            raise OSError(errno.EIO, f"{src.file} ended early: {src.name} is truncated")
        x = buf.view(NUMPY[src.dtype])
        if conv.copy:
            problem = conv.check(x, scratch)
            self._copy(fd, src_off, dst_off, nbytes, x)  # in the kernel; x was read only for the check
            return idx, nbytes, problem
        out, problem = conv.convert(x, scratch)
        pwrite_all(self.fd, out, dst_off)
        return idx, out.nbytes, problem

    def _array_block(self, idx: int, conv: BlockConverter, x: np.ndarray, dst_off: int) -> tuple[int, int, str | None]:
        out, problem = conv.convert(x, self._scratch())
        pwrite_all(self.fd, out, dst_off)
        return idx, out.nbytes, problem

    # -- the main thread ---------------------------------------------------------------------------------
    def write(self, items: list[Item]) -> dict[int, set[str]]:
        """Writes every item; returns the problems ("nonfinite", "overflow") found, by item index."""
        problems: dict[int, set[str]] = {}
        blocks_left: dict[int, int] = {}
        pending: deque[Future] = deque()
        limit = 2 * self.workers + 1
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="berth-convert")

        def collect(fut: Future) -> None:
            idx, n, problem = fut.result()
            if problem:
                problems.setdefault(idx, set()).add(problem)
            blocks_left[idx] -= 1
            self.on_block(n, 1 if blocks_left[idx] == 0 else 0)

        def submit(idx: int, fn, *args) -> None:
            blocks_left[idx] = blocks_left.get(idx, 0) + 1
            pending.append(pool.submit(fn, idx, *args))
            while len(pending) >= limit or (pending and pending[0].done()):
                collect(pending.popleft())

        try:
            for idx, item in enumerate(items):
                self._submit_item(idx, item, submit)
            while pending:
                collect(pending.popleft())
        finally:
            for fut in pending:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            self._sources.close()
        return problems

    def _submit_item(self, idx: int, item: Item, submit) -> None:
        if item.array is not None:
            arr = np.ascontiguousarray(item.array)
            pwrite_all(self.fd, arr, item.offset)
            submit(idx, lambda i: (i, arr.nbytes, None))
            return
        src = item.source
        assert src is not None
        if src.n_elements == 0:
            submit(idx, lambda i: (i, 0, None))
            return
        if src.offset is not None and item.transform is None:
            conv = BlockConverter(src.dtype, item.target)
            per = max(1, BLOCK_BYTES // max(WIDTH[src.dtype], conv.out_width))
            for start in range(0, src.n_elements, per):
                count = min(per, src.n_elements - start)
                submit(idx, self._file_block, conv, src, start, count, item.offset + start * conv.out_width)
            return
        # computed at convert time: the whole tensor in memory (bounded by the largest tensor), then blocks
        data, dtype = transform_tensor(src.load(), src.dtype, item.transform, self.n_head, self.n_head_kv)
        flat = data.reshape(-1)
        conv = BlockConverter(dtype, item.target)
        per = max(1, BLOCK_BYTES // max(WIDTH[dtype], conv.out_width))
        for start in range(0, flat.size, per):
            submit(idx, self._array_block, conv, flat[start:start + per], item.offset + start * conv.out_width)
