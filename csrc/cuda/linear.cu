// The passes around the two GEMMs of a linear layer (+ ReLU): bias + ReLU forward in
// place, and in backward the ReLU mask fused with the bias gradient (column sums of the
// masked gradient, accumulated in float into gb, which the caller zeroes).
//
// And gpugrad's own tiled GEMMs for the backward of y = relu(x W^T + b), for shapes where
// they beat cuBLAS plus the separate mask pass (small and medium MLP layers, where launches
// and the round trip of the masked gradient through memory cost more than the products):
//   gx = gz W          (n x k)   gpugrad_linear_bwd_input
//   gw = gz^T x        (m x k)   gpugrad_linear_bwd_weight, and gb = column sums of gz (m)
// with gz = gy where y > 0, else 0 (no mask when y is null), applied as the tiles of gy are
// loaded: gz is never written to memory. Tiles of BM x BM outputs, BK deep, 256 threads
// with (BM / 16)^2 outputs each, accumulated in A (float for half/bfloat16).
#include "common.cuh"

namespace gpugrad {

template <typename T, typename A>
__device__ void bias_relu(T* y, const T* b, long long n, long long m) {
  long long total = n * m;
  for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
       k += (long long)gridDim.x * blockDim.x) {
    A v = (A)load(y + k) + (b ? (A)load(b + k % m) : A(0));
    store(y + k, v > A(0) ? v : (v != v ? v : A(0)));
  }
}

// block: 32 columns x 8 row lanes; each block sums chunks of rows_per_block rows (chunk
// blockIdx.y, then every gridDim.y-th: grid.y stays within CUDA's 65535 for any n), then
// one atomicAdd per column into gb
template <typename T, typename A>
__device__ void relu_bias_bwd(const T* gy, const T* y, T* gz, A* gb, long long n, long long m, long long rows_per_block) {
  __shared__ A part[8][33];
  long long col = (long long)blockIdx.x * 32 + threadIdx.x;
  A acc = A(0);
  if (col < m) {
    for (long long r0 = (long long)blockIdx.y * rows_per_block; r0 < n; r0 += (long long)gridDim.y * rows_per_block) {
      long long r1 = r0 + rows_per_block < n ? r0 + rows_per_block : n;
      for (long long i = r0 + threadIdx.y; i < r1; i += 8) {
        long long k = i * m + col;
        A v = (A)load(y + k) > A(0) ? (A)load(gy + k) : A(0);
        store(gz + k, v);
        acc += v;
      }
    }
  }
  if (!gb) return;
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && col < m) {
    A s = A(0);
    for (int r = 0; r < 8; ++r) s += part[r][threadIdx.x];
    atomicAdd(gb + col, s);
  }
}

// C (M x N) = op(G) B with op(G)[i, l] = masked G: G is M x K row-major (TRANS = false,
// the input gradient: M = n, K = m) or K x M (TRANS = true, the weight gradient: K = n,
// M = m); B is K x N row-major. With gb, the blocks of the first column tile also write
// the row sums of op(G) (the bias gradient; each such block owns its rows over all of K).
template <typename T, typename A, int BM, bool TRANS>
__device__ void masked_gemm(const T* g, const T* y, const T* b, T* c, T* gb, long long M, long long N, long long K) {
  constexpr int BK = 16, R = BM / 16;  // R x R outputs per thread, strided by 16
  __shared__ A gs[BK][BM + 1];
  __shared__ A bs[BK][BM + 1];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16, tid = threadIdx.x;
  const long long row0 = (long long)blockIdx.y * BM, col0 = (long long)blockIdx.x * BM;
  A acc[R][R];
  A rsum[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    rsum[r] = A(0);
#pragma unroll
    for (int q = 0; q < R; ++q) acc[r][q] = A(0);
  }
  const bool bias_block = gb && blockIdx.x == 0;
  for (long long k0 = 0; k0 < K; k0 += BK) {
    // the tile of op(G): BM rows x BK, loaded along memory's contiguous direction
    for (int e = tid; e < BM * BK; e += 256) {
      int i = TRANS ? e % BM : e / BK, l = TRANS ? e / BM : e % BK;
      long long gi = row0 + i, gl = k0 + l;
      A v = A(0);
      if (gi < M && gl < K) {
        long long idx = TRANS ? gl * M + gi : gi * K + gl;
        v = (!y || (A)load(y + idx) > A(0)) ? (A)load(g + idx) : A(0);
      }
      gs[l][i] = v;
    }
    for (int e = tid; e < BK * BM; e += 256) {
      int l = e / BM, j = e % BM;
      long long gl = k0 + l, gj = col0 + j;
      bs[l][j] = (gl < K && gj < N) ? (A)load(b + gl * N + gj) : A(0);
    }
    __syncthreads();
#pragma unroll
    for (int l = 0; l < BK; ++l) {
      A gv[R], bv[R];
#pragma unroll
      for (int r = 0; r < R; ++r) gv[r] = gs[l][ty + 16 * r];
#pragma unroll
      for (int q = 0; q < R; ++q) bv[q] = bs[l][tx + 16 * q];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        if (bias_block && tx == 0) rsum[r] += gv[r];
#pragma unroll
        for (int q = 0; q < R; ++q) acc[r][q] += gv[r] * bv[q];
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    long long gi = row0 + ty + 16 * r;
    if (gi >= M) continue;
#pragma unroll
    for (int q = 0; q < R; ++q) {
      long long gj = col0 + tx + 16 * q;
      if (gj < N) store(c + gi * N + gj, acc[r][q]);
    }
    if (bias_block && tx == 0) store(gb + gi, rsum[r]);
  }
}

}  // namespace gpugrad

