"""GPTQ checkpoints made by transformers with optimum and GPT-QModel themselves, for GptqInteropTest, and the reverse
check: transformers loading what GptqInteropTest wrote with `convert --type gptq`.

    PYTHONHASHSEED=0 python gptqmodel_fixtures.py write models/src/test/resources/gptq
        gptqmodel-source: a tiny random LlamaForCausalLM in float32 (CONFIG below). gptqmodel-4bit-g16-act (4 bits,
        groups of 16, act-order, asymmetric) and gptqmodel-4bit-g32-sym (4 bits, groups of 32, symmetric, no
        act-order): that model loaded by transformers with a GPTQConfig, so that optimum's GPTQQuantizer quantizes
        every projection with GPT-QModel on the CPU over a few random token sequences, then saved with
        save_pretrained (config.json and model.safetensors as transformers writes such a model: qweight, qzeros,
        scales, g_idx in GPT-QModel's layout, checkpoint_format "gptq_v2"). expected.safetensors holds input ids, the
        quantized model's logits (GPT-QModel's torch kernel) and, for three projections, GPT-QModel's
        dequantize_weight() as float32 [out, in] ("<name>.dequantized").

    python gptqmodel_fixtures.py check models/target/gptq-written
        For every directory GptqInteropTest wrote there (gptqmodel-source converted by `convert --type gptq`, and
        panthera.safetensors with input ids, our dequantized weights and the logits of our model with those weights
        rounded to float16, as GPTQ kernels multiply in float16): transformers loads it with GPT-QModel's torch
        kernel; dequantize_weight() of every projection must equal ours rounded to float16 bit for bit and the
        logits agree within float32 summation-order error.

Needs transformers 5.18.0, torch 2.13.0, safetensors, accelerate, optimum (2.1.0.dev0, commit 83c88b8f of
huggingface/optimum) and GPT-QModel (7.3.4, commit f4c327a1 of ModelCloud/GPTQModel) importable. GPT-QModel's
pip dependencies are not all installable here; its Python package imports with device-smi, logbar, tokenicer and
defuser from their repositories on the path and a few names of `pcre` mapped onto `re`.
"""

import json
import os
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import GPTQConfig, LlamaConfig, LlamaForCausalLM

# GPT-QModel packs only layers whose output count is a multiple of 32 (its pack_block): hidden 64 with 4 heads and
# 2 KV heads of 16 gives k/v outputs of 32; the llama-gqa fixture's 16 would not pack
CONFIG = LlamaConfig(
    vocab_size=96,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
    tie_word_embeddings=False,
)
VARIANTS = {
    "gptqmodel-4bit-g16-act": dict(bits=4, group_size=16, desc_act=True, sym=False, format="gptq"),
    "gptqmodel-4bit-g32-sym": dict(bits=4, group_size=32, desc_act=False, sym=True, format="gptq"),
}
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CHECKED = ("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj", "model.layers.1.mlp.down_proj")


def load(path, **quant):
    """A LlamaForCausalLM from path on the CPU with GPT-QModel's torch kernel; quantized on load when asked."""
    if not quant:
        with open(os.path.join(path, "config.json")) as f:
            qc = json.load(f)["quantization_config"]
        quant = dict(bits=qc["bits"], group_size=qc["group_size"], desc_act=qc["desc_act"], sym=qc["sym"])
        quant["format"] = qc.get("checkpoint_format", "gptq")
    config = GPTQConfig(backend="torch", **quant)
    return LlamaForCausalLM.from_pretrained(
        path, device_map="cpu", dtype=torch.float32, quantization_config=config
    ).eval()


def projections(model):
    """name (as in the checkpoint, without '.weight') -> GPT-QModel's quantized linear layer."""
    return {n: m for n, m in model.named_modules() if n.split(".")[-1] in PROJECTIONS and hasattr(m, "qweight")}


def dequantized(layer):
    """GPT-QModel's dequantize_weight() ([in, out]) as float32 [out, in]."""
    return layer.dequantize_weight().float().t().contiguous()


def logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits.float().contiguous()


def write(out):
    source = os.path.join(out, "gptqmodel-source")
    if os.path.exists(source):
        shutil.rmtree(source)
    torch.manual_seed(20261205)
    LlamaForCausalLM(CONFIG).save_pretrained(source)
    os.remove(os.path.join(source, "generation_config.json"))
    for variant, quant in VARIANTS.items():
        torch.manual_seed(20261205)
        d = os.path.join(out, variant)
        if os.path.exists(d):
            shutil.rmtree(d)
        vocab = CONFIG.vocab_size
        calibration = []
        for _ in range(8):
            ids = torch.randint(0, vocab, (1, 24))
            calibration.append({"input_ids": ids, "attention_mask": torch.ones_like(ids)})
        model = load(source, dataset=calibration, **quant)
        model.config.quantization_config.dataset = None  # the calibration tensors: not JSON, nothing a loader reads
        model.save_pretrained(d)
        for extra in ("generation_config.json",):  # nothing the tests read
            if os.path.exists(os.path.join(d, extra)):
                os.remove(os.path.join(d, extra))
        again = load(d)
        layers = projections(again)
        assert len(layers) == 14, variant + ": every projection of both layers quantized"
        ids = torch.randint(0, vocab, (2, 8))
        expected = {"ids": ids, "logits": logits(again, ids)}
        for name in CHECKED:
            expected[name + ".dequantized"] = dequantized(layers[name])
        save_file(expected, os.path.join(d, "expected.safetensors"))
        print("wrote", d, len(expected), "tensors")


def check(root):
    names = sorted(x for x in os.listdir(root) if os.path.exists(os.path.join(root, x, "panthera.safetensors")))
    if not names:
        sys.exit("no checkpoint directories with panthera.safetensors under " + root)
    worst = 0.0
    for variant in names:
        d = os.path.join(root, variant)
        ours = load_file(os.path.join(d, "panthera.safetensors"))
        model = load(d)
        layers = projections(model)
        for name, layer in layers.items():
            key = name + ".dequantized"
            assert key in ours, variant + ": no " + key + " in panthera.safetensors"
            # GPT-QModel multiplies the float16 scale in float16, we in float32 (exact): theirs is ours rounded once
            assert torch.equal(dequantized(layer), ours[key].half().float()), variant + ": " + name + " differs"
        diff = (logits(model, ours["ids"]) - ours["logits"]).abs().max().item()
        print(
            f"{variant}: transformers + GPT-QModel load {len(layers)} GPTQ layers whose dequantize_weight() equals"
            f" ours rounded to float16 exactly; max |transformers - panthera| logits = {diff:.3g}"
        )
        worst = max(worst, diff)
    if worst > 1e-4:
        sys.exit(f"mismatch {worst}")
    print(f"{len(names)} passed, 0 failed")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        sys.exit(__doc__)
