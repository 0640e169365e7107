"""Integer / float idioms: torch.tensor of Python and NumPy data, from_numpy sharing memory,
labels.float() / .long(), true division of integers, integer tensors with float scalars
and float tensors, sums and means, comparisons counted with sum().item(), item() types."""

import numpy as np
import torch

ints = torch.tensor([1, 2, 3, 4])
floats = torch.tensor([0.5, 1.5, 2.5, 3.5])
labels = torch.tensor([0, 1, 1, 0, 1])
array = np.array([1.0, 2.0, 3.0])  # float64
shared = torch.from_numpy(array)
array[0] = 10.0  # from_numpy shares memory with the array
copied = torch.tensor(np.arange(3, dtype=np.int32))


def kind(t):
    # the dtype as the script's author sees it, e.g. "float32" (the prefix is the framework's name)
    return str(t.dtype).split(".")[-1]


RESULT = {
    "default_int": kind(ints),
    "default_float": kind(floats),
    "from_python_bool": kind(torch.tensor([True, False])),
    "from_float64_array": kind(shared),
    "from_int32_array": kind(copied),
    "from_numpy_shares": shared.tolist(),
    "true_division": kind(ints / 2),
    "true_division_values": (ints / 2).tolist(),
    "int_div_int": (ints / ints.flip(0)).tolist(),
    "floor_division": (ints // 3).tolist(),
    "floor_division_kind": kind(ints // 3),
    "int_times_float_scalar": kind(ints * 1.5),
    "int_plus_int_scalar": kind(ints + 1),
    "int_plus_float_tensor": kind(ints + floats),
    "float_times_numpy_scalar": kind(floats * np.sqrt(2.0)),
    "labels_float": kind(labels.float()),
    "labels_float_values": labels.float().tolist(),
    "float_long": floats.long().tolist(),
    "float_int": floats.int().tolist(),
    "to_float64": kind(floats.to(torch.float64)),
    "double": kind(floats.double()),
    "int_sum": ints.sum().item(),
    "int_sum_type": type(ints.sum().item()).__name__,
    "float_sum_type": type(floats.sum().item()).__name__,
    "bool_sum": (labels == 1).sum().item(),
    "bool_sum_kind": kind((labels == 1).sum()),
    "mean_of_labels": labels.float().mean().item(),
    "compare_kind": kind(labels > 0),
    "pow_int": kind(ints**2),
    "sqrt_int": kind(torch.sqrt(ints)),
    "exp_of_int": round(torch.exp(ints)[0].item(), 5),
    "arange_float": kind(torch.arange(0, 1, 0.25)),
    "arange_int": kind(torch.arange(5)),
    "zeros_kind": kind(torch.zeros(2)),
    "zeros_like_int": kind(torch.zeros_like(ints)),
    "full_int": kind(torch.full((2,), 7)),
    "item_int": torch.tensor(3).item(),
    "item_float": torch.tensor(2.5).item(),
    "tolist_nested": torch.tensor([[1, 2], [3, 4]]).tolist(),
    "numpy_dtype": str(floats.numpy().dtype),
    "numpy_int_dtype": str(ints.numpy().dtype),
    "where_mixed": kind(torch.where(labels > 0, floats[:1].expand(5), torch.zeros(5))),
}
