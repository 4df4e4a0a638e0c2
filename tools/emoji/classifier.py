#!/usr/bin/python3
"""An independent 9-way emoji category classifier, used only to measure ditj's bundled model.

Trained on real images of the training split only (never on generated ones), with class-balanced batches and light
augmentation (flips, small shifts, colour jitter), for a wall-clock budget; reports its balanced accuracy on the
held-out real images.

    /usr/bin/python3 tools/emoji/classifier.py --data work/emoji/emoji64.npz --out work/classifier --minutes 25
    /usr/bin/python3 tools/emoji/classifier.py --steps 984 ...   # the same schedule by steps: machine-independent
"""
import argparse, json, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
import common  # noqa: E402


class Net(nn.Module):
    def __init__(s, classes=9):
        super().__init__()
        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                                 nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))
        s.features = nn.Sequential(block(3, 32), block(32, 64), block(64, 128), block(128, 192))
        s.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(192, classes))

    def forward(s, x):
        return s.head(s.features(x).mean(dim=(2, 3)))


def augment(x, rng):
    b = x.shape[0]
    flip = torch.from_numpy(rng.random(b) < 0.5)
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    shifts = rng.integers(-4, 5, size=(b, 2))
    x = torch.stack([torch.roll(x[i], shifts=(int(shifts[i, 0]), int(shifts[i, 1])), dims=(1, 2)) for i in range(b)])
    scale = torch.from_numpy(rng.uniform(0.8, 1.2, (b, 3, 1, 1)).astype(np.float32))
    return ((x + 1) * scale - 1).clamp(-1, 1)


def predict(model, images_u8, batch=128):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images_u8), batch):
            out.append(model(common.to_tensor(images_u8[i:i + batch])).softmax(-1))
    return torch.cat(out).numpy()


def balanced_accuracy(pred, labels, classes=9):
    per = [float((pred[labels == c] == c).mean()) for c in range(classes) if (labels == c).any()]
    return float(np.mean(per)), per


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="work/emoji/emoji64.npz")
    ap.add_argument("--out", default="work/classifier")
    ap.add_argument("--minutes", type=float, default=25)
    ap.add_argument("--steps", type=int, help="train this many steps instead of for --minutes (reproducible on a "
                    "busy or different machine: the learning rate then decays over steps, not time)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    common.set_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    d = common.load_emoji(a.data)
    tr, he = ~d["heldout"], d["heldout"]
    images, labels = d["images"][tr], d["labels"][tr]
    by_class = [np.where(labels == c)[0] for c in range(9)]
    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    end, step, t0 = time.time() + a.minutes * 60, 0, time.time()
    while (step < a.steps) if a.steps else (time.time() < end):
        cls = rng.integers(0, 9, a.batch)
        idx = np.array([rng.choice(by_class[c]) for c in cls])
        x = augment(common.to_tensor(images[idx]), rng)
        loss = F.cross_entropy(model(x), torch.from_numpy(labels[idx]), label_smoothing=0.1)
        frac = step / a.steps if a.steps else (time.time() - t0) / (a.minutes * 60)
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + np.cos(np.pi * min(1.0, frac)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.train()
        step += 1
        if step % 200 == 0:
            bal, _ = balanced_accuracy(predict(model, d["images"][he]).argmax(1), d["labels"][he])
            model.train()
            print(f"step {step} {(time.time() - t0) / 60:.1f} min loss {float(loss):.3f} held-out balanced acc {bal:.3f}",
                  flush=True)
    bal, per = balanced_accuracy(predict(model, d["images"][he]).argmax(1), d["labels"][he])
    os.makedirs(a.out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(a.out, "classifier.pt"))
    info = dict(steps=step, minutes=round((time.time() - t0) / 60, 1), heldout_balanced_accuracy=bal,
                heldout_per_class=per, classes=[str(c) for c in d["classes"]])
    with open(os.path.join(a.out, "classifier.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
