"""Fixtures for the LoRA adapter-file tests, written by peft itself, and a check that peft loads our files.

    PYTHONHASHSEED=0 python peft_fixtures.py write models/src/test/resources/peft
        A tiny random LlamaForCausalLM (base.safetensors) and four LoRA adapters saved with peft's save_pretrained:
        plain (q/v, dropout 0.05), patterns (rank_pattern / alpha_pattern), select (exclude_modules,
        layers_to_transform, gaussian init), mts (modules_to_save lm_head), adaption (peft's adaption prompt,
        LLaMA-Adapter, in both blocks), dora (use_dora on q/v/down_proj), ia3 ((IA)^3 on k/v with down_proj as a
        feed-forward module) prompt (prompt tuning, 3 virtual tokens), prefix (prefix
        tuning, 3 virtual tokens), ia3x ((IA)^3 with modules_to_save lm_head, exclude_modules and a regex
        feedforward_modules), prefixproj (prefix tuning with prefix_projection, peft's two-layer MLP).
        ia3fifo and plainfifo are ia3x's and plain's files with fan_in_fan_out set to true, which peft loads as false
        onto Linear targets.
        expected.safetensors holds the input ids and the logits of the base and of each adapter, computed by peft in
        eval mode, and:
          prefixproj.<param>        the prefix encoder's embedding and MLP (peft saves only their output)
          prefixproj.grad.<param>   their gradients of mean(logits^2) (the model in eval mode, as for the logits)
          prompt.pad.ids / .mask / prompt.pad   a batch with right and left padding, its attention mask and the
                                    prompt-tuned logits peft returns for it (the mask extended by the virtual tokens)
          prompt.gen.ids / prompt.gen.logits    peft's greedy generate (KV cache) of 4 tokens after 2 prompts with the
                                    prompt adapter: the prompts followed by the tokens, and each step's logits
          prompt.genpad.*                       the same for left-padded prompts of lengths 2 and 4 (.mask: theirs)
          prefix.pad                            the prefix adapter's logits on prompt.pad's batch and mask
          plain.block0off, ia3x.block1off   the logits with adapters disabled in one decoder block (enable_adapters
                                    (False) on every tuner layer inside model.layers[i]), the rest adapted

    python peft_fixtures.py check models/target/peft-written
        For every adapter directory that AdapterFilesPeftTest wrote there (with panthera_logits.safetensors beside
        it), loads it with PeftModel.from_pretrained onto the fixture base and compares peft's logits with ours.

Needs: pip install torch==2.13.0 transformers peft safetensors (tested with peft 0.21.0, transformers 5.18.0).
"""

import json
import os
import shutil
import sys

import torch
from peft import AdaptionPromptConfig, IA3Config, LoraConfig, PeftModel, PrefixTuningConfig, PromptTuningConfig, get_peft_model
from peft.tuners.tuners_utils import BaseTunerLayer
from safetensors.torch import load_file, save_file
from transformers import LlamaConfig, LlamaForCausalLM

# Same shape as the Java tests' CausalLm(DecoderConfig(8, 11, 2, 1, 13, 2, 16, 1e-5, 10000, HALF)).
CONFIG = LlamaConfig(
    vocab_size=13,
    hidden_size=8,
    intermediate_size=11,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=1,
    max_position_embeddings=16,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
    tie_word_embeddings=False,
    attention_bias=False,
    mlp_bias=False,
)

