"""Berth's HF -> GGUF converter: safetensors read with numpy, GGUF written with `gguf`, quantized by llama.cpp."""

# Bumped whenever the bytes the converter writes for the same input change; part of the conversion cache key.
CONVERTER_VERSION = "1"
