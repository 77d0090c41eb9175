"""Minimal safetensors reader/writer for the reference scripts (Debian has
no python3-safetensors). Same format: u64 LE header length, JSON header,
data section in header order, 8-byte aligned header padding."""
import json
import struct

import numpy as np
import torch

_DT = {torch.float32: ("F32", np.float32), torch.float16: ("F16", np.float16),
       torch.int64: ("I64", np.int64), torch.int32: ("I32", np.int32),
       torch.uint8: ("U8", np.uint8)}
_NP = {v[0]: v[1] for v in _DT.values()}


def save(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor (contiguous copies are taken)."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        code, npdt = _DT[t.dtype]
        b = t.numpy().astype(npdt, copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """dict name -> torch tensor, and the metadata dict."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, d in header.items():
        a, b = d["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=_NP[d["dtype"]]).reshape(d["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, meta
