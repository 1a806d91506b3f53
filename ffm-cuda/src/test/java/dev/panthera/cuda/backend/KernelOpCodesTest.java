package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.cuda.KernelSources;
import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.UnaryOp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The op codes the CUDA kernels switch on against {@code UnaryOp.code()}, {@code BinaryOp.code()} and
 * {@code ReduceOp.code()}, read from the .cu sources (no GPU needed). A kernel names each code once as
 * {@code #define <PREFIX>_<NAME> <code>}, one per line in exactly that form, and uses only those names in its op
 * switches: a missing, extra, renumbered or unused define, or a bare number where an op name belongs, is a failure.
 */
class KernelOpCodesTest {
    /** Any line that defines an op-code macro; each must also match {@link #DEFINE} exactly. */
    private static final Pattern ANY_DEFINE =
            Pattern.compile("^[ \\t]*#[ \\t]*define[ \\t]+(?:UNARY|BINARY|REDUCE)_.*$", Pattern.MULTILINE);

    private static final Pattern DEFINE =
            Pattern.compile("#define (UNARY|BINARY|REDUCE)_([A-Z][A-Z0-9_]*) (0|[1-9][0-9]*)");

    /** Op-switch functions whose case labels must be op names, not numbers. */
    private static final List<String> SWITCH_FUNCTIONS = List.of("unary_op", "binary_op", "compare_op");

    private static final Pattern NUMERIC_CASE = Pattern.compile("\\bcase\\s+\\d+\\s*:");
    private static final Pattern NUMERIC_OP_TEST = Pattern.compile("\\bop\\s*(?:==|!=|<=|>=|<|>)\\s*\\d");

    @Test
    void elementwiseKernelsUseTheUnaryAndBinaryCodes() {
        String src = KernelSources.source("elementwise");
        List<String> problems = new ArrayList<>();
        problems.addAll(check(src, "UNARY", UnaryOp.values(), UnaryOp::code));
        problems.addAll(check(src, "BINARY", BinaryOp.values(), BinaryOp::code));
        problems.addAll(numericOpCodes(src));
        assertEquals(List.of(), problems, "elementwise.cu");
    }

    @Test
    void reductionKernelUsesTheReduceCodes() {
        String src = KernelSources.source("reductions");
        List<String> problems = new ArrayList<>(check(src, "REDUCE", ReduceOp.values(), ReduceOp::code));
        problems.addAll(numericOpCodes(src));
        assertEquals(List.of(), problems, "reductions.cu");
    }

    /** The checker itself finds each kind of disagreement, so the two tests above can fail. */
    @Test
    void checkerRejectsDisagreeingSources() {
        String good = "#define REDUCE_SUM 0\n#define REDUCE_MAX 1\n#define REDUCE_MIN 2\n#define REDUCE_ARGMAX 3\n"
                + "#define REDUCE_ARGMIN 4\nint f(int op) { return op == REDUCE_SUM || op == REDUCE_MAX || "
                + "op == REDUCE_MIN || op == REDUCE_ARGMAX || op == REDUCE_ARGMIN; }\n";
        assertEquals(List.of(), check(good, "REDUCE", ReduceOp.values(), ReduceOp::code));

        String missing = good.replace("#define REDUCE_ARGMIN 4\n", "").replace(" || op == REDUCE_ARGMIN", "");
        assertProblem(check(missing, "REDUCE", ReduceOp.values(), ReduceOp::code), "no #define REDUCE_ARGMIN");
        String renumbered = good.replace("REDUCE_MAX 1", "REDUCE_MAX 2");
        assertProblem(check(renumbered, "REDUCE", ReduceOp.values(), ReduceOp::code), "REDUCE_MAX is 2");
        String extra = good + "#define REDUCE_MEAN 5\nint g(int op) { return op == REDUCE_MEAN; }\n";
        assertProblem(check(extra, "REDUCE", ReduceOp.values(), ReduceOp::code), "REDUCE_MEAN");
        String loose = good.replace("#define REDUCE_MIN 2", "#define  REDUCE_MIN (2)");
        assertProblem(check(loose, "REDUCE", ReduceOp.values(), ReduceOp::code), "not in the form");
        String unused = good.replace(" || op == REDUCE_ARGMAX", "");
        assertProblem(check(unused, "REDUCE", ReduceOp.values(), ReduceOp::code), "REDUCE_ARGMAX is never used");
        String twice = good + "#define REDUCE_SUM 0\n";
        assertProblem(check(twice, "REDUCE", ReduceOp.values(), ReduceOp::code), "twice");

        assertProblem(numericOpCodes("int f(int op) { return op >= 3; }"), "op >= 3");
        assertProblem(
                numericOpCodes("__device__ float unary_op(int op, float x) {\n    switch (op) {\n"
                        + "        case 0: return -x;\n    }\n}\n"),
                "case 0:");
    }

    private static void assertProblem(List<String> problems, String fragment) {
        assertTrue(
                problems.stream().anyMatch(p -> p.contains(fragment)),
                "expected a problem with '" + fragment + "', got " + problems);
    }

    /** Disagreements between the {@code <prefix>_<NAME>} defines in {@code src} and the enum's codes. */
    static <E extends Enum<E>> List<String> check(String src, String prefix, E[] values, ToIntFunction<E> code) {
        List<String> problems = new ArrayList<>();
        Map<String, Integer> defined = new LinkedHashMap<>();
        Matcher any = ANY_DEFINE.matcher(src);
        while (any.find()) {
            String line = any.group().strip();
            Matcher m = DEFINE.matcher(line);
            if (!m.matches()) {
                if (line.contains(" " + prefix + "_"))
                    problems.add("'" + line + "' is not in the form '#define " + prefix + "_<NAME> <code>'");
                continue;
            }
            if (!m.group(1).equals(prefix)) continue;
            if (defined.put(m.group(2), Integer.parseInt(m.group(3))) != null)
                problems.add(prefix + "_" + m.group(2) + " is defined twice");
        }
        List<String> names = Arrays.stream(values).map(Enum::name).toList();
        for (E e : values) {
            Integer c = defined.get(e.name());
            if (c == null)
                problems.add(
                        "no #define " + prefix + "_" + e.name() + " for " + e + " (code " + code.applyAsInt(e) + ")");
            else if (c != code.applyAsInt(e))
                problems.add(prefix + "_" + e.name() + " is " + c + " but "
                        + e.getDeclaringClass().getSimpleName() + "." + e + ".code() is " + code.applyAsInt(e));
        }
        String body = ANY_DEFINE.matcher(src).replaceAll("");
        for (String name : defined.keySet()) {
            if (!names.contains(name))
                problems.add(prefix + "_" + name + " names no constant of "
                        + values[0].getDeclaringClass().getSimpleName());
            else if (!Pattern.compile("\\b" + prefix + "_" + name + "\\b")
                    .matcher(body)
                    .find()) problems.add(prefix + "_" + name + " is never used");
        }
        return problems;
    }

    /** Bare numbers where an op code belongs: case labels in the op switches, and {@code op} compared with a number. */
    static List<String> numericOpCodes(String src) {
        List<String> problems = new ArrayList<>();
        for (String fn : SWITCH_FUNCTIONS) {
            Matcher start =
                    Pattern.compile("__device__\\s+\\w+\\s+" + fn + "\\s*\\(").matcher(src);
            if (!start.find()) continue;
            int end = src.indexOf("\n}", start.end());
            Matcher m = NUMERIC_CASE.matcher(src.substring(start.end(), end < 0 ? src.length() : end));
            while (m.find()) problems.add(fn + " has a numeric '" + m.group() + "'");
        }
        Matcher m = NUMERIC_OP_TEST.matcher(src);
        while (m.find()) problems.add("a numeric op test '" + m.group() + "'");
        return problems;
    }
}
