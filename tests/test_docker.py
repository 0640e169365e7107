"""The container files: the compose file's services, and the Dockerfiles' rules (pinned
bases, multi-stage CPU image, non-root user, every hadolint exception explained).
hadolint itself runs in .ci/run; the images are built where a Docker engine exists."""

import re
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


@pytest.mark.parametrize("name", ["Dockerfile.cpu", "Dockerfile.cuda"])
def test_dockerfile_rules(name):
    lines = (DOCKER / name).read_text().splitlines()
    froms = [ln for ln in lines if ln.startswith("FROM ")]
    assert len(froms) >= 2, "multi-stage: build tools stay in the builder"
    for ln in froms:
        image = ln.split()[1]
        assert ":" in image and not image.endswith(":latest"), f"unpinned base image {image}"
    users = [ln for ln in lines if ln.startswith("USER ")]
    assert users and users[-1].split()[1] not in ("0", "root"), "the image must run as a non-root user"
    for i, ln in enumerate(lines):
        if "hadolint ignore" in ln:  # an exception must say why, on the comment line above
            assert lines[i - 1].startswith("#") and "hadolint" not in lines[i - 1], f"{name}:{i + 1} has no reason"
    final = lines[lines.index(froms[-1]):]
    assert not any(re.search(r"\b(g\+\+|gcc|build-essential)\b", ln) for ln in final), "no compiler in the final image"


def test_entrypoint_is_executable():
    path = DOCKER / "entrypoint.sh"
    assert path.stat().st_mode & 0o111
    assert "python3 -m benchmarks" in path.read_text()
