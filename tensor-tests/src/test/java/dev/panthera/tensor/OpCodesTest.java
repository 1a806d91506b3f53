package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.Map;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

/** The op codes native kernels switch on: unique, non-negative, and pinned to the numbers kernels were built with. */
class OpCodesTest {
    private static <E extends Enum<E>> void assertUnique(E[] values, ToIntFunction<E> code) {
        Map<Integer, E> seen = new HashMap<>();
        for (E e : values) {
            int c = code.applyAsInt(e);
            assertTrue(c >= 0, e + " has a negative code " + c);
            E other = seen.put(c, e);
            assertNull(other, e + " and " + other + " share code " + c);
        }
    }

    @Test
    void codesAreUniqueWithinEachEnum() {
        assertUnique(UnaryOp.values(), UnaryOp::code);
        assertUnique(BinaryOp.values(), BinaryOp::code);
        assertUnique(ReduceOp.values(), ReduceOp::code);
    }

    /** Written out by hand, so that a code cannot move unnoticed. */
    @Test
    void codesArePinned() {
        String unary =
                "NEG=0 EXP=1 LOG=2 SQRT=3 RSQRT=4 ABS=5 TANH=6 SIGMOID=7 RELU=8 GELU_ERF=9 GELU_TANH=10 SILU=11 SIGN=12";
        String binary = "ADD=0 SUB=1 MUL=2 DIV=3 POW=4 MAXIMUM=5 MINIMUM=6 EQ=7 NE=8 LT=9 LE=10 GT=11 GE=12";
        String reduce = "SUM=0 MAX=1 MIN=2 ARGMAX=3 ARGMIN=4";
        for (String p : unary.split(" "))
            assertEquals(
                    Integer.parseInt(p.split("=")[1]),
                    UnaryOp.valueOf(p.split("=")[0]).code(),
                    p);
        for (String p : binary.split(" "))
            assertEquals(
                    Integer.parseInt(p.split("=")[1]),
                    BinaryOp.valueOf(p.split("=")[0]).code(),
                    p);
        for (String p : reduce.split(" "))
            assertEquals(
                    Integer.parseInt(p.split("=")[1]),
                    ReduceOp.valueOf(p.split("=")[0]).code(),
                    p);
    }
}
