// Fused optimizer steps over every parameter of a group in ONE launch: the tensors are
// passed as device arrays of pointers with prefix offsets; each thread finds its tensor
// by binary search over the offsets and updates one element.
#include "common.cuh"

namespace gpugrad {

__device__ __forceinline__ int find_tensor(const long long* offsets, int k, long long idx) {
  int lo = 0, hi = k;  // offsets[lo] <= idx < offsets[hi]
  while (hi - lo > 1) {
    int mid = (lo + hi) / 2;
    if (offsets[mid] <= idx) lo = mid; else hi = mid;
  }
  return lo;
}

// p -= lr d, d = g + wd p; momentum buffer b = mom b + (1 - damp) d (b = d when first),
// Nesterov d + mom b
template <typename T, typename A>
__device__ void sgd(T** p, T** g, T** buf, const long long* offsets, int k, A lr, A mom, A damp, A wd, int nesterov,
                    int first) {
  long long total = offsets[k];
  for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
       idx += (long long)gridDim.x * blockDim.x) {
    int ti = find_tensor(offsets, k, idx);
    long long e = idx - offsets[ti];
    A pv = (A)load(p[ti] + e);
    A d = (A)load(g[ti] + e) + wd * pv;
    if (buf) {
      A b = first ? d : mom * (A)load(buf[ti] + e) + (A(1) - damp) * d;
      store(buf[ti] + e, b);
      d = nesterov ? d + mom * b : b;
    }
    store(p[ti] + e, pv - lr * d);
  }
}

// Adam (L2 in the gradient) or AdamW (decoupled decay); bc1 = 1 - b1^t, bc2 = 1 - b2^t
template <typename T, typename A>
__device__ void adam(T** p, T** g, T** m, T** v, const long long* offsets, int k, A lr, A b1, A b2, A eps, A wd,
                     int decoupled, A bc1, A bc2) {
  long long total = offsets[k];
  A step = lr / bc1;
  A rbc2 = A(1) / sqrt(bc2);
  for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
       idx += (long long)gridDim.x * blockDim.x) {
    int ti = find_tensor(offsets, k, idx);
    long long e = idx - offsets[ti];
    A pv = (A)load(p[ti] + e);
    A gv = (A)load(g[ti] + e) + (decoupled ? A(0) : wd * pv);
    if (decoupled) pv *= A(1) - lr * wd;
    A mv = b1 * (A)load(m[ti] + e) + (A(1) - b1) * gv;
    A vv = b2 * (A)load(v[ti] + e) + (A(1) - b2) * gv * gv;
    store(m[ti] + e, mv);
    store(v[ti] + e, vv);
    store(p[ti] + e, pv - step * mv / (sqrt(vv) * rbc2 + eps));
  }
}

}  // namespace gpugrad

#define GPUGRAD_OPTIM(name, T, A)                                                                               \
  extern "C" __global__ void gpugrad_sgd_step_##name(T** p, T** g, T** buf, const long long* offsets, int k,    \
                                                     A lr, A mom, A damp, A wd, int nesterov, int first) {      \
    gpugrad::sgd<T, A>(p, g, buf, offsets, k, lr, mom, damp, wd, nesterov, first);                            \
  }                                                                                                           \
  extern "C" __global__ void gpugrad_adam_step_##name(T** p, T** g, T** m, T** v, const long long* offsets,     \
                                                      int k, A lr, A b1, A b2, A eps, A wd, int decoupled,      \
                                                      A bc1, A bc2) {                                         \
    gpugrad::adam<T, A>(p, g, m, v, offsets, k, lr, b1, b2, eps, wd, decoupled, bc1, bc2);                    \
  }

GPUGRAD_OPTIM(f32, float, float)
GPUGRAD_OPTIM(f64, double, double)
GPUGRAD_OPTIM(f16, __half, float)
