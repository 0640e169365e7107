// The passes around the two GEMMs of a linear layer (+ ReLU): bias + ReLU forward in
// place, and in backward the ReLU mask fused with the bias gradient (column sums of the
// masked gradient, accumulated in float into gb, which the caller zeroes).
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

// block: 32 columns x 8 row lanes; each block sums a chunk of rows, then one atomicAdd per
// column into gb
template <typename T, typename A>
__device__ void relu_bias_bwd(const T* gy, const T* y, T* gz, A* gb, long long n, long long m, long long rows_per_block) {
  __shared__ A part[8][33];
  long long col = (long long)blockIdx.x * 32 + threadIdx.x;
  long long r0 = (long long)blockIdx.y * rows_per_block;
  long long r1 = r0 + rows_per_block < n ? r0 + rows_per_block : n;
  A acc = A(0);
  if (col < m) {
    for (long long i = r0 + threadIdx.y; i < r1; i += 8) {
      long long k = i * m + col;
      A v = (A)load(y + k) > A(0) ? (A)load(gy + k) : A(0);
      store(gz + k, v);
      acc += v;
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

}  // namespace gpugrad

#define GPUGRAD_LINEAR(name, T, A)                                                                              \
  extern "C" __global__ void gpugrad_bias_relu_fwd_##name(T* y, const T* b, long long n, long long m) {         \
    gpugrad::bias_relu<T, A>(y, b, n, m);                                                                     \
  }                                                                                                           \
  extern "C" __global__ void gpugrad_relu_bias_bwd_##name(const T* gy, const T* y, T* gz, A* gb, long long n,   \
                                                          long long m, long long rows_per_block) {            \
    gpugrad::relu_bias_bwd<T, A>(gy, y, gz, gb, n, m, rows_per_block);                                        \
  }

GPUGRAD_LINEAR(f32, float, float)
GPUGRAD_LINEAR(f64, double, double)
GPUGRAD_LINEAR(f16, __half, float)
GPUGRAD_LINEAR(bf16, __nv_bfloat16, float)
