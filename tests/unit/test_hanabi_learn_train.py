"""Training smoke test: `instructplay train hanabi` clones, trains, checkpoints, logs, plots and resumes."""

import json

import pytest
import torch

from agents.policies.hanabi import load_hanabi_agent
from server.cli import main


def test_clone_then_train_then_resume(tmp_path):
    bc, ppo = tmp_path / "bc", tmp_path / "ppo"
    common = ["--eval-games", "4", "--threads", "1"]
    assert main(["train", "hanabi", "--algo", "bc", "--instruction", "rank", "--out", str(bc),
                 "--bc-games", "4", "--bc-rounds", "2", *common]) == 0
    assert (bc / "latest.pt").exists() and (bc / "progress.png").exists()

    tiny = ["--num-envs", "16", "--steps", str(16 * 32 * 2), *common]
    assert main(["train", "hanabi", "--instruction", "rank", "--init", str(bc / "latest.pt"),
                 "--out", str(ppo), *tiny, "--steps", str(16 * 32)]) == 0
    first = torch.load(ppo / "latest.pt", weights_only=True)
    assert first["step"] == 16 * 32 and first["meta"]["init"].startswith("clone of rulebot:rank")

    assert main(["train", "hanabi", "--instruction", "rank", "--out", str(ppo), "--resume", *tiny]) == 0
    second = torch.load(ppo / "latest.pt", weights_only=True)
    assert second["step"] == 2 * 16 * 32 and second["updates"] == 2
    rows = [json.loads(line) for line in (ppo / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [512, 1024]
    assert set(rows[-1]["played_card_knowledge"]) == {"color", "rank", "both", "none"}
    assert (ppo / "progress.png").stat().st_size > 0


def test_resume_without_a_checkpoint_explains_what_to_do(tmp_path, capsys):
    assert main(["train", "hanabi", "--out", str(tmp_path), "--resume"]) == 2
    assert "start without --resume" in capsys.readouterr().out


def test_instruct_q_run_checkpoints_and_resumes(tmp_path):
    args = ["train", "hanabi", "--algo", "q", "--instruction", "color", "--out", str(tmp_path),
            "--num-envs", "8", "--eval-games", "2", "--threads", "1"]
    assert main([*args, "--steps", "64"]) == 0
    assert torch.load(tmp_path / "latest.pt", weights_only=True)["step"] == 64
    assert main([*args, "--steps", "128", "--resume"]) == 0
    ckpt = torch.load(tmp_path / "latest.pt", weights_only=True)
    assert ckpt["step"] == 128 and ckpt["meta"]["algo"] == "instructQ" and len(ckpt["log"]) == 2
    # the saved agent acts by argmax Q + lam * beta * L with the lam the run reached (0.15 halved 4 times)
    agent = load_hanabi_agent(str(tmp_path / "latest.pt"))
    assert agent.play_lambda == pytest.approx(0.15 / 16) and agent.beta == 1.0


def test_evaluate_prints_saves_the_matrix_and_writes_cards_with_the_measured_numbers(tmp_path, capsys):
    from agents.policies.hanabi_net import NetConfig, PolicyNet

    path = tmp_path / "tiny.pt"
    meta = {"name": "tiny", "instruction": "rank", "algo": "instructPPO", "beta": 2.0, "steps": 10, "wall_s": 60}
    torch.save(PolicyNet(NetConfig(hidden=8, layers=1)).checkpoint(meta=meta), path)
    out = tmp_path / "eval"
    assert main(["evaluate", "hanabi", str(path), "rulebot:rank", "--games", "6", "--out", str(out),
                 "--write-cards", "--cross-play"]) == 0
    results = json.loads((out / "results.json").read_text())
    tiny = results["self_play"]["tiny"]
    card = (tmp_path / "tiny.md").read_text()
    assert f"Self-play score: {tiny['mean']:.2f} ± {tiny['sem']:.2f} (s.e.m.) over 6 games" in card
    assert "tells me the 'rank'" in card and "instructPPO" in card
    assert (out / "tiny_action_matrix.png").exists() and (out / "rulebot-rank_action_matrix.png").exists()
    assert "| tiny |" in results["cross_play"] and "rulebot-rank:" in capsys.readouterr().out


def test_a_run_started_from_an_rl_checkpoint_lists_both_stages_on_its_card(tmp_path):
    from agents.policies.hanabi_net import NetConfig, PolicyNet

    first = tmp_path / "first.pt"
    meta = {"name": "color", "instruction": "color", "algo": "instructPPO", "beta": 2.0, "steps": 1000,
            "wall_s": 120, "init_wall_s": 600, "init": "clone of rulebot:color", "lam_schedule": "0.05 -> 0.01"}
    torch.save(PolicyNet(NetConfig(hidden=8, layers=1)).checkpoint(meta=meta), first)
    run = tmp_path / "second"
    assert main(["train", "hanabi", "--instruction", "color", "--init", str(first), "--out", str(run),
                 "--num-envs", "8", "--steps", "256", "--lam", "0.04", "--lam-min", "0.04", "--lr", "2e-4",
                 "--eval-games", "2", "--threads", "1"]) == 0
    ckpt = torch.load(run / "latest.pt", weights_only=True)
    assert ckpt["meta"]["init"] == "clone of rulebot:color" and ckpt["meta"]["init_wall_s"] == 600
    assert ckpt["meta"]["lam_schedule"] == "0.04 (constant)" and ckpt["meta"]["lr"] == 2e-4
    assert ckpt["optimizer"]["param_groups"][0]["lr"] == 2e-4
    assert main(["evaluate", "hanabi", str(run / "latest.pt"), "--games", "2", "--out", str(tmp_path / "eval"),
                 "--write-cards"]) == 0
    card = (run / "latest.md").read_text()
    assert "Environment steps of RL: 1,256; wall time: 10.0 min to clone" in card
    assert "stage 1: instructPPO, 1,000 steps in 2.0 min, lam 0.05 -> 0.01" in card
    assert "stage 2: instructPPO, 256 steps" in card and "Adam lr 0.0002" in card


def test_a_cpu_run_never_calls_cuda(tmp_path, monkeypatch):
    def no_cuda(*args, **kwargs):
        raise AssertionError("a CPU run called CUDA")

    fresh = not torch.cuda.is_initialized()
    monkeypatch.setattr(torch.cuda, "is_available", no_cuda)
    monkeypatch.setattr(torch.cuda, "_lazy_init", no_cuda)  # every first use of CUDA goes through it
    if fresh:  # the guard works (once CUDA is initialised, tensors no longer pass _lazy_init)
        with pytest.raises(AssertionError, match="called CUDA"):
            torch.zeros(1, device="cuda")
    common = ["train", "hanabi", "--instruction", "color", "--num-envs", "8", "--eval-games", "2", "--device", "cpu"]
    assert main([*common, "--out", str(tmp_path / "ppo"), "--steps", "256"]) == 0
    assert main([*common, "--out", str(tmp_path / "ppo"), "--steps", "512", "--resume"]) == 0
    assert torch.load(tmp_path / "ppo" / "latest.pt", weights_only=True)["updates"] == 2
    assert main([*common, "--algo", "q", "--out", str(tmp_path / "q"), "--steps", "64"]) == 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_it_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "hanabi", "--out", str(tmp_path), "--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().out


def test_an_unknown_device_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "hanabi", "--out", str(tmp_path), "--device", "gpu"]) == 2
    assert "unknown device 'gpu': use cpu or cuda" in capsys.readouterr().out
    assert main(["train", "hanabi", "--algo", "bc", "--out", str(tmp_path), "--device", "cuda"]) == 2
    assert "--algo bc runs on the CPU" in capsys.readouterr().out


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_cuda_run_evaluates_checkpoints_and_resumes_on_cpu(tmp_path):
    from agents.policies.hanabi import load_hanabi_agent

    common = ["train", "hanabi", "--instruction", "color", "--num-envs", "8", "--eval-games", "2"]
    for algo, steps in (("ppo", 256), ("q", 64)):
        out = str(tmp_path / algo)
        assert main([*common, "--algo", algo, "--out", out, "--steps", str(steps), "--device", "cuda"]) == 0
        ckpt = torch.load(tmp_path / algo / "latest.pt", weights_only=True)
        assert ckpt["step"] == steps and ckpt["model"]["logits_head.weight"].device.type == "cpu"
        assert "GPU" in ckpt["meta"]["hardware"] and len(ckpt["log"]) == 1
        load_hanabi_agent(out + "/latest.pt")
        assert main([*common, "--algo", algo, "--out", out, "--steps", str(2 * steps), "--resume"]) == 0
        assert torch.load(tmp_path / algo / "latest.pt", weights_only=True)["step"] == 2 * steps


def test_plot_draws_runs_side_by_side_and_names_a_missing_log(tmp_path, capsys):
    for name, share in (("lam05", 0.7), ("lam20", 0.8)):
        (tmp_path / name).mkdir()
        rows = [{"step": s, "mean": 19 + s / 1e7, "sem": 0.2,
                 "played_card_knowledge": {"color": share, "rank": 0.03, "both": 0.2, "none": 0.0}} for s in (0, 10**6)]
        (tmp_path / name / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "lam.png"
    assert main(["plot", "hanabi", str(tmp_path / "lam05"), str(tmp_path / "lam20"), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", "hanabi", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "no log.jsonl in" in capsys.readouterr().out
