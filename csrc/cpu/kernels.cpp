// CPU kernels. Each hot loop lives in a function compiled for several instruction sets
// (GCC's target_clones: AVX-512, AVX2 and a baseline), and the loader picks the widest one
// the CPU has at run time, so one portable build gets vector code where it exists.
// No -ffast-math: inf/NaN keep their IEEE meaning; reductions vectorize through
// "omp simd reduction", which allows reassociation for that loop only.
#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "vexp.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define GPUGRAD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GPUGRAD_CLONES
#endif

namespace gpugrad {

namespace {

// Threads pay off for compute-bound work (the exps of cross-entropy) on large inputs; the
// memory-bound passes (bias+ReLU, optimizer steps) run on one thread unless they are very
// large, since a training step interleaves them with the BLAS, whose own threads are
// still spinning when these start.
constexpr int64_t kParallelCompute = int64_t(1) << 15;
constexpr int64_t kParallelMemory = int64_t(1) << 23;
// measured in an MLP step: right after the backward GEMMs a threaded optimizer pass ran at
// half the speed of a single thread (the BLAS workers still hold the other core)
constexpr int64_t kParallelOptimizer = kParallelMemory;

template <typename F>
void parallel_rows(int64_t n, int64_t work_per_row, F body, int64_t threshold = kParallelCompute) {
#ifdef _OPENMP
  if (n * work_per_row >= threshold && omp_get_max_threads() > 1) {
    int threads = omp_get_max_threads();
#pragma omp parallel num_threads(threads)
    {
      int tid = omp_get_thread_num(), nt = omp_get_num_threads();
      int64_t lo = n * tid / nt, hi = n * (tid + 1) / nt;
      if (lo < hi) body(lo, hi);
    }
    return;
  }
#endif
  body(0, n);
}

template <typename T>
GPUGRAD_INLINE T row_max(const T* x, int64_t c) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < c; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// Rows with few classes (at most kNarrow): a row is shorter than a vector register, so
// work across rows instead, kRows rows at a time. The block is copied once into a
// transposed scratch (xt[j * kRows + i] = x[i, j]) so that every pass after it runs down
// contiguous columns with vector lanes across rows.
constexpr int64_t kNarrow = 32, kRows = 64;

template <typename T>
GPUGRAD_INLINE void transpose_block(const T* xb, int64_t nr, int64_t c, T* xt) {
  for (int64_t j = 0; j < c; ++j) {
#pragma omp simd
    for (int64_t i = 0; i < nr; ++i) xt[j * kRows + i] = xb[i * c + j];
  }
}

// The shift of a row with maximum m: m itself, or 0 for a row of -inf. A row holding +inf
// is shifted by +inf, as PyTorch's log_softmax shifts it: x - m is NaN at the +inf, so the
// row's lse, loss and every log-probability and gradient come out NaN, as PyTorch's do. A
// row of -inf gets lse = log 0 = -inf and NaN log-probabilities (-inf - -inf), as well.
template <typename T>
GPUGRAD_INLINE T row_shift(T m) {
  return m == -std::numeric_limits<T>::infinity() ? T(0) : m;
}

// For a transposed block: m[i] = the row's shift (row_shift), xt replaced by exp(x - m),
// s[i] = the row's sum of those exps.
template <typename T>
GPUGRAD_INLINE void block_exps(T* xt, int64_t nr, int64_t c, T* m, T* s) {
#pragma omp simd
  for (int64_t i = 0; i < nr; ++i) m[i] = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < c; ++j) {
#pragma omp simd
    for (int64_t i = 0; i < nr; ++i) m[i] = xt[j * kRows + i] > m[i] ? xt[j * kRows + i] : m[i];
  }
#pragma omp simd
  for (int64_t i = 0; i < nr; ++i) {
    m[i] = row_shift(m[i]);
    s[i] = T(0);
  }
  for (int64_t j = 0; j < c; ++j) {
#pragma omp simd
    for (int64_t i = 0; i < nr; ++i) {
      T e = vexp(xt[j * kRows + i] - m[i]);
      xt[j * kRows + i] = e;
      s[i] += e;
    }
  }
}

// The log-sum-exp of a row is kept in two parts, the shift m (row_shift) and
// lse = log sum_j exp(x_j - m), never added: log-probabilities are then (x_j - m) - lse, in
// PyTorch's order. m + lse would round log(c) away next to a logit of 1e30 (a row of equal
// logits would cost 0, not log c, and get p = 1 for every class). Only lse is stored for the
// backward pass, which takes m again from the row (a max pass, no exps).
template <typename T>
GPUGRAD_INLINE T shift_of(const T* xi, int64_t c) {
  return row_shift(row_max(xi, c));
}

// shift[i] and lse[i] for rows [r0, r1) with few classes, the logs taken by the vectorizable vlog.
template <typename T>
GPUGRAD_INLINE void lse_narrow(const T* x, int64_t r0, int64_t r1, int64_t c, T* shift, T* lse) {
  alignas(64) T xt[kNarrow * kRows];
  alignas(64) T m[kRows], s[kRows];
  for (int64_t i0 = r0; i0 < r1; i0 += kRows) {
    int64_t nr = std::min(kRows, r1 - i0);
    transpose_block(x + i0 * c, nr, c, xt);
    block_exps(xt, nr, c, m, s);
#pragma omp simd
    for (int64_t i = 0; i < nr; ++i) {
      lse[i0 + i] = vlog(s[i]);
      shift[i0 + i] = m[i];
    }
  }
}

// shift[i] and lse[i] for rows [r0, r1) with many classes: a vector pass for the max, one for the sum.
template <typename T>
GPUGRAD_INLINE void lse_wide(const T* x, int64_t r0, int64_t r1, int64_t c, T* shift, T* lse) {
  for (int64_t i = r0; i < r1; ++i) {
    const T* xi = x + i * c;
    // A NaN is skipped by the max (comparisons with it are false) but reaches the sum
    // through exp(NaN) = NaN, so the row's lse and loss come out NaN, as they should.
    T m = shift_of(xi, c);
    T s = T(0);
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < c; ++j) s += vexp(xi[j] - m);
    lse[i] = std::log(s);
    shift[i] = m;
  }
}

