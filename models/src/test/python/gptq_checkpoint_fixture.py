"""Small GPTQ checkpoints in the layout transformers loads (quantization_config quant_method "gptq",
checkpoint_format "gptq", AutoGPTQ's v1 packing), written with AutoGPTQ's documented pack loops re-implemented here
in numpy, plus expected.safetensors holding the unpacked q, the true zero points and the float32 dequantized weights
W[o, i] = scales[g_idx[i], o] * (q[i, o] - (stored_zero[g_idx[i], o] + 1)).

Regenerate (from the repository root):
    /work/venv-peft/bin/python models/src/test/python/gptq_checkpoint_fixture.py models/src/test/resources/gptq
Check a checkpoint written elsewhere (prints its dequantized weights' max difference from expected.safetensors):
    /work/venv-peft/bin/python models/src/test/python/gptq_checkpoint_fixture.py --decode DIR EXPECTED_DIR
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import load_file, save_file


def pack_rows(values, bits):
    """AutoGPTQ's QuantLinear.pack loop: values [n, cols] (uint32) packed down the rows into [n*bits/32, cols]."""
    n, cols = values.shape
    packed = np.zeros((n * bits // 32, cols), dtype=np.uint32)
    i = 0
    row = 0
    if bits in (2, 4, 8):
        while row < packed.shape[0]:
            for j in range(i, i + 32 // bits):
                packed[row] |= values[j] << np.uint32(bits * (j - i))
            i += 32 // bits
            row += 1
    elif bits == 3:
        while row < packed.shape[0]:
            for j in range(i, i + 10):
                packed[row] |= values[j] << np.uint32(3 * (j - i))
            i += 10
            packed[row] |= values[i] << np.uint32(30)
            row += 1
            packed[row] |= (values[i] >> np.uint32(2)) & np.uint32(1)
            i += 1
            for j in range(i, i + 10):
                packed[row] |= values[j] << np.uint32(3 * (j - i) + 1)
            i += 10
            packed[row] |= values[i] << np.uint32(31)
            row += 1
            packed[row] |= (values[i] >> np.uint32(1)) & np.uint32(0x3)
            i += 1
            for j in range(i, i + 10):
                packed[row] |= values[j] << np.uint32(3 * (j - i) + 2)
            i += 10
            row += 1
    else:
        raise ValueError(bits)
    return packed


def unpack_rows(packed, bits, n):
    """Reads value k of each column at bit k*bits of the column's little-endian word stream."""
    words = packed.astype(np.uint64)
    out = np.zeros((n, packed.shape[1]), dtype=np.int64)
    for k in range(n):
        bit = k * bits
        w, s = bit // 32, bit % 32
        v = words[w] >> np.uint64(s)
        if s + bits > 32:
            v |= words[w + 1] << np.uint64(32 - s)
        out[k] = (v & np.uint64((1 << bits) - 1)).astype(np.int64)
    return out


def make(rng, in_features, out_features, bits, group, desc_act, bias):
    maxq = 2 ** bits - 1
    groups = 1 if group == -1 else (in_features + group - 1) // group
    q = rng.integers(0, maxq + 1, size=(in_features, out_features)).astype(np.uint32)
    zeros = rng.integers(1, maxq + 1, size=(groups, out_features)).astype(np.int64)  # v1 holds 1..maxq
    scales = (rng.random((groups, out_features)) * 0.05 + 0.001).astype(np.float16)
    if desc_act and group != -1:
        perm = rng.permutation(in_features)
        g_idx = np.zeros(in_features, dtype=np.int32)
        g_idx[perm] = np.arange(in_features) // group
    elif group == -1:
        g_idx = np.zeros(in_features, dtype=np.int32)
    else:
        g_idx = (np.arange(in_features) // group).astype(np.int32)
    qweight = pack_rows(q, bits).view(np.int32)
    stored = ((zeros - 1) & maxq).astype(np.uint32)
    qzeros = pack_rows(np.ascontiguousarray(stored.T), bits).T.copy().view(np.int32)
    t = {"qweight": qweight, "qzeros": qzeros, "scales": scales, "g_idx": g_idx}
    if bias:
        t["bias"] = (rng.standard_normal(out_features) * 0.1).astype(np.float16)
    # the loop-form packing and the bit-stream reading agree
    assert (unpack_rows(qweight.view(np.uint32), bits, in_features) == q).all()
    assert (unpack_rows(np.ascontiguousarray(qzeros.view(np.uint32).T), bits, out_features).T + 1 == zeros).all()
    deq = dequant(t, bits, in_features)
    return t, {"q": q.astype(np.int32), "zeros": zeros.astype(np.int32), "dequant": deq}


def dequant(t, bits, in_features):
    q = unpack_rows(t["qweight"].view(np.uint32), bits, in_features)
    out = t["scales"].shape[1]
    z = unpack_rows(np.ascontiguousarray(t["qzeros"].view(np.uint32).T), bits, out).T + 1
    g = t["g_idx"].astype(np.int64)
    s = torch.from_numpy(t["scales"].astype(np.float32))[g]  # [in, out]
    diff = torch.from_numpy((q - z[g]).astype(np.float32))
    return np.ascontiguousarray((s * diff).T.numpy())  # [out, in], one float32 rounding per weight


CHECKPOINTS = {  # name: bits, group, desc_act, sym, linears (prefix, in, out, bias)
    "gptq-4bit-g32-act": (4, 32, True, False, [("model.layers.0.self_attn.q_proj", 64, 32, True),
                                               ("model.layers.0.mlp.down_proj", 96, 16, False)]),
    "gptq-3bit-g64": (3, 64, False, False, [("model.layers.0.self_attn.o_proj", 96, 32, False),
                                            ("model.layers.0.mlp.up_proj", 64, 64, True)]),
    "gptq-2bit-row": (2, -1, False, True, [("model.layers.0.self_attn.k_proj", 64, 16, False)]),
    "gptq-8bit-g128-act": (8, 128, True, True, [("model.layers.0.mlp.gate_proj", 256, 8, False)]),
}


def main(root):
    rng = np.random.default_rng(1313)
    for name, (bits, group, desc_act, sym, linears) in CHECKPOINTS.items():
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        tensors, expected = {}, {}
        for prefix, in_f, out_f, bias in linears:
            t, e = make(rng, in_f, out_f, bits, group, desc_act, bias)
            tensors.update({prefix + "." + k: v for k, v in t.items()})
            expected.update({prefix + "." + k: v for k, v in e.items()})
        save_file(tensors, os.path.join(d, "model.safetensors"))
        save_file(expected, os.path.join(d, "expected.safetensors"))
        cfg = {"quantization_config": {"quant_method": "gptq", "checkpoint_format": "gptq", "bits": bits,
                                       "group_size": group, "desc_act": desc_act, "sym": sym, "damp_percent": 0.01,
                                       "true_sequential": True, "static_groups": False}}
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)


def decode(d, expected_dir):
    cfg = json.load(open(os.path.join(d, "config.json")))["quantization_config"]
    t = load_file(os.path.join(d, "model.safetensors"))
    e = load_file(os.path.join(expected_dir, "expected.safetensors"))
    for k in t:
        if k.endswith(".qweight"):
            p = k[: -len(".qweight")]
            parts = {s: t[p + "." + s] for s in ("qweight", "qzeros", "scales", "g_idx")}
            deq = dequant(parts, cfg["bits"], parts["g_idx"].shape[0])
            print(p, "max |diff|", float(np.abs(deq - e[p + ".dequant"]).max()))


if __name__ == "__main__":
    if sys.argv[1] == "--decode":
        decode(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1])
