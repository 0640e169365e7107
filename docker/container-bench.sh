#!/usr/bin/env bash
# Build gpugrad's benchmark image and run the benchmarks in it, with podman or docker, with
# or without a reachable container registry. One command, from anywhere in the checkout:
#
#   docker/container-bench.sh                    # CPU image, quick suite -> ./gpugrad-bench-results
#   docker/container-bench.sh --full             # every suite
#   docker/container-bench.sh -- --suites mlp_step --threads 2
#   docker/container-bench.sh --cuda             # the CUDA image (runs where a GPU is)
#   docker/container-bench.sh --build-only
#
# Steps: pick the engine (ENGINE=podman|docker; podman where both exist); pick the base
# image: the Dockerfile's default (ARG BASE) if the engine has it or can pull it, otherwise
# a Debian made here with debootstrap and imported (needs root; cached: the engine keeps
# the image, and $CACHE keeps its tarball for re-imports); fetch the PyTorch CPU wheel for
# the base's Python into docker/local/ (the build finds it there); build; run the suites
# with the results folder mounted and owned by the caller (--user), so the JSON, Markdown
# and plots land on the host.
#
# Environment:
#   ENGINE          podman or docker (default: podman if installed, else docker)
#   GPUGRAD_BASE    base image; "local" skips the pull and uses the debootstrapped Debian
#   GPUGRAD_RESULTS host folder for the results (default: gpugrad-bench-results in the checkout)
#   GPUGRAD_CACHE   cache folder (default: ${XDG_CACHE_HOME:-~/.cache}/gpugrad/container)
#   DEBIAN_MIRROR   mirror for debootstrap and the local base's apt (default deb.debian.org)
#   TORCH           the PyTorch peer as a pip requirement ("" leaves it out; default: the
#                   Dockerfile's ARG TORCH)
#   TORCH_OPTIONAL  0: fail when the peer cannot be had (default 1: build without it)
#   PIP_CERT        a CA bundle for pip in the build (default: pip's cert setting here, if any)
#
# Podman on a host where its default runtime cannot run containers (crun failing on
# cgroups or rlimits, as in some VMs and CI sandboxes): the script tries a container first
# and, if that fails, writes $CACHE/containers.conf (runc, cgroupfs, no default ulimits)
# and uses it through CONTAINERS_CONF. A CONTAINERS_CONF of your own is left alone.
set -euo pipefail

say() { printf 'container-bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

flavour=cpu build_only=0 full=0 bench_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --cuda) flavour=cuda ;;
        --cpu) flavour=cpu ;;
        --build-only) build_only=1 ;;
        --full) full=1 ;;
        --) shift; bench_args=("$@"); break ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (arguments for the benchmarks go after --; see --help)" ;;
    esac
    shift
