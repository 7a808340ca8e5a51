#!/usr/bin/env python3
"""Berth's converter: `python convert_to_gguf.py <model_path> <output.gguf> [--quantization Q4_K_M]`."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from berth_convert.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
