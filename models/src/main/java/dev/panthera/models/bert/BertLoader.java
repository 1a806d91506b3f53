package dev.panthera.models.bert;

import dev.panthera.models.io.OnnxWeights;
import dev.panthera.models.io.Weights;
import dev.panthera.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Finds a BERT checkpoint's config, weights and tokenizer on disk: a HuggingFace folder (config.json,
 * model.safetensors or shards, tokenizer.json or vocab.txt; a sentence-transformers folder's 1_Pooling and
 * Normalize modules set the default pooling), or an ONNX file (config.json and tokenizer.json beside it, or in the
 * folder above an {@code onnx/} folder, {@code <name>-tokenizer.json} beside it; without config.json the config
 * comes from the graph).
 */
final class BertLoader {
    private BertLoader() {}

    static BertModel load(Path path) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such file or folder");
        if (Files.isDirectory(path)) return folder(path);
        if (path.getFileName().toString().endsWith(".onnx")) return onnx(path);
        throw new IllegalArgumentException(
                path + ": not a BERT model (expected a folder with config.json, or a .onnx file)");
    }

    private static BertModel folder(Path dir) throws IOException {
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) throw new IllegalArgumentException(dir + ": no config.json in this folder");
        BertConfig c = BertConfig.read(cfg);
        Path index = dir.resolve("model.safetensors.index.json"), single = dir.resolve("model.safetensors");
        Weights w;
        if (Files.isRegularFile(index)) w = Weights.open(index);
        else if (Files.isRegularFile(single)) w = Weights.open(single);
        else if (Files.isRegularFile(dir.resolve("onnx/model.onnx")))
            w = OnnxWeights.open(dir.resolve("onnx/model.onnx"));
        else if (Files.isRegularFile(dir.resolve("model.onnx"))) w = OnnxWeights.open(dir.resolve("model.onnx"));
        else
            throw new IllegalArgumentException(
                    dir + ": no model.safetensors, model.safetensors.index.json or" + " model.onnx");
        try {
            Tokenizer t = tokenizer(dir, null);
            boolean cls = poolingIsCls(dir);
            boolean norm = Files.isRegularFile(dir.resolve("modules.json"))
                    && Files.readString(dir.resolve("modules.json"), StandardCharsets.UTF_8)
                            .contains("models.Normalize");
            return new BertModel(c, w, t, cls ? Pooling.CLS : Pooling.MEAN, norm, c.maxPositions());
        } catch (IOException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    private static BertModel onnx(Path file) throws IOException {
        OnnxWeights w = OnnxWeights.open(file);
        try {
            Path dir = file.toAbsolutePath().getParent();
            // HuggingFace repositories keep exports in <model>/onnx/, beside nothing but other exports
            Path up = dir.getFileName() != null && dir.getFileName().toString().equals("onnx") ? dir.getParent() : null;
            Path cfg = firstFile(dir.resolve("config.json"), up == null ? null : up.resolve("config.json"));
            BertConfig c = cfg != null ? BertConfig.read(cfg) : OnnxBertConfig.read(w);
            String stem = file.getFileName().toString().replaceFirst("\\.onnx$", "");
            Tokenizer t = tokenizer(dir, dir.resolve(stem + "-tokenizer.json"));
            if (t == null && up != null) t = tokenizer(up, null);
            return new BertModel(c, w, t, Pooling.MEAN, false, c.maxPositions());
        } catch (IOException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    private static Path firstFile(Path... candidates) {
        for (Path p : candidates) if (p != null && Files.isRegularFile(p)) return p;
        return null;
    }

    /** tokenizer.json, then {@code extra}, then vocab.txt in {@code dir}; null when there is none. */
    private static Tokenizer tokenizer(Path dir, Path extra) throws IOException {
        Path json = firstFile(dir.resolve("tokenizer.json"), extra);
        if (json != null) return Tokenizer.fromHuggingFaceJson(json);
        Path vocab = dir.resolve("vocab.txt");
        if (Files.isRegularFile(vocab)) return BertVocab.tokenizer(vocab, dir.resolve("tokenizer_config.json"));
        return null;
    }

    /** True when a sentence-transformers folder's 1_Pooling/config.json selects the CLS token. */
    private static boolean poolingIsCls(Path dir) throws IOException {
        Path p = dir.resolve("1_Pooling/config.json");
        if (!Files.isRegularFile(p)) return false;
        String s = Files.readString(p, StandardCharsets.UTF_8).replaceAll("\\s", "");
        return s.contains("\"pooling_mode_cls_token\":true") && !s.contains("\"pooling_mode_mean_tokens\":true");
    }
}
