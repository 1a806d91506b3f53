package dev.panthera.models.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.QuantizedCheckpoint;
import dev.panthera.models.llama.SamplingParams;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code convert HF_FOLDER OUT --type nf4|gptq|gwq} from the command line: the folders load, bad flags are named. */
class ConvertQuantizedCommandTest {
    @TempDir
    Path tmp;

    @Test
    void writesFoldersThatLoad() throws Exception {
        Path ids = Files.writeString(tmp.resolve("cal.txt"), "1 5 9 33 70 2 14 40 41 42 43 7 8 9 10 11\n12 13 14 15");
        for (String type : new String[] {"nf4", "gptq", "gwq"}) {
            Path out = tmp.resolve(type);
            var r = type.equals("nf4")
                    ? MainTest.run("convert", MainTest.GQA.toString(), out.toString(), "--type", type)
                    : MainTest.run(
                            "convert",
                            MainTest.GQA.toString(),
                            out.toString(),
                            "--type",
                            type,
                            "--calibration",
                            ids.toString(),
                            "--calibration-length",
                            "10",
                            "--group-size",
                            "32",
                            "--act-order");
            assertEquals(0, r.rc(), r.err());
            assertTrue(r.out().contains("wrote " + out), r.out());
            // the other commands open the folder too, its layers kept quantized: generate's greedy ids are the
            // loaded quantized model's
            var g = MainTest.run("generate", out.toString(), "--ids", "--max-new-tokens", "4");
            assertEquals(0, g.rc(), g.err());
            try (LlamaModel m = QuantizedCheckpoint.load(out)) {
                assertEquals(96, m.config().vocab());
                int[] want = new Generator(m)
                        .generate(new int[0], SamplingParams.greedy(4), null)
                        .tokens();
                StringBuilder sb = new StringBuilder();
                for (int id : want) sb.append(sb.isEmpty() ? "" : " ").append(id);
                assertEquals(sb.toString(), g.out().trim(), type);
            }
        }
    }

    /** From stories260K's llama2.c file: the NF4 folder is written, and generate and perplexity run on it. */
    @Test
    void writesAFolderFromALlama2cCheckpoint() throws Exception {
        Path bin = dev.panthera.models.tokenizer.TestFiles.sharedData("stories260K.bin");
        dev.panthera.models.tokenizer.TestFiles.require(bin);
        Path out = tmp.resolve("stories-nf4");
        var r = MainTest.run("convert", bin.toString(), out.toString(), "--type", "nf4");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("wrote " + out) && r.out().contains("no tokenizer written"), r.out());
        var g = MainTest.run("generate", out.toString(), "--ids", "--max-new-tokens", "6");
        assertEquals(0, g.rc(), g.err());
        assertEquals(6, g.out().trim().split("\\s+").length, g.out());
        // the greedy continuation of BOS: every token was the argmax of 512, so its probability is at least 1/512
        // and the perplexity of the stream is at most 512
        Path ids = Files.writeString(tmp.resolve("ids.txt"), "1 " + g.out().trim());
        var p = MainTest.run("perplexity", out.toString(), "--ids", ids.toString());
        assertEquals(0, p.rc(), p.err());
        double ppl = Double.parseDouble(p.out().trim());
        assertTrue(ppl >= 1 && ppl <= 512, p.out());
        r = MainTest.run(
                "convert",
                bin.toString(),
                tmp.resolve("x").toString(),
                "--type",
                "nf4",
                "--tokenizer",
                tmp.resolve("absent.model").toString());
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("absent.model"), r.err());
    }

    @Test
    void badFlagsAreNamed() throws Exception {
        String gqa = MainTest.GQA.toString();
        Path bad = Files.writeString(tmp.resolve("bad.txt"), "1 2 x3 4");
        var r = MainTest.run(
                "convert", gqa, tmp.resolve("a").toString(), "--type", "gptq", "--calibration", bad.toString());
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("'x3' (word 3) is not a token id"), r.err());
        r = MainTest.run("convert", gqa, tmp.resolve("b").toString(), "--type", "gptq", "--bits", "four");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--bits must be an integer"), r.err());
        r = MainTest.run("convert", gqa, tmp.resolve("c").toString(), "--type", "nf4", "--group-size", "64");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--group-size applies to --type gptq or gwq"), r.err());
        r = MainTest.run("convert", gqa, tmp.resolve("d").toString(), "--type", "gptq", "--outliers", "0.1");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--outliers applies to --type gwq"), r.err());
        r = MainTest.run("convert", gqa, tmp.resolve("e.gguf").toString(), "--type", "Q8_0", "--allow-requantize");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--allow-requantize applies to --type nf4, gptq or gwq"), r.err());
        r = MainTest.run("convert", gqa, tmp.resolve("e.gguf").toString(), "--type", "Q8_0", "--bits", "4");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--bits applies to --type nf4, gptq or gwq"), r.err());
        r = MainTest.run("convert", gqa, tmp.resolve("f.gguf").toString(), "--type", "gwq");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("writes a folder"), r.err());
        r = MainTest.run("convert", gqa, tmp.resolve("g").toString(), "--type", "gptq", "--calibration-length", "1");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("2 or more tokens"), r.err());
        r = MainTest.run("convert", gqa, tmp.resolve("h").toString(), "--type", "gptq", "--bits", "5");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("bits must be 2, 3, 4 or 8"), r.err());
    }
}