ADAPTERS = {
    "plain": dict(r=4, lora_alpha=8, lora_dropout=0.05, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
    "patterns": dict(
        r=2,
        lora_alpha=4,
        target_modules=["q_proj", "v_proj", "o_proj", "down_proj"],
        # the first key that matches wins: "o_proj" for every o_proj, the layer-1 key only for that down_proj
        rank_pattern={"o_proj": 3, "layers.1.mlp.down_proj": 1},
        alpha_pattern={"q_proj": 16, "model.layers.0.self_attn.v_proj": 1, "v_proj": 5},
    ),
    "select": dict(
        r=2,
        lora_alpha=6,
        target_modules=["q_proj", "k_proj", "v_proj", "up_proj", "down_proj"],
        exclude_modules=["k_proj"],
        layers_to_transform=[1],
        layers_pattern="layers",
        init_lora_weights="gaussian",
    ),
    "mts": dict(r=2, lora_alpha=2, target_modules=["o_proj"], modules_to_save=["lm_head"], use_rslora=True),
    # LLaMA-Adapter: prompts of 3 vectors in both blocks; the perturbation below opens the zero-initialised gates
    "adaption": dict(adapter_len=3, adapter_layers=2, task_type="CAUSAL_LM"),
    # DoRA on attention and MLP projections, with dropout (off in eval, as peft's from_pretrained leaves it)
    "dora": dict(
        r=2,
        lora_alpha=4,
        lora_dropout=0.1,
        target_modules=["q_proj", "v_proj", "down_proj"],
        use_dora=True,
        task_type="CAUSAL_LM",
    ),
    # (IA)^3 on keys, values and the MLP's down_proj (a feed-forward module: its input is rescaled)
    "ia3": dict(target_modules=["k_proj", "v_proj", "down_proj"], feedforward_modules=["down_proj"], task_type="CAUSAL_LM"),
    # prompt tuning: 3 virtual tokens before every sequence; logits cover the 3 + 5 positions
    "prompt": dict(num_virtual_tokens=3, task_type="CAUSAL_LM"),
    # prefix tuning: 3 prefix keys/values per layer (the grouped-query model has one key/value head)
    "prefix": dict(num_virtual_tokens=3, prefix_projection=False, task_type="CAUSAL_LM"),
    # (IA)^3 with a trained lm_head copy, layer 0's keys left out (a suffix after "."), feed-forward by regex
    "ia3x": dict(
        target_modules=["k_proj", "v_proj", "down_proj"],
        feedforward_modules=r".*mlp\.down_proj",
        exclude_modules=["layers.0.self_attn.k_proj"],
        modules_to_save=["lm_head"],
        task_type="CAUSAL_LM",
    ),
    # prefix tuning through peft's PrefixEncoder MLP: embedding [3, 4] -> Linear(4, 6) -> tanh -> Linear(6, 16)
    "prefixproj": dict(num_virtual_tokens=3, prefix_projection=True, encoder_hidden_size=6, task_type="CAUSAL_LM"),
}


# a batch with right and left padding, for prompt and prefix tuning
PAD_IDS = torch.tensor([[3, 1, 4, 1, 5, 9], [2, 6, 5, 3, 0, 0], [0, 0, 0, 8, 9, 7]])
PAD_MASK = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1]])

# adapters whose logits are also recorded with one decoder block's adapters disabled
BLOCK_OFF = {"plain": 0, "ia3x": 1}


def base_model(path):
    model = LlamaForCausalLM(CONFIG)
    model.load_state_dict(load_file(path))
    return model.eval()


def logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits.contiguous()


