// Scaled dot-product attention, contiguous F32: q [B, Hq, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv],
// o [B, Hq, Lq, Dv]; query head h reads kv head h / (Hq / Hkv). causal: query i sees keys j <= i + Lk - Lq.
// One block per (b, h, i); scores for one query row live in dynamic shared memory (Lk floats + blockDim floats).

extern "C" __global__ void attention_f32(const float* q, const float* k, const float* v, float* o, int B, int Hq,
                                         int Hkv, int Lq, int Lk, int D, int Dv, int causal, float scale) {
    extern __shared__ float sh[];
    float* scores = sh;
    float* red = sh + Lk;
    i64 rowsTotal = (i64) B * Hq * Lq;
    for (i64 row = blockIdx.x; row < rowsTotal; row += gridDim.x) {
        int i = (int) (row % Lq);
        int h = (int) ((row / Lq) % Hq);
        int b = (int) (row / ((i64) Lq * Hq));
        int hk = h / (Hq / Hkv);
        const float* qr = q + row * D;
        const float* kb = k + ((i64) b * Hkv + hk) * Lk * D;
        const float* vb = v + ((i64) b * Hkv + hk) * Lk * Dv;
        int last = causal ? i + Lk - Lq : Lk - 1;      // inclusive; may be < 0 (no visible key)
        float m = -__int_as_float(0x7f800000);
        for (int j = threadIdx.x; j < Lk; j += blockDim.x) {
            float s = -__int_as_float(0x7f800000);
            if (j <= last) {
                s = 0.0f;
                for (int t = 0; t < D; ++t) s += qr[t] * kb[(i64) j * D + t];
                s *= scale;
            }
            scores[j] = s;
            m = fmaxf(m, s);
        }
        red[threadIdx.x] = m;
        __syncthreads();
        for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + s]);
            __syncthreads();
        }
        m = red[0];
        __syncthreads();
        float sum = 0.0f;
        for (int j = threadIdx.x; j < Lk; j += blockDim.x) {
            float e = j <= last ? expf(scores[j] - m) : 0.0f;
            scores[j] = e;
            sum += e;
        }
        red[threadIdx.x] = sum;
        __syncthreads();
        for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
            __syncthreads();
        }
        sum = red[0];
        __syncthreads();
        float inv = sum > 0.0f ? 1.0f / sum : __int_as_float(0x7fc00000);   // no visible key: NaN, as softmax of all -inf
        for (int t = threadIdx.x; t < Dv; t += blockDim.x) {
            float acc = 0.0f;
            for (int j = 0; j <= last && j < Lk; ++j) acc += scores[j] * vb[(i64) j * Dv + t];
            o[row * Dv + t] = acc * inv;
        }
        __syncthreads();
    }
}
