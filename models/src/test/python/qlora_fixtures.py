"""Fixtures for the QLoRA checkpoint tests: the safetensors layout transformers writes for bitsandbytes 4-bit models,
produced by an independent implementation of that layout (bnb_fixtures.py makes the same kind of checkpoints with
bitsandbytes and transformers themselves).

    PYTHONHASHSEED=0 python qlora_fixtures.py write models/src/test/resources/qlora
        Two tiny random LlamaForCausalLM checkpoints, nf4-dq (NF4, double-quantized absmax) and fp4 (FP4, plain
        absmax), block size 64. Each directory holds model.safetensors in transformers' bitsandbytes 4-bit layout
        (every Linear but lm_head as <name>.weight packed uint8 [(n+1)/2, 1], <name>.weight.absmax,
        .quant_map, .nested_absmax, .nested_quant_map and .quant_state.bitsandbytes__<type>, the JSON of
        bitsandbytes' QuantState.as_dict(packed=True) as uint8), config.json with a quantization_config as
        transformers' BitsAndBytesConfig.to_dict() writes it, adapter/ (a LoRA adapter saved with peft's
        save_pretrained, all seven projections, random non-zero A and B) and expected.safetensors: the input ids,
        the dequantized weights of model.layers.0.self_attn.q_proj and model.layers.1.mlp.down_proj, and the logits
        of the dequantized base and of base + adapter (peft, eval mode), all in float32.

    python qlora_fixtures.py check models/target/qlora-written
        For every directory QLoraCheckpointTest wrote there (model.safetensors, config.json, adapter/ and
        panthera.safetensors with our dequantized weights, ids and logits), decodes the 4-bit tensors with the
        decoder below, requires them equal to ours bit for bit, and compares peft's logits over them with ours.

The layout (bitsandbytes functional.py QuantState.as_dict / from_dict, nn/modules.py Linear4bit
_save_to_state_dict; transformers quantizers/quantizer_bnb_4bit.py) and the constants (get_4bit_type's NF4 and FP4
tables, create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8) for the nested absmax, nested block 256,
absmax minus its mean before nesting) are bitsandbytes'; this code is written from their description.

Needs: pip install torch==2.13.0 transformers peft safetensors (tested with peft 0.21.0, transformers 5.18.0).
"""

import json
import math
import os
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import LlamaConfig, LlamaForCausalLM

# bitsandbytes get_4bit_type("nf4")
NF4 = torch.tensor(
    [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
        -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
        0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ],
    dtype=torch.float32,
)
# bitsandbytes get_4bit_type("fp4"): sign bit 3, then divided by the largest value in float32
# index 8 is +0.0: bitsandbytes lists it as the Python int -0, which is 0
FP4 = torch.tensor([0, 0.0625, 8, 12, 4, 6, 2, 3, 0.0, -0.0625, -8, -12, -4, -6, -2, -3], dtype=torch.float32) / 12
BLOCK = 64
NESTED_BLOCK = 256

# hidden 64 (rows of whole blocks) and intermediate 264: down_proj rows of 264 weights straddle blocks, and gate/up/down
# have 264 blocks, so their double-quantized absmax spans two nested blocks of 256
CONFIG = LlamaConfig(
    vocab_size=40,
    hidden_size=64,
    intermediate_size=264,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=16,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
    tie_word_embeddings=False,
    attention_bias=False,
    mlp_bias=False,
)
PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
CHECKED = ["model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj"]
VARIANTS = {"nf4-dq": ("nf4", True), "fp4": ("fp4", False)}


def dynamic_map():
    """create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): 256 sorted float32 values."""
    data = []
    for i in range(7):
        b = torch.linspace(0.1, 1, 2**i + 1, dtype=torch.float32)
        means = (b[:-1] + b[1:]) / 2.0
        data += ((10 ** (-6 + i)) * means).tolist()
        data += (-(10 ** (-6 + i)) * means).tolist()
    data += [0.0, 1.0]
    assert len(data) == 256
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


