"""The benchmark runner's reporting (names, speedups, plots) on a small made-up result,
and the quick run end to end for one in-process suite."""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

def _runner():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpugrad_bench_runner", BENCH / "__main__.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _stats(m):
    return {"median": m, "min": m, "max": m, "samples": [m]}


FAKE = {
    "cross_entropy": {"4096x10": {"gpugrad": _stats(1.0), "torch": _stats(4.0), "numpy": _stats(5.0)}},
    "mlp_step": {"128": {"gpugrad": _stats(2.0), "torch": _stats(3.0), "gpugrad_gemms": _stats(1.5)},
                 "1024": {"gpugrad": _stats(8.0), "torch": _stats(9.0), "gpugrad_gemms": _stats(7.0)}},
    "overhead": {"gpugrad": _stats(1e-5), "torch": _stats(2e-5), "numpy": _stats(1e-6)},
}


def test_run_name_and_speedups():
    r = _runner()
    assert r.run_name({"host": "box", "date": "2026-01-02"}) == "box-cpu-2026-01-02"
    assert r.run_name({"host": "box", "date": "2026-01-02"}, quick=True) == "box-cpu-2026-01-02-quick"
    assert r.run_name({"host": "box", "date": "2026-01-02", "gpu": "NVIDIA H100 80GB HBM3"}) == \
        "NVIDIA-H100-80GB-HBM3-2026-01-02"
    sp = dict(r.speedups(FAKE))
    assert sp["cross-entropy 4096x10"] == 4.0 and sp["MLP step b=128"] == 1.5 and sp["per-op overhead"] == 2.0


def test_plots_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    r = _runner()
    written = r.plot(FAKE, str(tmp_path / "run"))
    assert [Path(p).name for p in written] == ["run-speedup.png", "run-mlp_step.png"]
    for p in written:
        assert Path(p).read_bytes()[:4] == b"\x89PNG"


def test_quick_overhead_suite_writes_its_files_in_the_current_directory(tmp_path, monkeypatch):
    r = _runner()
    monkeypatch.chdir(tmp_path)
    in_tree = set((BENCH / "results").iterdir())
    assert r.main(["--quick", "--suites", "overhead", "--no-plots"]) == 0
    results = tmp_path / "gpugrad-bench-results"
    [js] = results.glob("*.json")
    assert js.name.endswith("-quick.json")  # a quick run does not replace the day's full run
    out = json.loads(js.read_text())
    assert out["quick"] and "gpugrad" in out["results"]["overhead"]
    assert out["environment"]["gpugrad_native"]
    assert js.with_suffix(".md").read_text().startswith("# gpugrad benchmarks")
    assert set((BENCH / "results").iterdir()) == in_tree


def test_event_timer_reads_the_time_between_its_events():
    import harness

    clock = [0.0]  # a simulated device clock: every call of the work takes 2 ms

    class Event:  # what CUDA events give
        def record(self):
            self.t = clock[0]

        def synchronize(self):
            pass

    calls = []

    def work():
        calls.append(1)
        clock[0] += 0.002

    samples = harness.time_events(work, Event, lambda a, b: (b.t - a.t) * 1e3, repeats=3, warmup=1, min_block=0.01)
    assert samples == pytest.approx([0.002] * 3)
    assert len(calls) == 1 + 1 + 3 * 5  # warm-up, the calibration block, three blocks of 0.01 s / 2 ms calls


def _real_gpu():
    import gpugrad as gg

    return gg.cuda.is_available() and not gg.backend.cuda.emulated()


def test_gpu_suite_is_refused_without_a_gpu(capsys):
    if _real_gpu():
        pytest.skip("checks the message on a machine without a GPU")
    r = _runner()
    with pytest.raises(SystemExit) as e:
        r.main(["--suites", "gpu", "--no-plots"])
    assert e.value.code == 2 and "the GPU suite needs a CUDA GPU" in capsys.readouterr().err


def test_gpu_speedups_are_labelled():
    r = _runner()
    sp = dict(r.speedups({"gpu": {"cross_entropy": {"4096x10": {"gpugrad": _stats(1.0), "torch": _stats(2.0)}}}}))
    assert sp == {"GPU cross-entropy 4096x10": 2.0}


@pytest.mark.gpu
def test_quick_gpu_suite_runs(tmp_path):
    if not _real_gpu():
        pytest.skip("times a real GPU (the CUDA emulation's timings would mean nothing)")
    r = _runner()
    assert r.main(["--quick", "--suites", "gpu", "--out", str(tmp_path), "--no-plots"]) == 0
    out = json.loads(next(tmp_path.glob("*.json")).read_text())
    ce = out["results"]["gpu"]["cross_entropy"]["4096x10"]
    assert ce["launches_forward"] == ["gpugrad_cross_entropy_fwd_warp_f32"]
    assert ce["launches_backward"] == ["gpugrad_cross_entropy_bwd_f32"]
    assert out["results"]["gpu"]["linear_backward"]["128x256"]["choice"]["choice"] in ("tiled", "cublas")
