// gpugrad._C: the only pybind11 code. Python checks shapes, dtypes and contiguity before
// calling (gpugrad/backend/native.py); here arrays become raw pointers and the GIL is
// released around every kernel.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <vector>

#include "../kernels.h"

namespace py = pybind11;
using std::int64_t;

namespace {

template <typename T>
T* ptr(py::array& a) {
  return static_cast<T*>(a.mutable_data());
}
template <typename T>
const T* cptr(const py::array& a) {
  return static_cast<const T*>(a.data());
}
template <typename T>
const T* opt(const py::object& o) {
  return o.is_none() ? nullptr : static_cast<const T*>(o.cast<py::array>().data());
}
template <typename T>
T* opt_mut(const py::object& o) {
  return o.is_none() ? nullptr : static_cast<T*>(o.cast<py::array>().mutable_data());
}
bool is_f32(const py::array& a) { return a.dtype().is(py::dtype::of<float>()); }

template <typename T>
int64_t ce_fwd_t(const py::array& x, const py::array& t, const py::object& w, int64_t ignore, double eps,
                 py::array& loss, py::array& lse, py::array& wt) {
  int64_t n = x.ndim() ? x.shape(0) : 0, c = x.ndim() > 1 ? x.shape(1) : 0;
  const T* xp = cptr<T>(x);
  const int64_t* tp = cptr<int64_t>(t);
  const T* wp = opt<T>(w);
  T *lp = ptr<T>(loss), *sp = ptr<T>(lse), *wtp = ptr<T>(wt);
  py::gil_scoped_release nogil;
  return gpugrad::cross_entropy_fwd<T>(xp, tp, wp, n, c, ignore, T(eps), lp, sp, wtp);
}

template <typename T>
int64_t ce_fwd_bwd_t(const py::array& x, const py::array& t, const py::object& w, int64_t ignore, double eps, double g,
                     bool mean, py::array& loss, py::array& lse, py::array& wt, py::array& gx) {
  int64_t n = x.shape(0), c = x.shape(1);
  const T* xp = cptr<T>(x);
  const int64_t* tp = cptr<int64_t>(t);
  const T* wp = opt<T>(w);
  T *lp = ptr<T>(loss), *sp = ptr<T>(lse), *wtp = ptr<T>(wt), *gp = ptr<T>(gx);
  py::gil_scoped_release nogil;
  return gpugrad::cross_entropy_fwd_bwd<T>(xp, tp, wp, n, c, ignore, T(eps), T(g), mean, lp, sp, wtp, gp);
}

template <typename T>
void ce_bwd_t(const py::array& x, const py::array& t, const py::object& w, const py::array& lse, const py::array& g,
              int64_t ignore, double eps, py::array& gx) {
  int64_t n = x.shape(0), c = x.shape(1);
  const T *xp = cptr<T>(x), *sp = cptr<T>(lse), *gp = cptr<T>(g);
  const int64_t* tp = cptr<int64_t>(t);
  const T* wp = opt<T>(w);
  T* gxp = ptr<T>(gx);
  py::gil_scoped_release nogil;
  gpugrad::cross_entropy_bwd<T>(xp, tp, wp, sp, gp, n, c, ignore, T(eps), gxp);
}

template <typename T>
void bias_relu_t(py::array& y, const py::object& b) {
  int64_t n = y.shape(0), m = y.ndim() > 1 ? y.shape(1) : 1;
  T* yp = ptr<T>(y);
  const T* bp = opt<T>(b);
  py::gil_scoped_release nogil;
  gpugrad::bias_relu_fwd<T>(yp, bp, n, m);
}

template <typename T>
void relu_bias_bwd_t(const py::array& gy, const py::array& y, py::array& gz, const py::object& gb) {
  int64_t n = y.shape(0), m = y.ndim() > 1 ? y.shape(1) : 1;
  const T *gyp = cptr<T>(gy), *yp = cptr<T>(y);
  T* gzp = ptr<T>(gz);
  T* gbp = opt_mut<T>(gb);
  py::gil_scoped_release nogil;
  gpugrad::relu_bias_bwd<T>(gyp, yp, n, m, gzp, gbp);
}

// One launch over every parameter of a group: lists of same-dtype contiguous arrays.
template <typename T>
void sgd_multi_t(std::vector<py::array>& ps, const std::vector<py::array>& gs, const std::vector<py::object>& bufs,
                 double lr, double mom, double damp, double wd, bool nesterov, bool first) {
  std::vector<T*> p(ps.size()), b(ps.size());
  std::vector<const T*> g(ps.size());
  std::vector<int64_t> n(ps.size());
  for (size_t i = 0; i < ps.size(); ++i) {
    p[i] = ptr<T>(ps[i]);
    g[i] = cptr<T>(gs[i]);
    b[i] = opt_mut<T>(bufs[i]);
    n[i] = ps[i].size();
  }
  py::gil_scoped_release nogil;
  for (size_t i = 0; i < p.size(); ++i)
    gpugrad::sgd_step<T>(p[i], g[i], b[i], n[i], T(lr), T(mom), T(damp), T(wd), nesterov, first);
}

template <typename T>
void adam_multi_t(std::vector<py::array>& ps, const std::vector<py::array>& gs, std::vector<py::array>& ms,
                  std::vector<py::array>& vs, double lr, double b1, double b2, double eps, double wd, bool decoupled,
                  double bc1, double bc2) {
  size_t k = ps.size();
  std::vector<T*> p(k), m(k), v(k);
  std::vector<const T*> g(k);
  std::vector<int64_t> n(k);
  for (size_t i = 0; i < k; ++i) {
    p[i] = ptr<T>(ps[i]);
    g[i] = cptr<T>(gs[i]);
    m[i] = ptr<T>(ms[i]);
    v[i] = ptr<T>(vs[i]);
    n[i] = ps[i].size();
  }
  py::gil_scoped_release nogil;
  for (size_t i = 0; i < k; ++i)
    gpugrad::adam_step<T>(p[i], g[i], m[i], v[i], n[i], T(lr), T(b1), T(b2), T(eps), T(wd), decoupled, T(bc1),
                          T(bc2));
}

}  // namespace

