// gpugrad's CUDA emulation: csrc/cuda/*.cu compiled unchanged as host C++ (this header is
// force-included before the source) and run on the CPU.
//
// What it models, so that real mistakes show:
// - every block is run by blockDim real threads (a pool kept per module), each with its
//   own threadIdx/blockIdx/blockDim/gridDim; __syncthreads is a real barrier;
// - warp primitives (__shfl_*_sync, __ballot_sync, __syncwarp) exchange values through a
//   per-warp rendezvous that refuses a lane outside its own mask, a named lane that exits
//   or waits elsewhere instead, and lanes that meet with different masks or operations;
// - a __syncthreads that some threads of the block never reach (they exited) is an error;
// - __shared__ variables are shared by the block's threads and overwritten with 0xff bytes
//   (NaN for every float type) before each block: an unwritten read shows as NaN;
// - atomics and fences on plain memory (GCC __atomic builtins, visible to ThreadSanitizer);
// - __expf/__logf as the hardware computes them (ex2/lg2 of a rounded product), and
//   flush-to-zero for the float kernels, as CuPy compiles them (-ftz=true);
// - blocks run one at a time, in an order that changes from launch to launch (forward,
//   reversed, shuffled), so a kernel that depends on block order gives other results;
// - scheduling of a block's threads: 'serial' (default: one thread runs at a time and
//   hands over at each barrier or warp exchange, in forward, reversed or shuffled thread
//   order; deterministic) or 'free' (all threads run at once; for ThreadSanitizer).
// What it does not model: concurrent blocks, the GPU's memory model and caches, timing,
// dynamic shared memory, textures, cooperative groups.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>
#include <xmmintrin.h>
#include <pthread.h>
#include <sched.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cuda_bf16.h"
#include "cuda_fp16.h"

// Under ThreadSanitizer the emulator's own synchronisation is hidden (Quiet) and only the
// edges CUDA defines are shown to it: the block's start, __syncthreads, __syncwarp and the
// block's end. So accesses of a block's threads between two barriers are unordered, as on
// the GPU, and a race there is reported even though the threads take turns on one CPU.
// (Blocks still run one after another, each ordered after the last: races between blocks
// are not modelled.)
#if defined(__SANITIZE_THREAD__)
extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
void AnnotateIgnoreSyncBegin(const char* file, int line);
void AnnotateIgnoreSyncEnd(const char* file, int line);
void AnnotateIgnoreReadsBegin(const char* file, int line);
void AnnotateIgnoreReadsEnd(const char* file, int line);
void AnnotateIgnoreWritesBegin(const char* file, int line);
void AnnotateIgnoreWritesEnd(const char* file, int line);
}
namespace gpugrad_emu {
struct Quiet {
  Quiet() {
    AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
  }
  ~Quiet() {
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
    AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
  }
};
inline void hb_release(void* p) { __tsan_release(p); }
inline void hb_acquire(void* p) { __tsan_acquire(p); }
}  // namespace gpugrad_emu
#else
namespace gpugrad_emu {
struct Quiet {
  Quiet() {}  // user-provided, so an unused Quiet draws no warning
};
inline void hb_release(void*) {}
inline void hb_acquire(void*) {}
}  // namespace gpugrad_emu
#endif

// ---- the language ------------------------------------------------------------------------
#ifdef GPUGRAD_EMU_SCAN  // the launcher's first pass finds the kernels by this marker
#define __global__ __gpugrad_emu_global__
#else
#define __global__
#endif
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __shared__ static
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __constant__ static const

struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
};
constexpr int warpSize = 32;

inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;

using std::exp;
using std::fabs;
using std::log;
using std::sqrt;
using std::fmax;
using std::fmin;
using std::isnan;
using std::isinf;

