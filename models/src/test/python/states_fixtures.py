"""Per-layer hidden states and attention probabilities of the Llama-family and GPT-2 test checkpoints, as transformers
returns them with output_hidden_states=True and output_attentions=True (eager attention), for LlamaStatesTest and
Gpt2StatesTest.

For each case folder written by llama_fixtures.py or gpt2_fixtures.py, loads the saved model in float32, runs its reference prompt (the
"ids" of reference.safetensors) and writes states.safetensors beside it:
    hidden.N     float32 [1, T, dim]      N = 0 (embeddings) .. layers (after the final norm)
    attention.N  float32 [1, heads, T, T] N = 0 .. layers − 1

    PYTHONHASHSEED=0 /work/venv-peft/bin/python models/src/test/python/states_fixtures.py \
        models/src/test/resources/llama llama-gqa mistral-window
    PYTHONHASHSEED=0 /work/venv-peft/bin/python models/src/test/python/states_fixtures.py \
        models/src/test/resources/gpt2 gpt2-f32

Needs: torch, transformers, safetensors (tested with torch 2.13.0, transformers 5.18.0).
"""

import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM


def main(root, names):
    for name in names:
        d = os.path.join(root, name)
        ids = load_file(os.path.join(d, "reference.safetensors"))["ids"]
        model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
        with torch.no_grad():
            out = model(ids[None], output_hidden_states=True, output_attentions=True)
        tensors = {}
        for i, h in enumerate(out.hidden_states):
            tensors[f"hidden.{i}"] = h.float().contiguous()
        for i, a in enumerate(out.attentions):
            tensors[f"attention.{i}"] = a.float().contiguous()
        save_file(tensors, os.path.join(d, "states.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
