"""Pre-softmax attention scores of the tiny BERT fixture, as transformers' eager attention computes them.

    PYTHONHASHSEED=0 /work/venv-peft/bin/python models/src/test/python/bert_scores_fixtures.py \
        models/src/test/resources/bert/bert-tiny

Reads the folder bert_fixtures.py wrote (config.json, model.safetensors, reference.safetensors), runs transformers'
BertModel with eager attention on the reference batch (input_ids, attention_mask, token_type_ids) and writes
<dir>/scores.safetensors:
    scores.<i>   float32 [B, heads, T, T]   layer i's q·kᵀ·scaling + attention_mask: the tensor eager_attention_forward
                 hands to softmax, captured there (padded keys carry the additive mask, torch.finfo(float32).min)
    types0.<i>   the same with token_type_ids all 0 (what a single-sentence batch, and BertTeacher, runs)
These are what TinyBERT's attention loss fits (its task_distill.py takes the scores before softmax and replaces
entries <= -1e2, the masked keys, by 0).

Needs: torch, transformers, safetensors (tested with torch 2.13.0, transformers 5.18.0).
"""

import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import BertModel


def main(folder):
    ref = load_file(os.path.join(folder, "reference.safetensors"))
    model = BertModel.from_pretrained(folder, attn_implementation="eager").eval()
    out = {}
    for prefix, types in (("scores", ref["token_type_ids"]), ("types0", torch.zeros_like(ref["token_type_ids"]))):
        scores, attentions = run(model, ref["input_ids"], ref["attention_mask"], types)
        assert len(scores) == model.config.num_hidden_layers, len(scores)
        for i, (s, a) in enumerate(zip(scores, attentions)):
            assert torch.equal(torch.nn.functional.softmax(s, dim=-1), a), i  # these became the probabilities
            if prefix == "scores":
                assert torch.allclose(a, ref[f"attentions.{i}"], atol=1e-6), i
            out[f"{prefix}.{i}"] = s.contiguous()
    save_file(out, os.path.join(folder, "scores.safetensors"))
    print("wrote", os.path.join(folder, "scores.safetensors"), sorted(out), "masked value", out["scores.0"].min().item())


def run(model, ids, mask, types):
    """Every softmax input of one forward (BERT's only softmax is the attention's) and the attention outputs."""
    captured = []
    softmax = torch.nn.functional.softmax

    def capture(x, *args, **kwargs):
        captured.append(x.detach().clone())
        return softmax(x, *args, **kwargs)

    torch.nn.functional.softmax = capture
    try:
        with torch.no_grad():
            o = model(input_ids=ids, attention_mask=mask, token_type_ids=types, output_attentions=True)
    finally:
        torch.nn.functional.softmax = softmax
    return captured, o.attentions


if __name__ == "__main__":
    main(sys.argv[1])