done
if [ ${#bench_args[@]} -eq 0 ] && [ "$full" = 0 ]; then
    bench_args=(--quick)
fi

dockerfile="docker/Dockerfile.$flavour"
version="$(sed -n 's/^ *version="\([^"]*\)".*/\1/p' setup.py | head -n 1)"
image="gpugrad-bench-$flavour:${version:-dev}"
[ "$flavour" = cuda ] && image="gpugrad-bench-gpu:${version:-dev}"
cache="${GPUGRAD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gpugrad/container}"
results="${GPUGRAD_RESULTS:-$root/gpugrad-bench-results}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite=bookworm
local_base="localhost/gpugrad-debian:$suite"

# --- the engine -------------------------------------------------------------------------
if [ -z "${ENGINE:-}" ]; then
    if command -v podman >/dev/null; then ENGINE=podman
    elif command -v docker >/dev/null; then ENGINE=docker
    else die "neither podman nor docker is installed (Debian: apt-get install podman runc)"; fi
fi
command -v "$ENGINE" >/dev/null || die "ENGINE=$ENGINE is not installed"
have_image() { "$ENGINE" image inspect "$1" >/dev/null 2>&1; }

# --- the base image ---------------------------------------------------------------------
default_base="$(sed -n 's/^ARG BASE=//p' "$dockerfile" | head -n 1)"
base="${GPUGRAD_BASE:-}"
if [ -n "$base" ] && [ "$base" != local ]; then
    have_image "$base" || "$ENGINE" pull "$base" || die "GPUGRAD_BASE=$base cannot be pulled"
elif [ -z "$base" ] && { have_image "$default_base" || "$ENGINE" pull -q "$default_base" >/dev/null 2>&1; }; then
    base="$default_base"
else
    [ -z "$base" ] && say "$default_base cannot be pulled: building from a local Debian ($local_base)"
    base="$local_base"
    tarball="$cache/debian-$suite.tar"
    if have_image "$base"; then
        say "local base: $base (cached)"
    else
        mkdir -p "$cache"
        if [ ! -s "$tarball" ]; then
            [ "$(id -u)" = 0 ] || die "making the local base needs root (debootstrap); or give GPUGRAD_BASE"
            command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
            rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
            trap 'rm -rf "$rootfs"' EXIT
            say "debootstrap $suite from $mirror (once; cached in $tarball)"
            debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
                || { tail -n 20 "$cache/debootstrap.log" >&2; die "debootstrap failed (log: $cache/debootstrap.log)"; }
            # The distribution's updates and security fixes, as the Debian images have them.
            security="${mirror%/debian}/debian-security"
            printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
                "$mirror" "$suite" "$mirror" "$suite" "$security" "$suite" >"$rootfs/etc/apt/sources.list"
            rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
            tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
            rm -rf "$rootfs"
            trap - EXIT
        fi
        say "importing $tarball as $base"
        "$ENGINE" import --change 'CMD ["/bin/bash"]' "$tarball" "$base" >/dev/null
    fi
fi

# --- a container that runs (podman's fallback configuration) ---------------------------
probe_log="$(mktemp)"
if [ "$ENGINE" = podman ] && [ -z "${CONTAINERS_CONF:-}" ] \
        && ! podman run --rm --pull=never "$base" true >/dev/null 2>"$probe_log"; then
    mkdir -p "$cache"
    printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n' \
        >"$cache/containers.conf"
    export CONTAINERS_CONF="$cache/containers.conf"
    podman run --rm --pull=never "$base" true >/dev/null \
        || { cat "$probe_log" >&2; die "podman cannot run a container here, also with $CONTAINERS_CONF"; }
    say "podman's default runtime failed here; using $CONTAINERS_CONF (runc, cgroupfs)"
fi
rm -f "$probe_log"

# --- pip's CA bundle (behind a TLS-intercepting proxy, pip in the build needs it) ----------
build_args=(--build-arg "BASE=$base")
cert="${PIP_CERT:-$(python3 -m pip config get global.cert 2>/dev/null || true)}"
if [ -n "$cert" ] && [ -f "$cert" ]; then
    cmp -s "$cert" docker/local/pip-ca.pem || cp "$cert" docker/local/pip-ca.pem
    build_args+=(--build-arg PIP_CERT=/ctx/pip-ca.pem)
    say "pip in the build trusts the CA bundle that pip here is set to ($cert)"
fi

# --- the PyTorch peer's wheel (CPU image) -----------------------------------------------
if [ "$flavour" = cpu ]; then
    torch="${TORCH-$(sed -n 's/^ARG TORCH="\(.*\)"$/\1/p' "$dockerfile" | head -n 1)}"
    build_args+=(--build-arg "TORCH=$torch" --build-arg "TORCH_OPTIONAL=${TORCH_OPTIONAL:-1}")
    if [ -n "$torch" ]; then
        # The base's Python: its own python3, or (a bare Debian) the release's python3.
        pyver="$("$ENGINE" run --rm --pull=never --entrypoint /bin/sh "$base" -c \
            'python3 -c "import sys; print(\"%d.%d\" % sys.version_info[:2])" 2>/dev/null \
             || { . /etc/os-release; case "$VERSION_CODENAME" in bullseye) echo 3.9;; bookworm) echo 3.11;; trixie) echo 3.13;; esac; }')"
        if [ -n "$pyver" ] && python3 -m pip download -q --no-deps --only-binary=:all: --find-links docker/local \
                --python-version "$pyver" --platform "manylinux_2_28_$(uname -m)" -d docker/local "$torch"; then
            say "PyTorch peer: $torch for Python $pyver is in docker/local/"
        else
            say "PyTorch peer: no $torch wheel for Python ${pyver:-?} (PyPI has no +cpu builds; set" \
                "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu where it is reachable): the build tries the index"
        fi
    fi
fi

# --- build ------------------------------------------------------------------------------
ignore=()
[ "$ENGINE" = podman ] && ignore=(--ignorefile "$dockerfile.dockerignore")
say "building $image from $dockerfile on $base with $ENGINE"
old_id="$("$ENGINE" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
start=$SECONDS
"$ENGINE" build -f "$dockerfile" "${ignore[@]}" "${build_args[@]}" -t "$image" .
say "built $image in $((SECONDS - start)) s"
# The image this build replaced, now untagged: gone (its layers that are still in use stay).
if [ -n "$old_id" ] && [ "$old_id" != "$("$ENGINE" image inspect --format '{{.Id}}' "$image")" ]; then
    "$ENGINE" rmi "$old_id" >/dev/null 2>&1 || true
fi
[ "$build_only" = 1 ] && exit 0

# --- run --------------------------------------------------------------------------------
gpu=()
if [ "$flavour" = cuda ]; then
    if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
        say "built $image; no NVIDIA GPU on this host, so it is not run (see docker/README.md)"
        exit 0
    fi
    if [ "$ENGINE" = podman ]; then gpu=(--device nvidia.com/gpu=all); else gpu=(--gpus all); fi
fi
mkdir -p "$results"
say "running the benchmarks (${bench_args[*]:-every suite}) in $image; results -> $results"
start=$SECONDS
"$ENGINE" run --rm --user "$(id -u):$(id -g)" "${gpu[@]}" -v "$results:/results" "$image" "${bench_args[@]}"
say "container ran in $((SECONDS - start)) s; results in $results"
