package dev.panthera.models.io;

import static dev.panthera.quant.oracle.LlamaCppGgml.fn;
import static dev.panthera.quant.oracle.LlamaCppGgml.ggmlFromFloat;
import static dev.panthera.quant.oracle.LlamaCppGgml.ggmlToFloat;
import static dev.panthera.quant.oracle.LlamaCppGgml.testValues;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.ggml.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GGUF files written by {@link GgufWriter} are parsed by llama.cpp's own gguf reader (the C API exported by
 * {@code libjllama.so} in {@code de.kherud:llama:4.2.0}, called through FFM), and ggml's {@code to_float} row
 * converters dequantize the bytes at the offsets llama.cpp reports. Names, types, shapes, metadata and values must
 * agree with ours. The bindings come from the quantization module's test jar ({@code LlamaCppGgml}), where
 * {@code GgmlAgainstLlamaCppTest} checks the block formats themselves against ggml.
 */
class LlamaCppGgufTest {
    @TempDir
    static Path dir;

    @Test
    void llamaCppReadsWhatWeWrite() throws Throwable {
        Random r = new Random(11);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("token_embd.weight", new long[] {5, 64});
        shapes.put("blk.0.attn_q.weight", new long[] {3, 96});
        shapes.put("blk.0.ffn_up.weight", new long[] {4, 2, 128});
        shapes.put("output_norm.weight", new long[] {64});
        GgmlType[] types = {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.F16, GgmlType.F32};
        GgufWriter w = new GgufWriter()
                .put("general.architecture", "llama")
                .putU32("llama.block_count", 1)
                .put("general.name", "panthera-test");
        int k = 0;
        for (var e : shapes.entrySet()) {
            long n = 1;
            for (long d : e.getValue()) n *= d;
            float[] v = new float[(int) n];
            for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * (i % 7 == 0 ? 3 : 0.5));
            w.tensor(e.getKey(), types[k++], e.getValue(), v);
        }
        Path p = dir.resolve("ours.gguf");
        w.write(p);
        byte[] file = Files.readAllBytes(p);

