// RMS norm and layer norm over the last dimension of contiguous [rows, dim] data; one block per row, statistics
// accumulated in float with a tree reduction in shared memory. weight/bias may be null. *_f32 take F32; *_float take
// F32/F16/BF16 with a type code per operand (common.cuh), computing in float.

__device__ float block_sum(float v, float* sh) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    float r = sh[0];
    __syncthreads();
    return r;
}

extern "C" __global__ void rms_norm_f32(const float* x, const float* w, float* y, i64 rows, int dim, float eps) {
    extern __shared__ float sh[];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + r * dim;
        float ss = 0.0f;
        for (int j = threadIdx.x; j < dim; j += blockDim.x) ss += xr[j] * xr[j];
        float inv = rsqrtf(block_sum(ss, sh) / dim + eps);
        for (int j = threadIdx.x; j < dim; j += blockDim.x) y[r * dim + j] = xr[j] * inv * (w ? w[j] : 1.0f);
    }
}

extern "C" __global__ void layer_norm_f32(const float* x, const float* w, const float* b, float* y, i64 rows, int dim,
                                          float eps) {
    extern __shared__ float sh[];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + r * dim;
        float s = 0.0f;
        for (int j = threadIdx.x; j < dim; j += blockDim.x) s += xr[j];
        float mean = block_sum(s, sh) / dim;
        float v = 0.0f;
        for (int j = threadIdx.x; j < dim; j += blockDim.x) { float d = xr[j] - mean; v += d * d; }
        float inv = rsqrtf(block_sum(v, sh) / dim + eps);
        for (int j = threadIdx.x; j < dim; j += blockDim.x)
            y[r * dim + j] = (xr[j] - mean) * inv * (w ? w[j] : 1.0f) + (b ? b[j] : 0.0f);
    }
}

__device__ __forceinline__ float ld(const unsigned char* p, i64 o, int t) { return (float) load_float_type(p, o, t); }

extern "C" __global__ void rms_norm_float(int xt, const unsigned char* x, int wt, const unsigned char* w, int yt,
                                          unsigned char* y, i64 rows, int dim, float eps) {
    extern __shared__ float sh[];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const i64 base = r * dim;
        float ss = 0.0f;
        for (int j = threadIdx.x; j < dim; j += blockDim.x) { float v = ld(x, base + j, xt); ss += v * v; }
        float inv = rsqrtf(block_sum(ss, sh) / dim + eps);
        for (int j = threadIdx.x; j < dim; j += blockDim.x)
            store_float_type(y, base + j, yt, ld(x, base + j, xt) * inv * (w ? ld(w, j, wt) : 1.0f));
    }
}

extern "C" __global__ void layer_norm_float(int xt, const unsigned char* x, int wt, const unsigned char* w, int bt,
                                            const unsigned char* b, int yt, unsigned char* y, i64 rows, int dim,
                                            float eps) {
    extern __shared__ float sh[];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const i64 base = r * dim;
        float s = 0.0f;
        for (int j = threadIdx.x; j < dim; j += blockDim.x) s += ld(x, base + j, xt);
        float mean = block_sum(s, sh) / dim;
        float v = 0.0f;
        for (int j = threadIdx.x; j < dim; j += blockDim.x) { float d = ld(x, base + j, xt) - mean; v += d * d; }
        float inv = rsqrtf(block_sum(v, sh) / dim + eps);
        for (int j = threadIdx.x; j < dim; j += blockDim.x)
            store_float_type(y, base + j, yt,
                             (ld(x, base + j, xt) - mean) * inv * (w ? ld(w, j, wt) : 1.0f) + (b ? ld(b, j, bt) : 0.0f));
    }
}