// the tiled GEMMs, with tiles of 64 and of 32 (more blocks for small outputs)
#define GPUGRAD_LINEAR_GEMM_ARGS_INPUT(T) const T *gy, const T *y, const T *w, T *gx, long long n, long long k, long long m
#define GPUGRAD_LINEAR_GEMM_ARGS_WEIGHT(T) \
  const T *gy, const T *y, const T *x, T *gw, T *gb, long long m, long long k, long long n
#define GPUGRAD_LINEAR_GEMM(name, T, A)                                                                          \
  extern "C" __global__ void gpugrad_linear_bwd_input64_##name(GPUGRAD_LINEAR_GEMM_ARGS_INPUT(T)) {            \
    gpugrad::masked_gemm<T, A, 64, false>(gy, y, w, gx, (T*)nullptr, n, k, m);                                  \
  }                                                                                                              \
  extern "C" __global__ void gpugrad_linear_bwd_input32_##name(GPUGRAD_LINEAR_GEMM_ARGS_INPUT(T)) {            \
    gpugrad::masked_gemm<T, A, 32, false>(gy, y, w, gx, (T*)nullptr, n, k, m);                                  \
  }                                                                                                              \
  extern "C" __global__ void gpugrad_linear_bwd_weight64_##name(GPUGRAD_LINEAR_GEMM_ARGS_WEIGHT(T)) {          \
    gpugrad::masked_gemm<T, A, 64, true>(gy, y, x, gw, gb, m, k, n);                                            \
  }                                                                                                              \
  extern "C" __global__ void gpugrad_linear_bwd_weight32_##name(GPUGRAD_LINEAR_GEMM_ARGS_WEIGHT(T)) {          \
    gpugrad::masked_gemm<T, A, 32, true>(gy, y, x, gw, gb, m, k, n);                                            \
  }

#define GPUGRAD_LINEAR(name, T, A)                                                                              \
  extern "C" __global__ void gpugrad_bias_relu_fwd_##name(T* y, const T* b, long long n, long long m) {         \
    gpugrad::bias_relu<T, A>(y, b, n, m);                                                                     \
  }                                                                                                           \
  extern "C" __global__ void gpugrad_relu_bias_bwd_##name(const T* gy, const T* y, T* gz, A* gb, long long n,   \
                                                          long long m, long long rows_per_block) {            \
    gpugrad::relu_bias_bwd<T, A>(gy, y, gz, gb, n, m, rows_per_block);                                        \
  }                                                                                                            \
  GPUGRAD_LINEAR_GEMM(name, T, A)

GPUGRAD_LINEAR(f32, float, float)
GPUGRAD_LINEAR(f64, double, double)
GPUGRAD_LINEAR(f16, __half, float)
GPUGRAD_LINEAR(bf16, __nv_bfloat16, float)
