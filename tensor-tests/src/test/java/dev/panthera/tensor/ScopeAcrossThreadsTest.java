package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A scope closed on its thread while another thread is computing with its tensors: the other thread sees an
 * IllegalStateException, never a wrong value read from freed (or reused) memory and never a crash. Each round
 * reads the tensor in a loop so that the close lands at an arbitrary point of a read.
 */
class ScopeAcrossThreadsTest {

    @Test
    void closingAScopeUnderAReaderGivesTheReaderAnException() throws Exception {
        for (int round = 0; round < 20; round++) {
            MemoryScope scope = MemoryScope.open();
            Tensor t = Tensor.ones(1 << 14).mul(3);
            double want = 3.0 * (1 << 14);
            CountDownLatch reading = new CountDownLatch(1);
            AtomicReference<String> wrong = new AtomicReference<>();
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            AtomicReference<IllegalStateException> refused = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                try {
                    while (true) {
                        double s = t.sum().item();
                        reading.countDown();
                        if (s != want) {
                            wrong.set("sum " + s + " instead of " + want);
                            return;
                        }
                    }
                } catch (IllegalStateException e) {
                    refused.set(e);
                } catch (Throwable e) {
                    unexpected.set(e);
                }
            });
            reader.start();
            assertTrue(reading.await(30, TimeUnit.SECONDS), "the reader started");
            Thread.sleep(round % 5); // lands the close at varying points of the reader's loop
            scope.close();
            reader.join(TimeUnit.SECONDS.toMillis(30));
            assertTrue(!reader.isAlive(), "round " + round + ": the reader stopped after the close");
            assertNull(wrong.get(), "round " + round);
            assertNull(unexpected.get(), "round " + round);
            assertEquals(IllegalStateException.class, refused.get().getClass(), "round " + round);
        }
    }
}