// Sum of the class weights (c without weights): W in the smoothing terms.
template <typename T>
GPUGRAD_INLINE T weight_sum(const T* w, int64_t c) {
  if (!w) return T(c);
  T W = T(0);
  for (int64_t j = 0; j < c; ++j) W += w[j];
  return W;
}

// The gradient of an ignored row whose exps (relative to its shift) sum to s: 0 times its
// probabilities, as PyTorch's log_softmax backward gives it (0 - p * 0): 0, or NaN where the
// row's log-probabilities are NaN (s NaN: a NaN or +inf logit; s = 0: a row of -inf). The
// row counts nothing in the loss all the same.
template <typename T>
GPUGRAD_INLINE T ignored_grad(T s) {
  return T(0) / s;
}

// What the smoothing term adds to the gradient: eps W / c on every p_j (the returned value)
// and -eps w_j / c per class (*sw: the weights it reads, or null for ones). Without smoothing
// neither W nor w_j is read, so that a NaN or inf weight of a class no target names costs
// nothing, as in PyTorch (whose NLL reads only w[t]): 0 * NaN would be NaN.
template <typename T>
GPUGRAD_INLINE T smoothing_share(const T* w, int64_t c, T eps, const T** sw) {
  *sw = eps != T(0) ? w : nullptr;
  return eps != T(0) ? eps * weight_sum(w, c) / T(c) : T(0);
}

// One counted row's loss from its shift m and lse: w_t (lse - (x_t - m)), blended with the
// smoothing term eps / c * sum_j w_j (lse - (x_j - m)) = eps (W lse - sum_j w_j (x_j - m)) / c.
// The logits enter only as x - m, which is exact where x is huge (a sum of the x_j themselves
// would cancel catastrophically against W (m + lse) at 5e21).
template <typename T>
GPUGRAD_INLINE T row_loss(const T* xi, int64_t ti, const T* w, T W, int64_t c, T eps, T m, T l) {
  T lv = (w ? w[ti] : T(1)) * (l - (xi[ti] - m));
  if (eps == T(0)) return lv;
  T ws = T(0);
  if (w) {
#pragma omp simd reduction(+ : ws)
    for (int64_t j = 0; j < c; ++j) ws += w[j] * (xi[j] - m);
  } else {
#pragma omp simd reduction(+ : ws)
    for (int64_t j = 0; j < c; ++j) ws += xi[j] - m;
  }
  return (T(1) - eps) * lv + eps * (W * l - ws) / T(c);
}

// The per-row losses from lse, inlined into each instruction-set clone below.
template <typename T>
GPUGRAD_INLINE int64_t ce_fwd_rows(const T* x, const int64_t* t, const T* w, int64_t r0, int64_t r1, int64_t c,
                           int64_t ignore_index, T eps, T* loss, T* lse, T* wt) {
  // loss[i] holds the row's shift until the row's loss replaces it
  if (c <= kNarrow) {
    lse_narrow(x, r0, r1, c, loss, lse);
  } else {
    lse_wide(x, r0, r1, c, loss, lse);
  }
  int64_t bad = -1;
  const T W = weight_sum(w, c);
  for (int64_t i = r0; i < r1; ++i) {
    int64_t ti = t[i];
    if (ti == ignore_index || ti < 0 || ti >= c) {
      if (ti != ignore_index && bad < 0) bad = i;
      loss[i] = T(0);
      wt[i] = T(0);
      continue;
    }
    loss[i] = row_loss(x + i * c, ti, w, W, c, eps, loss[i], lse[i]);
    wt[i] = w ? w[ti] : T(1);
  }
  return bad;
}

