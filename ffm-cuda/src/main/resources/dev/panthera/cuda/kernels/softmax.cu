// Softmax / log-softmax over the last dimension of contiguous [rows, n] F32 data (fallback when cuDNN is absent).
// One block per row: max, then sum of exp(x - max), both as shared-memory tree reductions.

extern "C" __global__ void softmax_f32(const float* x, float* y, i64 rows, int n, int logMode) {
    extern __shared__ float sh[];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + r * n;
        float m = -__int_as_float(0x7f800000);
        for (int j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, xr[j]);
        sh[threadIdx.x] = m;
        __syncthreads();
        for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) sh[threadIdx.x] = fmaxf(sh[threadIdx.x], sh[threadIdx.x + s]);
            __syncthreads();
        }
        m = sh[0];
        __syncthreads();
        float sum = 0.0f;
        for (int j = threadIdx.x; j < n; j += blockDim.x) sum += expf(xr[j] - m);
        sh[threadIdx.x] = sum;
        __syncthreads();
        for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
            __syncthreads();
        }
        sum = sh[0];
        __syncthreads();
        float lse = m + logf(sum);
        for (int j = threadIdx.x; j < n; j += blockDim.x)
            y[r * n + j] = logMode ? xr[j] - lse : expf(xr[j] - m) / sum;
    }
}
