"""The reverse-mode engine.

1. Walk the graph from the roots with an explicit stack (no recursion, so a 100,000-op
   chain works) and count, for every op, how many consumers will send it a gradient.
2. Process ops whose count reached zero (Kahn's order): every contribution to an op's
   output has then been summed into that output's single buffer, so each op's backward
   runs exactly once, on the total gradient.
3. Leaves collect their contributions the same way. Phase 1 also counts the edges into
   every leaf, so a leaf receives ``.grad`` (and runs its post-accumulate hooks) as soon as
   its last contribution arrives, while the rest of the graph is still being processed:
   that is what lets DistributedDataParallel start a bucket's all-reduce during backward.
   Callbacks queued during a backward (``queue_callback``) run when it ends.

With ``create_graph=False`` the backward formulas run in no-grad mode, so they record
nothing; with ``create_graph=True`` they are recorded and can be differentiated again.
"""

from ..errors import AnomalyError, ArgumentTypeError, AutogradError
from .grad_mode import module_context, state

_frames = []  # one per backward in progress (a hook may run a backward of its own)


class _Frame:
    __slots__ = ("callbacks", "side")

    def __init__(self):
        self.callbacks = []
        self.side = {}  # id(leaf) -> leaf, for leaves whose op wrote .grad itself


class PostAccumulateHook:
    """A leaf's hook that runs with the leaf after its ``.grad`` is accumulated (it lives
    in the leaf's hook list beside the gradient hooks)."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


def queue_callback(fn):
    """Run ``fn()`` when the backward in progress ends, after every ``.grad`` is written
    (PyTorch's ``Variable._execution_engine.queue_callback``)."""
    if not _frames:
        raise AutogradError("[queue_callback] no backward is in progress: callbacks are queued from hooks")
    _frames[-1].callbacks.append(fn)


def accumulated_out_of_band(leaf):
    """An op's backward wrote ``leaf.grad`` itself (a row-sparse gradient): the leaf's
    post-accumulate hooks still run once its last contribution is in."""
    if _frames:
        _frames[-1].side[id(leaf)] = leaf


def _run_post_hooks(leaf):
    for fn in leaf._hooks or ():
        if fn.__class__ is PostAccumulateHook:
            fn.fn(leaf)


def _freed_error(op):
    return AutogradError(
        f"[{op.name}] trying to backward through the graph a second time: its saved tensors "
        "were freed by the first backward. Pass retain_graph=True to the first "
        "backward()/grad() call if you need to go through the graph again."
    )


def _add(slot, i, g, owned, create_graph):
    """Sum gradient ``g`` into ``slot[i]``: one buffer per output, allocated on the second
    contribution and updated in place after that (out of place when recording a graph)."""
    cur = slot[i]
    if cur is None:
        slot[i] = [g, owned]
    elif create_graph:
        cur[0] = cur[0] + g
        cur[1] = True
    elif cur[1]:
        cur[0].array += g.array
    else:
        cur[0] = cur[0]._like(cur[0].array + g.array)
        cur[1] = True


def _hook_result(fn, g, r):
    """What hook ``fn`` made of gradient ``g``: ``r`` when it has g's dtype, device and
    shape. As in PyTorch ("hook 'fn' has changed the type of value"), anything else is an
    error, not cast back: a changed dtype would reach .grad and the optimizer kernels."""
    name = getattr(fn, "__name__", type(fn).__name__)
    if not isinstance(r, type(g)):  # a Tensor (this module cannot import the class)
        raise ArgumentTypeError(f"[backward] expected hook '{name}' to return a tensor or None, got {type(r).__name__}")
    for what, want, got in (("dtype", g.dtype, r.dtype), ("device", g.device, r.device), ("shape", g.shape, r.shape)):
        if want != got:
            raise AutogradError(f"[backward] hook '{name}' has changed the {what} of the gradient: "
                                f"expected {want}, got {got}")
    return r


def _check_finite(op, g, what):
    if not bool(g._backend.xp.isfinite(g.array).all()):
        trace = getattr(op, "trace", None)  # (modules being called, user stack) from forward
        if trace is None:
            where, context = "    (no trace: the op was created outside anomaly mode)\n", ""
        else:
            where, context = "".join(trace[1]), module_context(trace[0])
        raise AnomalyError(
            f"[{op.name}] {what} contains NaN or Inf. The op was created{context + ',' if context else ''} at:\n{where}"
        )


def run_backward(roots, grad_roots, retain_graph=False, create_graph=False, targets=None):
    """Backpropagate ``grad_roots`` from ``roots``.

    targets=None: accumulate into every reachable leaf's ``.grad``.
    targets=[tensors]: touch no ``.grad``; return the gradient for each target (None where
    no gradient reaches it), running only the ops that lie on a path to a target.
    """
    grads = {}  # op -> list (one slot per output) of [grad Tensor, owned] or None
    leaves = {}  # id(leaf) -> [leaf, slot]
    deps = {}
    root_ops = []
    target_leaves = target_outs = None
    if targets is not None:
        target_leaves = {id(t) for t in targets if t.creator is None}
        target_outs = {(t.creator, t._index) for t in targets if t.creator is not None}

    for t, g in zip(roots, grad_roots):
        op = t.creator
        if op is None:
            if targets is None or id(t) in target_leaves:
                entry = leaves.setdefault(id(t), [t, [None]])
                _add(entry[1], 0, g, False, create_graph)
            continue
        slot = grads.get(op)
        if slot is None:
            slot = grads[op] = [None] * op.n_out
            deps[op] = 0
            root_ops.append(op)
        _add(slot, t._index, g, False, create_graph)

    # 1. count consumers of every reachable op, and the edges into every leaf
    pending = {}
    consumers = {} if targets is not None else None
    stack = list(root_ops)
    while stack:
        op = stack.pop()
        inputs = op.inputs
        if inputs is None:
            raise _freed_error(op)
        for x in inputs:
            c = x.creator
            if c is None:
                if x.requires_grad:
                    pending[id(x)] = pending.get(id(x), 0) + 1
                continue
            if c in deps:
                deps[c] += 1
            else:
                deps[c] = 1
                stack.append(c)
            if consumers is not None:
                consumers.setdefault(c, []).append(op)

    needed = None
    if targets is not None:
        needed = _ops_on_paths(deps, consumers, target_leaves, target_outs)

    captured = {}

    def step(op):
        """Run ``op``'s backward on the sum of its output gradients and pass the results on."""
        inputs = op.inputs
        slot = grads.pop(op, None)
        gxs = None
        if slot is not None:
            gys = [None if s is None else s[0] for s in slot]
            hooks = op.hooks
            if hooks is not None:
                for i, fns in hooks.items():
                    if gys[i] is not None:
                        for fn in fns:
                            r = fn(gys[i])
                            if r is not None:
                                gys[i] = _hook_result(fn, gys[i], r)
            if target_outs:
                for i, g in enumerate(gys):
                    if (op, i) in target_outs and g is not None:
                        captured[(op, i)] = g
            if needed is None or op in needed:
                anomaly = state.anomaly
                state.anomaly = False  # the ops inside backward are checked as one, below
                try:
                    gxs = op.backward(*gys)
                finally:
                    state.anomaly = anomaly
                if gxs.__class__ is not tuple:
                    gxs = (gxs,)
                if len(gxs) != len(inputs):
                    raise AutogradError(
                        f"[{op.name}] backward returned {len(gxs)} gradients for "
                        f"{len(inputs)} inputs"
                    )
        if not retain_graph:
            op.release()
        for k, x in enumerate(inputs):
            c = x.creator
            gx = None if gxs is None else gxs[k]
            if gx is not None:
                if gx.shape != x.shape:
                    raise AutogradError(
                        f"[{op.name}] backward returned a gradient of shape "
                        f"{tuple(gx.shape)} for input {k} of shape {tuple(x.shape)}"
                    )
                if gx.dtype != x.dtype:
                    gx = gx.to(x.dtype)
                if state.anomaly:
                    _check_finite(op, gx, f"the gradient for input {k} (backward)")
                if c is not None:
                    _add(grads.setdefault(c, [None] * c.n_out), x._index, gx, False, create_graph)
                elif x.requires_grad and (targets is None or id(x) in target_leaves):
                    # a gradient passed through unchanged, or a view, may alias
                    # another tensor: never hand it to .grad without a copy
                    owned = gx.array.base is None and not any(gx is g for g in gys)
                    entry = leaves.setdefault(id(x), [x, [None]])
                    _add(entry[1], 0, gx, owned, create_graph)
            if c is None:
                if x.requires_grad:
                    n = pending[id(x)] - 1
                    pending[id(x)] = n
                    if n == 0:
                        if id(x) in leaves:
                            finish_leaf(id(x))
                        elif frame.side.pop(id(x), None) is not None and targets is None:
                            _run_post_hooks(x)
            else:
                n = deps[c] - 1
                deps[c] = n
                if n == 0:
                    ready.append(c)

    results = {}

    def finish_leaf(key):
        """The leaf's gradient is complete: run its hooks, then write ``.grad`` (or keep the
        result for ``grad()``) and run its post-accumulate hooks."""
        leaf, slot = leaves.pop(key)
        g, owned = slot[0]
        hooks = leaf._hooks or ()
        for fn in hooks:
            if fn.__class__ is not PostAccumulateHook:
                r = fn(g)
                if r is not None:
                    g, owned = _hook_result(fn, g, r), False
        if targets is not None:
            results[key] = g
            return
        with leaf._backend.scope():
            if not create_graph:
                g = g.detach() if owned else g._like(g.array.copy())
            leaf.grad = g if leaf.grad is None else leaf.grad + g
        frame.side.pop(key, None)
        _run_post_hooks(leaf)

    prev_mode = state.grad_enabled
    state.grad_enabled = create_graph
    frame = _Frame()
    _frames.append(frame)
    try:
        ready = [op for op in root_ops if deps[op] == 0]
        while ready:
            op = ready.pop()
            b = op.inputs[0]._backend
            if b.multi:  # one of several GPUs: the op's gradients are made and summed on its device
                with b.scope():
                    step(op)
            else:
                step(op)

        for key in list(leaves):  # roots that are leaves, and leaves no op feeds
            finish_leaf(key)
    finally:
        state.grad_enabled = prev_mode
        _frames.pop()
    for fn in frame.callbacks:
        fn()

    if targets is None:
        return None
    out = []
    for t in targets:
        out.append(results.get(id(t)) if t.creator is None else captured.get((t.creator, t._index)))
    return out


def _ops_on_paths(deps, consumers, target_leaves, target_outs):
    """Ops whose backward must run for gradients to reach the targets."""
    needed = set()
    stack = []
    for op in deps:
        inputs = op.inputs
        if any(
            (x.creator is None and id(x) in target_leaves) or (x.creator, x._index) in target_outs
            for x in inputs
        ):
            needed.add(op)
            stack.append(op)
    while stack:
        for parent in consumers.get(stack.pop(), ()):
            if parent not in needed:
                needed.add(parent)
                stack.append(parent)
    return needed
