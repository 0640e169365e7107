// gpugrad._C: the only pybind11 code. Python checks shapes, dtypes and contiguity before
// calling (gpugrad/backend/native.py), and every binding checks its arrays once more; here
// arrays become raw pointers and the GIL is released around every kernel.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../kernels.h"

namespace py = pybind11;
using std::int64_t;
using OptArray = std::optional<py::array>;

namespace {

// The second line of defence: every array is checked again here, so that a call which
// skips native.py (gpugrad._C used directly, or a bug there) raises TypeError or
// ValueError instead of letting a kernel read or write out of bounds. A few flag tests per
// array, next to the microsecond pybind11 spends on a call.
std::string dims(const py::array& a, const py::ssize_t* v) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(v[d]);
  return s + (a.ndim() == 1 ? ",)" : ")");
}
std::string describe(const py::array& a) {
  return "shape " + dims(a, a.shape()) + ", " + py::str(a.dtype()).cast<std::string>();
}

template <typename T> const char* type_name();
template <> const char* type_name<float>() { return "float32"; }
template <> const char* type_name<double>() { return "float64"; }
template <> const char* type_name<int64_t>() { return "int64"; }

// a holds `size` elements of T, C-contiguous and aligned for T (the kernels index it as a
// flat T*), and is writeable when `write`.
template <typename T>
void require(const char* op, const std::string& name, const py::array& a, py::ssize_t size, bool write = false) {
  const std::string expected = std::string("[") + op + "] expected " + name;
  if (!a.dtype().is(py::dtype::of<T>()))
    throw py::type_error(expected + " of dtype " + type_name<T>() + ", got " + describe(a));
  if (a.size() != size)
    throw py::value_error(expected + " with " + std::to_string(size) + " elements, got " + describe(a));
  // an empty array's pointer is never followed, whatever its alignment
  bool aligned = size == 0 || reinterpret_cast<std::uintptr_t>(a.data()) % alignof(T) == 0;
  if (!(a.flags() & py::array::c_style) || !aligned)
    throw py::value_error(expected + " C-contiguous and aligned, got " + describe(a) + ", strides " +
                          dims(a, a.strides()) + (aligned ? "" : ", misaligned"));
  if (write && !a.writeable()) throw py::value_error(expected + " writeable, got a read-only array, " + describe(a));
}

// true for float32, false for float64: the kernel's element type, taken from `a`
bool is_f32(const char* op, const char* name, const py::array& a) {
  if (a.dtype().is(py::dtype::of<float>())) return true;
  if (a.dtype().is(py::dtype::of<double>())) return false;
  throw py::type_error(std::string("[") + op + "] expected " + name + " of dtype float32 or float64, got " + describe(a));
}

// (rows, columns) of a 2-D array
std::pair<int64_t, int64_t> matrix(const char* op, const char* name, const py::array& a) {
  if (a.ndim() != 2)
    throw py::value_error(std::string("[") + op + "] expected " + name + " with 2 dimensions, got " + describe(a));
  return {a.shape(0), a.shape(1)};
}

template <typename T>
T* ptr(py::array& a) {
  return static_cast<T*>(a.mutable_data());
}
template <typename T>
const T* cptr(const py::array& a) {
  return static_cast<const T*>(a.data());
}
template <typename T>
const T* opt(const OptArray& a) {
  return a ? static_cast<const T*>(a->data()) : nullptr;
}
template <typename T>
T* opt_mut(OptArray& a) {
  return a ? static_cast<T*>(a->mutable_data()) : nullptr;
}

// logits (n, c), targets (n,), class weights (c,) or none: (n, c)
template <typename T>
std::pair<int64_t, int64_t> ce_inputs(const char* op, const py::array& x, const py::array& t, const OptArray& w) {
  auto [n, c] = matrix(op, "logits", x);
  require<T>(op, "logits", x, n * c);
  require<int64_t>(op, "targets", t, n);
  if (w) require<T>(op, "weight", *w, c);
  return {n, c};
}

