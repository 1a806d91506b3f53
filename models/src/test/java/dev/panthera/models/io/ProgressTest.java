package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressTest {
    @Test
    void silentWithoutATerminal() {
        // surefire runs without a console: the public factory must give a bar that prints nothing
        assertFalse(Progress.onTerminal());
        PrintStream saved = System.err;
        var buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try (Progress p = Progress.start("load", 10, "tensors")) {
            for (int i = 0; i < 10; i++) p.advance(1);
            assertEquals(10, p.done());
        } finally {
            System.setErr(saved);
        }
        assertEquals("", buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void drawsInPlaceAndEndsTheLine() {
        var buf = new ByteArrayOutputStream();
        try (Progress p = new Progress("train", 4, "steps", new PrintStream(buf, true, StandardCharsets.UTF_8))) {
            p.advance(1);
            p.status("loss 2.50");
            p.advance(3);
            p.advance(5); // clamped to the total
        }
        String s = buf.toString(StandardCharsets.UTF_8);
        assertTrue(s.startsWith("\rtrain [#######"), s);
        assertTrue(s.endsWith("\n"), s);
        String last = s.substring(s.lastIndexOf('\r') + 1).strip();
        assertTrue(last.startsWith("train [" + "#".repeat(30) + "] 100% 4/4 steps"), last);
        assertTrue(last.endsWith("loss 2.50"), last);
        assertThrows(IllegalArgumentException.class, () -> new Progress("x", -1, "u", null));
    }
}
