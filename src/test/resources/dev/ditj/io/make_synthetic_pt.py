#!/usr/bin/env python3
"""Writes the small synthetic torch-zip files used by TorchCheckpointTest (run from this directory).

The real fixtures (src/test/fixtures) are all protocol 2, little-endian, contiguous, stored records. These files
cover what they do not: pickle protocols 1, 4 and 5, a protocol-2 training checkpoint with argparse args,
hostile views and dict keys, a big-endian byteorder record, strided/offset views sharing
one storage, nn.Parameter, deflated records, unusual archive folder names, a wrong-size storage record and a
TorchScript archive. torch itself is not needed: stand-in classes carry the exact module/qualified names that
torch's pickler emits, so the pickle bytes are the same shape as torch.save's (persistent ids, _rebuild_tensor_v2
REDUCEs, OrderedDict + BUILD for state dicts). Output is deterministic.

Usage: python3 make_synthetic_pt.py
"""
import collections
import io
import pickle
import struct
import sys
import types
import zipfile

# --- stand-ins for the torch names that appear in checkpoints ---------------------------------------------------
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


def _fn(module, name):
    def f(*args):
        raise AssertionError("never called")
    f.__module__, f.__name__, f.__qualname__ = module.__name__, name, name
    setattr(module, name, f)
    return f


_rebuild_tensor_v2 = _fn(torch_utils, "_rebuild_tensor_v2")
_rebuild_parameter = _fn(torch_utils, "_rebuild_parameter")

STORAGE_FMT = {"FloatStorage": "f", "HalfStorage": "e", "LongStorage": "q", "IntStorage": "i",
               "BFloat16Storage": None, "ByteStorage": "B"}
for _name in STORAGE_FMT:
    setattr(torch, _name, type(_name, (), {"__module__": "torch"}))


class Device:
    def __init__(self, kind, index):
        self.kind, self.index = kind, index

    def __reduce__(self):
        return (torch.device, (self.kind, self.index))


torch.device = type("device", (), {"__module__": "torch"})


class Storage:
    def __init__(self, key, type_name, values):
        self.key, self.type_name, self.values = key, type_name, values

    def data(self, big_endian):
        fmt = STORAGE_FMT[self.type_name]
        order = ">" if big_endian else "<"
        if fmt is None:  # bfloat16: the top 16 bits of the float32 (values chosen exactly representable)
            return b"".join(struct.pack(order + "H", struct.unpack("<I", struct.pack("<f", v))[0] >> 16)
                            for v in self.values)
        return struct.pack(order + fmt * len(self.values), *self.values)


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (_rebuild_tensor_v2, self.args)


