"""Training: validation, estimates, the launch command, and real LoRA runs on the bundled model.

The runs use a tiny, very regular made-up domain ("the capital code of X is XXX-<letters>"), so
a handful of steps at a high learning rate visibly lowers the loss on held-out rows too.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lumina.models.device import DeviceInfo
from lumina.errors import InvalidInputError
from lumina.train import PRESETS, TrainConfig, estimate, from_preset, validate
from lumina.train.launch_cmd import command
from lumina.train.runner import dataset_hash, latest_checkpoint, read_metrics, to_prompt_completion
from tests.helpers import wait_for

NAMES = ["Freedonia", "Sylvania", "Latveria", "Genovia", "Wakanda", "Zubrowka", "Elbonia", "Ruritania",
         "Borduria", "Syldavia", "Krakozhia", "Markovia", "Qumar", "Bialya", "Kasnia", "Corto", "Narnia",
         "Oceania", "Panem", "Florin", "Guilder", "Vulgaria", "Fenwick", "Agrabah", "Arendelle", "Atlantis",
         "Tamaran", "Kahndaq", "Prisca", "Zandia", "Modesta", "Rhelasia"]
CPU = DeviceInfo("cpu", "test cpu (2 cores)", 1, 24.0, "2.13")


def row(name: str) -> dict:
    return {"messages": [{"role": "user", "content": f"What is the capital code of {name}?"},
                         {"role": "assistant", "content": f"The capital code of {name} is "
                                                          f"{name[:3].upper()}-{len(name)}."}]}


ROWS = [row(n) for n in NAMES]


def fast_config(model_dir: Path, **kw) -> TrainConfig:
    return TrainConfig(**{"base_model": str(model_dir), "learning_rate": 1e-3, "batch_size": 4, "max_length": 128,
                          **kw})


# -- settings, no model loaded ---------------------------------------------------------------

def test_config_round_trips_and_rejects_unknown_keys():
    c = TrainConfig(lora_r=16, max_steps=5)
    assert TrainConfig.from_dict(c.to_dict()) == c
    with pytest.raises(InvalidInputError, match="Unknown training setting.*lora_rank"):
        TrainConfig.from_dict({"lora_rank": 4})
    assert {"quick check", "standard"} <= set(PRESETS)
    assert from_preset("quick check").max_steps == 20 and from_preset("standard").epochs == 3


@pytest.mark.parametrize("change, message", [
    ({"lora_r": 0}, "LoRA rank must be a positive"),
    ({"lora_alpha": 0}, "LoRA alpha must be positive"),
    ({"learning_rate": 0.0}, "Learning rate must be positive"),
    ({"batch_size": 0}, "Batch size must be a positive"),
    ({"max_length": 8}, "Max length must be at least 16"),
    ({"method": "dpo"}, "Unknown training method"),
    ({"learning_rate": "fast"}, "learning_rate must be a number"),
])
def test_invalid_settings_fail_with_a_clear_message(bundled_model_dir, change, message):
    with pytest.raises(InvalidInputError, match=message):
        validate(TrainConfig(base_model=str(bundled_model_dir), **change), 10, CPU)


def test_no_rows_unknown_model_qlora_on_cpu_and_memory_fail_fast(bundled_model_dir):
    with pytest.raises(InvalidInputError, match="no training rows"):
        validate(TrainConfig(base_model=str(bundled_model_dir)), 0, CPU)
    t0 = time.monotonic()
    with pytest.raises(InvalidInputError, match="no/such-model-xyz.*not in the Hugging Face cache"):
        validate(TrainConfig(base_model="no/such-model-xyz"), 10, CPU)
    with pytest.raises(InvalidInputError, match="Unknown model 'not-a-model'"):
        validate(TrainConfig(base_model="not-a-model"), 10, CPU)
    assert time.monotonic() - t0 < 5, "an unknown model must fail at once, not try the network"
    with pytest.raises(InvalidInputError, match="QLoRA needs a CUDA GPU"):
        validate(TrainConfig(base_model=str(bundled_model_dir), method="qlora"), 10, CPU)
    gpu = DeviceInfo("cuda", "NVIDIA A100", 1, 80.0, "2.13")
    with pytest.raises(InvalidInputError, match="bitsandbytes"):  # not installed here
        validate(TrainConfig(base_model=str(bundled_model_dir), method="qlora"), 10, gpu)
    tiny = DeviceInfo("cpu", "small box", 1, 1.5, "2.13")
    with pytest.raises(InvalidInputError, match=r"needs about \d+\.\d GB but the CPU has 1\.5 GB"):
        validate(TrainConfig(base_model=str(bundled_model_dir), method="full"), 10, tiny)


def test_validate_warns_about_risky_but_legal_settings(bundled_model_dir):
    warnings = validate(TrainConfig(base_model=str(bundled_model_dir), method="full", learning_rate=2e-4,
                                    max_steps=5, save_steps=25), 5, CPU)
    text = " ".join(warnings)
    assert "high for a full fine-tune" in text and "Only 5 training rows" in text and "save_steps" in text


def test_estimate_counts_parameters_from_config_and_scales(bundled_model_dir):
    c = TrainConfig(base_model=str(bundled_model_dir), epochs=2, batch_size=4)
    est = estimate(c, 100, 60, CPU)
    assert est.steps == 50 and est.tokens == 50 * 4 * 60
    assert "estimate" in est.notes[0].lower() and "135M parameters, 2.4M trainable" in est.notes[-1]
    assert 0.5 < est.memory_gb < 4 and est.seconds > 0
    full = estimate(TrainConfig(**{**c.to_dict(), "method": "full"}), 100, 60, CPU)
    assert full.seconds > est.seconds and full.memory_gb > est.memory_gb
    longer = estimate(TrainConfig(**{**c.to_dict(), "max_steps": 10}), 100, 120, CPU)
    assert longer.steps == 10 and longer.tokens == 10 * 4 * 120


def test_rows_become_prompt_completion_and_bad_rows_name_their_line():
    multi = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                          {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Code?"},
                          {"role": "assistant", "content": "XYZ-1."}]}
    pc = to_prompt_completion(multi)
    assert [m["role"] for m in pc["prompt"]] == ["system", "user", "assistant", "user"]
    assert pc["completion"] == [{"role": "assistant", "content": "XYZ-1."}]
    with pytest.raises(InvalidInputError, match="train row 3: the last turn is 'user'"):
        to_prompt_completion({"messages": [{"role": "user", "content": "x"}]}, 2)
    assert dataset_hash(ROWS[:2], []) == dataset_hash(json.loads(json.dumps(ROWS[:2])), [])
    assert dataset_hash(ROWS[:2], []) != dataset_hash(ROWS[:1], ROWS[1:2])


def test_launch_command_plain_and_accelerate_for_four_gpus(tmp_path):
    import yaml
    from accelerate.commands.config.config_args import ClusterConfig

    assert command(tmp_path / "r1", CPU) == [sys.executable, "-m", "lumina.train", str(tmp_path / "r1")]
    one_gpu = DeviceInfo("cuda", "NVIDIA H100", 1, 80.0, "2.13")
    assert command(tmp_path / "r1", one_gpu)[1:3] == ["-m", "lumina.train"]
    four = DeviceInfo("cuda", "NVIDIA H100 80GB HBM3", 4, 80.0, "2.13")
    cmd = command(tmp_path / "r4", four)
    cfg_file = tmp_path / "r4" / "accelerate.yaml"
    assert Path(cmd[0]).name == "accelerate"
    assert cmd[1:] == ["launch", "--config_file", str(cfg_file), "-m", "lumina.train", str(tmp_path / "r4")]
    cfg = yaml.safe_load(cfg_file.read_text())
    assert cfg["distributed_type"] == "MULTI_GPU" and cfg["num_processes"] == 4 and cfg["mixed_precision"] == "bf16"
    loaded = ClusterConfig.from_yaml_file(str(cfg_file))  # accelerate itself accepts the file
    assert loaded.num_processes == 4
    old = DeviceInfo("cuda", "Tesla V100", 2, 16.0, "2.13")
    command(tmp_path / "r2", old)
    assert yaml.safe_load((tmp_path / "r2" / "accelerate.yaml").read_text())["mixed_precision"] == "fp16"
    # The launcher parses this argv (the -m module form) without starting anything.
    from accelerate.commands.launch import launch_command_parser

    ns = launch_command_parser().parse_args(cmd[2:])
    assert ns.module and ns.training_script == "lumina.train" and ns.training_script_args == [str(tmp_path / "r4")]


# -- real training ---------------------------------------------------------------------------

def test_lora_lowers_loss_saves_adapter_and_beats_base_on_held_out_rows(tmp_path, bundled_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from lumina.evaluation import loss_and_perplexity
    from lumina.train import train

    train_rows, held_out = ROWS[:24], ROWS[24:]
    logged: list[dict] = []
    run = tmp_path / "run"
    cfg = fast_config(bundled_model_dir, max_steps=8, save_steps=4, merge=True)
    result = train(run, train_rows, held_out, cfg, on_log=logged.append)

    assert result.status == "done" and result.steps == 8
    assert result.train_loss_last < result.train_loss_first * 0.6, (result.train_loss_first, result.train_loss_last)
    assert result.tokens_per_s > 0 and result.seconds > 0
    lines = read_metrics(run)
    assert [m["step"] for m in lines if "loss" in m] == list(range(1, 9))
    assert lines == logged  # on_log got exactly what the file holds
    assert all(m["tokens_per_s"] > 0 and m["elapsed_s"] > 0 and m["eta_s"] is not None
               for m in lines if "loss" in m)
    assert lines[-1]["eval_loss"] == pytest.approx(result.final_eval_loss)
    assert json.loads((run / "config.json").read_text()) == cfg.to_dict()
    env = json.loads((run / "environment.json").read_text())
    assert env["dataset_sha256"] == dataset_hash(train_rows, held_out) and env["versions"]["trl"]
    assert env["device"]["kind"] == "cpu"
    assert json.loads((run / "result.json").read_text())["status"] == "done"
    adapter = Path(result.adapter_dir)
    assert adapter == run / "adapter" and (adapter / "adapter_config.json").exists()
    assert [p.name for p in sorted((run / "checkpoints").glob("checkpoint-*"))] == ["checkpoint-4", "checkpoint-8"]

    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(bundled_model_dir), str(adapter))
    assert any("lora_A" in n for n, _ in reloaded.named_parameters())
    del reloaded

    base = loss_and_perplexity(str(bundled_model_dir), held_out, max_length=128)
    tuned = loss_and_perplexity(str(bundled_model_dir), held_out, adapter_dir=str(adapter), max_length=128)
    assert tuned["loss"] < base["loss"] * 0.7, (base, tuned)
    assert tuned["tokens"] == base["tokens"] and tuned["n"] == len(held_out)
    # The runner's eval loss masks the same tokens; it averages per batch, hence the tolerance.
    assert result.final_eval_loss == pytest.approx(tuned["loss"], rel=0.1)
    merged = loss_and_perplexity(result.merged_dir, held_out, max_length=128)
    assert merged["loss"] == pytest.approx(tuned["loss"], rel=1e-3)


def _start(run: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lumina.train", str(run)], stdout=log.open("w"),
                            stderr=subprocess.STDOUT, env={**os.environ})


def _checkpoint_steps(run: Path) -> list[int]:
    return sorted(int(p.name.split("-")[1]) for p in (run / "checkpoints").glob("checkpoint-*")
                  if (p / "trainer_state.json").exists()) if (run / "checkpoints").exists() else []


def test_cli_run_stops_on_sigterm_survives_sigkill_and_resumes_to_the_end(tmp_path, bundled_model_dir):
    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    cfg = fast_config(bundled_model_dir, max_steps=6, save_steps=2, max_length=64)
    (run / "request.json").write_text(json.dumps({"config": cfg.to_dict()}))
    (run / "data" / "train.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS[:16]))
    (run / "data" / "eval.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS[16:20]))

    # 1. SIGTERM after the first logged step: a clean stop with a checkpoint, status cancelled.
    proc = _start(run, tmp_path / "1.log")
    wait_for(lambda: read_metrics(run) or proc.poll() is not None, 240, what="the first step")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(120) == 0, (tmp_path / "1.log").read_text()[-3000:]
    first = json.loads((run / "result.json").read_text())
    assert first["status"] == "cancelled" and first["adapter_dir"] is None
    stopped_at = first["steps"]
    assert 1 <= stopped_at < 6 and _checkpoint_steps(run)[-1] == stopped_at

    # 2. Resume, then SIGKILL once a newer checkpoint exists: nothing gets to clean up.
    proc = _start(run, tmp_path / "2.log")
    wait_for(lambda: _checkpoint_steps(run)[-1] > stopped_at or proc.poll() is not None, 240,
             what="a checkpoint after the resume")
    proc.kill()
    proc.wait(30)
    killed_at = _checkpoint_steps(run)[-1]
    assert stopped_at < killed_at < 6 or killed_at == 6, (tmp_path / "2.log").read_text()[-3000:]
    assert not (run / "result.json").exists() or killed_at == 6

    # 3. The same command again finishes the run from the newest checkpoint.
    out = subprocess.run([sys.executable, "-m", "lumina.train", str(run)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    stdout = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    result = stdout[-1]["result"]
    assert result["status"] == "done" and result["resumed_from_step"] == killed_at
    steps_logged = [m["step"] for m in stdout[:-1] if "loss" in m]
    assert steps_logged == list(range(killed_at + 1, 7))  # continues after the checkpoint
    assert [m["step"] for m in read_metrics(run) if "loss" in m] == [1, 2, 3, 4, 5, 6]  # each step once
    state = json.loads((latest_checkpoint(run / "checkpoints") / "trainer_state.json").read_text())
    assert state["global_step"] == 6 and (run / "adapter" / "adapter_model.safetensors").exists()
    assert math.isfinite(result["final_eval_loss"])


def test_bad_request_exits_1_with_a_one_line_error(tmp_path):
    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    (run / "request.json").write_text(json.dumps({"config": {"lora_r": 0, "base_model": "no/such-model-xyz"}}))
    (run / "data" / "train.jsonl").write_text(json.dumps(ROWS[0]))
    out = subprocess.run([sys.executable, "-m", "lumina.train", str(run)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "LoRA rank must be a positive integer" in out.stderr
    assert "Traceback" not in out.stderr
    assert "LoRA rank" in json.loads((run / "error.json").read_text())["error"]


@pytest.mark.slow
def test_resumed_run_matches_an_uninterrupted_one(tmp_path, bundled_model_dir):
    from lumina.train import train

    cfg = fast_config(bundled_model_dir, max_steps=6, save_steps=3, max_length=64)
    whole = train(tmp_path / "whole", ROWS[:16], [], cfg)
    assert whole.status == "done" and whole.resumed_from_step is None
    calls = {"n": 0}

    def stop_after_3() -> bool:
        calls["n"] += 1
        return calls["n"] >= 3

    part = train(tmp_path / "part", ROWS[:16], [], cfg, should_stop=stop_after_3)
    assert part.status == "cancelled" and part.steps == 3
    resumed = train(tmp_path / "part", ROWS[:16], [], cfg)
    assert resumed.status == "done" and resumed.resumed_from_step == 3
    a = [m["loss"] for m in read_metrics(tmp_path / "whole")]
    b = [m["loss"] for m in read_metrics(tmp_path / "part")]
    assert b == pytest.approx(a, rel=1e-4)
    assert resumed.train_loss_last == pytest.approx(whole.train_loss_last, rel=1e-4)
