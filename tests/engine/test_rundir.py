"""The run directory: one process at a time, a resume continues the run that was started, and
a run that fails at start leaves no folder behind."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml

from reslab import cli
from reslab.engine import CheckpointManager, distributed, load_config, rundir, train
from reslab.engine.config import dump_config
from reslab.errors import CheckpointError, ConfigError
from reslab.utils.claim import LOCK_NAME, ClaimError, claim

CPU = torch.device("cpu")
IN_USE = "is in use by another reslab process"


def _cfg(tmp_path: Path, *overrides: str):
    return load_config("digits_resnet20", [f"out_dir={tmp_path}", "name=r", *overrides])


def _claim_elsewhere(directory: Path) -> subprocess.CompletedProcess:
    """Try to claim ``directory`` from another process; rc 0 if it got it, 2 if refused."""
    code = textwrap.dedent(
        f"""
        import sys
        from reslab.utils.claim import ClaimError, claim
        try:
            with claim({str(directory)!r}):
                pass
        except ClaimError as e:
            print(e)
            sys.exit(2)
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def _started_run(cfg, step: int = 10, *, with_config: bool = True) -> Path:
    """A run directory as a run of ``cfg`` leaves it when stopped after ``step``."""
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(dump_config(cfg))
    state = {"model": {"w": torch.ones(2)}, "optimizer": {}, "step": step}
    if with_config:
        state["config"] = cfg.to_dict()
    CheckpointManager(run_dir / "checkpoints").save(state, step)
    return run_dir


def _snapshot(run_dir: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(run_dir)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(run_dir.rglob("*"))
        if p.is_file()
    }


# ----------------------------------------------------------------------------- claiming
def test_the_claim_is_held_for_the_life_of_the_context(tmp_path):
    cfg = _cfg(tmp_path)
    with rundir.open_run_dir(cfg, None, CPU) as run:
        assert run.path == cfg.run_dir and run.checkpoint is None and run.created
        refused = _claim_elsewhere(run.path)
        assert refused.returncode == 2, refused.stderr
        (line,) = refused.stdout.splitlines()  # one line
        assert f"{run.path} {IN_USE} (pid {os.getpid()}, started " in line
        assert line.endswith("wait for it to finish, or choose another name (name=...)")
    assert _claim_elsewhere(cfg.run_dir).returncode == 0
    assert not (cfg.run_dir / LOCK_NAME).exists()  # a released claim leaves no lock file


def test_a_second_open_in_another_process_is_refused_before_it_writes(tmp_path):
    cfg = _cfg(tmp_path)
    with claim(cfg.run_dir):
        code = textwrap.dedent(
            f"""
            import torch
            from reslab.engine import load_config, rundir
            cfg = load_config("digits_resnet20", ["out_dir={tmp_path}", "name=r"])
            with rundir.open_run_dir(cfg, None, torch.device("cpu")):
                pass
            """
        )
        got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "ClaimError" in got.stderr and IN_USE in got.stderr
    assert sorted(p.name for p in cfg.run_dir.iterdir()) == []  # no config.yaml written


def test_claims_nest_and_reenter_within_a_process(tmp_path):
    study = tmp_path / "study"
    with claim(study, "study"), claim(study, "study"):  # the same directory twice
        cfg = load_config("digits_resnet20", [f"out_dir={study}", "name=r"])
        with rundir.open_run_dir(cfg, None, CPU) as run:  # a run inside it
            assert run.path == study / "r"
            assert _claim_elsewhere(run.path).returncode == 2
        assert _claim_elsewhere(run.path).returncode == 0
        refused = _claim_elsewhere(study)
        assert refused.returncode == 2 and "choose another name" in refused.stdout
    assert _claim_elsewhere(study).returncode == 0


def test_the_refusal_suggests_what_fits_the_claim(tmp_path):
    with claim(tmp_path / "s", "study"):
        code = f"from reslab.utils.claim import claim\nwith claim({str(tmp_path / 's')!r}, 'study'): pass"
        got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "wait for it to finish, or choose another output directory (--out)" in got.stderr


