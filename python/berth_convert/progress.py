"""Progress as JSON lines on stdout (for Berth's core), human logs on stderr."""

from __future__ import annotations

import json
import sys
import time
from typing import Any


class Reporter:
    """Writes progress events (only with --json-progress) and log lines; throttles per-chunk progress."""

    def __init__(self, json_progress: bool, min_interval_s: float = 0.2) -> None:
        self.json_progress = json_progress
        self.min_interval_s = min_interval_s
        self.started = time.monotonic()
        self._last_emit = 0.0
        self._mark = self.started
        self.phases: dict[str, float] = {}

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def phase(self, name: str) -> None:
        """Ends the phase `name` now: its seconds (since the previous phase ended) go into `phases`."""
        now = time.monotonic()
        self.phases[name] = round(self.phases.get(name, 0.0) + now - self._mark, 3)
        self._mark = now

    def phases_line(self) -> str:
        return ", ".join(f"{k} {v:.2f}s" for k, v in self.phases.items())

    def log(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        self.log(f"warning: {message}")

    def event(self, payload: dict[str, Any]) -> None:
        if self.json_progress:
            sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
            sys.stdout.flush()

    def progress(self, stage: str, tensor: int, tensors: int, bytes_done: int, bytes_total: int,
                 force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_emit < self.min_interval_s:
            return
        self._last_emit = now
        self.event({
            "stage": stage, "tensor": tensor, "tensors": tensors,
            "bytes_done": bytes_done, "bytes_total": bytes_total, "elapsed_s": self.elapsed(),
        })
