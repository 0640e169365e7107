// Fused log-softmax + NLL. Forward: per row, one online pass for max and sum of exp (no
// second read of the row for the max; label smoothing reads it again, relative to the
// max), then the loss; a warp per row for small class
// counts, a block per row for large ones. With a reduction ('sum' or 'mean') the same
// kernel also reduces: every block adds its rows' losses and counted weights into red[0]
// and red[1], and the last block to finish writes the result (out) and d(result)/d(row)
// (scale: 1 for 'sum', 1 / total weight for 'mean', whatever the total, as PyTorch divides:
// an all-ignored batch's mean is NaN and its gradient 0), so a training
// step's forward is one launch and nothing is read back to the host. Backward: the
// gradient of every element in one pass, the upstream gradient read on the device (one
// value for all rows when g_stride is 0) and multiplied by scale.
// Options as on the CPU: ignore_index, label smoothing eps, class weights w (or null;
// Wsum points at their sum, or is null for c). A target outside [0, c) that is not
// ignore_index is recorded in err[0] as INT_MAX - row, kept at its largest (the smallest
// such row; err starts at 0 from a memset, so the forward is still one launch; the host
// checks it at its next read of any result), and that row counts nothing.
// The losses (and the backward's upstream gradient) have type O: the logits' type, or for
// float16/bfloat16 logits also float32 (the *_f32 variants), as autocast's float32
// cross-entropy gives, without a cast pass over the logits first: each logit is widened as
// it is loaded, so the results are those of the float32 kernel on the widened logits.
#include "common.cuh"

