"""Reference fixtures for the Llama-family model tests, written by HuggingFace transformers.

    PYTHONHASHSEED=0 /work/venv-peft/bin/python models/src/test/python/llama_fixtures.py models/src/test/resources/llama

For each case below: a tiny random-initialised checkpoint saved with save_pretrained (config.json,
model.safetensors, in the case's dtype) and reference.safetensors with
    ids     int64 [T]            a random prompt of T = 40 ids
    logits  float32 [T, vocab]   transformers' logits at every position (the saved folder reloaded in float32)
    nll     float32 [1]          transformers' causal-LM loss on ids (mean negative log-likelihood of ids[1:])
    greedy  int64 [16]           model.generate(do_sample=False) continuation (KV-cache decode, EOS not special)
Weights are drawn wider than transformers' init (std 0.25, norms 1 + N(0, 0.1²)) so logits spread over several
units and a wrong rotation or mask shows.

Needs: torch, transformers, safetensors (tested with torch 2.13.0, transformers 5.18.0).
"""

import os
import sys

import torch
from safetensors.torch import save_file
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM)

COMMON = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5, bos_token_id=1,
              eos_token_id=2)

CASES = {
    # GQA, separate head, F32
    "llama-gqa": (LlamaConfig, LlamaForCausalLM, dict(rope_theta=10000.0, tie_word_embeddings=False), torch.float32),
    # Llama 3 style: theta 500000, llama3 rope scaling, tied head, BF16 weights
    "llama3-scaled": (LlamaConfig, LlamaForCausalLM,
                      dict(rope_theta=500000.0, tie_word_embeddings=True,
                           rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                             high_freq_factor=4.0, original_max_position_embeddings=16)),
                      torch.bfloat16),
    "llama-linear": (LlamaConfig, LlamaForCausalLM,
                     dict(rope_theta=10000.0, rope_scaling=dict(rope_type="linear", factor=2.0)), torch.float32),
    "llama-dynamic": (LlamaConfig, LlamaForCausalLM,
                      dict(rope_theta=10000.0, rope_scaling=dict(rope_type="dynamic", factor=2.0)), torch.float32),
    # Mistral: sliding window 8 over a 40-token prompt
    "mistral-window": (MistralConfig, MistralForCausalLM, dict(rope_theta=10000.0, sliding_window=8), torch.float32),
    # Qwen2: q/k/v bias, F16 weights
    "qwen2-bias": (Qwen2Config, Qwen2ForCausalLM, dict(rope_theta=1000000.0, tie_word_embeddings=False),
                   torch.float16),
}


def main(out):
    for name, (cfg_cls, model_cls, extra, dtype) in CASES.items():
        torch.manual_seed(1234)
        cfg = cfg_cls(**COMMON, **extra)
        if name == "mistral-window" or name == "llama-dynamic":
            cfg.max_position_embeddings = 32 if name == "llama-dynamic" else 128
        cfg._attn_implementation = "eager"
        model = model_cls(cfg).eval()
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if pname.endswith("norm.weight"):
                    p.copy_(1 + 0.1 * torch.randn_like(p))
                else:
                    p.copy_(0.25 * torch.randn_like(p))
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        model.to(dtype).save_pretrained(d)
        # reference in float32 on the weights exactly as stored, from the saved folder (what a user loads)
        model = model_cls.from_pretrained(d, dtype=torch.float32).eval()
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