PYBIND11_MODULE(_C, mod) {
  mod.doc() = "gpugrad's compiled CPU kernels (fused cross-entropy, bias+ReLU, optimizer steps)";
  mod.def("cross_entropy_fwd", [](const py::array& x, const py::array& t, const py::object& w, int64_t ignore,
                                  double eps, py::array& loss, py::array& lse, py::array& wt) {
    return is_f32(x) ? ce_fwd_t<float>(x, t, w, ignore, eps, loss, lse, wt)
                     : ce_fwd_t<double>(x, t, w, ignore, eps, loss, lse, wt);
  });
  mod.def("cross_entropy_fwd_bwd", [](const py::array& x, const py::array& t, const py::object& w, int64_t ignore,
                                      double eps, double g, bool mean, py::array& loss, py::array& lse, py::array& wt,
                                      py::array& gx) {
    return is_f32(x) ? ce_fwd_bwd_t<float>(x, t, w, ignore, eps, g, mean, loss, lse, wt, gx)
                     : ce_fwd_bwd_t<double>(x, t, w, ignore, eps, g, mean, loss, lse, wt, gx);
  });
  mod.def("cross_entropy_bwd", [](const py::array& x, const py::array& t, const py::object& w, const py::array& lse,
                                  const py::array& g, int64_t ignore, double eps, py::array& gx) {
    is_f32(x) ? ce_bwd_t<float>(x, t, w, lse, g, ignore, eps, gx) : ce_bwd_t<double>(x, t, w, lse, g, ignore, eps, gx);
  });
  mod.def("bias_relu_fwd", [](py::array& y, const py::object& b) {
    is_f32(y) ? bias_relu_t<float>(y, b) : bias_relu_t<double>(y, b);
  });
  mod.def("relu_bias_bwd", [](const py::array& gy, const py::array& y, py::array& gz, const py::object& gb) {
    is_f32(y) ? relu_bias_bwd_t<float>(gy, y, gz, gb) : relu_bias_bwd_t<double>(gy, y, gz, gb);
  });
  mod.def("sgd_step", [](std::vector<py::array> ps, std::vector<py::array> gs, std::vector<py::object> bufs,
                         double lr, double mom, double damp, double wd, bool nesterov, bool first) {
    if (ps.empty()) return;
    is_f32(ps[0]) ? sgd_multi_t<float>(ps, gs, bufs, lr, mom, damp, wd, nesterov, first)
                  : sgd_multi_t<double>(ps, gs, bufs, lr, mom, damp, wd, nesterov, first);
  });
  mod.def("adam_step", [](std::vector<py::array> ps, std::vector<py::array> gs, std::vector<py::array> ms,
                          std::vector<py::array> vs, double lr, double b1, double b2, double eps, double wd,
                          bool decoupled, double bc1, double bc2) {
    if (ps.empty()) return;
    is_f32(ps[0]) ? adam_multi_t<float>(ps, gs, ms, vs, lr, b1, b2, eps, wd, decoupled, bc1, bc2)
                  : adam_multi_t<double>(ps, gs, ms, vs, lr, b1, b2, eps, wd, decoupled, bc1, bc2);
  });
  mod.def("max_threads", &gpugrad::max_threads);
  mod.def("set_num_threads", &gpugrad::set_num_threads);
  mod.def("simd_level", &gpugrad::simd_level);
}
