#!/usr/bin/python3
# -*- coding: utf-8 -*-
"""
reference.py -- run the OFFICIAL DiT code (facebookresearch/DiT `models.py` + timm layers) as a numerical
and performance reference for ditj.

The model code is never re-implemented here: the script puts a DiT checkout and a timm checkout on
sys.path, imports `models.DiT` / `models.DiT_models`, and calls the official constructor, `forward` and
`forward_with_cfg`.  This file only adds argument handling, weight re-randomisation, I/O and timing.

Getting the official code
-------------------------
    git clone https://github.com/facebookresearch/DiT                 # tested: ed81ce2229091fd4ecc9a223645f95cf379d582b
    git clone https://github.com/huggingface/pytorch-image-models     # tested: aa4b5850c1543fa488abf260f18390eda46cf85d
                                                                      #         (timm 1.0.29.dev0)
    # or, from bare mirrors:  git --git-dir=MIRROR archive REV | tar -x -C DEST

Point the script at them with --dit-repo / --timm-repo (global options, before the sub-command) or with
the environment variables DIT_REPO / TIMM_REPO.  --timm-repo may be omitted if `import timm` already works.

Python: the Debian interpreter (/usr/bin/python3, torch 1.13 CPU, numpy 1.24) is enough; nothing from
PyPI is needed.  With this timm revision no import stubs are required on that box; if an optional
import-only dependency of timm is missing elsewhere (huggingface_hub, safetensors, yaml), a name-only
stub is installed for it and a note is printed (stubs never sit on a numerical path).

Sub-commands (examples)
-----------------------
    R="/usr/bin/python3 tools/reference.py --dit-repo ~/src/DiT --timm-repo ~/src/pytorch-image-models"

    # random-weight DiT-XL/2 256px, saved exactly like the released checkpoints (bare state dict)
    $R make-model --model DiT-XL/2 --image-size 256 --seed 0 --out /tmp/xl2/DiT-XL-2-256-random.pt
    # a non-family config (heads are needed again later: pass --heads to the other commands)
    $R make-model --depth 2 --hidden 144 --heads 2 --patch 2 --image-size 64 --num-classes 10 --out /tmp/tiny.pt

    # random inputs for a checkpoint (config inferred from the state dict)
    $R make-inputs --model /tmp/xl2/DiT-XL-2-256-random.pt --batch 2 --seed 0 --out-dir /tmp/xl2

    # official forward, float32 (default) or float64; optional classifier-free guidance
    $R forward --model /tmp/xl2/DiT-XL-2-256-random.pt --x /tmp/xl2/x.npy --t /tmp/xl2/t.npy --y /tmp/xl2/y.npy \
               --out /tmp/xl2/out_f32.npy --threads 2
    $R forward ... --float64 --out /tmp/xl2/out_f64.npy
    $R forward ... --cfg-scale 4.0 --out /tmp/xl2/out_cfg.npy

    # timing of the official float32 forward
    $R bench --model /tmp/xl2/DiT-XL-2-256-random.pt --batch 2 --threads 2 --repeat 3 --warmup 1 --json bench.jsonl

    # prove the script runs the official code correctly: compare with the reference fixtures
    $R check-fixtures                               # default: src/test/fixtures of this checkout

Conventions
-----------
* make-model: the official constructor runs first (global seed --seed), then EVERY trainable parameter is
  overwritten from torch.Generator(--seed), in `named_parameters()` order: Linear/Conv weights ~ N(0, 1/fan_in)
  (fan_in = in_features, or C*p*p for the patch conv), biases ~ N(0, 0.1^2), label table ~ N(0, 0.5^2).
  `pos_embed` (requires_grad=False) is kept exactly as built.  The official init zeroes the adaLN and final
  layers, so without this every output would be trivial.  This is the recipe of the reference fixtures
  (src/test/fixtures: dit_a.pt = seed 1001 with --fp16; check-fixtures verifies that the recipe reproduces it bit
  for bit).
* Heads cannot be read from a state dict.  For the official family (hidden 1152/1024/768/384) they come
  from the DiT_models table; otherwise pass --heads.  All other config is inferred from tensor shapes.
* Inputs: x float32 [B,4,I,I] ~ N(0,1); t int64 spread over 0..999 (round(linspace)); y int64 random
  classes with the null class (= num_classes) as the last row when B >= 2.
* float64: `model.double()`.  The official TimestepEmbedder always builds the sinusoid in float32, so a
  forward pre-hook on `t_embedder.mlp` casts it to the Linear's dtype (the same float32 values, promoted).
* Outputs are always saved as float32 .npy.
* --threads N sets torch.set_num_threads(N) and, if torch runs on a pthread OpenBLAS (Debian), also
  openblas_set_num_threads(N): torch's setting does not reach a non-MKL BLAS, which would use every core.
"""
import argparse
import collections
import ctypes
import importlib.abc
import importlib.machinery
import json
import math
import os
import re
import statistics
import sys
import time
import types

