package dev.panthera.models.qlora;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import dev.panthera.models.io.ModelFormatException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The non-tensor part of bitsandbytes' {@code QuantState.as_dict(packed=True)}, stored in a checkpoint as the UTF-8
 * bytes of a JSON object in a uint8 tensor {@code <name>.weight.quant_state.bitsandbytes__<quant_type>}:
 * {@code quant_type}, {@code blocksize}, {@code dtype} (the weight's dtype before quantization), {@code shape} and,
 * when the absmax are double quantized, {@code nested_blocksize}, {@code nested_dtype} and {@code nested_offset}.
 *
 * @param quantType "nf4" or "fp4"
 * @param nestedBlocksize 0 when not nested
 * @param nestedDtype null when not nested
 * @param nestedOffset the mean subtracted from the absmax before nesting (float32); 0 when not nested
 */
public record QuantStateJson(
        String quantType,
        int blocksize,
        String dtype,
        long[] shape,
        int nestedBlocksize,
        String nestedDtype,
        float nestedOffset) {

    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(4)
                    .maxStringLength(256)
                    .maxNumberLength(64)
                    .maxDocumentLength(1 << 16)
                    .build())
            .build();

    /** Whether the absmax are double quantized. */
    public boolean nested() {
        return nestedDtype != null;
    }

    /** Parses the blob of tensor {@code tensorName}; unknown keys are refused, as bitsandbytes' from_dict does. */
    public static QuantStateJson parse(byte[] utf8, String tensorName) throws ModelFormatException {
        String type = null, dtype = null, nestedDtype = null;
        Integer block = null, nestedBlock = null;
        Double offset = null;
        List<Long> shape = null;
        try (JsonParser p = JSON.createParser(utf8)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw bad(tensorName, "not a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String k = p.currentName();
                JsonToken t = p.nextToken();
                switch (k) {
                    case "quant_type" -> type = string(p, t, k, tensorName);
                    case "dtype" -> dtype = string(p, t, k, tensorName);
                    case "nested_dtype" -> nestedDtype = string(p, t, k, tensorName);
                    case "blocksize" -> block = integer(p, t, k, tensorName);
                    case "nested_blocksize" -> nestedBlock = integer(p, t, k, tensorName);
                    case "nested_offset" -> {
                        if (t != JsonToken.VALUE_NUMBER_FLOAT && t != JsonToken.VALUE_NUMBER_INT)
                            throw bad(tensorName, "nested_offset must be a number");
                        offset = p.getDoubleValue();
                    }
                    case "shape" -> {
                        if (t != JsonToken.START_ARRAY) throw bad(tensorName, "shape must be a list");
                        shape = new ArrayList<>();
                        while (p.nextToken() == JsonToken.VALUE_NUMBER_INT) shape.add(p.getLongValue());
                        if (p.currentToken() != JsonToken.END_ARRAY)
                            throw bad(tensorName, "shape must be a list of integers");
                    }
                    default -> throw bad(tensorName, "unexpected key '" + k + "'");
                }
            }
        } catch (IOException e) {
            if (e instanceof ModelFormatException m) throw m;
            throw bad(tensorName, "malformed JSON: " + e.getMessage());
        }
        if (type == null || block == null || dtype == null || shape == null)
            throw bad(tensorName, "quant_type, blocksize, dtype and shape are required");
        boolean anyNested = nestedDtype != null || nestedBlock != null || offset != null;
        if (anyNested && (nestedDtype == null || nestedBlock == null || offset == null))
            throw bad(tensorName, "nested_blocksize, nested_dtype and nested_offset come together");
        if (offset != null && !Double.isFinite(offset)) throw bad(tensorName, "nested_offset is " + offset);
        return new QuantStateJson(
                type,
                block,
                dtype,
                shape.stream().mapToLong(Long::longValue).toArray(),
                nestedBlock == null ? 0 : nestedBlock,
                nestedDtype,
                offset == null ? 0f : (float) (double) offset);
    }

    /**
     * The JSON bytes as Python's {@code json.dumps} writes bitsandbytes' dict: keys in its order, ", " and ": "
     * separators, the offset as Python's repr of the float's value.
     */
    public byte[] toJson() {
        for (String v : new String[] {quantType, dtype, nestedDtype})
            if (v != null && !v.matches("[A-Za-z0-9_]+"))
                throw new IllegalArgumentException("QuantStateJson: '" + v + "' is not a dtype or quant type name");
        StringBuilder sb = new StringBuilder();
        sb.append("{\"quant_type\": \"")
                .append(quantType)
                .append("\", \"blocksize\": ")
                .append(blocksize);
        sb.append(", \"dtype\": \"").append(dtype).append("\", \"shape\": [");
        for (int i = 0; i < shape.length; i++) sb.append(i == 0 ? "" : ", ").append(shape[i]);
        sb.append("]");
        if (nested()) {
            sb.append(", \"nested_blocksize\": ").append(nestedBlocksize);
            sb.append(", \"nested_dtype\": \"").append(nestedDtype).append("\"");
            sb.append(", \"nested_offset\": ").append(pythonRepr(nestedOffset));
        }
        return sb.append("}").toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * Python's repr of a float (the shortest digits that round-trip, as {@link Double#toString} also finds them),
     * positional for decimal exponents -4..15 and otherwise {@code d.ddde±XX}.
     */
    static String pythonRepr(double v) {
        if (!Double.isFinite(v)) throw new IllegalArgumentException("nested_offset is " + v);
        if (v == 0) return (1 / v < 0) ? "-0.0" : "0.0";
        java.math.BigDecimal bd = new java.math.BigDecimal(Double.toString(v)).stripTrailingZeros();
        int exp = bd.precision() - bd.scale() - 1;
        if (exp >= -4 && exp < 16) {
            String plain = bd.toPlainString();
            return plain.contains(".") ? plain : plain + ".0";
        }
        String digits = bd.unscaledValue().abs().toString();
        String mant = digits.charAt(0) + (digits.length() > 1 ? "." + digits.substring(1) : "");
        return (v < 0 ? "-" : "") + mant + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "")
                + Math.abs(exp);
    }

    private static String string(JsonParser p, JsonToken t, String k, String name) throws IOException {
        if (t != JsonToken.VALUE_STRING) throw bad(name, k + " must be a string");
        return p.getText();
    }

    private static int integer(JsonParser p, JsonToken t, String k, String name) throws IOException {
        if (t != JsonToken.VALUE_NUMBER_INT) throw bad(name, k + " must be an integer");
        long v = p.getLongValue();
        if (v <= 0 || v > Integer.MAX_VALUE) throw bad(name, k + " must be positive, got " + v);
        return (int) v;
    }

    private static ModelFormatException bad(String name, String why) {
        return new ModelFormatException("bitsandbytes 4-bit", name, why);
    }
}
