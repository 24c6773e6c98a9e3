"""Data-parallel training under torchrun with 2 gloo processes on the CPU, against one process.

The dataset is 20 tiny records (8x8 images, one-word texts) and the model is shrunk to dim 16,
so a run is a few seconds; most of each test is torchrun starting two Python processes.

The model's in-network randomness (dropout layers, spectrogram augmentation) draws from each
process's own generator, so the comparison turns it off; modality dropout is on, drawn from the
trainer's own generator for the global batch and sliced per rank.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import checkout_environment, require_module

torch = require_module("torch")

from safetensors.torch import load_file  # noqa: E402

from mmstudio.inputs.errors import InputError  # noqa: E402
from mmstudio.models.fusionnet import FusionNet  # noqa: E402
from mmstudio.training import trainer  # noqa: E402
from mmstudio.training.distributed import (  # noqa: E402
    DistributedContext,
    run_torchrun,
    torchrun_command,
)
from mmstudio.training.run_folder import PARTIAL_SUFFIX  # noqa: E402
from tests.badinput.cases_training import TINY, dataset  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SPLITS = ("train",) * 14 + ("val",) * 4 + ("test",) * 2  # 14 = 3 batches of 4 and one of 2
NO_IN_NETWORK_RANDOMNESS = {
    "dropout": 0.0, "audio_freq_mask": 0, "audio_time_mask": 0, "audio_freq_warp": 0.0,
    "audio_eq_db": 0.0,
}  # fmt: skip
SETTINGS = {
    "fusion": "attention", "epochs": 2, "batch_size": 4, "seed": 3,
    "overrides": {**TINY, **NO_IN_NETWORK_RANDOMNESS},
}  # fmt: skip
# The tolerance on every weight and buffer after 8 steps: the two runs sum the same numbers
# in another order, and AdamW's division by the root of the second moment magnifies those
# last-bit differences for weights whose gradients are near zero. Per-process batch norm
# statistics instead of global ones already move the weights by about 0.1.
WEIGHT_TOLERANCE = 1e-3
LOSS_TOLERANCE = 1e-5  # relative, on each epoch's mean training loss


def _torchrun(folder: Path, **spec) -> tuple:
    """Train with 2 processes; returns the launch result and the paths each rank wrote."""
    audit = folder / "audit"
    audit.mkdir()
    spec_path = folder / "spec.json"
    spec = {**SETTINGS, "audit": str(audit), "watch": str(folder / "runs"), **spec}
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env = checkout_environment()
    env["OMP_NUM_THREADS"] = "1"
    command = torchrun_command(2, "tests.core.ddp_train", [str(spec_path)])
    result = run_torchrun(command, cwd=ROOT, env=env)
    written = {
        rank: json.loads((audit / f"rank{rank}.json").read_text(encoding="utf-8"))
        for rank in (0, 1)
        if (audit / f"rank{rank}.json").is_file()
    }
    return result, written


def _single(data: Path, out: Path) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in trainer.train(
            data, fusion=SETTINGS["fusion"], out_dir=out, epochs=SETTINGS["epochs"],
            batch_size=SETTINGS["batch_size"], seed=SETTINGS["seed"], device="cpu",
            config_overrides=SETTINGS["overrides"],
        ):  # fmt: skip
            pass
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    data = dataset(folder, splits=SPLITS)
    (folder / "runs").mkdir()
    _single(data, folder / "runs" / "single")
    result, written = _torchrun(folder, data=str(data), out=str(folder / "runs" / "ddp"))
    assert result.ok, result.output
    return folder / "runs", written


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))


def test_two_processes_train_what_one_process_trains(runs):
    folder, _ = runs
    one, two = (
        load_file(folder / "single" / "model.safetensors"),
        load_file(folder / "ddp" / "model.safetensors"),
    )
    assert one.keys() == two.keys()
    differences = {k: float((one[k].double() - two[k].double()).abs().max()) for k in one}
    assert max(differences.values()) <= WEIGHT_TOLERANCE, differences
    changed = [k for k in one if "running" not in k and float(one[k].abs().max()) > 0]
    assert changed  # the comparison is over real weights
    single, ddp = _metrics(folder / "single"), _metrics(folder / "ddp")
    for a, b in zip(single["history"], ddp["history"], strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=LOSS_TOLERANCE)
        assert (b["accuracy"], b["val_accuracy"], b["val_subsets"]) == (
            a["accuracy"], a["val_accuracy"], a["val_subsets"],
        )  # fmt: skip
    assert ddp["epochs"] == single["epochs"] == 2
    assert ddp["temperature"] == pytest.approx(single["temperature"], abs=1e-3)


def test_only_rank_0_writes_files(runs):
    folder, written = runs
    assert sorted(written) == [0, 1]
    assert written[1] == []
    ddp = str(folder / "ddp")
    # Rank 0 made the partial folder, saved each epoch's state into it and renamed it.
    assert f"os.mkdir {ddp}{PARTIAL_SUFFIX}" in written[0]
    assert f"os.rename {ddp}{PARTIAL_SUFFIX}/trainer_state.json.partial" in written[0]
    assert all(entry.split(" ", 1)[1].startswith(ddp) for entry in written[0])
    assert sorted(p.name for p in folder.iterdir()) == ["ddp", "single"]
    assert sorted(p.name for p in (folder / "ddp").iterdir()) == sorted(
        p.name for p in (folder / "single").iterdir()
    )


def test_a_killed_worker_fails_the_run_with_no_checkpoint_and_resume_completes_it(tmp_path):
    data = dataset(tmp_path, splits=SPLITS)
    (tmp_path / "runs").mkdir()
    out = tmp_path / "runs" / "ddp"
    # Step 6 is in epoch 2: epoch 1's state is saved, the checkpoint is not.
    result, _ = _torchrun(tmp_path, data=str(data), out=str(out), kill_rank=1, kill_step=6)
    assert not result.ok
    assert (result.rank, result.exitcode) == (1, 9), result.output
    assert result.message.startswith("training process rank 1 exited with code 9")
    with pytest.raises(InputError, match="rank 1 exited with code 9"):
        result.check()
    assert not out.exists()  # nothing committed
    partial = out.with_name(out.name + PARTIAL_SUFFIX)
    left = {p.name for p in partial.iterdir()} if partial.exists() else set()
    assert not left & {"model.safetensors", "config.json", "metrics.json"}
    assert not [p for p in left if p.endswith(".partial")]
    assert json.loads((partial / "trainer_state.json").read_text(encoding="utf-8"))["epoch"] == 1
    # Resumed with 2 processes: rank 1 reads epoch 1's state from rank 0's folder, writes nothing.
    (tmp_path / "audit").rename(tmp_path / "audit-killed")
    result, written = _torchrun(tmp_path, data=str(data), out=str(out), resume=True)
    assert result.ok, result.output
    assert written[1] == []
    assert {f"os.rename {partial}", f"os.rename {out}"} <= set(written[0])
    history = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["history"]
    assert [h["epoch"] for h in history] == [1, 2]


def test_data_parallel_starts_from_rank_0_and_averages_the_gradients(tmp_path):
    from tests.core.ddp_parallel import SCALE, Toy, rank_input

    env = checkout_environment()
    env["OMP_NUM_THREADS"] = "1"
    command = torchrun_command(2, "tests.core.ddp_parallel", [str(tmp_path)])
    result = run_torchrun(command, cwd=ROOT, env=env)
    assert result.ok, result.output
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text(encoding="utf-8")) for r in (0, 1)]
    torch.manual_seed(100)  # rank 0's model
    model = Toy()
    for rank in ranks:
        assert rank["weights"].keys() == model.state_dict().keys()  # no "module." prefix
        for name, value in model.state_dict().items():
            assert torch.equal(torch.tensor(rank["weights"][name]), value), name
    for r in (0, 1):
        model.score(rank_input(r), scale=SCALE).backward()  # accumulates the sum
    for name, parameter in model.named_parameters():
        if name == "unused":
            assert parameter.grad is None
            assert [rank["grads"][name] for rank in ranks] == [None, None]
            continue
        mean = parameter.grad / 2
        assert float(mean.abs().max()) > 0
        for rank in ranks:
            assert torch.allclose(torch.tensor(rank["grads"][name]), mean, rtol=1e-6), name


# ------------------------------------------------------------------ in one process, no group


TRAINING_LOGITS = FusionNet.training_logits


def _keep_masks(monkeypatch, data: Path, out: Path, fusion: str) -> list[torch.Tensor]:
    masks: list[torch.Tensor] = []

    def recording(self, batch, keep=None):
        masks.append(keep.clone())
        return TRAINING_LOGITS(self, batch, keep)

    monkeypatch.setattr(FusionNet, "training_logits", recording)
    for _ in trainer.train(
        data, fusion=fusion, out_dir=out, epochs=1, batch_size=4, seed=5, device="cpu",
        config_overrides={**TINY, "modality_dropout": 0.5},
    ):  # fmt: skip
        pass
    return masks


def test_every_strategy_gets_the_same_modality_dropout_schedule(tmp_path, monkeypatch):
    data = dataset(tmp_path, splits=SPLITS)
    concat = _keep_masks(monkeypatch, data, tmp_path / "concat", "concat")
    attention = _keep_masks(monkeypatch, data, tmp_path / "attention", "attention")
    assert [m.shape[0] for m in concat] == [m.shape[0] for m in attention] == [4, 4, 4, 2]
    for a, b in zip(concat, attention, strict=True):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(concat, concat[1:], strict=False))
    assert 0 < sum(int(m.sum()) for m in concat) < sum(m.numel() for m in concat)


def test_the_ranks_masks_concatenate_to_the_single_process_masks():
    for count, world in ((8, 2), (6, 3), (3, 2)):
        whole = trainer.modality_keep(7, 11, count, 3, 0.4)
        parts = [
            trainer.modality_keep(7, 11, count, 3, 0.4, DistributedContext(rank, world))
            for rank in range(world)
        ]
        assert [len(p) for p in parts] == [count * (r + 1) // world - count * r // world
                                           for r in range(world)]  # fmt: skip
        assert torch.equal(torch.cat(parts), whole)
    assert not torch.equal(trainer.modality_keep(7, 11, 8, 3, 0.4),
                           trainer.modality_keep(7, 12, 8, 3, 0.4))  # fmt: skip


def test_a_batch_size_the_processes_cannot_share_is_refused(tmp_path):
    two = DistributedContext(rank=0, world_size=2)
    with pytest.raises(InputError, match="--batch-size 5 does not divide among 2 processes"):
        trainer._check_settings(trainer.TrainSettings("concat", batch_size=5), two)
    with pytest.raises(InputError, match="last batch of each epoch holds 1 of the 9"):
        trainer._check_last_batch(9, 4, two)
    trainer._check_last_batch(10, 4, two)  # two left over: one each
    trainer._check_last_batch(8, 4, two)


def test_torchrun_commands():
    single = torchrun_command(2, "mmstudio.x", ["a", "--b"])
    assert single[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert single[3:] == [
        "--standalone", "--max-restarts", "0", "--nproc-per-node", "2", "-m", "mmstudio.x",
        "a", "--b",
    ]  # fmt: skip
    multi = torchrun_command(4, "m", [], nnodes=2, rdzv_endpoint="host:29400", node_rank=1)
    assert multi[3:] == [
        "--nnodes", "2", "--rdzv-backend", "c10d", "--rdzv-endpoint", "host:29400",
        "--rdzv-id", "mmstudio", "--node-rank", "1", "--max-restarts", "0",
        "--nproc-per-node", "4", "-m", "m",
    ]  # fmt: skip
    with pytest.raises(InputError, match="rendezvous endpoint"):
        torchrun_command(2, "m", [], nnodes=2)
    with pytest.raises(InputError, match="at least one process"):
        torchrun_command(0, "m", [])


def test_setup_without_torchrun_is_a_single_process(monkeypatch):
    from mmstudio.training.distributed import setup_from_env, teardown

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    context = setup_from_env("cpu")
    assert (context.rank, context.world_size, context.is_main, context.distributed) == (
        0, 1, True, False,
    )  # fmt: skip
    assert context.device == torch.device("cpu")
    teardown(context)
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(InputError, match="WORLD_SIZE is 'two'"):
        setup_from_env("cpu")
