"""Berth's vLLM STAND-IN for tests only. Not vLLM; see test-standins/vllm/README.md."""

__version__ = "0.0.0+berth.standin"
