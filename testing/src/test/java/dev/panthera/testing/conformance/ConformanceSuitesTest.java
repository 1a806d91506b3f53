package dev.panthera.testing.conformance;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.UnaryOp;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.LayoutKind;
import dev.panthera.testing.TensorSpec;
import dev.panthera.testing.Tolerance;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The suites catch a wrong backend: a decorator of the reference backend that computes exp as neg for every unary
 * call fails the backend suite on case EXP and the gradient suite; the undecorated reference passes both (the
 * gradient suite runs it in F32 against itself in F64).
 */
class ConformanceSuitesTest {

    /** The reference backend with UnaryOp.EXP replaced by NEG. */
    static Backend expIsNeg() {
        return (Backend) Proxy.newProxyInstance(
                Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
                    if (m.getDeclaringClass() == Object.class) return m.invoke(ReferenceBackend.INSTANCE, args);
                    if (m.getName().equals("unary") && args[0] == UnaryOp.EXP) args[0] = UnaryOp.NEG;
                    if (m.getName().equals("name")) return "exp-is-neg";
                    if (m.getName().equals("fused")) return null;
                    try {
                        return m.invoke(ReferenceBackend.INSTANCE, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    static BackendConformanceSuite suite(Backend b) {
        return new BackendConformanceSuite() {
            @Override
            protected Backend backend() {
                return b;
            }

            @Override
            protected Tolerance tolerance(DType dtype) {
                return Tolerance.of(2e-5, 2e-6);
            }
        };
    }

    static ConformanceSample sample() {
        Shape s = Shape.of(3, 5);
        double[] a = new double[15], b = new double[30];
        for (int i = 0; i < a.length; i++) a[i] = Math.sin(i + 1);
        for (int i = 0; i < b.length; i++) b[i] = Math.cos(3 * i);
        return new ConformanceSample(
                s,
                DType.F32,
                List.of(
                        new TensorSpec(s, DType.F32, LayoutKind.CONTIGUOUS, 0, 0, a),
                        new TensorSpec(s, DType.F32, LayoutKind.STEPPED, 1, 2, b)));
    }

    @Test
    void theBackendSuiteFailsAWrongExpOnThatCase() {
        AssertionError e =
                assertThrows(AssertionError.class, () -> suite(expIsNeg()).check(expIsNeg(), sample()));
        assertTrue(e.getMessage().startsWith("exp-is-neg vs reference, case 'EXP' on F32 [3, 5]"), e.getMessage());
        assertTrue(e.getMessage().contains("Mismatched elements: 15 / 15"), e.getMessage());
    }

    @Test
    void theBackendSuitePassesTheReference() {
        suite(ReferenceBackend.INSTANCE).check(ReferenceBackend.INSTANCE, sample());
    }

    @Test
    void theGradientSuiteFailsAWrongExp() {
        assertThrows(AssertionError.class, () -> GradientConformanceSuite.check(expIsNeg()));
    }

    @Test
    void theGradientSuitePassesTheReference() {
        GradientConformanceSuite.check(ReferenceBackend.INSTANCE);
    }
}
