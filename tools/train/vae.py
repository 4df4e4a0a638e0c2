#!/usr/bin/python3
"""Trains the SD-style VAE (AutoencoderKL architecture, diffusers parameter names and config) for ditj's emoji model.

    /usr/bin/python3 tools/train/vae.py --data work/emoji/emoji64.npz --run work/train/vae --hours 1.5
    /usr/bin/python3 tools/train/vae.py --run work/train/vae --export work/train/vae/export   # diffusers folder

Resumable: the run folder holds ckpt.pt (model, optimizer, step, RNG), loss.csv and recon grids; running again
continues where it stopped with a new --hours budget. Loss: L1 + L2 reconstruction in [-1, 1] plus a small KL.
The export computes the latent channel statistics over the training images and writes them as diffusers'
latents_mean / latents_std (scaling_factor 1), which ditj's decoder honours.

An encoder for an existing decoder (a VAE file that holds only the decoder, e.g. ditj's bundled one):

    /usr/bin/python3 tools/train/vae.py --run work/train/vae-enc --decoder weights/emoji-vae.safetensors --hours 1

trains only the encoder and quant_conv against the frozen decoder. A DiT trained on the old latents must see the
same latent space: the file's latent statistics are kept (and exported unchanged), the batch's per-channel
posterior-mean statistics are pulled towards them (--stats-weight), and with --dit the frozen DiT's own training
loss on the encoded (normalised) latents joins the loss (--dit-weight): reconstruction alone finds latents the
decoder turns into the picture, the DiT's loss picks among them the ones in the distribution it learned.

The other way round, a sharper decoder for an existing encoder (a DiT trained on that encoder's latents stays valid):

    /usr/bin/python3 tools/train/vae.py --run work/train/vae-dec --encoder weights/emoji-vae.safetensors \
        --lr 3e-4 --total-steps 800 --hours 1

starts from the file's decoder and fine-tunes only the decoder and post_quant_conv on posterior samples of the
frozen encoder; the file's latent statistics are kept.
"""
import argparse, json, math, os, struct, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

CONFIG = dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=[32, 64, 128], layers_per_block=2,
              norm_num_groups=32)


class GroupNorm(nn.GroupNorm):
    """GroupNorm computed in float32 (torch 1.13's CPU autocast leaves it out and then fails on bf16 inputs)."""

    def forward(s, x):
        return F.group_norm(x.float(), s.num_groups, s.weight, s.bias, s.eps).to(x.dtype)


class Resnet(nn.Module):
    def __init__(s, cin, cout, groups):
        super().__init__()
        s.norm1 = GroupNorm(groups, cin, eps=1e-6)
        s.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        s.norm2 = GroupNorm(groups, cout, eps=1e-6)
        s.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        s.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(s, x):
        h = s.conv1(F.silu(s.norm1(x)))
        h = s.conv2(F.silu(s.norm2(h)))
        return (s.conv_shortcut(x) if s.conv_shortcut is not None else x) + h


class Attention(nn.Module):
    """Single-head self-attention over all channels with the GroupNorm inside and a residual."""

    def __init__(s, c, groups):
        super().__init__()
        s.group_norm = GroupNorm(groups, c, eps=1e-6)
        s.to_q, s.to_k, s.to_v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        s.to_out = nn.ModuleList([nn.Linear(c, c)])

    def forward(s, x):
        b, c, h, w = x.shape
        u = s.group_norm(x).view(b, c, h * w).transpose(1, 2)
        q, k, v = s.to_q(u), s.to_k(u), s.to_v(u)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1) @ v
        return s.to_out[0](a).transpose(1, 2).reshape(b, c, h, w) + x


class Mid(nn.Module):
    def __init__(s, c, groups):
        super().__init__()
        s.resnets = nn.ModuleList([Resnet(c, c, groups), Resnet(c, c, groups)])
        s.attentions = nn.ModuleList([Attention(c, groups)])

    def forward(s, x):
        return s.resnets[1](s.attentions[0](s.resnets[0](x)))


class Down(nn.Module):
    def __init__(s, cin, cout, n, groups, downsample):
        super().__init__()
        s.resnets = nn.ModuleList([Resnet(cin if i == 0 else cout, cout, groups) for i in range(n)])
        s.downsamplers = nn.ModuleList([nn.Module()]) if downsample else None
        if downsample:
            s.downsamplers[0].conv = nn.Conv2d(cout, cout, 3, stride=2, padding=0)

    def forward(s, x):
        for r in s.resnets:
            x = r(x)
        if s.downsamplers is not None:
            x = s.downsamplers[0].conv(F.pad(x, (0, 1, 0, 1)))  # diffusers' asymmetric padding
        return x


