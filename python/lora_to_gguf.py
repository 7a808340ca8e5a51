#!/usr/bin/env python3
"""Berth's LoRA converter: `python lora_to_gguf.py <adapter_dir> <out.gguf> --base <dir> [--mode adapter|merged]`."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from berth_convert.lora_main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
