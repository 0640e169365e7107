// Fused optimizer steps over up to kMaxTensors parameters in ONE launch: the tensors'
// pointers and prefix offsets travel by value in the kernel's parameters (a TensorLists
// struct, which the host builds as a NumPy record of the same layout), so nothing is
// copied to the device before the launch and the host never waits. Each thread finds its
// tensor by binary search over the offsets and updates one element. Loss scaling's unscale
// and inf/NaN check (amp_unscale) works the same way on up to kMaxGrads gradients.
#include "common.cuh"

namespace gpugrad {

constexpr int kMaxTensors = 32;

// lists: 0 parameters, 1 gradients (both of the kernel's T), 2 momentum buffers (SGD) or
// first moments (Adam), 3 second moments (Adam) (both of the accumulation type A: float for
// half/bfloat16, whose own range loses small moments); offset[i] = elements before tensor i,
// offset[count] = total.
// 1296 bytes, no padding: the host's record dtype (cuda_kernels.TENSOR_LISTS) matches it.
struct TensorLists {
  unsigned long long ptr[4][kMaxTensors];
  long long offset[kMaxTensors + 1];
  int count;
  int unused;
};
// members in order with no padding: ptr at 0, offset at 1024, count at 1288, unused at 1292
static_assert(sizeof(TensorLists::ptr) == 1024 && sizeof(TensorLists::offset) == 264 && sizeof(TensorLists) == 1296,
              "TensorLists must keep the layout of cuda_kernels.TENSOR_LISTS");

// one list of up to kMaxGrads gradients: 2064 bytes, the layout of cuda_kernels.GRAD_LIST
constexpr int kMaxGrads = 128;
struct GradList {
  unsigned long long ptr[kMaxGrads];
  long long offset[kMaxGrads + 1];
  int count;
  int unused;
};
static_assert(sizeof(GradList) == 2064, "GradList must keep the layout of cuda_kernels.GRAD_LIST");

template <typename Lists>
__device__ __forceinline__ int find_tensor(const Lists& l, long long idx) {
  int lo = 0, hi = l.count;  // offset[lo] <= idx < offset[hi]
  while (hi - lo > 1) {
    int mid = (lo + hi) / 2;
    if (l.offset[mid] <= idx) lo = mid; else hi = mid;
  }
  return lo;
}

template <typename T>
__device__ __forceinline__ T* tensor(const TensorLists& l, int list, int i) {
  return reinterpret_cast<T*>(l.ptr[list][i]);
}

// p -= lr d, d = g + wd p; momentum buffer b = mom b + (1 - damp) d (b = d when first),
// Nesterov d + mom b
template <typename T, typename A>
__device__ void sgd(const TensorLists& l, int has_buf, A lr, A mom, A damp, A wd, int nesterov, int first) {
  long long total = l.offset[l.count];
  for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
       idx += (long long)gridDim.x * blockDim.x) {
    int ti = find_tensor(l, idx);
    long long e = idx - l.offset[ti];
    T* p = tensor<T>(l, 0, ti) + e;
    A pv = (A)load(p);
    A d = (A)load(tensor<T>(l, 1, ti) + e) + wd * pv;
    if (has_buf) {
      A* bp = tensor<A>(l, 2, ti) + e;
      A b = first ? d : mom * (A)load(bp) + (A(1) - damp) * d;
      store(bp, b);
      d = nesterov ? d + mom * b : b;
    }
    store(p, pv - lr * d);
  }
}

// Adam (L2 in the gradient) or AdamW (decoupled decay); bc1 = 1 - b1^t, bc2 = 1 - b2^t
template <typename T, typename A>
__device__ void adam(const TensorLists& l, A lr, A b1, A b2, A eps, A wd, int decoupled, A bc1, A bc2) {
  long long total = l.offset[l.count];
  A step = lr / bc1;
  A rbc2 = A(1) / sqrt(bc2);
  for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
       idx += (long long)gridDim.x * blockDim.x) {
    int ti = find_tensor(l, idx);
    long long e = idx - l.offset[ti];
    T* p = tensor<T>(l, 0, ti) + e;
    A* m = tensor<A>(l, 2, ti) + e;
    A* v = tensor<A>(l, 3, ti) + e;
    A pv = (A)load(p);
    A gv = (A)load(tensor<T>(l, 1, ti) + e) + (decoupled ? A(0) : wd * pv);
    if (decoupled) pv *= A(1) - lr * wd;
    A mv = b1 * (A)load(m) + (A(1) - b1) * gv;
    A vv = b2 * (A)load(v) + (A(1) - b2) * gv * gv;
    store(m, mv);
    store(v, vv);
    store(p, pv - step * mv / (sqrt(vv) * rbc2 + eps));
  }
}

// Every gradient times *inv_scale in place (in A, rounded back to T once); *found_inf = 1
// when a stored product is inf or NaN, else left as it is. The product is tested, not the
// input: with a scale below 1, inv_scale is above 1 and a finite gradient can overflow (in
// T: a float product past 65504 is inf as a half). inv_scale is a device scalar, so
// nothing is read back to the host; a thread that saw a bad value writes the flag once.
template <typename T, typename A>
__device__ void amp_unscale(const GradList& l, int* found_inf, const float* inv_scale) {
  long long total = l.offset[l.count];
  A inv = (A)*inv_scale;
  const A inf = A(GPUGRAD_INF);
  bool bad = false;
  for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
       idx += (long long)gridDim.x * blockDim.x) {
    int ti = find_tensor(l, idx);
    T* g = reinterpret_cast<T*>(l.ptr[ti]) + (idx - l.offset[ti]);
    T v;
    store(&v, (A)load(g) * inv);
    *g = v;
    A stored = (A)load(&v);
    bad |= !(stored > -inf && stored < inf);  // false for NaN too
  }
  if (bad) atomicExch(found_inf, 1);
}

}  // namespace gpugrad

#define GPUGRAD_OPTIM(name, T, A)                                                                               \
  extern "C" __global__ void gpugrad_sgd_step_##name(const gpugrad::TensorLists lists, int has_buf, A lr,      \
                                                     A mom, A damp, A wd, int nesterov, int first) {            \
    gpugrad::sgd<T, A>(lists, has_buf, lr, mom, damp, wd, nesterov, first);                                   \
  }                                                                                                           \
  extern "C" __global__ void gpugrad_adam_step_##name(const gpugrad::TensorLists lists, A lr, A b1, A b2,      \
                                                      A eps, A wd, int decoupled, A bc1, A bc2) {             \
    gpugrad::adam<T, A>(lists, lr, b1, b2, eps, wd, decoupled, bc1, bc2);                                     \
  }                                                                                                           \
  extern "C" __global__ void gpugrad_amp_unscale_##name(const gpugrad::GradList grads, int* found_inf,         \
                                                        const float* inv_scale) {                             \
    gpugrad::amp_unscale<T, A>(grads, found_inf, inv_scale);                                                  \
  }

GPUGRAD_OPTIM(f32, float, float)
GPUGRAD_OPTIM(f64, double, double)
GPUGRAD_OPTIM(f16, __half, float)
GPUGRAD_OPTIM(bf16, __nv_bfloat16, float)
