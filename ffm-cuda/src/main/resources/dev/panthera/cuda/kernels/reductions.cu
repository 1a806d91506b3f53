// Reductions (F32). One block per output element; `outer` walks the kept dims of the source, `inner` the reduced
// dims (offset 0). NaN counts as both the maximum and the minimum; the first occurrence wins, as in PyTorch.
// Op codes are dev.panthera.tensor.ReduceOp.code(), one `#define REDUCE_<NAME> <code>` line per enum constant, in
// exactly that form, and the code tests `op` only against those names (KernelOpCodesTest checks both).
#define REDUCE_SUM 0
#define REDUCE_MAX 1
#define REDUCE_MIN 2
#define REDUCE_ARGMAX 3
#define REDUCE_ARGMIN 4

__device__ __forceinline__ bool better(int op, float v, i64 vi, float best, i64 bi) {
    bool vn = v != v, bn = best != best;
    if (bn) return vn && vi < bi;
    if (vn) return true;
    if (v == best) return vi < bi;
    switch (op) {
        case REDUCE_MAX: case REDUCE_ARGMAX: return v > best;
        case REDUCE_MIN: case REDUCE_ARGMIN: return v < best;
    }
    return false;
}

extern "C" __global__ void reduce_f32(int op, Strided outer, Strided inner, const float* x, Strided ys, void* y,
                                      i64 nOut, i64 nInner) {
    extern __shared__ unsigned char smem[];
    float* sv = (float*) smem;
    i64* si = (i64*) (smem + blockDim.x * sizeof(float) + (8 - (blockDim.x * sizeof(float)) % 8) % 8);
    for (i64 o = blockIdx.x; o < nOut; o += gridDim.x) {
        i64 base = strided_at(outer, o);
        float acc = op == REDUCE_SUM ? 0.0f : __int_as_float(0x7fc00001);
        i64 accI = 0x7fffffffffffffffLL;
        bool have = false;
        for (i64 j = threadIdx.x; j < nInner; j += blockDim.x) {
            float v = x[base + strided_at(inner, j)];
            if (op == REDUCE_SUM) acc += v;
            else if (!have || better(op, v, j, acc, accI)) { acc = v; accI = j; have = true; }
        }
        sv[threadIdx.x] = acc;
        si[threadIdx.x] = have || op == REDUCE_SUM ? accI : 0x7fffffffffffffffLL;
        __syncthreads();
        for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) {
                float v = sv[threadIdx.x + s];
                i64 vi = si[threadIdx.x + s];
                if (op == REDUCE_SUM) sv[threadIdx.x] += v;
                else if (vi != 0x7fffffffffffffffLL &&
                         (si[threadIdx.x] == 0x7fffffffffffffffLL || better(op, v, vi, sv[threadIdx.x], si[threadIdx.x]))) {
                    sv[threadIdx.x] = v;
                    si[threadIdx.x] = vi;
                }
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) {
            i64 d = strided_at(ys, o);
            if (op == REDUCE_ARGMAX || op == REDUCE_ARGMIN) ((i64*) y)[d] = si[0];
            else ((float*) y)[d] = sv[0];
        }
        __syncthreads();
    }
}
