"""Writes the expected Llama 2 token ids for SentencePieceModelTest.

Oracle: Google's sentencepiece library loading ../shared/data/llama2-tokenizer.model (the real Llama 2
tokenizer.model), the reference implementation of the format. HuggingFace transformers' LlamaTokenizer built from
the same file is printed beside it where it differs: transformers 5 converts a bare tokenizer.model with a Metaspace
pre-tokenizer that drops the "▁" SentencePiece keeps before leading whitespace (" leading space" gives
[8236, 2913] there, [29871, 8236, 2913] in sentencepiece and in the tokenizer.json published with Llama 2). Ids are without BOS (1): transformers 5 adds none to a tokenizer
built from a bare tokenizer.model, the Llama 2 checkpoints' tokenizer_config adds it; the test prepends it.

    pip install sentencepiece protobuf transformers     # the local pip index has them
    python models/src/test/python/llama2_sentencepiece_fixtures.py \
        ../shared/data/llama2-tokenizer.model models/src/test/resources/sentencepiece/llama2-ids.tsv

"<s>" inside a text is left out: sentencepiece reads it as text, transformers and llama.cpp as the BOS token.

Output: one line per text, "<text as JSON string>\t<space-separated ids>".
"""
import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm
from transformers import LlamaTokenizer

TEXTS = [
    "Hello world",
    "Hello, world! How are you?",
    " leading space",
    "two  spaces and\ttab",
    "line one\nline two\n",
    "The quick brown fox jumps over the lazy dog.",
    "Once upon a time, there was a little girl named Lily.",
    "naïve café résumé",
    "Привет, мир",
    "こんにちは世界",
    "你好，世界",
    "emoji 🦙🔥 and ZWJ 👩‍💻",
    "math 𝔸𝔹ℂ and CJK ext 𠀀",
    "numbers 1234567890 3.14159 -42",
    "code: for (int i = 0; i < n; i++) { x[i] += 1; }",
    "URL https://example.com/path?q=1&r=2",
    "   ",
    "a",
    "",
    "\u00a0non-breaking\u3000ideographic space",
    "Ġ byte-level looking text Ċ",
    "unknown-ish \U0010fffd private use",
]


def main(model_path, out_path):
    sp = spm.SentencePieceProcessor(model_file=model_path)
    with tempfile.TemporaryDirectory() as d:
        shutil.copy(model_path, os.path.join(d, "tokenizer.model"))
        hf = LlamaTokenizer.from_pretrained(d)
    lines = []
    for text in TEXTS:
        ids = sp.encode(text)
        hf_ids = hf(text, add_special_tokens=False)["input_ids"]
        if ids != hf_ids:
            print(f"transformers differs on {text!r}: {hf_ids} (sentencepiece {ids})", file=sys.stderr)
        lines.append(json.dumps(text, ensure_ascii=True) + "\t" + " ".join(map(str, ids)))
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