template <typename T>
int64_t ce_fwd_t(const py::array& x, const py::array& t, const OptArray& w, int64_t ignore, double eps,
                 py::array& loss, py::array& lse, py::array& wt) {
  const char* op = "cross_entropy_fwd";
  auto [n, c] = ce_inputs<T>(op, x, t, w);
  require<T>(op, "loss", loss, n, true);
  require<T>(op, "lse", lse, n, true);
  require<T>(op, "wt", wt, n, true);
  const T* xp = cptr<T>(x);
  const int64_t* tp = cptr<int64_t>(t);
  const T* wp = opt<T>(w);
  T *lp = ptr<T>(loss), *sp = ptr<T>(lse), *wtp = ptr<T>(wt);
  py::gil_scoped_release nogil;
  return gpugrad::cross_entropy_fwd<T>(xp, tp, wp, n, c, ignore, T(eps), lp, sp, wtp);
}

template <typename T>
int64_t ce_fwd_bwd_t(const py::array& x, const py::array& t, const OptArray& w, int64_t ignore, double eps, double g,
                     bool mean, py::array& loss, py::array& lse, py::array& wt, py::array& gx) {
  const char* op = "cross_entropy_fwd_bwd";
  auto [n, c] = ce_inputs<T>(op, x, t, w);
  require<T>(op, "loss", loss, n, true);
  require<T>(op, "lse", lse, n, true);
  require<T>(op, "wt", wt, n, true);
  require<T>(op, "gx", gx, n * c, true);
  const T* xp = cptr<T>(x);
  const int64_t* tp = cptr<int64_t>(t);
  const T* wp = opt<T>(w);
  T *lp = ptr<T>(loss), *sp = ptr<T>(lse), *wtp = ptr<T>(wt), *gp = ptr<T>(gx);
  py::gil_scoped_release nogil;
  return gpugrad::cross_entropy_fwd_bwd<T>(xp, tp, wp, n, c, ignore, T(eps), T(g), mean, lp, sp, wtp, gp);
}

template <typename T>
void ce_bwd_t(const py::array& x, const py::array& t, const OptArray& w, const py::array& lse, const py::array& g,
              int64_t ignore, double eps, py::array& gx) {
  const char* op = "cross_entropy_bwd";
  auto [n, c] = ce_inputs<T>(op, x, t, w);
  require<T>(op, "lse", lse, n);
  require<T>(op, "g", g, n);
  require<T>(op, "gx", gx, n * c, true);
  const T *xp = cptr<T>(x), *sp = cptr<T>(lse), *gp = cptr<T>(g);
  const int64_t* tp = cptr<int64_t>(t);
  const T* wp = opt<T>(w);
  T* gxp = ptr<T>(gx);
  py::gil_scoped_release nogil;
  gpugrad::cross_entropy_bwd<T>(xp, tp, wp, sp, gp, n, c, ignore, T(eps), gxp);
}

template <typename T>
void bias_relu_t(py::array& y, const OptArray& b) {
  const char* op = "bias_relu_fwd";
  auto [n, m] = matrix(op, "y", y);
  require<T>(op, "y", y, n * m, true);
  if (b) require<T>(op, "bias", *b, m);
  T* yp = ptr<T>(y);
  const T* bp = opt<T>(b);
  py::gil_scoped_release nogil;
  gpugrad::bias_relu_fwd<T>(yp, bp, n, m);
}

template <typename T>
void relu_bias_bwd_t(const py::array& gy, const py::array& y, py::array& gz, OptArray& gb) {
  const char* op = "relu_bias_bwd";
  auto [n, m] = matrix(op, "y", y);
  require<T>(op, "y", y, n * m);
  require<T>(op, "gy", gy, n * m);
  require<T>(op, "gz", gz, n * m, true);
  if (gb) require<T>(op, "gb", *gb, m, true);
  const T *gyp = cptr<T>(gy), *yp = cptr<T>(y);
  T* gzp = ptr<T>(gz);
  T* gbp = opt_mut<T>(gb);
  py::gil_scoped_release nogil;
  gpugrad::relu_bias_bwd<T>(gyp, yp, n, m, gzp, gbp);
}