@pytest.mark.parametrize("left_behind", ["", '{"pid": 999999999, "started": "long ago"}'])
def test_a_refusal_in_the_moment_before_the_holder_writes_its_record_names_it(
    tmp_path, left_behind
):
    """The holder takes the flock and then writes its pid: a process refused between the two
    (on a loaded machine) waits for the record instead of naming nobody, or a dead holder."""
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / LOCK_NAME).write_text(left_behind)  # empty, or a killed holder's record
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, json, os, sys, time\n"
            f"fd = os.open({str(run_dir / LOCK_NAME)!r}, os.O_RDWR)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "time.sleep(0.5)  # the moment between the flock and the record\n"
            "os.ftruncate(fd, 0)\n"
            "os.pwrite(fd, json.dumps({'pid': os.getpid(), 'started': 'now'}).encode(), 0)\n"
            "time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ClaimError, match=f"pid {holder.pid}, started now"), claim(run_dir):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_leaves_no_claim(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom reslab.utils.claim import claim\n"
            f"with claim({str(tmp_path / 'r')!r}):\n    print('held', flush=True)\n"
            "    time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ClaimError, match=f"pid {holder.pid},"), claim(tmp_path / "r"):
            pass
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / "r" / LOCK_NAME).exists()  # left behind, and harmless:
    with claim(tmp_path / "r") as got:
        assert got == tmp_path / "r"