        MethodHandle init = fn(
                "gguf_init_from_file",
                ADDRESS,
                ADDRESS,
                MemoryLayout.structLayout(ValueLayout.JAVA_BOOLEAN, MemoryLayout.paddingLayout(7), ADDRESS));
        try (Arena a = Arena.ofConfined();
                GgufFile ours = GgufFile.open(p)) {
            MemorySegment ctxSlot = a.allocate(ADDRESS);
            MemorySegment params = a.allocate(16, 8);
            params.set(ValueLayout.JAVA_BOOLEAN, 0, true); // no_alloc: tensor metadata only
            params.set(ADDRESS, 8, ctxSlot);
            MemorySegment g = (MemorySegment) init.invokeExact(a.allocateFrom(p.toString()), params);
            assertNotEquals(MemorySegment.NULL, g, "llama.cpp's gguf_init_from_file rejected our file");
            MemorySegment ggml = ctxSlot.get(ADDRESS, 0);
            try {
                assertEquals(3, (int) fn("gguf_get_version", JAVA_INT, ADDRESS).invokeExact(g));
                assertEquals(
                        32L, (long) fn("gguf_get_alignment", JAVA_LONG, ADDRESS).invokeExact(g));
                long key = (long)
                        fn("gguf_find_key", JAVA_LONG, ADDRESS, ADDRESS).invokeExact(g, a.allocateFrom("general.name"));
                assertTrue(key >= 0);
                MemorySegment s = (MemorySegment)
                        fn("gguf_get_val_str", ADDRESS, ADDRESS, JAVA_LONG).invokeExact(g, key);
                assertEquals("panthera-test", s.reinterpret(256).getString(0));
                long nt = (long) fn("gguf_get_n_tensors", JAVA_LONG, ADDRESS).invokeExact(g);
                assertEquals(shapes.size(), nt);
                long dataOffset =
                        (long) fn("gguf_get_data_offset", JAVA_LONG, ADDRESS).invokeExact(g);
                assertEquals(ours.dataOffset(), dataOffset);
                MethodHandle name = fn("gguf_get_tensor_name", ADDRESS, ADDRESS, JAVA_LONG);
                MethodHandle type = fn("gguf_get_tensor_type", JAVA_INT, ADDRESS, JAVA_LONG);
                MethodHandle off = fn("gguf_get_tensor_offset", JAVA_LONG, ADDRESS, JAVA_LONG);
                MethodHandle size = fn("gguf_get_tensor_size", JAVA_LONG, ADDRESS, JAVA_LONG);
                MethodHandle getTensor = fn("ggml_get_tensor", ADDRESS, ADDRESS, ADDRESS);
                MethodHandle nelements = fn("ggml_nelements", JAVA_LONG, ADDRESS);
                MethodHandle ndims = fn("ggml_n_dims", JAVA_INT, ADDRESS);
                int i = 0;
                for (var e : shapes.entrySet()) {
                    String n = ((MemorySegment) name.invokeExact(g, (long) i))
                            .reinterpret(256)
                            .getString(0);
                    assertEquals(e.getKey(), n);
                    int t = (int) type.invokeExact(g, (long) i);
                    assertEquals(types[i].id(), t, n);
                    GgufFile.TensorInfo info = ours.info(n);
                    assertEquals(info.offset(), (long) off.invokeExact(g, (long) i), n);
                    assertEquals(info.byteSize(), (long) size.invokeExact(g, (long) i), n);
                    // struct ggml_tensor: enum ggml_type type; (pad); ggml_backend_buffer* buffer; int64_t ne[4]
                    MemorySegment gt = ((MemorySegment) getTensor.invokeExact(ggml, a.allocateFrom(n))).reinterpret(48);
                    assertEquals(t, gt.get(JAVA_INT, 0), "ggml_tensor layout check: type");
                    long[] ne = {
                        gt.get(JAVA_LONG, 16), gt.get(JAVA_LONG, 24), gt.get(JAVA_LONG, 32), gt.get(JAVA_LONG, 40)
                    };
                    assertEquals(
                            ne[0] * ne[1] * ne[2] * ne[3],
                            (long) nelements.invokeExact(gt),
                            "ggml_tensor layout check: ne");
                    int nd = (int) ndims.invokeExact(gt);
                    assertArrayEquals(
                            info.dims(), java.util.Arrays.copyOf(ne, Math.max(nd, info.dims().length)), n + " ne");
                    long[] rowMajor = e.getValue();
                    assertArrayEquals(rowMajor, info.shape());
                    byte[] raw = java.util.Arrays.copyOfRange(file, (int) (dataOffset + info.offset()), (int)
                            (dataOffset + info.offset() + info.byteSize()));
                    float[] theirs = ggmlToFloat(t, raw, (int) info.numel());
                    if (theirs == null) { // F32: compare the stored floats
                        theirs = MemorySegment.ofArray(raw).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
                    }
                    assertArrayEquals(theirs, ours.dequantize(n), n + " values");
                    i++;
                }
            } finally {
                fn("gguf_free", null, ADDRESS).invokeExact(g);
                if (!ggml.equals(MemorySegment.NULL))
                    fn("ggml_free", null, ADDRESS).invokeExact(ggml);
            }
        }
    }

    @Test
    void weReadWhatLlamaCppWrites() throws Throwable {
        Random r = new Random(21);
        MethodHandle init = fn(
                "ggml_init",
                ADDRESS,
                MemoryLayout.structLayout(JAVA_LONG, ADDRESS, ValueLayout.JAVA_BOOLEAN, MemoryLayout.paddingLayout(7)));
        MethodHandle newTensor = fn("ggml_new_tensor_2d", ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG);
        MethodHandle getData = fn("ggml_get_data", ADDRESS, ADDRESS);
        MethodHandle setName = fn("ggml_set_name", ADDRESS, ADDRESS, ADDRESS);
        Path p = dir.resolve("theirs.gguf");
        Map<String, byte[]> stored = new LinkedHashMap<>();
        Map<String, long[]> ne = new LinkedHashMap<>();
        Map<String, Integer> typeOf = new LinkedHashMap<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(24, 8);
            params.set(JAVA_LONG, 0, 32L << 20);
            MemorySegment ctx = (MemorySegment) init.invokeExact(params);
            MemorySegment g = (MemorySegment) fn("gguf_init_empty", ADDRESS).invokeExact();
            try {
                fn("gguf_set_val_u8", null, ADDRESS, ADDRESS, ValueLayout.JAVA_BYTE)
                        .invokeExact(g, a.allocateFrom("k.u8"), (byte) 200);
                fn("gguf_set_val_i8", null, ADDRESS, ADDRESS, ValueLayout.JAVA_BYTE)
                        .invokeExact(g, a.allocateFrom("k.i8"), (byte) -7);
                fn("gguf_set_val_u16", null, ADDRESS, ADDRESS, ValueLayout.JAVA_SHORT)
                        .invokeExact(g, a.allocateFrom("k.u16"), (short) 60000);
                fn("gguf_set_val_i16", null, ADDRESS, ADDRESS, ValueLayout.JAVA_SHORT)
                        .invokeExact(g, a.allocateFrom("k.i16"), (short) -300);
                fn("gguf_set_val_u32", null, ADDRESS, ADDRESS, JAVA_INT)
                        .invokeExact(g, a.allocateFrom("k.u32"), (int) 4_000_000_000L);
                fn("gguf_set_val_i32", null, ADDRESS, ADDRESS, JAVA_INT)
                        .invokeExact(g, a.allocateFrom("k.i32"), -123456);
                fn("gguf_set_val_f32", null, ADDRESS, ADDRESS, ValueLayout.JAVA_FLOAT)
                        .invokeExact(g, a.allocateFrom("k.f32"), 0.1f);
                fn("gguf_set_val_u64", null, ADDRESS, ADDRESS, JAVA_LONG).invokeExact(g, a.allocateFrom("k.u64"), -2L);
                fn("gguf_set_val_i64", null, ADDRESS, ADDRESS, JAVA_LONG)
                        .invokeExact(g, a.allocateFrom("k.i64"), Long.MIN_VALUE + 1);
                fn("gguf_set_val_f64", null, ADDRESS, ADDRESS, ValueLayout.JAVA_DOUBLE)
                        .invokeExact(g, a.allocateFrom("k.f64"), Math.E);
                fn("gguf_set_val_bool", null, ADDRESS, ADDRESS, ValueLayout.JAVA_BOOLEAN)
                        .invokeExact(g, a.allocateFrom("k.bool"), true);
                fn("gguf_set_val_str", null, ADDRESS, ADDRESS, ADDRESS)
                        .invokeExact(g, a.allocateFrom("general.architecture"), a.allocateFrom("llama"));
                MemorySegment strs = a.allocate(ADDRESS, 3);
                String[] sv = {"▁Hello", "", "<0x0A>"};
                for (int i = 0; i < 3; i++) strs.setAtIndex(ADDRESS, i, a.allocateFrom(sv[i]));
                fn("gguf_set_arr_str", null, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG)
                        .invokeExact(g, a.allocateFrom("k.arr_str"), strs, 3L);
                MemorySegment ints = a.allocateFrom(JAVA_INT, 5, -6, 7);
                fn("gguf_set_arr_data", null, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG)
                        .invokeExact(g, a.allocateFrom("k.arr_i32"), GgufValue.INT32, ints, 3L);

                Object[][] specs = {
                    {"a.f32", 0, 64L, 3L},
                    {"b.q8_0", 8, 96L, 2L},
                    {"c.q4_k", 12, 256L, 2L},
                    {"d.q6_k", 14, 512L, 1L},
                    {"e.f16", 1, 32L, 5L}
                };
                for (Object[] sp : specs) {
                    String name = (String) sp[0];
                    int type = (int) sp[1];
                    long ne0 = (long) sp[2], ne1 = (long) sp[3];
                    float[] x = testValues(r, (int) Math.max(ne0 * ne1, 128)).clone();
                    x = java.util.Arrays.copyOf(x, (int) (ne0 * ne1));
                    byte[] bytes = type == 0
                            ? MemorySegment.ofArray(x).toArray(ValueLayout.JAVA_BYTE)
                            : ggmlFromFloat(type, x);
                    MemorySegment t = (MemorySegment) newTensor.invokeExact(ctx, type, ne0, ne1);
                    MemorySegment d = ((MemorySegment) getData.invokeExact(t)).reinterpret(bytes.length);
                    d.copyFrom(MemorySegment.ofArray(bytes));
                    MemorySegment unused = (MemorySegment) setName.invokeExact(t, a.allocateFrom(name));
                    fn("gguf_add_tensor", null, ADDRESS, ADDRESS).invokeExact(g, t);
                    stored.put(name, bytes);
                    ne.put(name, new long[] {ne0, ne1});
                    typeOf.put(name, type);
                }
                boolean ok = (boolean)
                        fn("gguf_write_to_file", ValueLayout.JAVA_BOOLEAN, ADDRESS, ADDRESS, ValueLayout.JAVA_BOOLEAN)
                                .invokeExact(g, a.allocateFrom(p.toString()), false);
                assertTrue(ok, "gguf_write_to_file");
            } finally {
                fn("gguf_free", null, ADDRESS).invokeExact(g);
                fn("ggml_free", null, ADDRESS).invokeExact(ctx);
            }
        }
        try (GgufFile f = GgufFile.open(p)) {
            Map<String, GgufValue> m = f.metadata();
            assertEquals(new GgufValue.U8(200), m.get("k.u8"));
            assertEquals(new GgufValue.I8((byte) -7), m.get("k.i8"));
            assertEquals(new GgufValue.U16(60000), m.get("k.u16"));
            assertEquals(new GgufValue.I16((short) -300), m.get("k.i16"));
            assertEquals(new GgufValue.U32(4_000_000_000L), m.get("k.u32"));
            assertEquals(new GgufValue.I32(-123456), m.get("k.i32"));
            assertEquals(new GgufValue.F32(0.1f), m.get("k.f32"));
            assertEquals(new GgufValue.U64(-2L), m.get("k.u64"));
            assertEquals(new GgufValue.I64(Long.MIN_VALUE + 1), m.get("k.i64"));
            assertEquals(new GgufValue.F64(Math.E), m.get("k.f64"));
            assertEquals(new GgufValue.Bool(true), m.get("k.bool"));
            assertEquals("llama", m.get("general.architecture").asString());
            assertEquals(
                    new GgufValue.Array(
                            GgufValue.STRING,
                            java.util.List.of(
                                    new GgufValue.Str("▁Hello"), new GgufValue.Str(""), new GgufValue.Str("<0x0A>"))),
                    m.get("k.arr_str"));
            assertEquals(
                    new GgufValue.Array(
                            GgufValue.INT32,
                            java.util.List.of(new GgufValue.I32(5), new GgufValue.I32(-6), new GgufValue.I32(7))),
                    m.get("k.arr_i32"));
            assertEquals(java.util.List.copyOf(stored.keySet()), f.names());
            for (String n : stored.keySet()) {
                GgufFile.TensorInfo info = f.info(n);
                assertEquals(typeOf.get(n), info.type().id(), n);
                long[] want = ne.get(n)[1] == 1
                        ? new long[] {ne.get(n)[0]}
                        : ne.get(n); // llama.cpp writes n_dims = ggml_n_dims
                assertArrayEquals(want, info.dims(), n);
                assertArrayEquals(
                        stored.get(n),
                        f.rawBlocks(n).toArray(ValueLayout.JAVA_BYTE),
                        n + " raw bytes at llama.cpp's offset");
                float[] theirs = ggmlToFloat(typeOf.get(n), stored.get(n), (int) info.numel());
                if (theirs == null)
                    theirs = MemorySegment.ofArray(stored.get(n)).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
                float[] ours = f.tensor(n).toFloatArray();
                for (int i = 0; i < ours.length; i++) {
                    assertEquals(
                            theirs[i],
                            ours[i],
                            Math.ulp(Math.abs(theirs[i])) + 1e-6f * Math.abs(theirs[i]) + 1e-30f,
                            n + " element " + i);
                }
            }
        }
    }
}
