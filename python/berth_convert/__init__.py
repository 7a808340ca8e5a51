"""Berth's HF -> GGUF converter: safetensors read with numpy, GGUF written with `gguf`, quantized by llama.cpp."""

import time

# When the package was first imported: the converter's "imports" phase runs from here to main().
STARTED = time.monotonic()

# Bumped whenever the bytes the converter writes for the same input change; part of the conversion cache key.
CONVERTER_VERSION = "1"