// ---- bit casts and the fast-math intrinsics ------------------------------------------------
namespace gpugrad_emu {
template <typename To, typename From>
inline To bits_as(From v) {
  static_assert(sizeof(To) == sizeof(From), "same width");
  To out;
  std::memcpy(&out, &v, sizeof(To));
  return out;
}
}  // namespace gpugrad_emu
inline float __int_as_float(int v) { return gpugrad_emu::bits_as<float>(v); }
inline int __float_as_int(float f) { return gpugrad_emu::bits_as<int>(f); }
inline unsigned int __float_as_uint(float f) { return gpugrad_emu::bits_as<unsigned int>(f); }
inline float __uint_as_float(unsigned int v) { return gpugrad_emu::bits_as<float>(v); }
inline double __longlong_as_double(long long v) { return gpugrad_emu::bits_as<double>(v); }
inline long long __double_as_longlong(double d) { return gpugrad_emu::bits_as<long long>(d); }

namespace gpugrad_emu {
inline float ftz(float v) { return std::fpclassify(v) == FP_SUBNORMAL ? std::copysign(0.0f, v) : v; }
// ex2.approx.ftz.f32 and lg2.approx.ftz.f32: within their ~2 ulp of the exact result, here
// the exactly rounded value; what dominates __expf's error on the GPU is the rounding of
// x * log2(e) to float before ex2, which is modelled as the hardware does it
inline float ex2_approx(float x) { return ftz((float)std::exp2((double)ftz(x))); }
inline float lg2_approx(float x) { return (float)std::log2((double)ftz(x)); }
}  // namespace gpugrad_emu

inline float __expf(float x) { return gpugrad_emu::ex2_approx(x * 1.4426950408889634f); }
inline float __logf(float x) { return gpugrad_emu::ftz(gpugrad_emu::lg2_approx(x) * 0.6931471805599453f); }
inline float __fdividef(float a, float b) { return gpugrad_emu::ftz(a / b); }

// ---- atomics on plain memory -------------------------------------------------------------
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

