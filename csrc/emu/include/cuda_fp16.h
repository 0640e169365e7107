// Host stand-in for CUDA's cuda_fp16.h under gpugrad's CUDA emulation: __half as 16 bits
// with the conversions the hardware does (float -> half rounds to nearest even, keeps
// NaN, overflows to infinity, gives subnormals; half -> float is exact).
#pragma once

#include <cstdint>
#include <cstring>

namespace gpugrad_emu {
inline uint16_t float_to_half_bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, mag = x & 0x7fffffffu;
  if (mag > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((mag >> 13) & 0x3ffu));  // NaN stays NaN
  if (mag >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // rounds to or past 65520: infinity
  if (mag < 0x38800000u) {  // below half's smallest normal: a subnormal (or zero)
    if (mag < 0x33000000u) return (uint16_t)sign;  // under half the smallest subnormal
    uint32_t m = (mag & 0x7fffffu) | 0x800000u;
    int shift = 126 - (int)(mag >> 23);  // 14 .. 24
    uint32_t q = m >> shift, rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (q & 1u))) ++q;
    return (uint16_t)(sign | q);
  }
  uint32_t q = ((mag - 0x38000000u) >> 13), rest = mag & 0x1fffu;  // rebias 127 -> 15
  if (rest > 0x1000u || (rest == 0x1000u && (q & 1u))) ++q;
  return (uint16_t)(sign | q);
}

inline float half_bits_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
  if (e == 0x1f) {
    x = sign | 0x7f800000u | (m << 13);
  } else if (e == 0) {
    if (m == 0) {
      x = sign;
    } else {  // normalise the subnormal
      int s = 0;
      while (!(m & 0x400u)) {
        m <<= 1;
        ++s;
      }
      x = sign | ((uint32_t)(113 - s) << 23) | ((m & 0x3ffu) << 13);
    }
  } else {
    x = sign | ((e + 112u) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
}  // namespace gpugrad_emu

struct __half {
  uint16_t __x;
  __half() = default;
  __half(float f) : __x(gpugrad_emu::float_to_half_bits(f)) {}
  __half(double d) : __x(gpugrad_emu::float_to_half_bits((float)d)) {}
  operator float() const { return gpugrad_emu::half_bits_to_float(__x); }
};
static_assert(sizeof(__half) == 2, "__half is 16 bits");

inline float __half2float(__half h) { return gpugrad_emu::half_bits_to_float(h.__x); }
inline __half __float2half(float f) { return __half(f); }
inline __half __float2half_rn(float f) { return __half(f); }
