"""Reference fixtures for the BERT encoder tests, written by HuggingFace transformers.

    PYTHONHASHSEED=0 /work/venv-peft/bin/python models/src/test/python/bert_fixtures.py models/src/test/resources/bert

Writes into <out>/bert-tiny:
    config.json, model.safetensors      a tiny random-initialised BertModel (save_pretrained, float32)
    vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json   BertTokenizerFast over a small vocab
    reference.safetensors
        input_ids        int64 [B, T]   SENTENCES tokenized by the tokenizer, padded on the right
        attention_mask   int64 [B, T]
        token_type_ids   int64 [B, T]   1 on the second half of each row's real tokens (a sentence pair's B part)
        last_hidden_state        float32 [B, T, H]
        hidden_states.<i>        float32 [B, T, H]      i = 0 (embeddings) .. layers
        attentions.<i>           float32 [B, heads, T, T]  i = 0 .. layers-1
        mean_pooled, cls_pooled  float32 [B, H]   attention-mask mean (sum / clamp(count, 1e-9)) and [CLS] vector
        mean_normalized, cls_normalized  float32 [B, H]   the same through torch.nn.functional.normalize
Weights are drawn wider than transformers' init (linear std 0.2, embeddings std 1, LayerNorm 1 + N(0, 0.1²), biases
N(0, 0.1²)) so attention is far from uniform and a wrong mask, scale or order of operations shows.

Needs: torch, transformers, safetensors (tested with torch 2.13.0, transformers 5.18.0).
"""

import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import BertConfig, BertModel, BertTokenizerFast

WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "quick", "brown", "fox", "jump", "##s", "##ed", "over",
         "lazy", "river", "bank", "money", "is", "in", "tensor", "library", "java", "fast", "##er", "vector",
         ",", ".", "!", "?", "'", "s"]
SENTENCES = [
    "The cat sat on the mat.",
    "A quick brown fox jumped over the lazy dog, and the dog jumps in the river!",
    "Money is in the bank?",
    "Java tensor library: faster vectors.",  # ':' and 'vectors' stress [UNK] and word pieces
]


def main(out):
    out = os.path.join(out, "bert-tiny")
    os.makedirs(out, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    vocab_file = os.path.join(out, "vocab.txt")
    with open(vocab_file, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    tok = BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True)
    tok.save_pretrained(out)

    torch.manual_seed(4321)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, type_vocab_size=2, layer_norm_eps=1e-12,
                     hidden_act="gelu")
    cfg._attn_implementation = "eager"
    model = BertModel(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif "embeddings" in name:
                p.copy_(torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
    model.save_pretrained(out)

    enc = tok(SENTENCES, padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    types = torch.zeros_like(ids)
    for r in range(ids.shape[0]):
        n = int(mask[r].sum())
        types[r, n // 2:n] = 1
    with torch.no_grad():
        o = model(input_ids=ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True,
                  output_attentions=True)
    h = o.last_hidden_state
    m = mask.unsqueeze(-1).to(h.dtype)
    mean = (h * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    cls = h[:, 0]
    ref = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "last_hidden_state": h,
           "mean_pooled": mean, "cls_pooled": cls, "mean_normalized": F.normalize(mean, p=2, dim=1),
           "cls_normalized": F.normalize(cls, p=2, dim=1)}
    for i, s in enumerate(o.hidden_states):
        ref[f"hidden_states.{i}"] = s
    for i, a in enumerate(o.attentions):
        ref[f"attentions.{i}"] = a
    save_file({k: v.contiguous().clone() for k, v in ref.items()}, os.path.join(out, "reference.safetensors"))
    print("wrote", out, "ids", ids.tolist())


if __name__ == "__main__":
    main(sys.argv[1])
