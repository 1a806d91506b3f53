/** int8 / int4 / NF4 formats and quantizers. */
module dev.panthera.quant {
    requires transitive dev.panthera.tensor;
    requires org.slf4j;

    exports dev.panthera.quant;
}
