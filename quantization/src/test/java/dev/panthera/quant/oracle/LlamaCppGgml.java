package dev.panthera.quant.oracle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;

/**
 * ggml itself as a test oracle: the C API exported by {@code libjllama.so} in {@code de.kherud:llama:4.2.0} (llama.cpp
 * with ggml), called through FFM. Its type traits give ggml's own row converters ({@code to_float},
 * {@code from_float_ref}). In a package of its own so that the models module's GGUF tests can use it from this
 * module's test jar (a package of the dev.panthera.quant module itself would be hidden from them).
 */
public final class LlamaCppGgml {
    private LlamaCppGgml() {}

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Arena LIB_ARENA = Arena.ofAuto();
    private static SymbolLookup lib;

    /** libjllama.so from the de.kherud:llama jar; skips the calling test (an assumption) where it cannot load. */
    public static synchronized SymbolLookup lib() throws Exception {
        if (lib != null) return lib;
        String res = "de/kherud/llama/Linux/x86_64/libjllama.so";
        Assumptions.assumeTrue(
                System.getProperty("os.name").startsWith("Linux")
                        && System.getProperty("os.arch").equals("amd64"),
                "skipped: llama.cpp check needs linux x86_64");
        try (InputStream in = LlamaCppGgml.class.getClassLoader().getResourceAsStream(res)) {
            Assumptions.assumeTrue(
                    in != null, "skipped: " + res + " (de.kherud:llama jar) is not on the test class path");
            Path so = Files.createTempDirectory("jllama").resolve("libjllama.so");
            Files.copy(in, so);
            so.toFile().deleteOnExit();
            lib = SymbolLookup.libraryLookup(so, LIB_ARENA);
        }
        // the first ggml_init fills ggml's fp16 -> f32 table, which the row converters read
        try (Arena a = Arena.ofConfined()) {
            MemoryLayout params = MemoryLayout.structLayout(
                    JAVA_LONG, ADDRESS, ValueLayout.JAVA_BOOLEAN, MemoryLayout.paddingLayout(7));
            MemorySegment p = a.allocate(params);
            p.set(JAVA_LONG, 0, 1024);
            p.set(ValueLayout.JAVA_BOOLEAN, 16, true);
            MemorySegment ctx = (MemorySegment) fn("ggml_init", ADDRESS, params).invokeExact(p);
            assertNotEquals(MemorySegment.NULL, ctx, "ggml_init failed");
            fn("ggml_free", null, ADDRESS).invokeExact(ctx);
        } catch (Throwable t) {
            throw new IllegalStateException("ggml_init: " + t, t);
        }
        return lib;
    }

    /** A downcall to {@code name} in the library; {@code ret} null for void. */
    public static MethodHandle fn(String name, MemoryLayout ret, MemoryLayout... args) throws Exception {
        MemorySegment addr = lib().find(name).orElseThrow(() -> new AssertionError("libjllama.so lacks " + name));
        return ret == null
                ? LINKER.downcallHandle(addr, FunctionDescriptor.ofVoid(args))
                : LINKER.downcallHandle(addr, FunctionDescriptor.of(ret, args));
    }

    /** struct ggml_type_traits (ggml.h): type_name, blck_size, blck_size_interleave, type_size, is_quantized, to_float, from_float_ref. */
    public static MemorySegment traits(int type) throws Throwable {
        MemorySegment t =
                ((MemorySegment) fn("ggml_get_type_traits", ADDRESS, JAVA_INT).invokeExact(type)).reinterpret(56);
        String name = t.get(ADDRESS, 0).reinterpret(64).getString(0);
        String expect = ((MemorySegment) fn("ggml_type_name", ADDRESS, JAVA_INT).invokeExact(type))
                .reinterpret(64)
                .getString(0);
        assertEquals(expect, name, "struct ggml_type_traits layout check: type_name");
        assertEquals(
                (long) fn("ggml_blck_size", JAVA_LONG, JAVA_INT).invokeExact(type),
                t.get(JAVA_LONG, 8),
                "layout check: blck_size");
        assertEquals(
                (long) fn("ggml_type_size", JAVA_LONG, JAVA_INT).invokeExact(type),
                t.get(JAVA_LONG, 24),
                "layout check: type_size");
        return t;
    }

    /** ggml's to_float over {@code n} weights of {@code type}, or null for F32 (which has no converter). */
    public static float[] ggmlToFloat(int type, byte[] raw, int n) throws Throwable {
        MemorySegment toFloat = traits(type).get(ADDRESS, 40);
        if (toFloat.equals(MemorySegment.NULL)) return null;
        MethodHandle h = LINKER.downcallHandle(toFloat, FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_LONG));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment x = a.allocate(raw.length, 64);
            x.copyFrom(MemorySegment.ofArray(raw));
            MemorySegment y = a.allocate(4L * n, 64);
            h.invokeExact(x, y, (long) n);
            return y.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** ggml's reference quantizer ({@code from_float_ref} in the type traits) over {@code x}. */
    public static byte[] ggmlFromFloat(int type, float[] x) throws Throwable {
        MemorySegment tr = traits(type);
        MemorySegment fromFloat = tr.get(ADDRESS, 48);
        assertNotEquals(MemorySegment.NULL, fromFloat, "type " + type + " has no from_float_ref");
        long bytes = x.length / tr.get(JAVA_LONG, 8) * tr.get(JAVA_LONG, 24);
        MethodHandle h = LINKER.downcallHandle(fromFloat, FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_LONG));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(ValueLayout.JAVA_FLOAT, x);
            MemorySegment out = a.allocate(bytes, 64);
            h.invokeExact(in, out, (long) x.length);
            return out.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /**
     * ggml's exported row dequantizer {@code name} (e.g. {@code dequantize_row_q8_K}, for the types whose traits carry
     * no converter) over {@code n} weights.
     */
    public static float[] ggmlDequantizeRow(String name, byte[] raw, int n) throws Throwable {
        MethodHandle h = fn(name, null, ADDRESS, ADDRESS, JAVA_LONG);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment x = a.allocate(raw.length, 64);
            x.copyFrom(MemorySegment.ofArray(raw));
            MemorySegment y = a.allocate(4L * n, 64);
            h.invokeExact(x, y, (long) n);
            return y.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** ggml's exported reference quantizer {@code name} (e.g. {@code quantize_row_q8_K_ref}) into {@code bytes}. */
    public static byte[] ggmlQuantizeRow(String name, float[] x, long bytes) throws Throwable {
        MethodHandle h = fn(name, null, ADDRESS, ADDRESS, JAVA_LONG);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(ValueLayout.JAVA_FLOAT, x);
            MemorySegment out = a.allocate(bytes, 64);
            h.invokeExact(in, out, (long) x.length);
            return out.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    public static float[] testValues(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * Math.exp(2 * r.nextGaussian()));
        for (int i = 0; i < 32; i++) x[i] = 0; // an all-zero block
        for (int i = 32; i < 64; i++) x[i] = (i % 8) - 4; // a block of small integers (Q4_0 max is negative: -4)
        x[64] = 127;
        x[65] = 62.5f;
        x[66] = -62.5f;
        x[67] = 0.5f; // Q8_0 ties: d = 1, x/d exactly .5
        return x;
    }
}
