#!/usr/bin/env python3
"""Reference embeddings for the tests in src/embed.rs.

An independent numpy re-implementation of sentence-transformers' all-MiniLM-L6-v2 pipeline
(HF BertModel in eval mode, float64 -> mean pooling -> L2 normalisation), for machines where
torch is not to be had. Needs `pip install numpy tokenizers` and the model fetched by
scripts/fetch-model.sh. Usage: scripts/reference-embedding.py "This is a test." ...
Prints the token count, the first 16 components and the sum of all components.
"""
import json, math, os, struct, sys
import numpy as np
from tokenizers import Tokenizer
d = os.environ.get("CLAIMDEX_MODEL_DIR", "models/all-MiniLM-L6-v2") + "/"
buf = open(d + "model.safetensors", "rb").read()
n = struct.unpack("<Q", buf[:8])[0]; hdr = json.loads(buf[8:8 + n]); base = 8 + n
W = {}
for k, v in hdr.items():
    if k == "__metadata__": continue
    a, b = v["data_offsets"]; dt = {"F32": np.float32, "I64": np.int64}[v["dtype"]]
    W[k] = np.frombuffer(buf[base + a: base + b], dtype=dt).reshape(v["shape"]).astype(np.float64 if dt == np.float32 else dt)
cfg = json.load(open(d + "config.json"))
tok = Tokenizer.from_file(d + "tokenizer.json"); tok.no_padding(); tok.enable_truncation(256)
def ln(x, p): m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True); return (x - m) / np.sqrt(v + 1e-12) * W[p + ".weight"] + W[p + ".bias"]
def lin(x, p): return x @ W[p + ".weight"].T + W[p + ".bias"]
erf = np.vectorize(math.erf)
def gelu(x): return 0.5 * x * (1 + erf(x / math.sqrt(2)))
def embed(text):
    ids = np.array(tok.encode(text).ids); L = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:L] + W["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, "embeddings.LayerNorm")
    H = cfg["num_attention_heads"]; dh = 384 // H
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q = lin(x, p + "attention.self.query").reshape(L, H, dh).transpose(1, 0, 2)
        k = lin(x, p + "attention.self.key").reshape(L, H, dh).transpose(1, 0, 2)
        v = lin(x, p + "attention.self.value").reshape(L, H, dh).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(dh); s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
        c = (s @ v).transpose(1, 0, 2).reshape(L, 384)
        x = ln(lin(c, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        h = gelu(lin(x, p + "intermediate.dense"))
        x = ln(lin(h, p + "output.dense") + x, p + "output.LayerNorm")
    m = x.mean(0); return m / np.linalg.norm(m)
for t in sys.argv[1:]:
    e = embed(t); print(repr(t), len(tok.encode(t).ids), "[" + ", ".join(f"{z:.7f}" for z in e[:16]) + "]", "sum", f"{e.sum():.7f}")
