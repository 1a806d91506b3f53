package dev.panthera.models.cli;

import dev.panthera.models.llama.QuantizedConvert;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * {@code convert MODEL OUT_FOLDER --type nf4|gptq|gwq}: the flags of {@link QuantizedConvert} read from the command
 * line; MODEL is a HuggingFace folder, a GGUF file or a llama2.c checkpoint ({@code --tokenizer FILE}: its
 * tokenizer.model or tokenizer.bin; {@code --allow-requantize}: a block-quantized GGUF is dequantized first);
 * {@code --calibration FILE} holds whitespace-separated token ids.
 */
final class QuantizedConvertCommand {
    private QuantizedConvertCommand() {}

    static int run(Main.Flags f, QuantizedConvert.Kind kind, Path target, PrintStream out) throws IOException {
        if (target.getFileName().toString().endsWith(".gguf"))
            throw new UsageException("convert --type " + name(kind) + " writes a folder, got OUT " + target);
        if (kind == QuantizedConvert.Kind.NF4) {
            for (String flag :
                    new String[] {"--calibration", "--calibration-length", "--bits", "--group-size", "--outliers"})
                if (f.values().containsKey(flag))
                    throw new UsageException(flag + " applies to --type gptq or gwq, not nf4");
        }
        if (kind != QuantizedConvert.Kind.GWQ && f.values().containsKey("--outliers"))
            throw new UsageException("--outliers applies to --type gwq only");
        int[] ids = null;
        String cal = f.values().get("--calibration");
        if (cal != null) ids = readIds(Path.of(cal));
        QuantizedConvert.Options o;
        try {
            o = new QuantizedConvert.Options(
                    kind,
                    f.integer("--bits", 4),
                    f.integer("--group-size", 128),
                    f.switches().contains("--act-order"),
                    f.number("--outliers", 0.01),
                    ids,
                    f.integer("--calibration-length", 128));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        String tok = f.values().get("--tokenizer");
        String note = QuantizedConvert.convert(
                Path.of(f.model()),
                tok == null ? null : Path.of(tok),
                f.switches().contains("--allow-requantize"),
                target,
                o);
        out.println("wrote " + target + " (" + name(kind) + ")" + (note == null ? "" : "; " + note));
        return 0;
    }

    private static String name(QuantizedConvert.Kind k) {
        return k.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Whitespace-separated token ids; anything else is refused naming the file and the word. */
    static int[] readIds(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString());
        String text = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (text.isEmpty()) throw new UsageException("--calibration " + file + ": no token ids in the file");
        String[] parts = text.split("\\s+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < ids.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new UsageException(
                        "--calibration " + file + ": '" + parts[i] + "' (word " + (i + 1) + ") is not a token id");
            }
        }
        return ids;
    }
}
