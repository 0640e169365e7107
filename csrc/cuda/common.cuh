// Shared device helpers for gpugrad's CUDA kernels. Only cuda_fp16.h / cuda_bf16.h come
// from the toolkit; infinity is spelled with bits because INFINITY is not defined under
// NVRTC.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#define GPUGRAD_INF __int_as_float(0x7f800000)

namespace gpugrad {

// loads and stores through the accumulation type (float for half/bfloat16)
template <typename T> struct Acc { typedef T type; };
template <> struct Acc<__half> { typedef float type; };
template <> struct Acc<__nv_bfloat16> { typedef float type; };

__device__ __forceinline__ float load(const float* p) { return *p; }
__device__ __forceinline__ double load(const double* p) { return *p; }
__device__ __forceinline__ float load(const __half* p) { return __half2float(*p); }
__device__ __forceinline__ float load(const __nv_bfloat16* p) { return __bfloat162float(*p); }

__device__ __forceinline__ void store(float* p, float v) { *p = v; }
__device__ __forceinline__ void store(double* p, double v) { *p = v; }
__device__ __forceinline__ void store(__half* p, float v) { *p = __float2half(v); }
__device__ __forceinline__ void store(__nv_bfloat16* p, float v) { *p = __float2bfloat16(v); }

__device__ __forceinline__ float exp_(float v) { return __expf(v); }
__device__ __forceinline__ double exp_(double v) { return exp(v); }
__device__ __forceinline__ float log_(float v) { return __logf(v); }
__device__ __forceinline__ double log_(double v) { return log(v); }

// Merge two online log-sum-exp states (m = running max, s = sum of exp(x - m)).
template <typename A>
__device__ __forceinline__ void lse_merge(A& m, A& s, A m2, A s2) {
  A mm = m > m2 ? m : m2;
  if (mm == -A(GPUGRAD_INF)) return;  // both empty (or all -inf): nothing to add
  // the state holding the max keeps its sum as is (also when the max is +inf, where
  // exp(inf - inf) would be NaN); the other is rescaled (to 0 when it was -inf)
  s = (m == mm ? s : s * exp_(m - mm)) + (m2 == mm ? s2 : s2 * exp_(m2 - mm));
  m = mm;
}

template <typename A>
__device__ __forceinline__ A warp_sum(A v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <typename A>
__device__ __forceinline__ void warp_lse(A& m, A& s) {
  for (int o = 16; o > 0; o >>= 1) {
    A m2 = __shfl_xor_sync(0xffffffffu, m, o);
    A s2 = __shfl_xor_sync(0xffffffffu, s, o);
    lse_merge(m, s, m2, s2);
  }
}

}  // namespace gpugrad