import numpy as np
import torch

FAMILY_HEADS = {1152: 16, 1024: 16, 768: 12, 384: 6}   # hidden size -> heads, from the official DiT_models table
NUM_TRAIN_TIMESTEPS = 1000
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "test", "fixtures")

# ----------------------------------------------------------------------------------------------------------
# Importing the official code
# ----------------------------------------------------------------------------------------------------------
# Optional, import-only dependencies of timm.  If one is missing, an empty module (attribute access yields a
# placeholder class) is registered under its name.  None of them is used by PatchEmbed / Attention / Mlp.
_STUBBABLE = {"huggingface_hub", "safetensors", "yaml"}
_STUBBED = set()


class _NameOnlyStubs(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in _STUBBED:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        mod = types.ModuleType(spec.name)
        mod.__path__ = []

        def _getattr(name):
            if name.startswith("__"):
                raise AttributeError(name)
            return type(name, (), {"__init__": lambda self, *a, **k: None})
        mod.__getattr__ = _getattr
        return mod

    def exec_module(self, module):
        pass


_OFFICIAL = None   # the imported official `models` module


def official(args=None):
    """Import (once) and return the official DiT `models` module."""
    global _OFFICIAL
    if _OFFICIAL is not None:
        return _OFFICIAL
    dit_repo = (getattr(args, "dit_repo", None) or os.environ.get("DIT_REPO") or "").strip()
    timm_repo = (getattr(args, "timm_repo", None) or os.environ.get("TIMM_REPO") or "").strip()
    if not dit_repo or not os.path.isfile(os.path.join(dit_repo, "models.py")):
        sys.exit("error: need a facebookresearch/DiT checkout (--dit-repo DIR or DIT_REPO) containing models.py; "
                 "get it with: git clone https://github.com/facebookresearch/DiT")
    dit_repo = os.path.abspath(dit_repo)
    if timm_repo:
        if not os.path.isfile(os.path.join(timm_repo, "timm", "__init__.py")):
            sys.exit(f"error: {timm_repo} is not a pytorch-image-models checkout (no timm/__init__.py); "
                     "get it with: git clone https://github.com/huggingface/pytorch-image-models")
        sys.path.insert(0, os.path.abspath(timm_repo))
    sys.path.insert(0, dit_repo)
    sys.meta_path.insert(0, _NameOnlyStubs())
    for _ in range(len(_STUBBABLE) + 1):
        try:
            import timm                      # noqa: F401  (imported first so its location can be reported)
            import models
            break
        except ModuleNotFoundError as e:
            root = (e.name or "").split(".")[0]
            if root not in _STUBBABLE or root in _STUBBED:
                raise
            _STUBBED.add(root)
            for k in [k for k in sys.modules if k == "timm" or k.startswith("timm.")]:
                del sys.modules[k]
            print(f"note: '{root}' is not installed; using a name-only import stub for it", file=sys.stderr)
    if os.path.dirname(os.path.abspath(models.__file__)) != dit_repo:
        sys.exit(f"error: imported 'models' from {models.__file__}, not from {dit_repo}")
    from timm.layers import use_fused_attn
    _OFFICIAL = models
    _OFFICIAL.info = (f"DiT models.py: {models.__file__}; timm {timm.__version__} ({os.path.dirname(timm.__file__)}); "
                      f"attention path: {'fused SDPA' if use_fused_attn() else 'classic (q@k^T, softmax, @v)'}; "
                      f"stubs: {sorted(_STUBBED) or 'none'}; torch {torch.__version__}")
    return _OFFICIAL


# ----------------------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------------------
def rerandomize(model, seed):
    """Overwrite every trainable parameter (see module docstring).  pos_embed is kept."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.requires_grad:
                if name != "pos_embed":
                    raise RuntimeError(f"unexpected frozen parameter {name}")
                continue
            if name.endswith("embedding_table.weight"):
                std = 0.5
            elif p.dim() >= 2:
                std = 1.0 / math.sqrt(p[0].numel())        # fan_in: in_features, or C*p*p for the patch conv
            else:
                std = 0.1
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32) * std)
    return model


def load_state_dict(path):
    sd = torch.load(path, map_location="cpu")
    if isinstance(sd, dict) and "ema" in sd and "x_embedder.proj.weight" not in sd:
        print(f"note: {path} is a training checkpoint; using its 'ema' weights", file=sys.stderr)
        sd = sd["ema"]
    if "x_embedder.proj.weight" not in sd:
        sys.exit(f"error: {path} does not look like a DiT state dict")
    return sd


def infer_config(sd, heads=None):
    """DiT constructor kwargs from tensor shapes (+ heads from the family table or the caller)."""
    hidden, in_ch, patch, _ = sd["x_embedder.proj.weight"].shape
    tokens = sd["pos_embed"].shape[1]
    grid = int(round(math.sqrt(tokens)))
    if grid * grid != tokens:
        sys.exit(f"error: pos_embed has {tokens} tokens, not a square grid")
    rows = sd["y_embedder.embedding_table.weight"].shape[0]
    depth = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
    mlp_hidden = sd["blocks.0.mlp.fc1.weight"].shape[0]
    out_ch = sd["final_layer.linear.weight"].shape[0] // (patch * patch)
    if heads is None:
        heads = FAMILY_HEADS.get(hidden)
        if heads is None:
            sys.exit(f"error: hidden size {hidden} is not an official DiT family size; pass --heads")
    if out_ch not in (in_ch, 2 * in_ch):
        sys.exit(f"error: final layer has {out_ch} channels for {in_ch} input channels")
    return dict(input_size=grid * patch, patch_size=patch, in_channels=in_ch, hidden_size=hidden, depth=depth,
                num_heads=heads, mlp_ratio=mlp_hidden / hidden, class_dropout_prob=0.1,
                num_classes=rows - 1,           # the released models (dropout 0.1) carry one extra null-class row
                learn_sigma=(out_ch == 2 * in_ch))


def describe(cfg):
    return ", ".join(f"{k}={v}" for k, v in cfg.items())


def build_model(args, path, dtype=torch.float32):
    """Official DiT with the weights of `path`, eval mode, in `dtype` (float64 gets the t_freq cast hook)."""
    models = official(args)
    sd = load_state_dict(path)
    cfg = infer_config(sd, getattr(args, "heads", None))
    model = models.DiT(**cfg)
    model.load_state_dict(sd, strict=True)
    del sd
    model.eval()                                   # no label dropout
    if dtype == torch.float64:
        to_float64(model)
    return model, cfg


def to_float64(model):
    """model.double() in place, plus a pre-hook on t_embedder.mlp that casts the official float32 sinusoid to
    float64 (values unchanged): the official TimestepEmbedder always builds it in float32."""
    def cast_t_freq(module, inputs):
        return tuple(i.to(module[0].weight.dtype) for i in inputs)
    model.double()
    model.t_embedder.mlp.register_forward_pre_hook(cast_t_freq)
    return model


# ----------------------------------------------------------------------------------------------------------
# Inputs / outputs
# ----------------------------------------------------------------------------------------------------------
def make_inputs(cfg, batch, seed):
    g = torch.Generator().manual_seed(seed)
    i, c, k = cfg["input_size"], cfg["in_channels"], cfg["num_classes"]
    x = torch.randn((batch, c, i, i), generator=g, dtype=torch.float32)
    if batch == 1:
        t = np.array([NUM_TRAIN_TIMESTEPS // 2], dtype=np.int64)
    else:
        t = np.rint(np.linspace(0, NUM_TRAIN_TIMESTEPS - 1, batch)).astype(np.int64)
    y = torch.randint(0, k, (batch,), generator=g, dtype=torch.int64).numpy()
    if batch >= 2:
        y[-1] = k                                  # null (unconditional) class, once
    return x.numpy(), t, y


def load_npy(path, kind):
    a = np.load(path)
    if kind == "x":
        if a.dtype not in (np.float32, np.float64) or a.ndim != 4:
            sys.exit(f"error: {path}: x must be float [B,C,H,W], got {a.dtype} {a.shape}")
    elif a.dtype.kind not in "iu" or a.ndim != 1:
        sys.exit(f"error: {path}: {kind} must be a 1-D integer array, got {a.dtype} {a.shape}")
    return a


@torch.no_grad()
def run_forward(model, x, t, y, cfg_scale=None):
    dtype = next(model.parameters()).dtype
    xt = torch.from_numpy(np.ascontiguousarray(x)).to(dtype)
    tt = torch.from_numpy(np.asarray(t, dtype=np.int64))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    if cfg_scale is None:
        out = model(xt, tt, yt)
    else:
        out = model.forward_with_cfg(xt, tt, yt, cfg_scale)
    return out.to(torch.float32).numpy()


def compare(out, ref):
    d = np.abs(out.astype(np.float64) - ref.astype(np.float64))
    maxabs = float(d.max())
    return maxabs, maxabs / float(np.abs(ref).max())


def blas_libraries():
    """BLAS/LAPACK shared libraries mapped into this process (torch's BLAS_INFO=generic says nothing)."""
    libs = set()
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.split()[-1]
                base = os.path.basename(path).lower()
                if path.startswith("/") and any(s in base for s in ("blas", "lapack", "mkl")):
                    libs.add(path)
    except OSError:
        pass
    return sorted(libs)


def _openblas():
    for path in blas_libraries():
        if "openblas" in os.path.basename(path):
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_get_config.restype = ctypes.c_char_p
                return lib
            except (OSError, AttributeError):
                pass
    return None


def set_threads(n):
    """torch intra-op threads and, when torch calls a pthread OpenBLAS (Debian), OpenBLAS's own pool:
    torch.set_num_threads does not reach a non-MKL BLAS, which otherwise uses every core."""
    if n:
        torch.set_num_threads(n)
        lib = _openblas()
        if lib is not None:
            lib.openblas_set_num_threads(n)


def thread_info():
    lib = _openblas()
    blas = "" if lib is None else (f"; OpenBLAS threads {lib.openblas_get_num_threads()} "
                                   f"({lib.openblas_get_config().decode()})")
    return f"torch threads {torch.get_num_threads()}{blas}"


# ----------------------------------------------------------------------------------------------------------
# Sub-commands
# ----------------------------------------------------------------------------------------------------------
def cmd_make_model(args):
    models = official(args)
    print(models.info)
    if args.image_size % 8:
        sys.exit("error: --image-size must be a multiple of 8 (the VAE downsamples by 8)")
    latent = args.image_size // 8
    generic = [args.depth, args.hidden, args.heads, args.patch]
    torch.manual_seed(args.seed)                   # the official init uses the global RNG (then overwritten)
    if any(v is not None for v in generic):
        if args.model or any(v is None for v in generic):
            sys.exit("error: give either --model NAME or all of --depth --hidden --heads --patch")
        model = models.DiT(input_size=latent, patch_size=args.patch, in_channels=args.in_channels,
                           hidden_size=args.hidden, depth=args.depth, num_heads=args.heads,
                           mlp_ratio=args.mlp_ratio, num_classes=args.num_classes,
                           learn_sigma=not args.no_learn_sigma)
        name = f"DiT(depth={args.depth}, hidden={args.hidden}, heads={args.heads}, patch={args.patch})"
    else:
        if args.model not in models.DiT_models:
            sys.exit(f"error: --model must be one of {sorted(models.DiT_models)} (or use the generic form)")
        model = models.DiT_models[args.model](input_size=latent, num_classes=args.num_classes)
        name = args.model
    rerandomize(model, args.seed)
    sd = model.state_dict()
    if args.fp16:
        sd = collections.OrderedDict((k, v.half()) for k, v in sd.items())
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(sd, args.out)
    n = sum(v.numel() for v in sd.values())
    print(f"{name} {args.image_size}px (latent {latent}), {len(sd)} tensors, {n:,} values, seed {args.seed}")
    print(f"wrote {args.out} ({os.path.getsize(args.out):,} bytes)")


def cmd_make_inputs(args):
    sd = load_state_dict(args.model)
    cfg = infer_config(sd, args.heads or 1)        # heads do not matter for inputs
    del sd
    x, t, y = make_inputs(cfg, args.batch, args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    for nm, a in (("x", x), ("t", t), ("y", y)):
        np.save(os.path.join(args.out_dir, nm + ".npy"), a)
    print(f"config: input {cfg['input_size']}, {cfg['in_channels']} channels, {cfg['num_classes']} classes "
          f"(null = {cfg['num_classes']})")
    print(f"x {x.dtype} {list(x.shape)} std {x.std():.4f}; t {t.tolist()}; y {y.tolist()}")
    print(f"wrote x.npy t.npy y.npy to {args.out_dir}")


def cmd_forward(args):
    set_threads(args.threads)
    dtype = torch.float64 if args.float64 else torch.float32
    model, cfg = build_model(args, args.model, dtype)
    print(official(args).info)
    print(f"config: {describe(cfg)}; dtype {dtype}; {thread_info()}")
    x, t, y = load_npy(args.x, "x"), load_npy(args.t, "t"), load_npy(args.y, "y")
    if not (len(x) == len(t) == len(y)):
        sys.exit(f"error: batch sizes differ: x {len(x)}, t {len(t)}, y {len(y)}")
    start = time.perf_counter()
    out = run_forward(model, x, t, y, args.cfg_scale)
    secs = time.perf_counter() - start
    np.save(args.out, out)
    what = "forward" if args.cfg_scale is None else f"forward_with_cfg(cfg_scale={args.cfg_scale})"
    print(f"{what}: out {list(out.shape)} max-abs {np.abs(out).max():.6g} std {out.std():.6g} "
          f"finite {bool(np.isfinite(out).all())}; {secs:.2f} s")
    print(f"wrote {args.out}")


def cmd_bench(args):
    set_threads(args.threads)
    model, cfg = build_model(args, args.model, torch.float32)
    print(official(args).info)
    print(f"config: {describe(cfg)}")
    x, t, y = make_inputs(cfg, args.batch, args.seed)
    times = []
    for i in range(args.warmup + args.repeat):
        start = time.perf_counter()
        run_forward(model, x, t, y)
        secs = time.perf_counter() - start
        if i >= args.warmup:
            times.append(secs)
        print(f"  {'warmup' if i < args.warmup else 'run'} {i + 1}: {secs:.3f} s", flush=True)
    tmin, tmed = min(times), statistics.median(times)
    print(f"official float32 forward, batch {args.batch}, threads {torch.get_num_threads()}: "
          f"min {tmin:.3f} s, median {tmed:.3f} s per forward ({args.repeat} runs, {args.warmup} warmup)")
    print(torch.__config__.parallel_info().rstrip())
    build = re.findall(r"\b(?:BLAS_INFO|LAPACK_INFO|USE_MKLDNN)=[^,\s]*", torch.__config__.show())
    print(f"BLAS: build {' '.join(build)}; loaded {' '.join(blas_libraries()) or '?'}; {thread_info()}")
    if args.json:
        rec = {"model": os.path.basename(args.model), "batch": args.batch, "threads": torch.get_num_threads(),
               "seconds_min": tmin, "seconds_median": tmed, "torch": torch.__version__}
        with open(args.json, "a") as fh:
            fh.write(json.dumps(rec) + "\n")
        print(f"appended a JSON line to {args.json}")


def cmd_check_fixtures(args):
    set_threads(args.threads)
    fx = args.fixtures
    models = official(args)
    print(models.info)
    with open(os.path.join(fx, "model_configs.json")) as fh:
        configs = json.load(fh)
    ok = True
    # tolerances on max|diff| / max|ref|; the fixtures were computed in float64 (see the fixtures README)
    tol = {torch.float64: 1e-6, torch.float32: 1e-4}
    for name, cases in (("dit_a", ("forward", "cfg")), ("dit_b", ("forward",))):
        if not os.path.exists(os.path.join(fx, f"{name}.pt")):
            continue
        heads = configs[name]["num_heads"]
        sub = argparse.Namespace(heads=heads, dit_repo=None, timm_repo=None)
        for dtype in (torch.float64, torch.float32):
            model, cfg = build_model(sub, os.path.join(fx, f"{name}.pt"), dtype)
            expect = {k: configs[name][k] for k in cfg}
            if cfg != expect:
                print(f"FAIL {name}: inferred config {cfg} != model_configs.json {expect}")
                ok = False
            for case in cases:
                pre = os.path.join(fx, f"{name}_{case}_")
                x, t, y = (np.load(pre + s + ".npy") for s in "xty")
                ref = np.load(pre + "out.npy")
                out = run_forward(model, x, t, y, 4.0 if case == "cfg" else None)
                maxabs, rel = compare(out, ref)
                good = out.shape == ref.shape and rel < tol[dtype]
                ok &= good
                what = "forward_with_cfg(4.0)" if case == "cfg" else "forward"
                print(f"{'ok  ' if good else 'FAIL'} {name} {what:22s} {str(dtype):14s} max-abs {maxabs:.3e}  "
                      f"rel {rel:.3e}  (ref max-abs {np.abs(ref).max():.4f}, tol rel {tol[dtype]:.0e})")
    # the t_freq intermediate the float64 hook receives is the official float32 sinusoid
    tf_path = os.path.join(fx, "dit_a_forward_tfreq.npy")
    if os.path.exists(tf_path):
        t = torch.from_numpy(np.load(os.path.join(fx, "dit_a_forward_t.npy")))
        tf = models.TimestepEmbedder.timestep_embedding(t, 256).numpy()
        same = np.array_equal(tf, np.load(tf_path))
        ok &= same
        print(f"{'ok  ' if same else 'FAIL'} dit_a t_freq (official float32 sinusoid) bit-identical: {same}")
    # the re-randomisation recipe of make-model reproduces the fixture weights (dit_a = seed 1001)
    c = configs["dit_a"]
    torch.manual_seed(0)
    m = models.DiT(**{k: c[k] for k in ("input_size", "patch_size", "in_channels", "hidden_size", "depth",
                                         "num_heads", "mlp_ratio", "class_dropout_prob", "num_classes",
                                         "learn_sigma")})
    rerandomize(m, 1001)
    ref_sd = torch.load(os.path.join(fx, "dit_a.pt"), map_location="cpu")
    mine = {k: v.half() for k, v in m.state_dict().items()}        # dit_a.pt is stored in float16
    same = mine.keys() == ref_sd.keys() and all(torch.equal(mine[k], ref_sd[k]) for k in mine)
    ok &= same
    print(f"{'ok  ' if same else 'FAIL'} make-model recipe (seed 1001, --fp16) reproduces dit_a.pt bit for bit: {same}")
    print("ALL OK" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run the official DiT models.py (reference for ditj).",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the module docstring (head of this file) for examples.")
    ap.add_argument("--dit-repo", help="facebookresearch/DiT checkout (default: $DIT_REPO)")
    ap.add_argument("--timm-repo", help="huggingface/pytorch-image-models checkout (default: $TIMM_REPO)")
    sp = ap.add_subparsers(dest="cmd", required=True)

    p = sp.add_parser("make-model", help="official DiT with re-randomised weights -> bare state dict .pt")
    p.add_argument("--model", help="official name, e.g. DiT-XL/2")
    p.add_argument("--image-size", type=int, default=256, help="pixels; latent = image/8 (default 256)")
    p.add_argument("--num-classes", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--depth", type=int)
    p.add_argument("--hidden", type=int)
    p.add_argument("--heads", type=int)
    p.add_argument("--patch", type=int)
    p.add_argument("--mlp-ratio", type=float, default=4.0, help="generic form only")
    p.add_argument("--in-channels", type=int, default=4, help="generic form only")
    p.add_argument("--no-learn-sigma", action="store_true", help="generic form only: out channels = in channels")
    p.add_argument("--fp16", action="store_true", help="store the weights in float16 (as the dit_a/dit_b fixtures)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_make_model)

    p = sp.add_parser("make-inputs", help="random x/t/y .npy for a checkpoint")
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heads", type=int, help="unused (accepted for symmetry)")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_make_inputs)

    p = sp.add_parser("forward", help="official forward / forward_with_cfg")
    p.add_argument("--model", required=True)
    p.add_argument("--x", required=True)
    p.add_argument("--t", required=True)
    p.add_argument("--y", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--cfg-scale", type=float, help="use forward_with_cfg with this scale")
    p.add_argument("--float64", action="store_true", help="run model.double() (output still saved as float32)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = torch default)")
    p.add_argument("--heads", type=int, help="needed for non-family hidden sizes")
    p.set_defaults(func=cmd_forward)

    p = sp.add_parser("bench", help="time the official float32 forward")
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--seed", type=int, default=0, help="inputs as make-inputs would draw them")
    p.add_argument("--heads", type=int, help="needed for non-family hidden sizes")
    p.add_argument("--json", help="append a JSON line with the result to this file")
    p.set_defaults(func=cmd_bench)

    p = sp.add_parser("check-fixtures", help="compare with the reference fixtures (dit_a, dit_b)")
    p.add_argument("--fixtures", default=FIXTURES, help="fixture folder (default: src/test/fixtures of this checkout)")
    p.add_argument("--threads", type=int, default=0)
    p.set_defaults(func=cmd_check_fixtures)

    args = ap.parse_args(argv)
    if args.cmd != "make-inputs":
        official(args)                              # fail early if the official code cannot be imported
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
