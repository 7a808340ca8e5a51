"""The tokenizer, written into the GGUF: SentencePiece (tokenizer.model) or byte-level BPE (tokenizer.json)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import gguf

from .errors import ConvertError
from .pretokenizer import detect_pre

T = gguf.TokenType


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_vocab(w: gguf.GGUFWriter, model_dir: Path, arch: str, n_vocab: int, reporter) -> str:
    """Adds the tokenizer to the writer; returns its kind ("llama" SentencePiece or "gpt2" BPE)."""
    tok_config = _json(model_dir / "tokenizer_config.json")
    spm = model_dir / "tokenizer.model"
    tok_json = model_dir / "tokenizer.json"
    prefer_bpe = arch == "phi3" and tok_config.get("tokenizer_class") == "GPT2Tokenizer"
    if spm.is_file() and not prefer_bpe:
        kind = _sentencepiece(w, model_dir, spm, tok_config, n_vocab)
        if arch in ("gemma2", "gemma3"):  # Gemma tokenizers add no space prefix
            w.add_add_space_prefix(False)
    elif tok_json.is_file():
        kind = _bpe(w, model_dir, tok_json, n_vocab, reporter)
    else:
        raise ConvertError("TOKENIZER_MISSING", f"No tokenizer (tokenizer.model or tokenizer.json) in {model_dir}",
                           "Save the tokenizer next to the weights: tokenizer.save_pretrained(output_dir).")
    special = gguf.SpecialVocab(model_dir, load_merges=(kind == "gpt2"), n_vocab=n_vocab)
    if kind == "gpt2" and not special.merges:
        raise ConvertError("TOKENIZER_MISSING", f"tokenizer.json in {model_dir} has no BPE merges",
                           "Save the full tokenizer with tokenizer.save_pretrained(output_dir).")
    special.add_to_gguf(w, quiet=True)
    return kind


def _check_size(found: int, n_vocab: int, source: str) -> None:
    if found > n_vocab:
        raise ConvertError("VOCAB_TOO_LARGE",
                           f"The tokenizer ({source}) has {found} tokens but the embedding has only {n_vocab} rows",
                           "After adding tokens, call model.resize_token_embeddings(len(tokenizer)) and save again.")


def _sentencepiece(w, model_dir: Path, path: Path, tok_config: dict[str, Any], n_vocab: int) -> str:
    from sentencepiece import SentencePieceProcessor  # type: ignore

    sp = SentencePieceProcessor()
    try:
        sp.LoadFromFile(str(path))
    except Exception as e:  # sentencepiece raises plain RuntimeError/OSError
        raise ConvertError("TOKENIZER_MISSING", f"tokenizer.model in {model_dir} cannot be read: {e}",
                           "Save the tokenizer again with tokenizer.save_pretrained(output_dir).") from e
    _check_size(sp.vocab_size(), n_vocab, "tokenizer.model")
    tokens = [f"[PAD{i}]".encode() for i in range(n_vocab)]
    scores = [-10000.0] * n_vocab
    types = [T.UNUSED] * n_vocab
    # the C++ processor's methods directly (sentencepiece's Python wrappers add a call each): ~3x faster here
    proc = getattr(sp, "_processor", sp)
    piece, score = proc.IdToPiece, proc.GetScore
    unknown, control, unused, byte = proc.IsUnknown, proc.IsControl, proc.IsUnused, proc.IsByte
    ids = range(sp.vocab_size())
    tokens[:len(ids)] = [piece(i).encode("utf-8") for i in ids]
    scores[:len(ids)] = [score(i) for i in ids]
    types[:len(ids)] = [T.UNKNOWN if unknown(i) else T.CONTROL if control(i) else T.UNUSED if unused(i) else
                        T.BYTE if byte(i) else T.NORMAL for i in ids]
    # Added tokens: added_tokens.json as user-defined; tokenizer_config's decoder entries as control when special.
    for content, i in _json(model_dir / "added_tokens.json").items():
        _check_size(int(i) + 1, n_vocab, "added_tokens.json")
        tokens[int(i)], scores[int(i)], types[int(i)] = content.encode("utf-8"), -1000.0, T.USER_DEFINED
    for key, data in (tok_config.get("added_tokens_decoder") or {}).items():
        i, content = int(key), data["content"]
        _check_size(i + 1, n_vocab, "tokenizer_config.json added tokens")
        if data.get("special"):
            types[i] = T.CONTROL
        else:
            content = content.replace("\u2581", " ")  # llama.cpp expects user-defined spaces pre-normalised
            types[i] = T.USER_DEFINED
        tokens[i], scores[i] = content.encode("utf-8"), -1000.0
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    return "llama"


def _bpe(w, model_dir: Path, path: Path, n_vocab: int, reporter) -> str:
    tokenizer = json.loads(path.read_text(encoding="utf-8"))
    model = tokenizer.get("model") or {}
    if model.get("type") != "BPE" or model.get("byte_fallback"):
        raise ConvertError("UNSUPPORTED_MODEL",
                           f"tokenizer.json in {model_dir} is a {model.get('type')} tokenizer without tokenizer.model",
                           "Berth converts SentencePiece (tokenizer.model) and byte-level BPE tokenizers; save the "
                           "tokenizer's tokenizer.model next to the weights.")
    vocab: dict[str, int] = dict(model.get("vocab") or {})
    added = {a["content"]: a for a in tokenizer.get("added_tokens", [])}
    for content, a in added.items():
        vocab[content] = int(a["id"])
    _check_size(max(vocab.values()) + 1 if vocab else 0, n_vocab, "tokenizer.json")
    reverse = {i: t for t, i in vocab.items()}
    tokens, types = [], []
    for i in range(n_vocab):
        if i not in reverse:
            tokens.append(f"[PAD{i}]")
            types.append(T.UNUSED)
        elif reverse[i] in added:
            a = added[reverse[i]]
            tokens.append(reverse[i])
            types.append(T.CONTROL if a.get("special") else T.USER_DEFINED)
        else:
            tokens.append(reverse[i])
            types.append(T.NORMAL)
    pre = os.environ.get("BERTH_TOKENIZER_PRE") or detect_pre(path, reporter.warn)
    if pre is None:
        raise ConvertError("UNKNOWN_PRETOKENIZER",
                           f"The BPE pre-tokenizer of {path} is not one Berth recognises",
                           "A wrong pre-tokenizer silently degrades the model. If you know its family (e.g. "
                           "llama-bpe, qwen2, gpt-2), set BERTH_TOKENIZER_PRE to it and convert again.")
    reporter.log(f"tokenizer: byte-level BPE, {len(vocab)} tokens, pre-tokenizer {pre}")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    return "gpt2"
