"""Failures the converter reports: a code the core maps to an error, a message and a hint."""

from __future__ import annotations


class ConvertError(Exception):
    """A failure with a stable code (e.g. TENSOR_MISSING), a message naming the cause, and a hint."""

    def __init__(self, code: str, message: str, hint: str | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def as_dict(self) -> dict[str, str]:
        out = {"event": "error", "code": self.code, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        return out


class Cancelled(ConvertError):
    """Raised when SIGTERM or SIGINT arrives; the exit code follows the shell convention 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(
            "CANCELLED",
            f"Conversion cancelled by signal {signum}",
            "Nothing was written; run it again to convert.",
            exit_code=128 + signum,
        )
