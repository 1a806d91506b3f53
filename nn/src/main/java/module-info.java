/** Modules, layers, LoRA and adapters, losses and optimizers. */
module dev.panthera.nn {
    requires transitive dev.panthera.tensor;

    exports dev.panthera.nn;
    exports dev.panthera.nn.distill;
    exports dev.panthera.nn.layers;
    exports dev.panthera.nn.loss;
    exports dev.panthera.nn.lora;
    exports dev.panthera.nn.optim;
}