template <typename T>
GPUGRAD_INLINE void ce_bwd_rows(const T* x, const int64_t* t, const T* w, const T* lse, const T* g, int64_t r0,
                                int64_t r1, int64_t c, int64_t ignore_index, T eps, T* gx, T g_all = T(0)) {
  // g: the upstream gradient per row, or nullptr when every row has g_all
  const T* sw;
  const T smooth = smoothing_share(w, c, eps, &sw);
  constexpr int64_t R = 64;
  T a[R], e[R], m[R], l[R];
  for (int64_t i0 = r0; i0 < r1; i0 += R) {
    int64_t nr = std::min(R, r1 - i0);
    const T* xb = x + i0 * c;
    T* gb = gx + i0 * c;
    // per row: gx = a p - e w_j, p = exp((x - m) - lse), then the target column gets -g (1 - eps) w_t
    for (int64_t i = 0; i < nr; ++i) {
      int64_t ti = t[i0 + i];
      bool keep = ti != ignore_index && ti >= 0 && ti < c;
      T gi = keep ? (g ? g[i0 + i] : g_all) : T(0);
      T wti = keep ? (w ? w[ti] : T(1)) : T(0);
      a[i] = gi * ((T(1) - eps) * wti + smooth);
      e[i] = eps != T(0) ? gi * eps / T(c) : T(0);  // not 0 * g: g is inf where a mean divides by 0
      m[i] = shift_of(xb + i * c, c);
      l[i] = lse[i0 + i];
    }
    if (c <= kNarrow) {  // few classes: vector lanes run across rows
      for (int64_t j = 0; j < c; ++j) {
        T wj = sw ? sw[j] : T(1);
#pragma omp simd
        for (int64_t i = 0; i < nr; ++i) gb[i * c + j] = a[i] * vexp((xb[i * c + j] - m[i]) - l[i]) - e[i] * wj;
      }
    } else {
      for (int64_t i = 0; i < nr; ++i) {
        const T* xi = xb + i * c;
        T* gi = gb + i * c;
        T ai = a[i], ei = e[i], mi = m[i], li = l[i];
        if (sw) {
#pragma omp simd
          for (int64_t j = 0; j < c; ++j) gi[j] = ai * vexp((xi[j] - mi) - li) - ei * sw[j];
        } else {
#pragma omp simd
          for (int64_t j = 0; j < c; ++j) gi[j] = ai * vexp((xi[j] - mi) - li) - ei;
        }
      }
    }
    for (int64_t i = 0; i < nr; ++i) {
      int64_t ti = t[i0 + i];
      if (ti == ignore_index || ti < 0 || ti >= c) {
        T z = ignored_grad(std::exp(l[i]));
        for (int64_t j = 0; j < c; ++j) gb[i * c + j] = z;
        continue;
      }
      gb[i * c + ti] -= (g ? g[i0 + i] : g_all) * (T(1) - eps) * (w ? w[ti] : T(1));
    }
  }
}

// Forward and gradient for rows of at most kNarrow classes, a transposed block at a time:
// each element's exp is taken once and reused for the gradient, and the gradient goes back
// to row-major order as contiguous stores (loads by index from the scratch, which is in
// L1) rather than strided stores.
template <typename T>
GPUGRAD_INLINE int64_t ce_fwd_bwd_narrow(const T* x, const int64_t* t, const T* w, int64_t r0, int64_t r1,
                                         int64_t c, int64_t ignore_index, T eps, T g, T* loss, T* lse, T* wt,
                                         T* gx) {
  alignas(64) T xt[kNarrow * kRows];
  alignas(64) T m[kRows], s[kRows], a[kRows];
  int32_t back[kNarrow * kRows];  // gx[i * c + j] = xt[back[i * c + j]] within a block
  for (int64_t i = 0; i < kRows; ++i)
    for (int64_t j = 0; j < c; ++j) back[i * c + j] = int32_t(j * kRows + i);
  const T W = weight_sum(w, c);
  const T* sw;
  const T smooth = smoothing_share(w, c, eps, &sw);
  const T e2 = eps != T(0) ? g * eps / T(c) : T(0);  // not 0 * g: g is inf where a mean divides by 0
  int64_t bad = -1;
  for (int64_t i0 = r0; i0 < r1; i0 += kRows) {
    const int64_t nr = std::min(kRows, r1 - i0);
    const T* xb = x + i0 * c;
    T* gb = gx + i0 * c;
    transpose_block(xb, nr, c, xt);
    block_exps(xt, nr, c, m, s);
#pragma omp simd
    for (int64_t i = 0; i < nr; ++i) lse[i0 + i] = vlog(s[i]);
    for (int64_t i = 0; i < nr; ++i) {
      int64_t ti = t[i0 + i];
      if (ti == ignore_index || ti < 0 || ti >= c) {
        if (ti != ignore_index && bad < 0) bad = i0 + i;
        loss[i0 + i] = wt[i0 + i] = a[i] = T(0);
        continue;
      }
      T wti = w ? w[ti] : T(1);
      loss[i0 + i] = row_loss(xb + i * c, ti, w, W, c, eps, m[i], lse[i0 + i]);
      wt[i0 + i] = wti;
      // p_j = e_j / s: gx = g ((1 - eps) w_t + eps W / c) p_j - g eps w_j / c, minus the target's share
      a[i] = g * ((T(1) - eps) * wti + smooth) / s[i];
    }
    for (int64_t j = 0; j < c; ++j) {
      T ej = e2 * (sw ? sw[j] : T(1));
#pragma omp simd
      for (int64_t i = 0; i < nr; ++i) xt[j * kRows + i] = xt[j * kRows + i] * a[i] - ej;
    }
#pragma omp simd
    for (int64_t k = 0; k < nr * c; ++k) gb[k] = xt[back[k]];
    for (int64_t i = 0; i < nr; ++i) {
      int64_t ti = t[i0 + i];
      if (ti == ignore_index || ti < 0 || ti >= c) {
        T z = ignored_grad(s[i]);
        for (int64_t j = 0; j < c; ++j) gb[i * c + j] = z;
        continue;
      }
      gb[i * c + ti] -= g * (T(1) - eps) * (w ? w[ti] : T(1));
    }
  }
  return bad;
}