class Up(nn.Module):
    def __init__(s, cin, cout, n, groups, upsample):
        super().__init__()
        s.resnets = nn.ModuleList([Resnet(cin if i == 0 else cout, cout, groups) for i in range(n)])
        s.upsamplers = nn.ModuleList([nn.Module()]) if upsample else None
        if upsample:
            s.upsamplers[0].conv = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(s, x):
        for r in s.resnets:
            x = r(x)
        if s.upsamplers is not None:
            x = s.upsamplers[0].conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return x


class Encoder(nn.Module):
    def __init__(s, c):
        super().__init__()
        boc, g, n = c["block_out_channels"], c["norm_num_groups"], c["layers_per_block"]
        s.conv_in = nn.Conv2d(c["in_channels"], boc[0], 3, padding=1)
        s.down_blocks = nn.ModuleList([Down(boc[max(i - 1, 0)], boc[i], n, g, i < len(boc) - 1) for i in range(len(boc))])
        s.mid_block = Mid(boc[-1], g)
        s.conv_norm_out = GroupNorm(g, boc[-1], eps=1e-6)
        s.conv_out = nn.Conv2d(boc[-1], 2 * c["latent_channels"], 3, padding=1)

    def forward(s, x):
        x = s.conv_in(x)
        for d in s.down_blocks:
            x = d(x)
        return s.conv_out(F.silu(s.conv_norm_out(s.mid_block(x))))


class Decoder(nn.Module):
    def __init__(s, c):
        super().__init__()
        rev, g, n = list(reversed(c["block_out_channels"])), c["norm_num_groups"], c["layers_per_block"]
        s.conv_in = nn.Conv2d(c["latent_channels"], rev[0], 3, padding=1)
        s.mid_block = Mid(rev[0], g)
        s.up_blocks = nn.ModuleList([Up(rev[max(i - 1, 0)], rev[i], n + 1, g, i < len(rev) - 1) for i in range(len(rev))])
        s.conv_norm_out = GroupNorm(g, rev[-1], eps=1e-6)
        s.conv_out = nn.Conv2d(rev[-1], c["out_channels"], 3, padding=1)

    def forward(s, z):
        x = s.mid_block(s.conv_in(z))
        for u in s.up_blocks:
            x = u(x)
        return s.conv_out(F.silu(s.conv_norm_out(x)))


class AutoencoderKL(nn.Module):
    def __init__(s, c=CONFIG):
        super().__init__()
        s.encoder, s.decoder = Encoder(c), Decoder(c)
        lc = c["latent_channels"]
        s.quant_conv = nn.Conv2d(2 * lc, 2 * lc, 1)
        s.post_quant_conv = nn.Conv2d(lc, lc, 1)

    def encode(s, x):
        mean, logvar = s.quant_conv(s.encoder(x)).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(s, z):
        return s.decoder(s.post_quant_conv(z))


def psnr(model, images, batch=64):
    """Mean PSNR (dB) of uint8 images reconstructed from the posterior mean."""
    model.eval()
    vals = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = common.to_tensor(images[i:i + batch]).to(next(model.parameters()).device)
            rec = common.to_u8(model.decode(model.encode(x)[0])).astype(np.float64)
            mse = ((rec - images[i:i + batch].astype(np.float64)) ** 2).reshape(len(rec), -1).mean(1)
            vals.extend(10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10)))
    model.train()
    return float(np.mean(vals))


DECODER = ("decoder.", "post_quant_conv.")
ENCODER = ("encoder.", "quant_conv.")


