package dev.panthera.quant.qlora;

import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Dropout;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.layers.ModuleDict;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.nn.lora.LoraLinear;
import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LoRA over a frozen 4-bit base (QLoRA), laid out as peft's {@code bnb.Linear4bit} LoRA layer: children
 * {@code base_layer} ({@link Linear4bit}), {@code lora_A.<adapter>}, {@code lora_B.<adapter>} (nn {@link Linear}s
 * without bias) and {@code lora_dropout.<adapter>}. Forward = base(x) + B(A(dropout(x)))·scaling for the active
 * adapter, base(x) alone when this layer has none of that name. Merging never changes the packed base: it produces a
 * dequantized copy W_dq + scaling·B·A, optionally quantized again.
 */
public final class QLoraLinear extends Module {
    private final Linear4bit base;
    private final ModuleDict<Linear> loraA;
    private final ModuleDict<Linear> loraB;
    private final ModuleDict<Dropout> dropout;
    private final Map<String, Double> scaling = new LinkedHashMap<>();
    private String active;

    public QLoraLinear(Linear4bit base) {
        this.base = registerModule("base_layer", base);
        this.loraA = registerModule("lora_A", new ModuleDict<>());
        this.loraB = registerModule("lora_B", new ModuleDict<>());
        this.dropout = registerModule("lora_dropout", new ModuleDict<>());
    }

    /**
     * Adds adapter {@code name}: A [r, in] and B [out, r] initialised as {@code init} says (peft's default: A
     * kaiming-uniform(a=√5), B zeros); it becomes active.
     */
    public void addAdapter(String name, int r, double scale, double p, LoraConfig.InitWeights init, long seed) {
        if (loraA.contains(name))
            throw new IllegalArgumentException("QLoraLinear: adapter '" + name + "' already exists");
        if (r <= 0) throw new IllegalArgumentException("QLoraLinear: adapter '" + name + "' rank must be positive");
        SplittableRandom rng = new SplittableRandom(seed);
        Linear[] ab = LoraLinear.newAdapterPair(base.inFeatures(), base.outFeatures(), r, init, rng);
        Linear a = ab[0], b = ab[1];
        loraA.put(name, a);
        loraB.put(name, b);
        dropout.put(name, new Dropout(p, rng.nextLong()));
        scaling.put(name, scale);
        active = name;
    }

    public Linear4bit base() {
        return base;
    }

    public boolean hasAdapter(String name) {
        return loraA.contains(name);
    }

    /** The adapter forward uses (this layer may have none of that name: then forward is the base alone). */
    public String activeAdapter() {
        return active;
    }

    public void setActive(String name) {
        active = name;
    }

    public Linear loraA(String name) {
        return require(name, loraA.get(name));
    }

    public Linear loraB(String name) {
        return require(name, loraB.get(name));
    }

    public double scaling(String name) {
        require(name, loraA.get(name));
        return scaling.get(name);
    }

    private <T> T require(String name, T t) {
        if (t == null)
            throw new IllegalArgumentException("QLoraLinear: no adapter '" + name + "'; adapters: " + scaling.keySet());
        return t;
    }

    /**
     * W_dq + scaling·B·A for adapter {@code name} as row-major [out, in] floats: each element is summed in float64
     * from the float32 dequantized weight and the float32 factors and rounded to float32 once.
     */
    public float[] mergedWeight(String name) {
        float[] w = base.weight().dequantize();
        float[] a = loraA(name).weight().toFloatArray(),
                b = loraB(name).weight().toFloatArray();
        double s = scaling.get(name);
        int out = (int) base.outFeatures(), in = (int) base.inFeatures(), r = a.length / in;
        double[] acc = new double[in];
        for (int o = 0; o < out; o++) {
            java.util.Arrays.fill(acc, 0);
            for (int k = 0; k < r; k++) {
                double bk = b[o * r + k];
                for (int i = 0; i < in; i++) acc[i] += bk * a[k * in + i];
            }
            for (int i = 0; i < in; i++) w[o * in + i] = (float) (w[o * in + i] + s * acc[i]);
        }
        return w;
    }

    /** A float {@link Linear} holding W_dq + scaling·B·A of adapter {@code name} and the base's bias. */
    public Linear mergeToLinear(String name) {
        Tensor bias = base.bias();
        Linear l = new Linear(base.inFeatures(), base.outFeatures(), bias != null, new SplittableRandom(0));
        try (var _ = Autograd.noGrad()) {
            l.weight().copy_(Tensor.of(mergedWeight(name), base.outFeatures(), base.inFeatures()));
            if (bias != null) l.bias().copy_(bias);
        }
        return l;
    }

    /** The merged weight of adapter {@code name} quantized again to {@code code} (a new packed base layer). */
    public Linear4bit mergeToLinear4bit(String name, FourBitCode code, int blockSize, boolean doubleQuant) {
        Bnb4Bit q = Bnb4Bit.quantize(mergedWeight(name), code, blockSize, doubleQuant);
        Tensor bias = base.bias();
        return new Linear4bit(q, base.outFeatures(), base.inFeatures(), bias == null ? null : bias.detach());
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor y = base.forward(x);
        if (active == null || !hasAdapter(active)) return y;
        Tensor h = loraA.get(active).forward(dropout.get(active).forward(x));
        return y.add(loraB.get(active).forward(h).mul(scaling.get(active)));
    }
}
