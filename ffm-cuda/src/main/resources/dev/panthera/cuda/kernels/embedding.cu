// Embedding / index_select along dim 0 of a contiguous [vocab, dim] table (any element size, copied as bytes in
// 4-byte words when possible). An index outside [0, vocab) writes zeros and sets *bad to 1 + the offending position,
// which the host turns into an IndexOutOfBoundsException.

extern "C" __global__ void embedding_i64(const unsigned char* table, const i64* index, unsigned char* y, i64 nIndex,
                                         i64 rowBytes, i64 vocab, i64* bad) {
    for (i64 r = blockIdx.x; r < nIndex; r += gridDim.x) {
        i64 id = index[r];
        bool ok = id >= 0 && id < vocab;
        if (!ok && threadIdx.x == 0) atomicCAS((unsigned long long*) bad, 0ULL, (unsigned long long) (r + 1));
        for (i64 b = threadIdx.x; b < rowBytes; b += blockDim.x) y[r * rowBytes + b] = ok ? table[id * rowBytes + b] : 0;
    }
}

extern "C" __global__ void embedding_i32(const unsigned char* table, const int* index, unsigned char* y, i64 nIndex,
                                         i64 rowBytes, i64 vocab, i64* bad) {
    for (i64 r = blockIdx.x; r < nIndex; r += gridDim.x) {
        i64 id = index[r];
        bool ok = id >= 0 && id < vocab;
        if (!ok && threadIdx.x == 0) atomicCAS((unsigned long long*) bad, 0ULL, (unsigned long long) (r + 1));
        for (i64 b = threadIdx.x; b < rowBytes; b += blockDim.x) y[r * rowBytes + b] = ok ? table[id * rowBytes + b] : 0;
    }
}
