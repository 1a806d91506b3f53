"""Trains two small SentencePiece models of the kinds Gemma, T5 and ALBERT ship, and writes the ids Google's
sentencepiece library (the reference implementation of the format) gives for a set of texts, for
SentencePieceVariantsTest.

    gemma-style.model   BPE, add_dummy_prefix=false, byte_fallback, user-defined symbols, identity normalization,
                        whitespace kept as is (Gemma's settings)
    unigram.model       unigram, dummy prefix, byte_fallback, identity normalization, whitespace kept
    unigram-unk.model   unigram without byte fallback: characters outside the pieces become <unk>

The training text is this repository's README.md and BENCHMARKS.md (comma-separated on the command line); the models are
small (vocab 1000) so the fixtures stay a few KiB.

    PYTHONPATH=/tmp/sp python3 models/src/test/python/sentencepiece_variant_fixtures.py README.md,BENCHMARKS.md \
        models/src/test/resources/sentencepiece

(sentencepiece and protobuf: `pip install --target /tmp/sp sentencepiece protobuf` from the local index.)
Output per model: NAME.model and NAME-ids.tsv, one line per text: "<text as JSON string>\t<space-separated ids>".
"""
import json
import os
import sys

import sentencepiece as spm

TEXTS = [
    "Hello world",
    "Hello, world! How are you?",
    " leading space",
    "trailing space ",
    "two  spaces and\ttab",
    "line one\nline two\n",
    "The quick brown fox jumps over the lazy dog.",
    "tensor backend kernel model",
    "naïve café résumé",
    "Привет, мир",
    "こんにちは世界",
    "emoji 🦙🔥",
    "numbers 1234567890 3.14159 -42",
    "code: for (int i = 0; i < n; i++) { x[i] += 1; }",
    "<start_of_turn>user\nhi<end_of_turn>",
    "   ",
    "a",
    "",
]

COMMON = dict(vocab_size=1000, character_coverage=1.0, normalization_rule_name="identity",
              remove_extra_whitespaces=False, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
              split_digits=True, hard_vocab_limit=False)

MODELS = {
    "gemma-style": dict(model_type="bpe", add_dummy_prefix=False, byte_fallback=True,
                        user_defined_symbols=["<start_of_turn>", "<end_of_turn>"]),
    "unigram": dict(model_type="unigram", add_dummy_prefix=True, byte_fallback=True),
    "unigram-unk": dict(model_type="unigram", add_dummy_prefix=True, byte_fallback=False),
}


def main(corpus, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, extra in MODELS.items():
        prefix = os.path.join(out_dir, name)
        spm.SentencePieceTrainer.train(input=corpus, model_prefix=prefix, **COMMON, **extra)
        os.remove(prefix + ".vocab")
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
        with open(prefix + "-ids.tsv", "w", encoding="utf-8") as f:
            for text in TEXTS:
                ids = sp.encode(text)
                f.write(json.dumps(text, ensure_ascii=True) + "\t" + " ".join(map(str, ids)) + "\n")
                assert sp.decode(ids) == text or name == "unigram-unk", (name, text, sp.decode(ids))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
