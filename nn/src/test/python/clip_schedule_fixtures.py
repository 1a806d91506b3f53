"""torch.nn.utils.clip_grad_norm_ and transformers' warm-up schedules, the reference for ClipAndScheduleTest.

    /work/venv-peft/bin/python nn/src/test/python/clip_schedule_fixtures.py nn/src/test/resources/optim/clip_schedules.txt

clip cases: two float64 gradients, shapes [3, 5] and [7], clipped by torch.nn.utils.clip_grad_norm_(params,
max_norm, norm_type, error_if_nonfinite, foreach=False); max_norm is a multiple of the gradients' norm, so that both
"below" (no change) and "above" (scaled) are covered; the non-finite cases put a NaN or an infinity into one gradient.
schedule cases: transformers' get_linear_schedule_with_warmup / get_cosine_schedule_with_warmup (num_cycles left at
its default 0.5, and set) / get_cosine_with_min_lr_schedule_with_warmup on torch.optim.SGD with lr 1.0: the lr torch's
LambdaLR sets before each optimizer step, for steps past num_training_steps too.

Format, one record a line, numbers with repr() (NaN and Infinity spelled as Java's Double.parseDouble reads them):
    clip NAME norm_type max_norm error_if_nonfinite(True|False)
    grad I v ...              gradient I before clipping
    total v | raises          the norm clip_grad_norm_ returned, or that it raised
    clipped I v ...           gradient I after clipping (absent when it raised)
    schedule NAME linear|cosine warmup total num_cycles|default min_lr_rate : lr0 lr1 ...
Needs: torch and transformers (tested with torch 2.13.0+cpu, transformers 5.18).
"""

import math
import sys

import torch
import transformers
from transformers import (
    get_cosine_schedule_with_warmup,
    get_cosine_with_min_lr_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)

SHAPES = [(3, 5), (7,)]

# name, norm_type, max_norm as a multiple of the true norm, what to poison (None, "nan", "inf"), error_if_nonfinite
CLIPS = [
    ("l2_above", 2.0, 0.3, None, False),
    ("l2_below", 2.0, 2.0, None, False),
    ("l1_above", 1.0, 0.5, None, False),
    ("l3_above", 3.0, 0.25, None, False),
    ("linf_above", math.inf, 0.5, None, False),
    ("linf_below", math.inf, 1.5, None, False),
    ("l2_nan_silent", 2.0, 1.0, "nan", False),
    ("l2_inf_silent", 2.0, 1.0, "inf", False),
    ("l2_nan_raises", 2.0, 1.0, "nan", True),
    ("l2_inf_raises", 2.0, 1.0, "inf", True),
    ("linf_inf_silent", math.inf, 1.0, "inf", False),
]

# name, kind, warmup, total, num_cycles (None = the default), min_lr_rate, steps recorded
SCHEDULES = [
    ("linear_w3_t10", "linear", 3, 10, None, None, 14),
    ("linear_w0_t6", "linear", 0, 6, None, None, 9),
    ("cosine_w3_t10_default_cycles", "cosine", 3, 10, None, None, 16),
    ("cosine_w0_t8_default_cycles", "cosine", 0, 8, None, None, 12),
    ("cosine_w2_t12_cycles1.5", "cosine", 2, 12, 1.5, None, 16),
    ("cosine_min_lr_w2_t10", "cosine", 2, 10, None, 0.1, 14),
]


def num(x):
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return repr(x)


def nums(t):
    return " ".join(num(v) for v in t.reshape(-1).tolist())


def clip_case(out, gen, name, norm_type, ratio, poison, raises):
    grads = [torch.randn(s, dtype=torch.float64, generator=gen) for s in SHAPES]
    true_norm = torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in grads]), norm_type).item()
    max_norm = ratio * true_norm
    if poison is not None:
        grads[0][1, 2] = float(poison)
    params = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    out.write(f"clip {name} {num(norm_type)} {num(max_norm)} {raises}\n")
    for i, g in enumerate(grads):
        out.write(f"grad {i} {nums(g)}\n")
    try:
        total = torch.nn.utils.clip_grad_norm_(
            params, max_norm, norm_type=norm_type, error_if_nonfinite=raises, foreach=False
        )
    except RuntimeError:
        out.write("total raises\n")
        return
    out.write(f"total {num(total.item())}\n")
    for i, p in enumerate(params):
        out.write(f"clipped {i} {nums(p.grad)}\n")


def schedule_case(out, name, kind, warmup, total, cycles, min_rate, steps):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    if kind == "linear":
        sched = get_linear_schedule_with_warmup(opt, warmup, total)
    elif min_rate is not None:
        kw = {} if cycles is None else {"num_cycles": cycles}
        sched = get_cosine_with_min_lr_schedule_with_warmup(opt, warmup, total, min_lr_rate=min_rate, **kw)
    else:
        kw = {} if cycles is None else {"num_cycles": cycles}
        sched = get_cosine_schedule_with_warmup(opt, warmup, total, **kw)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])  # the lr the next optimizer step uses
        opt.step()
        sched.step()
    c = "default" if cycles is None else num(cycles)
    m = 0.0 if min_rate is None else min_rate
    out.write(f"schedule {name} {kind} {warmup} {total} {c} {num(m)} : {' '.join(num(v) for v in lrs)}\n")


def main(path):
    gen = torch.Generator().manual_seed(20261203)
    with open(path, "w") as out:
        out.write(
            f"# from nn/src/test/python/clip_schedule_fixtures.py, torch {torch.__version__}, "
            f"transformers {transformers.__version__}\n"
        )
        for case in CLIPS:
            clip_case(out, gen, *case)
        for case in SCHEDULES:
            schedule_case(out, *case)


if __name__ == "__main__":
    main(sys.argv[1])
