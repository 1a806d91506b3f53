package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.panthera.quant.ggml.GgmlType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link GgufConvert#mixTypes} against the tensor types llama.cpp's own quantizer chose (llama_model_quantize, build
 * b10257) for the same models, listed by {@code jmh/llama-mix-fixtures.sh}: the 110M shape (12 layers, tied head), the
 * 1.1B shape (22 layers, grouped keys) and an 80-layer model with grouped keys (llama.cpp's "70B" rule for attn_v), each
 * as Q4_K_M and Q5_K_M. Every 2-D tensor's type must match.
 */
class GgufConvertMixTest {
    @ParameterizedTest
    @ValueSource(strings = {"110M-q4_k_m", "110M-q5_k_m", "1.1B-q4_k_m", "1.1B-q5_k_m", "80L-q4_k_m", "80L-q5_k_m"})
    void llamaCppsTypes(String fixture) throws IOException {
        String res = "mix/" + fixture + ".txt";
        var in = GgufConvertMixTest.class.getResourceAsStream(res);
        assertNotNull(in, res);
        List<GgufConvert.TensorShape> tensors = new ArrayList<>();
        Map<String, GgmlType> want = new LinkedHashMap<>();
        String arch = null;
        int layers = 0, heads = 0, kvHeads = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("#") || line.isBlank()) continue;
                String[] f = line.split(" ");
                if (f[0].equals("arch")) {
                    arch = f[1];
                    layers = Integer.parseInt(f[3]);
                    heads = Integer.parseInt(f[5]);
                    kvHeads = Integer.parseInt(f[7]);
                    continue;
                }
                tensors.add(new GgufConvert.TensorShape(f[0], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])}));
                want.put(f[0], GgmlType.valueOf(f[3]));
            }
        }
        GgufConvert.Mix mix = GgufConvert.Mix.valueOf(
                fixture.substring(fixture.indexOf('-') + 1).toUpperCase());
        Map<String, GgmlType> got = GgufConvert.mixTypes(mix, tensors, layers, heads, kvHeads, arch);
        assertEquals(want.size(), got.size(), fixture + ": matrices typed");
        for (var e : want.entrySet()) assertEquals(e.getValue(), got.get(e.getKey()), fixture + ": " + e.getKey());
    }

    /**
     * GPT-2's learned position table stays F32 in both a one-type file and a mix, as llama.cpp's quantizer keeps it
     * (its tensor_allows_quantization), while the other matrices take the type; the file loads.
     */
    @org.junit.jupiter.api.Test
    void learnedPositionsStayF32(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws IOException {
        java.nio.file.Path hf = java.nio.file.Path.of("src", "test", "resources", "gpt2", "gpt2-f32");
        java.nio.file.Path one = tmp.resolve("q8.gguf"), mixed = tmp.resolve("q4km.gguf");
        GgufConvert.convert(hf, null, GgmlType.Q8_0, one);
        GgufConvert.convert(hf, null, GgufConvert.Mix.Q4_K_M, mixed);
        for (java.nio.file.Path f : List.of(one, mixed)) {
            try (var g = dev.panthera.models.io.GgufFile.open(f)) {
                assertEquals(GgmlType.F32, g.info("position_embd.weight").type(), f + ": position_embd");
                assertEquals(
                        f == one
                                ? GgmlType.Q8_0
                                : GgufConvert.typeFor(
                                        GgmlType.Q4_K,
                                        g.info("blk.0.ffn_up.weight").shape()[1]),
                        g.info("blk.0.ffn_up.weight").type(),
                        f + ": ffn_up");
            }
            try (var m = dev.panthera.models.lm.LanguageModels.load(f, null)) {
                assertNotNull(m, f.toString());
            }
        }
    }
}
