"""A word-window classifier with a pre-trained embedding, frozen first, then fine-tuned.

A toy language: each word has a "pre-trained" vector; a window of 5 words is labelled by a
property of its centre word that the pre-trained vectors capture only roughly. Phase 1
trains the classifier on frozen embeddings; phase 2 unfreezes them (a sparse embedding
with SparseAdam: only the rows of words in the batch are touched) and accuracy improves.
"""

import numpy as np

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.nn import functional as NF

VOCAB, DIM, WINDOW, CLASSES = 200, 16, 5, 4


def make_data(rng, n):
    label_of_word = rng.integers(0, CLASSES, VOCAB)
    proto = rng.standard_normal((CLASSES, DIM))
    pretrained = proto[label_of_word] * 0.5 + rng.standard_normal((VOCAB, DIM))  # a noisy signal
    windows = rng.integers(0, VOCAB, (n, WINDOW))
    labels = label_of_word[windows[:, WINDOW // 2]]
    return pretrained.astype(np.float32), windows, labels


class WindowClassifier(nn.Module):
    def __init__(self, pretrained):
        super().__init__()
        self.emb = nn.Embedding.from_pretrained(gg.tensor(pretrained), freeze=True, sparse=True)
        self.mlp = nn.Sequential(nn.Linear(WINDOW * DIM, 64), nn.ReLU(), nn.Linear(64, CLASSES))

    def forward(self, windows):
        return self.mlp(self.emb(windows).reshape(windows.shape[0], -1))


def accuracy(model, w, y):
    with gg.no_grad():
        return (model(w).argmax(1) == y).float().mean().item()


def train(model, opts, w, y, epochs, batch=128, rng=None):
    n = w.shape[0]
    for _ in range(epochs):
        order = gg.tensor(rng.permutation(n))
        for s in range(0, n, batch):
            idx = order[s : s + batch]
            loss = NF.cross_entropy(model(w[idx]), y[idx])
            for o in opts:
                o.zero_grad()
            loss.backward()
            for o in opts:
                o.step()


def main(epochs=8, seed=0, verbose=True):
    gg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    pretrained, windows, labels = make_data(rng, 6000)
    w, y = gg.tensor(windows), gg.tensor(labels)
    wt, yt, wv, yv = w[:5000], y[:5000], w[5000:], y[5000:]
    model = WindowClassifier(pretrained)
    train(model, [optim.Adam(model.mlp.parameters(), lr=3e-3)], wt, yt, epochs, rng=rng)
    frozen = accuracy(model, wv, yv)
    model.emb.weight.requires_grad_(True)  # fine-tune the embedding too
    opts = [optim.Adam(model.mlp.parameters(), lr=1e-3), optim.SparseAdam(model.emb.parameters(), lr=3e-2)]
    train(model, opts, wt, yt, epochs, rng=rng)
    tuned = accuracy(model, wv, yv)
    moved = float(np.abs(model.emb.weight.numpy() - pretrained).mean())
    if verbose:
        print(f"frozen pre-trained embedding: held-out accuracy {frozen:.3f}")
        print(f"after fine-tuning it:         held-out accuracy {tuned:.3f} (mean change of a vector entry {moved:.3f})")
    return {"frozen_acc": frozen, "finetuned_acc": tuned, "embedding_change": moved}


if __name__ == "__main__":
    main()
