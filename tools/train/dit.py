#!/usr/bin/python3
"""Trains the class-conditional DiT (official DiT architecture and parameter names, learned sigma) of ditj's
bundled emoji model on the latents of the emoji VAE (tools/train/vae.py).

    /usr/bin/python3 tools/train/dit.py --vae work/train/vae/export --run work/train/dit --hours 4
    /usr/bin/python3 tools/train/dit.py --run work/train/dit --export work/train/dit/export   # .pt + class names
    /usr/bin/python3 tools/train/dit.py --init weights/emoji-dit.safetensors --lr 1e-4 ...  # continue a released one

Training follows DiT's train.py: a 1000-step linear-beta diffusion, uniform t, ε-prediction with the hybrid loss
(MSE + variational bound for the learned-range variance, as the official gaussian_diffusion), labels dropped to
the null class with probability 0.1 (for classifier-free guidance), AdamW, an EMA of the weights (the exported
model). Categories are sampled uniformly (People & Body is 60 % of the images) or with --class-weights. Resumable
(ckpt.pt holds model, EMA, optimizer, step and RNG states); loss.csv and sample grids (DDIM, guidance 4, one row per
class) as it goes. Runs on CUDA when PyTorch sees a GPU (tools/train/gpu-train for a time-boxed run there).

With --subgroups the classes are the 98 Unicode subgroups (book-paper, tool, clothing, ...) instead of the 9
categories: categories are still sampled as above, but each image is labelled with its subgroup, so the model learns
one look per subgroup rather than the average of a whole category. A 9-class --init is refined into subgroups
(each starts from its category's class embedding, see refine_classes()); the export writes class-groups.json,
which maps each category to its subgroups (for `ditj convert --class-groups`).

--hidden, --depth and --heads shape a new run: the bundled model's autoguidance model is a DiT of hidden 128,
depth 4, 2 heads trained briefly from scratch (see weights/README.md).
"""
import argparse, json, math, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import vae as vae_lib  # noqa: E402

CONFIG = dict(input_size=16, patch_size=2, in_channels=4, hidden_size=256, depth=6, num_heads=4, mlp_ratio=4.0,
              num_classes=9, learn_sigma=True)
CATEGORIES = 9   # the data's labels; the model's classes are these or, with --subgroups, their subgroups


