"""Prefill and decode speed of HuggingFace transformers' LlamaForCausalLM on PyTorch (CPU, float32), measured the
way dev.panthera.bench.llama.LlamaAnchorBench measures ours, for jmh/bench-vs-pytorch.sh.

ppN: one forward of N token ids (BOS, then uniformly random ids) into a fresh cache, logits of the last position only
(logits_to_keep=1, as LlamaAnchorBench's lastOnly). tgN: N single-token forwards after BOS with the cache
(past_key_values), each producing its logits, random ids fed. Before timing: a warm-up of --warmup-s seconds and one
unmeasured run of each test; then the mean and standard deviation of tok/s over -r repetitions. One line per test:
test=pp128 threads=1 reps=3 mean_tok_s=... sd_tok_s=... (LlamaAnchorBench's format).

usage: python llama_forward_anchor.py FOLDER -t THREADS -p 128,512 -n 32 -r 3 [--warmup-s 10]
"""

import argparse
import random
import statistics
import time

import torch
from transformers import DynamicCache, LlamaForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("-t", type=int, default=1)
    ap.add_argument("-p", default="")
    ap.add_argument("-n", type=int, default=0)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("--warmup-s", type=float, default=10.0)
    a = ap.parse_args()
    torch.set_num_threads(a.t)
    torch.set_num_interop_threads(1)
    prompts = [int(p) for p in a.p.split(",") if p]
    model = LlamaForCausalLM.from_pretrained(a.folder, torch_dtype=torch.float32).eval()
    vocab, bos = model.config.vocab_size, model.config.bos_token_id
    rng = random.Random(1234)

    def prompt(n):
        ids = [bos] + [rng.randrange(vocab) for _ in range(n - 1)]
        with torch.inference_mode():
            model(torch.tensor([ids]), past_key_values=DynamicCache(), use_cache=True, logits_to_keep=1).logits

    def generate(n):
        cache = DynamicCache()
        token = bos
        with torch.inference_mode():
            for i in range(n):
                out = model(torch.tensor([[token]]), past_key_values=cache, use_cache=True)
                out.logits
                cache = out.past_key_values
                token = rng.randrange(vocab)

    end = time.perf_counter() + a.warmup_s
    i = 0
    while i < 2 or time.perf_counter() < end:
        if prompts:
            prompt(min(prompts))
        if a.n:
            generate(min(a.n, 8))
        i += 1

    def report(kind, n, test):
        test()  # unmeasured, as LlamaAnchorBench's first run
        rates = []
        for _ in range(a.r):
            t0 = time.perf_counter()
            test()
            rates.append(n / (time.perf_counter() - t0))
        sd = statistics.stdev(rates) if len(rates) > 1 else 0.0
        print(f"test={kind}{n} threads={a.t} reps={a.r} mean_tok_s={statistics.mean(rates):.2f} sd_tok_s={sd:.2f}",
              flush=True)

    for p in prompts:
        report("pp", p, lambda p=p: prompt(p))
    if a.n:
        report("tg", a.n, lambda: generate(a.n))


if __name__ == "__main__":
    main()
