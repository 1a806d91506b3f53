// Rotary position embedding on contiguous x [rows, seq, d] (rows = product of leading dims), cos/sin [seq, d/2].
// interleaved: pairs (x[2i], x[2i+1]) as llama2.c / llama.cpp; otherwise halves (x[i], x[i + d/2]) as HF Llama.
// Pair (a, b) -> (a cos - b sin, a sin + b cos).

extern "C" __global__ void rope_f32(const float* x, const float* cosT, const float* sinT, float* y, i64 rows, int seq,
                                    int d, int interleaved) {
    int half = d / 2;
    i64 total = rows * seq * half;
    for (i64 t = blockIdx.x * (i64) blockDim.x + threadIdx.x; t < total; t += (i64) gridDim.x * blockDim.x) {
        int i = (int) (t % half);
        i64 rs = t / half;                 // row * seq + position
        int pos = (int) (rs % seq);
        const float* xr = x + rs * d;
        float* yr = y + rs * d;
        float c = cosT[pos * half + i], s = sinT[pos * half + i];
        int ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + half;
        float a = xr[ia], b = xr[ib];
        yr[ia] = a * c - b * s;
        yr[ib] = a * s + b * c;
    }
}