def nearest(scaled, code):
    """Index of the nearest code value (the first on a tie)."""
    return (scaled.unsqueeze(-1) - code).abs().argmin(-1)


def blockwise_absmax(flat, block):
    blocks = math.ceil(flat.numel() / block)
    padded = torch.nn.functional.pad(flat, (0, blocks * block - flat.numel()))
    return padded.view(blocks, block), padded.view(blocks, block).abs().amax(1)


def quantize(w, quant_type, double):
    """The tensors Linear4bit saves for weight w [out, in] (float32), keyed by the suffix after '<name>.weight'."""
    code = NF4 if quant_type == "nf4" else FP4
    flat = w.detach().float().flatten()
    n = flat.numel()
    blocks, absmax = blockwise_absmax(flat, BLOCK)
    idx = nearest((blocks * (1.0 / absmax)[:, None]).clamp(-1, 1), code).flatten()[:n].to(torch.uint8)
    if n % 2:
        idx = torch.cat([idx, torch.tensor([7 if quant_type == "nf4" else 0], dtype=torch.uint8)])
    packed = (idx[0::2] << 4 | idx[1::2]).view(-1, 1)
    state = {"quant_type": quant_type, "blocksize": BLOCK, "dtype": "float32", "shape": list(w.shape)}
    out = {"": packed, ".quant_map": code.clone()}
    if double:
        offset = absmax.mean()
        centred = absmax - offset
        nb, amax2 = blockwise_absmax(centred, NESTED_BLOCK)
        q = nearest((nb * (1.0 / amax2)[:, None]).clamp(-1, 1), dynamic_map()).flatten()[: absmax.numel()]
        out[".absmax"] = q.to(torch.uint8)
        out[".nested_absmax"] = amax2
        out[".nested_quant_map"] = dynamic_map()
        state.update({"nested_blocksize": NESTED_BLOCK, "nested_dtype": "float32", "nested_offset": offset.item()})
    else:
        out[".absmax"] = absmax
    out[".quant_state.bitsandbytes__" + quant_type] = torch.tensor(list(json.dumps(state).encode()), dtype=torch.uint8)
    return out


def dequantize(sd, name):
    """Decodes '<name>.weight' and its quant-state tensors from a state dict: code[q] * absmax in float32."""
    key = next(k for k in sd if k.startswith(name + ".weight.quant_state.bitsandbytes__"))
    state = json.loads(bytes(sd[key].tolist()).decode())
    code = sd[name + ".weight.quant_map"]
    expected_code = NF4 if state["quant_type"] == "nf4" else FP4
    assert torch.equal(code, expected_code), name + ": quant_map is not bitsandbytes' " + state["quant_type"]
    absmax = sd[name + ".weight.absmax"]
    if "nested_offset" in state:
        assert torch.equal(sd[name + ".weight.nested_quant_map"], dynamic_map()), name + ": nested_quant_map"
        a2 = sd[name + ".weight.nested_absmax"]
        per = state["nested_blocksize"]
        i = torch.arange(absmax.numel())
        absmax = sd[name + ".weight.nested_quant_map"][absmax.long()] * a2[i // per] + torch.tensor(
            state["nested_offset"], dtype=torch.float32
        )
    packed = sd[name + ".weight"].flatten()
    idx = torch.stack([packed >> 4, packed & 15], 1).flatten().long()
    shape = state["shape"]
    n = shape[0] * shape[1]
    blocks = torch.arange(n) // state["blocksize"]
    return (code[idx[:n]] * absmax[blocks]).view(shape)


def quantized_names(sd):
    return sorted(k[: -len(".weight.quant_map")] for k in sd if k.endswith(".weight.quant_map"))


def float_model(sd):
    """LlamaForCausalLM holding the dequantized 4-bit weights and the float ones as they are."""
    plain = {}
    names = quantized_names(sd)
    for name in names:
        plain[name + ".weight"] = dequantize(sd, name)
    for k, v in sd.items():
        if not any(k.startswith(n + ".weight") for n in names):
            plain[k] = v
    model = LlamaForCausalLM(CONFIG)
    model.load_state_dict(plain)
    return model.eval()


def logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits.contiguous()


def quantization_config(quant_type, double):
    return {
        "quant_method": "bitsandbytes",
        "_load_in_8bit": False,
        "_load_in_4bit": True,
        "llm_int8_threshold": 6.0,
        "llm_int8_skip_modules": None,
        "llm_int8_enable_fp32_cpu_offload": False,
        "llm_int8_has_fp16_weight": False,
        "bnb_4bit_quant_type": quant_type,
        "bnb_4bit_use_double_quant": double,
        "bnb_4bit_compute_dtype": "float32",
        "bnb_4bit_quant_storage": "uint8",
        "load_in_4bit": True,
        "load_in_8bit": False,
    }


def write(out):
    torch.manual_seed(20261203)
    for variant, (quant_type, double) in VARIANTS.items():
        d = os.path.join(out, variant)
        os.makedirs(d, exist_ok=True)
        model = LlamaForCausalLM(CONFIG).eval()
        sd = {}
        for k, v in model.state_dict().items():
            name = k[: -len(".weight")]
            if k.endswith(".weight") and name.split(".")[-1] in PROJECTIONS:
                for suffix, t in quantize(v, quant_type, double).items():
                    sd[name + ".weight" + suffix] = t.contiguous()
            else:
                sd[k] = v.contiguous()
        save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        config = CONFIG.to_dict()
        config["quantization_config"] = quantization_config(quant_type, double)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
        sd = load_file(os.path.join(d, "model.safetensors"))
        base = float_model(sd)
        ids = torch.randint(0, CONFIG.vocab_size, (2, 6))
        expected = {"ids": ids, "base": logits(base, ids)}
        for name in CHECKED:
            expected[name + ".dequantized"] = dequantize(sd, name).contiguous()
        lora = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.05, target_modules=PROJECTIONS, task_type="CAUSAL_LM")
        peft_model = get_peft_model(base, lora)
        with torch.no_grad():  # as after training: A and B non-zero
            for p in peft_model.parameters():
                if p.requires_grad:
                    p.add_(torch.randn_like(p) * 0.2)
        peft_model.eval()
        expected["adapter"] = logits(peft_model, ids)
        peft_model.save_pretrained(os.path.join(d, "adapter"))
        os.remove(os.path.join(d, "adapter", "README.md"))  # peft's model card: nothing the tests read
        again = PeftModel.from_pretrained(float_model(sd), os.path.join(d, "adapter"))
        assert torch.equal(logits(again, ids), expected["adapter"]), variant
        save_file(expected, os.path.join(d, "expected.safetensors"))
        print("wrote", d, sorted(expected))


def check(root):
    names = sorted(x for x in os.listdir(root) if os.path.exists(os.path.join(root, x, "panthera.safetensors")))
    if not names:
        sys.exit("no checkpoint directories with panthera.safetensors under " + root)
    worst = 0.0
    for variant in names:
        d = os.path.join(root, variant)
        sd = load_file(os.path.join(d, "model.safetensors"))
        ours = load_file(os.path.join(d, "panthera.safetensors"))
        with open(os.path.join(d, "config.json")) as f:
            qc = json.load(f)["quantization_config"]
        assert qc["load_in_4bit"] and qc["quant_method"] == "bitsandbytes", variant + ": quantization_config"
        decoded = 0
        for name in quantized_names(sd):
            key = name + ".dequantized"
            if key in ours:
                assert torch.equal(dequantize(sd, name), ours[key]), variant + ": " + name + " decodes differently"
                decoded += 1
        model = PeftModel.from_pretrained(float_model(sd), os.path.join(d, "adapter")).eval()
        diff = (logits(model, ours["ids"]) - ours["logits"]).abs().max().item()
        print(f"{variant}: {decoded} 4-bit tensors decode to our floats exactly; max |peft - panthera| = {diff:.3g}")
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
