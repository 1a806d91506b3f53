"""GPTQ in float64, written from the paper (Frantar et al., arXiv 2210.17323, Algorithm 1 without lazy batching):
column by column, each quantization error spread at once over all later columns through the upper Cholesky factor
of H^-1. Independent of the Java implementation (which batches columns in blocks and factors H differently); the
grid is the GPTQ reference quantizer's (min/max with 0 included, symmetric or asymmetric, scale rounded to float16 as
the checkpoint stores it).

Regenerate (from the repository root):
    /work/venv-peft/bin/python quantization/src/test/python/gptq_fixture.py \
        quantization/src/test/resources/gptq/gptq_cases.txt
"""
import sys

import torch


def grid(x, bits, sym):
    """Per-row (scale, zero) of the values x [rows, k] on GPTQ's grid."""
    maxq = 2 ** bits - 1
    xmin = torch.clamp(x.min(dim=1).values, max=0.0)
    xmax = torch.clamp(x.max(dim=1).values, min=0.0)
    if sym:
        xmax = torch.maximum(xmin.abs(), xmax)
        neg = xmin < 0
        xmin = torch.where(neg, -xmax, xmin)
    both = (xmin == 0) & (xmax == 0)
    xmin = torch.where(both, torch.full_like(xmin, -1.0), xmin)
    xmax = torch.where(both, torch.full_like(xmax, 1.0), xmax)
    scale = ((xmax - xmin) / maxq).to(torch.float32).to(torch.float16).to(torch.float64)
    if sym:
        zero = torch.full_like(scale, (maxq + 1) // 2)
    else:
        zero = torch.clamp(torch.round(-xmin / scale), 0, maxq)
    return scale, zero


def gptq(w, h, bits, group, sym, act, percdamp=0.01):
    w = w.clone().to(torch.float64)
    h = h.clone().to(torch.float64)
    rows, cols = w.shape
    maxq = 2 ** bits - 1
    row_scale, row_zero = grid(w, bits, sym) if group == -1 else (None, None)
    dead = torch.diag(h) == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    perm = torch.argsort(torch.diag(h), descending=True, stable=True) if act else torch.arange(cols)
    w = w[:, perm]
    h = h[perm][:, perm]
    h = h + percdamp * torch.mean(torch.diag(h)) * torch.eye(cols, dtype=torch.float64)
    u = torch.linalg.cholesky(torch.linalg.inv(h), upper=True)
    groups = 1 if group == -1 else (cols + group - 1) // group
    scales = torch.zeros(groups, rows, dtype=torch.float64)
    zeros = torch.zeros(groups, rows, dtype=torch.int64)
    q = torch.zeros(rows, cols, dtype=torch.int64)
    scale, zero = row_scale, row_zero
    for j in range(cols):
        if group != -1 and j % group == 0:
            scale, zero = grid(w[:, j:j + group], bits, sym)
            scales[j // group] = scale
            zeros[j // group] = zero.to(torch.int64)
        qj = torch.clamp(torch.round(w[:, j] / scale) + zero, 0, maxq)
        deq = scale * (qj - zero)
        q[:, j] = qj.to(torch.int64)
        err = (w[:, j] - deq) / u[j, j]
        w[:, j + 1:] -= torch.outer(err, u[j, j + 1:])
    if group == -1:
        scales[0] = row_scale
        zeros[0] = row_zero.to(torch.int64)
    inv = torch.argsort(perm)
    q = q[:, inv]
    pos = torch.arange(cols)
    g_idx = torch.zeros(cols, dtype=torch.int64)
    g_idx[perm] = pos // (cols if group == -1 else group)
    return q, scales, zeros, g_idx


class SplitMix64:
    """SplitMix64 (Steele et al.), the generator GptqAgainstFloat64Test reimplements, so that the weights and inputs
    need not be stored: uniform doubles (z >> 11) * 2^-53."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        m = 0xFFFFFFFFFFFFFFFF
        self.state = (self.state + 0x9E3779B97F4A7C15) & m
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        z = z ^ (z >> 31)
        return (z >> 11) * 2.0 ** -53


def f32(v):
    return torch.tensor(v, dtype=torch.float64).to(torch.float32)


def weights(rng, out, cols):
    """w = 0.1·(u1 + u2 + u3 − 1.5), each a float32."""
    return f32([[0.1 * (rng.next() + rng.next() + rng.next() - 1.5) for _ in range(cols)] for _ in range(out)])


def correlated_inputs(rng, n, cols):
    """x[t, j] = s_j·(c1_t·a_j + c2_t·b_j + 0.5·(e_tj − 0.5)): two shared factors make the columns strongly
    correlated, s_j = 0.2 + 3·v_j² makes diag(H) unequal; every term evaluated in this order in float64, then float32."""
    s = [0.2 + 3.0 * v * v for v in (rng.next() for _ in range(cols))]
    a = [rng.next() - 0.5 for _ in range(cols)]
    b = [rng.next() - 0.5 for _ in range(cols)]
    rows = []
    for _ in range(n):
        c1 = rng.next() - 0.5
        c2 = rng.next() - 0.5
        rows.append([s[j] * (c1 * a[j] + c2 * b[j] + 0.5 * (rng.next() - 0.5)) for j in range(cols)])
    return f32(rows)


def fmt(t):
    return " ".join(repr(float(v)) if t.is_floating_point() else str(int(v)) for v in t.flatten().tolist())


CASES = [  # name, out, in, n, bits, group, sym, act, dead columns
    ("g32_asym4", 8, 64, 200, 4, 32, False, False, []),
    ("row_sym3_act", 6, 96, 150, 3, -1, True, True, []),
    ("g32_asym2_act_dead_two_blocks", 5, 160, 300, 2, 32, False, True, [7, 100]),
    ("g32_sym8_ragged", 4, 72, 90, 8, 32, True, False, []),
    ("g64_asym3_act", 7, 192, 120, 3, 64, False, True, [3]),
]


def main(path):
    lines = []
    for seed, (name, out, cols, n, bits, group, sym, act, dead) in enumerate(CASES):
        rng = SplitMix64(1000 + seed)
        w = weights(rng, out, cols)
        x = correlated_inputs(rng, n, cols)
        x[:, dead] = 0
        x64 = x.to(torch.float64)
        h = 2.0 / n * (x64.T @ x64)
        q, scales, zeros, g_idx = gptq(w.to(torch.float64), h, bits, group, sym, act)
        lines.append(f"case {name} {1000 + seed} {out} {cols} {n} {bits} {group} {int(sym)} {int(act)} "
                     + " ".join(str(d) for d in dead))
        # checksums of the generated data: the test's generator must reproduce them exactly
        lines.append(f"sums {float(w.to(torch.float64).sum())!r} {float(x.to(torch.float64).sum())!r}")
        lines.append("q " + fmt(q))
        lines.append("scales " + fmt(scales))
        lines.append("zeros " + fmt(zeros))
        lines.append("gidx " + fmt(g_idx))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
