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

// Float types in kernels taking any of them. Type codes: 0 F32, 1 F64, 2 F16, 3 BF16 (dev.panthera.tensor.DType ids).
// Values travel as double; narrower targets round the double to float first (as the reference backend does), then
// F16 by the PTX round-to-nearest-even conversion and BF16 by round-to-nearest-even on the bits, NaN kept quiet.
__device__ double load_float_type(const unsigned char* p, i64 o, int t) {
    switch (t) {
        case 0: return ((const float*) p)[o];
        case 1: return ((const double*) p)[o];
        case 2: { unsigned short h = ((const unsigned short*) p)[o]; float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
        default: return __int_as_float(((unsigned int) ((const unsigned short*) p)[o]) << 16);
    }
}

__device__ void store_float_type(unsigned char* p, i64 o, int t, double v) {
    float f = (float) v;
    switch (t) {
        case 0: ((float*) p)[o] = f; break;
        case 1: ((double*) p)[o] = v; break;
        case 2: { unsigned short h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); ((unsigned short*) p)[o] = h; break; }
        default: {
            unsigned int x = (unsigned int) __float_as_int(f);
            unsigned short b;
            if ((x & 0x7FFFFFFFu) > 0x7F800000u) b = (unsigned short) ((x >> 16) | 0x0040u);
            else b = (unsigned short) ((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
            ((unsigned short*) p)[o] = b;
        }
    }
}
