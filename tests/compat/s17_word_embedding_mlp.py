"""A word-level neural language model (Bengio et al. style) as an nn.Module: nn.Embedding,
the context embeddings concatenated with view(batch, -1), a DataLoader without shuffling,
Adam, model.zero_grad(), perplexity from the mean loss, argmax next-word predictions."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

text = (
    "the cat sat on the mat . the dog sat on the rug . a cat saw a dog . the dog saw the cat on the mat . "
    "a dog sat on a mat . the cat sat on the rug ."
).split()
vocab = sorted(set(text))
word_to_ix = {w: i for i, w in enumerate(vocab)}
CONTEXT = 2
contexts = [[word_to_ix[w] for w in text[i - CONTEXT : i]] for i in range(CONTEXT, len(text))]
nexts = [word_to_ix[text[i]] for i in range(CONTEXT, len(text))]
dataset = TensorDataset(torch.tensor(contexts, dtype=torch.long), torch.tensor(nexts, dtype=torch.long))
loader = DataLoader(dataset, batch_size=8)


class NGramLanguageModeler(nn.Module):
    def __init__(self, vocab_size, embedding_dim, context_size):
        super().__init__()
        self.embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.linear1 = nn.Linear(context_size * embedding_dim, 32)
        self.linear2 = nn.Linear(32, vocab_size)

    def forward(self, inputs):
        embeds = self.embeddings(inputs).view(inputs.shape[0], -1)
        out = F.relu(self.linear1(embeds))
        return self.linear2(out)


model = NGramLanguageModeler(len(vocab), 6, CONTEXT)
rng = np.random.default_rng(17)
with torch.no_grad():
    model.embeddings.weight.copy_(torch.from_numpy(rng.normal(size=(len(vocab), 6)).astype(np.float32)))
    for layer in (model.linear1, model.linear2):
        bound = 1 / math.sqrt(layer.in_features)
        layer.weight.copy_(torch.from_numpy(rng.uniform(-bound, bound, size=layer.weight.shape).astype(np.float32)))
        layer.bias.copy_(torch.from_numpy(rng.uniform(-bound, bound, size=layer.bias.shape).astype(np.float32)))

loss_function = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

losses = []
for epoch in range(15):
    total_loss = 0
    for context, target in loader:
        model.zero_grad()
        log_probs = model(context)
        loss = loss_function(log_probs, target)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
    losses.append(total_loss / len(loader))

model.eval()
with torch.no_grad():
    inputs, targets = dataset.tensors
    mean_loss = loss_function(model(inputs), targets).item()
    query = torch.tensor([[word_to_ix["the"], word_to_ix["cat"]], [word_to_ix["on"], word_to_ix["the"]]])
    guesses = model(query).argmax(dim=-1)

RESULT = {
    "losses": losses,
    "perplexity": math.exp(mean_loss),
    "guesses": [vocab[i] for i in guesses.tolist()],
    "embedding_norm": model.embeddings.weight.norm().item(),
    "embedding_grad_shape": list(model.embeddings.weight.grad.shape),
    "num_parameters": sum(p.numel() for p in model.parameters()),
}
