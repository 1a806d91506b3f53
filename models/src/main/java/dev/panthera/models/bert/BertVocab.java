package dev.panthera.models.bert;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.panthera.models.tokenizer.Tokenizer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A WordPiece tokenizer from a BERT folder's vocab.txt (one token a line, the line number is its id), set up as
 * transformers' BertTokenizer is by default: BertNormalizer (clean text, Chinese characters split, lowercase and
 * accent stripping unless tokenizer_config.json says {@code "do_lower_case": false}), the BERT pre-tokenizer,
 * WordPiece with {@code ##} continuations and {@code [UNK]}, and [CLS] … [SEP] around each input. It is expressed
 * as the equivalent tokenizer.json and read by {@link Tokenizer#fromHuggingFaceJson}.
 */
final class BertVocab {
    private BertVocab() {}

    static Tokenizer tokenizer(Path vocabTxt, Path tokenizerConfig) throws IOException {
        List<String> tokens = Files.readAllLines(vocabTxt, StandardCharsets.UTF_8);
        boolean lower = true;
        if (Files.isRegularFile(tokenizerConfig)) {
            String s = Files.readString(tokenizerConfig, StandardCharsets.UTF_8).replaceAll("\\s", "");
            lower = !s.contains("\"do_lower_case\":false");
        }
        java.util.Map<String, Integer> ids = new java.util.LinkedHashMap<>();
        for (int i = 0; i < tokens.size(); i++) ids.putIfAbsent(tokens.get(i), i);
        for (String special : new String[] {"[UNK]", "[CLS]", "[SEP]", "[PAD]"}) {
            if (!ids.containsKey(special))
                throw new IllegalArgumentException(vocabTxt + ": no " + special + " token in the vocabulary");
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JsonGenerator g = new JsonFactory().createGenerator(bytes)) {
            g.writeStartObject();
            g.writeArrayFieldStart("added_tokens");
            for (String special : new String[] {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
                Integer id = ids.get(special);
                if (id == null) continue;
                g.writeStartObject();
                g.writeNumberField("id", id);
                g.writeStringField("content", special);
                g.writeBooleanField("special", true);
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeObjectFieldStart("padding");
            g.writeNumberField("pad_id", ids.get("[PAD]"));
            g.writeEndObject();
            g.writeObjectFieldStart("normalizer");
            g.writeStringField("type", "BertNormalizer");
            g.writeBooleanField("clean_text", true);
            g.writeBooleanField("handle_chinese_chars", true);
            g.writeBooleanField("lowercase", lower);
            g.writeEndObject();
            g.writeObjectFieldStart("pre_tokenizer");
            g.writeStringField("type", "BertPreTokenizer");
            g.writeEndObject();
            g.writeObjectFieldStart("post_processor");
            g.writeStringField("type", "BertProcessing");
            pair(g, "sep", "[SEP]", ids.get("[SEP]"));
            pair(g, "cls", "[CLS]", ids.get("[CLS]"));
            g.writeEndObject();
            g.writeObjectFieldStart("decoder");
            g.writeStringField("type", "WordPiece");
            g.writeStringField("prefix", "##");
            g.writeEndObject();
            g.writeObjectFieldStart("model");
            g.writeStringField("type", "WordPiece");
            g.writeStringField("unk_token", "[UNK]");
            g.writeStringField("continuing_subword_prefix", "##");
            g.writeNumberField("max_input_chars_per_word", 100);
            g.writeObjectFieldStart("vocab");
            for (var e : ids.entrySet()) g.writeNumberField(e.getKey(), e.getValue());
            g.writeEndObject();
            g.writeEndObject();
            g.writeEndObject();
        }
        return Tokenizer.fromHuggingFaceJson(new ByteArrayInputStream(bytes.toByteArray()));
    }

    private static void pair(JsonGenerator g, String field, String token, int id) throws IOException {
        g.writeArrayFieldStart(field);
        g.writeString(token);
        g.writeNumber(id);
        g.writeEndArray();
    }
}