# ------------------------------------------------------------------------------------------------- model
def sincos_table(hidden, grid):
    """Fixed 2-D sin-cos positions [grid², hidden]: first half encodes the column, second half the row."""
    def axis(pos, dim):
        omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2.0))
        out = pos[:, None] * omega[None]
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)
    col = np.tile(np.arange(grid, dtype=np.float64), grid)
    row = np.repeat(np.arange(grid, dtype=np.float64), grid)
    return np.concatenate([axis(col, hidden // 2), axis(row, hidden // 2)], axis=1).astype(np.float32)


class Holder(nn.Module):
    """An empty module so parameter names match the official ones (x_embedder.proj, t_embedder.mlp, ...)."""


class Block(nn.Module):
    def __init__(s, h, heads, mlp):
        super().__init__()
        s.heads = heads
        s.norm1 = nn.LayerNorm(h, elementwise_affine=False, eps=1e-6)
        s.norm2 = nn.LayerNorm(h, elementwise_affine=False, eps=1e-6)
        s.attn = Holder()
        s.attn.qkv, s.attn.proj = nn.Linear(h, 3 * h), nn.Linear(h, h)
        s.mlp = Holder()
        s.mlp.fc1, s.mlp.fc2 = nn.Linear(h, mlp), nn.Linear(mlp, h)
        s.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(h, 6 * h))

    def forward(s, x, c):
        sh1, sc1, g1, sh2, sc2, g2 = s.adaLN_modulation(c).chunk(6, dim=1)
        b, t, h = x.shape
        u = s.norm1(x) * (1 + sc1[:, None]) + sh1[:, None]
        q, k, v = s.attn.qkv(u).reshape(b, t, 3, s.heads, h // s.heads).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(h // s.heads), -1) @ v
        x = x + g1[:, None] * s.attn.proj(a.transpose(1, 2).reshape(b, t, h))
        u = s.norm2(x) * (1 + sc2[:, None]) + sh2[:, None]
        return x + g2[:, None] * s.mlp.fc2(F.gelu(s.mlp.fc1(u), approximate="tanh"))


class DiT(nn.Module):
    def __init__(s, c=CONFIG):
        super().__init__()
        h, p, ci = c["hidden_size"], c["patch_size"], c["in_channels"]
        s.p, s.ci, s.co = p, ci, 2 * ci if c["learn_sigma"] else ci
        grid = c["input_size"] // p
        s.x_embedder = Holder()
        s.x_embedder.proj = nn.Conv2d(ci, h, p, stride=p)
        s.t_embedder = Holder()
        s.t_embedder.mlp = nn.Sequential(nn.Linear(256, h), nn.SiLU(), nn.Linear(h, h))
        s.y_embedder = Holder()
        s.y_embedder.embedding_table = nn.Embedding(c["num_classes"] + 1, h)
        s.pos_embed = nn.Parameter(torch.from_numpy(sincos_table(h, grid))[None], requires_grad=False)
        s.blocks = nn.ModuleList([Block(h, c["num_heads"], int(h * c["mlp_ratio"])) for _ in range(c["depth"])])
        s.final_layer = Holder()
        s.final_layer.norm_final = nn.LayerNorm(h, elementwise_affine=False, eps=1e-6)
        s.final_layer.linear = nn.Linear(h, p * p * s.co)
        s.final_layer.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(h, 2 * h))
        s.initialize()

    def initialize(s):
        """DiT's adaLN-Zero initialisation: Xavier linears, zeroed modulation and output layers."""
        for m in s.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        w = s.x_embedder.proj.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(s.x_embedder.proj.bias)
        nn.init.normal_(s.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(s.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(s.t_embedder.mlp[2].weight, std=0.02)
        for b in s.blocks:
            nn.init.zeros_(b.adaLN_modulation[-1].weight)
            nn.init.zeros_(b.adaLN_modulation[-1].bias)
        for m in (s.final_layer.adaLN_modulation[-1], s.final_layer.linear):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    @staticmethod
    def t_freq(t):
        freqs = torch.exp(-math.log(10000) * torch.arange(128, dtype=torch.float32, device=t.device) / 128)
        args = t.float()[:, None] * freqs[None]
        return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)

    def forward(s, x, t, y):
        b = x.shape[0]
        x = s.x_embedder.proj(x).flatten(2).transpose(1, 2) + s.pos_embed
        c = s.t_embedder.mlp(s.t_freq(t)) + s.y_embedder.embedding_table(y)
        for blk in s.blocks:
            x = blk(x, c)
        shift, scale = s.final_layer.adaLN_modulation(c).chunk(2, dim=1)
        x = s.final_layer.linear(s.final_layer.norm_final(x) * (1 + scale[:, None]) + shift[:, None])
        g = int(round(math.sqrt(x.shape[1])))
        x = x.reshape(b, g, g, s.p, s.p, s.co).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(b, s.co, g * s.p, g * s.p)


# ------------------------------------------------------------------------------------------------- diffusion
class Diffusion:
    """1000-step linear-beta diffusion (float64 tables, gathered to float32) and the hybrid training loss."""

    def __init__(s, steps=1000, min_snr=0.0):
        betas = np.linspace(1e-4, 0.02, steps, dtype=np.float64)
        ac = np.cumprod(1.0 - betas)
        prev = np.append(1.0, ac[:-1])
        post_var = betas * (1 - prev) / (1 - ac)
        tab = dict(sqrt_ac=np.sqrt(ac), sqrt_1m_ac=np.sqrt(1 - ac), sqrt_recip_ac=np.sqrt(1 / ac),
                   sqrt_recipm1_ac=np.sqrt(1 / ac - 1), coef1=betas * np.sqrt(prev) / (1 - ac),
                   coef2=(1 - prev) * np.sqrt(1 - betas) / (1 - ac),
                   post_logvar=np.log(np.append(post_var[1], post_var[1:])), log_betas=np.log(betas))
        # Min-SNR-gamma (Hang et al. 2023) for epsilon prediction: weight min(SNR, gamma) / SNR, so the nearly clean
        # steps stop dominating the gradient and the noisy steps that lay out shapes get more of it; 0 = off (DiT's)
        snr = ac / (1 - ac)
        tab["mse_weight"] = np.minimum(snr, min_snr) / snr if min_snr > 0 else np.ones(steps)
        s.t = {k: torch.tensor(v, dtype=torch.float32) for k, v in tab.items()}
        s.steps = steps

    def to(s, dev):
        s.t = {k: v.to(dev) for k, v in s.t.items()}
        return s

    def g(s, name, t):
        return s.t[name][t][:, None, None, None]

    def loss(s, model, x0, y):
        t = torch.randint(0, s.steps, (x0.shape[0],), device=x0.device)
        noise = torch.randn_like(x0)
        xt = s.g("sqrt_ac", t) * x0 + s.g("sqrt_1m_ac", t) * noise
        out = model(xt, t, y)
        eps, v = out[:, :x0.shape[1]], out[:, x0.shape[1]:]
        mse = ((noise - eps) ** 2).mean(dim=(1, 2, 3))
        weight = s.t["mse_weight"][t]
        # variational bound term, with the mean frozen so it only trains the variance (as the official code)
        min_log, max_log = s.g("post_logvar", t), s.g("log_betas", t)
        frac = (v + 1) / 2
        model_logvar = frac * max_log + (1 - frac) * min_log
        pred_x0 = s.g("sqrt_recip_ac", t) * xt - s.g("sqrt_recipm1_ac", t) * eps.detach()
        model_mean = s.g("coef1", t) * pred_x0 + s.g("coef2", t) * xt
        true_mean = s.g("coef1", t) * x0 + s.g("coef2", t) * xt
        kl = 0.5 * (-1.0 + model_logvar - min_log + torch.exp(min_log - model_logvar)
                    + (true_mean - model_mean) ** 2 * torch.exp(-model_logvar))
        kl = kl.mean(dim=(1, 2, 3)) / math.log(2.0)
        nll = -discretized_gaussian_log_likelihood(x0, model_mean, 0.5 * model_logvar).mean(dim=(1, 2, 3)) / math.log(2.0)
        vb = torch.where(t == 0, nll, kl)
        # the logged MSE stays unweighted, comparable between runs with and without --min-snr
        return (weight * mse + vb).mean(), mse.mean(), vb.mean()


def discretized_gaussian_log_likelihood(x, means, log_scales):
    """Log-likelihood of x under a Gaussian discretized into 1/255-wide bins on [-1, 1] (the DDPM decoder term)."""
    def cdf(v):
        return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v ** 3)))
    centered = x - means
    inv = torch.exp(-log_scales)
    cdf_plus, cdf_min = cdf(inv * (centered + 1.0 / 255.0)), cdf(inv * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_probs = torch.where(x < -0.999, log_cdf_plus,
                            torch.where(x > 0.999, log_one_minus_cdf_min, torch.log((cdf_plus - cdf_min).clamp(min=1e-12))))
    return log_probs


@torch.no_grad()
def ddim_sample(model, diff, labels, steps=25, cfg=4.0, seed=0):
    """DDIM (eta 0) with classifier-free guidance on all channels, for the training-time sample grids."""
    gen = torch.Generator().manual_seed(seed)
    n, dev = len(labels), labels.device
    x = torch.randn(n, 4, 16, 16, generator=gen).to(dev)
    ts = list(range(0, diff.steps, diff.steps // steps))[::-1]
    ac = diff.t["sqrt_ac"] ** 2
    y = torch.cat([labels, torch.full_like(labels, CONFIG["num_classes"])])
    for i, t in enumerate(ts):
        out = model(torch.cat([x, x]), torch.full((2 * n,), t, device=dev), y)[:, :4]
        eps = out[n:] + cfg * (out[:n] - out[n:])
        a, a_prev = ac[t], ac[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0, device=dev)
        x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    return x


# ------------------------------------------------------------------------------------------------- training
def load_vae(path, dev=torch.device("cpu")):
    """A VAE exported by vae.py (diffusers folder) or converted by ditj (.safetensors file with encoder and decoder,
    e.g. weights/emoji-vae.safetensors), with its latent statistics."""
    if path.endswith(".safetensors"):
        tensors, stats = vae_lib.vae_file(path, vae_lib.ENCODER + vae_lib.DECODER)
        model = vae_lib.AutoencoderKL()
        model.load_state_dict(tensors)
    else:
        with open(os.path.join(path, "config.json")) as f:
            cfg = json.load(f)
        model = vae_lib.AutoencoderKL({k: cfg[k] for k in vae_lib.CONFIG})
        model.load_state_dict(common.read_safetensors(os.path.join(path, "diffusion_pytorch_model.safetensors")))
        stats = cfg["latents_mean"], cfg["latents_std"]
    model.to(dev).eval()
    mean = torch.tensor(stats[0], device=dev).view(1, -1, 1, 1)
    std = torch.tensor(stats[1], device=dev).view(1, -1, 1, 1)
    return model, mean, std


def depth_of(weights):
    return 1 + max(int(k.split(".")[1]) for k in weights if k.startswith("blocks."))


def deepen(weights, depth):
    """A shallower DiT's weights made `depth` blocks deep without changing what it computes: each added block is a
    copy of the block before it with its adaLN modulation zeroed, so its gates are 0 and it passes its input through
    (adaLN-Zero); training then opens the gates. Added blocks are spread evenly among the old ones."""
    old = depth_of(weights)
    if depth < old:
        raise SystemExit(f"--depth {depth}: the initial weights have {old} blocks; a DiT can only be deepened")
    after = [round((k + 1) * old / (depth - old)) - 1 for k in range(depth - old)]
    order = []   # (old block, is an added copy) for each new block
    for i in range(old):
        order += [(i, False)] + [(i, True)] * after.count(i)
    out = {k: v for k, v in weights.items() if not k.startswith("blocks.")}
    for j, (i, added) in enumerate(order):
        for k, v in weights.items():
            if k.startswith(f"blocks.{i}."):
                name = k[len(f"blocks.{i}."):]
                zero = added and name.startswith("adaLN_modulation.")
                out[f"blocks.{j}.{name}"] = torch.zeros_like(v) if zero else v.clone()
    return out


def refine_classes(weights, a):
    """Category-conditional weights made subgroup-conditional (--subgroups) without changing what they compute:
    each subgroup's class embedding starts as its category's, the null class stays last."""
    table = weights["y_embedder.embedding_table.weight"]
    if table.shape[0] == CONFIG["num_classes"] + 1:
        return weights
    if table.shape[0] != CATEGORIES + 1 or not a.subgroups:
        raise SystemExit(f"--init has {table.shape[0] - 1} classes; this run has {CONFIG['num_classes']}")
    parent = torch.from_numpy(common.load_emoji(a.data)["subgroup_class"])
    out = dict(weights)
    out["y_embedder.embedding_table.weight"] = torch.cat([table[parent], table[CATEGORIES:]])
    return out


def encode_dataset(vae, images):
    """Posterior mean and std of every image and of its mirror image (flip augmentation)."""
    means, stds = [], []
    with torch.no_grad():
        for flip in (False, True):
            for i in range(0, len(images), 128):
                x = common.to_tensor(images[i:i + 128]).to(next(vae.parameters()).device)
                if flip:
                    x = x.flip(3)
                m, lv = vae.encode(x)
                means.append(m)
                stds.append(torch.exp(0.5 * lv))
    return torch.cat(means), torch.cat(stds)


def training_latents(a, dev):
    """The VAE (on dev), its latent statistics, and the posterior mean and std of every training image and its
    mirror image with their categories and model class labels (categories, or subgroups with --subgroups; numpy)."""
    d = common.load_emoji(a.data)
    vae, lat_mean, lat_std = load_vae(a.vae, dev)
    train_idx = np.where(~d["heldout"])[0]
    post_mean, post_std = encode_dataset(vae, d["images"][train_idx])
    classes = d["sublabels"] if a.subgroups else d["labels"]
    return (vae, lat_mean, lat_std, post_mean, post_std, np.concatenate([d["labels"][train_idx]] * 2),
            np.concatenate([classes[train_idx]] * 2))


def train(a):
    torch.manual_seed(a.seed)
    dev = common.device(a.device)
    bf16 = common.fast_bf16(dev) if a.bf16 is None else a.bf16
    vae, lat_mean, lat_std, post_mean, post_std, category_np, labels_np = training_latents(a, dev)
    labels = torch.from_numpy(labels_np).to(dev)
    by_category = [np.where(category_np == c)[0] for c in range(CATEGORIES)]
    model, diff = DiT().to(dev), Diffusion(min_snr=a.min_snr).to(dev)
    ema = DiT().to(dev)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    # the class embeddings in a group of their own: --embed-lr-scale lets new (e.g. refined) classes move apart
    # faster than the rest of the network changes
    table = model.y_embedder.embedding_table.weight
    opt = torch.optim.AdamW([dict(params=[p for p in model.parameters() if p is not table], scale=1.0),
                             dict(params=[table], scale=a.embed_lr_scale)], lr=a.lr, weight_decay=0.0)
    os.makedirs(a.run, exist_ok=True)
    ckpt = os.path.join(a.run, "ckpt.pt")
    step, seconds = 0, 0.0
    rng = np.random.default_rng(a.seed)
    if not os.path.exists(ckpt) and a.init:
        # a released model has only its EMA weights: both the trained and the averaged copy start from them
        weights = common.load_weights(a.init)
        old = depth_of(weights)
        model.load_state_dict(refine_classes(deepen(weights, CONFIG["depth"]), a))
        ema.load_state_dict(model.state_dict())
        print(f"initialised from {a.init}" + (f" ({old} blocks, deepened to {CONFIG['depth']})"
                                              if old != CONFIG["depth"] else ""))
    if os.path.exists(ckpt):
        s = common.load_checkpoint(ckpt)
        model.load_state_dict(s["model"]); ema.load_state_dict(s["ema"])
        if len(s["opt"]["param_groups"]) == len(opt.param_groups):
            opt.load_state_dict(s["opt"])
        else:   # a run from before the embeddings had their own group: its Adam moments are dropped
            print("optimizer state of an older layout: AdamW starts afresh", flush=True)
        step, seconds = s["step"], s["seconds"]
        rng.bit_generator.state = s["rng"]; torch.set_rng_state(s["torch_rng"])
        print(f"resumed at step {step} ({seconds / 3600:.2f} h trained)")
    print(f"DiT {sum(p.numel() for p in model.parameters() if p.requires_grad):,} parameters; "
          f"{len(labels_np) // 2} train images (x2 mirrored); {dev}, bf16 autocast {bf16}", flush=True)
    log = common.CsvLog(os.path.join(a.run, "loss.csv"), ["step", "hours", "loss", "mse", "vb"],
                         after_step=step)
    weights = np.array(a.class_weights or [1.0] * CATEGORIES, dtype=np.float64)
    if weights.shape != (CATEGORIES,) or (weights <= 0).any():
        raise SystemExit(f"--class-weights: {CATEGORIES} positive numbers, got {a.class_weights}")
    class_p = weights / weights.sum()
    budget = common.Budget(a.hours)
    last_save = last_grid = time.time()
    running = []
    while not budget.done():
        t0 = time.time()
        cls = rng.choice(CATEGORIES, a.batch, p=class_p)
        idx = torch.from_numpy(np.array([rng.choice(by_category[c]) for c in cls])).to(dev)
        z = post_mean[idx] + post_std[idx] * torch.randn(a.batch, 4, 16, 16, device=dev)
        x0 = (z - lat_mean) / lat_std
        y = labels[idx].clone()
        y[torch.from_numpy(rng.random(a.batch) < 0.1).to(dev)] = CONFIG["num_classes"]
        # weights and the optimizer stay fp32 under bf16 autocast (see common.fast_bf16 for when it is used)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            loss, mse, vb = diff.loss(model, x0, y)
        lr = a.lr * min(1.0, (step + 1) / a.warmup)
        if a.total_steps:
            # cosine decay to 5 %: the last steps settle into a minimum the EMA can follow
            lr *= common.cosine(step, a.total_steps, budget, 0.05)
        for g in opt.param_groups:
            g["lr"] = lr * g["scale"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        common.ema_update(ema, model, min(a.ema, (1 + step) / (10 + step)))
        step += 1
        seconds += time.time() - t0
        running.append(torch.stack([loss, mse, vb]).detach())   # no host sync per step (on CUDA)
        if step % a.log_every == 0:
            l, m, v = torch.stack(running).float().mean(0).tolist()
            running.clear()
            log.row(step=step, hours=round(seconds / 3600, 4), loss=l, mse=m, vb=v)
            print(f"step {step} {seconds / 3600:.2f} h loss {l:.4f} mse {m:.4f} vb {v:.4f} "
                  f"({a.batch * a.log_every / max(1e-9, seconds - getattr(train, 'last_s', 0.0)):.1f} samples/s)", flush=True)
            train.last_s = seconds
        if time.time() - last_save > 900 or budget.done():
            common.save_checkpoint(ckpt, model=model.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), step=step,
                                   seconds=seconds, rng=rng.bit_generator.state, torch_rng=torch.get_rng_state(),
                                   config=CONFIG)
            last_save = time.time()
        if time.time() - last_grid > a.grid_minutes * 60 or budget.done():
            # one row per category: the classes of 8 of its images (with --subgroups, a spread of its subgroups)
            rows = torch.from_numpy(np.concatenate([labels_np[i[np.linspace(0, len(i) // 2 - 1, 8).astype(int)]]
                                                    for i in by_category])).to(dev)
            lat = ddim_sample(ema, diff, rows) * lat_std + lat_mean
            with torch.no_grad():
                img = vae.decode(lat)
            common.save_grid(os.path.join(a.run, f"samples_{step:07d}.png"), common.to_u8(img), 8)
            last_grid = time.time()


@torch.no_grad()
def evaluate(a):
    """Mean training loss of a model (--init file, else the run's EMA) over fixed random batches of the training
    latents: a check that a VAE's latents are the space the DiT was trained in (a fresh encoder for an old decoder)."""
    dev = common.device(a.device)
    _, lat_mean, lat_std, post_mean, post_std, _, labels_np = training_latents(a, dev)
    labels = torch.from_numpy(labels_np).to(dev)
    model = DiT()
    if a.init:
        model.load_state_dict(refine_classes(deepen(common.load_weights(a.init), CONFIG["depth"]), a))
    else:
        model.load_state_dict(common.load_checkpoint(os.path.join(a.run, "ckpt.pt"))["ema"])
    model.to(dev).eval()
    torch.manual_seed(a.seed)
    g = np.random.default_rng(a.seed)
    diff, sums = Diffusion().to(dev), np.zeros(3)
    for _ in range(a.eval_batches):
        idx = torch.from_numpy(g.choice(len(labels), a.batch)).to(dev)
        z = post_mean[idx] + post_std[idx] * torch.randn(a.batch, 4, 16, 16, device=dev)
        sums += [float(v) for v in diff.loss(model, (z - lat_mean) / lat_std, labels[idx])]
    loss, mse, vb = sums / a.eval_batches
    print(f"{a.eval_batches} batches of {a.batch}: loss {loss:.4f} mse {mse:.4f} vb {vb:.4f}")


def export(a):
    s = common.load_checkpoint(os.path.join(a.run, "ckpt.pt"))
    os.makedirs(a.export, exist_ok=True)
    ema = {k: v.half() if a.export_dtype == "fp16" and k != "pos_embed" else v for k, v in s["ema"].items()}
    torch.save(ema, os.path.join(a.export, "emoji-dit.pt"))   # the released-checkpoint layout (bare state dict)
    names = a.class_names
    if s["config"]["num_classes"] != CATEGORIES:
        d = common.load_emoji(a.data)
        sub, parent, train = d["subgroups"], d["subgroup_class"], d["sublabels"][~d["heldout"]]
        # "Objects: book-paper, book-paper": shown with its category, found by its own name too
        names = [f"{a.class_names[parent[j]].split(',')[0]}: {sub[j]}, {sub[j]}" for j in range(len(sub))]
        groups = [dict(name=a.class_names[c], classes=[int(j) for j in np.where(parent == c)[0]],
                       weights=[int((train == j).sum()) for j in np.where(parent == c)[0]])
                  for c in range(CATEGORIES)]
        with open(os.path.join(a.export, "class-groups.json"), "w") as f:
            json.dump(groups, f, indent=1)
    with open(os.path.join(a.export, "classes.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    info = dict(step=s["step"], hours=round(s["seconds"] / 3600, 2), config=s["config"],
                parameters=sum(v.numel() for k, v in s["ema"].items() if k != "pos_embed"))
    with open(os.path.join(a.export, "training.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info, indent=2))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="work/emoji/emoji64.npz")
    ap.add_argument("--vae", default="work/train/vae/export",
                    help="the VAE whose latents the DiT learns: a vae.py export folder or a ditj .safetensors file")
    ap.add_argument("--run", default="work/train/dit")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--init", help="DiT weights (.safetensors, e.g. a ditj-converted release, or a bare .pt state "
                                   "dict) to start a new run from")
    ap.add_argument("--depth", type=int, help="transformer blocks of a new run (default: the --init weights', else "
                    f"{CONFIG['depth']}); deeper than --init adds blocks that start as identities (see deepen())")
    ap.add_argument("--hidden", type=int, help="hidden size of a new run without --init (default 256)")
    ap.add_argument("--heads", type=int, help="attention heads of a new run without --init (default 4)")
    ap.add_argument("--export-dtype", choices=["fp32", "fp16"], default="fp32", help="dtype of the exported weights")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--total-steps", type=int, default=0,
                    help="cosine learning-rate decay over this many steps (0: constant after the warm-up; "
                         "-1: over this run's --hours)")
    ap.add_argument("--class-weights", type=float, nargs="*",
                    help="relative sampling weight of each category, in label order (default: uniform)")
    ap.add_argument("--embed-lr-scale", type=float, default=1.0,
                    help="learning rate of the class embeddings relative to --lr (e.g. 10 after --subgroups refines "
                         "the classes: each subgroup starts at its category's embedding)")
    ap.add_argument("--min-snr", type=float, default=0.0, metavar="GAMMA",
                    help="weight the MSE term by min(SNR, GAMMA) / SNR (Min-SNR weighting; 5 in its paper); 0: off")
    ap.add_argument("--ema", type=float, default=0.9995)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", help="cuda, cpu, or auto: CUDA when PyTorch sees a GPU")
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction,
                    help="bf16 autocast for the model (default: where it is fast, see common.fast_bf16)")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--grid-minutes", type=float, default=30)
    ap.add_argument("--export", help="write the EMA weights as a .pt state dict + classes.txt instead of training")
    ap.add_argument("--eval-batches", type=int, default=0,
                    help="instead of training: the mean loss over this many fixed batches (see evaluate())")
    ap.add_argument("--subgroups", action="store_true",
                    help="condition on the 98 Unicode subgroups instead of the 9 categories (see above)")
    ap.add_argument("--class-names", nargs="*", default=["Smileys & Emotion", "People & Body", "Animals & Nature",
                    "Food & Drink", "Travel & Places", "Activities", "Objects", "Symbols", "Flags"])
    a = ap.parse_args()
    common.set_threads(a.threads)
    ckpt = os.path.join(a.run, "ckpt.pt")
    if a.subgroups:
        CONFIG.update(num_classes=len(common.load_emoji(a.data)["subgroups"]))
    if os.path.exists(ckpt) and not (a.eval_batches and a.init):
        config = common.load_checkpoint(ckpt)["config"]   # a run keeps its shape
        CONFIG.update({k: config[k] for k in ("depth", "num_classes", "hidden_size", "num_heads")})
        a.subgroups = config["num_classes"] != CATEGORIES
    elif a.depth or a.init:
        CONFIG.update(depth=a.depth or depth_of(common.load_weights(a.init)))
    if not os.path.exists(ckpt) and not a.init:
        CONFIG.update(hidden_size=a.hidden or CONFIG["hidden_size"], num_heads=a.heads or CONFIG["num_heads"])
    elif a.hidden or a.heads:
        raise SystemExit("--hidden/--heads shape a new run: a resumed run or --init weights keep their own")
    export(a) if a.export else evaluate(a) if a.eval_batches else train(a)


if __name__ == "__main__":
    main()
