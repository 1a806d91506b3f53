// gather, scatter_add and index_add along one dim over strided F32 views, with I32 or I64 indices (index64 != 0).
// An out-of-range index skips its element and records 1 + the element's position in *bad (first writer wins);
// the host turns that into an IndexOutOfBoundsException. Accumulation uses atomicAdd, so repeated indices sum in
// an unspecified order (float rounding may differ from a sequential loop in the last bits).

__device__ __forceinline__ void coords_of(const Strided& s, i64 e, i64* c) {
    for (int d = s.rank - 1; d >= 0; --d) { c[d] = e % s.shape[d]; e /= s.shape[d]; }
}

__device__ __forceinline__ i64 offset_at(const Strided& s, const i64* c) {
    i64 o = s.offset;
    for (int d = 0; d < s.rank; ++d) o += c[d] * s.stride[d];
    return o;
}

__device__ __forceinline__ i64 load_index(const void* index, int index64, i64 o) {
    return index64 ? ((const i64*) index)[o] : (i64) ((const int*) index)[o];
}

__device__ __forceinline__ void flag_bad(i64* bad, i64 e) {
    atomicCAS((unsigned long long*) bad, 0ULL, (unsigned long long) (e + 1));
}

// dst[c] = src[c with c[dim] = index[c]]; index and dst have the same shape.
extern "C" __global__ void gather_f32(int dim, Strided ss, const float* src, Strided is, const void* index, int index64,
                                      Strided ds, float* dst, i64 n, i64* bad) {
    i64 c[PANTHERA_MAX_RANK];
    for (i64 e = blockIdx.x * (i64) blockDim.x + threadIdx.x; e < n; e += (i64) gridDim.x * blockDim.x) {
        coords_of(is, e, c);
        i64 id = load_index(index, index64, offset_at(is, c));
        i64 od = offset_at(ds, c);
        if (id < 0 || id >= ss.shape[dim]) { flag_bad(bad, e); continue; }
        c[dim] = id;
        dst[od] = src[offset_at(ss, c)];
    }
}

// dst[c with c[dim] = index[c]] += src[c]; index and src have the same shape.
extern "C" __global__ void scatter_add_f32(int dim, Strided ds, float* dst, Strided is, const void* index, int index64,
                                           Strided ss, const float* src, i64 n, i64* bad) {
    i64 c[PANTHERA_MAX_RANK];
    for (i64 e = blockIdx.x * (i64) blockDim.x + threadIdx.x; e < n; e += (i64) gridDim.x * blockDim.x) {
        coords_of(ss, e, c);
        float v = src[offset_at(ss, c)];
        i64 id = load_index(index, index64, offset_at(is, c));
        if (id < 0 || id >= ds.shape[dim]) { flag_bad(bad, e); continue; }
        c[dim] = id;
        atomicAdd(dst + offset_at(ds, c), v);
    }
}

// dst[c with c[dim] = index[c[dim]]] += src[c]; index is 1-D with src.shape[dim] entries.
extern "C" __global__ void index_add_f32(int dim, Strided ds, float* dst, Strided is, const void* index, int index64,
                                         Strided ss, const float* src, i64 n, i64* bad) {
    i64 c[PANTHERA_MAX_RANK];
    for (i64 e = blockIdx.x * (i64) blockDim.x + threadIdx.x; e < n; e += (i64) gridDim.x * blockDim.x) {
        coords_of(ss, e, c);
        float v = src[offset_at(ss, c)];
        i64 id = load_index(index, index64, is.offset + c[dim] * is.stride[0]);
        if (id < 0 || id >= ds.shape[dim]) { flag_bad(bad, e); continue; }
        c[dim] = id;
        atomicAdd(dst + offset_at(ds, c), v);
    }
}
