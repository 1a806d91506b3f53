package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.FusedKernels;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.Tolerance;
import dev.panthera.testing.conformance.BackendConformanceSuite;
import dev.panthera.testing.conformance.ConformanceInputs;
import dev.panthera.testing.conformance.ConformanceSample;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * The SIMD backend against the reference on panthera-testing's conformance suite in F32, F64, BF16 and F16, over contiguous,
 * transposed, stepped, offset and broadcast views, rank 0 and size-0 dims, with NaN, ±Inf, ±0.0 and subnormals in
 * the data. The backend's fallback is a counting decorator of the reference: any call for a case the backend
 * {@link SimdBackend#claims claims} fails the test, so a claimed case cannot quietly run on the reference.
 * <p>
 * Tolerances. F32: the row kernels' 2e-5 relative + 2e-6 absolute (see SimdBackendConformanceTest). BF16 and F16:
 * both backends round a float result to the 16-bit type; the SIMD float result lies within the F32 bound of the
 * reference's, so the two rounded values are at most one 16-bit ulp apart: 2⁻⁷·|e| for BF16 (8 significant bits),
 * 2⁻¹⁰·|e| for F16 (11), plus F16's subnormal spacing 2⁻²⁴ absolute. F64 is all served by the reference (equal).
 */
class DtypeConformanceTest extends BackendConformanceSuite {
    private static final double RTOL = 2e-5, ATOL = 2e-6;

    @Override
    protected Backend backend() {
        return new SimdBackend(counting(new ArrayList<>()));
    }

    @Override
    protected Tolerance tolerance(DType dtype) {
        return switch (dtype) {
            case BF16 -> Tolerance.of(RTOL + 0x1p-7, ATOL);
            case F16 -> Tolerance.of(RTOL + 0x1p-10, ATOL + 0x1p-24);
            case F64 -> Tolerance.of(1e-12, 1e-12);
            default -> Tolerance.of(RTOL, ATOL);
        };
    }

    @Override
    protected List<DType> dtypes() {
        return List.of(DType.F32, DType.BF16, DType.F16, DType.F64);
    }

    @Override
    protected ConformanceInputs inputs() {
        return ConformanceInputs.ALL;
    }

    /** Each sample on a fresh counting fallback: no claimed case may reach it. */
    @Override
    @Property(tries = 85)
    public void agreesWithTheReferenceBackend(@ForAll("conformanceSamples") ConformanceSample sample) {
        List<String> claimed = new ArrayList<>();
        check(new SimdBackend(counting(claimed)), sample);
        assertEquals(List.of(), claimed, "claimed cases answered by the reference");
    }

    /** A reference backend that records every call the SIMD backend claims for itself, fused kernels included. */
    private static Backend counting(List<String> claimedCalls) {
        return (Backend) Proxy.newProxyInstance(
                Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, method, args) -> {
                    if (method.getName().equals("fused")) return countingFused(claimedCalls);
                    return countAndInvoke(claimedCalls, ReferenceBackend.INSTANCE, method, args);
                });
    }

    private static FusedKernels countingFused(List<String> claimedCalls) {
        return (FusedKernels) Proxy.newProxyInstance(
                FusedKernels.class.getClassLoader(),
                new Class<?>[] {FusedKernels.class},
                (proxy, method, args) -> countAndInvoke(claimedCalls, ReferenceBackend.INSTANCE, method, args));
    }

    private static Object countAndInvoke(List<String> claimedCalls, Object target, Method method, Object[] args)
            throws Throwable {
        List<DType> dtypes = new ArrayList<>();
        if (args != null) for (Object a : args) if (a instanceof Storage s) dtypes.add(s.dtype());
        if (SimdBackend.claims(method.getName(), dtypes.toArray(DType[]::new)))
            claimedCalls.add(method.getName() + dtypes);
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    @Test
    void claimsTheFloatOpsForF32Bf16F16AndNotF64() {
        for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            assertTrue(SimdBackend.claims("unary", t, t));
            assertTrue(SimdBackend.claims("binary", t, t, DType.BOOL));
            assertTrue(SimdBackend.claims("reduce", t, DType.I64));
            assertTrue(SimdBackend.claims("matmul", DType.F32, t, DType.F32));
            assertTrue(SimdBackend.claims("attention", t, t, t, t));
        }
        assertFalse(SimdBackend.claims("unary", DType.F64, DType.F64));
        assertFalse(SimdBackend.claims("matmul", DType.F64, DType.F64, DType.F64));
    }

    @Test
    void theCountingFallbackSeesAClaimedCallRoutedToIt() {
        // the decorator itself must be able to fail: a claimed op called on it directly is recorded
        List<String> claimed = new ArrayList<>();
        Backend b = counting(claimed);
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            Storage x = b.allocate(DType.BF16, 3, arena), y = b.allocate(DType.BF16, 3, arena);
            var l = dev.panthera.tensor.Layout.contiguous(dev.panthera.tensor.Shape.of(3));
            b.unary(dev.panthera.tensor.UnaryOp.EXP, x, l, y, l);
        }
        assertEquals(List.of("unary[BF16, BF16]"), claimed);
    }
}
