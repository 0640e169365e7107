"""CUDA sources compiled as host C++ and launched on the CPU (gpugrad's CUDA emulation).

``compile_module(code, options)`` builds the source text a ``RawModule`` was given, unchanged,
with ``csrc/emu/gpugrad_emu.h`` force-included (it models blocks, barriers, warp exchanges,
shared memory, atomics and the fast-math intrinsics; see its header comment), into a
shared library cached by the hash of everything that goes into it. ``Kernel.launch`` does
what the driver does with CuPy's argument list: it reads every parameter with the kernel's
own C++ type, so an argument of another type or width is refused, naming the kernel, the
parameter and both types, before anything runs.

Environment:
- ``GPUGRAD_EMU_THREADS``: ``serial`` (default; one thread of a block runs at a time,
  deterministic) or ``free`` (all at once; what ThreadSanitizer needs to see races).
- ``GPUGRAD_EMU_BLOCK_ORDER``: ``cycle`` (default: forward, reversed, shuffled in turn from
  launch to launch), ``forward``, ``reversed`` or ``shuffled``.
- ``GPUGRAD_EMU_SANITIZE``: ``address`` (ASan + UBSan) or ``thread`` (TSan) builds; the
  sanitizer's runtime must be preloaded (``LD_PRELOAD=$(g++ -print-file-name=libasan.so)``).
- ``GPUGRAD_EMU_CACHE``: where the built modules are kept (default
  ``~/.cache/gpugrad/emu``); ``CXX``: the compiler (default ``g++``).
"""

import ctypes
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np

__all__ = ["EmulationError", "Kernel", "Module", "compile_module", "emu_source_dir", "marshal"]


class EmulationError(RuntimeError):
    """A launch the GPU would not have run correctly (wrong arguments, a launch outside
    CUDA's limits, a warp primitive or barrier in divergent code), or a build failure."""


def emu_source_dir():
    """csrc/emu of a checkout, or its copy shipped in the package (gpugrad/emu_src)."""
    here = Path(__file__).resolve().parent.parent.parent
    for d in (here / "emu_src", here.parent / "csrc" / "emu"):
        if (d / "gpugrad_emu.h").exists():
            return d
    raise FileNotFoundError("[cuda-emu] the emulation sources (gpugrad_emu.h) are missing from this install")


_FLAVORS = {
    "": [],
    "address": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer"],
    "thread": ["-fsanitize=thread"],
}
_RUNTIME_SYMBOL = {"address": "__asan_init", "thread": "__tsan_init"}
_CFLAGS = ["-std=c++17", "-O1", "-g", "-fPIC", "-pthread", "-fno-strict-aliasing", "-Wall", "-Wno-unknown-pragmas",
           "-Wno-unused-function", "-Wno-unused-variable"]


def _flavor():
    name = os.environ.get("GPUGRAD_EMU_SANITIZE", "").strip().lower()
    if name in ("asan", "address,undefined"):
        name = "address"
    if name in ("tsan",):
        name = "thread"
    if name not in _FLAVORS:
        raise EmulationError(f"[cuda-emu] GPUGRAD_EMU_SANITIZE must be address or thread, got {name!r}")
    if name and not hasattr(ctypes.CDLL(None), _RUNTIME_SYMBOL[name]):
        lib = "libasan.so" if name == "address" else "libtsan.so"
        raise EmulationError(
            f"[cuda-emu] GPUGRAD_EMU_SANITIZE={name} needs the sanitizer runtime loaded first: run Python as "
            f"LD_PRELOAD=$(g++ -print-file-name={lib}) python ...")
    return name


