"""Reference fixtures for the GPT-2 tests, written by HuggingFace transformers.

    PYTHONHASHSEED=0 /work/venv-peft/bin/python models/src/test/python/gpt2_fixtures.py models/src/test/resources/gpt2

For each case below: a tiny random-initialised GPT2LMHeadModel saved with save_pretrained (config.json,
model.safetensors in the case's dtype; Conv1D weights [in, out], tied head) and reference.safetensors with
    ids     int64 [T]            a random prompt of T = 40 ids
    logits  float32 [T, vocab]   transformers' logits at every position (the saved folder reloaded in float32)
    nll     float32 [1]          transformers' causal-LM loss on ids (mean negative log-likelihood of ids[1:])
    greedy  int64 [16]           model.generate(do_sample=False) continuation (KV-cache decode, EOS not special)
Weights are drawn wider than transformers' init (std 0.25 for matrices and biases, LayerNorm weights
1 + N(0, 0.1²), biases N(0, 0.1²)) so logits spread over several units and a transposed Conv1D, a wrong q|k|v split
or a missing position shows.

Needs: torch, transformers, safetensors (tested with torch 2.13.0, transformers 5.18.0).
"""

import os
import sys

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

COMMON = dict(vocab_size=96, n_embd=32, n_layer=2, n_head=4, n_positions=128, n_inner=None,
              activation_function="gelu_new", layer_norm_epsilon=1e-5, bos_token_id=1, eos_token_id=2,
              resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)

CASES = {
    "gpt2-f32": torch.float32,
    "gpt2-f16": torch.float16,
}


def main(out):
    for name, dtype in CASES.items():
        torch.manual_seed(4321)
        cfg = GPT2Config(**COMMON)
        cfg._attn_implementation = "eager"
        model = GPT2LMHeadModel(cfg).eval()
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if ".ln_" in pname or pname.startswith("transformer.ln_f"):
                    p.copy_((1 if pname.endswith("weight") else 0) + 0.1 * torch.randn_like(p))
                else:
                    p.copy_(0.25 * torch.randn_like(p))
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        model.to(dtype).save_pretrained(d)
        # reference in float32 on the weights exactly as stored, from the saved folder (what a user loads)
        model = GPT2LMHeadModel.from_pretrained(d, dtype=torch.float32).eval()
        model.config._attn_implementation = "eager"
        model.generation_config.eos_token_id = None  # greedy continues past EOS, as the Java test asks
        g = torch.Generator().manual_seed(99)
        ids = torch.randint(3, cfg.vocab_size, (40,), generator=g)
        with torch.no_grad():
            res = model(ids[None], labels=ids[None])
            logits = res.logits[0].float()
            nll = res.loss.reshape(1).float()  # mean −log p(ids[i] | ids[:i]) over i ≥ 1
            greedy = model.generate(ids[None], max_new_tokens=16, do_sample=False, pad_token_id=0)[0, 40:]
        save_file({"ids": ids.contiguous(), "logits": logits.contiguous(), "greedy": greedy.contiguous(), "nll": nll},
                  os.path.join(d, "reference.safetensors"))
        print(name, "max |logit|", float(logits.abs().max()), "greedy", greedy.tolist())


if __name__ == "__main__":
    main(sys.argv[1])
