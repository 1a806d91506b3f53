package dev.panthera.bench.llama;

import dev.panthera.models.io.GgufFile;
import dev.panthera.models.io.GgufValue;
import java.nio.file.Path;

/**
 * Prints a GGUF's architecture line and each 2-D tensor's name, shape and type, in file order: the expected types of
 * {@code GgufConvert.mixTypes} tests, taken from files llama.cpp's quantizer wrote ({@code jmh/llama-mix-fixtures.sh}).
 *
 * <p>Usage: {@code GgufTensorTypes FILE.gguf}; prints {@code arch A layers L heads H kv_heads K}, then {@code name rows
 * row_length type} lines.
 */
public final class GgufTensorTypes {
    private GgufTensorTypes() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) throw new IllegalArgumentException("usage: GgufTensorTypes FILE.gguf");
        try (GgufFile g = GgufFile.open(Path.of(args[0]))) {
            String arch = g.metadata().get("general.architecture").asString();
            long heads = g.metadata().get(arch + ".attention.head_count").asLong();
            GgufValue kv = g.metadata().get(arch + ".attention.head_count_kv");
            System.out.println("arch " + arch + " layers "
                    + g.metadata().get(arch + ".block_count").asLong() + " heads " + heads + " kv_heads "
                    + (kv == null ? heads : kv.asLong()));
            for (GgufFile.TensorInfo t : g.tensorInfos()) {
                long[] s = t.shape();
                if (s.length == 2) System.out.println(t.name() + " " + s[0] + " " + s[1] + " " + t.type());
            }
        }
    }
}