def write(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(20261203)
    model = LlamaForCausalLM(CONFIG).eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(out, "base.safetensors"))
    ids = torch.randint(0, CONFIG.vocab_size, (2, 5))
    expected = {"ids": ids, "base": logits(model, ids)}
    for name, kwargs in ADAPTERS.items():
        if "adapter_len" in kwargs:
            config = AdaptionPromptConfig(**kwargs)
        elif "prefix_projection" in kwargs:
            config = PrefixTuningConfig(**kwargs)
        elif "num_virtual_tokens" in kwargs:
            config = PromptTuningConfig(**kwargs)
        elif "feedforward_modules" in kwargs or name.startswith("ia3"):
            config = IA3Config(**kwargs)
        else:
            config = LoraConfig(**kwargs)
        peft_model = get_peft_model(base_model(os.path.join(out, "base.safetensors")), config)
        with torch.no_grad():  # as after training: every adapter weight non-zero
            for key, p in peft_model.named_parameters():
                if p.requires_grad:
                    p.add_(torch.randn_like(p) * (2.0 if key.endswith("adaption_gate") else 0.2))
        peft_model.eval()
        expected[name] = logits(peft_model, ids)
        if name == "prefixproj":
            encoder = peft_model.prompt_encoder["default"]
            for key, p in encoder.named_parameters():
                expected["prefixproj." + key] = p.detach().clone()
            peft_model.zero_grad()
            peft_model(input_ids=ids).logits.pow(2).mean().backward()
            for key, p in encoder.named_parameters():
                expected["prefixproj.grad." + key] = p.grad.detach().clone()
        if name == "prompt":
            expected.update(prompt_extras(peft_model))
        if name == "prefix":
            with torch.no_grad():
                expected["prefix.pad"] = peft_model(input_ids=PAD_IDS, attention_mask=PAD_MASK).logits.contiguous()
        if name in BLOCK_OFF:
            i = BLOCK_OFF[name]
            tuners = [m for m in peft_model.base_model.model.model.layers[i].modules() if isinstance(m, BaseTunerLayer)]
            for m in tuners:
                m.enable_adapters(False)
            expected[f"{name}.block{i}off"] = logits(peft_model, ids)
            for m in tuners:
                m.enable_adapters(True)
        peft_model.save_pretrained(os.path.join(out, name))
        again = PeftModel.from_pretrained(base_model(os.path.join(out, "base.safetensors")), os.path.join(out, name))
        if name == "prefixproj":  # peft reloads the projected prefix as a table: equal up to rounding
            assert torch.allclose(logits(again, ids), expected[name], atol=1e-5), name
        else:
            assert torch.equal(logits(again, ids), expected[name]), name
    # ia3fifo, plainfifo: the files with fan_in_fan_out true; peft turns it off again for Linear targets
    for src in ("ia3x", "plain"):
        fifo = os.path.join(out, src.replace("x", "") + "fifo")
        os.makedirs(fifo, exist_ok=True)
        shutil.copy(os.path.join(out, src, "adapter_model.safetensors"), fifo)
        with open(os.path.join(out, src, "adapter_config.json")) as f:
            cfg = json.load(f)
        cfg["fan_in_fan_out"] = True
        with open(os.path.join(fifo, "adapter_config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
        again = PeftModel.from_pretrained(base_model(os.path.join(out, "base.safetensors")), fifo)
        assert torch.equal(logits(again, ids), expected[src]), fifo
    save_file(expected, os.path.join(out, "expected.safetensors"))
    print("wrote", out, sorted(expected))


def prompt_extras(peft_model):
    """The prompt adapter on a padded batch and in greedy generation with a KV cache."""
    out = {}
    with torch.no_grad():
        out["prompt.pad"] = peft_model(input_ids=PAD_IDS, attention_mask=PAD_MASK).logits.contiguous()
    out["prompt.pad.ids"], out["prompt.pad.mask"] = PAD_IDS, PAD_MASK
    prompts = torch.tensor([[7, 2, 11, 4], [1, 12, 0, 6]])
    with torch.no_grad():
        g = peft_model.generate(
            input_ids=prompts,
            attention_mask=torch.ones_like(prompts),
            max_new_tokens=4,
            do_sample=False,
            use_cache=True,
            output_logits=True,
            return_dict_in_generate=True,
            pad_token_id=0,
        )
    out["prompt.gen.ids"] = g.sequences.contiguous()
    out["prompt.gen.logits"] = torch.stack(g.logits).contiguous()
    # prompts of different lengths, left-padded as for generation; peft ignores position ids, so positions count the
    # padding too
    left = torch.tensor([[0, 0, 5, 9], [3, 8, 1, 2]])
    left_mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    with torch.no_grad():
        g = peft_model.generate(
            input_ids=left,
            attention_mask=left_mask,
            max_new_tokens=4,
            do_sample=False,
            use_cache=True,
            output_logits=True,
            return_dict_in_generate=True,
            pad_token_id=0,
        )
    out["prompt.genpad.mask"] = left_mask
    out["prompt.genpad.ids"] = g.sequences.contiguous()
    out["prompt.genpad.logits"] = torch.stack(g.logits).contiguous()
    return out


def check(root, fixtures):
    base = os.path.join(fixtures, "base.safetensors")
    names = sorted(d for d in os.listdir(root) if os.path.exists(os.path.join(root, d, "panthera_logits.safetensors")))
    if not names:
        sys.exit("no adapter directories with panthera_logits.safetensors under " + root)
    worst = 0.0
    for name in names:
        d = os.path.join(root, name)
        ours = load_file(os.path.join(d, "panthera_logits.safetensors"))
        model = PeftModel.from_pretrained(base_model(base), d)
        diff = (logits(model, ours["ids"]) - ours["logits"]).abs().max().item()
        with model.disable_adapter():
            plain = logits(model, ours["ids"])
        # a prompt adds positions: compare the base with the real tokens' logits (the last ones)
        adapted = (plain - ours["logits"][:, -plain.shape[1] :]).abs().max().item()
        print(f"{name}: peft loaded it; max |peft - panthera| = {diff:.3g} (the adapter moves logits by {adapted:.3g})")
        worst = max(worst, diff)
    if worst > 1e-4:
        sys.exit(f"mismatch {worst}")
    print(f"{len(names)} passed, 0 failed")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.path.join(here, "..", "resources", "peft")
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2], fixtures)
    else:
        sys.exit(__doc__)
