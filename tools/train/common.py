"""Shared helpers for ditj's training scripts: data, checkpoints, time budget, logs, safetensors, grids."""
import csv, json, math, os, struct, time
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


def device(name="auto"):
    """The torch device to train on: CUDA when PyTorch sees a GPU (far faster), else the CPU."""
    return torch.device(("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name)


def fast_bf16(dev):
    """Whether bf16 autocast pays: on CUDA, and on CPUs with bf16 instructions (AVX512-BF16, AMX), where oneDNN
    runs it ~2.7x faster than float32; elsewhere (e.g. AMD Zen 3) torch emulates it, many times slower."""
    if dev.type == "cuda":
        return True
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def ema_update(ema, model, decay):
    """ema ← decay·ema + (1 − decay)·model over the trainable parameters, in a few fused ops."""
    pairs = [(e, m.detach()) for e, m in zip(ema.parameters(), model.parameters()) if m.requires_grad]
    with torch.no_grad():
        torch._foreach_mul_([e for e, _ in pairs], decay)
        torch._foreach_add_([e for e, _ in pairs], [m for _, m in pairs], alpha=1 - decay)


def load_emoji(path):
    d = np.load(path)
    return {k: d[k] for k in d.files}


def to_tensor(images_u8):
    """uint8 [N,H,W,3] -> float32 [N,3,H,W] in [-1, 1]."""
    return torch.from_numpy(images_u8).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


class Budget:
    """Wall-clock budget for a run (resumed runs get a fresh budget)."""

    def __init__(self, hours):
        self.start = time.time()
        self.end = self.start + hours * 3600.0

    def left(self):
        return self.end - time.time()

    def done(self):
        return time.time() >= self.end

    def fraction(self):
        """How much of this run's budget is spent, 0..1."""
        return min(1.0, (time.time() - self.start) / max(1e-9, self.end - self.start))


def cosine(step, total_steps, budget, floor):
    """Cosine decay factor from 1 to `floor`: over `total_steps` steps, or over the run's time budget when
    total_steps < 0 (a one-shot run on a machine whose speed is not known in advance, e.g. a GPU lease)."""
    p = budget.fraction() if total_steps < 0 else min(1.0, step / total_steps)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p))


def load_weights(path):
    """A state dict as float32 tensors from a safetensors file or from a bare PyTorch state dict (.pt)."""
    if path.endswith(".safetensors"):
        return {k: v.float() for k, v in read_safetensors(path).items()}
    return {k: v.float() for k, v in torch.load(path, map_location="cpu", weights_only=True).items()}


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


def load_checkpoint(path):
    """A checkpoint this package wrote (it holds numpy RNG state, which torch >= 2.6's default weights_only
    loading refuses; these files are our own)."""
    return torch.load(path, map_location="cpu", weights_only=False)


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


INT8_SCALE = ".int8_scale"   # ditj's int8 files: NAME (I8) with per-row F32 scales NAME.int8_scale


def read_safetensors(path):
    """Minimal safetensors reader (F32/F16/I64, and ditj's int8 layer weights, dequantised to float32) -> dict of
    torch tensors."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base, out = 8 + n, {}
    np_types = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I8": "i1"}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        s, e = h["data_offsets"]
        arr = np.frombuffer(data[base + s: base + e], dtype=np_types[h["dtype"]]).reshape(h["shape"])
        out[name] = torch.from_numpy(arr.copy())
    for name in [n for n in out if n.endswith(INT8_SCALE)]:
        base = name[:-len(INT8_SCALE)]
        if base in out and out[base].dtype == torch.int8:
            scale = out.pop(name)
            out[base] = out[base].float() * scale.view(-1, *[1] * (out[base].dim() - 1))
    return out
