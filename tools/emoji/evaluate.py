#!/usr/bin/python3
"""Measures ditj's bundled emoji model with ditj itself doing the generating.

For every category it runs `./ditj generate` (N images, fixed seeds), classifies the images with the independent
classifier (tools/emoji/classifier.py, trained on real training images only) and reports per-category and overall
accuracy beside the classifier's balanced accuracy on held-out real images; a memorisation check (nearest training
image of each generated image vs of each held-out real image, L2 in [0,1] pixels); the VAE's held-out PSNR, with
ditj encoding (the posterior mean) and decoding every held-out image.

    /usr/bin/python3 tools/emoji/evaluate.py --per-class 16 --out work/eval     # writes results.json + grid
    /usr/bin/python3 tools/emoji/evaluate.py --psnr-only                       # just the VAE's held-out PSNR
"""
import argparse, json, os, subprocess, sys, time
import numpy as np
import torch
from PIL import Image

here = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(here, "..", "train"))
sys.path.insert(0, here)
import common  # noqa: E402
import classifier as clf  # noqa: E402

ROOT = os.path.abspath(os.path.join(here, "..", ".."))


def generate(category, n, seed, out, a, init=None):
    """n images of one category through the ditj CLI (from the picture `init` when given), asked for by name: a model
    conditioned on subgroups has it as a class group, each image drawing a subgroup; returns uint8 [n, 64, 64, 3]
    cut out of the grid PNG."""
    cmd = [os.path.join(ROOT, "ditj"), "generate", "--class"] + [category] * n + [
        "--seed", str(seed), "--grid-columns", str(n), "-o", out, "--backend", "cpu"]
    if init is not None:
        cmd += ["--init-image", init, "--strength", str(a.img2img)]
    if a.model:
        cmd += ["--model", a.model]
    if a.vae:
        cmd += ["--vae", a.vae]
    if a.sampler:
        cmd += ["--sampler", a.sampler]
    if a.steps:
        cmd += ["--steps", str(a.steps)]
    if a.cfg_scale:
        cmd += ["--cfg-scale", str(a.cfg_scale)]
    if a.cfg_channels:
        cmd += ["--cfg-channels", a.cfg_channels]
    if a.guidance_interval:
        cmd += ["--guidance-interval", a.guidance_interval]
    t0 = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    grid = np.asarray(Image.open(out).convert("RGB"))
    return np.stack([grid[2:66, 2 + i * 66: 66 + i * 66] for i in range(n)]), time.time() - t0


def ditj_psnr(images_u8, out, a):
    """Mean PSNR (dB, 8-bit) of images encoded and decoded by ditj: `./ditj encode` of PNGs, `./ditj decode`."""
    folder = os.path.join(out, "heldout")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, img in enumerate(images_u8):
        paths.append(os.path.join(folder, f"{i:04d}.png"))
        Image.fromarray(img).save(paths[-1])
    vae = ["--vae", a.vae] if a.vae else ["--vae", os.path.join(ROOT, "weights", "emoji-vae.safetensors")]
    z, px = os.path.join(out, "heldout_z.npy"), os.path.join(out, "heldout_pixels.npy")
    subprocess.run([os.path.join(ROOT, "ditj"), "encode", "--backend", "cpu", *vae, *paths, "-o", z], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(ROOT, "ditj"), "decode", "--backend", "cpu", *vae, "--latent", z,
                    "-o", os.path.join(out, "heldout_out.npy"), "--pixels", px], check=True, stdout=subprocess.DEVNULL)
    rec = np.load(px).astype(np.float64)
    mse = ((rec - images_u8.astype(np.float64)) ** 2).reshape(len(rec), -1).mean(1)
    return float(np.mean(10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))))


