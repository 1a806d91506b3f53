/** Model definitions, weight formats and tokenizers. */
module dev.panthera.models {
    requires transitive dev.panthera.tensor;
    requires dev.panthera.nn;
    requires dev.panthera.quant;
    requires org.slf4j;
    requires com.fasterxml.jackson.core;

    exports dev.panthera.models;
    exports dev.panthera.models.tokenizer;
    exports dev.panthera.models.io;
    exports dev.panthera.models.peft;
}
