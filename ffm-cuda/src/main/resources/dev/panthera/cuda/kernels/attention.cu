// Scaled dot-product attention, contiguous F32: q [B, Hq, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv],
// o [B, Hq, Lq, Dv]; query head h reads kv head h / (Hq / Hkv). causal: query i sees keys j <= i + Lk - Lq.
// One warp per query row, ATT_WARPS rows per block (neighbouring rows share K/V through the caches). Keys go by in
// tiles of 32, one key per lane, with an online softmax (running max m and sum l, the accumulator rescaled by
// exp(m_old - m_new)), so no score row is stored and Lk has no limit. Each lane accumulates output dims
// lane + 32 i (i < ATT_ACC); wider Dv is done in chunks of 32 * ATT_ACC. Shared memory: the query rows, ATT_WARPS * D
// floats. A row with no visible key gets NaN, as softmax of all -inf does.
#define ATT_WARPS 4
#define ATT_ACC 8
#define FULL_MASK 0xffffffffu

extern "C" __global__ void attention_f32(const float* q, const float* k, const float* v, float* o, int B, int Hq,
                                         int Hkv, int Lq, int Lk, int D, int Dv, int causal, float scale) {
    extern __shared__ float qsAll[];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    float* qs = qsAll + (i64) warp * D;
    const float negInf = -__int_as_float(0x7f800000);
    const i64 rowsTotal = (i64) B * Hq * Lq;
    for (i64 first = (i64) blockIdx.x * ATT_WARPS; first < rowsTotal; first += (i64) gridDim.x * ATT_WARPS) {
        const i64 row = first + warp;
        if (row >= rowsTotal) continue;  // the whole warp skips together
        const int i = (int) (row % Lq);
        const int h = (int) ((row / Lq) % Hq);
        const int b = (int) (row / ((i64) Lq * Hq));
        const int hk = h / (Hq / Hkv);
        const float* qr = q + row * D;
        const float* kb = k + ((i64) b * Hkv + hk) * Lk * D;
        const float* vb = v + ((i64) b * Hkv + hk) * Lk * Dv;
        for (int t = lane; t < D; t += 32) qs[t] = qr[t];
        __syncwarp();
        const i64 last = causal ? (i64) i + Lk - Lq : (i64) Lk - 1;  // inclusive; may be < 0
        const int visible = (int) (last + 1 < Lk ? (last + 1 < 0 ? 0 : last + 1) : Lk);
        for (int c0 = 0; c0 < Dv; c0 += 32 * ATT_ACC) {
            float acc[ATT_ACC];
            for (int a = 0; a < ATT_ACC; ++a) acc[a] = 0.0f;
            float m = negInf, l = 0.0f;
            for (int j0 = 0; j0 < visible; j0 += 32) {
                const int j = j0 + lane;
                float s = negInf;
                if (j < visible) {
                    const float* kr = kb + (i64) j * D;
                    float dot = 0.0f;
                    for (int t = 0; t < D; ++t) dot += qs[t] * kr[t];
                    s = dot * scale;
                }
                float tileMax = s;
                for (int off = 16; off > 0; off >>= 1) tileMax = fmaxf(tileMax, __shfl_xor_sync(FULL_MASK, tileMax, off));
                const float mNew = fmaxf(m, tileMax);
                const float corr = expf(m - mNew);  // 0 on the first tile (m = -inf)
                const float p = j < visible ? expf(s - mNew) : 0.0f;
                float tileSum = p;
                for (int off = 16; off > 0; off >>= 1) tileSum += __shfl_xor_sync(FULL_MASK, tileSum, off);
                l = l * corr + tileSum;
                for (int a = 0; a < ATT_ACC; ++a) acc[a] *= corr;
                const int n = visible - j0 < 32 ? visible - j0 : 32;
                for (int kk = 0; kk < n; ++kk) {
                    const float pk = __shfl_sync(FULL_MASK, p, kk);
                    const float* vr = vb + (i64) (j0 + kk) * Dv;
                    for (int a = 0; a < ATT_ACC; ++a) {
                        const int t = c0 + lane + 32 * a;
                        if (t < Dv) acc[a] += pk * vr[t];
                    }
                }
                m = mNew;
            }
            const float inv = l > 0.0f ? 1.0f / l : __int_as_float(0x7fc00000);
            for (int a = 0; a < ATT_ACC; ++a) {
                const int t = c0 + lane + 32 * a;
                if (t < Dv) o[row * Dv + t] = acc[a] * inv;
            }
        }
        __syncwarp();  // qs is rewritten for the warp's next row
    }
}