// every list holds one array per parameter
void same_length(const char* op, const char* name, size_t got, size_t params) {
  if (got != params)
    throw py::value_error(std::string("[") + op + "] expected a " + name + " for each of " + std::to_string(params) +
                          " parameters, got " + std::to_string(got));
}

// One launch over every parameter of a group: lists of same-dtype contiguous arrays.
template <typename T>
void sgd_multi_t(std::vector<py::array>& ps, const std::vector<py::array>& gs, std::vector<OptArray>& bufs,
                 double lr, double mom, double damp, double wd, bool nesterov, bool first) {
  const char* op = "sgd_step";
  size_t k = ps.size();
  same_length(op, "gradient", gs.size(), k);
  same_length(op, "momentum buffer (or None)", bufs.size(), k);
  std::vector<T*> p(k), b(k);
  std::vector<const T*> g(k);
  std::vector<int64_t> n(k);
  for (size_t i = 0; i < k; ++i) {
    const std::string at = " " + std::to_string(i);
    n[i] = ps[i].size();
    require<T>(op, "parameter" + at, ps[i], n[i], true);
    require<T>(op, "gradient" + at, gs[i], n[i]);
    if (bufs[i]) require<T>(op, "momentum buffer" + at, *bufs[i], n[i], true);
    p[i] = ptr<T>(ps[i]);
    g[i] = cptr<T>(gs[i]);
    b[i] = opt_mut<T>(bufs[i]);
  }
  py::gil_scoped_release nogil;
  for (size_t i = 0; i < k; ++i)
    gpugrad::sgd_step<T>(p[i], g[i], b[i], n[i], T(lr), T(mom), T(damp), T(wd), nesterov, first);
}

template <typename T>
void adam_multi_t(std::vector<py::array>& ps, const std::vector<py::array>& gs, std::vector<py::array>& ms,
                  std::vector<py::array>& vs, double lr, double b1, double b2, double eps, double wd, bool decoupled,
                  double bc1, double bc2) {
  const char* op = "adam_step";
  size_t k = ps.size();
  same_length(op, "gradient", gs.size(), k);
  same_length(op, "first moment", ms.size(), k);
  same_length(op, "second moment", vs.size(), k);
  std::vector<T*> p(k), m(k), v(k);
  std::vector<const T*> g(k);
  std::vector<int64_t> n(k);
  for (size_t i = 0; i < k; ++i) {
    const std::string at = " " + std::to_string(i);
    n[i] = ps[i].size();
    require<T>(op, "parameter" + at, ps[i], n[i], true);
    require<T>(op, "gradient" + at, gs[i], n[i]);
    require<T>(op, "first moment" + at, ms[i], n[i], true);
    require<T>(op, "second moment" + at, vs[i], n[i], true);
    p[i] = ptr<T>(ps[i]);
    g[i] = cptr<T>(gs[i]);
    m[i] = ptr<T>(ms[i]);
    v[i] = ptr<T>(vs[i]);
  }
  py::gil_scoped_release nogil;
  for (size_t i = 0; i < k; ++i)
    gpugrad::adam_step<T>(p[i], g[i], m[i], v[i], n[i], T(lr), T(b1), T(b2), T(eps), T(wd), decoupled, T(bc1),
                          T(bc2));
}

// Every gradient times inv_scale in place, one pass each; whether any product is inf or NaN.
template <typename T>
bool amp_unscale_t(std::vector<py::array>& gs, double inv_scale) {
  const char* op = "amp_unscale";
  size_t k = gs.size();
  std::vector<T*> g(k);
  std::vector<int64_t> n(k);
  for (size_t i = 0; i < k; ++i) {
    n[i] = gs[i].size();
    require<T>(op, "gradient " + std::to_string(i), gs[i], n[i], true);
    g[i] = ptr<T>(gs[i]);
  }
  py::gil_scoped_release nogil;
  bool bad = false;
  for (size_t i = 0; i < k; ++i) bad |= gpugrad::amp_unscale<T>(g[i], n[i], T(inv_scale));
  return bad;
}

}  // namespace

