// Fused log-softmax + NLL. Forward: per row, one online pass for max and sum of exp (no
// second read of the row for the max), then the loss; a warp per row for small class
// counts, a block per row for large ones. Backward: the gradient of every element in one
// pass. Options as on the CPU: ignore_index, label smoothing eps, class weights w (or
// null), and the upstream gradient per row (g) or one value for all rows (g == null).
// A target outside [0, c) that is not ignore_index is recorded in err[0] (the smallest
// such row) and that row counts nothing.
#include "common.cuh"

namespace gpugrad {

template <typename T, typename A>
__device__ void ce_row_finish(const T* xi, long long i, long long t, const T* w, A W, long long c, long long ignore,
                              A eps, A m, A s, A ws, A* loss, A* lse, A* wt, int* err) {
  A l = (s > A(0) ? log_(s) : -A(GPUGRAD_INF)) + (m == -A(GPUGRAD_INF) ? A(0) : m);
  if (s != s) l = s;  // NaN in the row
  lse[i] = l;
  bool keep = t != ignore && t >= 0 && t < c;
  if (t != ignore && !keep) atomicMin(err, (int)(i < 0x7fffffff ? i : 0x7fffffff));
  if (!keep) {
    loss[i] = A(0);
    wt[i] = A(0);
    return;
  }
  A wti = w ? (A)load(w + t) : A(1);
  A lv = wti * (l - (A)load(xi + t));
  if (eps != A(0)) lv = (A(1) - eps) * lv + eps * (W * l - ws) / A(c);
  loss[i] = lv;
  wt[i] = wti;
}

// One thread's share of a row: the online max m and sum s of exp(x - m) over classes
// start, start + stride, ...; ws = sum of w_j x_j for label smoothing. A NaN poisons s.
template <typename T, typename A>
__device__ __forceinline__ void ce_accumulate(const T* xi, const T* w, long long c, long long start, long long stride,
                                              A eps, A& m, A& s, A& ws) {
  m = -A(GPUGRAD_INF);
  s = A(0);
  ws = A(0);
  for (long long j = start; j < c; j += stride) {
    A v = (A)load(xi + j);
    lse_merge(m, s, v, A(1));
    if (v != v) s = v;
    if (eps != A(0)) ws += (w ? (A)load(w + j) : A(1)) * v;
  }
}

// one warp per row: lanes stride over the classes
template <typename T, typename A>
__device__ void ce_fwd_warp(const T* x, const long long* t, const T* w, A W, long long n, long long c,
                            long long ignore, A eps, A* loss, A* lse, A* wt, int* err) {
  long long row = (long long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  int lane = threadIdx.x % 32;
  if (row >= n) return;
  const T* xi = x + row * c;
  A m, s, ws;
  ce_accumulate(xi, w, c, lane, 32, eps, m, s, ws);
  warp_lse(m, s);
  ws = warp_sum(ws);
  if (lane == 0) ce_row_finish(xi, row, t[row], w, W, c, ignore, eps, m, s, ws, loss, lse, wt, err);
}

// one block per row: online max/sum per thread, then across warps through shared memory
template <typename T, typename A>
__device__ void ce_fwd_block(const T* x, const long long* t, const T* w, A W, long long n, long long c,
                             long long ignore, A eps, A* loss, A* lse, A* wt, int* err) {
  __shared__ A sm[32], ss[32], sw[32];
  long long row = blockIdx.x;
  if (row >= n) return;
  const T* xi = x + row * c;
  A m, s, ws;
  ce_accumulate(xi, w, c, (long long)threadIdx.x, (long long)blockDim.x, eps, m, s, ws);
  warp_lse(m, s);
  ws = warp_sum(ws);
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = (blockDim.x + 31) / 32;
  if (lane == 0) {
    sm[warp] = m;
    ss[warp] = s;
    sw[warp] = ws;
  }
  __syncthreads();
  if (warp == 0) {
    m = lane < warps ? sm[lane] : -A(GPUGRAD_INF);
    s = lane < warps ? ss[lane] : A(0);
    ws = lane < warps ? sw[lane] : A(0);
    warp_lse(m, s);
    ws = warp_sum(ws);
    if (lane == 0) ce_row_finish(xi, row, t[row], w, W, c, ignore, eps, m, s, ws, loss, lse, wt, err);
  }
}

// gx[i, j] = g_i keep_i ((1 - eps) w_t (p_j - [j == t]) + eps (W p_j - w_j) / c), p_j = exp(x_ij - lse_i)
template <typename T, typename A>
__device__ void ce_bwd(const T* x, const long long* t, const T* w, A W, const A* lse, const A* g, A g_all,
                       long long n, long long c, long long ignore, A eps, T* gx) {
  long long total = n * c;
  for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
       k += (long long)gridDim.x * blockDim.x) {
    long long i = k / c, j = k - i * c;
    long long ti = t[i];
    bool keep = ti != ignore && ti >= 0 && ti < c;
    A gi = keep ? (g ? g[i] : g_all) : A(0);
    A wti = keep ? (w ? (A)load(w + ti) : A(1)) : A(0);
    A p = exp_((A)load(x + k) - lse[i]);
    A v = gi * ((A(1) - eps) * wti + eps * W / A(c)) * p - gi * eps / A(c) * (w ? (A)load(w + j) : A(1));
    if (j == ti) v -= gi * (A(1) - eps) * wti;
    store(gx + k, keep ? v : A(0));
  }
}

}  // namespace gpugrad

#define GPUGRAD_CE(name, T, A)                                                                                     \
  extern "C" __global__ void gpugrad_cross_entropy_fwd_warp_##name(const T* x, const long long* t, const T* w,   \
                                                                   A W, long long n, long long c, long long ig, \
                                                                   A eps, A* loss, A* lse, A* wt, int* err) {   \
    gpugrad::ce_fwd_warp<T, A>(x, t, w, W, n, c, ig, eps, loss, lse, wt, err);                                  \
  }                                                                                                              \
  extern "C" __global__ void gpugrad_cross_entropy_fwd_block_##name(const T* x, const long long* t, const T* w,  \
                                                                    A W, long long n, long long c, long long ig, \
                                                                    A eps, A* loss, A* lse, A* wt, int* err) {  \
    gpugrad::ce_fwd_block<T, A>(x, t, w, W, n, c, ig, eps, loss, lse, wt, err);                                 \
  }                                                                                                              \
  extern "C" __global__ void gpugrad_cross_entropy_bwd_##name(const T* x, const long long* t, const T* w, A W,   \
                                                              const A* lse, const A* g, A g_all, long long n,   \
                                                              long long c, long long ig, A eps, T* gx) {        \
    gpugrad::ce_bwd<T, A>(x, t, w, W, lse, g, g_all, n, c, ig, eps, gx);                                        \
  }

GPUGRAD_CE(f32, float, float)
GPUGRAD_CE(f64, double, double)
GPUGRAD_CE(f16, __half, float)
GPUGRAD_CE(bf16, __nv_bfloat16, float)
