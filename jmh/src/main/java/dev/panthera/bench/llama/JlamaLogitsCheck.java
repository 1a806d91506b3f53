package dev.panthera.bench.llama;

import dev.panthera.bench.llama.JlamaEngines.Engine;
import dev.panthera.tensor.Autograd;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Before timing: do Panthera and Jlama compute the same function of the same folder? Both load it in this JVM, take
 * the same ids (BOS and 15 random ids as one prefill, then 4 random ids decoded one by one against the cache, the
 * path the decode benchmark times) and the logits of each of those 5 steps are compared. Exit status 0 when every
 * logit agrees within the bound, 1 otherwise; the script stops there.
 *
 * <p>The bound, for an F32 folder (Jlama keeps F32 activations for an F32 model, so both sides round in F32 and
 * differ only in summation order and in their exp/rsqrt/sin/cos): a dot product of length K is off by at most
 * K·u·Σ|aᵢbᵢ| (u = 2⁻²⁴, first order). The longest here is K = 2048 (the FFN down projection); a logit passes through
 * about S = 12 · 5 + 2 = 62 dependent stages (per layer: norm, q/k/v, attention, o, FFN; then the final norm and the
 * head). If every stage's relative error adds up, a logit of size L is off by at most S·K·u·L ≈ 7.6e-3 · L; the
 * check uses L = the largest |logit| of our side. Both sides rotate each head by the same angle difference, but
 * Jlama indexes its RoPE table from the head's offset (head h at position p uses the angles of position p + 2h, a
 * rotation of q and k alike that leaves q·k unchanged in exact arithmetic), which adds only rounding of the same
 * order. A wrong rotation, mask or norm moves logits by tenths; the check prints, as a control, how far the logits
 * move when only the last decoded id differs, which must exceed the bound for the check to mean anything.
 *
 * <p>A BF16 folder holds the same weights rounded to BF16, and both sides widen them exactly, but Jlama also rounds
 * the activations to BF16 before each matrix product (its loader's choice for a BF16 model; round to nearest, so a
 * relative error of at most 2⁻⁸ per input) while we keep them in F32. That rounding changes each product by at most
 * 2⁻⁸·Σ|aᵢbᵢ|, so the bound becomes S·(2⁻⁸ + K·u)·L ≈ 0.25 · L over the same S stages, and the control must exceed
 * it too.
 *
 * <p>Usage: {@code JlamaLogitsCheck FOLDER [-t THREADS]}.
 */
public final class JlamaLogitsCheck {
    private JlamaLogitsCheck() {}

    public static void main(String[] args) {
        if (args.length != 1 && args.length != 3)
            throw new IllegalArgumentException("usage: JlamaLogitsCheck FOLDER [-t THREADS]");
        Path folder = Path.of(args[0]);
        int threads = args.length == 3 && args[1].equals("-t") ? Integer.parseInt(args[2]) : 1;
        String name = folder.getFileName().toString();
        if (!name.endsWith("-f32") && !name.endsWith("-bf16"))
            throw new IllegalArgumentException(
                    "JlamaLogitsCheck: " + folder + " is not a JlamaFixtures folder (…-f32 or …-bf16)");
        boolean f32 = name.endsWith("-f32");
        int prompt = 16, steps = 4;
        SplittableRandom rng = new SplittableRandom(42);
        int[] ids = new int[prompt];
        ids[0] = 1;
        for (int i = 1; i < prompt; i++) ids[i] = rng.nextInt(JlamaFixtures.VOCAB);
        int[] next = new int[steps];
        for (int i = 0; i < steps; i++) next[i] = rng.nextInt(JlamaFixtures.VOCAB);
        int other = (next[steps - 1] + 1) % JlamaFixtures.VOCAB;
        float[][] ours = new float[steps + 1][], theirs = new float[steps + 1][];
        float[] oursOther;
        try (var ng = Autograd.noGrad()) {
            try (Engine e = new JlamaEngines.Panthera(folder, threads, prompt + steps)) {
                run(e, ids, next, ours);
                e.prefill(ids, false);
                for (int i = 0; i < steps - 1; i++) e.decode(next[i], prompt + i, false);
                oursOther = e.decode(other, prompt + steps - 1, true);
            }
            try (Engine e = new JlamaEngines.Jlama(folder, threads)) {
                run(e, ids, next, theirs);
            }
        }
        double worst = 0, largest = 0, control = 0;
        boolean argmax = true;
        for (int s = 0; s <= steps; s++) {
            for (int i = 0; i < ours[s].length; i++) {
                worst = Math.max(worst, Math.abs(ours[s][i] - theirs[s][i]));
                largest = Math.max(largest, Math.abs(ours[s][i]));
            }
            argmax &= argmax(ours[s]) == argmax(theirs[s]);
        }
        for (int i = 0; i < oursOther.length; i++) control = Math.max(control, Math.abs(oursOther[i] - ours[steps][i]));
        double bound = 62 * ((f32 ? 0 : 0x1p-8) + 2048 * 0x1p-24) * largest;
        boolean ok = worst <= bound && control > bound;
        System.out.println(String.format(
                Locale.ROOT,
                "logits check %s (threads %d, %d-token prefill + %d decode steps): max |ours − Jlama| %.3g, "
                        + "largest |logit| %.3g, bound %.3g (%s), control (last id changed) %.3g, arg-max %s: %s",
                folder.getFileName(),
                threads,
                prompt,
                steps,
                worst,
                largest,
                bound,
                f32 ? "F32 on both sides" : "with Jlama's BF16 activations",
                control,
                argmax ? "agrees at every step" : "DIFFERS",
                ok ? "PASS" : "FAIL"));
        System.exit(ok ? 0 : 1);
    }

    private static void run(Engine e, int[] ids, int[] next, float[][] out) {
        out[0] = e.prefill(ids, true);
        for (int i = 0; i < next.length; i++) out[i + 1] = e.decode(next[i], ids.length + i, true);
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
