// Embedding / index_select along dim 0 of a contiguous [vocab, dim] table (any element size). Rows are copied in
// the widest word (16, 8, 4, 2 or 1 bytes) that divides the row size and both base addresses, so every row start is
// aligned for it. An index outside [0, vocab) writes zeros and sets *bad to 1 + the offending position, which the
// host turns into an IndexOutOfBoundsException.

template <typename W>
__device__ __forceinline__ void embedding_rows(const unsigned char* table, const i64* index64, const int* index32,
                                               unsigned char* y, i64 nIndex, i64 rowBytes, i64 vocab, i64* bad) {
    const i64 words = rowBytes / (i64) sizeof(W);
    for (i64 r = blockIdx.x; r < nIndex; r += gridDim.x) {
        const i64 id = index64 ? index64[r] : (i64) index32[r];
        const bool ok = id >= 0 && id < vocab;
        if (!ok && threadIdx.x == 0) atomicCAS((unsigned long long*) bad, 0ULL, (unsigned long long) (r + 1));
        W* out = (W*) (y + r * rowBytes);
        if (ok) {
            const W* in = (const W*) (table + id * rowBytes);
            for (i64 w = threadIdx.x; w < words; w += blockDim.x) out[w] = in[w];
        } else {
            W zero;
            unsigned char* zb = (unsigned char*) &zero;
            for (int c = 0; c < (int) sizeof(W); ++c) zb[c] = 0;
            for (i64 w = threadIdx.x; w < words; w += blockDim.x) out[w] = zero;
        }
    }
}

__device__ void embedding_any(const unsigned char* table, const i64* index64, const int* index32, unsigned char* y,
                              i64 nIndex, i64 rowBytes, i64 vocab, i64* bad) {
    const unsigned long long align =
            (unsigned long long) rowBytes | (unsigned long long) table | (unsigned long long) y;
    if (align % 16 == 0) embedding_rows<uint4>(table, index64, index32, y, nIndex, rowBytes, vocab, bad);
    else if (align % 8 == 0) embedding_rows<unsigned long long>(table, index64, index32, y, nIndex, rowBytes, vocab, bad);
    else if (align % 4 == 0) embedding_rows<unsigned int>(table, index64, index32, y, nIndex, rowBytes, vocab, bad);
    else if (align % 2 == 0) embedding_rows<unsigned short>(table, index64, index32, y, nIndex, rowBytes, vocab, bad);
    else embedding_rows<unsigned char>(table, index64, index32, y, nIndex, rowBytes, vocab, bad);
}

extern "C" __global__ void embedding_i64(const unsigned char* table, const i64* index, unsigned char* y, i64 nIndex,
                                         i64 rowBytes, i64 vocab, i64* bad) {
    embedding_any(table, index, 0, y, nIndex, rowBytes, vocab, bad);
}

extern "C" __global__ void embedding_i32(const unsigned char* table, const int* index, unsigned char* y, i64 nIndex,
                                         i64 rowBytes, i64 vocab, i64* bad) {
    embedding_any(table, 0, index, y, nIndex, rowBytes, vocab, bad);
}
