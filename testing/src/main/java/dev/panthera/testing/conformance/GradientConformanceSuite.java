package dev.panthera.testing.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Handle;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import net.jqwik.api.Example;

/**
 * The gradient conformance suite as a base class: a backend author extends it and names the backend; backward on it
 * runs against the reference backend in F64 on the CPU. The inputs are made on the backend's
 * device, so every tensor a gradient rule creates (zeros for slices, selects, index ops, masks; the seed of
 * backward) must be made there too, or the rule fails on a device mismatch; gradients and losses are read back with
 * toDoubleArray/item, which copy from the device. Inputs are F32 (what device kernels take); tolerance 1e-4 relative
 * + 1e-5 absolute covers float arithmetic in any order on these small sums.
 */
public abstract class GradientConformanceSuite {

    /** The backends {@link Backends#available()} lists, each for its device kind (CUDA: device 0). */
    public static List<Backend> available() {
        List<Backend> out = new ArrayList<>();
        for (String entry : Backends.available()) {
            String name = entry.substring(0, entry.indexOf(" ("));
            Device.Kind kind = Device.Kind.valueOf(entry.substring(entry.indexOf('(') + 1, entry.length() - 1));
            out.add(Backends.named(name, kind == Device.Kind.CPU ? Device.CPU : new Device(kind, 0)));
        }
        return out;
    }

    /** One case: inputs (as F64 host values) and a scalar loss of them; index inputs are I64 and need no grad. */
    private record Case(String name, Map<String, Tensor> inputs, Function<Map<String, Tensor>, Tensor> loss) {}

    private static List<Case> cases() {
        Tensor x = Tensor.randn(Shape.of(4, 5), 1).to(DType.F64),
                w = Tensor.randn(Shape.of(5, 3), 2).to(DType.F64);
        Tensor ids = Tensor.of(new long[] {3, 0, 3, 1}, 4);
        Tensor cols = Tensor.of(new long[] {2, 0, 1, 1, 0, 2, 2, 2}, 4, 2);
        Tensor b = Tensor.randn(Shape.of(3), 3).to(DType.F64);
        return List.of(
                new Case(
                        "slice, select, narrow",
                        Map.of("x", x),
                        in -> in.get("x")
                                .narrow(1, 1, 3)
                                .mul(2)
                                .sum()
                                .add(in.get("x").select(0, 2).exp().sum())
                                .add(in.get("x").slice(0, 0, 4, 2).tanh().sum())),
                new Case(
                        "indexSelect and gather",
                        Map.of("x", x, "ids", ids, "cols", cols),
                        in -> in.get("x")
                                .indexSelect(0, in.get("ids"))
                                .sigmoid()
                                .sum()
                                .add(in.get("x")
                                        .gather(1, in.get("cols"))
                                        .pow(2)
                                        .sum())),
                new Case("where, pow, gelu, maximum", Map.of("x", x), in -> {
                    Tensor v = in.get("x");
                    return Tensor.where(v.gt(0), v.pow(2), v.mul(0.5))
                            .sum()
                            .add(v.gelu().sum())
                            .add(v.abs().add(0.5).pow(v.sigmoid()).sum())
                            .add(v.maximum(v.t().matmul(v).narrow(0, 0, 4)).sum());
                }),
                new Case("matmul, softmax, norms, broadcast", Map.of("x", x, "w", w, "b", b), in -> {
                    Tensor h = in.get("x").matmul(in.get("w")).add(in.get("b"));
                    Tensor s = h.softmax(-1).mul(h.logSoftmax(-1)).sum();
                    Tensor n = h.layerNorm(in.get("b"), null, 1e-5).rmsNorm(null, 1e-6);
                    return s.add(n.mul(n).mean()).add(h.max(1).sum());
                }));
    }

    /** The backend under test. */
    protected abstract Backend backend();

    /** Every case on {@link #backend()}: losses and gradients against the reference backend. */
    @Example
    public void gradientsAgreeWithTheReference() {
        check(backend());
    }

    /** Runs every case on {@code backend} and compares losses and gradients with the reference backend. */
    public static void check(Backend backend) {
        for (Case c : cases()) {
            Map<String, double[]> want;
            double wantLoss;
            try (Handle h = Backends.use(ReferenceBackend.INSTANCE)) {
                Map<String, Tensor> in = leaves(c, Device.CPU, DType.F64);
                Tensor loss = c.loss().apply(in);
                loss.backward();
                wantLoss = loss.item();
                want = grads(in);
            }
            try (Handle h = Backends.use(backend)) {
                Map<String, Tensor> in = leaves(c, backend.device(), DType.F32);
                Tensor loss = c.loss().apply(in);
                assertEquals(backend.device(), loss.device(), c.name() + ": the loss stays on the device");
                loss.backward();
                String what = c.name() + " on " + backend.name() + " (" + backend.device() + ")";
                close(new double[] {wantLoss}, new double[] {loss.item()}, what + ": loss");
                Map<String, double[]> got = grads(in);
                for (var e : want.entrySet()) {
                    assertNotNull(got.get(e.getKey()), what + ": no gradient for " + e.getKey());
                    close(e.getValue(), got.get(e.getKey()), what + ": d/d" + e.getKey());
                }
            }
        }
    }

    private static Map<String, Tensor> leaves(Case c, Device device, DType floats) {
        Map<String, Tensor> in = new java.util.LinkedHashMap<>();
        for (var e : c.inputs().entrySet()) {
            Tensor t = e.getValue();
            if (t.dtype().isFloatingPoint())
                in.put(e.getKey(), t.to(floats).to(device).detach().requiresGrad(true)); // a fresh leaf
            else in.put(e.getKey(), t.to(device));
        }
        return in;
    }

    private static Map<String, double[]> grads(Map<String, Tensor> in) {
        Map<String, double[]> out = new java.util.HashMap<>();
        for (var e : in.entrySet()) {
            Tensor g = e.getValue().grad();
            if (e.getValue().requiresGrad() && g != null) {
                assertEquals(e.getValue().device(), g.device(), "the gradient of " + e.getKey() + " is on its device");
                out.put(e.getKey(), g.toDoubleArray());
            }
        }
        return out;
    }

    private static void close(double[] want, double[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            if (!(Math.abs(want[i] - got[i]) <= 1e-5 + 1e-4 * Math.abs(want[i])))
                fail(what + ": element " + i + " expected " + want[i] + " but was " + got[i]);
        }
    }
}