// Forward and the gradient for a uniform upstream g in one sweep, a block of rows at a
// time, so the backward re-reads each row from cache instead of memory.
template <typename T>
GPUGRAD_INLINE int64_t ce_fwd_bwd_rows(const T* x, const int64_t* t, const T* w, int64_t r0, int64_t r1, int64_t c,
                                       int64_t ignore_index, T eps, T g, T* loss, T* lse, T* wt, T* gx) {
  int64_t bad = -1;
  if (c > kNarrow) {  // wide rows: one exp per element, kept in gx and rescaled in cache
    const T W = weight_sum(w, c);
    const T* sw;
    const T smooth = smoothing_share(w, c, eps, &sw);
    const T e2 = eps != T(0) ? g * eps / T(c) : T(0);  // not 0 * g: g is inf where a mean divides by 0
    for (int64_t i = r0; i < r1; ++i) {
      const T* xi = x + i * c;
      T* gi = gx + i * c;
      int64_t ti = t[i];
      bool keep = ti != ignore_index && ti >= 0 && ti < c;
      if (!keep && ti != ignore_index && bad < 0) bad = i;
      T shift = shift_of(xi, c);
      T sum = T(0);
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < c; ++j) {
        T e = vexp(xi[j] - shift);
        gi[j] = e;
        sum += e;
      }
      T l = std::log(sum);
      lse[i] = l;
      if (!keep) {
        loss[i] = T(0);
        wt[i] = T(0);
        T z = ignored_grad(sum);
        for (int64_t j = 0; j < c; ++j) gi[j] = z;
        continue;
      }
      T wti = w ? w[ti] : T(1);
      loss[i] = row_loss(xi, ti, w, W, c, eps, shift, l);
      wt[i] = wti;
      // p_j = e_j / sum: gx = g ((1 - eps) w_t + eps W / c) p_j - g eps w_j / c, minus the target's share
      T a = g * ((T(1) - eps) * wti + smooth) / sum;
      if (sw) {
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) gi[j] = gi[j] * a - e2 * sw[j];
      } else {
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) gi[j] = gi[j] * a - e2;
      }
      gi[ti] -= g * (T(1) - eps) * wti;
    }
    return bad;
  }
  return ce_fwd_bwd_narrow(x, t, w, r0, r1, c, ignore_index, eps, g, loss, lse, wt, gx);
}

GPUGRAD_CLONES int64_t ce_fwd_bwd_f32(const float* x, const int64_t* t, const float* w, int64_t r0, int64_t r1,
                                      int64_t c, int64_t ig, float eps, float g, float* loss, float* lse, float* wt,
                                      float* gx) {
  return ce_fwd_bwd_rows(x, t, w, r0, r1, c, ig, eps, g, loss, lse, wt, gx);
}
GPUGRAD_CLONES int64_t ce_fwd_bwd_f64(const double* x, const int64_t* t, const double* w, int64_t r0, int64_t r1,
                                      int64_t c, int64_t ig, double eps, double g, double* loss, double* lse,
                                      double* wt, double* gx) {
  return ce_fwd_bwd_rows(x, t, w, r0, r1, c, ig, eps, g, loss, lse, wt, gx);
}
GPUGRAD_INLINE int64_t ce_fwd_bwd_dispatch(const float* x, const int64_t* t, const float* w, int64_t r0, int64_t r1,
                                           int64_t c, int64_t ig, float eps, float g, float* loss, float* lse,
                                           float* wt, float* gx) {
  return ce_fwd_bwd_f32(x, t, w, r0, r1, c, ig, eps, g, loss, lse, wt, gx);
}
GPUGRAD_INLINE int64_t ce_fwd_bwd_dispatch(const double* x, const int64_t* t, const double* w, int64_t r0, int64_t r1,
                                           int64_t c, int64_t ig, double eps, double g, double* loss, double* lse,
                                           double* wt, double* gx) {
  return ce_fwd_bwd_f64(x, t, w, r0, r1, c, ig, eps, g, loss, lse, wt, gx);
}

