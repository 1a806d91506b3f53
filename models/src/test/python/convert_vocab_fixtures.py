"""HuggingFace folders with real (trained) tokenizers for the convert tests (HfConvertVocabTest).

    PYTHONHASHSEED=0 /work/venv-peft/bin/python models/src/test/python/convert_vocab_fixtures.py \
        models/src/test/resources/convert

Four folders, each a tiny random-initialised model saved with save_pretrained (config.json, model.safetensors;
LlamaForCausalLM, or GPT2LMHeadModel for gpt2-bytelevel) beside a tokenizer trained here with HuggingFace tokenizers
on the text below:
    bytelevel-bpe   GPT-2-style byte-level BPE (ByteLevel pre-tokenizer with GPT-2's regex and decoder, merges),
                    "<|endoftext|>" as BOS and EOS, no BOS added on encode (GPT-2's convention)
    spm-bpe-json    Llama-2-style SentencePiece BPE written only as tokenizer.json (no tokenizer.model): "▁" for
                    spaces via Prepend + Replace normalizers, byte fallback over <0x00>..<0xFF> at ids 3..258, BOS
                    <s> added by a TemplateProcessing post-processor, the decoder Llama 2's tokenizer.json has
    llama3-bpe      Llama-3-style byte-level BPE: Llama 3's Split regex then ByteLevel without its regex,
                    ignore_merges, "<|begin_of_text|>" added first by a TemplateProcessing post-processor
    gpt2-bytelevel  GPT2LMHeadModel with the bytelevel-bpe tokenizer; reference.safetensors holds ids (int64 [T]) of
                    the second text and transformers' float32 logits [T, vocab] over them (eager attention)
and ids.tsv in each: per text "<text as JSON string>\t<ids>", the ids HuggingFace tokenizers gives with its special
tokens (the oracle the GGUF vocabulary is checked against; decode must give the text back).

Needs: torch, transformers, tokenizers, safetensors (tested with torch 2.13.0, transformers 5.18.0, tokenizers 0.23).
"""

import json
import os
import sys

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

CORPUS = """Once upon a time, there was a little girl named Lily. She liked to play in the park with her dog.
One day the sun was hot and the sky was blue. Lily said: "Let's go to the river!" The dog barked twice.
They walked 1234 steps, counted 3.14159 birds and ate 42 apples. Naïve café résumé; Привет, мир. 你好，世界.
def main(): for (int i = 0; i < n; i++) { x[i] += 1; } return x  # code and tabs\tand newlines\n
The quick brown fox jumps over the lazy dog. The end.""" * 3

TEXTS = [
    "Hello world",
    "Once upon a time, there was a little girl named Lily.",
    " leading space",
    "two  spaces and\ttab",
    "line one\nline two\n",
    "The quick brown fox jumps over the lazy dog.",
    "naïve café résumé",
    "Привет, мир",
    "你好，世界",
    "emoji 🦙🔥 unseen",
    "numbers 1234567890 3.14159 -42",
    "code: for (int i = 0; i < n; i++) { x[i] += 1; }",
    "   ",
    "a",
    "zebra quartz wolves",
]


def bytelevel_bpe():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([CORPUS], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>")
    return fast, tok


LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def llama3_bpe():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=420, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([CORPUS], trainer)
    bot = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                                       pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                                       special_tokens=[("<|begin_of_text|>", bot)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>")
    return fast, tok


def spm_bpe_json():
    # train the merges on "▁"-spaced text, then lay the vocabulary out as Llama 2's tokenizer.json does
    trained = Tokenizer(models.BPE())
    trained.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    trained.pre_tokenizer = pre_tokenizers.Split("\n", "isolated")
    trainer = trainers.BpeTrainer(vocab_size=300, show_progress=False)
    trained.train_from_iterator([CORPUS], trainer)
    spec = json.loads(trained.to_str())
    base = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    vocab = {t: i for i, t in enumerate(base)}
    for t, _ in sorted(spec["model"]["vocab"].items(), key=lambda e: e[1]):
        if t not in vocab:
            vocab[t] = len(vocab)
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
             "special": True} for i, t in enumerate(base[:3])],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                           {"type": "Replace", "pattern": {"String": " "},
                                                            "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": spec["model"]["merges"]},
    }
    tok = Tokenizer.from_str(json.dumps(doc))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    return fast, tok


def save(out, name, fast, tok, bos, eos, gpt2=False):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(1234)
    if gpt2:
        cfg = GPT2Config(vocab_size=tok.get_vocab_size(), n_embd=32, n_layer=2, n_head=4, n_positions=64,
                         activation_function="gelu_new", layer_norm_epsilon=1e-5, bos_token_id=bos, eos_token_id=eos,
                         resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
        cfg._attn_implementation = "eager"
        model = GPT2LMHeadModel(cfg).eval()
        with torch.no_grad():  # wider than the init, so logits spread over several units
            for pname, p in model.named_parameters():
                if pname.endswith(".weight") and p.dim() == 1:
                    p.copy_(1 + 0.1 * torch.randn_like(p))
                else:
                    p.copy_(0.25 * torch.randn_like(p))
        model.save_pretrained(d)
        ids = torch.tensor(tok.encode(TEXTS[1]).ids)
        model = GPT2LMHeadModel.from_pretrained(d, dtype=torch.float32).eval()
        model.config._attn_implementation = "eager"
        with torch.no_grad():
            logits = model(ids[None]).logits[0].float()
        save_file({"ids": ids.contiguous(), "logits": logits.contiguous()}, os.path.join(d, "reference.safetensors"))
    else:
        cfg = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                          num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
                          rms_norm_eps=1e-5, bos_token_id=bos, eos_token_id=eos, tie_word_embeddings=True)
        LlamaForCausalLM(cfg).save_pretrained(d)
    fast.save_pretrained(d)
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(tok.to_str())  # the tokenizer exactly as trained (save_pretrained may rewrite parts of it)
    lines = []
    for text in TEXTS:
        ids = tok.encode(text).ids
        back = tok.decode(ids, skip_special_tokens=True)
        if back != text:
            print(f"{name}: HF decode gives {back!r} for {text!r}", file=sys.stderr)
        lines.append(json.dumps(text, ensure_ascii=True) + "\t" + " ".join(map(str, ids)))
    with open(os.path.join(d, "ids.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(name, "vocab", tok.get_vocab_size(), "e.g.", lines[1])


def main(out):
    fast, tok = bytelevel_bpe()
    eot = tok.token_to_id("<|endoftext|>")
    save(out, "bytelevel-bpe", fast, tok, eot, eot)
    save(out, "gpt2-bytelevel", fast, tok, eot, eot, gpt2=True)
    fast, tok = llama3_bpe()
    save(out, "llama3-bpe", fast, tok, tok.token_to_id("<|begin_of_text|>"), tok.token_to_id("<|end_of_text|>"))
    fast, tok = spm_bpe_json()
    save(out, "spm-bpe-json", fast, tok, 1, 2)


if __name__ == "__main__":
    main(sys.argv[1])
