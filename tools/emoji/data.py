#!/usr/bin/python3
"""Builds the emoji training set for ditj's bundled model.

Fetches the pinned npm package emoji-datasource-google@16.0.0 (MIT; the images are Google's Noto Emoji,
Apache-2.0), composites every 64x64 RGBA image on white, labels it with its Unicode category (9 classes;
"Component" is dropped) and splits it reproducibly: ~8 % of the base emoji, with all their skin-tone variants
and every image identical to one of them, are held out.

    /usr/bin/python3 tools/emoji/data.py --out work/emoji            # writes work/emoji/emoji64.npz

The .npz holds: images uint8 [N,64,64,3], labels int64 [N], base int64 [N] (index of the base emoji),
heldout bool [N], names (unicode short names), classes (the 9 category names, in label order); and the finer
Unicode subgroups: subgroups (their names, grouped by category in label order), subgroup_class int64 (each
subgroup's category), sublabels int64 [N] (each image's subgroup).
"""
import argparse, hashlib, io, json, os, subprocess, sys, tarfile
import numpy as np
from PIL import Image

PACKAGE = "emoji-datasource-google@16.0.0"
CLASSES = ["Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
           "Activities", "Objects", "Symbols", "Flags"]
HELDOUT_FRACTION = 0.08
SEED = 0


def fetch(cache):
    """npm pack into the cache directory (once); returns the tarball path."""
    os.makedirs(cache, exist_ok=True)
    tgz = os.path.join(cache, "emoji-datasource-google-16.0.0.tgz")
    if not os.path.exists(tgz):
        subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=cache, check=True)
    return tgz


def on_white(png_bytes):
    """RGBA -> RGB over a white background, in float then rounded, as uint8 [64, 64, 3]."""
    im = np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGBA"), dtype=np.float32) / 255.0
    rgb, a = im[..., :3], im[..., 3:4]
    out = rgb * a + (1.0 - a)
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


def build(tgz):
    tar = tarfile.open(tgz)
    files = {m.name: m for m in tar.getmembers()}
    meta = json.load(tar.extractfile(files["package/emoji.json"]))

    def image(name):
        return on_white(tar.extractfile(files["package/img/google/64/" + name]).read())

    images, labels, base, names, subs = [], [], [], [], []
    bases = [e for e in meta if e["category"] in CLASSES and e.get("has_img_google")]
    bases.sort(key=lambda e: e["sort_order"])
    for b, e in enumerate(bases):
        variants = [e] + [v for v in (e.get("skin_variations") or {}).values() if v.get("has_img_google")]
        for v in variants:
            images.append(image(v["image"]))
            labels.append(CLASSES.index(e["category"]))
            base.append(b)
            names.append(e["short_name"])
            subs.append((CLASSES.index(e["category"]), e["subcategory"]))
    images = np.stack(images)
    labels = np.array(labels, dtype=np.int64)
    base = np.array(base, dtype=np.int64)

    # Hold out whole base emoji; identical images (e.g. some flags) are tied to one group so none leaks.
    group = np.arange(len(bases))
    first_of = {}
    for i in range(len(images)):
        h = hashlib.sha1(images[i].tobytes()).hexdigest()
        if h in first_of:
            group[base[i]] = group[base[first_of[h]]]
        else:
            first_of[h] = i
    groups = np.unique(group)
    rng = np.random.default_rng(SEED)
    held_groups = set(rng.choice(groups, size=int(round(HELDOUT_FRACTION * len(groups))), replace=False).tolist())
    heldout = np.array([group[b] in held_groups for b in base])
    # subgroups in category order, each category's in the package's sort order (first appearance)
    subgroups = sorted(dict.fromkeys(subs), key=lambda k: (k[0], subs.index(k)))
    return dict(images=images, labels=labels, base=base, heldout=heldout, names=np.array(names),
                classes=np.array(CLASSES), subgroups=np.array([k[1] for k in subgroups]),
                subgroup_class=np.array([k[0] for k in subgroups], dtype=np.int64),
                sublabels=np.array([subgroups.index(k) for k in subs], dtype=np.int64))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="work/emoji")
    a = ap.parse_args()
    d = build(fetch(a.out))
    np.savez_compressed(os.path.join(a.out, "emoji64.npz"), **d)
    n, h = len(d["labels"]), int(d["heldout"].sum())
    print(f"{n} images ({len(np.unique(d['base']))} base emoji), {h} held out ({len(np.unique(d['base'][d['heldout']]))} base)")
    for c, name in enumerate(CLASSES):
        m = d["labels"] == c
        print(f"  {c} {name:18s} train {int((m & ~d['heldout']).sum()):5d}  held-out {int((m & d['heldout']).sum()):4d}"
              f"  subgroups {int((d['subgroup_class'] == c).sum())}")


if __name__ == "__main__":
    main()
