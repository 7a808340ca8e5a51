"""`convert_to_gguf.py <model_path> <output.gguf> [--quantization ...]`: atomic output, clean failure."""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import signal
import sys
import traceback
from pathlib import Path
from typing import Callable

from . import CONVERTER_VERSION, STARTED
from .convert import make_plan, write_gguf
from .errors import Cancelled, ConvertError
from .progress import Reporter
from .quantize import estimate_bytes, quantize

QUANTIZATIONS = ["F16", "BF16", "Q8_0", "Q5_K_M", "Q4_K_M"]
MARGIN_BYTES = 64 << 20


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="convert_to_gguf.py",
                                description="Convert a Hugging Face model folder to GGUF (and quantize it).")
    p.add_argument("model_path")
    p.add_argument("output")
    p.add_argument("--quantization", choices=QUANTIZATIONS, default=None,
                   help="output type (default: --outtype)")
    p.add_argument("--outtype", choices=["f16", "bf16"], default=None,
                   help="type of the unquantized GGUF (default f16, or bf16 with --quantization BF16)")
    p.add_argument("--tokenizer-dir", default=None,
                   help="folder with the tokenizer files when model_path has none (e.g. a Trainer run's root)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="quantizer threads")
    p.add_argument("--json-progress", action="store_true", help="JSON lines on stdout")
    p.add_argument("--no-fsync", action="store_true",
                   help="do not fsync the output (benchmarks only: after a crash the file may be incomplete)")
    p.add_argument("--version", action="version", version=f"berth-convert {CONVERTER_VERSION}")
    return p.parse_args(argv)


def os_error(e: OSError, path: Path) -> ConvertError:
    if e.errno == errno.EFBIG:
        return ConvertError("INSUFFICIENT_DISK", f"The file size limit was reached while writing {path.name}",
                            "Raise the limit (ulimit -f) or write to another drive, and convert again.")
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return ConvertError("INSUFFICIENT_DISK", f"The disk filled up while writing {path.name}: {e.strerror}",
                            "Free space on the output's drive (or raise the file size limit) and convert again.")
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ConvertError("OUTPUT_NOT_WRITABLE", f"Cannot write {e.filename or path}: {e.strerror}",
                            "Choose an output folder you can write to.")
    return ConvertError("INTERNAL", f"{e.strerror or e} ({e.filename or path})")


def check_paths(model_dir: Path, out: Path) -> None:
    if not model_dir.is_dir():
        raise ConvertError("CHECKPOINT_NOT_FOUND", f"{model_dir} is not a folder",
                           "Pass the folder that holds config.json and the weights.")
    parent = out.parent
    if not parent.is_dir():
        raise ConvertError("OUTPUT_NOT_WRITABLE", f"The output folder {parent} does not exist",
                           "Create it or choose another output path.")
    probe = out.with_name(out.name + ".partial")
    try:  # os.access says yes to root everywhere; creating the file is the real test
        probe.open("wb").close()
        probe.unlink()
    except OSError as e:
        raise ConvertError("OUTPUT_NOT_WRITABLE", f"Cannot create files in {parent}: {e.strerror}",
                           "Choose an output folder you can write to.") from e
    if out.exists() and out.resolve().parent == model_dir.resolve() and out.suffix != ".gguf":
        raise ConvertError("OUTPUT_NOT_WRITABLE", f"{out} would overwrite a file of the source model",
                           "Write the GGUF somewhere else; the source is never modified.")


def check_disk(parent: Path, needed: int) -> None:
    free = shutil.disk_usage(parent).free
    if free < needed:
        raise ConvertError("INSUFFICIENT_DISK",
                           f"{parent} has {free / 2**30:.2f} GiB free; the conversion needs about "
                           f"{needed / 2**30:.2f} GiB", "Free space there or choose another output folder.")


def run(args: argparse.Namespace, reporter: Reporter, partials: list[Path]) -> tuple[Path, int]:
    model_dir, out = Path(args.model_path), Path(args.output)
    tokenizer_dir = Path(args.tokenizer_dir) if args.tokenizer_dir else None
    if tokenizer_dir is not None and not tokenizer_dir.is_dir():
        raise ConvertError("TOKENIZER_MISSING", f"--tokenizer-dir {tokenizer_dir} is not a folder",
                           "Pass the folder that holds tokenizer.json or tokenizer.model.")
    quantization = args.quantization or (args.outtype or "f16").upper()
    outtype = (args.outtype or ("bf16" if quantization == "BF16" else "f16")).upper()
    if quantization in ("F16", "BF16") and outtype != quantization:
        raise ConvertError("INVALID_REQUEST", f"--quantization {quantization} contradicts --outtype {outtype}")
    check_paths(model_dir, out)
    plan = make_plan(model_dir, outtype, reporter)
    reporter.phase("plan")
    quantized = quantization not in ("F16", "BF16")
    needed = plan.data_bytes + MARGIN_BYTES + (estimate_bytes(quantization, plan.n_params) if quantized else 0)
    check_disk(out.parent, needed)

    partial = out.with_name(out.name + ".partial")
    partials.append(partial)
    if quantized:
        unquantized = out.with_name(out.name + f".{outtype.lower()}.partial")
        partials.append(unquantized)
        # the intermediate is deleted once quantized: no fsync for it (the quantized output is synced below)
        write_gguf(plan, model_dir, unquantized, reporter, tokenizer_dir, sync=False)
        quantize(unquantized, partial, quantization, max(1, args.threads),
                 estimate_bytes(quantization, plan.n_params), reporter)
        unquantized.unlink()
        reporter.phase("quantize")
        if not args.no_fsync:
            with open(partial, "rb+") as f:
                os.fsync(f.fileno())
            reporter.phase("fsync")
    else:
        write_gguf(plan, model_dir, partial, reporter, tokenizer_dir, sync=not args.no_fsync)
    os.replace(partial, out)
    if not args.no_fsync:
        dir_fd = os.open(out.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    reporter.phase("rename")
    return out, out.stat().st_size


def run_reported(reporter: Reporter, output: Path, work: Callable[[list[Path]], tuple[Path | None, int]]
                 ) -> tuple[int, Path | None, int]:
    """Runs `work` (which lists the partial files it creates) so that every failure, SIGTERM and SIGINT included,
    becomes one reported error with its code and hint, and no partial file is left. Returns (exit code, path, size)."""

    def on_signal(signum, _frame):
        raise Cancelled(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    partials: list[Path] = []
    try:
        path, size = work(partials)
        return 0, path, size
    except BaseException as e:  # noqa: BLE001 - every failure becomes one reported error, nothing left behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for p in partials:
            try:
                p.unlink()
            except FileNotFoundError:
                pass
        if isinstance(e, ConvertError):
            err = e
        elif isinstance(e, OSError):
            err = os_error(e, output)
        elif isinstance(e, MemoryError):
            err = ConvertError("INTERNAL", "Out of memory while converting", "Close other programs and retry.")
        elif isinstance(e, SystemExit):
            raise
        else:
            traceback.print_exc()
            err = ConvertError("INTERNAL", f"{type(e).__name__}: {e}", "This is a bug in Berth's converter.")
        reporter.log(f"error [{err.code}]: {err.message}" + (f"\nhint: {err.hint}" if err.hint else ""))
        reporter.event(err.as_dict())
        if isinstance(e, Cancelled):
            # a quantizer thread may still be writing: leave now, without waiting for it
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(err.exit_code)
        return err.exit_code, None, 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    reporter = Reporter(args.json_progress)
    reporter.phases["imports"] = round(reporter.started - STARTED, 3)
    code, path, size = run_reported(reporter, Path(args.output), lambda partials: run(args, reporter, partials))
    if code:
        return code
    reporter.log(f"wrote {path} ({size} bytes) in {reporter.elapsed():.1f}s")
    reporter.log(f"phases: {reporter.phases_line()}")
    reporter.event({"event": "done", "path": str(path), "bytes": size, "elapsed_s": reporter.elapsed(),
                    "phases_s": reporter.phases})
    return 0