namespace gpugrad_emu {
template <typename T, typename Bits, typename F>
T atomic_update(T* p, F f) {
  static_assert(sizeof(T) == sizeof(Bits), "bit width");
  Bits* b = reinterpret_cast<Bits*>(p);
  Bits old = __atomic_load_n(b, __ATOMIC_RELAXED);
  for (;;) {
    T ov;
    std::memcpy(&ov, &old, sizeof(T));
    T nv = f(ov);
    Bits nb;
    std::memcpy(&nb, &nv, sizeof(T));
    if (__atomic_compare_exchange_n(b, &old, nb, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) return ov;
  }
}
}  // namespace gpugrad_emu

inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned int atomicAdd(unsigned int* p, unsigned int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline float atomicAdd(float* p, float v) {
  return gpugrad_emu::atomic_update<float, uint32_t>(p, [v](float o) { return o + v; });
}
inline double atomicAdd(double* p, double v) {
  return gpugrad_emu::atomic_update<double, uint64_t>(p, [v](double o) { return o + v; });
}
inline int atomicSub(int* p, int v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
inline unsigned int atomicSub(unsigned int* p, unsigned int v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
inline int atomicMax(int* p, int v) {
  return gpugrad_emu::atomic_update<int, int>(p, [v](int o) { return o > v ? o : v; });
}
inline unsigned int atomicMax(unsigned int* p, unsigned int v) {
  return gpugrad_emu::atomic_update<unsigned int, unsigned int>(p, [v](unsigned int o) { return o > v ? o : v; });
}
inline int atomicMin(int* p, int v) {
  return gpugrad_emu::atomic_update<int, int>(p, [v](int o) { return o < v ? o : v; });
}
inline unsigned int atomicMin(unsigned int* p, unsigned int v) {
  return gpugrad_emu::atomic_update<unsigned int, unsigned int>(p, [v](unsigned int o) { return o < v ? o : v; });
}
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
inline unsigned int atomicExch(unsigned int* p, unsigned int v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
inline float atomicExch(float* p, float v) {
  return gpugrad_emu::atomic_update<float, uint32_t>(p, [v](float) { return v; });
}
inline int atomicCAS(int* p, int cmp, int v) {
  __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return cmp;
}
inline unsigned int atomicCAS(unsigned int* p, unsigned int cmp, unsigned int v) {
  __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return cmp;
}
inline unsigned long long atomicCAS(unsigned long long* p, unsigned long long cmp, unsigned long long v) {
  __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return cmp;
}

// ---- the block: its threads, barriers and warp exchanges ----------------------------------
namespace gpugrad_emu {

struct Abort {};  // unwinds a thread when its block failed

// A binary semaphore on a futex: a thread that waits on it sleeps until another posts.
// (The atomics give ThreadSanitizer the happens-before edge of every hand-over.)
struct Sem {
  std::atomic<int> v{0};
  void post() {
    v.store(1, std::memory_order_release);
    syscall(SYS_futex, reinterpret_cast<int*>(&v), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
  void wait() {
    while (v.exchange(0, std::memory_order_acquire) == 0)
      syscall(SYS_futex, reinterpret_cast<int*>(&v), FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
  }
};

enum class St { Idle, Ready, Run, Barrier, Warp, Done };
enum class WarpOp { Sync, ShflIdx, ShflUp, ShflDown, ShflXor, Ballot, Any, All };

inline const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::Sync: return "__syncwarp";
    case WarpOp::ShflIdx: return "__shfl_sync";
    case WarpOp::ShflUp: return "__shfl_up_sync";
    case WarpOp::ShflDown: return "__shfl_down_sync";
    case WarpOp::ShflXor: return "__shfl_xor_sync";
    case WarpOp::Ballot: return "__ballot_sync";
    case WarpOp::Any: return "__any_sync";
    case WarpOp::All: return "__all_sync";
  }
  return "?";
}

constexpr int kMaxThreads = 1024;

struct Lane {
  St st = St::Idle;
  WarpOp op = WarpOp::Sync;
  unsigned mask = 0;
  int arg = 0, width = 32;
  uint64_t in = 0, out = 0;
  Sem sem;  // posted when this thread may run (its block started, its turn came, its sync completed)
};

struct Launch {
  void (*call)(const void* const*) = nullptr;
  const void* const* args = nullptr;
  dim3 grid{1, 1, 1}, block{1, 1, 1};
  bool ftz = true;
};

// One block at a time; thread i of the block is worker i of the pool. All state is
// guarded by mu. A thread runs only in St::Run: in serial mode one at a time, handed the
// turn by schedule() in the block's thread order; in free mode all that are not waiting.
class Block {
 public:
  std::mutex mu;
  Lane lanes[kMaxThreads];
  int n = 0;
  bool serial = true;
  bool failed = false;
  std::string error;
  std::vector<int> order;
  int running = 0, done = 0;
  size_t cursor = 0;  // serial: threads before order[cursor] are not ready
  int posts[kMaxThreads];  // threads to wake once mu is released (so they do not wake into a held lock)
  int nposts = 0;
  const Launch* launch = nullptr;
  uint3 bidx{0, 0, 0};
  Sem finished;  // posted when the last thread is done
  // addresses ThreadSanitizer's happens-before edges hang on (see Quiet)
  char hb_start = 0, hb_end = 0, hb_bar[2] = {0, 0}, hb_warp[kMaxThreads / 32][2] = {};

  void start(const Launch* L, uint3 b, int threads, bool serial_mode, std::vector<int> thread_order) {
    hb_release(&hb_start);  // what the launcher wrote (shared memory's poison) comes before the block
    Quiet q;
    std::unique_lock<std::mutex> lk(mu);
    launch = L;
    bidx = b;
    n = threads;
    serial = serial_mode;
    failed = false;
    error.clear();
    order = std::move(thread_order);
    running = serial ? 0 : n;
    done = 0;
    cursor = 0;
    nposts = 0;
    for (int i = 0; i < kMaxThreads; ++i) lanes[i].st = i >= n ? St::Idle : (serial ? St::Ready : St::Run);
    if (serial)
      schedule();
    else
      for (int i = 0; i < n; ++i) posts[nposts++] = i;
    flush(lk);
  }

  // wake the threads noted in posts, with mu released (mu is held again on return)
  void flush(std::unique_lock<std::mutex>& lk) {
    int buf[kMaxThreads];
    int k = nposts;
    std::copy(posts, posts + k, buf);
    nposts = 0;
    lk.unlock();
    for (int i = 0; i < k; ++i) lanes[buf[i]].sem.post();
    lk.lock();
  }

  void wait_finished() {
    {
      Quiet q;
      wait_done();
    }
    hb_acquire(&hb_end);
  }

  void wait_done() {
    for (;;) {
      {
        std::lock_guard<std::mutex> g(mu);
        if (done == n) return;
      }
      finished.wait();
    }
  }

  // with mu held: hand the turn to the next ready thread (serial), or notice that nothing
  // can move any more (a deadlock: some sync can never complete)
  void schedule() {
    if (failed) return;
    if (serial && running == 0)
      for (; cursor < order.size(); ++cursor) {
        int t = order[cursor];
        if (lanes[t].st == St::Ready) {
          lanes[t].st = St::Run;
          running = 1;
          posts[nposts++] = t;
          return;
        }
      }
    if (running == 0 && done < n) fail(stuck());
  }

  std::string stuck() {
    for (int t = 0; t < n; ++t)
      if (lanes[t].st == St::Warp) {
        int w0 = t - t % 32;
        for (int l = 0; l < 32; ++l)
          if (lanes[t].mask >> l & 1u) {
            const Lane& o = lanes[w0 + l];
            if (o.st == St::Done)
              return describe(t) + " waits for lane " + std::to_string(l) + ", which has exited (a warp " +
                     "primitive in divergent code)";
            if (o.st == St::Barrier)
              return describe(t) + " waits for lane " + std::to_string(l) + ", which waits at __syncthreads " +
                     "instead (a warp primitive in divergent code)";
          }
      }
    for (int t = 0; t < n; ++t)
      if (lanes[t].st == St::Barrier)
        for (int u = 0; u < n; ++u)
          if (lanes[u].st == St::Done)
            return "thread " + std::to_string(t) + " waits at __syncthreads, which thread " + std::to_string(u) +
                   " never reaches (it exited): a __syncthreads in divergent code";
    return "the block's threads wait for each other and none can proceed";
  }

  std::string describe(int t) {
    char mask[16];
    std::snprintf(mask, sizeof mask, "%08x", lanes[t].mask);
    return std::string(op_name(lanes[t].op)) + " of thread " + std::to_string(t) + " (warp " + std::to_string(t / 32) +
           ", lane " + std::to_string(t % 32) + ", mask 0x" + mask + ")";
  }

  void fail(const std::string& why) {
    if (!failed) {
      failed = true;
      error = why;
    }
    for (int t = 0; t < n; ++t) lanes[t].sem.post();  // every waiting thread wakes and unwinds
  }

  // thread t stops running: it waits at a sync, or it has ended
  void leave(int t, St st) {
    Lane& me = lanes[t];
    if (me.st == St::Run) --running;
    if (st == St::Done && me.st != St::Done && ++done == n) finished.post();
    me.st = st;
  }

  // thread u may go on after a completed sync
  void release(int u) {
    if (serial) {
      lanes[u].st = St::Ready;
      cursor = 0;
    } else {
      lanes[u].st = St::Run;
      ++running;
      posts[nposts++] = u;
    }
  }

  // wait (mu held on entry and exit) until thread t runs again; unwind if the block failed
  void wait_turn(std::unique_lock<std::mutex>& lk, int t) {
    flush(lk);
    while (lanes[t].st != St::Run && !failed) {
      lk.unlock();
      lanes[t].sem.wait();
      lk.lock();
    }
    if (failed) throw Abort{};
  }

  void syncthreads(int t, unsigned epoch) {
    hb_release(&hb_bar[epoch & 1]);
    {
      Quiet q;
      std::unique_lock<std::mutex> lk(mu);
      if (failed) throw Abort{};
      leave(t, St::Barrier);
      bool all = true;
      for (int u = 0; u < n && all; ++u) all = lanes[u].st == St::Barrier;
      if (all)
        for (int u = 0; u < n; ++u) release(u);
      schedule();
      wait_turn(lk, t);
    }
    hb_acquire(&hb_bar[epoch & 1]);
  }

  // __syncwarp orders memory among its lanes; shuffles and votes exchange values only
  uint64_t warp_op(int t, WarpOp op, unsigned mask, uint64_t in, int arg, int width, unsigned epoch) {
    if (op == WarpOp::Sync) hb_release(&hb_warp[t / 32][epoch & 1]);
    uint64_t out = warp_wait(t, op, mask, in, arg, width);
    if (op == WarpOp::Sync) hb_acquire(&hb_warp[t / 32][epoch & 1]);
    return out;
  }

  uint64_t warp_wait(int t, WarpOp op, unsigned mask, uint64_t in, int arg, int width) {
    Quiet q;
    std::unique_lock<std::mutex> lk(mu);
    if (failed) throw Abort{};
    int lane = t % 32, w0 = t - lane;
    Lane& me = lanes[t];
    me.op = op;
    me.mask = mask;
    me.in = in;
    me.arg = arg;
    me.width = width;
    std::string bad;
    if (!(mask >> lane & 1u)) bad = describe(t) + " is called by a lane that its mask does not name";
    if (width < 1 || width > 32 || (width & (width - 1)))
      bad = describe(t) + " has width " + std::to_string(width) + "; it must be a power of two up to 32";
    // has every named lane arrived, at the same operation with the same mask?
    bool complete = true;
    for (int l = 0; l < 32 && bad.empty(); ++l) {
      if (!(mask >> l & 1u) || l == lane) continue;
      int u = w0 + l;
      if (u >= n) {
        bad = describe(t) + " names lane " + std::to_string(l) + ", which does not exist in a block of " +
              std::to_string(n) + " threads";
      } else if (lanes[u].st == St::Warp) {
        if (lanes[u].op != op || lanes[u].mask != mask)
          bad = describe(t) + " meets " + describe(u) + ": the lanes of a warp primitive must call the same one " +
                "with the same mask";
      } else {
        complete = false;  // still running, or blocked elsewhere: schedule() notices a deadlock
      }
    }
    if (!bad.empty()) {
      fail(bad);
      throw Abort{};
    }
    leave(t, St::Warp);
    if (complete) exchange(w0, op, mask);
    schedule();
    wait_turn(lk, t);
    return me.out;
  }

  void exchange(int w0, WarpOp op, unsigned mask) {
    unsigned ballot = 0;
    for (int l = 0; l < 32; ++l)
      if (mask >> l & 1u) ballot |= (unsigned)(lanes[w0 + l].in != 0) << l;
    for (int l = 0; l < 32; ++l) {
      if (!(mask >> l & 1u)) continue;
      Lane& me = lanes[w0 + l];
      int width = me.width, base = l - l % width, src = l;
      switch (op) {
        case WarpOp::ShflIdx: src = base + ((me.arg % width) + width) % width; break;
        case WarpOp::ShflUp: src = l - me.arg >= base ? l - me.arg : l; break;
        case WarpOp::ShflDown: src = l + me.arg < base + width ? l + me.arg : l; break;
        case WarpOp::ShflXor: src = l ^ me.arg; src = src >= base && src < base + width ? src : l; break;
        default: break;
      }
      if (op == WarpOp::Ballot) me.out = ballot;
      else if (op == WarpOp::Any) me.out = ballot != 0;
      else if (op == WarpOp::All) me.out = ballot == mask;
      else if (op == WarpOp::Sync) me.out = 0;
      else if (!(mask >> src & 1u)) {
        fail(describe(w0 + l) + " reads lane " + std::to_string(src) + ", which its mask does not name");
        return;
      } else {
        me.out = lanes[w0 + src].in;
      }
    }
    for (int l = 0; l < 32; ++l)
      if (mask >> l & 1u) release(w0 + l);
  }

  void finish(int t) {
    hb_release(&hb_end);
    Quiet q;
    std::unique_lock<std::mutex> lk(mu);
    leave(t, St::Done);
    schedule();
    flush(lk);
  }
};

inline thread_local Block* cur_block = nullptr;
inline thread_local int cur_thread = 0;
inline thread_local unsigned bar_epoch = 0, warp_epoch = 0;  // barriers this thread has passed

struct Shared {  // a module's __shared__ variables, overwritten before every block
  unsigned char* addr;
  size_t size;
};

class Pool {
 public:
  void run_block(const Launch& L, uint3 bidx, int threads, bool serial, std::vector<int> order, std::string& error) {
    grow(threads);
    block_.start(&L, bidx, threads, serial, std::move(order));
    block_.wait_finished();
    if (block_.failed && error.empty()) error = block_.error;
  }

 private:
  // All of a module's workers share one CPU: a block's threads mostly hand over to each
  // other, and a hand-over within one CPU is a plain switch (a few us) where one across
  // CPUs waits for the other CPU to wake (tens of us on a VM).
  void grow(int threads) {
    if (workers_ == 0) {
      cpu_set_t all;
      CPU_ZERO(&cpu_);
      int here = sched_getcpu();  // the launching thread's CPU (processes side by side spread out)
      if (sched_getaffinity(0, sizeof all, &all) == 0) {
        if (here >= 0 && CPU_ISSET(here, &all)) {
          CPU_SET(here, &cpu_);
        } else {
          for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &all)) {
              CPU_SET(c, &cpu_);
              break;
            }
        }
      }
    }
    while (workers_ < threads) {
      int id = workers_++;
      std::thread([this, id] {
        if (CPU_COUNT(&cpu_)) pthread_setaffinity_np(pthread_self(), sizeof cpu_, &cpu_);
        worker(id);
      }).detach();
    }
  }

  void worker(int id) {
    for (;;) {
      const Launch* L = nullptr;
      uint3 bidx;
      if (take(id, L, bidx)) run_thread(block_, *L, bidx, id);
    }
  }

  // wait until worker id has a thread of a block to run
  bool take(int id, const Launch*& L, uint3& bidx) {
    Quiet q;
    Block& b = block_;
    Lane& me = b.lanes[id];
    me.sem.wait();
    std::unique_lock<std::mutex> lk(b.mu);
    if (me.st == St::Idle || me.st == St::Done) return false;  // a wake-up left over from a failed block
    if (b.failed) {  // the block failed before this thread began
      b.leave(id, St::Done);
      return false;
    }
    if (me.st != St::Run) return false;
    L = b.launch;
    bidx = b.bidx;
    return true;
  }

  void run_thread(Block& b, const Launch& L, uint3 bidx, int id) {
    hb_acquire(&b.hb_start);  // the launch (on the launcher's stack) and the poisoned shared memory come first
    unsigned csr = _mm_getcsr();
    // flush-to-zero and denormals-are-zero, as -ftz=true gives float kernels on the GPU
    _mm_setcsr(L.ftz ? (csr | 0x8040u) : (csr & ~0x8040u));
    threadIdx = uint3{id % L.block.x, id / L.block.x % L.block.y, id / (L.block.x * L.block.y)};
    blockIdx = bidx;
    blockDim = L.block;
    gridDim = L.grid;
    cur_block = &b;
    cur_thread = id;
    bar_epoch = warp_epoch = 0;
    try {
      L.call(L.args);
    } catch (Abort&) {
    } catch (std::exception& e) {
      Quiet q;
      std::unique_lock<std::mutex> lk(b.mu);
      b.fail(std::string("thread ") + std::to_string(id) + " threw " + e.what());
    }
    _mm_setcsr(csr);
    b.finish(id);
  }

  Block block_;
  int workers_ = 0;
  cpu_set_t cpu_;
};

inline Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: its threads outlive static destruction
  return *p;
}

inline std::mutex& launch_mutex() {
  static std::mutex m;
  return m;
}

// the order of blocks: 0 forward, 1 reversed, 2 shuffled (by seed)
inline std::vector<uint3> block_order(dim3 g, int mode, unsigned seed) {
  std::vector<uint3> v;
  v.reserve((size_t)g.x * g.y * g.z);
  for (unsigned z = 0; z < g.z; ++z)
    for (unsigned y = 0; y < g.y; ++y)
      for (unsigned x = 0; x < g.x; ++x) v.push_back(uint3{x, y, z});
  if (mode == 1) std::reverse(v.begin(), v.end());
  if (mode == 2) std::shuffle(v.begin(), v.end(), std::mt19937(seed));
  return v;
}

inline std::vector<int> thread_order(int n, int mode, unsigned seed) {
  std::vector<int> v(n);
  for (int i = 0; i < n; ++i) v[i] = i;
  if (mode == 1) std::reverse(v.begin(), v.end());
  if (mode == 2) std::shuffle(v.begin(), v.end(), std::mt19937(seed));
  return v;
}

inline int run(const Launch& L, int block_mode, int thread_mode, bool serial, unsigned seed, const Shared* shared,
               int nshared, char* err, size_t errlen) {
  std::lock_guard<std::mutex> g(launch_mutex());
  int threads = (int)(L.block.x * L.block.y * L.block.z);
  std::string error;
  auto blocks = block_order(L.grid, block_mode, seed);
  size_t k = 0;
  for (const uint3& b : blocks) {
    for (int s = 0; s < nshared; ++s) std::memset(shared[s].addr, 0xff, shared[s].size);
    // thread order changes from block to block too
    int tm = thread_mode >= 0 ? thread_mode : (int)((k + seed) % 3);
    pool().run_block(L, b, threads, serial, thread_order(threads, tm, seed + (unsigned)k), error);
    ++k;
    if (!error.empty()) {
      std::snprintf(err, errlen, "block (%u, %u, %u): %s", b.x, b.y, b.z, error.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace gpugrad_emu

// ---- the device functions that talk to the block -------------------------------------------
inline void __syncthreads() { gpugrad_emu::cur_block->syncthreads(gpugrad_emu::cur_thread, gpugrad_emu::bar_epoch++); }

namespace gpugrad_emu {
template <typename T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "warp exchange of a value up to 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <typename T>
T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}
template <typename T>
T shfl(WarpOp op, unsigned mask, T v, int arg, int width) {
  return from_bits<T>(cur_block->warp_op(cur_thread, op, mask, to_bits(v), arg, width, 0));
}
}  // namespace gpugrad_emu

inline void __syncwarp(unsigned mask = 0xffffffffu) {
  gpugrad_emu::cur_block->warp_op(gpugrad_emu::cur_thread, gpugrad_emu::WarpOp::Sync, mask, 0, 0, 32,
                                  gpugrad_emu::warp_epoch++);
}
template <typename T>
T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  return gpugrad_emu::shfl(gpugrad_emu::WarpOp::ShflIdx, mask, v, src, width);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return gpugrad_emu::shfl(gpugrad_emu::WarpOp::ShflUp, mask, v, (int)delta, width);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return gpugrad_emu::shfl(gpugrad_emu::WarpOp::ShflDown, mask, v, (int)delta, width);
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  return gpugrad_emu::shfl(gpugrad_emu::WarpOp::ShflXor, mask, v, lane_mask, width);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
  return (unsigned)gpugrad_emu::cur_block->warp_op(gpugrad_emu::cur_thread, gpugrad_emu::WarpOp::Ballot, mask,
                                                   pred != 0, 0, 32, 0);
}
inline int __any_sync(unsigned mask, int pred) {
  return (int)gpugrad_emu::cur_block->warp_op(gpugrad_emu::cur_thread, gpugrad_emu::WarpOp::Any, mask, pred != 0, 0,
                                              32, 0);
}
inline int __all_sync(unsigned mask, int pred) {
  return (int)gpugrad_emu::cur_block->warp_op(gpugrad_emu::cur_thread, gpugrad_emu::WarpOp::All, mask, pred != 0, 0,
                                              32, 0);
}

// ---- the kernel table the launcher reads ---------------------------------------------------
namespace gpugrad_emu {

// "T" of a template argument, from GCC's __PRETTY_FUNCTION__ ("... [with T = float]")
template <typename T>
const char* pretty() {
  return __PRETTY_FUNCTION__;
}

struct Param {
  const char* pretty;  // pretty<T>() of the parameter's type
  unsigned size;
  int is_pointer;
  const char* pointee_pretty;  // of the pointee without const, for pointers
  int pointee_const;
};

struct Kernel {
  const char* name;
  int nparams;
  const Param* params;
  void (*call)(const void* const*);
  int ftz;  // a float kernel: no double anywhere in its parameters
};

template <typename T>
constexpr bool is_double() {
  using U = std::remove_cv_t<std::remove_pointer_t<std::remove_cv_t<T>>>;
  return std::is_same<U, double>::value;
}

template <typename T>
Param param() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_pointer<U>::value) {
    using P = std::remove_pointer_t<U>;
    return Param{pretty<U>(), (unsigned)sizeof(U), 1, pretty<std::remove_cv_t<P>>(), std::is_const<P>::value ? 1 : 0};
  } else {
    return Param{pretty<U>(), (unsigned)sizeof(U), 0, "", 0};
  }
}

// read each parameter from its slot of the argument buffer with the kernel's own type
template <typename... Args, size_t... I>
void call_with(void (*k)(Args...), const void* const* a, std::index_sequence<I...>) {
  std::tuple<std::remove_cv_t<Args>...> v;
  (std::memcpy(&std::get<I>(v), a[I], sizeof(std::remove_cv_t<Args>)), ...);
  k(std::get<I>(v)...);
}

template <typename... Args>
struct Describe {
  static inline const Param params[sizeof...(Args) ? sizeof...(Args) : 1] = {param<Args>()...};
  static constexpr bool ftz = !(is_double<Args>() || ... || false);
};

}  // namespace gpugrad_emu

// GPUGRAD_EMU_KERNEL(name): a table entry for the extern "C" kernel `name`
#define GPUGRAD_EMU_KERNEL(kname)                                                                      \
  gpugrad_emu::make_kernel(#kname, &kname, [](const void* const* a) { gpugrad_emu::invoke(&kname, a); })

namespace gpugrad_emu {
template <typename... Args>
void invoke(void (*k)(Args...), const void* const* a) {
  call_with(k, a, std::index_sequence_for<Args...>{});
}
template <typename... Args>
Kernel make_kernel(const char* name, void (*)(Args...), void (*call)(const void* const*)) {
  return Kernel{name, (int)sizeof...(Args), Describe<Args...>::params, call, Describe<Args...>::ftz ? 1 : 0};
}
}  // namespace gpugrad_emu

// the launcher's entry points, after the kernel table (GPUGRAD_EMU_MODULE(entries...))
#define GPUGRAD_EMU_MODULE(...)                                                                          \
  static const gpugrad_emu::Kernel gpugrad_emu_kernels[] = {__VA_ARGS__};                             \
  extern "C" int gpugrad_emu_table(const gpugrad_emu::Kernel** out) {                                    \
    *out = gpugrad_emu_kernels;                                                                          \
    return (int)(sizeof(gpugrad_emu_kernels) / sizeof(gpugrad_emu_kernels[0]));                          \
  }                                                                                                      \
  extern "C" int gpugrad_emu_launch(int k, const void* const* args, const unsigned* grid,                \
                                    const unsigned* block, int block_mode, int thread_mode, int serial,   \
                                    unsigned seed, const gpugrad_emu::Shared* shared, int nshared,        \
                                    char* err, size_t errlen) {                                          \
    gpugrad_emu::Launch L;                                                                               \
    L.call = gpugrad_emu_kernels[k].call;                                                                \
    L.args = args;                                                                                       \
    L.grid = dim3{grid[0], grid[1], grid[2]};                                                            \
    L.block = dim3{block[0], block[1], block[2]};                                                        \
    L.ftz = gpugrad_emu_kernels[k].ftz != 0;                                                             \
    return gpugrad_emu::run(L, block_mode, thread_mode, serial != 0, seed, shared, nshared, err, errlen); \
  }
