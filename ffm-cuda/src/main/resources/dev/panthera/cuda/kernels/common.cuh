// Panthera CUDA kernels: shared definitions, prepended to every kernel source before NVRTC compiles it.
// No system headers: NVRTC compiles these without include paths.
#define PANTHERA_MAX_RANK 8
typedef long long i64;

// A strided view: element i (row-major over shape) lives at offset + sum(idx[d] * stride[d]). Layout must match
// dev.panthera.cuda.backend.StridedArg (144 bytes).
struct Strided {
    int rank;
    int pad;
    i64 offset;
    i64 shape[PANTHERA_MAX_RANK];
    i64 stride[PANTHERA_MAX_RANK];
};

__device__ __forceinline__ i64 strided_at(const Strided& s, i64 i) {
    i64 o = s.offset;
    for (int d = s.rank - 1; d >= 0; --d) {
        i64 n = s.shape[d];
        i64 q = i % n;
        i /= n;
        o += q * s.stride[d];
    }
    return o;
}

__device__ __forceinline__ float p_erf(float x) { return erff(x); }
