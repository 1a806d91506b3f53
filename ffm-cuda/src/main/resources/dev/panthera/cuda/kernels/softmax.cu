// Softmax / log-softmax kernels (used when cuDNN is absent or cannot take the problem).
// softmax_f32: the last dimension of contiguous [rows, n] F32 data. One block per row: max, then sum of exp(x - max),
// both as shared-memory tree reductions.

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

// softmax_strided: any dimension of contiguous [outer, n, inner] data of any float type (type codes as in common.cuh),
// computed in double. One block per (outer, inner) row; element j of a row is at (o * n + j) * inner + i.
extern "C" __global__ void softmax_strided(int type, const unsigned char* x, unsigned char* y, i64 outer, int n,
                                           i64 inner, int logMode) {
    extern __shared__ double shd[];
    i64 rows = outer * inner;
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
        i64 o = r / inner, in = r % inner;
        i64 base = o * (i64) n * inner + in;
        double m = -__longlong_as_double(0x7ff0000000000000LL);
        for (int j = threadIdx.x; j < n; j += blockDim.x) {
            double v = load_float_type(x, base + j * inner, type);
            m = v > m || v != v ? v : m;
        }
        shd[threadIdx.x] = m;
        __syncthreads();
        for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) {
                double a = shd[threadIdx.x], b = shd[threadIdx.x + s];
                shd[threadIdx.x] = b > a || b != b ? b : a;
            }
            __syncthreads();
        }
        m = shd[0];
        __syncthreads();
        double sum = 0.0;
        for (int j = threadIdx.x; j < n; j += blockDim.x) sum += exp(load_float_type(x, base + j * inner, type) - m);
        shd[threadIdx.x] = sum;
        __syncthreads();
        for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) shd[threadIdx.x] += shd[threadIdx.x + s];
            __syncthreads();
        }
        sum = shd[0];
        __syncthreads();
        double lse = m + log(sum);
        for (int j = threadIdx.x; j < n; j += blockDim.x) {
            double v = load_float_type(x, base + j * inner, type);
            store_float_type(y, base + j * inner, type, logMode ? v - lse : exp(v - m) / sum);
        }
    }
}