class Parameter:
    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce__(self):
        return (_rebuild_parameter, (self.tensor, True, collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(torch, obj.type_name), obj.key, "cpu", len(obj.values))
        return None


def state_dict(items):
    """An OrderedDict with torch's _metadata attribute, so the pickle has the BUILD that real state dicts have."""
    sd = collections.OrderedDict(items)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd


def storages_of(obj, found):
    if isinstance(obj, Storage):
        found[obj.key] = obj
    elif isinstance(obj, Tensor):
        storages_of(obj.args[0], found)
    elif isinstance(obj, Parameter):
        storages_of(obj.tensor, found)
    elif isinstance(obj, dict):
        for v in obj.values():
            storages_of(v, found)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            storages_of(v, found)
    return found


def save(path, obj, protocol, folder, byteorder="little", deflate=False, record_sizes=None, extra=()):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=protocol).dump(obj)
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED

    def add(z, name, data):
        info = zipfile.ZipInfo(folder + "/" + name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = method
        z.writestr(info, data)

    with zipfile.ZipFile(path, "w") as z:
        add(z, "data.pkl", buf.getvalue())
        if byteorder is not None:
            add(z, "byteorder", byteorder.encode())
        for key, st in sorted(storages_of(obj, {}).items()):
            data = st.data(byteorder == "big")
            if record_sizes and key in record_sizes:
                data = data[:record_sizes[key]]
            add(z, "data/" + key, data)
        for name, data in extra:
            add(z, name, data)
        add(z, "version", b"3\n")


# --- protocol 4: views of one shared storage, several dtypes, odd values ------------------------------------------
s0 = Storage("0", "FloatStorage", [float(i) for i in range(12)])      # 0..11
s1 = Storage("1", "HalfStorage", [0.5, -2.0, 65504.0, 1.0 / 1024])
s2 = Storage("2", "LongStorage", [7, -3, 2 ** 40])
s3 = Storage("3", "BFloat16Storage", [1.0, -0.5, 256.0])
s4 = Storage("4", "IntStorage", [1234])
views = collections.OrderedDict()
views["a"] = Tensor(s0, 0, (2, 3), (3, 1))            # [[0,1,2],[3,4,5]]
views["a_t"] = Tensor(s0, 0, (3, 2), (1, 3))          # transpose: [[0,3],[1,4],[2,5]]
views["b"] = Tensor(s0, 6, (2, 3), (3, 1))            # offset: [[6,7,8],[9,10,11]]
views["col"] = Tensor(s0, 1, (4,), (3,))              # [1,4,7,10]
views["every_other"] = Tensor(s0, 0, (2, 2, 2), (6, 2, 1))  # [[[0,1],[2,3]],[[6,7],[8,9]]]
views["param"] = Parameter(Tensor(s0, 0, (12,), (1,)))
views["half"] = Tensor(s1, 0, (4,), (1,))
views["long"] = Tensor(s2, 0, (3,), (1,))
views["bf16"] = Tensor(s3, 0, (3,), (1,))
views["scalar"] = Tensor(s4, 0, (), ())
views["empty"] = Tensor(s0, 0, (0, 3), (3, 1))
obj4 = {
    "state_dict": state_dict(views),
    "betas": (0.9, 0.999),
    "tags": {1, 2},
    "blob": b"\x00\x01\xff",
    "big": 2 ** 70,
    "neg": -5,
    "none": None,
    "flag": True,
    "lr": 1.5e-4,
    "nested": [1, [2, (3,)], {"k": "v"}],
    "device": Device("cuda", 0),
    "unicode": "\u00e9t\u00e9 \u2603",
}
save("proto4_views.pt", obj4, protocol=4, folder="archive")

# --- protocol 5, big-endian storages -------------------------------------------------------------------------------
b0 = Storage("0", "FloatStorage", [1.5, -2.25, 3.0, 1e-3, 0.0, -0.0])
b1 = Storage("1", "LongStorage", [1, -2, 2 ** 33])
b2 = Storage("2", "HalfStorage", [0.5, -1.0])
obj5 = state_dict([
    ("w", Tensor(b0, 0, (2, 3), (3, 1))),
    ("w_t", Tensor(b0, 0, (3, 2), (1, 3))),
    ("ids", Tensor(b1, 0, (3,), (1,))),
    ("h", Tensor(b2, 0, (2,), (1,))),
])
save("proto5_bigendian.pt", obj5, protocol=5, folder="model_big", byteorder="big")

# --- protocol 1, deflated records, no byteorder record (as written by torch < 1.13) --------------------------------
d0 = Storage("0", "FloatStorage", [float(i) / 4 for i in range(64)])
obj1 = state_dict([("x", Tensor(d0, 0, (8, 8), (8, 1))), ("y", Tensor(d0, 8, (4,), (2,)))])
save("proto1_deflated.pt", obj1, protocol=1, folder="weights v1", byteorder=None, deflate=True)

# --- protocol 2 (torch.save's default), a DiT train.py-style checkpoint: model, ema, optimizer state, argparse args
import argparse
t0 = Storage("0", "FloatStorage", [float(i) / 8 - 1 for i in range(24)])
t1 = Storage("1", "FloatStorage", [0.25 * i for i in range(24)])
t2 = Storage("2", "LongStorage", [3])
model = state_dict([("x_embedder.proj.weight", Tensor(t0, 0, (4, 2, 3), (6, 3, 1))),
                    ("x_embedder.proj.bias", Tensor(t0, 0, (4,), (1,)))])
ema = state_dict([("x_embedder.proj.weight", Tensor(t1, 0, (4, 2, 3), (6, 3, 1))),
                  ("x_embedder.proj.bias", Tensor(t1, 4, (4,), (1,)))])
opt = {"state": {0: {"step": Tensor(t2, 0, (), ())}},
       "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.999), "weight_decay": 0, "amsgrad": False, "params": [0, 1]}]}
args = argparse.Namespace(model="DiT-A", image_size=64, num_classes=10, global_seed=0)
save("train_proto2.pt", {"model": model, "ema": ema, "opt": opt, "args": args}, protocol=2, folder="0000100")

# --- broken and foreign files --------------------------------------------------------------------------------------
bad = Storage("0", "FloatStorage", [1.0, 2.0, 3.0, 4.0])
save("bad_storage_size.pt", state_dict([("w", Tensor(bad, 0, (4,), (1,)))]), protocol=2, folder="bad",
     record_sizes={"0": 12})
short = Storage("0", "FloatStorage", [1.0, 2.0, 3.0, 4.0])
save("bad_view.pt", state_dict([("w", Tensor(short, 0, (3,), (2,)))]), protocol=2, folder="bad_view")
save("torchscript.pt", {"x": 1}, protocol=2, folder="scripted",
     extra=[("constants.pkl", pickle.dumps((), protocol=2)), ("code/__torch__.py", b"# code\n")])
# views that address memory far outside their storage (2 * 2**62 wraps a 64-bit offset) or expand 4 floats to 400 MB
over = Storage("0", "FloatStorage", [1.0, 2.0, 3.0, 4.0])
save("view_stride_overflow.pt", state_dict([("w", Tensor(over, 0, (3,), (2 ** 62,)))]), protocol=2, folder="a")
save("view_expanded.pt", state_dict([("w", Tensor(over, 0, (100000000,), (0,)))]), protocol=2, folder="a")
# {t40: 1} where t0 = (1,) and t(i+1) = (ti, ti), one tuple shared 2**40 times (memo BINGETs; Python itself could not
# build this dict: hashing t40 naively takes 2**40 steps). Written as raw pickle bytes.
dag = b"\x80\x02}K\x01\x85q\x000" + b"h\x00h\x00\x86q\x000" * 40 + b"h\x00K\x01s."
with zipfile.ZipFile("shared_tuple_key.pt", "w") as z:
    z.writestr(zipfile.ZipInfo("a/data.pkl", date_time=(1980, 1, 1, 0, 0, 0)), dag)
