package dev.panthera.models.demo;

import dev.panthera.models.bert.BertModel;
import java.util.List;
import java.util.Locale;

/**
 * The demo's semantic search: all-MiniLM-L6-v2 (loaded from the ONNX weights inside its Maven jar) embeds a few dozen
 * sentences; each query's nearest sentences by cosine similarity (dot products of L2-normalised embeddings).
 */
final class Search {
    private Search() {}

    static final List<String> DOCUMENTS = List.of(
            "The heron stood still in the reeds, waiting for a fish.",
            "A fox sleeps in its den under the roots of an old oak.",
            "Boats carry grain down the river to the harbour town.",
            "The storm tore the sail, but the mast held through the night.",
            "Sailors fill their barrels with fresh water on the island.",
            "A whale surfaced to the east of the ship at noon.",
            "The captain checked the compass and changed course to the south.",
            "Fresh bread and warm soup were served in the galley.",
            "The baker starts the ovens at four in the morning.",
            "Sourdough needs a starter that is fed flour and water every day.",
            "The children built a snowman in the village square.",
            "Ice on the pond was thick enough for skating by January.",
            "Matrix multiplication dominates the cost of a transformer layer.",
            "Quantizing weights to four bits cuts memory use by a factor of eight.",
            "A KV cache keeps the keys and values of earlier tokens for fast decoding.",
            "Gradient descent moves the weights against the gradient of the loss.",
            "LoRA trains two small matrices beside each frozen weight matrix.",
            "The tokenizer splits text into pieces from a fixed vocabulary.",
            "The library's kernels use the Java Vector API for SIMD arithmetic.",
            "A garbage collector frees memory that no reference can reach.",
            "The museum opens an exhibition of medieval maps next week.",
            "Old maps show sea monsters near the edges of the known world.",
            "The train to the mountains leaves from platform nine.",
            "Hikers follow the ridge trail to the summit before noon.",
            "Tomatoes ripen faster in a warm, sunny greenhouse.",
            "Bees visit the lavender in the garden all summer long.",
            "The orchestra tuned their instruments before the concert.",
            "A violin's sound depends on the wood and the varnish.",
            "The marathon runner drank water at every station.",
            "The referee blew the whistle and the match began.",
            "Interest rates rose, and mortgage payments went up.",
            "The bank approved the loan for the new bakery.");

    static final List<String> QUERIES = List.of(
            "How do ships get drinking water on a long voyage?",
            "ways to make a neural network smaller",
            "bread making",
            "music performance");

    static void run() throws Exception {
        System.out.println("\n1. Semantic search with all-MiniLM-L6-v2 (ONNX weights read from its Maven jar)");
        try (BertModel m = BertModel.load("all-minilm-l6-v2")) {
            long t = System.nanoTime();
            float[][] docs = m.embed(DOCUMENTS);
            double secs = (System.nanoTime() - t) / 1e9;
            System.out.printf(
                    Locale.ROOT,
                    "   %d sentences embedded (%d dimensions) in %.2f s, %.0f sentences/s%n",
                    docs.length,
                    docs[0].length,
                    secs,
                    docs.length / secs);
            float[][] queries = m.embed(QUERIES);
            for (int q = 0; q < queries.length; q++) {
                int best = -1, second = -1;
                double bs = -2, ss = -2;
                for (int d = 0; d < docs.length; d++) {
                    double s = 0;
                    for (int k = 0; k < docs[d].length; k++) s += queries[q][k] * docs[d][k];
                    if (s > bs) {
                        second = best;
                        ss = bs;
                        best = d;
                        bs = s;
                    } else if (s > ss) {
                        second = d;
                        ss = s;
                    }
                }
                System.out.printf(
                        Locale.ROOT,
                        "   \"%s\"%n     %.3f  %s%n     %.3f  %s%n",
                        QUERIES.get(q),
                        bs,
                        DOCUMENTS.get(best),
                        ss,
                        DOCUMENTS.get(second));
            }
        }
    }
}
