"""QLoRA checkpoints made by bitsandbytes and transformers themselves, for QLoraCheckpointTest (the variants named
bnb-*), and the reverse check: bitsandbytes and transformers loading what QLoraCheckpointTest wrote.

    PYTHONHASHSEED=0 python bnb_fixtures.py write models/src/test/resources/qlora
        bnb-nf4-dq (NF4, double-quantized absmax) and bnb-fp4 (FP4, plain absmax): a tiny random LlamaForCausalLM
        (qlora_fixtures.CONFIG) saved in float32, loaded back with transformers' BitsAndBytesConfig(load_in_4bit=True,
        compute dtype float32) on the CPU, so that bitsandbytes quantizes every projection, and saved with
        save_pretrained: model.safetensors and config.json are what transformers writes for a 4-bit model.
        expected.safetensors holds the input ids, bitsandbytes' dequantize_4bit of two of the weights, the 4-bit
        model's logits (bitsandbytes' Linear4bit forward) and those of a peft LoRA adapter over it (adapter/, random
        non-zero A and B, saved with peft's save_pretrained).

    PYTHONHASHSEED=0 python bnb_fixtures.py quantized models/src/test/resources/qlora/bnb-quantize_4bit.safetensors
        bitsandbytes' quantize_4bit of one vector (x: 257 blocks of 64 and a partial block of 37; an all-zero block,
        a block of tiny values beside one large one, exact midpoints of NF4 codes) with NF4 and FP4, each with and
        without double quantization: <code>[.dq].packed, .absmax (uint8 when double quantized), .nested_absmax,
        .offset and .nested_quant_map, and dequantize_4bit's floats for nf4.dq and fp4.

    python bnb_fixtures.py reconstruction
        bitsandbytes' mean |error| on randn(1024, 1024), block 64, NF4 and FP4 with and without double quantization
        (seeds 0, 1, 2), for BENCHMARKS.md's accuracy table.

    python bnb_fixtures.py check models/target/qlora-written
        For every directory QLoraCheckpointTest wrote there (model.safetensors, config.json, adapter/ and
        panthera.safetensors with our dequantized weights, ids and logits): transformers' from_pretrained loads the
        base as bitsandbytes Linear4bit layers and peft the adapter over it; bitsandbytes' dequantize_4bit of every
        4-bit weight must equal ours bit for bit, and the logits must agree within float32 summation-order error.

Needs bitsandbytes importable (its Python package suffices on the CPU: quantize_4bit and dequantize_4bit run on
torch's CPU kernels without bitsandbytes' native library) besides torch==2.13.0, transformers, peft, safetensors and
accelerate. Checked with bitsandbytes 0.50.2.dev0 (commit 95f9af30 of bitsandbytes-foundation/bitsandbytes),
transformers 5.18.0, peft 0.21.0.
"""

import os
import shutil
import sys
import tempfile

import torch
import bitsandbytes
import bitsandbytes.functional as bnbf
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import BitsAndBytesConfig, LlamaForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlora_fixtures import CHECKED, CONFIG, PROJECTIONS  # noqa: E402

VARIANTS = {"bnb-nf4-dq": ("nf4", True), "bnb-fp4": ("fp4", False)}


def load_4bit(path, quant_type=None, double=None):
    """A LlamaForCausalLM from path on the CPU: quantized on load when a quant type is given, else as saved."""
    kw = {"device_map": "cpu", "dtype": torch.float32}
    if quant_type is not None:
        kw["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=quant_type,
            bnb_4bit_use_double_quant=double,
            bnb_4bit_compute_dtype=torch.float32,
        )
    return LlamaForCausalLM.from_pretrained(path, **kw).eval()


def four_bit_layers(model):
    """name -> bitsandbytes Linear4bit, named as in the base model (without peft's prefix and '.base_layer')."""
    return {
        n.removeprefix("base_model.model.").replace(".base_layer", ""): m
        for n, m in model.named_modules()
        if isinstance(m, bitsandbytes.nn.Linear4bit)
    }


def dequantized(layer):
    w = layer.weight
    return bnbf.dequantize_4bit(w.data, w.quant_state).float().contiguous()


def logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits.float().contiguous()