namespace gpugrad {

// The row's shift: its max m, or 0 for a row of -inf, as on the CPU. A row holding +inf is
// shifted by +inf, as PyTorch's log_softmax shifts it: its lse, loss and gradient are NaN.
template <typename A>
__device__ __forceinline__ A ce_shift(A m) {
  return m == -A(GPUGRAD_INF) ? A(0) : m;
}

// sum_j w_j (x_j - sh) over the classes start, start + stride, ...: the label-smoothing term's
// logits, taken relative to the row's shift sh (exact where the logits are huge; a sum of the
// x_j themselves would cancel against W lse at 5e21).
template <typename T, typename A>
__device__ __forceinline__ A ce_smooth_sum(const T* xi, const T* w, long long c, long long start, long long stride,
                                           A sh) {
  A ws = A(0);
  for (long long j = start; j < c; j += stride) ws += (w ? (A)load(w + j) : A(1)) * ((A)load(xi + j) - sh);
  return ws;
}

// The row's log-sum-exp in two parts, never added (PyTorch's order, log-probabilities
// (x - sh) - lse: sh + lse would round log(c) away next to a logit of 1e30): lse[i] = log sum_j
// exp(x_j - sh) and lse[n + i] = sh. Returns the row's loss and counted weight (0 and 0 for
// an ignored or bad target), also written to loss[i] when loss is not null. ws is
// ce_smooth_sum over the row (read only with smoothing, as W).
template <typename T, typename A, typename O>
__device__ void ce_row_finish(const T* xi, long long i, long long n, long long t, const T* w, A W, long long c,
                              long long ignore, A eps, A m, A s, A ws, O* loss, A* lse, int* err, A& lv, A& wti) {
  // m finite: s >= 1 counts exp(x - m); m = +inf: exp(inf - inf) is NaN (PyTorch's NaN row);
  // a row of -inf: log 0
  A l = m == A(GPUGRAD_INF) ? m - m : (s > A(0) ? log_(s) : -A(GPUGRAD_INF));
  if (s != s) l = s;  // NaN in the row
  A sh = ce_shift(m);
  lse[i] = l;
  lse[n + i] = sh;
  bool keep = t != ignore && t >= 0 && t < c;
  if (t != ignore && !keep) atomicMax(err, 0x7fffffff - (int)(i < 0x7ffffffe ? i : 0x7ffffffe));
  lv = A(0);
  wti = A(0);
  if (keep) {
    wti = w ? (A)load(w + t) : A(1);
    lv = wti * (l - ((A)load(xi + t) - sh));
    if (eps != A(0)) lv = (A(1) - eps) * lv + eps * (W * l - ws) / A(c);
  }
  if (loss) store(loss + i, lv);
}

// One block's share of the reduction (called by thread 0 with the block's sums): add it in,
// and the last block to arrive writes the result and the scale.
template <typename O, typename A>
__device__ void ce_reduce(A block_loss, A block_wt, A* red, unsigned int* ticket, int mean, O* out, A* scale) {
  atomicAdd(red, block_loss);
  atomicAdd(red + 1, block_wt);
  __threadfence();
  if (atomicAdd(ticket, 1u) == gridDim.x - 1) {
    A sum = atomicAdd(red, A(0)), total = atomicAdd(red + 1, A(0));  // read through L2
    // as PyTorch divides, whatever the total: an all-ignored batch gives NaN (0 / 0), weights
    // summing to 0 inf or NaN, a negative sum flips the sign
    A sc = mean ? A(1) / total : A(1);
    store(out, mean ? sum / total : sum);
    *scale = sc;
  }
}

// One thread's share of a row: the online max m and sum s of exp(x - m) over classes
// start, start + stride, ... A NaN poisons s.
template <typename T, typename A>
__device__ __forceinline__ void ce_accumulate(const T* xi, long long c, long long start, long long stride, A& m, A& s) {
  m = -A(GPUGRAD_INF);
  s = A(0);
  for (long long j = start; j < c; j += stride) {
    A v = (A)load(xi + j);
    lse_merge(m, s, v, A(1));
    if (v != v) s = v;
  }
}

// one warp per row: lanes stride over the classes
template <typename T, typename A, typename O>
__device__ void ce_fwd_warp(const T* x, const long long* t, const T* w, const A* Wsum, long long n, long long c,
                            long long ignore, A eps, O* loss, A* lse, int* err, A* red, unsigned int* ticket, int mean,
                            O* out, A* scale) {
  __shared__ A bl[32], bw[32];
  long long row = (long long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  A lv = A(0), wti = A(0);
  if (row < n) {
    const T* xi = x + row * c;
    A m, s, ws = A(0);
    ce_accumulate(xi, c, lane, 32, m, s);
    warp_lse(m, s);  // every lane ends with the row's m and s
    if (eps != A(0)) ws = warp_sum(ce_smooth_sum(xi, w, c, lane, 32, ce_shift(m)));
    if (lane == 0)
      ce_row_finish(xi, row, n, t[row], w, Wsum ? *Wsum : A(c), c, ignore, eps, m, s, ws, loss, lse, err, lv, wti);
  }
  if (!red) return;  // reduction 'none': the rows are the result
  if (lane == 0) {
    bl[warp] = lv;
    bw[warp] = wti;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    A sl = A(0), sw = A(0);
    for (int k = 0; k < (int)(blockDim.x / 32); ++k) {
      sl += bl[k];
      sw += bw[k];
    }
    ce_reduce(sl, sw, red, ticket, mean, out, scale);
  }
}

// one block per row: online max/sum per thread, then across warps through shared memory
template <typename T, typename A, typename O>
__device__ void ce_fwd_block(const T* x, const long long* t, const T* w, const A* Wsum, long long n, long long c,
                             long long ignore, A eps, O* loss, A* lse, int* err, A* red, unsigned int* ticket,
                             int mean, O* out, A* scale) {
  __shared__ A sm[32], ss[32], sw[32], row_ms[2];
  long long row = blockIdx.x;  // the grid has exactly n blocks
  const T* xi = x + row * c;
  A m, s, ws = A(0);
  ce_accumulate(xi, c, (long long)threadIdx.x, (long long)blockDim.x, m, s);
  warp_lse(m, s);
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = (blockDim.x + 31) / 32;
  if (lane == 0) {
    sm[warp] = m;
    ss[warp] = s;
  }
  __syncthreads();
  if (warp == 0) {
    m = lane < warps ? sm[lane] : -A(GPUGRAD_INF);
    s = lane < warps ? ss[lane] : A(0);
    warp_lse(m, s);
    if (lane == 0) {
      row_ms[0] = m;
      row_ms[1] = s;
    }
  }
  __syncthreads();
  m = row_ms[0];
  s = row_ms[1];
  if (eps != A(0)) {  // a second read of the row, relative to its shift (eps is the same for every thread)
    ws = warp_sum(ce_smooth_sum(xi, w, c, (long long)threadIdx.x, (long long)blockDim.x, ce_shift(m)));
    if (lane == 0) sw[warp] = ws;
    __syncthreads();
    if (warp == 0) ws = warp_sum(lane < warps ? sw[lane] : A(0));
  }
  if (threadIdx.x == 0) {
    A lv, wti;
    ce_row_finish(xi, row, n, t[row], w, Wsum ? *Wsum : A(c), c, ignore, eps, m, s, ws, loss, lse, err, lv, wti);
    if (red) ce_reduce(lv, wti, red, ticket, mean, out, scale);
  }
}

// gx[i, j] = g_i keep_i ((1 - eps) w_t (p_j - [j == t]) + eps (W p_j - w_j) / c),
// p_j = exp((x_ij - sh_i) - lse_i) with lse holding the forward's lse (n) then shifts (n),
// g_i = g[i * g_stride] * scale. Without smoothing neither W nor the w_j are read: a NaN
// weight of a class no target names costs nothing, as in PyTorch. An ignored row gets 0 p_j
// (PyTorch's 0 - p * 0): 0, or NaN where its log-probabilities are NaN.
template <typename T, typename A, typename O>
__device__ void ce_bwd(const T* x, const long long* t, const T* w, const A* Wsum, const A* lse, const O* g,
                       long long g_stride, const A* scale, long long n, long long c, long long ignore, A eps, T* gx) {
  long long total = n * c;
  A smooth = eps != A(0) ? eps * (Wsum ? *Wsum : A(c)) / A(c) : A(0);
  A sc = scale ? *scale : A(1);
  for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
       k += (long long)gridDim.x * blockDim.x) {
    long long i = k / c, j = k - i * c;
    long long ti = t[i];
    bool keep = ti != ignore && ti >= 0 && ti < c;
    A gi = keep ? (A)load(g + i * g_stride) * sc : A(0);
    A wti = keep ? (w ? (A)load(w + ti) : A(1)) : A(0);
    A p = exp_(((A)load(x + k) - lse[n + i]) - lse[i]);
    A v = gi * ((A(1) - eps) * wti + smooth) * p;
    if (eps != A(0)) v -= gi * eps / A(c) * (w ? (A)load(w + j) : A(1));  // not 0 * g: g is inf where a mean divides by 0
    if (j == ti) v -= gi * (A(1) - eps) * wti;
    store(gx + k, v);
  }
}

}  // namespace gpugrad

