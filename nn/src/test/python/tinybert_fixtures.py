"""TinyBERT's distillation losses and their gradients, computed by torch: the reference for TinyBertLossesTest.

    /work/venv-peft/bin/python nn/src/test/python/tinybert_fixtures.py nn/src/test/resources/distill/tinybert_losses.txt

The losses are written from TinyBERT's task_distill.py (huawei-noah/Pretrained-Language-Model):
  soft_cross_entropy(s, t) = (-softmax(t, -1) * log_softmax(s, -1)).mean(), called on logits divided by T;
  attention: MSELoss()(where(a_s <= -1e2, 0, a_s), where(a_t <= -1e2, 0, a_t)) summed over student layers, student
  layer m against teacher layer m*k + k - 1;
  hidden: MSELoss()(fit_dense(h_s), h_t) summed over student hidden states m = 0..M (0 = embedding output) against
  teacher hidden state m*k; fit_dense is one nn.Linear(student_dim, teacher_dim) shared by all layers.
A 2-layer student (width 6) and a 4-layer teacher (width 8), batch 2, sequence 5, 2 heads, 3 classes, T = 2; the
second sequence's last key is padding (additive -10000 on its scores, as BERT's extended attention mask).

Every input is a float32 value (written exactly); losses and gradients are computed in float64 from those values.
Format, one record a line, numbers with repr():
    tensor NAME d0 d1 ... : v v ...     an input, or a gradient named grad.NAME
    scalar NAME v                       a loss
Needs: torch (tested with torch 2.13.0+cpu).
"""

import sys

import torch

B, T_LEN, HEADS, DS, DT, CLASSES, M, N, TEMP = 2, 5, 2, 6, 8, 3, 2, 4, 2.0


def main(path):
    g = torch.Generator().manual_seed(1234)

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).float().double()

    mask = torch.zeros(B, 1, 1, T_LEN, dtype=torch.float64)
    mask[1, 0, 0, T_LEN - 1] = -10000.0
    inputs = {}
    for m in range(M + 1):
        inputs[f"student.hidden.{m}"] = rnd(B, T_LEN, DS)
    for n in range(N + 1):
        inputs[f"teacher.hidden.{n}"] = rnd(B, T_LEN, DT)
    for m in range(M):
        inputs[f"student.scores.{m}"] = (rnd(B, HEADS, T_LEN, T_LEN, scale=2.0) + mask).float().double()
    for n in range(N):
        inputs[f"teacher.scores.{n}"] = (rnd(B, HEADS, T_LEN, T_LEN, scale=2.0) + mask).float().double()
    inputs["fit.weight"] = rnd(DT, DS, scale=0.4)
    inputs["fit.bias"] = rnd(DT, scale=0.1)
    inputs["student.logits"] = rnd(B, CLASSES, scale=2.0)
    inputs["teacher.logits"] = rnd(B, CLASSES, scale=3.0)
    for v in inputs.values():
        assert torch.equal(v.float().double(), v)  # every input is exact in float32
    leaves = {k: v.clone().requires_grad_(k.startswith("student") or k.startswith("fit")) for k, v in inputs.items()}

    k = N // M
    mse = torch.nn.MSELoss()
    rep = sum(
        mse(leaves[f"student.hidden.{m}"] @ leaves["fit.weight"].T + leaves["fit.bias"], leaves[f"teacher.hidden.{m * k}"])
        for m in range(M + 1)
    )

    def zero_masked(a):
        return torch.where(a <= -1e2, torch.zeros_like(a), a)

    att = sum(
        mse(zero_masked(leaves[f"student.scores.{m}"]), zero_masked(leaves[f"teacher.scores.{m * k + k - 1}"]))
        for m in range(M)
    )
    s, t = leaves["student.logits"] / TEMP, leaves["teacher.logits"] / TEMP
    cls = (-torch.nn.functional.softmax(t, dim=-1) * torch.nn.functional.log_softmax(s, dim=-1)).mean()
    (rep + att + cls).backward()

    with open(path, "w") as f:
        for name, v in inputs.items():
            f.write(tensor_line(name, v))
        for name, v in leaves.items():
            if v.grad is not None:
                f.write(tensor_line("grad." + name, v.grad))
        f.write(f"scalar hidden {repr(rep.item())}\n")
        f.write(f"scalar attention {repr(att.item())}\n")
        f.write(f"scalar soft_ce {repr(cls.item())}\n")


def tensor_line(name, v):
    dims = " ".join(str(d) for d in v.shape)
    vals = " ".join(repr(x) for x in v.flatten().tolist())
    return f"tensor {name} {dims} : {vals}\n"


if __name__ == "__main__":
    main(sys.argv[1])
