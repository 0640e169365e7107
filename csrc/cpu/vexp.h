// A vectorizable exp for float and double.
//
// std::exp is a library call the compiler cannot vectorize without -ffast-math, and
// -ffast-math would let it assume no inf/NaN. This one is plain arithmetic (range
// reduction x = n ln2 + r, |r| <= ln2/2, then a Taylor polynomial of r and a scale by
// 2^n built from exponent bits), with the special cases done as selects so the loop
// stays branch-free:  exp(-inf) = 0, exp(+inf) = +inf, exp(NaN) = NaN, overflow -> +inf,
// underflow -> 0 (results below about 2.4e-38 for float, 4.5e-308 for double are flushed
// to zero: they would be subnormal).
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

// Everything here is forced inline: the kernels are compiled once per instruction set
// (target_clones), and a helper left out of line would be compiled for the baseline only.
#if defined(__GNUC__)
#define GPUGRAD_INLINE inline __attribute__((always_inline))
#else
#define GPUGRAD_INLINE inline
#endif

namespace gpugrad {

template <typename T> struct ExpTraits;

template <> struct ExpTraits<float> {
  using Int = int32_t;
  static constexpr float hi = 88.72283935546875f;  // above: +inf
  static constexpr float lo = -86.64f;  // below: 0 (keeps 2^(k-1) a normal number; exp(lo) ~ 2.4e-38)
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float ln2_hi = 0.693145751953125f;
  static constexpr float ln2_lo = 1.428606765330187e-06f;
  static constexpr float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  static constexpr int mant = 23, bias = 127;
};

template <> struct ExpTraits<double> {
  using Int = int64_t;
  static constexpr double hi = 709.782712893384;
  static constexpr double lo = -707.7;  // exp(lo) ~ 4.5e-308
  static constexpr double log2e = 1.4426950408889634;
  static constexpr double ln2_hi = 0.693145751953125;
  static constexpr double ln2_lo = 1.4286068203094173e-06;
  static constexpr double shifter = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr int mant = 52, bias = 1023;
};

// exp(r) for |r| <= ln2/2 by Horner on the Taylor series; the degree makes the truncation
// error smaller than half an ulp of the type (r^8/8! ~ 5e-9 for float, r^13/13! ~ 2e-16).
GPUGRAD_INLINE float exp_poly(float r) {
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  return p * r + 1.0f;
}

GPUGRAD_INLINE double exp_poly(double r) {
  double p = 1.0 / 479001600.0;  // 1/12!
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  return p * r + 1.0;
}

// bit casts the vectorizer understands (a memcpy through memory would stop it)
GPUGRAD_INLINE int32_t bits_of(float v) { return __builtin_bit_cast(int32_t, v); }
GPUGRAD_INLINE int64_t bits_of(double v) { return __builtin_bit_cast(int64_t, v); }
template <typename T, typename I>
GPUGRAD_INLINE T from_bits(I v) { return __builtin_bit_cast(T, v); }

template <typename T>
GPUGRAD_INLINE T vexp(T x) {
  using Tr = ExpTraits<T>;
  using I = typename Tr::Int;
  // clamp into the finite range
  T t = x < Tr::lo ? Tr::lo : x;
  t = t > Tr::hi ? Tr::hi : t;
  // k = round(t / ln2) without a float->int conversion (which AVX2 lacks for double):
  // after adding the shifter, k sits in the low mantissa bits.
  T kf = t * Tr::log2e + Tr::shifter;
  T n = kf - Tr::shifter;
  T r = (t - n * Tr::ln2_hi) - n * Tr::ln2_lo;
  T p = exp_poly(r);
  // exp(x) = 2 p * 2^(k-1): 2^(k-1) stays a normal number over the clamped range. The
  // exponent bits are built in unsigned arithmetic: a NaN (which the clamps let through)
  // leaves arbitrary bits in kf, and on signed integers k's shift could overflow or move a
  // negative value, which is undefined; unsigned it wraps, and p, hence y, is NaN anyway.
  using U = std::make_unsigned_t<I>;
  U k = static_cast<U>(bits_of(kf)) - static_cast<U>(bits_of(Tr::shifter));
  T scale = from_bits<T>((k + U(Tr::bias - 1)) << Tr::mant);
  T y = (p + p) * scale;
  // the clamps above let a NaN through (every comparison with it is false), so NaN in
  // gives NaN out; only the two ends need a select
  const T inf = std::numeric_limits<T>::infinity();
  y = x > Tr::hi ? inf : y;
  return x < Tr::lo ? T(0) : y;
}

// log(x) for x > 0 (and the IEEE special cases: log(0) = -inf, log(inf) = inf,
// log(x < 0) = NaN, log(NaN) = NaN), vectorizable like vexp: x = 2^e m with m in
// [sqrt(1/2), sqrt(2)), log m = 2 atanh(z) = 2 (z + z^3/3 + z^5/5 + ...), z = (m-1)/(m+1),
// |z| <= 0.172, with enough terms for the type's precision. Subnormal inputs are not
// handled exactly (they only occur as sums of exponentials far below any row's maximum).
template <typename T> struct LogTraits;
template <> struct LogTraits<float> {
  static constexpr int terms = 5;
  static constexpr float ln2 = 0.693147180559945309f;
};
template <> struct LogTraits<double> {
  static constexpr int terms = 11;
  static constexpr double ln2 = 0.693147180559945309;
};

template <typename T>
GPUGRAD_INLINE T vlog(T x) {
  using Tr = ExpTraits<T>;
  using I = typename Tr::Int;
  I bits = bits_of(x);
  I e = ((bits >> Tr::mant) & ((I(1) << (sizeof(T) * 8 - 1 - Tr::mant)) - 1)) - Tr::bias;
  T m = from_bits<T>((bits & ((I(1) << Tr::mant) - 1)) | (I(Tr::bias) << Tr::mant));  // in [1, 2)
  // move m into [sqrt(1/2), sqrt(2)) so that |z| stays small
  bool big = m > T(1.4142135623730951);
  m = big ? m * T(0.5) : m;
  e = big ? e + 1 : e;
  T z = (m - T(1)) / (m + T(1));
  T z2 = z * z;
  T p = T(1) / T(2 * LogTraits<T>::terms + 1);
  for (int k = LogTraits<T>::terms - 1; k >= 0; --k) p = p * z2 + T(1) / T(2 * k + 1);
  T y = T(2) * z * p + static_cast<T>(e) * LogTraits<T>::ln2;
  const T inf = std::numeric_limits<T>::infinity();
  y = x == T(0) ? -inf : y;
  y = x == inf ? inf : y;
  y = x < T(0) ? std::numeric_limits<T>::quiet_NaN() : y;
  return x != x ? x : y;
}

}  // namespace gpugrad