GPUGRAD_CLONES int64_t ce_fwd_f32(const float* x, const int64_t* t, const float* w, int64_t r0, int64_t r1,
                                  int64_t c, int64_t ig, float eps, float* loss, float* lse, float* wt) {
  return ce_fwd_rows(x, t, w, r0, r1, c, ig, eps, loss, lse, wt);
}
GPUGRAD_CLONES int64_t ce_fwd_f64(const double* x, const int64_t* t, const double* w, int64_t r0, int64_t r1,
                                  int64_t c, int64_t ig, double eps, double* loss, double* lse, double* wt) {
  return ce_fwd_rows(x, t, w, r0, r1, c, ig, eps, loss, lse, wt);
}
GPUGRAD_CLONES void ce_bwd_f32(const float* x, const int64_t* t, const float* w, const float* lse, const float* g,
                               int64_t r0, int64_t r1, int64_t c, int64_t ig, float eps, float* gx) {
  ce_bwd_rows(x, t, w, lse, g, r0, r1, c, ig, eps, gx);
}
GPUGRAD_CLONES void ce_bwd_f64(const double* x, const int64_t* t, const double* w, const double* lse,
                               const double* g, int64_t r0, int64_t r1, int64_t c, int64_t ig, double eps,
                               double* gx) {
  ce_bwd_rows(x, t, w, lse, g, r0, r1, c, ig, eps, gx);
}

inline int64_t ce_fwd_dispatch(const float* x, const int64_t* t, const float* w, int64_t r0, int64_t r1, int64_t c,
                               int64_t ig, float eps, float* loss, float* lse, float* wt) {
  return ce_fwd_f32(x, t, w, r0, r1, c, ig, eps, loss, lse, wt);
}
inline int64_t ce_fwd_dispatch(const double* x, const int64_t* t, const double* w, int64_t r0, int64_t r1,
                               int64_t c, int64_t ig, double eps, double* loss, double* lse, double* wt) {
  return ce_fwd_f64(x, t, w, r0, r1, c, ig, eps, loss, lse, wt);
}
inline void ce_bwd_dispatch(const float* x, const int64_t* t, const float* w, const float* lse, const float* g,
                            int64_t r0, int64_t r1, int64_t c, int64_t ig, float eps, float* gx) {
  ce_bwd_f32(x, t, w, lse, g, r0, r1, c, ig, eps, gx);
}
inline void ce_bwd_dispatch(const double* x, const int64_t* t, const double* w, const double* lse, const double* g,
                            int64_t r0, int64_t r1, int64_t c, int64_t ig, double eps, double* gx) {
  ce_bwd_f64(x, t, w, lse, g, r0, r1, c, ig, eps, gx);
}

template <typename T>
GPUGRAD_INLINE void bias_relu_rows(T* y, const T* b, int64_t r0, int64_t r1, int64_t m) {
  for (int64_t i = r0; i < r1; ++i) {
    T* yi = y + i * m;
    if (b) {
#pragma omp simd
      for (int64_t j = 0; j < m; ++j) {
        T v = yi[j] + b[j];
        yi[j] = v > T(0) ? v : (v != v ? v : T(0));  // NaN stays NaN, like max(x, 0) in NumPy
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < m; ++j) yi[j] = yi[j] > T(0) ? yi[j] : (yi[j] != yi[j] ? yi[j] : T(0));
    }
  }
}

GPUGRAD_CLONES void bias_relu_f32(float* y, const float* b, int64_t r0, int64_t r1, int64_t m) {
  bias_relu_rows(y, b, r0, r1, m);
}
GPUGRAD_CLONES void bias_relu_f64(double* y, const double* b, int64_t r0, int64_t r1, int64_t m) {
  bias_relu_rows(y, b, r0, r1, m);
}
inline void bias_relu_dispatch(float* y, const float* b, int64_t r0, int64_t r1, int64_t m) {
  bias_relu_f32(y, b, r0, r1, m);
}
inline void bias_relu_dispatch(double* y, const double* b, int64_t r0, int64_t r1, int64_t m) {
  bias_relu_f64(y, b, r0, r1, m);
}

