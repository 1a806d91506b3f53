#!/usr/bin/env bash
# Writes the expected tensor types of llama.cpp's Q4_K_M and Q5_K_M mixes for GgufConvertMixTest: each F32 model
# (LlamaFixtures names) quantized by the llama.cpp anchor's quantize mode (llama_model_quantize, jmh/native/llama-anchor),
# then each 2-D tensor's name, shape and type listed by GgufTensorTypes, into
# models/src/test/resources/dev/panthera/models/llama/mix/<model>-<mix>.txt.
#
#   GGML_GIT=/path/to/ggml/.git jmh/llama-mix-fixtures.sh
#     env: MODELS (default "110M 1.1B 80L"; 80L: 80 layers with grouped keys, llama.cpp's "70B" rule), ANCHOR_WORK, ANCHOR_CPU_FLAGS (passed to jmh/native/llama-anchor/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
jmh/native/llama-anchor/build.sh
anchor="${ANCHOR_WORK:-jmh/target/llama-anchor}/build/llama-anchor"
./panthera mvn -q -o -pl jmh -am package -DskipTests
jar=jmh/target/benchmarks.jar
dir=models/src/test/resources/dev/panthera/models/llama/mix
mkdir -p "$dir"
java=(./panthera java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$jar")
for m in ${MODELS:-110M 1.1B 80L}; do
    for mix in Q4_K_M Q5_K_M; do
        f=$(jmh/llama-model-file.sh "$anchor" "$jar" "$m:$mix")
        {
            echo "# llama.cpp $(cat "${ANCHOR_WORK:-jmh/target/llama-anchor}/src/VERSION"), llama_model_quantize $mix of the $m F32 model (jmh/llama-mix-fixtures.sh)"
            "${java[@]}" dev.panthera.bench.llama.GgufTensorTypes "$f" | grep -v '^WARNING'
        } > "$dir/$m-$(tr 'A-Z' 'a-z' <<< "$mix").txt"
        echo "$dir/$m-$(tr 'A-Z' 'a-z' <<< "$mix").txt"
    done
done