def write(out):
    torch.manual_seed(20261205)
    for variant, (quant_type, double) in VARIANTS.items():
        d = os.path.join(out, variant)
        if os.path.exists(d):
            shutil.rmtree(d)
        with tempfile.TemporaryDirectory() as tmp:
            LlamaForCausalLM(CONFIG).save_pretrained(tmp)
            model = load_4bit(tmp, quant_type, double)
        model.name_or_path = model.config._name_or_path = None  # adapter_config.json names no temporary folder
        layers = four_bit_layers(model)
        assert len(layers) == 14, variant + ": every projection of both layers in 4 bits"
        model.save_pretrained(d)
        for extra in ("generation_config.json",):  # nothing the tests read
            if os.path.exists(os.path.join(d, extra)):
                os.remove(os.path.join(d, extra))
        ids = torch.randint(0, CONFIG.vocab_size, (2, 6))
        expected = {"ids": ids, "base": logits(model, ids)}
        for name in CHECKED:
            expected[name + ".dequantized"] = dequantized(layers[name])
        lora = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.05, target_modules=PROJECTIONS, task_type="CAUSAL_LM")
        peft_model = get_peft_model(model, lora)
        with torch.no_grad():  # as after training: A and B non-zero
            for p in peft_model.parameters():
                if p.requires_grad:
                    p.add_(torch.randn_like(p) * 0.2)
        peft_model.eval()
        expected["adapter"] = logits(peft_model, ids)
        peft_model.save_pretrained(os.path.join(d, "adapter"))
        os.remove(os.path.join(d, "adapter", "README.md"))  # peft's model card: nothing the tests read
        again = PeftModel.from_pretrained(load_4bit(d), os.path.join(d, "adapter")).eval()
        assert torch.equal(logits(again, ids), expected["adapter"]), variant + ": reloaded from its own files"
        save_file(expected, os.path.join(d, "expected.safetensors"))
        print("wrote", d, sorted(expected))


def check(root):
    names = sorted(x for x in os.listdir(root) if os.path.exists(os.path.join(root, x, "panthera.safetensors")))
    if not names:
        sys.exit("no checkpoint directories with panthera.safetensors under " + root)
    worst = 0.0
    for variant in names:
        d = os.path.join(root, variant)
        ours = load_file(os.path.join(d, "panthera.safetensors"))
        model = PeftModel.from_pretrained(load_4bit(d), os.path.join(d, "adapter")).eval()
        layers = four_bit_layers(model)
        decoded = 0
        for name, layer in layers.items():
            key = name + ".dequantized"
            assert key in ours, variant + ": no " + key + " in panthera.safetensors"
            assert torch.equal(dequantized(layer), ours[key]), variant + ": " + name + " decodes differently"
            decoded += 1
        diff = (logits(model, ours["ids"]) - ours["logits"]).abs().max().item()
        print(
            f"{variant}: bitsandbytes {bitsandbytes.__version__} loads {decoded} Linear4bit layers whose"
            f" dequantize_4bit equals our floats exactly; max |transformers+peft - panthera| logits = {diff:.3g}"
        )
        worst = max(worst, diff)
    if worst > 1e-4:
        sys.exit(f"mismatch {worst}")
    print(f"{len(names)} passed, 0 failed")


def quantized(out):
    """bitsandbytes' quantize_4bit of one vector, for each code with and without double quantization."""
    torch.manual_seed(20261205)
    # 257 blocks of 64 and a partial one of 37 (an odd count): the nested absmax spans two blocks of 256; a block of
    # all zeros; a block with one weight far out; values that are exact midpoints of two NF4 codes once scaled
    x = torch.randn(257 * 64 + 37) * 0.05
    x[64:128] = 0
    x[128:192] *= 1e-3
    x[128] = 1.0
    nf4 = bnbf.get_4bit_type("nf4", device="cpu")
    mid = (nf4 + nf4.roll(-1)) / 2
    x[192:207] = mid[:15]
    x[207] = 1.0
    tensors = {"x": x.contiguous()}
    for quant_type in ("nf4", "fp4"):
        for double in (False, True):
            key = quant_type + (".dq" if double else "")
            packed, state = bnbf.quantize_4bit(x, blocksize=64, quant_type=quant_type, compress_statistics=double)
            tensors[key + ".packed"] = packed.reshape(-1).contiguous()
            if double:
                tensors[key + ".absmax"] = state.absmax.contiguous()  # uint8 codes of absmax - offset
                tensors[key + ".nested_absmax"] = state.state2.absmax.contiguous()
                tensors[key + ".offset"] = state.offset.reshape(1).float().contiguous()
                tensors[key + ".nested_quant_map"] = state.state2.code.float().contiguous()
            else:
                tensors[key + ".absmax"] = state.absmax.contiguous()
            if key in ("nf4.dq", "fp4"):  # one decode through the nested absmax, one through the plain
                tensors[key + ".dequantized"] = bnbf.dequantize_4bit(packed, state).float().reshape(-1).contiguous()
    save_file(tensors, out)
    print("wrote", out, sorted(tensors))


def reconstruction():
    """Mean |x - dequantize(quantize(x))| over randn(1024, 1024), block 64, as BENCHMARKS.md's accuracy table."""
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        x = torch.randn(1024, 1024)
        row = []
        for quant_type in ("nf4", "fp4"):
            for double in (False, True):
                q, state = bnbf.quantize_4bit(x, blocksize=64, quant_type=quant_type, compress_statistics=double)
                err = (bnbf.dequantize_4bit(q, state) - x).abs().mean().item()
                row.append(f"{quant_type}{' dq' if double else ''} {err:.5f}")
        print(f"bitsandbytes {bitsandbytes.__version__} seed {seed}: " + ", ".join(row))


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "reconstruction":
        reconstruction()
        sys.exit()
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "quantized":
        quantized(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        sys.exit(__doc__)
