"""Parameter trajectories of torch.optim.SGD and torch.optim.AdamW, the reference for OptimizersTest.

    python nn/src/test/python/optim_fixtures.py nn/src/test/resources/optim/torch_optim.txt

Every case optimises two float64 parameters, shapes [3, 5] and [7], for STEPS steps with fixed random gradients set
directly as .grad (no loss, so the test replays exactly these gradients). A gradient of None on some step means the
parameter has no gradient then, and torch skips it (its per-parameter state, the AdamW step count included, does
not advance). The "lomo_*" cases are SGD without momentum on gradients clamped to [-clip, clip] before the step:
LOMO's update p <- p - lr*(clamp(g) + wd*p), the reference for our fused-into-backward Lomo.

Text format, one record a line, numbers written with repr() so that Java's Double.parseDouble reads them exactly:
    case NAME sgd|adamw|lomo key=value ...   hyper-parameters as torch names them (betas as b1,b2)
    shape I d0 d1 ...                        parameter I's shape
    p0 I v ...                               parameter I before the first step
    grad S I v ... | grad S I none           the gradient of parameter I on step S (1-based)
    param S I v ...                          parameter I after step S, as torch left it

Needs: torch (tested with torch 2.13.0+cpu).
"""

import sys

import torch

STEPS = 5
SHAPES = [(3, 5), (7,)]

# name, optimizer, hyper-parameters, {(step, param index) whose gradient is None}
CASES = [
    ("sgd_plain", "sgd", dict(lr=0.1), set()),
    ("sgd_momentum", "sgd", dict(lr=0.05, momentum=0.9), set()),
    ("sgd_dampening_wd", "sgd", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01), set()),
    ("sgd_nesterov_wd", "sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05), set()),
    ("sgd_momentum_skip", "sgd", dict(lr=0.05, momentum=0.9), {(2, 1), (3, 1)}),
    ("adamw_defaults", "adamw", dict(lr=1e-3), set()),
    ("adamw_custom", "adamw", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1), set()),
    ("adamw_nodecay_beta1_zero", "adamw", dict(lr=0.05, betas=(0.0, 0.9), eps=1e-3, weight_decay=0.0), set()),
    ("adamw_skip", "adamw", dict(lr=0.02, betas=(0.9, 0.99), weight_decay=0.05), {(1, 1), (3, 1), (4, 0)}),
    ("lomo_wd", "lomo", dict(lr=0.1, weight_decay=0.05, clip=0.0), set()),
    ("lomo_clip", "lomo", dict(lr=0.1, weight_decay=0.02, clip=0.7), set()),
]


HYPER = {"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "betas", "eps", "amsgrad"}


def fmt(t):
    return " ".join(repr(float(v)) for v in t.reshape(-1).tolist())


def run(name, kind, hp, skips, out, gen):
    params = [torch.randn(s, dtype=torch.float64, generator=gen).requires_grad_() for s in SHAPES]
    grads = [[torch.randn(s, dtype=torch.float64, generator=gen) for s in SHAPES] for _ in range(STEPS)]
    hp = dict(hp)
    clip = hp.pop("clip", 0.0)
    if kind == "adamw":
        opt = torch.optim.AdamW(params, foreach=False, **hp)
    else:
        opt = torch.optim.SGD(params, foreach=False, **hp)
    # the whole group as torch filled it in, defaults included, so the test can check its own defaults against it
    group = {k: v for k, v in opt.param_groups[0].items() if k in HYPER}
    if kind == "lomo":
        group = dict(lr=group["lr"], weight_decay=group["weight_decay"], clip=clip)
    items = " ".join(
        f"{k}={v[0]!r},{v[1]!r}" if isinstance(v, tuple) else f"{k}={v!r}" for k, v in sorted(group.items())
    )
    out.write(f"case {name} {kind} {items}\n")
    for i, (s, p) in enumerate(zip(SHAPES, params)):
        out.write(f"shape {i} {' '.join(map(str, s))}\n")
        out.write(f"p0 {i} {fmt(p.detach())}\n")
    for step in range(1, STEPS + 1):
        for i, p in enumerate(params):
            if (step, i) in skips:
                p.grad = None
                out.write(f"grad {step} {i} none\n")
            else:
                g = grads[step - 1][i]
                out.write(f"grad {step} {i} {fmt(g)}\n")
                p.grad = g.clamp(-clip, clip) if clip > 0 else g.clone()
        opt.step()
        for i, p in enumerate(params):
            out.write(f"param {step} {i} {fmt(p.detach())}\n")


def main(path):
    gen = torch.Generator().manual_seed(20261203)
    with open(path, "w") as out:
        out.write(f"# torch.optim trajectories from nn/src/test/python/optim_fixtures.py, torch {torch.__version__}\n")
        for name, kind, hp, skips in CASES:
            run(name, kind, hp, skips, out, gen)


if __name__ == "__main__":
    main(sys.argv[1])