def nearest(a_u8, b_u8, batch=256):
    """For each image of a, the L2 distance (pixels in [0,1], per image) to its nearest image of b."""
    a = torch.from_numpy(a_u8.reshape(len(a_u8), -1).astype(np.float32) / 255)
    b = torch.from_numpy(b_u8.reshape(len(b_u8), -1).astype(np.float32) / 255)
    out = []
    for i in range(0, len(a), batch):
        out.append(torch.cdist(a[i:i + batch], b).min(dim=1).values)
    return torch.cat(out).numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="work/emoji/emoji64.npz")
    ap.add_argument("--classifier", default="work/classifier")
    ap.add_argument("--psnr-only", action="store_true", help="only measure the VAE's held-out PSNR")
    ap.add_argument("--img2img", type=float, metavar="STRENGTH",
                    help="image-to-image instead: each category's images start from a held-out emoji of the "
                         "category 4 places further on (the first one), at this strength")
    ap.add_argument("--model", help="ditj DiT file (default: the bundled one)")
    ap.add_argument("--vae", help="ditj VAE file (default: the bundled one)")
    ap.add_argument("--sampler")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--cfg-scale", type=float)
    ap.add_argument("--cfg-channels", help="3 or all (default: the model's)")
    ap.add_argument("--guidance-interval", metavar="LOW,HIGH", help="DiT timesteps guided (default: the model's)")
    ap.add_argument("--per-class", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--out", default="work/eval")
    a = ap.parse_args()
    common.set_threads(2)
    os.makedirs(a.out, exist_ok=True)
    d = common.load_emoji(a.data)
    psnr = ditj_psnr(d["images"][d["heldout"]], a.out, a)
    print(f"VAE held-out PSNR (ditj encode + decode, {int(d['heldout'].sum())} images): {psnr:.2f} dB", flush=True)
    if a.psnr_only:
        return
    classes = [str(c) for c in d["classes"]]
    inits = [None] * len(classes)
    if a.img2img:
        for c in range(len(classes)):
            source = (c + 4) % len(classes)
            first = np.where(d["heldout"] & (d["labels"] == source))[0][0]
            inits[c] = os.path.join(a.out, f"init{c}_{d['names'][first]}.png")
            Image.fromarray(d["images"][first]).save(inits[c])
    net = clf.Net()
    net.load_state_dict(torch.load(os.path.join(a.classifier, "classifier.pt"), map_location="cpu"))
    real_bal, real_per = clf.balanced_accuracy(clf.predict(net, d["images"][d["heldout"]]).argmax(1),
                                               d["labels"][d["heldout"]])
    generated, gen_labels, seconds = [], [], []
    for c in range(len(classes)):
        imgs, s = generate(classes[c], a.per_class, a.seed + c, os.path.join(a.out, f"class{c}.png"), a, inits[c])
        generated.append(imgs)
        gen_labels += [c] * len(imgs)
        seconds.append(s)
    generated, gen_labels = np.concatenate(generated), np.array(gen_labels)
    pred = clf.predict(net, generated).argmax(1)
    # Row c: how the classifier labelled the images generated for category c (what a weak category is taken for).
    confusion = [np.bincount(pred[gen_labels == c], minlength=len(classes)).tolist() for c in range(len(classes))]
    per = [row[c] / sum(row) for c, row in enumerate(confusion)]
    train_imgs = d["images"][~d["heldout"]]
    nn_gen = nearest(generated, train_imgs)
    nn_held = nearest(d["images"][d["heldout"]], train_imgs)
    res = dict(per_class_images=a.per_class, classes=classes, generated_accuracy=float((pred == gen_labels).mean()),
               generated_accuracy_per_class=per, generated_confusion=confusion, real_heldout_balanced_accuracy=real_bal,
               real_heldout_per_class=real_per, chance=1 / len(classes),
               nn_distance_generated_median=float(np.median(nn_gen)), nn_distance_heldout_median=float(np.median(nn_held)),
               nn_distance_generated_p5=float(np.percentile(nn_gen, 5)), nn_distance_heldout_p5=float(np.percentile(nn_held, 5)),
               generated_closer_than_heldout_p5=float((nn_gen < np.percentile(nn_held, 5)).mean()),
               vae_heldout_psnr=psnr, seconds_per_call=seconds,
               sampler=a.sampler, steps=a.steps, cfg_scale=a.cfg_scale, cfg_channels=a.cfg_channels,
               guidance_interval=a.guidance_interval,
               img2img_strength=a.img2img, init_images=inits)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(res, f, indent=2)
    common.save_grid(os.path.join(a.out, "all.png"), generated, a.per_class)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
