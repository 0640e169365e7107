"""The container files: the compose file's services, and the Dockerfiles' rules (the base
as a pinned build argument, multi-stage images, non-root user, every hadolint exception
explained, the .dockerignore files). hadolint runs in .ci/run, which also builds the CPU
image with docker/container-bench.sh and runs the quick suite in it."""

import fnmatch
import re
import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
DOCKER = Path(__file__).resolve().parent.parent / "docker"


def test_compose_file_defines_both_services():
    spec = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    services = spec["services"]
    assert set(services) == {"bench-cpu", "bench-gpu"}
    for name, svc in services.items():
        assert (DOCKER / svc["build"]["context"] / svc["build"]["dockerfile"]).resolve().exists(), name
        assert any(v.endswith(":/results") for v in svc["volumes"]), f"{name} must mount a results folder"
        assert ":" in svc["image"] and not svc["image"].endswith(":latest")
    devices = services["bench-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"] and devices[0]["count"] >= 1


def _dockerfile(name):
    """The Dockerfile's lines, its FROM lines, and the default of its ARG BASE."""
    lines = (DOCKER / name).read_text().splitlines()
    froms = [ln for ln in lines if ln.startswith("FROM ")]
    bases = [ln.split("=", 1)[1] for ln in lines if ln.startswith("ARG BASE=")]
    return lines, froms, bases


@pytest.mark.parametrize("name", ["Dockerfile.cpu", "Dockerfile.cuda"])
def test_dockerfile_rules(name):
    lines, froms, bases = _dockerfile(name)
    assert len(froms) >= 2, "multi-stage: build tools stay in the builder"
    # The base is a build argument (a registry's image or a local Debian), declared before
    # the first FROM with a pinned default; every stage starts from it or from an earlier
    # stage, so no other image (no other registry) is needed.
    assert len(bases) == 1 and lines.index(f"ARG BASE={bases[0]}") < lines.index(froms[0]), "ARG BASE=... before FROM"
    assert ":" in bases[0] and not bases[0].endswith(":latest"), f"unpinned default base image {bases[0]}"
    stages = []
    for ln in froms:
        words = ln.split()
        assert words[1] == "${BASE}" or words[1] in stages, f"{ln!r} starts from neither ${{BASE}} nor a stage"
        if len(words) == 4 and words[2].upper() == "AS":
            stages.append(words[3])
    assert froms[-1].split()[1] == "${BASE}", "the final image is the base plus what the stages made"
    users = [ln for ln in lines if ln.startswith("USER ")]
    assert users and users[-1].split()[1] not in ("0", "root"), "the image must run as a non-root user"
    for i, ln in enumerate(lines):
        if "hadolint ignore" in ln:  # an exception must say why, on the comment line above
            assert lines[i - 1].startswith("#") and "hadolint" not in lines[i - 1], f"{name}:{i + 1} has no reason"
    final = lines[lines.index(froms[-1]):]
    assert not any(re.search(r"\b(g\+\+|gcc|build-essential)\b", ln) for ln in final), "no compiler in the final image"


@pytest.mark.parametrize("name", ["Dockerfile.cpu", "Dockerfile.cuda"])
def test_dockerignore_admits_what_the_dockerfile_copies(name):
    """The build context is the repository root, cut down by <Dockerfile>.dockerignore
    (BuildKit reads it by that name, container-bench.sh hands it to podman): everything a
    COPY takes from the context must be let in by a "!" line."""
    lines, _, _ = _dockerfile(name)
    ignore = (DOCKER / f"{name}.dockerignore").read_text().splitlines()
    assert "*" in ignore, "the context starts empty and lets in only what the image needs"
    admitted = {ln[1:] for ln in ignore if ln.startswith("!")}
    for ln in lines:
        words = ln.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            for src in words[1:-1]:  # the path itself, a folder above it, or a pattern for it
                ok = any(src == a or src.startswith(a + "/") or fnmatch.fnmatch(src, a) for a in admitted)
                assert ok, f"{name}: {ln!r} copies {src}, which {name}.dockerignore leaves out"


def test_compose_builds_from_the_dockerfiles_bases():
    """The compose file passes BASE on (GPUGRAD_BASE, e.g. the local Debian), defaulting
    to the Dockerfile's own default."""
    services = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())["services"]
    for name, svc in services.items():
        _, _, bases = _dockerfile(Path(svc["build"]["dockerfile"]).name)
        assert svc["build"]["args"]["BASE"] == f"${{GPUGRAD_BASE:-{bases[0]}}}", name


def test_container_bench_script():
    """docker/container-bench.sh: executable, valid bash, and its help is its header."""
    path = DOCKER / "container-bench.sh"
    assert path.stat().st_mode & 0o111
    done = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run(["bash", str(path), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "GPUGRAD_BASE" in done.stdout and "set -euo" not in done.stdout, done
    done = subprocess.run(["bash", str(path), "--bogus"], capture_output=True, text=True)
    assert done.returncode == 1 and "unknown option --bogus" in done.stderr, done


def test_entrypoint_is_executable():
    path = DOCKER / "entrypoint.sh"
    assert path.stat().st_mode & 0o111
    assert "python3 -m benchmarks" in path.read_text()
