package dev.panthera.models.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint split over several safetensors files and described by {@code model.safetensors.index.json}
 * ({@code {"metadata": {...}, "weight_map": {tensor: file}}}). Every shard named is opened (mapped or read) once; every
 * tensor in the weight map must be in the shard it names, and shard names must be plain file names in the index's
 * folder (no path separators, no ".."). A shard that is missing or cannot be opened is a {@link ModelFormatException}
 * naming the weight_map entry.
 */
public final class ShardedSafetensors implements Weights {
    private final Map<String, SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> byTensor;
    private final Map<String, String> metadata;
    private final List<String> names;

    private ShardedSafetensors(
            Map<String, SafetensorsFile> shards, Map<String, SafetensorsFile> byTensor, Map<String, String> metadata) {
        this.shards = shards;
        this.byTensor = byTensor;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.names = List.copyOf(byTensor.keySet());
    }

    /** Opens the index at {@code index} and maps every shard it names ({@link LoadMode#MAP}). */
    public static ShardedSafetensors open(Path index) throws IOException {
        return open(index, LoadMode.MAP);
    }

    /** Opens the index at {@code index} and maps or reads every shard it names, as {@code mode} says. */
    public static ShardedSafetensors open(Path index, LoadMode mode) throws IOException {
        byte[] json = Files.readAllBytes(index);
        if (json.length > SafetensorsFile.MAX_HEADER_BYTES) {
            throw new ModelFormatException(
                    "safetensors-index", "file", json.length + " bytes is too large for an index");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, String> weightMap = new LinkedHashMap<>();
        try (JsonParser p = SafetensorsFile.JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT)
                throw new ModelFormatException("safetensors-index", "root", "not a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                JsonToken t = p.nextToken();
                if ((key.equals("metadata") || key.equals("weight_map")) && t == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String k = p.currentName();
                        JsonToken v = p.nextToken();
                        if (key.equals("weight_map")) {
                            if (v != JsonToken.VALUE_STRING)
                                throw new ModelFormatException(
                                        "safetensors-index", "weight_map." + k, "expects a file name");
                            weightMap.put(k, p.getText());
                        } else if (v.isScalarValue()) {
                            metadata.put(k, p.getText());
                        } else {
                            p.skipChildren();
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
        } catch (ModelFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new ModelFormatException("safetensors-index", "json", e.getMessage(), e);
        }
        if (weightMap.isEmpty()) throw new ModelFormatException("safetensors-index", "weight_map", "missing or empty");
        Path dir = index.toAbsolutePath().getParent();
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        try {
            for (var e : weightMap.entrySet()) {
                String file = e.getValue();
                if (file.isEmpty()
                        || file.contains("/")
                        || file.contains("\\")
                        || file.equals("..")
                        || file.equals(".")) {
                    throw new ModelFormatException(
                            "safetensors-index",
                            "weight_map." + e.getKey(),
                            "shard '" + file + "' is not a plain file name");
                }
                SafetensorsFile shard = shards.get(file);
                if (shard == null) {
                    Path shardPath;
                    try {
                        shardPath = dir.resolve(file);
                    } catch (InvalidPathException bad) { // a NUL or a character the file system cannot name
                        throw new ModelFormatException(
                                "safetensors-index",
                                "weight_map." + e.getKey(),
                                "shard '" + file + "' is not a valid file name: " + bad.getReason());
                    }
                    try {
                        shard = SafetensorsFile.open(shardPath, mode);
                    } catch (FileSystemException missing) { // no such file, a name too long, a directory, ...
                        throw new ModelFormatException(
                                "safetensors-index",
                                "weight_map." + e.getKey(),
                                "shard '" + file + "' cannot be opened: " + missing.getMessage(),
                                missing);
                    }
                    shards.put(file, shard);
                }
                if (!shard.contains(e.getKey())) {
                    throw new ModelFormatException(
                            "safetensors-index", "weight_map." + e.getKey(), "not present in shard " + file);
                }
                byTensor.put(e.getKey(), shard);
            }
        } catch (IOException | RuntimeException ex) {
            shards.values().forEach(SafetensorsFile::close);
            throw ex;
        }
        return new ShardedSafetensors(shards, byTensor, metadata);
    }

    /** The index's {@code metadata} scalars as text (e.g. {@code total_size}). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Shard file names in first-use order. */
    public List<String> shardNames() {
        return new ArrayList<>(shards.keySet());
    }

    private SafetensorsFile shard(String name) {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) throw Weights.missing("safetensors-index", name, names);
        return f;
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    @Override
    public long[] shape(String name) {
        return shard(name).shape(name);
    }

    @Override
    public Tensor tensor(String name) {
        return shard(name).tensor(name);
    }

    @Override
    public void close() {
        shards.values().forEach(SafetensorsFile::close);
    }
}
