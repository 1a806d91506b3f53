/** Modules, layers, LoRA and adapters, losses and optimizers. */
module dev.panthera.nn {
    requires transitive dev.panthera.tensor;
    requires org.slf4j;
    requires com.fasterxml.jackson.core;
    exports dev.panthera.nn;
}
