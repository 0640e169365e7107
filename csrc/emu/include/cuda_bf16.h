// Host stand-in for CUDA's cuda_bf16.h under gpugrad's CUDA emulation: __nv_bfloat16 as the
// top 16 bits of a float, rounded to nearest even (NaN kept quiet); widening is exact.
#pragma once

#include <cstdint>
#include <cstring>

namespace gpugrad_emu {
inline uint16_t float_to_bf16_bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return (uint16_t)(x >> 16);
}
inline float bf16_bits_to_float(uint16_t b) {
  uint32_t x = (uint32_t)b << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
}  // namespace gpugrad_emu

struct __nv_bfloat16 {
  uint16_t __x;
  __nv_bfloat16() = default;
  __nv_bfloat16(float f) : __x(gpugrad_emu::float_to_bf16_bits(f)) {}
  __nv_bfloat16(double d) : __x(gpugrad_emu::float_to_bf16_bits((float)d)) {}
  operator float() const { return gpugrad_emu::bf16_bits_to_float(__x); }
};
static_assert(sizeof(__nv_bfloat16) == 2, "__nv_bfloat16 is 16 bits");

inline float __bfloat162float(__nv_bfloat16 b) { return gpugrad_emu::bf16_bits_to_float(b.__x); }
inline __nv_bfloat16 __float2bfloat16(float f) { return __nv_bfloat16(f); }
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16(f); }