// masked gradient for rows [r0, r1), and those rows' column sums into acc (m entries)
template <typename T>
GPUGRAD_INLINE void relu_mask_rows(const T* gy, const T* y, int64_t r0, int64_t r1, int64_t m, T* gz, T* acc) {
  for (int64_t i = r0; i < r1; ++i) {
    const T* gyi = gy + i * m;
    const T* yi = y + i * m;
    T* gzi = gz + i * m;
#pragma omp simd
    for (int64_t j = 0; j < m; ++j) gzi[j] = yi[j] > T(0) ? gyi[j] : T(0);
    if (acc) {
#pragma omp simd
      for (int64_t j = 0; j < m; ++j) acc[j] += gzi[j];
    }
  }
}

GPUGRAD_CLONES void relu_mask_f32(const float* gy, const float* y, int64_t r0, int64_t r1, int64_t m, float* gz,
                                  float* acc) {
  relu_mask_rows(gy, y, r0, r1, m, gz, acc);
}
GPUGRAD_CLONES void relu_mask_f64(const double* gy, const double* y, int64_t r0, int64_t r1, int64_t m, double* gz,
                                  double* acc) {
  relu_mask_rows(gy, y, r0, r1, m, gz, acc);
}
inline void relu_mask_dispatch(const float* gy, const float* y, int64_t r0, int64_t r1, int64_t m, float* gz,
                               float* acc) {
  relu_mask_f32(gy, y, r0, r1, m, gz, acc);
}
inline void relu_mask_dispatch(const double* gy, const double* y, int64_t r0, int64_t r1, int64_t m, double* gz,
                               double* acc) {
  relu_mask_f64(gy, y, r0, r1, m, gz, acc);
}

// Weight decay is added only when it is not 0, as PyTorch and the composed path do: 0 * p
// is NaN for an infinite parameter, which would otherwise become NaN instead of staying
// infinite. Each loop is compiled with and without the term (Decay), so that neither
// carries a per-element select for it.
template <bool Decay, typename T>
GPUGRAD_INLINE void sgd_loop(T* p, const T* g, T* buf, int64_t i0, int64_t i1, T lr, T mom, T damp, T wd, bool nesterov,
                             bool first) {
  if (!buf) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) p[i] -= lr * (Decay ? g[i] + wd * p[i] : g[i]);
    return;
  }
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) {
    T d = Decay ? g[i] + wd * p[i] : g[i];
    T b = first ? d : mom * buf[i] + (T(1) - damp) * d;
    buf[i] = b;
    p[i] -= lr * (nesterov ? d + mom * b : b);
  }
}

template <typename T>
GPUGRAD_INLINE void sgd_range(T* p, const T* g, T* buf, int64_t i0, int64_t i1, T lr, T mom, T damp, T wd, bool nesterov,
                              bool first) {
  if (wd != T(0)) {
    sgd_loop<true>(p, g, buf, i0, i1, lr, mom, damp, wd, nesterov, first);
  } else {
    sgd_loop<false>(p, g, buf, i0, i1, lr, mom, damp, wd, nesterov, first);
  }
}

// L2: the coupled weight decay (Adam), added to the gradient only when it is not 0
template <bool L2, typename T>
GPUGRAD_INLINE void adam_loop(T* p, const T* g, T* m, T* v, int64_t i0, int64_t i1, T b1, T b2, T eps, T l2, T step,
                              T rbc2, T decay) {
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) {
    T pi = p[i] * decay;
    T gi = L2 ? g[i] + l2 * p[i] : g[i];
    T mi = b1 * m[i] + (T(1) - b1) * gi;
    T vi = b2 * v[i] + (T(1) - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step * mi / (std::sqrt(vi) * rbc2 + eps);
  }
}

template <typename T>
GPUGRAD_INLINE void adam_range(T* p, const T* g, T* m, T* v, int64_t i0, int64_t i1, T lr, T b1, T b2, T eps, T wd,
                       bool decoupled, T bc1, T bc2) {
  T step = lr / bc1;
  T rbc2 = T(1) / std::sqrt(bc2);
  T decay = decoupled ? T(1) - lr * wd : T(1);
  T l2 = decoupled ? T(0) : wd;
  if (l2 != T(0)) {
    adam_loop<true>(p, g, m, v, i0, i1, b1, b2, eps, l2, step, rbc2, decay);
  } else {
    adam_loop<false>(p, g, m, v, i0, i1, b1, b2, eps, l2, step, rbc2, decay);
  }
}