def test_a_forked_child_does_not_keep_a_killed_holders_claim(tmp_path):
    """DataLoader workers are forked while the run holds its directory: they must not keep the
    claim alive after the run is SIGKILLed (a hung worker would keep it for ever)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, time\nfrom reslab.utils.claim import claim\n"
            f"with claim({str(tmp_path / 'r')!r}):\n"
            "    if os.fork() == 0:  # the child speaks once its fork handlers have run\n"
            "        print(os.getpid(), flush=True)\n        time.sleep(600)\n        os._exit(0)\n"
            "    time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    child = int(holder.stdout.readline())
    try:
        with pytest.raises(ClaimError, match=f"pid {holder.pid},"), claim(tmp_path / "r"):
            pass
        holder.kill()
        holder.wait()
        os.kill(child, 0)  # the forked child lives on ...
        with claim(tmp_path / "r"):  # ... and holds nothing
            pass
    finally:
        holder.kill()
        holder.wait()
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def _no_locks(monkeypatch, errnum: int = errno.ENOLCK) -> None:
    def flock(fd, op):
        raise OSError(errnum, os.strerror(errnum))

    monkeypatch.setattr(fcntl, "flock", flock)


_NO_LOCKS_HOLDER = (
    "import errno, fcntl, os, time\n"
    "def flock(fd, op):\n    raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))\n"
    "fcntl.flock = flock\n"
    "from reslab.utils.claim import claim\n"
    "with claim({path!r}):\n    print('held', flush=True)\n    time.sleep(600)"
)


def test_without_file_locks_a_lock_file_claims_the_directory(tmp_path, monkeypatch, capfd):
    """On a filesystem without flock (ENOLCK), the lock file itself, created atomically with
    the holder's pid, is the claim; one whose pid is gone from this machine is taken over."""
    run_dir = tmp_path / "r"
    holder = subprocess.Popen(
        [sys.executable, "-c", _NO_LOCKS_HOLDER.format(path=str(run_dir))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        _no_locks(monkeypatch)
        with pytest.raises(ClaimError, match=f"{IN_USE} \\(pid {holder.pid},"), claim(run_dir):
            pass
        assert "filesystem without file locks" in capfd.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert json.loads((run_dir / LOCK_NAME).read_text())["pid"] == holder.pid  # left behind
    with claim(run_dir):  # its pid is gone: taken over
        assert json.loads((run_dir / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert sorted(p.name for p in run_dir.iterdir()) == []  # released: nothing left


def test_a_claim_that_fails_for_another_reason_is_one_clear_error(tmp_path, monkeypatch):
    _no_locks(monkeypatch, errno.EINVAL)
    with (
        pytest.raises(ClaimError, match="cannot be claimed \\(Invalid argument\\)"),
        claim(tmp_path / "r"),
    ):
        pass


def test_a_process_holds_its_claim_for_the_processes_it_starts(tmp_path):
    """`reslab train --nproc N` holds the run directory for torchrun's workers: a descendant
    told so (inherited_env) goes ahead; any other process is still refused."""
    from reslab.utils.claim import INHERITED_ENV, inherited_env

    run_dir = tmp_path / "r"
    with claim(run_dir):
        env = {**os.environ, **inherited_env(run_dir)}
        code = f"from reslab.utils.claim import claim\nwith claim({str(run_dir)!r}): pass"
        child = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
        assert child.returncode == 0, child.stderr
        sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        try:  # a process that is not the holder's descendant cannot borrow its claim
            env[INHERITED_ENV] = f"{sibling.pid}:{os.path.realpath(run_dir / LOCK_NAME)}"
            spoofed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
            assert spoofed.returncode == 1 and IN_USE in spoofed.stderr.decode()
        finally:
            sibling.kill()
            sibling.wait()


def test_the_torchrun_launcher_claims_the_run_and_refuses_a_second_job_in_one_line(
    tmp_path, monkeypatch, capsys
):
    launched = []

    def fake_launch(argv, nproc, *, max_restarts=0, env=None):
        launched.append(env)
        assert _claim_elsewhere(tmp_path / "r").returncode == 2  # held for the workers
        return 0

    monkeypatch.setattr(distributed, "launch", fake_launch)
    args = ["train", "digits_resnet20", f"out_dir={tmp_path}", "name=r", "--nproc", "2"]
    assert cli.main(args) == 0
    assert launched and launched[0][rundir.CREATED_ENV] == os.path.realpath(tmp_path / "r")
    assert not (tmp_path / "r").exists()  # the job left it empty: removed
    with claim(tmp_path / "r"):
        capsys.readouterr()
        code = f"from reslab import cli\nraise SystemExit(cli.main({args!r}))"
        got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert got.returncode == 2 and len(launched) == 1
    (line,) = got.stderr.strip().splitlines()
    assert line.startswith(f"error: {tmp_path / 'r'} {IN_USE} (pid {os.getpid()},")


def test_under_torchrun_only_process_0_claims(tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "broadcast_flag", lambda flag, info, device: flag)
    cfg = _cfg(tmp_path)
    rank1 = distributed.DistInfo(rank=1, world_size=2)
    with rundir.open_run_dir(cfg, None, CPU, rank1) as run:
        assert _claim_elsewhere(run.path).returncode == 0  # it holds no claim ...
    assert not (cfg.run_dir / "config.yaml").exists()  # ... and wrote nothing


def test_under_torchrun_every_process_stops_if_process_0_cannot_claim(tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "broadcast_flag", lambda flag, info, device: True)
    rank1 = distributed.DistInfo(rank=1, world_size=2)
    with (
        pytest.raises(ClaimError, match="see process 0's error"),
        rundir.open_run_dir(_cfg(tmp_path), None, CPU, rank1),
    ):
        pass


# ----------------------------------------------------------------------------- resuming
def test_a_resume_that_asks_for_other_settings_is_refused_and_touches_nothing(tmp_path):
    run_dir = _started_run(_cfg(tmp_path, "train.iterations=40"))
    before = _snapshot(run_dir)
    with (
        pytest.raises(ConfigError) as refused,
        rundir.open_run_dir(_cfg(tmp_path, "optim.lr=0.05"), "auto", CPU),
    ):
        pytest.fail("the body must not run")
    message = str(refused.value)
    assert "\n" not in message
    assert (
        f"{run_dir} was started with optim.lr=0.1 (this command: 0.05), "
        "train.iterations=40 (this command: 500):" in message
    )
    assert f"reslab train {run_dir / 'config.yaml'} --resume auto" in message
    assert f"reslab.train('{run_dir / 'config.yaml'}', resume='auto')" in message  # Python too
    assert _snapshot(run_dir) == before
    assert _claim_elsewhere(run_dir).returncode == 0  # the claim went with the refusal


def test_a_resume_with_the_same_settings_continues_and_keeps_config_yaml(tmp_path):
    run_dir = _started_run(_cfg(tmp_path, "train.iterations=40"))
    config_before = _snapshot(run_dir)["config.yaml"]
    # where the run lives and how it is shown are not what it trains
    cfg = _cfg(tmp_path, "train.iterations=40", "train.progress=false", "data.num_workers=3")
    with rundir.open_run_dir(cfg, "auto", CPU) as run:
        state, path = run.checkpoint
        assert state["step"] == 10 and path.name == "step_00000010.pt"
        assert run.config is cfg and not run.created
    assert _snapshot(run_dir)["config.yaml"] == config_before


def test_resume_from_the_runs_own_config_yaml(tmp_path):
    run_dir = _started_run(_cfg(tmp_path, "train.iterations=40"))
    with rundir.open_run_dir(load_config(run_dir / "config.yaml"), "auto", CPU) as run:
        assert run.checkpoint[0]["step"] == 10


def test_a_checkpoint_without_a_config_is_compared_with_config_yaml(tmp_path):
    _started_run(_cfg(tmp_path, "train.iterations=40"), with_config=False)
    with (
        pytest.raises(ConfigError, match=r"train.iterations=40 \(this command: 500\)"),
        rundir.open_run_dir(_cfg(tmp_path), "auto", CPU),
    ):
        pass


def test_resume_from_a_checkpoint_file_trains_in_its_run(tmp_path):
    run_dir = _started_run(_cfg(tmp_path / "elsewhere"))
    checkpoint = run_dir / "checkpoints" / "step_00000010.pt"
    with rundir.open_run_dir(_cfg(tmp_path, "name=other"), str(checkpoint), CPU) as run:
        assert run.path == run_dir and run.config.run_dir == run_dir
        assert run.checkpoint[1] == checkpoint
    assert not (tmp_path / "other").exists()


def test_resume_of_a_missing_directory_creates_nothing(tmp_path):
    with (
        pytest.raises(CheckpointError, match="does not exist"),
        rundir.open_run_dir(_cfg(tmp_path), str(tmp_path / "nope"), CPU),
    ):
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_new_run_refuses_a_run_and_says_how_to_resume_from_either_side(tmp_path):
    _started_run(_cfg(tmp_path))
    with (
        pytest.raises(ConfigError, match="already holds a run") as refused,
        rundir.open_run_dir(_cfg(tmp_path), None, CPU),
    ):
        pass
    assert "--resume auto, or resume='auto' in Python" in str(refused.value)


# ----------------------------------------------------------------------------- discarding
class _SetupFailed(Exception):
    pass


def test_a_run_that_fails_at_start_leaves_no_folder(tmp_path):
    cfg = _cfg(tmp_path)
    with pytest.raises(_SetupFailed), rundir.open_run_dir(cfg, None, CPU) as run:
        (run.path / "metrics.jsonl").touch()  # opened, nothing logged yet
        (run.path / "checkpoints").mkdir()
        raise _SetupFailed
    assert not cfg.run_dir.exists()
    assert tmp_path.is_dir()  # the parent stays


def test_a_first_run_that_fails_at_start_leaves_no_runs_folder_either(tmp_path):
    """A first run under a new out_dir (runs/ in a fresh project) that fails at start removes
    the folders it made for itself, runs/ included; a parent that holds anything else stays."""
    cfg = _cfg(tmp_path / "project" / "runs")
    with pytest.raises(_SetupFailed), rundir.open_run_dir(cfg, None, CPU):
        raise _SetupFailed
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "notes.txt").write_text("mine")
    with pytest.raises(_SetupFailed), rundir.open_run_dir(cfg, None, CPU):
        raise _SetupFailed
    assert [p.name for p in (tmp_path / "project").iterdir()] == ["notes.txt"]


def test_a_fresh_resume_auto_that_fails_at_start_leaves_no_folder(tmp_path):
    cfg = _cfg(tmp_path)
    with pytest.raises(_SetupFailed), rundir.open_run_dir(cfg, "auto", CPU):
        raise _SetupFailed
    assert not cfg.run_dir.exists()


@pytest.mark.parametrize("work", ["metrics line", "checkpoint", "a file of the user's"])
def test_a_failed_run_keeps_a_folder_with_work_in_it(tmp_path, work):
    cfg = _cfg(tmp_path)
    with pytest.raises(_SetupFailed), rundir.open_run_dir(cfg, None, CPU) as run:
        if work == "metrics line":
            (run.path / "metrics.jsonl").write_text('{"step": 10}\n')
        elif work == "checkpoint":
            CheckpointManager(run.path / "checkpoints").save({"step": 10}, 10)
        else:
            (run.path / "notes.txt").write_text("mine")
        raise _SetupFailed
    assert (cfg.run_dir / "config.yaml").is_file()


def test_a_failure_never_discards_a_folder_this_process_did_not_create(tmp_path):
    cfg = _cfg(tmp_path)
    cfg.run_dir.mkdir()  # made by someone else, still empty
    with pytest.raises(_SetupFailed), rundir.open_run_dir(cfg, None, CPU):
        raise _SetupFailed
    assert (cfg.run_dir / "config.yaml").is_file()


def test_a_failed_resume_keeps_the_run(tmp_path):
    run_dir = _started_run(_cfg(tmp_path))
    before = _snapshot(run_dir)
    with pytest.raises(_SetupFailed), rundir.open_run_dir(_cfg(tmp_path), "auto", CPU):
        raise _SetupFailed
    assert _snapshot(run_dir) == before


def test_an_unknown_model_leaves_no_run_folder(tmp_path):
    """Needs the trainer to train inside open_run_dir (its setup fails in build_model)."""
    with pytest.raises(ConfigError):
        train("digits_resnet20", [f"out_dir={tmp_path}", "name=r", "model.name=resnet_nope"])
    assert not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- end to end
FAST = [
    "train.eval_every=1000",
    "train.log_every=10",
    "train.checkpoint_every=10",
    "train.tensorboard=false",
    "train.progress=false",
    "train.threads=1",
]


@pytest.fixture(scope="module")
def run40(tmp_path_factory) -> Path:
    """A finished 40-iteration digits run with checkpoints at 20, 30, 40."""
    out = tmp_path_factory.mktemp("runs")
    run = train("digits_resnet20", ["train.iterations=40", *FAST, f"out_dir={out}", "name=r"])
    assert run.status == "completed"
    return run.dir


def test_resume_auto_with_the_recipe_default_is_refused_by_the_cli(run40, capsys):
    before = _snapshot(run40)
    argv = ["train", "digits_resnet20", *FAST, f"out_dir={run40.parent}", "name=r"]
    rc = cli.main([*argv, "--resume", "auto"])
    err = capsys.readouterr().err
    assert rc == 2
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert "train.iterations=40 (this command: 500)" in line
    assert f"reslab train {run40 / 'config.yaml'} --resume auto" in line
    assert _snapshot(run40) == before  # checkpoints, metrics and config.yaml untouched
    assert yaml.safe_load((run40 / "config.yaml").read_text())["train"]["iterations"] == 40


def test_resume_auto_from_the_python_api_is_refused_in_its_words(run40):
    before = _snapshot(run40)
    with pytest.raises(ConfigError, match=r"train\.iterations=40") as refused:
        train("digits_resnet20", [*FAST, f"out_dir={run40.parent}", "name=r"], resume="auto")
    assert "resume='auto'" in str(refused.value)
    assert _snapshot(run40) == before


def test_resume_auto_from_config_yaml_continues_without_rewriting_it(run40, capsys):
    config_yaml = _snapshot(run40)["config.yaml"]
    checkpoints = sorted(p.name for p in (run40 / "checkpoints").iterdir())
    before = _snapshot(run40)
    assert cli.main(["train", str(run40 / "config.yaml"), "--resume", "auto"]) == 0
    out = capsys.readouterr().out
    assert "resumed" in out
    # the run had finished: said so, and nothing evaluated or written again
    assert f"{run40} finished already (step 40 of 40); nothing to train" in out
    assert {k: v[1] for k, v in _snapshot(run40).items()} == {k: v[1] for k, v in before.items()}
    assert _snapshot(run40)["config.yaml"] == config_yaml
    assert sorted(p.name for p in (run40 / "checkpoints").iterdir()) == checkpoints


def test_a_run_started_by_an_earlier_reslab_is_refused_in_one_line(tmp_path):
    """Yesterday's config.yaml gave milestones in iterations, which today's config refuses."""
    run_dir = _started_run(_cfg(tmp_path, "train.iterations=40"))
    for ckpt in (run_dir / "checkpoints").glob("*.pt"):
        state = torch.load(ckpt, weights_only=True)
        state["config"]["schedule"]["milestones"] = [32000, 48000]
        torch.save(state, ckpt)
    with (
        pytest.raises(ConfigError, match="started by an earlier reslab.*milestones") as refused,
        rundir.open_run_dir(_cfg(tmp_path, "train.iterations=40"), "auto", CPU),
    ):
        pytest.fail("the body must not run")
    assert "\n" not in str(refused.value)