#define GPUGRAD_CE_FWD_ARGS(T, A, O)                                                                               \
  const T *x, const long long *t, const T *w, const A *Wsum, long long n, long long c, long long ig, A eps,       \
      O *loss, A *lse, int *err, A *red, unsigned int *ticket, int mean, O *out, A *scale

#define GPUGRAD_CE(name, T, A, O)                                                                                  \
  extern "C" __global__ void gpugrad_cross_entropy_fwd_warp_##name(GPUGRAD_CE_FWD_ARGS(T, A, O)) {               \
    gpugrad::ce_fwd_warp<T, A, O>(x, t, w, Wsum, n, c, ig, eps, loss, lse, err, red, ticket, mean, out, scale);  \
  }                                                                                                              \
  extern "C" __global__ void gpugrad_cross_entropy_fwd_block_##name(GPUGRAD_CE_FWD_ARGS(T, A, O)) {              \
    gpugrad::ce_fwd_block<T, A, O>(x, t, w, Wsum, n, c, ig, eps, loss, lse, err, red, ticket, mean, out, scale); \
  }                                                                                                              \
  extern "C" __global__ void gpugrad_cross_entropy_bwd_##name(const T* x, const long long* t, const T* w,        \
                                                              const A* Wsum, const A* lse, const O* g,          \
                                                              long long g_stride, const A* scale, long long n,  \
                                                              long long c, long long ig, A eps, T* gx) {        \
    gpugrad::ce_bwd<T, A, O>(x, t, w, Wsum, lse, g, g_stride, scale, n, c, ig, eps, gx);                        \
  }

GPUGRAD_CE(f32, float, float, float)
GPUGRAD_CE(f64, double, double, double)
GPUGRAD_CE(f16, __half, float, __half)
GPUGRAD_CE(bf16, __nv_bfloat16, float, __nv_bfloat16)
GPUGRAD_CE(f16_f32, __half, float, float)
GPUGRAD_CE(bf16_f32, __nv_bfloat16, float, float)
