package dev.panthera.models.qlora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.quant.bnb.FourBitCode;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Our 4-bit quantizer beside bitsandbytes' own {@code quantize_4bit} ({@code src/test/python/bnb_fixtures.py
 * quantized}, bitsandbytes 0.50.2.dev0 on the CPU) for one vector of 257 whole blocks and a partial one (an all-zero
 * block, tiny values beside a large one, exact midpoints of NF4 codes), NF4 and FP4, with and without double
 * quantization:
 *
 * <ul>
 *   <li>the absmax are bitsandbytes' floats, and NF4's packed codes its bytes;
 *   <li>FP4's codes are its bytes except where a weight rounds to zero: FP4 has two codes for zero (0 and 8, the
 *       sign bit), both +0.0 in bitsandbytes' table; we set the sign bit from the weight's sign as its CUDA quantizer
 *       does, its CPU quantizer takes whichever zero its sorted table lists first. Both decode to the same float;
 *   <li>double quantization: bitsandbytes' offset is torch's float32 mean of the absmax, ours their float64 mean
 *       rounded once, so they may differ by float32 summation error, at most (n − 1)·2^-24·Σ|a|/n over n absmax
 *       values for any summation order, plus half an ulp for our rounding; around bitsandbytes' offset our 8-bit
 *       codes and nested absmax are its bytes;
 *   <li>decoding bitsandbytes' bytes (with its nested 8-bit table, which the checkpoints carry, see
 *       {@link Bnb4Bit.NestedAbsmax}) gives its {@code dequantize_4bit} floats bit for bit.
 * </ul>
 */
class BnbQuantizeBytesTest {
    static final Path FIXTURE = Path.of("src/test/resources/qlora/bnb-quantize_4bit.safetensors");

    static byte[] bytes(SafetensorsFile f, String name) {
        return f.bytes(name).toArray(ValueLayout.JAVA_BYTE);
    }

    static float[] floats(SafetensorsFile f, String name) {
        return f.bytes(name).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
    }

    @ParameterizedTest
    @CsvSource({"nf4,false", "nf4,true", "fp4,false", "fp4,true"})
    void ourQuantizerWritesBitsandbytesBytes(String type, boolean doubleQuant) throws IOException {
        FourBitCode code = type.equals("nf4") ? FourBitCode.NF4 : FourBitCode.FP4;
        String key = type + (doubleQuant ? ".dq" : "");
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURE)) {
            float[] x = floats(f, "x");
            Bnb4Bit plain = Bnb4Bit.quantize(x, code, 64, false);
            byte[] theirs = bytes(f, key + ".packed"), ours = plain.packed();
            assertEquals(theirs.length, ours.length, key + " packed length");
            int zeroSigns = 0;
            for (int i = 0; i < 2 * ours.length; i++) {
                int a = (theirs[i >> 1] >> ((i & 1) == 0 ? 4 : 0)) & 15,
                        b = (ours[i >> 1] >> ((i & 1) == 0 ? 4 : 0)) & 15;
                if (a == b) continue;
                assertTrue(
                        code == FourBitCode.FP4 && (a & 7) == 0 && (b & 7) == 0,
                        key + " code of weight " + i + ": bitsandbytes " + a + ", ours " + b);
                zeroSigns++;
            }
            if (code == FourBitCode.NF4) assertEquals(0, zeroSigns);
            if (!doubleQuant) {
                assertArrayEquals(floats(f, key + ".absmax"), plain.absmax(), key + " absmax");
            } else {
                float[] absmax = plain.absmax();
                float theirOffset = floats(f, key + ".offset")[0];
                float ourOffset = Bnb4Bit.quantize(x, code, 64, true).nested().offset();
                double mean = 0;
                for (float a : absmax) mean += Math.abs(a) / absmax.length;
                double bound = (absmax.length - 1) * 0x1p-24 * mean + Math.ulp(ourOffset) / 2;
                assertTrue(
                        Math.abs(theirOffset - ourOffset) <= bound,
                        key + " offset: bitsandbytes " + theirOffset + ", ours " + ourOffset + ", bound " + bound);
                Bnb4Bit.NestedAbsmax nested = Bnb4Bit.nest(absmax, theirOffset);
                assertArrayEquals(bytes(f, key + ".absmax"), nested.q(), key + " 8-bit absmax codes");
                assertArrayEquals(floats(f, key + ".nested_absmax"), nested.absmax2(), key + " nested absmax");
            }
            if (f.contains(key + ".dequantized")) {
                Bnb4Bit decoded = doubleQuant
                        ? new Bnb4Bit(
                                code,
                                64,
                                x.length,
                                theirs,
                                null,
                                new Bnb4Bit.NestedAbsmax(
                                        bytes(f, key + ".absmax"),
                                        floats(f, key + ".nested_absmax"),
                                        floats(f, key + ".offset")[0],
                                        floats(f, key + ".nested_quant_map")))
                        : new Bnb4Bit(code, 64, x.length, theirs, floats(f, key + ".absmax"), null);
                assertArrayEquals(floats(f, key + ".dequantized"), decoded.dequantize(), key + " dequantize_4bit");
            }
        }
    }
}
