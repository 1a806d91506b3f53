package dev.panthera.nn.lora;

import dev.panthera.nn.layers.Attention;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LLaMA-Adapter (Zhang et al., arXiv 2303.16199), as peft's adaption prompt defines it: the top {@code layers} attention
 * blocks ({@code self_attn}) get a learnable prompt {@code adaption_prompt} [1, length, dim] ~ N(0, 1) whose keys and
 * values (through the block's own k_proj and v_proj, without RoPE) every query attends to, scaled by a zero-initialised
 * gate {@code adaption_gate} [1]; the base model is frozen. With the gate at zero the output equals the base model's.
 */
public final class LlamaAdapter {
    private LlamaAdapter() {}

    /**
     * Freezes {@code model} and adds adaption prompts to its top {@code layers} blocks. Fails, changing nothing, when
     * the model already has adaption prompts: adding them again would silently re-initialise trained prompts.
     */
    public static void apply(CausalLm model, int layers, int length, long seed) {
        int n = model.layers().size();
        if (layers <= 0 || layers > n)
            throw new IllegalArgumentException("LlamaAdapter: adapter layers must be in [1, " + n + "], got " + layers);
        if (length <= 0)
            throw new IllegalArgumentException("LlamaAdapter: prompt length must be positive, got " + length);
        for (int i = 0; i < n; i++)
            if (model.layers().get(i).attention().hasAdaptionPrompt())
                throw new IllegalStateException("LlamaAdapter: layer " + i
                        + " already has an adaption prompt; applying again would re-initialise it");
        model.freeze();
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = n - layers; i < n; i++) model.layers().get(i).attention().enableAdaptionPrompt(length, rng);
    }

    /** The prompts and gates under peft's saved names: {@code base_model.model.<path>.adaption_prompt} / gate. */
    public static Map<String, Tensor> stateDict(CausalLm model) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : model.namedParameters().entrySet())
            if (e.getKey().endsWith(".adaption_prompt") || e.getKey().endsWith(".adaption_gate"))
                out.put("base_model.model." + e.getKey(), e.getValue());
        return out;
    }

    /** The number of blocks with an adaption prompt and the prompt length, or {0, 0} when there is none. */
    public static int[] shape(CausalLm model) {
        int layers = 0, length = 0;
        for (int i = 0; i < model.layers().size(); i++) {
            Attention a = model.layers().get(i).attention();
            if (a.hasAdaptionPrompt()) {
                layers++;
                length = (int) a.namedParameters().get("adaption_prompt").size(1);
            }
        }
        return new int[] {layers, length};
    }
}
