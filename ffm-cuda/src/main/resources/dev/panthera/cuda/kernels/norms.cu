// RMS norm and layer norm over the last dimension of contiguous [rows, dim] F32 data; one block per row,
// statistics accumulated in float with a tree reduction in shared memory. weight/bias may be null.

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
