"""PyTorch anchor of the training-step benchmark (dev.panthera.bench.train.TrainStepBestOf).

Builds the same LLaMA-style decoder as nn's CausalLm in the "Training memory" configuration with transformers'
LlamaForCausalLM (untied lm_head, no biases, RMSNorm eps 1e-5, RoPE base 10000, SDPA attention, float32) and
torch.optim.AdamW (lr 3e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01: PyTorch's defaults but the rate), then
serves timing requests on stdin so the Java runner can alternate its own steps with these in one run:

    run K   -> K steps (zero_grad, forward, cross-entropy over every position, backward, optimizer step), then the
               line "times s1 s2 ... sK" with each step's wall time in seconds (time.perf_counter) and the line
               "cpu c1 ... cK" with the CPU time this process used in each step, all its threads (time.process_time)
    mem     -> the line "mem K": this process's peak resident set so far in KiB (VmHWM of /proc/self/status; not
               ru_maxrss, which Linux carries over from the parent across fork and exec, so that a child of a JVM
               holding 5 GB reports at least 5 GB)
    quit    -> exits

With --lora R, the model is wrapped by peft (get_peft_model with LoraConfig(r=R, lora_alpha=--lora-alpha, target
modules --lora-targets, lora_dropout 0, bias "none")): the base weights are frozen and AdamW gets the adapters' A and B
only. It prints "ready params=N trainable=M threads=T torch=V transformers=V" once the model is built. Tokens are
drawn at random (seed 0); the step time does not depend on their values. Run by hand, e.g.

    /work/venv-peft/bin/python jmh/src/main/python/train_step_anchor.py --threads 1 <<< $'run 5\\nquit'

    /work/venv-peft/bin/python jmh/src/main/python/train_step_anchor.py --threads 2 --dim 768 --ffn 2048 \\
        --layers 12 --heads 12 --vocab 32000 --seq 256 --batch 4 --lora 8 <<< $'run 2\\nmem\\nquit'

Needs torch and transformers (tested with torch 2.13.0, transformers 5.18.0), and peft for --lora (tested with 0.21).
"""

import argparse
import resource
import sys
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import LlamaConfig, LlamaForCausalLM


def peak_rss_kib():
    """VmHWM of this process (its own address space since exec); ru_maxrss where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--ffn", type=int, default=680)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--seq", type=int, default=32)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lora", type=int, default=0, help="LoRA rank; 0 trains every weight")
    ap.add_argument("--lora-alpha", type=float, default=16.0)
    ap.add_argument("--lora-targets", default="q_proj,v_proj")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=a.vocab,
        hidden_size=a.dim,
        intermediate_size=a.ffn,
        num_hidden_layers=a.layers,
        num_attention_heads=a.heads,
        num_key_value_heads=a.heads,
        max_position_embeddings=a.seq + 1,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
    )
    model = LlamaForCausalLM(cfg).float().train()
    if a.lora > 0:
        from peft import LoraConfig, get_peft_model

        lcfg = LoraConfig(
            r=a.lora,
            lora_alpha=a.lora_alpha,
            target_modules=a.lora_targets.split(","),
            lora_dropout=0.0,
            bias="none",
        )
        model = get_peft_model(model, lcfg).train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=3e-3)
    params = sum(p.numel() for p in model.parameters())
    tokens = torch.randint(0, a.vocab, (a.batch, a.seq + 1))
    inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(input_ids=inputs).logits
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), targets.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    print(
        f"ready params={params} trainable={sum(p.numel() for p in trainable)} threads={torch.get_num_threads()} torch={torch.__version__} "
        f"transformers={transformers.__version__}",
        flush=True,
    )
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "quit":
            break
        if cmd[0] == "mem":
            print(f"mem {peak_rss_kib()}", flush=True)
        if cmd[0] == "run":
            times, cpu = [], []
            for _ in range(int(cmd[1])):
                t0, c0 = time.perf_counter(), time.process_time()
                step()
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            print("times " + " ".join(f"{t:.6f}" for t in times), flush=True)
            print("cpu " + " ".join(f"{t:.6f}" for t in cpu), flush=True)


if __name__ == "__main__":
    main()
