package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The depth block by kernel width and CPU vendor, its override, and the vendor read from a cpuinfo file. */
class GemmDepthTest {
    @Test
    void depthByWidthAndVendor() {
        assertEquals(1024, GemmDepth.choose(16, "AuthenticAMD", null));
        assertEquals(256, GemmDepth.choose(16, "GenuineIntel", null));
        assertEquals(256, GemmDepth.choose(16, null, null));
        assertEquals(256, GemmDepth.choose(8, "AuthenticAMD", null));
        assertEquals(256, GemmDepth.choose(8, "GenuineIntel", " "));
    }

    @Test
    void overrideWinsAndIsChecked() {
        assertEquals(384, GemmDepth.choose(16, "AuthenticAMD", " 384 "));
        assertEquals(16, GemmDepth.choose(8, null, "16"));
        for (String bad : new String[] {"15", "4097", "-1", "big", "1e3"}) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> GemmDepth.choose(16, null, bad));
            assertTrue(
                    e.getMessage().contains(GemmDepth.PROPERTY)
                            && e.getMessage().contains(bad),
                    e.getMessage());
        }
    }

    @Test
    void vendorFromCpuinfo(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("cpuinfo");
        Files.writeString(
                f,
                "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n\nprocessor\t: 1\n"
                        + "vendor_id\t: GenuineIntel\n");
        assertEquals("GenuineIntel", GemmDepth.vendor(f));
        Files.writeString(f, "processor\t: 0\nVendor_ID : AuthenticAMD\n");
        assertEquals("AuthenticAMD", GemmDepth.vendor(f));
        Files.writeString(f, "processor\t: 0\n");
        assertNull(GemmDepth.vendor(f));
        assertNull(GemmDepth.vendor(dir.resolve("absent")));
    }

    @Test
    void packedGemmUsesThisMachinesChoice() {
        assertEquals(GemmDepth.forThisMachine(PackedGemm.NR / 2), PackedGemm.KC);
    }
}
