#!/usr/bin/python3
"""Test data for the bundled emoji VAE's encoder: a few held-out emoji (never trained on) as PNGs and the
posterior moments [mean, logvar] of each, computed in float64 by the PyTorch AutoencoderKL of tools/train/vae.py
(diffusers' architecture and names) from the bundled file's own fp16 weights.

    /usr/bin/python3 tools/emoji/bundled_fixture.py --data work/emoji/emoji64.npz apple soccer
"""
import argparse, os, sys
import numpy as np
import torch
from PIL import Image

here = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(here, "..", "train"))
import common  # noqa: E402
import vae as vae_lib  # noqa: E402

ROOT = os.path.abspath(os.path.join(here, "..", ".."))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="+", help="held-out emoji short names")
    ap.add_argument("--data", default="work/emoji/emoji64.npz")
    ap.add_argument("--vae", default=os.path.join(ROOT, "weights", "emoji-vae.safetensors"))
    ap.add_argument("--out", default=os.path.join(ROOT, "src", "test", "resources", "dev", "ditj", "api"))
    a = ap.parse_args()
    d = common.load_emoji(a.data)
    picked = []
    for name in a.names:
        hits = [i for i in np.where(d["heldout"])[0] if d["names"][i] == name]
        if not hits:
            sys.exit(f"{name}: not a held-out emoji")
        picked.append(hits[0])
    model = vae_lib.AutoencoderKL().double()
    model.load_state_dict({k: v.double() for k, v in common.read_safetensors(a.vae).items()})
    model.eval()
    images = d["images"][picked]
    for name, img in zip(a.names, images):
        Image.fromarray(img).save(os.path.join(a.out, f"heldout_{name}.png"))
    with torch.no_grad():
        mean, logvar = model.encode(common.to_tensor(images).double())
    np.save(os.path.join(a.out, "bundled_encode_moments.npy"), torch.cat([mean, logvar], 1).float().numpy())
    print(f"wrote {len(picked)} images and their moments {tuple(mean.shape)} x2 into {a.out}")


if __name__ == "__main__":
    main()
