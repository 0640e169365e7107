"""A character-level MLP language model in the style of Karpathy's makemore (part 2):
an embedding table C indexed as C[X], emb.view(-1, ...), tanh hidden layer, F.cross_entropy,
a manual parameter list, p.grad = None, p.data += -lr * p.grad, minibatches, a learning
rate decay, a split evaluation under torch.no_grad(), and greedy sampling."""

import numpy as np
import torch
import torch.nn.functional as F

words = [
    "emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn",
    "abigail", "emily", "elizabeth", "mila", "ella", "avery", "sofia", "camila", "aria", "scarlett",
    "liam", "noah", "oliver", "elijah", "william", "james", "benjamin", "lucas", "henry", "alexander",
]  # fmt: skip
chars = sorted(list(set("".join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
vocab_size = len(itos)

block_size = 3  # context length: how many characters do we take to predict the next one?


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]  # crop and append
    X = torch.tensor(X)
    Y = torch.tensor(Y)
    return X, Y


Xtr, Ytr = build_dataset(words[:24])
Xdev, Ydev = build_dataset(words[24:])

g = torch.Generator().manual_seed(2147483647)  # for reproducibility
C = torch.randn((vocab_size, 4), generator=g)
W1 = torch.randn((block_size * 4, 64), generator=g)
b1 = torch.randn(64, generator=g)
W2 = torch.randn((64, vocab_size), generator=g)
b2 = torch.randn(vocab_size, generator=g)
parameters = [C, W1, b1, W2, b2]

# the generators of two frameworks draw different numbers: NumPy's replace them so that both
# start from the same point
rng = np.random.default_rng(16)
with torch.no_grad():
    for p, scale in zip(parameters, [1.0, 0.3, 0.01, 0.1, 0.0]):
        p.copy_(torch.from_numpy(scale * rng.standard_normal(p.shape).astype(np.float32)))

print(sum(p.nelement() for p in parameters))  # number of parameters in total
for p in parameters:
    p.requires_grad = True

lossi = []
for i in range(120):
    # minibatch construct (the indices come from NumPy so that both frameworks pick the same)
    ix = torch.from_numpy(rng.integers(0, Xtr.shape[0], size=32))

    # forward pass
    emb = C[Xtr[ix]]  # (32, 3, 4)
    h = torch.tanh(emb.view(-1, block_size * 4) @ W1 + b1)  # (32, 64)
    logits = h @ W2 + b2  # (32, vocab_size)
    loss = F.cross_entropy(logits, Ytr[ix])

    # backward pass
    for p in parameters:
        p.grad = None
    loss.backward()

    # update
    lr = 0.1 if i < 80 else 0.01
    for p in parameters:
        p.data += -lr * p.grad

    lossi.append(loss.log10().item())


@torch.no_grad()  # this decorator disables gradient tracking
def split_loss(X, Y):
    emb = C[X]
    h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
    logits = h @ W2 + b2
    return F.cross_entropy(logits, Y).item()


# greedy completions of three first letters (makemore samples with torch.multinomial; the
# argmax keeps the output the same in both frameworks)
samples = []
for first in "aje":
    out = [stoi[first]]
    context = [0, 0, stoi[first]]
    for _ in range(12):
        emb = C[torch.tensor([context])]  # (1, block_size, d)
        h = torch.tanh(emb.view(1, -1) @ W1 + b1)
        logits = h @ W2 + b2
        probs = F.softmax(logits, dim=1)
        ix = torch.argmax(probs, dim=1).item()
        context = context[1:] + [ix]
        if ix == 0:
            break
        out.append(ix)
    samples.append("".join(itos[i] for i in out))

RESULT = {
    "losses": lossi[::10] + lossi[-1:],
    "train_loss": split_loss(Xtr, Ytr),
    "dev_loss": split_loss(Xdev, Ydev),
    "shapes": [list(Xtr.shape), list(Xdev.shape), list(C[Xtr].shape)],
    "samples": samples,
    "C_norm": C.norm().item(),
    "W1_sum": W1.sum().item(),
}
