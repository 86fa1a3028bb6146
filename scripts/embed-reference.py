#!/usr/bin/env python3
"""Reference embeddings for all-MiniLM-L6-v2, computed with numpy alone.

Writes tests/fixtures/embed-reference.json, which tests/embed.rs compares the Rust encoder
against. Not run by `cargo test`: run it by hand after changing the sentences, with numpy
installed and the model unpacked (scripts/install-models puts it in models/all-minilm-l6-v2):

    python3 scripts/embed-reference.py [MODEL_DIR]

Everything here is written from the model's published shape (BERT encoder, mean pooling over
the attention mask, L2 normalisation) and is deliberately independent of candle and of the
`tokenizers` crate: the word-piece tokeniser, the safetensors reader and the forward pass are
all below, in float64, so a mistake on the Rust side cannot hide in shared code.
"""

import json
import math
import struct
import sys
import unicodedata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
MAX_WORD_PIECES = 256

SENTENCES = [
    "the service fails over to the next closest site",
    "route traffic to another region when a data center goes down",
    "I learned to communicate better with my team",
    "Kafka's consumer groups rebalance, re-assigning partitions when a broker dies!",
]


def read_safetensors(path):
    """The format: an 8-byte little-endian header length, a JSON header, then raw tensors."""
    data = path.read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    body = data[8 + header_len :]
    dtypes = {"F32": np.float32, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(body[start:end], dtype=dtypes[info["dtype"]])
        tensors[name] = array.reshape(info["shape"]).astype(np.float64)
    return tensors


def is_punctuation(ch):
    code = ord(ch)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def basic_words(text):
    """BERT's normaliser and pre-tokeniser for the uncased model: lowercase, strip accents,
    split on whitespace, and make every punctuation mark a word of its own."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    words = []
    for chunk in text.split():
        current = ""
        for ch in chunk:
            if is_punctuation(ch):
                if current:
                    words.append(current)
                words.append(ch)
                current = ""
            else:
                current += ch
        if current:
            words.append(current)
    return words


def word_pieces(word, vocab):
    """Greedy longest-match-first word pieces; continuation pieces carry a '##' prefix."""
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def tokenize(text, vocab):
    pieces = [p for w in basic_words(text) for p in word_pieces(w, vocab)]
    pieces = pieces[: MAX_WORD_PIECES - 2]
    return [vocab["[CLS]"]] + [vocab[p] for p in pieces] + [vocab["[SEP]"]]


def layer_norm(x, weight, bias, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def linear(x, w, prefix):
    return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]


def encode(ids, w, config):
    """One sentence, unpadded: the mean over all its tokens is the masked mean."""
    eps = config["layer_norm_eps"]
    heads = config["num_attention_heads"]
    n = len(ids)
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    hidden = x.shape[1]
    head_dim = hidden // heads
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q = linear(x, w, p + ".attention.self.query").reshape(n, heads, head_dim).transpose(1, 0, 2)
        k = linear(x, w, p + ".attention.self.key").reshape(n, heads, head_dim).transpose(1, 0, 2)
        v = linear(x, w, p + ".attention.self.value").reshape(n, heads, head_dim).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(head_dim)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(n, hidden)
        attended = linear(context, w, p + ".attention.output.dense")
        x = layer_norm(
            attended + x,
            w[p + ".attention.output.LayerNorm.weight"],
            w[p + ".attention.output.LayerNorm.bias"],
            eps,
        )
        inner = gelu(linear(x, w, p + ".intermediate.dense"))
        out = linear(inner, w, p + ".output.dense")
        x = layer_norm(out + x, w[p + ".output.LayerNorm.weight"], w[p + ".output.LayerNorm.bias"], eps)
    pooled = x.mean(axis=0)
    return pooled / np.linalg.norm(pooled)


def main():
    model_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "models" / "all-minilm-l6-v2"
    config = json.loads((model_dir / "config.json").read_text())
    vocab = json.loads((model_dir / "tokenizer.json").read_text())["model"]["vocab"]
    weights = read_safetensors(model_dir / "model.safetensors")

    token_ids = [tokenize(s, vocab) for s in SENTENCES]
    embeddings = [encode(ids, weights, config) for ids in token_ids]
    cosines = [
        [float(np.dot(a, b)) for b in embeddings] for a in embeddings
    ]
    fixture = {
        "about": "all-MiniLM-L6-v2 sentence embeddings from scripts/embed-reference.py (numpy, float64)",
        "sentences": SENTENCES,
        "token_ids": token_ids,
        "embeddings": [[round(float(v), 7) for v in e] for e in embeddings],
        "cosines": [[round(c, 7) for c in row] for row in cosines],
    }
    out = REPO / "tests" / "fixtures" / "embed-reference.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fixture, indent=1) + "\n")
    for s, ids, e in zip(SENTENCES, token_ids, embeddings):
        print(f"{len(ids):3} tokens  {e[:4].round(4)}  {s}")
    print("cosines:\n", np.array(cosines).round(4))


if __name__ == "__main__":
    main()