GPUGRAD_CLONES void sgd_f32(float* p, const float* g, float* buf, int64_t i0, int64_t i1, float lr, float mom,
                            float damp, float wd, bool nest, bool first) {
  sgd_range(p, g, buf, i0, i1, lr, mom, damp, wd, nest, first);
}
GPUGRAD_CLONES void sgd_f64(double* p, const double* g, double* buf, int64_t i0, int64_t i1, double lr, double mom,
                            double damp, double wd, bool nest, bool first) {
  sgd_range(p, g, buf, i0, i1, lr, mom, damp, wd, nest, first);
}
GPUGRAD_CLONES void adam_f32(float* p, const float* g, float* m, float* v, int64_t i0, int64_t i1, float lr, float b1,
                             float b2, float eps, float wd, bool dec, float bc1, float bc2) {
  adam_range(p, g, m, v, i0, i1, lr, b1, b2, eps, wd, dec, bc1, bc2);
}
GPUGRAD_CLONES void adam_f64(double* p, const double* g, double* m, double* v, int64_t i0, int64_t i1, double lr,
                             double b1, double b2, double eps, double wd, bool dec, double bc1, double bc2) {
  adam_range(p, g, m, v, i0, i1, lr, b1, b2, eps, wd, dec, bc1, bc2);
}
inline void sgd_dispatch(float* p, const float* g, float* b, int64_t i0, int64_t i1, float lr, float mom, float d,
                         float wd, bool n, bool f) {
  sgd_f32(p, g, b, i0, i1, lr, mom, d, wd, n, f);
}
inline void sgd_dispatch(double* p, const double* g, double* b, int64_t i0, int64_t i1, double lr, double mom,
                         double d, double wd, bool n, bool f) {
  sgd_f64(p, g, b, i0, i1, lr, mom, d, wd, n, f);
}
inline void adam_dispatch(float* p, const float* g, float* m, float* v, int64_t i0, int64_t i1, float lr, float b1,
                          float b2, float eps, float wd, bool dec, float bc1, float bc2) {
  adam_f32(p, g, m, v, i0, i1, lr, b1, b2, eps, wd, dec, bc1, bc2);
}
inline void adam_dispatch(double* p, const double* g, double* m, double* v, int64_t i0, int64_t i1, double lr,
                          double b1, double b2, double eps, double wd, bool dec, double bc1, double bc2) {
  adam_f64(p, g, m, v, i0, i1, lr, b1, b2, eps, wd, dec, bc1, bc2);
}

// g *= inv over [i0, i1); 1 when a product is inf or NaN. |v| <= max is false for both
// (NaN compares false) and, unlike std::isfinite, vectorizes as an OR reduction.
template <typename T>
GPUGRAD_INLINE int unscale_loop(T* g, int64_t i0, int64_t i1, T inv) {
  const T big = std::numeric_limits<T>::max();
  int bad = 0;
#pragma omp simd reduction(| : bad)
  for (int64_t i = i0; i < i1; ++i) {
    T v = g[i] * inv;
    g[i] = v;
    bad |= !(std::fabs(v) <= big);
  }
  return bad;
}

GPUGRAD_CLONES int unscale_f32(float* g, int64_t i0, int64_t i1, float inv) { return unscale_loop(g, i0, i1, inv); }
GPUGRAD_CLONES int unscale_f64(double* g, int64_t i0, int64_t i1, double inv) { return unscale_loop(g, i0, i1, inv); }
inline int unscale_dispatch(float* g, int64_t i0, int64_t i1, float inv) { return unscale_f32(g, i0, i1, inv); }
inline int unscale_dispatch(double* g, int64_t i0, int64_t i1, double inv) { return unscale_f64(g, i0, i1, inv); }

}  // namespace

template <typename T>
int64_t cross_entropy_fwd(const T* x, const int64_t* t, const T* w, int64_t n, int64_t c, int64_t ignore_index,
                          T eps, T* loss, T* lse, T* wt) {
  int64_t bad = -1;
  parallel_rows(n, c, [&](int64_t r0, int64_t r1) {
    int64_t b = ce_fwd_dispatch(x, t, w, r0, r1, c, ignore_index, eps, loss, lse, wt);
    if (b >= 0) {
#pragma omp critical
      bad = (bad < 0 || b < bad) ? b : bad;
    }
  });
  return bad;
}

template <typename T>
int64_t cross_entropy_fwd_bwd(const T* x, const int64_t* t, const T* w, int64_t n, int64_t c, int64_t ignore_index,
                              T eps, T g, bool mean, T* loss, T* lse, T* wt, T* gx) {
  int64_t bad = -1;
  if (mean) {  // the mean divides by the counted targets' weights: every row's share is g / total
    T total = T(0);
    for (int64_t i = 0; i < n; ++i) {
      int64_t ti = t[i];
      if (ti != ignore_index && ti >= 0 && ti < c) total += w ? w[ti] : T(1);
    }
    // as PyTorch's division, whatever the total: a negative one flips the sign, 0 gives inf
    // (NaN where a weight is 0); an ignored row never sees g (its gradient is ignored_grad)
    g = g / total;
  }
  parallel_rows(n, c, [&](int64_t r0, int64_t r1) {
    int64_t b = ce_fwd_bwd_dispatch(x, t, w, r0, r1, c, ignore_index, eps, g, loss, lse, wt, gx);
    if (b >= 0) {
#pragma omp critical
      bad = (bad < 0 || b < bad) ? b : bad;
    }
  });
  return bad;
}

