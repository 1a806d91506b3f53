// Elementwise kernels over strided views: *_f32 for F32, *_float for F16/BF16 mixed with F32 (each operand has its
// own type code, as in common.cuh; values are computed in float, as the F32 kernels compute them). Op codes are dev.panthera.tensor.UnaryOp.code() and BinaryOp.code(),
// one `#define UNARY_<NAME> <code>` / `#define BINARY_<NAME> <code>` line per enum constant, in exactly that form, and
// the op switches use only those names (KernelOpCodesTest parses this file and checks both against the enums).
#define UNARY_NEG 0
#define UNARY_EXP 1
#define UNARY_LOG 2
#define UNARY_SQRT 3
#define UNARY_RSQRT 4
#define UNARY_ABS 5
#define UNARY_TANH 6
#define UNARY_SIGMOID 7
#define UNARY_RELU 8
#define UNARY_GELU_ERF 9
#define UNARY_GELU_TANH 10
#define UNARY_SILU 11
#define UNARY_SIGN 12

#define BINARY_ADD 0
#define BINARY_SUB 1
#define BINARY_MUL 2
#define BINARY_DIV 3
#define BINARY_POW 4
#define BINARY_MAXIMUM 5
#define BINARY_MINIMUM 6
#define BINARY_EQ 7
#define BINARY_NE 8
#define BINARY_LT 9
#define BINARY_LE 10
#define BINARY_GT 11
#define BINARY_GE 12

__device__ float unary_op(int op, float x) {
    switch (op) {
        case UNARY_NEG: return -x;
        case UNARY_EXP: return expf(x);
        case UNARY_LOG: return logf(x);
        case UNARY_SQRT: return sqrtf(x);
        case UNARY_RSQRT: return rsqrtf(x);
        case UNARY_ABS: return fabsf(x);
        case UNARY_TANH: return tanhf(x);
        case UNARY_SIGMOID: return 1.0f / (1.0f + expf(-x));
        case UNARY_RELU: return x > 0.0f ? x : (x == x ? 0.0f : x);  // NaN stays NaN
        case UNARY_GELU_ERF: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
        case UNARY_GELU_TANH: return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
        case UNARY_SILU: return x / (1.0f + expf(-x));
        case UNARY_SIGN: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x);  // 0 and NaN kept
    }
    return __int_as_float(0x7fc00000);
}

__device__ float binary_op(int op, float a, float b) {
    switch (op) {
        case BINARY_ADD: return a + b;
        case BINARY_SUB: return a - b;
        case BINARY_MUL: return a * b;
        case BINARY_DIV: return a / b;
        case BINARY_POW: return powf(a, b);
        case BINARY_MAXIMUM: return (a != a || b != b) ? __int_as_float(0x7fc00000) : fmaxf(a, b); // MAXIMUM propagates NaN
        case BINARY_MINIMUM: return (a != a || b != b) ? __int_as_float(0x7fc00000) : fminf(a, b);
    }
    return __int_as_float(0x7fc00000);
}

__device__ bool compare_op(int op, float a, float b) {
    switch (op) {
        case BINARY_EQ: return a == b;
        case BINARY_NE: return a != b;
        case BINARY_LT: return a < b;
        case BINARY_LE: return a <= b;
        case BINARY_GT: return a > b;
        case BINARY_GE: return a >= b;
    }
    return false;
}

extern "C" __global__ void unary_f32(int op, Strided xs, const float* x, Strided ys, float* y, i64 n) {
    for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x)
        y[strided_at(ys, i)] = unary_op(op, x[strided_at(xs, i)]);
}

extern "C" __global__ void binary_f32(int op, Strided as, const float* a, Strided bs, const float* b,
                                      Strided cs, float* c, i64 n) {
    for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x)
        c[strided_at(cs, i)] = binary_op(op, a[strided_at(as, i)], b[strided_at(bs, i)]);
}

extern "C" __global__ void compare_f32(int op, Strided as, const float* a, Strided bs, const float* b,
                                       Strided cs, unsigned char* c, i64 n) {
    for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x)
        c[strided_at(cs, i)] = compare_op(op, a[strided_at(as, i)], b[strided_at(bs, i)]) ? 1 : 0;
}

// Fill for any dtype: the host passes the element's bit pattern (elemBytes 1, 2, 4 or 8, low bytes first).
extern "C" __global__ void unary_float(int op, int xt, Strided xs, const unsigned char* x, int yt, Strided ys,
                                        unsigned char* y, i64 n) {
    for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x)
        store_float_type(y, strided_at(ys, i), yt, unary_op(op, (float) load_float_type(x, strided_at(xs, i), xt)));
}

extern "C" __global__ void binary_float(int op, int at, Strided as, const unsigned char* a, int bt, Strided bs,
                                         const unsigned char* b, int ct, Strided cs, unsigned char* c, i64 n) {
    for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
        float va = (float) load_float_type(a, strided_at(as, i), at), vb = (float) load_float_type(b, strided_at(bs, i), bt);
        store_float_type(c, strided_at(cs, i), ct, binary_op(op, va, vb));
    }
}

extern "C" __global__ void compare_float(int op, int at, Strided as, const unsigned char* a, int bt, Strided bs,
                                          const unsigned char* b, Strided cs, unsigned char* c, i64 n) {
    for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
        float va = (float) load_float_type(a, strided_at(as, i), at), vb = (float) load_float_type(b, strided_at(bs, i), bt);
        c[strided_at(cs, i)] = compare_op(op, va, vb) ? 1 : 0;
    }
}

extern "C" __global__ void fill_bits(int elemBytes, Strided ys, unsigned char* y, unsigned long long bits, i64 n) {
    for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
        i64 d = strided_at(ys, i) * elemBytes;
        switch (elemBytes) {
            case 1: y[d] = (unsigned char) bits; break;
            case 2: *(unsigned short*) (y + d) = (unsigned short) bits; break;
            case 4: *(unsigned int*) (y + d) = (unsigned int) bits; break;
            default: *(unsigned long long*) (y + d) = bits; break;
        }
    }
}

// Byte-generic strided copy for any dtype of the given element size (1, 2, 4 or 8 bytes).
extern "C" __global__ void copy_strided(int elemBytes, Strided xs, const unsigned char* x, Strided ys, unsigned char* y, i64 n) {
    for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
        i64 s = strided_at(xs, i) * elemBytes, d = strided_at(ys, i) * elemBytes;
        switch (elemBytes) {
            case 1: y[d] = x[s]; break;
            case 2: *(unsigned short*) (y + d) = *(const unsigned short*) (x + s); break;
            case 4: *(unsigned int*) (y + d) = *(const unsigned int*) (x + s); break;
            default: *(unsigned long long*) (y + d) = *(const unsigned long long*) (x + s); break;
        }
    }
}

extern "C" __global__ void where_f32(Strided cs, const unsigned char* cond, Strided as, const float* a,
                                     Strided bs, const float* b, Strided ys, float* y, i64 n) {
    for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x)
        y[strided_at(ys, i)] = cond[strided_at(cs, i)] ? a[strided_at(as, i)] : b[strided_at(bs, i)];
}

// Float-type conversion over strided views (load_float_type/store_float_type in common.cuh).
extern "C" __global__ void convert_float(int srcType, Strided xs, const unsigned char* x, int dstType, Strided ys,
                                         unsigned char* y, i64 n) {
    for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x)
        store_float_type(y, strided_at(ys, i), dstType, load_float_type(x, strided_at(xs, i), srcType));
}
