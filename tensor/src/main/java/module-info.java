/** Tensors on off-heap memory, ops declared once, autograd, the backend SPI and the scalar reference backend. */
module dev.panthera.tensor {
    requires org.slf4j;

    exports dev.panthera.tensor;
    exports dev.panthera.tensor.spi;

    uses dev.panthera.tensor.spi.BackendProvider;
}
