package dev.panthera.bench;

import dev.panthera.models.bert.BertModel;
import dev.panthera.models.bert.BertTeacher;
import dev.panthera.models.bert.Pooling;
import dev.panthera.models.tokenizer.BatchEncoding;
import dev.panthera.nn.distill.EncoderOutputs;
import dev.panthera.nn.distill.SmallEncoder;
import dev.panthera.nn.distill.TinyBertDistillation;
import dev.panthera.nn.loss.Losses;
import dev.panthera.nn.optim.AdamW;
import dev.panthera.nn.optim.LrSchedule;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * TinyBERT task distillation from all-MiniLM-L6-v2 (the frozen teacher, 6 layers, 384 wide, 12 heads) into a randomly
 * initialised 2-layer {@link SmallEncoder} with 12 heads, on generated sentences (see {@link #corpus}) tokenized by
 * MiniLM's WordPiece tokenizer and padded with masks. As TinyBERT: stage 1 fits the intermediate layers (student
 * hidden state m, 0 = embeddings, to teacher hidden state 3m through one learned projection to 384; student layer m's
 * attention to teacher layer 3m + 2), stage 2 the prediction layer (soft cross-entropy at temperature T). Attention is
 * compared as scores before the softmax on both sides, as TinyBERT's task_distill.py (masked keys zeroed), and the
 * prediction target is K pseudo-classes from a fixed random projection of the teacher's sentence embedding: see
 * {@link BertTeacher}. The student's vocabulary is the word pieces
 * the corpus uses (the teacher's ids mapped to a compact range), which keeps its embedding table small.
 *
 * <p>Prints the loss curve (each component averaged over the steps since the last line) and, on held-out sentences,
 * the mean cosine between the student's projected mean-pooled last hidden state and the teacher's mean-pooled
 * embedding, for matched pairs and, as the floor a student without sentence-specific information reaches, for
 * mismatched pairs (sentence i against the teacher's sentence i + 1), before training and after each stage.
 *
 * <p>Arguments: stage1Steps stage2Steps dim batch lr temperature (defaults 600 200 192 16 1e-3 2). Stage 2 runs at a
 * third of stage 1's learning rate.
 */
public final class TinyBertDistill {
    private static final int CLASSES = 16;
    private static final double LOGIT_SCALE = 5;

    private TinyBertDistill() {}

    /** One training or held-out batch with the teacher's outputs computed once. */
    record Batch(Tensor ids, Tensor mask, int[][] maskRows, EncoderOutputs teacher, Tensor teacherPooled) {}

    public static void main(String[] args) throws Exception {
        int steps1 = intArg(args, 0, 600), steps2 = intArg(args, 1, 200), dim = intArg(args, 2, 192);
        int batch = intArg(args, 3, 16);
        double lr = args.length > 4 ? Double.parseDouble(args[4]) : 1e-3;
        double temperature = args.length > 5 ? Double.parseDouble(args[5]) : 2;
        List<String> sentences = corpus(480, 20261203L);
        List<String> train = sentences.subList(0, 416), held = sentences.subList(416, 480);
        long t0 = System.nanoTime();
        try (BertModel model = BertModel.load("all-minilm-l6-v2")) {
            BertTeacher teacher = new BertTeacher(model, CLASSES, LOGIT_SCALE, 11);
            Map<Integer, Integer> vocab = new HashMap<>();
            List<Batch> trainBatches = batches(teacher, train, batch, vocab);
            List<Batch> heldBatches = batches(teacher, held, batch, vocab);
            System.out.printf(
                    Locale.ROOT,
                    "%d training and %d held-out sentences, %d word pieces in use; teacher outputs in %.1f s%n",
                    train.size(),
                    held.size(),
                    vocab.size(),
                    (System.nanoTime() - t0) / 1e9);
            SplittableRandom rng = new SplittableRandom(5);
            int teacherLayers = model.config().layers(), heads = model.config().heads();
            var cfg = new SmallEncoder.Config(vocab.size(), dim, heads, 4 * dim, 2, 64, CLASSES);
            SmallEncoder student = new SmallEncoder(cfg, rng);
            var distill = new TinyBertDistillation(
                    2, teacherLayers, dim, model.config().hidden(), rng);
            System.out.printf(
                    Locale.ROOT,
                    "student: 2 layers, width %d, %d heads, ffn %d, %d parameters; AdamW lr %g, T = %g, K = %d%n",
                    dim,
                    heads,
                    4 * dim,
                    student.trainableParameters().stream()
                            .mapToLong(Tensor::numel)
                            .sum(),
                    lr,
                    temperature,
                    CLASSES);
            report("before training", student, distill, heldBatches);

            AdamW stage1 = new AdamW(distill.trainableParameters(student), lr, 0.9, 0.999, 1e-8, 0.01);
            stage1.schedule(LrSchedule.linear(steps1 / 10, steps1));
            train("stage 1 (intermediate layers)", true, steps1, stage1, student, distill, trainBatches, temperature);
            report("after stage 1", student, distill, heldBatches);

            AdamW stage2 = new AdamW(student.trainableParameters(), lr / 3, 0.9, 0.999, 1e-8, 0.01);
            stage2.schedule(LrSchedule.linear(steps2 / 10, steps2));
            double floor = 0;
            for (Batch b : trainBatches)
                floor += Losses.softCrossEntropy(
                                b.teacher().logits(), b.teacher().logits(), temperature)
                        .item();
            System.out.printf(
                    Locale.ROOT,
                    "soft CE floor (the teacher's own entropy term, mean over training batches): %.5f%n",
                    floor / trainBatches.size());
            train("stage 2 (prediction layer)", false, steps2, stage2, student, distill, trainBatches, temperature);
            report("after stage 2", student, distill, heldBatches);
        }
        System.out.printf(Locale.ROOT, "total %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    private static void train(
            String name,
            boolean intermediate,
            int steps,
            AdamW opt,
            SmallEncoder student,
            TinyBertDistillation distill,
            List<Batch> batches,
            double temperature) {
        System.out.println(name + ": step, mean hidden MSE, attention MSE, soft CE over the steps since the last line");
        double[] sum = new double[3];
        int n = 0;
        long t0 = System.nanoTime();
        for (int step = 0; step < steps; step++) {
            Batch b = batches.get(step % batches.size());
            try (var scope = MemoryScope.open()) {
                EncoderOutputs s = student.forwardWithIntermediates(b.ids(), b.mask());
                Tensor hidden = distill.hiddenLoss(s, b.teacher()), att = distill.attentionLoss(s, b.teacher());
                Tensor pred = distill.predictionLoss(s, b.teacher(), temperature);
                Tensor loss = intermediate ? hidden.add(att) : pred;
                opt.zeroGrad();
                loss.backward();
                opt.step();
                sum[0] += hidden.item();
                sum[1] += att.item();
                sum[2] += pred.item();
                n++;
            }
            if ((step + 1) % 20 == 0 || step == steps - 1) {
                System.out.printf(
                        Locale.ROOT,
                        "  %4d  %.4f  %.4f  %.5f  (%.2f s/step)%n",
                        step + 1,
                        sum[0] / n,
                        sum[1] / n,
                        sum[2] / n,
                        (System.nanoTime() - t0) / 1e9 / n);
                sum = new double[3];
                n = 0;
                t0 = System.nanoTime();
            }
        }
    }

    /** Mean cosine of the student's projected mean-pooled embedding to the teacher's, matched and mismatched. */
    static double[] heldOutCosine(SmallEncoder student, TinyBertDistillation distill, List<Batch> batches) {
        List<float[]> s = new ArrayList<>(), t = new ArrayList<>();
        try (var _ = Autograd.noGrad();
                var scope = MemoryScope.open()) {
            for (Batch b : batches) {
                EncoderOutputs out = student.forwardWithIntermediates(b.ids(), b.mask());
                Tensor last = out.hiddenStates().get(out.layers());
                Tensor pooled = Pooling.MEAN.pool(distill.projection().forward(last), b.maskRows());
                rows(pooled, s);
                rows(b.teacherPooled(), t);
            }
        }
        double matched = 0, mismatched = 0;
        for (int i = 0; i < s.size(); i++) {
            matched += cosine(s.get(i), t.get(i));
            mismatched += cosine(s.get(i), t.get((i + 1) % t.size()));
        }
        return new double[] {matched / s.size(), mismatched / s.size()};
    }

    private static void report(String when, SmallEncoder student, TinyBertDistillation distill, List<Batch> held) {
        double[] c = heldOutCosine(student, distill, held);
        System.out.printf(
                Locale.ROOT, "held-out cosine to the teacher %s: matched %.4f, mismatched %.4f%n", when, c[0], c[1]);
    }

    private static List<Batch> batches(BertTeacher teacher, List<String> texts, int size, Map<Integer, Integer> vocab) {
        List<Batch> out = new ArrayList<>();
        for (int from = 0; from < texts.size(); from += size) {
            List<String> part = texts.subList(from, Math.min(texts.size(), from + size));
            BatchEncoding enc = teacher.model().tokenizer().encodeBatch(part, true, 64);
            int b = enc.ids().length, t = enc.ids()[0].length;
            long[] ids = new long[b * t];
            for (int r = 0; r < b; r++)
                for (int j = 0; j < t; j++) ids[r * t + j] = vocab.computeIfAbsent(enc.ids()[r][j], k -> vocab.size());
            EncoderOutputs to = teacher.outputs(enc);
            Tensor pooled;
            try (var _ = Autograd.noGrad()) {
                pooled = Pooling.MEAN.pool(to.hiddenStates().get(to.layers()), enc.attentionMask());
            }
            out.add(new Batch(
                    Tensor.of(ids, b, t),
                    BertTeacher.maskTensor(enc.attentionMask()),
                    enc.attentionMask(),
                    to,
                    pooled));
        }
        return out;
    }

    private static void rows(Tensor x, List<float[]> into) {
        float[] flat = x.contiguous().toFloatArray();
        int h = (int) x.size(1);
        for (int r = 0; r < x.size(0); r++) into.add(java.util.Arrays.copyOfRange(flat, r * h, (r + 1) * h));
    }

    private static double cosine(float[] a, float[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

    /**
     * {@code n} distinct sentences drawn (seeded) from templates over six topics, each topic with its own subjects,
     * actions, objects and settings, so that sentences of one topic are related and of two topics less so.
     */
    static List<String> corpus(int n, long seed) {
        String[][][] topics = {
            {
                {"the chef", "my grandmother", "a young cook", "the baker", "our neighbour"},
                {"slowly stirred", "carefully tasted", "quickly chopped", "gently baked", "seasoned"},
                {"the tomato soup", "a loaf of bread", "fresh garlic", "the apple pie", "a pot of rice"},
                {"in the small kitchen", "before dinner", "for the family", "on a cold evening", "at the market stall"}
            },
            {
                {"the striker", "our goalkeeper", "the young player", "the coach", "the whole team"},
                {"scored", "missed", "celebrated", "trained for", "argued about"},
                {"a late goal", "the penalty kick", "the final match", "a long season", "the championship"},
                {"in front of the fans", "during the rain", "after half time", "at the stadium", "last weekend"}
            },
            {
                {"the engineer", "a new developer", "the server team", "my laptop", "the database"},
                {"crashed during", "quietly fixed", "deployed", "tested", "slowed down"},
                {"the software update", "a memory leak", "the network code", "the backup job", "a security patch"},
                {"late at night", "before the release", "in the data centre", "on monday morning", "without warning"}
            },
            {
                {"the old dog", "a curious cat", "the wild fox", "a flock of birds", "the tired horse"},
                {"chased", "slept next to", "watched", "hid behind", "ran across"},
                {"the garden fence", "a red ball", "the frozen pond", "the farmer's barn", "a pile of leaves"},
                {"in the morning sun", "all afternoon", "under the trees", "near the river", "after the storm"}
            },
            {
                {"the bank", "a small investor", "the central bank", "the company", "the market"},
                {"raised", "cut", "worried about", "reported", "predicted"},
                {"interest rates", "its quarterly profits", "the price of oil", "a sharp loss", "rising inflation"},
                {"this quarter", "for the third time", "despite the crisis", "in its annual report", "on wall street"}
            },
            {
                {"heavy rain", "a strong wind", "the snow storm", "thick fog", "the summer heat"},
                {"flooded", "closed", "covered", "damaged", "delayed"},
                {"the mountain roads", "the airport", "the coastal towns", "the old bridge", "the morning trains"},
                {"overnight", "for two days", "across the region", "near the coast", "without any warning"}
            }
        };
        SplittableRandom rng = new SplittableRandom(seed);
        LinkedHashSet<String> out = new LinkedHashSet<>();
        while (out.size() < n) {
            String[][] t = topics[rng.nextInt(topics.length)];
            StringBuilder sb = new StringBuilder();
            for (String[] slot : t) {
                if (!sb.isEmpty()) sb.append(' ');
                sb.append(slot[rng.nextInt(slot.length)]);
            }
            String s = sb.append('.').toString();
            out.add(Character.toUpperCase(s.charAt(0)) + s.substring(1));
        }
        return List.copyOf(out);
    }

    private static int intArg(String[] args, int i, int def) {
        return args.length > i ? Integer.parseInt(args[i]) : def;
    }
}
