"""Shared protocol loop for the PyTorch replicas of the benchmark (bench/README.md).

A replica file (bench/pytorch/<family>.py) defines only its model, its batch preparation, one training
step and sampling, and ends with:

    from common import run_worker
    if __name__ == "__main__":
        run_worker(build)

Interface
---------
run_worker(build)
    Parses ``--threads T --batch B --seed S`` (defaults 1, 64, 0), calls ``torch.set_num_threads(T)``
    (and set_num_interop_threads(1)), seeds torch (``torch.manual_seed(S)``), calls ``build(args)``, runs
    2 warm-up ``step()`` calls, prints ``ready params=<n>`` and then serves the stdin protocol below.

build(args) -> worker object with
    params()            -> int: trainable parameter count (sum of p.numel() with requires_grad).
    step()              -> None: ONE full training step on the fixed batch (forward, loss, backward,
                           optimiser step, everything the trainer does per step except logging).
    sample(n)           -> None: sample n images in eval mode without grad (restore train mode after), with
                           the family's default sampler.
    sample(n, mode)     -> None: the same with a named sampler (only replicas that have one: diffusion's
                           "ancestral"); called only for ``sample N MODE``.
    forward_for_flops() -> None: one forward pass (with the loss) of one training batch; it is run
                           under torch.profiler(with_flops=True) and the FLOPs summed.
  ``args`` has .threads, .batch, .seed.  Helpers: ``fashion_batch(args)`` gives the fixed seeded random
  uint8 batch of shape (B, 1, 28, 28) that each replica preprocesses as its family's trainer does;
  ``uint8_batch(args, shape)`` the same for another image shape. StyleGAN2 uses its Small preset's data
  shape (3, 32, 32) (28 is not a power of two; our C# worker does the same), so
  ``uint8_batch(args, (3, 32, 32))``.
  ``trainable_params(*modules)`` counts trainable parameters (shared ones once).
  ``optimizer_step(opt, params, loss_fn, max_grad_norm, step_index, diverge_above=None, metric="loss")`` is
  the optimiser-step body of our Training/TrainStep.Run that the Glow, NVAE and VAE replicas share.

Protocol (one line in, one line out, stdout flushed after every line; logs go to stderr)
    step K    -> ``step ms=<mean ms/step> rss_kb=<VmHWM kB> faults=<minor faults during the K steps>
                 base_kb=<VmRSS kB when the command started>``
    sample N  -> ``sample ms=<total ms>``
    sample N MODE -> the same with the named sampler MODE (diffusion: ``ancestral``)
    flops     -> ``flops fwd=<forward FLOPs of one training batch>`` (step FLOPs = 3 x forward)
    gemm      -> ``gemm gflops=<1024^3 float32 matmul GFLOP/s at the set threads>``
    quit      -> exit 0
    anything failing -> ``error <message>`` and exit 2.
VmHWM is reset before the K steps by writing "5" to /proc/self/clear_refs when permitted; otherwise it is
reported unreset (peak since start).
"""
import argparse
import math
import resource
import sys
import time
import traceback

import torch


def uint8_batch(args, shape):
    """A fixed seeded random uint8 image batch (B, *shape)."""
    g = torch.Generator().manual_seed(args.seed)
    return torch.randint(0, 256, (args.batch,) + tuple(shape), dtype=torch.uint8, generator=g)


def fashion_batch(args):
    """The fixed seeded random Fashion-MNIST-shaped uint8 batch (B, 1, 28, 28)."""
    return uint8_batch(args, (1, 28, 28))


def trainable_params(*modules):
    """Trainable parameter count of the given modules (shared parameters counted once)."""
    seen = {}
    for m in modules:
        for p in m.parameters():
            if p.requires_grad:
                seen[id(p)] = p.numel()
    return sum(seen.values())


def optimizer_step(opt, params, loss_fn, max_grad_norm, step_index, diverge_above=None, metric="loss"):
    """One optimiser step as Training/TrainStep.Run does it; returns the loss value (a float).

    ``opt.zero_grad()``; ``loss = loss_fn()``; ``loss.item()`` and a divergence check (not finite, or above
    ``diverge_above`` when given; ``metric`` names the value in the message); ``backward()``;
    ``clip_grad_norm_(params, max_grad_norm)`` and a finite check of the norm; ``opt.step()``. Raises
    RuntimeError("training diverged at step ...") on divergence. The caller advances its own step counter.
    """
    opt.zero_grad()
    loss = loss_fn()
    value = loss.item()
    if not math.isfinite(value) or (diverge_above is not None and value > diverge_above):
        raise RuntimeError("training diverged at step %d: %s = %s" % (step_index, metric, value))
    loss.backward()
    norm = float(torch.nn.utils.clip_grad_norm_(params, max_grad_norm))
    if not math.isfinite(norm):
        raise RuntimeError("training diverged at step %d: gradient norm = %s" % (step_index, norm))
    opt.step()
    return value


def _out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def _reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _vmhwm_kb():
    kb = _status_kb("VmHWM:")
    return kb if kb is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux


def _vmrss_kb():
    kb = _status_kb("VmRSS:")
    return kb if kb is not None else 0


def _minflt():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _gemm_gflops():
    n = 1024
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    with torch.no_grad():
        for _ in range(3):
            torch.mm(a, b)
        reps = 20
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b)
        dt = time.perf_counter() - t0
    return 2.0 * n * n * n * reps / dt / 1e9


def _forward_flops(worker):
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        worker.forward_for_flops()
    total = 0
    for evt in prof.key_averages():
        total += getattr(evt, "flops", 0) or 0
    return int(total)


def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def run_worker(build, argv=None):
    try:
        args = parse_args(argv)
        torch.set_num_threads(args.threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        torch.manual_seed(args.seed)
        worker = build(args)
        for _ in range(2):
            worker.step()
        _out("ready params=%d" % worker.params())
        for raw in sys.stdin:
            parts = raw.split()
            if not parts:
                continue
            cmd = parts[0]
            if cmd == "step":
                k = int(parts[1]) if len(parts) > 1 else 1
                _reset_hwm()
                base = _vmrss_kb()
                f0 = _minflt()
                t0 = time.perf_counter()
                for _ in range(k):
                    worker.step()
                dt = time.perf_counter() - t0
                f1 = _minflt()
                _out("step ms=%.3f rss_kb=%d faults=%d base_kb=%d" % (dt * 1000.0 / k, _vmhwm_kb(), f1 - f0, base))
            elif cmd == "sample":
                n = int(parts[1]) if len(parts) > 1 else 64
                t0 = time.perf_counter()
                if len(parts) > 2:
                    worker.sample(n, parts[2])
                else:
                    worker.sample(n)
                _out("sample ms=%.3f" % ((time.perf_counter() - t0) * 1000.0))
            elif cmd == "flops":
                _out("flops fwd=%d" % _forward_flops(worker))
            elif cmd == "gemm":
                _out("gemm gflops=%.3f" % _gemm_gflops())
            elif cmd == "quit":
                sys.exit(0)
            else:
                raise ValueError("unknown command: " + raw.strip())
        sys.exit(0)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - the protocol reports every failure as one line
        _log(traceback.format_exc())
        _out("error " + (" ".join(str(e).split()) or type(e).__name__))
        sys.exit(2)