PYBIND11_MODULE(_C, mod) {
  mod.doc() = "gpugrad's compiled CPU kernels (fused cross-entropy, bias+ReLU, optimizer steps, loss unscaling)";
  mod.def("cross_entropy_fwd", [](const py::array& x, const py::array& t, const OptArray& w, int64_t ignore,
                                  double eps, py::array& loss, py::array& lse, py::array& wt) {
    return is_f32("cross_entropy_fwd", "logits", x) ? ce_fwd_t<float>(x, t, w, ignore, eps, loss, lse, wt)
                                                    : ce_fwd_t<double>(x, t, w, ignore, eps, loss, lse, wt);
  });
  mod.def("cross_entropy_fwd_bwd", [](const py::array& x, const py::array& t, const OptArray& w, int64_t ignore,
                                      double eps, double g, bool mean, py::array& loss, py::array& lse, py::array& wt,
                                      py::array& gx) {
    return is_f32("cross_entropy_fwd_bwd", "logits", x)
               ? ce_fwd_bwd_t<float>(x, t, w, ignore, eps, g, mean, loss, lse, wt, gx)
               : ce_fwd_bwd_t<double>(x, t, w, ignore, eps, g, mean, loss, lse, wt, gx);
  });
  mod.def("cross_entropy_bwd", [](const py::array& x, const py::array& t, const OptArray& w, const py::array& lse,
                                  const py::array& g, int64_t ignore, double eps, py::array& gx) {
    is_f32("cross_entropy_bwd", "logits", x) ? ce_bwd_t<float>(x, t, w, lse, g, ignore, eps, gx)
                                             : ce_bwd_t<double>(x, t, w, lse, g, ignore, eps, gx);
  });
  mod.def("bias_relu_fwd", [](py::array& y, const OptArray& b) {
    is_f32("bias_relu_fwd", "y", y) ? bias_relu_t<float>(y, b) : bias_relu_t<double>(y, b);
  });
  mod.def("relu_bias_bwd", [](const py::array& gy, const py::array& y, py::array& gz, OptArray& gb) {
    is_f32("relu_bias_bwd", "y", y) ? relu_bias_bwd_t<float>(gy, y, gz, gb) : relu_bias_bwd_t<double>(gy, y, gz, gb);
  });
  mod.def("sgd_step", [](std::vector<py::array> ps, std::vector<py::array> gs, std::vector<OptArray> bufs, double lr,
                         double mom, double damp, double wd, bool nesterov, bool first) {
    if (ps.empty()) return;
    is_f32("sgd_step", "parameter 0", ps[0]) ? sgd_multi_t<float>(ps, gs, bufs, lr, mom, damp, wd, nesterov, first)
                                             : sgd_multi_t<double>(ps, gs, bufs, lr, mom, damp, wd, nesterov, first);
  });
  mod.def("adam_step", [](std::vector<py::array> ps, std::vector<py::array> gs, std::vector<py::array> ms,
                          std::vector<py::array> vs, double lr, double b1, double b2, double eps, double wd,
                          bool decoupled, double bc1, double bc2) {
    if (ps.empty()) return;
    is_f32("adam_step", "parameter 0", ps[0])
        ? adam_multi_t<float>(ps, gs, ms, vs, lr, b1, b2, eps, wd, decoupled, bc1, bc2)
        : adam_multi_t<double>(ps, gs, ms, vs, lr, b1, b2, eps, wd, decoupled, bc1, bc2);
  });
  mod.def("amp_unscale", [](std::vector<py::array> gs, double inv_scale) {
    if (gs.empty()) return false;
    return is_f32("amp_unscale", "gradient 0", gs[0]) ? amp_unscale_t<float>(gs, inv_scale)
                                                      : amp_unscale_t<double>(gs, inv_scale);
  });
  mod.def("max_threads", &gpugrad::max_threads);
  mod.def("set_num_threads", &gpugrad::set_num_threads);
  mod.def("simd_level", &gpugrad::simd_level);
}
