package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Moving tensors between devices; with no CUDA provider present the request fails clearly. */
class DeviceTransferTest {
    @Test
    void toTheSameDeviceIsANoOp() {
        Tensor x = Tensor.ones(3);
        assertSame(x, x.to(Device.CPU));
    }

    @Test
    void aDeviceWithoutABackendIsAClearError() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> Tensor.ones(3).to(Device.cuda(0)));
        assertTrue(e.getMessage().contains("cuda:0"), e.getMessage());
    }
}