template <typename T>
void cross_entropy_bwd(const T* x, const int64_t* t, const T* w, const T* lse, const T* g, int64_t n, int64_t c,
                       int64_t ignore_index, T eps, T* gx) {
  parallel_rows(n, c, [&](int64_t r0, int64_t r1) { ce_bwd_dispatch(x, t, w, lse, g, r0, r1, c, ignore_index, eps, gx); });
}

template <typename T>
void bias_relu_fwd(T* y, const T* b, int64_t n, int64_t m) {
  parallel_rows(n, m, [&](int64_t r0, int64_t r1) { bias_relu_dispatch(y, b, r0, r1, m); }, kParallelMemory);
}

template <typename T>
void relu_bias_bwd(const T* gy, const T* y, int64_t n, int64_t m, T* gz, T* gb) {
  if (!gb) {
    parallel_rows(n, m, [&](int64_t r0, int64_t r1) { relu_mask_dispatch(gy, y, r0, r1, m, gz, (T*)nullptr); },
                  kParallelMemory);
    return;
  }
  std::fill(gb, gb + m, T(0));
#ifdef _OPENMP
  if (n * m >= kParallelMemory && omp_get_max_threads() > 1) {
    // each thread sums its rows into its own row of partials, then the partials are added
    int threads = omp_get_max_threads();
    T* partial = new T[threads * m]();
#pragma omp parallel num_threads(threads)
    {
      int tid = omp_get_thread_num(), nt = omp_get_num_threads();
      int64_t lo = n * tid / nt, hi = n * (tid + 1) / nt;
      if (lo < hi) relu_mask_dispatch(gy, y, lo, hi, m, gz, partial + tid * m);
    }
    for (int k = 0; k < threads; ++k)
      for (int64_t j = 0; j < m; ++j) gb[j] += partial[k * m + j];
    delete[] partial;
    return;
  }
#endif
  relu_mask_dispatch(gy, y, 0, n, m, gz, gb);
}

template <typename T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, T lr, T momentum, T dampening, T weight_decay, bool nesterov,
              bool first) {
  parallel_rows(
      n, 1, [&](int64_t i0, int64_t i1) { sgd_dispatch(p, g, buf, i0, i1, lr, momentum, dampening, weight_decay, nesterov, first); },
      kParallelOptimizer);
}

template <typename T>
void adam_step(T* p, const T* g, T* m, T* v, int64_t n, T lr, T b1, T b2, T eps, T weight_decay, bool decoupled,
               T bc1, T bc2) {
  parallel_rows(
      n, 1, [&](int64_t i0, int64_t i1) { adam_dispatch(p, g, m, v, i0, i1, lr, b1, b2, eps, weight_decay, decoupled, bc1, bc2); },
      kParallelOptimizer);
}

template <typename T>
bool amp_unscale(T* g, int64_t n, T inv_scale) {
  int bad = 0;
  parallel_rows(
      n, 1,
      [&](int64_t i0, int64_t i1) {
        if (unscale_dispatch(g, i0, i1, inv_scale)) {
#pragma omp critical
          bad = 1;
        }
      },
      kParallelOptimizer);
  return bad != 0;
}

#define GPUGRAD_INSTANTIATE(T)                                                                                     \
  template int64_t cross_entropy_fwd<T>(const T*, const int64_t*, const T*, int64_t, int64_t, int64_t, T, T*, T*, \
                                        T*);                                                                       \
  template void cross_entropy_bwd<T>(const T*, const int64_t*, const T*, const T*, const T*, int64_t, int64_t,    \
                                     int64_t, T, T*);                                                              \
  template int64_t cross_entropy_fwd_bwd<T>(const T*, const int64_t*, const T*, int64_t, int64_t, int64_t, T, T,  \
                                            bool, T*, T*, T*, T*);                                                 \
  template void bias_relu_fwd<T>(T*, const T*, int64_t, int64_t);                                                 \
  template void relu_bias_bwd<T>(const T*, const T*, int64_t, int64_t, T*, T*);                                   \
  template void sgd_step<T>(T*, const T*, T*, int64_t, T, T, T, T, bool, bool);                                   \
  template void adam_step<T>(T*, const T*, T*, T*, int64_t, T, T, T, T, T, bool, T, T);                           \
  template bool amp_unscale<T>(T*, int64_t, T);

GPUGRAD_INSTANTIATE(float)
GPUGRAD_INSTANTIATE(double)

int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void set_num_threads(int n) {
#ifdef _OPENMP
  if (n > 0) omp_set_num_threads(n);
#else
  (void)n;
#endif
}

const char* simd_level() {
#if defined(__GNUC__) && defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512f";
  if (__builtin_cpu_supports("avx2")) return "avx2";
  return "baseline (x86-64)";
#else
  return "baseline";
#endif
}

}  // namespace gpugrad
