package dev.panthera.models.bert;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.tokenizer.BatchEncoding;
import dev.panthera.quant.QuantizedLinear;
import dev.panthera.quant.QuantizedWeight;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.MemoryScope;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The encoder's linear maps built by a {@link BertLinearMaker} on all-MiniLM-L6-v2: a maker that rebuilds each map
 * exactly (an F32 {@link QuantizedWeight} of the [out, in] weight it is handed, with its bias) gives the float model's
 * hidden states, which checks the names, the orientation of the weight and the bias; W8A8 is handed all 36 maps.
 */
class BertLinearMakerTest {
    static final String NAME = "all-minilm-l6-v2";

    static float[] hidden(BertModel m, BatchEncoding b) {
        try (var scope = MemoryScope.open()) {
            return m.forward(b, false, false).lastHiddenState().contiguous().toFloatArray();
        }
    }

    @Test
    void anExactMakerGivesTheFloatModel() throws Exception {
        Oracles.require(BertModels.jar(NAME, BertModels.localRepository()));
        List<String> names = new ArrayList<>();
        Arena arena = Arena.ofAuto();
        BertLinearMaker exact = (name, w, out, in, bias) -> {
            names.add(name);
            return QuantizedLinear.of(QuantizedWeight.quantize(name, w, out, in, GgmlType.F32, arena), bias);
        };
        try (BertModel f = BertModels.load(NAME);
                BertModel q = BertModels.load(NAME, BertModels.localRepository(), exact)) {
            BatchEncoding b = f.tokenizer()
                    .encodeBatch(
                            List.of("The cat sat on the mat.", "Our tensor library runs on the JVM, fast."), true, 64);
            float[] want = hidden(f, b), got = hidden(q, b);
            // the same F32 weights and biases; only the order of the float32 sums differs (blocked GEMM vs the
            // quantized layer's row decoder). Each dot has K ≤ 1536 terms: |error| ≤ 2·K·u·Σ|terms| per map; through
            // six post-LayerNorm layers (hidden states of magnitude ≤ 10, LayerNorm renormalising each layer) 2e-3
            // absolute bounds it with room, while a transposed weight or a lost bias moves states by order 1
            double worst = 0;
            for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
            assertTrue(worst < 2e-3, "hidden states differ by " + worst);
        }
        assertEquals(36, names.size());
        assertTrue(names.contains("encoder.layer.5.output.dense.weight"), names.toString());
        assertTrue(names.contains("encoder.layer.0.attention.self.query.weight"), names.toString());
    }
}