def vae_file(path, parts):
    """The tensors (float32) whose names start with one of `parts` and (latents_mean, latents_std) of a VAE
    safetensors file converted by ditj."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        meta = json.loads(f.read(n)).get("__metadata__", {})
    config = json.loads(meta.get("ditj.config", "{}"))
    if "latents_mean" not in config:
        raise SystemExit(f"{path}: no latents_mean/latents_std in its ditj.config metadata")
    tensors = {k: v.float() for k, v in common.read_safetensors(path).items() if k.startswith(parts)}
    if not any(k.startswith(parts[0]) for k in tensors):
        raise SystemExit(f"{path}: holds no {parts[0][:-1]}")
    return tensors, (config["latents_mean"], config["latents_std"])


def train(a):
    torch.manual_seed(a.seed)
    dev = common.device(a.device)
    bf16 = common.fast_bf16(dev) if a.bf16 is None else a.bf16
    d = common.load_emoji(a.data)
    train_idx, held_idx = np.where(~d["heldout"])[0], np.where(d["heldout"])[0]
    model = AutoencoderKL()
    os.makedirs(a.run, exist_ok=True)
    ckpt = os.path.join(a.run, "ckpt.pt")
    s = common.load_checkpoint(ckpt) if os.path.exists(ckpt) else None
    stats = s.get("latent_stats") if s else None
    if a.decoder and a.encoder:
        raise SystemExit("--decoder (train an encoder) and --encoder (train a decoder) exclude each other")
    if s is None and (a.decoder or a.encoder):
        tensors, stats = vae_file(a.decoder, DECODER) if a.decoder else vae_file(a.encoder, ENCODER + DECODER)
        result = model.load_state_dict(tensors, strict=False)
        assert not result.unexpected_keys, result.unexpected_keys
        assert all(k.startswith(ENCODER) for k in result.missing_keys), result.missing_keys
        print(f"{'decoder' if a.decoder else 'encoder'} frozen from {a.decoder or a.encoder}; "
              f"latent statistics kept: mean {stats[0]} std {stats[1]}")
    frozen = ENCODER if a.encoder or (s is not None and s.get("frozen") == "encoder") else DECODER
    if stats is not None:
        for name, p in model.named_parameters():
            p.requires_grad_(not name.startswith(frozen))
        target_mu, target_sd = (torch.tensor(v, device=dev).view(1, -1) for v in stats)
    model.to(dev)
    dit = diffusion = None
    if a.dit:
        import dit as dit_lib  # dit.py imports this module: import it only when asked
        dit, diffusion = dit_lib.DiT(), dit_lib.Diffusion().to(dev)
        dit.load_state_dict(common.load_weights(a.dit))
        dit.to(dev).eval().requires_grad_(False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=a.lr, weight_decay=0.0)
    step, seconds = 0, 0.0
    rng = np.random.default_rng(a.seed)
    if s is not None:
        model.load_state_dict(s["model"]); opt.load_state_dict(s["opt"])
        step, seconds = s["step"], s["seconds"]
        rng.bit_generator.state = s["rng"]; torch.set_rng_state(s["torch_rng"])
        print(f"resumed at step {step} ({seconds / 60:.1f} min trained)")
    print(f"AutoencoderKL {sum(p.numel() for p in model.parameters()):,} parameters; "
          f"{len(train_idx)} train / {len(held_idx)} held-out images; {dev}, bf16 autocast {bf16}", flush=True)
    log = common.CsvLog(os.path.join(a.run, "loss.csv"), ["step", "minutes", "loss", "l1", "l2", "kl", "psnr_heldout"]
                        + (["dit_mse"] if dit else []), after_step=step)
    cache = None
    if frozen == ENCODER:
        # the encoder never changes: encode every image and its mirror image once
        def moments(images, flip):
            x = common.to_tensor(images).to(dev)
            return torch.cat(model.encode(x.flip(3) if flip else x), dim=1)
        with torch.no_grad():
            cache = [torch.cat([moments(d["images"][i:i + 128], f) for i in range(0, len(d["images"]), 128)])
                     for f in (False, True)]
    budget = common.Budget(a.hours)
    last_save = time.time()
    while not budget.done():
        t0 = time.time()
        idx = rng.choice(train_idx, a.batch)
        x = common.to_tensor(d["images"][idx]).to(dev)
        flip = torch.from_numpy(rng.random(a.batch) < 0.5).to(dev)
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        if cache is not None:
            i = torch.from_numpy(idx).to(dev)
            mean, logvar = torch.where(flip[:, None, None, None], cache[1][i], cache[0][i]).chunk(2, dim=1)
        else:
            mean, logvar = model.encode(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            rec = model.decode(z).float()
        l1, l2 = (rec - x).abs().mean(), ((rec - x) ** 2).mean()
        kl = 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).sum(dim=(1, 2, 3)).mean()
        loss = l1 + l2 + a.kl_weight * kl
        if stats is not None and frozen == DECODER:
            # relative squared error of the batch's per-channel statistics against the frozen latent space's
            m = mean.transpose(0, 1).reshape(mean.shape[1], -1)
            loss = loss + a.stats_weight * (((m.mean(1) - target_mu) / target_sd) ** 2
                                            + ((m.std(1) - target_sd) / target_sd) ** 2).mean()
        if dit is not None:
            x0 = (mean - target_mu[..., None, None]) / target_sd[..., None, None]
            labels = torch.from_numpy(d["labels"][idx]).to(dev)
            dit_loss, dit_mse, _ = diffusion.loss(dit, x0, labels)
            loss = loss + a.dit_weight * dit_loss
        # cosine learning-rate decay over the planned total steps, linear warm-up first
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * common.cosine(step, a.total_steps, budget, 0.1)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        seconds += time.time() - t0
        if step % a.log_every == 0 or budget.done():
            p = psnr(model, d["images"][held_idx]) if step % (10 * a.log_every) == 0 or budget.done() else float("nan")
            log.row(step=step, minutes=round(seconds / 60, 2), loss=float(loss), l1=float(l1), l2=float(l2), kl=float(kl),
                    psnr_heldout=p, **({"dit_mse": float(dit_mse)} if dit else {}))
            print(f"step {step} {seconds / 60:.1f} min loss {float(loss):.4f} l1 {float(l1):.4f} kl {float(kl):.1f}"
                  + (f" dit mse {float(dit_mse):.4f}" if dit else "")
                  + (f" held-out PSNR {p:.2f} dB" if p == p else ""), flush=True)
        if time.time() - last_save > 600 or budget.done():
            common.save_checkpoint(ckpt, model=model.state_dict(), opt=opt.state_dict(), step=step, seconds=seconds,
                                   rng=rng.bit_generator.state, torch_rng=torch.get_rng_state(), config=CONFIG,
                                   latent_stats=stats, frozen=None if stats is None else
                                   "encoder" if frozen == ENCODER else "decoder")
            with torch.no_grad():
                x = common.to_tensor(d["images"][held_idx[:16]]).to(dev)
                rec = model.decode(model.encode(x)[0])
                common.save_grid(os.path.join(a.run, f"recon_{step:07d}.png"),
                                 np.concatenate([common.to_u8(x), common.to_u8(rec)]), 16)
            last_save = time.time()


def export(a):
    """diffusers folder: config.json (+ latent statistics) and diffusion_pytorch_model.safetensors."""
    s = common.load_checkpoint(os.path.join(a.run, "ckpt.pt"))
    model = AutoencoderKL(s["config"])
    model.load_state_dict(s["model"])
    model.eval()
    d = common.load_emoji(a.data)
    train_imgs = d["images"][~d["heldout"]]
    with torch.no_grad():
        means = torch.cat([model.encode(common.to_tensor(train_imgs[i:i + 128]))[0] for i in range(0, len(train_imgs), 128)])
    own_mu, own_sd = means.mean(dim=(0, 2, 3)).tolist(), means.std(dim=(0, 2, 3)).tolist()
    # with a frozen half, the latent space is the one its DiT was trained in: keep its statistics
    mu, sd = s.get("latent_stats") or (own_mu, own_sd)
    held = psnr(model, d["images"][d["heldout"]])
    os.makedirs(a.export, exist_ok=True)
    config = dict(_class_name="AutoencoderKL", act_fn="silu", down_block_types=["DownEncoderBlock2D"] * 3,
                  up_block_types=["UpDecoderBlock2D"] * 3, sample_size=64, scaling_factor=1.0, latents_mean=mu,
                  latents_std=sd, mid_block_add_attention=True, use_post_quant_conv=True, use_quant_conv=True,
                  force_upcast=False, **s["config"])
    with open(os.path.join(a.export, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    common.write_safetensors(os.path.join(a.export, "diffusion_pytorch_model.safetensors"), model.state_dict(),
                             {"format": "pt"})
    info = dict(step=s["step"], minutes=round(s["seconds"] / 60, 1), psnr_heldout=held, latents_mean=mu, latents_std=sd,
                encoder_latents_mean=own_mu, encoder_latents_std=own_sd,
                parameters=sum(p.numel() for p in model.parameters()),
                decoder_parameters=sum(p.numel() for n, p in model.named_parameters() if n.startswith(("decoder", "post_quant"))))
    with open(os.path.join(a.export, "training.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info, indent=2))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="work/emoji/emoji64.npz")
    ap.add_argument("--run", default="work/train/vae")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--total-steps", type=int, default=60000,
                    help="length of the cosine learning-rate schedule (-1: this run's --hours)")
    ap.add_argument("--warmup", type=int, default=200, help="linear learning-rate warm-up steps")
    ap.add_argument("--kl-weight", type=float, default=1e-6)
    ap.add_argument("--decoder", help="VAE safetensors file whose decoder stays frozen: train an encoder for it")
    ap.add_argument("--stats-weight", type=float, default=0.1,
                    help="with --decoder: weight of the pull towards the file's latent statistics")
    ap.add_argument("--encoder", help="VAE safetensors file with an encoder: fine-tune its decoder, encoder frozen")
    ap.add_argument("--dit", help="with --decoder: the DiT safetensors file trained on the decoder's latents")
    ap.add_argument("--dit-weight", type=float, default=0.05, help="weight of that DiT's training loss")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", help="cuda, cpu, or auto: CUDA when PyTorch sees a GPU")
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction,
                    help="bf16 autocast for the decoder, weights stay float32 (default: where it is fast)")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--export", help="write a diffusers folder from the run's checkpoint instead of training")
    a = ap.parse_args()
    common.set_threads(a.threads)
    export(a) if a.export else train(a)


if __name__ == "__main__":
    main()
