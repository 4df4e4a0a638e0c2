"""Shared helpers for ditj's training scripts: data, checkpoints, time budget, logs, safetensors, grids."""
import csv, json, os, struct, time
import numpy as np
import torch


def set_threads(n):
    """torch threads and, on Debian's pthread OpenBLAS, the BLAS threads (torch's setting does not reach it)."""
    torch.set_num_threads(n)
    try:
        import ctypes
        ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(n)
    except OSError:
        pass


def load_emoji(path):
    d = np.load(path)
    return {k: d[k] for k in d.files}


def to_tensor(images_u8):
    """uint8 [N,H,W,3] -> float32 [N,3,H,W] in [-1, 1]."""
    return torch.from_numpy(images_u8).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


class Budget:
    """Wall-clock budget for a run (resumed runs get a fresh budget)."""

    def __init__(self, hours):
        self.end = time.time() + hours * 3600.0

    def left(self):
        return self.end - time.time()

    def done(self):
        return time.time() >= self.end


class CsvLog:
    """Appends rows to a CSV; on resume (after_step given) first drops rows logged after the checkpoint's step,
    which a run stopped between checkpoints leaves behind, so every step appears once."""

    def __init__(self, path, fields, after_step=None):
        new = not os.path.exists(path)
        if not new and after_step is not None:
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= after_step]
            with open(path, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=fields)
                w.writeheader()
                w.writerows(rows)
        self.f = open(path, "a", newline="")
        self.w = csv.DictWriter(self.f, fieldnames=fields)
        if new:
            self.w.writeheader()

    def row(self, **kv):
        self.w.writerow(kv)
        self.f.flush()


def save_checkpoint(path, **state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def write_safetensors(path, tensors, metadata=None):
    """Minimal safetensors writer (float32/float16/int64, C order, little endian)."""
    dtypes = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        b = t.numpy().tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def save_grid(path, images_u8, columns):
    """uint8 [N,H,W,3] -> one PNG, `columns` per row, 2 px black padding."""
    from PIL import Image
    n, h, w, _ = images_u8.shape
    rows = (n + columns - 1) // columns
    canvas = np.zeros((rows * (h + 2) + 2, columns * (w + 2) + 2, 3), np.uint8)
    for i in range(n):
        r, c = divmod(i, columns)
        canvas[2 + r * (h + 2): 2 + r * (h + 2) + h, 2 + c * (w + 2): 2 + c * (w + 2) + w] = images_u8[i]
    Image.fromarray(canvas).save(path)


def to_u8(x):
    """[-1, 1] float [N,3,H,W] -> uint8 [N,H,W,3] with the official sample.py mapping."""
    x = x.detach().clamp(-1, 1).add(1).div(2).mul(255).add(0.5).clamp(0, 255)
    return x.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def read_safetensors(path):
    """Minimal safetensors reader (F32/F16/I64) -> dict of torch tensors."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base, out = 8 + n, {}
    np_types = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        s, e = h["data_offsets"]
        arr = np.frombuffer(data[base + s: base + e], dtype=np_types[h["dtype"]]).reshape(h["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out
