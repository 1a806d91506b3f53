// Reductions (F32). One block per output element; `outer` walks the kept dims of the source, `inner` the reduced
// dims (offset 0). Op codes follow dev.panthera.tensor.ReduceOp ordinals: SUM 0, MAX 1, MIN 2, ARGMAX 3, ARGMIN 4.
// NaN counts as both the maximum and the minimum; the first occurrence wins, as in PyTorch.

__device__ __forceinline__ bool better(int op, float v, i64 vi, float best, i64 bi) {
    bool vn = v != v, bn = best != best;
    if (bn) return vn && vi < bi;
    if (vn) return true;
    bool isMax = (op == 1 || op == 3);
    if (v == best) return vi < bi;
    return isMax ? v > best : v < best;
}

extern "C" __global__ void reduce_f32(int op, Strided outer, Strided inner, const float* x, Strided ys, void* y,
                                      i64 nOut, i64 nInner) {
    extern __shared__ unsigned char smem[];
    float* sv = (float*) smem;
    i64* si = (i64*) (smem + blockDim.x * sizeof(float) + (8 - (blockDim.x * sizeof(float)) % 8) % 8);
    for (i64 o = blockIdx.x; o < nOut; o += gridDim.x) {
        i64 base = strided_at(outer, o);
        float acc = op == 0 ? 0.0f : __int_as_float(0x7fc00001);
        i64 accI = 0x7fffffffffffffffLL;
        bool have = false;
        for (i64 j = threadIdx.x; j < nInner; j += blockDim.x) {
            float v = x[base + strided_at(inner, j)];
            if (op == 0) acc += v;
            else if (!have || better(op, v, j, acc, accI)) { acc = v; accI = j; have = true; }
        }
        sv[threadIdx.x] = acc;
        si[threadIdx.x] = have || op == 0 ? accI : 0x7fffffffffffffffLL;
        __syncthreads();
        for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) {
                float v = sv[threadIdx.x + s];
                i64 vi = si[threadIdx.x + s];
                if (op == 0) sv[threadIdx.x] += v;
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
            if (op >= 3) ((i64*) y)[d] = si[0];
            else ((float*) y)[d] = sv[0];
        }
        __syncthreads();
    }
}
