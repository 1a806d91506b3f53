#!/usr/bin/env bash
# Builds a portable GPU test bundle for machines with an NVIDIA GPU but neither Maven nor a JDK:
#   a jlink'd JDK 25 runtime, the ffm-cuda and tensor jars, the ffm-cuda test classes, SLF4J and the JUnit console
#   launcher, plus run-gpu-tests.sh (the `gpu`-tagged tests) and run-bench.sh (GEMM/copy benchmark, with PyTorch's
#   cuBLAS beside it when torch is importable).
# Usage:  ffm-cuda/gpu-bundle.sh [output-dir]     (default ffm-cuda/target/gpu-bundle; also writes <dir>.tar.gz)
# On the GPU machine: tar xzf panthera-gpu-bundle.tar.gz && ./gpu-bundle/run-gpu-tests.sh && ./gpu-bundle/run-bench.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
out="${1:-$here/target/gpu-bundle}"
junit_version=1.14.1   # JUnit Platform matching JUnit Jupiter 5.14.1 in the parent pom

cd "$root"
# one reactor run with -am: the tensor jar on the classpath is built from this checkout (each module writes the
# classpath file in turn; ffm-cuda, built last, leaves its own)
./panthera mvn -q -o -pl ffm-cuda -am package dependency:build-classpath -DskipTests -Dmdep.includeScope=test \
  -Dmdep.outputFile="$here/target/test-classpath.txt"
standalone="$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone/$junit_version/junit-platform-console-standalone-$junit_version.jar"
if [ ! -f "$standalone" ]; then
  ./panthera mvn -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:$junit_version
fi

# a JDK 25 jlink: JAVA_HOME if it is 25+, else the first /usr/lib/jvm/*25* (as the panthera launcher looks)
jdk=""
for cand in ${JAVA_HOME:-} /usr/lib/jvm/*25*; do
  if [ -x "$cand/bin/jlink" ] && "$cand/bin/java" -version 2>&1 | grep -q 'version "2[5-9]'; then jdk="$cand"; break; fi
done
[ -n "$jdk" ] || { echo "gpu-bundle: no JDK 25 jlink found (set JAVA_HOME)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/lib"
"$jdk/bin/jlink" --add-modules java.base,java.logging,java.xml,java.management,jdk.incubator.vector,jdk.unsupported \
  --strip-debug --no-header-files --no-man-pages --compress=zip-6 --output "$out/jre"
cp "$here"/target/panthera-ffm-cuda-*.jar "$out/lib/"
cp -r "$here/target/test-classes" "$out/test-classes"
# runtime dependencies only: JUnit/jqwik come inside the console launcher
tr ':' '\n' < "$here/target/test-classpath.txt" | grep -E 'panthera-tensor|slf4j' | grep -v 'tests.jar' | while read -r jar; do cp "$jar" "$out/lib/"; done
cp "$standalone" "$out/lib/junit-platform-console-standalone.jar"

cat > "$out/run-gpu-tests.sh" <<'RUN'
#!/bin/sh
# Runs Panthera's `gpu`-tagged tests with the bundled Java runtime. Library discovery (see LibraryLocator) finds
# CUDA 13 libraries on the loader path, in CUDA_HOME, /usr/local/cuda*, or PyTorch's wheels (nvidia/cu13/lib,
# nvidia/cudnn/lib) under the usual site-packages folders; PANTHERA_PYTHON_SITE_PACKAGES adds more.
here="$(cd "$(dirname "$0")" && pwd)"
cp="$(ls "$here"/lib/*.jar | grep -v junit-platform-console | tr '\n' ':')$here/test-classes"
# let discovery see the site-packages of whatever python3 is on PATH (PyTorch's wheels carry the CUDA 13 libraries)
if [ -z "${PANTHERA_PYTHON_SITE_PACKAGES:-}" ] && command -v python3 >/dev/null 2>&1; then
  PANTHERA_PYTHON_SITE_PACKAGES="$(python3 -c 'import site; print(":".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null)"
  export PANTHERA_PYTHON_SITE_PACKAGES
fi
flags="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"
"$here/jre/bin/java" $flags -cp "$cp" dev.panthera.cuda.CudaProbe
"$here/jre/bin/java" $flags -jar "$here/lib/junit-platform-console-standalone.jar" execute \
  --class-path "$cp" --scan-class-path "$here/test-classes" --include-tag gpu --details=tree --disable-banner \
  --reports-dir "$here/reports" "$@"
RUN
cat > "$out/run-bench.sh" <<'RUN'
#!/bin/sh
# GEMM (TF32, BF16 at 4096³ and 8192³) and pinned copy GB/s through Panthera, then the same GEMMs through PyTorch's
# cuBLAS on this machine when torch is importable. Compare the lines pairwise.
here="$(cd "$(dirname "$0")" && pwd)"
cp="$(ls "$here"/lib/*.jar | grep -v junit-platform-console | tr '\n' ':')$here/test-classes"
if [ -z "${PANTHERA_PYTHON_SITE_PACKAGES:-}" ] && command -v python3 >/dev/null 2>&1; then
  PANTHERA_PYTHON_SITE_PACKAGES="$(python3 -c 'import site; print(":".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null)"
  export PANTHERA_PYTHON_SITE_PACKAGES
fi
"$here/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$cp" dev.panthera.cuda.bench.GpuBench "$@"
python3 - <<'PY' || echo "torch anchor skipped (python3/torch not importable)"
import torch
torch.backends.cuda.matmul.allow_tf32 = True
for n in (4096, 8192):
    for mode, dt in (("tf32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.rand(n, n, device="cuda", dtype=dt) * 2 - 1
        b = torch.rand(n, n, device="cuda", dtype=dt) * 2 - 1
        for _ in range(3): a @ b
        torch.cuda.synchronize()
        iters = 10 if n >= 8192 else 30
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(iters): a @ b
        e.record(); e.synchronize()
        sec = s.elapsed_time(e) / 1e3 / iters
        print(f"torch gemm {mode} {n}: {2*n**3/sec/1e12:.1f} TFLOP/s ({sec*1e3:.3f} ms)")
PY
RUN
chmod +x "$out/run-gpu-tests.sh" "$out/run-bench.sh"
tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
echo "bundle: $out ($(du -sh "$out" | cut -f1) unpacked, $(du -h "$out.tar.gz" | cut -f1) as $out.tar.gz)"
