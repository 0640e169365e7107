// CPU kernels on raw pointers and sizes. Callers validate shapes and dtypes; these
// functions trust them and never allocate. Row-major, contiguous arrays.
#pragma once

#include <cstdint>

namespace gpugrad {

// Fused log-softmax + NLL, forward: for each row i of x (n x c) with target t[i],
//   lse[i]  = log sum_c exp(x[i, c])
//   loss[i] = keep_i * ((1 - eps) * w[t] * (lse - x[i, t]) + eps / C * sum_c w[c] * (lse - x[i, c]))
//   wt[i]   = keep_i * w[t]        (the weight the mean reduction divides by)
// keep_i = (t[i] != ignore_index); w = class weights or nullptr (all ones).
// Returns the first row whose target is out of [0, c) and not ignored, or -1.
template <typename T>
int64_t cross_entropy_fwd(const T* x, const int64_t* t, const T* w, int64_t n, int64_t c, int64_t ignore_index,
                          T eps, T* loss, T* lse, T* wt);

// Backward in one pass: gx[i, c] = g[i] * keep_i * ((1 - eps) w[t] (p_c - [c == t]) + eps (W p_c - w[c]) / C)
// with p_c = exp(x[i, c] - lse[i]) and W = sum of w (C without weights).
template <typename T>
void cross_entropy_bwd(const T* x, const int64_t* t, const T* w, const T* lse, const T* g, int64_t n, int64_t c,
                       int64_t ignore_index, T eps, T* gx);

// Forward and, in the same sweep, the gradient for the same upstream g on every row (the
// sum of the losses; with mean, g / the counted targets' total weight): a training step
// reads the logits from memory once.
template <typename T>
int64_t cross_entropy_fwd_bwd(const T* x, const int64_t* t, const T* w, int64_t n, int64_t c, int64_t ignore_index,
                              T eps, T g, bool mean, T* loss, T* lse, T* wt, T* gx);

// y[i, j] = max(y[i, j] + b[j], 0), in place (b may be nullptr: ReLU only).
template <typename T>
void bias_relu_fwd(T* y, const T* b, int64_t n, int64_t m);

// gz[i, j] = gy[i, j] * (y[i, j] > 0); gb[j] = sum_i gz[i, j] (gb may be nullptr).
template <typename T>
void relu_bias_bwd(const T* gy, const T* y, int64_t n, int64_t m, T* gz, T* gb);

// One SGD step over a flat parameter: p -= lr * d, d = g + wd p; with momentum the
// buffer b = mom b + (1 - damp) d (or d itself on the first step), Nesterov d + mom b.
template <typename T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, T lr, T momentum, T dampening, T weight_decay, bool nesterov,
              bool first);

// One Adam/AdamW step: m, v moments; bc1 = 1 - b1^t, bc2 = 1 - b2^t given by the caller.
template <typename T>
void adam_step(T* p, const T* g, T* m, T* v, int64_t n, T lr, T b1, T b2, T eps, T weight_decay, bool decoupled,
               T bc1, T bc2);

// Loss scaling's unscale and check in one pass: g[i] *= inv_scale in place; true when any
// product is inf or NaN (the product, not the input: a finite g times an inv_scale above 1
// can overflow).
template <typename T>
bool amp_unscale(T* g, int64_t n, T inv_scale);

int max_threads();
void set_num_threads(int n);
const char* simd_level();  // the widest vector unit the dispatcher picked on this CPU

}  // namespace gpugrad
