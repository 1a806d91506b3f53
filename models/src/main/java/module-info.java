/** Weight formats (safetensors, GGUF, ONNX initializers, llama2.c), tokenizers and PEFT adapter files. */
module dev.panthera.models {
    requires transitive dev.panthera.tensor;
    requires transitive dev.panthera.nn; // AdapterFiles takes nn's Module and LoraConfig
    requires transitive dev.panthera.quant; // the GGUF API names GGML types
    requires com.fasterxml.jackson.core;

    exports dev.panthera.models.bert;
    exports dev.panthera.models.io;
    exports dev.panthera.models.llama;
    exports dev.panthera.models.gpt2;
    exports dev.panthera.models.lm;
    exports dev.panthera.models.cli;
    exports dev.panthera.models.peft;
    exports dev.panthera.models.qlora;
    exports dev.panthera.models.tokenizer;
}