def _cache_dir():
    base = os.environ.get("GPUGRAD_EMU_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "gpugrad", "emu")
    os.makedirs(base, exist_ok=True)
    return Path(base)


def _compiler():
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise EmulationError(f"[cuda-emu] the CUDA emulation compiles kernels with a C++ compiler; {cxx!r} was not "
                             "found (install g++, or set CXX)")
    return cxx


def _host_options(options):
    """The NVRTC options that mean something on the host: include paths and macros. The
    rest (architecture, -ftz, fast math, ...) are modelled by the header or do not apply."""
    out = []
    for opt in options:
        if opt.startswith(("-I", "-D", "-U")):
            out.append(opt)
        elif opt.startswith(("--include-path=",)):
            out.append("-I" + opt.split("=", 1)[1])
        elif opt.startswith(("--define-macro=",)):
            out.append("-D" + opt.split("=", 1)[1])
    return out


_KERNEL_RE = re.compile(r'extern\s+"C"\s+__gpugrad_emu_global__\s+void\s+(\w+)\s*\(')
_ANY_KERNEL_RE = re.compile(r"__gpugrad_emu_global__\s+(?:void\s+)?(\w+)")
_build_lock = threading.Lock()
_modules = {}


def compile_module(code, options=()):
    """The emulated module for CUDA source text ``code`` compiled with NVRTC ``options``."""
    flavor = _flavor()
    emu = emu_source_dir()
    cxx = _compiler()
    host_opts = _host_options(tuple(options))
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    h = hashlib.sha256()
    for part in [code, repr(host_opts), flavor, repr(version), repr(_CFLAGS)] + [
            p.read_text() for p in sorted(emu.rglob("*.h"))]:
        h.update(part.encode())
        h.update(b"\0")
    key = h.hexdigest()[:24]
    with _build_lock:
        mod = _modules.get(key)
        if mod is None:
            mod = Module(_build(key, code, host_opts, flavor, emu, cxx))
            _modules[key] = mod
    return mod


_SIG_RE = re.compile(r'extern\s+"C"\s+__gpugrad_emu_global__\s+void\s+(\w+)\s*\(([^)]*)\)')


def _param_names(preprocessed):
    """Each kernel's parameter names as written (for messages), from the preprocessed text."""
    out = {}
    for name, params in _SIG_RE.findall(preprocessed):
        parts, depth, cur = [], 0, ""
        for ch in params:
            depth += (ch == "<") - (ch == ">")
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        parts.append(cur)
        out[name] = [(re.findall(r"(\w+)\s*(?:\[[^\]]*\])?\s*$", p.split("=")[0]) or ["?"])[-1]
                     for p in parts if p.strip() and p.strip() != "void"]
    return out


def _run(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise EmulationError(f"[cuda-emu] {what} failed ({' '.join(cmd[:1])} exit {proc.returncode}):\n"
                             f"{proc.stderr[-6000:]}")
    return proc.stdout


def _build(key, code, host_opts, flavor, emu, cxx):
    """Build in the module's own folder (so debug info and sanitizer reports name files
    that stay), under a lock: processes that build the same key wait for the first."""
    out = _cache_dir() / key
    lib = out / "module.so"
    with open(_cache_dir() / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if lib.exists():
            return lib
        out.mkdir(exist_ok=True)
        (out / "module.cu").write_text(code)
        incl = ["-I" + str(emu / "include"), "-I" + str(emu)] + host_opts
        pre = _run([cxx, "-E", "-x", "c++", "-std=c++17", "-DGPUGRAD_EMU_SCAN", *incl, "-include", "gpugrad_emu.h",
                    str(out / "module.cu")], "finding the kernels")
        names = list(dict.fromkeys(_KERNEL_RE.findall(pre)))
        others = set(_ANY_KERNEL_RE.findall(pre)) - set(names) - {"void"}
        if others:
            raise EmulationError(f"[cuda-emu] only extern \"C\" kernels can be emulated; not: {sorted(others)}")
        (out / "params.json").write_text(json.dumps(_param_names(pre)))
        table = (f"GPUGRAD_EMU_MODULE({', '.join(f'GPUGRAD_EMU_KERNEL({n})' for n in names)})\n" if names else
                 'extern "C" int gpugrad_emu_table(const gpugrad_emu::Kernel** out) { *out = nullptr; return 0; }\n')
        (out / "module_emu.cpp").write_text('#include "gpugrad_emu.h"\n#include "module.cu"\n' + table)
        _run([cxx, *_CFLAGS, *_FLAVORS[flavor], "-shared", *incl, "-I" + str(out), str(out / "module_emu.cpp"),
              "-o", str(out / "module.so.part")], "compiling the kernels as host C++")
        os.replace(out / "module.so.part", lib)
    return lib


# -- the kernel table ------------------------------------------------------------------------
class _Param(ctypes.Structure):
    _fields_ = [("pretty", ctypes.c_char_p), ("size", ctypes.c_uint), ("is_pointer", ctypes.c_int),
                ("pointee_pretty", ctypes.c_char_p), ("pointee_const", ctypes.c_int)]


class _Kernel(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("nparams", ctypes.c_int), ("params", ctypes.POINTER(_Param)),
                ("call", ctypes.c_void_p), ("ftz", ctypes.c_int)]


class _Shared(ctypes.Structure):
    _fields_ = [("addr", ctypes.c_void_p), ("size", ctypes.c_size_t)]


def _type_of(pretty):
    """The T of GCC's ``... [with T = const float*]`` (pretty<T>() in the header)."""
    m = re.search(r"\[with T = (.*)\]$", pretty.decode())
    return m.group(1).strip() if m else pretty.decode()


# the C++ types each NumPy dtype may meet (GCC's spelling)
_CTYPES = {
    "float32": ("float",), "float64": ("double",), "float16": ("__half",), "bfloat16": ("__nv_bfloat16",),
    "int8": ("signed char", "char"), "uint8": ("unsigned char",), "int16": ("short int",),
    "uint16": ("short unsigned int",), "int32": ("int",), "uint32": ("unsigned int",),
    "int64": ("long int", "long long int"), "uint64": ("long unsigned int", "long long unsigned int"),
    "bool": ("bool",), "complex64": ("complex<float>",), "complex128": ("complex<double>",),
}
_SCALAR_CTYPES = {c for cs in _CTYPES.values() for c in cs}


def _ctype_ok(ctype, dtype):
    return ctype in _CTYPES.get(np.dtype(dtype).name, ())


class Param:
    __slots__ = ("index", "name", "ctype", "size", "pointer", "pointee", "const")

    def __init__(self, index, name, raw):
        self.index, self.name = index, name
        self.ctype, self.size, self.pointer = _type_of(raw.pretty), raw.size, bool(raw.is_pointer)
        self.pointee = _type_of(raw.pointee_pretty) if self.pointer else None
        self.const = bool(raw.pointee_const)

    def __str__(self):
        return f"parameter {self.index} '{self.name}' ({self.ctype})"


class Arg:
    """One kernel argument as CuPy marshals it: a device pointer (``ptr`` and the array's
    dtype and device), a null pointer (None), or a value passed by value (its bytes and dtype)."""

    __slots__ = ("kind", "dtype", "ptr", "data", "device", "what")

    def __init__(self, kind, dtype=None, ptr=0, data=b"", device=None, what=""):
        self.kind, self.dtype, self.ptr, self.data, self.device, self.what = kind, dtype, ptr, data, device, what


def marshal(x, device_array_type):
    """CuPy's RawKernel convention (cupy/cuda/function.pyx ``_pointer``): a device array is
    its data pointer; None a null pointer; a NumPy array of size one is passed by value
    (any other size is refused, as CuPy refuses it); Python bool/int/float become
    bool/int64 (uint64 from 2**63)/float64; NumPy scalars keep their dtype."""
    if x is None:
        return Arg("null", what="None")
    if isinstance(x, device_array_type):
        return Arg("pointer", x.dtype, x.data.ptr, device=x.device.id, what=f"a {x.dtype} device array")
    if isinstance(x, np.ndarray):
        if x.size != 1:
            raise TypeError(f"You are trying to pass a numpy.ndarray of shape {x.shape} as a kernel parameter. Only "
                            "numpy.ndarrays of size one can be passed by value. If you meant to pass a pointer to "
                            "__global__ memory, you need to pass a cupy.ndarray instead.")
        return Arg("value", x.dtype, data=x.tobytes(), what=f"a NumPy array of dtype {x.dtype} (by value)")
    if type(x) is bool:
        v = np.bool_(x)
    elif type(x) is int:
        v = np.uint64(x) if x >= 2**63 else np.int64(x)
    elif type(x) is float:
        v = np.float64(x)
    elif type(x) is complex:
        v = np.complex128(x)
    elif isinstance(x, np.generic):
        v = x
    else:
        raise TypeError(f"Unsupported type {type(x)}")
    kind = type(x).__name__ if type(x) in (bool, int, float, complex) else f"np.{v.dtype.name}"
    return Arg("value", v.dtype, data=v.tobytes(), what=f"{kind} {x!r}"[:80])


# -- modules and launches ----------------------------------------------------------------------
_launch_count = [0]
_ORDERS = {"forward": 0, "reversed": 1, "shuffled": 2}


def _order_mode(counter):
    spec = os.environ.get("GPUGRAD_EMU_BLOCK_ORDER", "cycle").strip().lower() or "cycle"
    if spec == "cycle":
        return counter % 3
    if spec not in _ORDERS:
        raise EmulationError(f"[cuda-emu] GPUGRAD_EMU_BLOCK_ORDER must be cycle, forward, reversed or shuffled, "
                             f"got {spec!r}")
    return _ORDERS[spec]


def _serial():
    spec = os.environ.get("GPUGRAD_EMU_THREADS", "serial").strip().lower() or "serial"
    if spec not in ("serial", "free"):
        raise EmulationError(f"[cuda-emu] GPUGRAD_EMU_THREADS must be serial or free, got {spec!r}")
    return spec == "serial"


class Module:
    """A built emulation library: its kernels by name."""

    def __init__(self, path):
        self.path = Path(path)
        self.lib = ctypes.CDLL(str(self.path))
        table = ctypes.POINTER(_Kernel)()
        self.lib.gpugrad_emu_table.argtypes = [ctypes.POINTER(ctypes.POINTER(_Kernel))]
        count = self.lib.gpugrad_emu_table(ctypes.byref(table))
        names = json.loads((self.path.parent / "params.json").read_text())
        self.kernels = {}
        for i in range(count):
            k = table[i]
            name = k.name.decode()
            pnames = names.get(name, [])
            params = [Param(j, pnames[j] if j < len(pnames) else f"arg{j}", k.params[j]) for j in range(k.nparams)]
            self.kernels[name] = Kernel(self, i, name, params, bool(k.ftz))
        self._launch = getattr(self.lib, "gpugrad_emu_launch", None)
        if self._launch is not None:
            self._launch.restype = ctypes.c_int
        self.shared = self._shared_ranges()

    def _shared_ranges(self):
        """The addresses and sizes of the module's __shared__ variables (function-local
        statics of the kernel code), to overwrite before every block."""
        syms = _run(["nm", "--defined-only", "-S", str(self.path)], "listing the module's symbols").splitlines()
        anchor = None
        local = []
        for line in syms:
            parts = line.split()
            if parts and parts[-1] == "gpugrad_emu_table":
                anchor = int(parts[0], 16)
            if len(parts) == 4 and parts[2] in "bBuVdD" and parts[3].startswith("_ZZ"):
                local.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
        if not local:
            return (_Shared * 1)(), 0
        demangled = _run(["c++filt"] + [m for _, _, m in local], "demangling").splitlines()
        base = ctypes.cast(self.lib.gpugrad_emu_table, ctypes.c_void_p).value - anchor
        ranges = [(base + addr, size) for (addr, size, _), d in zip(local, demangled)
                  if not d.startswith(("std::", "__gnu_cxx::", "gpugrad_emu::", "guard variable"))]
        arr = (_Shared * max(len(ranges), 1))(*[_Shared(a, s) for a, s in ranges])
        return arr, len(ranges)

    def function(self, name):
        k = self.kernels.get(name)
        if k is None:
            raise EmulationError(f"[cuda-emu] the module has no kernel named {name!r} (CUDA_ERROR_NOT_FOUND); it has: "
                                 f"{', '.join(sorted(self.kernels)) or 'none'}")
        return k


class Kernel:
    """One emulated kernel; ``launch`` takes what CuPy's RawKernel call takes."""

    def __init__(self, module, index, name, params, ftz):
        self.module, self.index, self.name, self.params, self.ftz = module, index, name, params, ftz

    def __repr__(self):
        return f"<emulated kernel {self.name}({', '.join(p.ctype for p in self.params)})>"

    def check(self, args, device):
        """Refuse what would corrupt memory or compute garbage on the GPU."""
        if len(args) != len(self.params):
            raise EmulationError(f"[cuda-emu] {self.name} takes {len(self.params)} parameters, got {len(args)} "
                                 "arguments")
        for p, a in zip(self.params, args):
            if p.pointer:
                if a.kind == "null":
                    continue
                if a.kind != "pointer":
                    raise EmulationError(f"[cuda-emu] {self.name}: {p} is a pointer, got {a.what} (a device array, or "
                                         "None for a null pointer)")
                if not _ctype_ok(p.pointee, a.dtype):
                    raise EmulationError(f"[cuda-emu] {self.name}: {p} reads {p.pointee} elements, got {a.what} "
                                         f"({a.dtype.itemsize}-byte {a.dtype} elements)")
                if device is not None and a.device != device:
                    raise EmulationError(f"[cuda-emu] {self.name}: {p} got an array on cuda:{a.device}, but the kernel "
                                         f"runs on cuda:{device} (an illegal address on the GPU)")
                continue
            if a.kind != "value":
                raise EmulationError(f"[cuda-emu] {self.name}: {p} is passed by value, got {a.what}")
            if len(a.data) != p.size:
                raise EmulationError(f"[cuda-emu] {self.name}: {p} is {p.size} bytes, got {a.what} "
                                     f"({len(a.data)} bytes)")
            if p.ctype in _SCALAR_CTYPES or a.dtype.kind != "V":
                if not _ctype_ok(p.ctype, a.dtype):
                    raise EmulationError(f"[cuda-emu] {self.name}: {p} got {a.what}")

    def launch(self, grid, block, args, device=None):
        """Run the kernel over ``grid`` x ``block`` (3-tuples, as CuPy passes them to the
        driver) with ``args`` (``Arg`` objects from ``marshal``)."""
        grid, block = tuple(int(g) for g in grid), tuple(int(b) for b in block)
        _check_config(self.name, grid, block)
        self.check(args, device)
        slots = []
        keep = []
        for a in args:
            if a.kind == "value":
                buf = ctypes.create_string_buffer(a.data, len(a.data))
            else:
                buf = ctypes.c_uint64(a.ptr if a.kind == "pointer" else 0)
            keep.append(buf)
            slots.append(ctypes.cast(ctypes.pointer(buf), ctypes.c_void_p))
        argv = (ctypes.c_void_p * max(len(slots), 1))(*[s.value for s in slots])
        g3, b3 = (ctypes.c_uint * 3)(*grid), (ctypes.c_uint * 3)(*block)
        _launch_count[0] += 1
        counter = _launch_count[0]
        err = ctypes.create_string_buffer(4096)
        shared, nshared = self.module.shared
        rc = self.module._launch(ctypes.c_int(self.index), argv, g3, b3, ctypes.c_int(_order_mode(counter)),
                                 ctypes.c_int(-1), ctypes.c_int(1 if _serial() else 0), ctypes.c_uint(counter & 0xFFFFFFFF),
                                 shared, ctypes.c_int(nshared), err, ctypes.c_size_t(len(err)))
        if rc:
            raise EmulationError(f"[cuda-emu] {self.name} <<<{grid}, {block}>>>: {err.value.decode(errors='replace')}")


def _check_config(name, grid, block):
    """CUDA's launch limits (compute capability 8.x/9.x)."""
    if len(grid) != 3 or len(block) != 3 or min(grid + block) < 1:
        raise EmulationError(f"[cuda-emu] {name}: grid and block must be three positive sizes, got {grid} and {block}")
    if block[0] > 1024 or block[1] > 1024 or block[2] > 64 or block[0] * block[1] * block[2] > 1024:
        raise EmulationError(f"[cuda-emu] {name}: block {block} is over CUDA's limits (1024 threads, x and y up to 1024, "
                             "z up to 64; CUDA_ERROR_INVALID_VALUE)")
    if grid[0] > 2**31 - 1 or grid[1] > 65535 or grid[2] > 65535:
        raise EmulationError(f"[cuda-emu] {name}: grid {grid} is over CUDA's limits (x up to 2**31 - 1, y and z up to "
                             "65535; CUDA_ERROR_INVALID_VALUE)")
