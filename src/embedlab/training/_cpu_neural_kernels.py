"""Compiled epoch of the neural model on the CPU (numba): forward, backward and Adam fused.

The torch trainer spends most of a step of the course-sized network (8-dim tables,
``(32, 4)`` hidden, batch 5000) in dispatching some 150 small operators, each a pass over
a ``batch × 32`` array; this kernel walks the same arithmetic in a few fused passes per
layer and calls BLAS for the matrix products. Imported only when a fit uses it (importing
numba costs ~0.45 s); cached on disk (``cache=True``).

Layout of the dense parameters (``theta``, and the Adam moments beside it): for each
hidden layer ``l`` its weight *transposed* (``in × out``, row-major) then its bias, then
the output layer's weight (``in``) and bias (1), then ``μ`` (when it is trained). ``offs``
holds the start of each of those pieces and ``sizes`` the layer widths
``[user_dim + item_dim, h1, ..., hL]``.

Determinism: every reduction over the batch runs over ``_CHUNKS`` fixed parts summed in
order, and table gradients are accumulated in batch order, so the result does not depend
on the number of threads. Dropout masks come from a counter-based hash of
``(seed, step, row, unit)``.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (numba's np.dot calls it: loaded before the BLAS limit)
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["neural_epoch", "neural_epoch_hogwild"]

_FAST = {"reassoc", "contract", "nsz"}
_CHUNKS = 16
#: Layer parameters per task of a step's second region.
_DENSE_BLOCK = 2048
#: Ranges of rows per table in a step's second region.
_ROW_TASKS = 16
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@intrinsic
def _fetch_add(typingctx, counter, index):
    """``counter[index] += 1`` as one atomic operation; returns the value before."""

    def codegen(context, builder, signature, args):
        ary_t = signature.args[0]
        ary = context.make_array(ary_t)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, ary_t, ary, [args[1]])
        one = context.get_constant(types.int64, 1)
        return builder.atomic_rmw("add", ptr, one, "seq_cst")

    return types.int64(counter, index), codegen


@nb.njit(inline="always")
def _keep(seed: np.uint64, counter: np.uint64, threshold: np.uint64) -> bool:
    # splitmix64's finalizer over seed + counter · golden ratio; the top 24 bits as a uniform.
    x = seed + counter * _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(40)) >= threshold


@nb.njit(inline="always")
def _adam_cols(W, M, V, G, row, k0, k1, size, b1, b2, c1, c2, eps) -> None:
    # SparseAdam's rule on columns k0..k1 of one row of a table; the gradient is cleared.
    for k in range(k0, k1):
        g = G[row, k]
        m = b1 * M[row, k] + c1 * g
        v = b2 * V[row, k] + c2 * g * g
        M[row, k] = m
        V[row, k] = v
        W[row, k] -= size * (m / (np.sqrt(v) + eps))
        G[row, k] = 0.0


@nb.njit(inline="always", fastmath=_FAST, boundscheck=False)
def _part_step(
    c,
    lo,
    hi,
    B,
    start,
    ui,
    ii,
    r,
    P,
    Q,
    bu,
    bi,
    flags,
    theta,
    offs,
    sizes,
    acts,
    gates,
    dbuf,
    dX_all,
    dW_part,
    draw,
    part,
    sse_part,
    step,
    bmax,
    seed,
    dropout,
    low,
    high,
):
    """Rows ``lo..hi`` of the batch at ``start``, forward and backward through every layer:
    their share of the hidden layers' gradients in ``dW_part[c]`` (laid out as ``theta``),
    of the output layer's in ``part[c]``, their d loss / d raw in ``draw``, d loss / d
    input in ``dX_all`` and their squared errors in ``sse_part[c]``. The synchronous kernel
    runs one call per fixed part of a batch, the lock-free one one call per batch."""
    du = P.shape[1]
    di = Q.shape[1]
    w0 = du + di
    n_layers = sizes.shape[0] - 1
    use_bu = flags[0] != 0
    use_bi = flags[1] != 0
    use_mu = flags[2] != 0
    dot = flags[3] != 0
    squash = flags[4] != 0
    total_h = 0
    max_w = w0
    for layer in range(1, n_layers + 1):
        total_h += sizes[layer]
        max_w = max(max_w, sizes[layer])
    last = sizes[n_layers]
    o_out = offs[2 * n_layers]
    w_out = theta[o_out : o_out + last]
    b_out = theta[offs[2 * n_layers + 1]]
    mu = theta[offs[2 * n_layers + 2]] if use_mu else np.float32(0.0)
    X0 = acts[: B * w0].reshape(B, w0)
    p_drop = np.float32(dropout)
    inv_keep = np.float32(1.0 / (1.0 - dropout))
    threshold = np.uint64(dropout * 16777216.0)
    f_low = np.float32(low)
    f_span = np.float32(high - low)
    inv_b = np.float32(1.0 / B)
    m = hi - lo

    for b in range(lo, hi):
        u = ui[start + b]
        i = ii[start + b]
        for k in range(du):
            X0[b, k] = P[u, k]
        for k in range(di):
            X0[b, du + k] = Q[i, k]
    # forward through the hidden layers
    in_off = 0
    g_off = 0
    unit0 = 0
    for layer in range(1, n_layers + 1):
        w_in = sizes[layer - 1]
        h = sizes[layer]
        a_off = in_off + B * w_in
        Wt = theta[offs[2 * layer - 2] : offs[2 * layer - 2] + w_in * h].reshape(w_in, h)
        bias = theta[offs[2 * layer - 1] : offs[2 * layer - 1] + h]
        A = acts[a_off : a_off + B * h].reshape(B, h)
        G = gates[g_off : g_off + B * h].reshape(B, h)
        if m > 0:
            Xc = acts[in_off + lo * w_in : in_off + hi * w_in].reshape(m, w_in)
            Ac = acts[a_off + lo * h : a_off + hi * h].reshape(m, h)
            np.dot(Xc, Wt, Ac)
        for b in range(lo, hi):
            base = np.uint64((step * bmax + b) * total_h + unit0)
            for j in range(h):
                z = A[b, j] + bias[j]
                g = np.float32(1.0) if z > 0 else np.float32(0.0)
                if p_drop > 0 and g > 0:
                    g = inv_keep if _keep(seed, base + np.uint64(j), threshold) else np.float32(0.0)
                G[b, j] = g
                A[b, j] = z * g
        in_off = a_off
        g_off += B * h
        unit0 += h
    X_top = acts[in_off : in_off + B * last].reshape(B, last)
    # output, biases, loss and d loss / d raw
    acc_c = 0.0
    for j in range(last + 2):
        part[c, j] = 0.0
    for b in range(lo, hi):
        u = ui[start + b]
        i = ii[start + b]
        s = b_out
        for j in range(last):
            s += X_top[b, j] * w_out[j]
        if dot:
            d = np.float32(0.0)
            for k in range(du):
                d += X0[b, k] * X0[b, du + k]
            s += d
        if use_bu:
            s += bu[u, 0]
        if use_bi:
            s += bi[i, 0]
        s += mu
        if squash:
            sig = np.float32(1.0) / (np.float32(1.0) + np.exp(-s))
            pred = f_low + f_span * sig
            err = pred - r[start + b]
            db = np.float32(2.0) * err * inv_b * f_span * sig * (np.float32(1.0) - sig)
        else:
            err = s - r[start + b]
            db = np.float32(2.0) * err * inv_b
        draw[b] = db
        acc_c += np.float64(err) * np.float64(err)
        g64 = np.float64(db)
        for j in range(last):
            part[c, j] += X_top[b, j] * g64
        part[c, last] += g64
    sse_part[c] = acc_c
    # backward through the hidden layers, from the top; the part's rows of each
    # layer's d loss / d output sit at lo * max_w in dbuf (its own span at any
    # width), the first layer's d loss / d input in dX (batch layout)
    base = lo * max_w
    par = n_layers % 2
    if n_layers == 0:  # the output reads [p_u; q_i] directly
        d_top = dX_all[lo * w0 : hi * w0].reshape(m, w0)
    else:
        d_top = dbuf[par, base : base + m * last].reshape(m, last)
    for b in range(m):
        for j in range(last):
            d_top[b, j] = draw[lo + b] * w_out[j]
    for layer in range(n_layers, 0, -1):
        w_in = sizes[layer - 1]
        h = sizes[layer]
        g_off -= B * h
        in_off -= B * w_in
        par = layer % 2
        dAc = dbuf[par, base : base + m * h].reshape(m, h)
        G = gates[g_off : g_off + B * h].reshape(B, h)
        o_w = offs[2 * layer - 2]
        o_b = offs[2 * layer - 1]
        n_w = w_in * h
        Wt = theta[o_w : o_w + n_w].reshape(w_in, h)
        part_b = dW_part[c, o_b : o_b + h]
        for j in range(h):
            part_b[j] = 0.0
        for b in range(m):
            for j in range(h):
                dAc[b, j] *= G[lo + b, j]
                part_b[j] += dAc[b, j]
        part_w = dW_part[c, o_w : o_w + n_w].reshape(w_in, h)
        if m > 0:
            Xc = acts[in_off + lo * w_in : in_off + hi * w_in].reshape(m, w_in)
            np.dot(Xc.T, dAc, part_w)
            if layer > 1:
                np.dot(dAc, Wt.T, dbuf[1 - par, base : base + m * w_in].reshape(m, w_in))
            else:
                np.dot(dAc, Wt.T, dX_all[lo * w0 : hi * w0].reshape(m, w0))
        else:
            for x in range(n_w):
                dW_part[c, o_w + x] = 0.0


@nb.njit(parallel=True, fastmath=_FAST, cache=True, nogil=True, boundscheck=False)
def neural_epoch(
    ui: np.ndarray,
    ii: np.ndarray,
    r: np.ndarray,
    batch_size: int,
    P: np.ndarray,
    Q: np.ndarray,
    bu: np.ndarray,
    bi: np.ndarray,
    flags: np.ndarray,
    theta: np.ndarray,
    m_theta: np.ndarray,
    v_theta: np.ndarray,
    offs: np.ndarray,
    sizes: np.ndarray,
    dropout: float,
    low: float,
    high: float,
    mP: np.ndarray,
    vP: np.ndarray,
    mQ: np.ndarray,
    vQ: np.ndarray,
    mbu: np.ndarray,
    vbu: np.ndarray,
    mbi: np.ndarray,
    vbi: np.ndarray,
    step0: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    l2_user: float,
    l2_item: float,
    l2_bias: float,
    seed: np.uint64,
) -> float:
    """One epoch over the rows in the given order; returns the sum of squared errors.

    ``flags`` = ``[user_bias, item_bias, global_bias, dot, squash]`` (0/1). Tables and
    their moments (``mP``/``vP``... as LazyAdam keeps them) and ``theta`` with its
    moments (as ``torch.optim.Adam`` keeps them) are updated in place; ``step0`` is the
    number of steps taken before this epoch.

    Each step is two parallel regions: (1) over ``_CHUNKS`` fixed parts of the batch,
    each part's rows go forward and backward through every layer (BLAS for the matrix
    products, one thread each) and leave their share of the layer gradients; (2) over
    blocks of parameters: the layers' gradients summed over the parts in order with
    their Adam step, and ranges of table rows, each row's gradient summed in batch order
    with lazy Adam on the touched rows. Few regions per step keep the kernel fast when other
    programs hold CPUs (each region waits for its slowest thread).
    """
    n = r.shape[0]
    du = P.shape[1]
    di = Q.shape[1]
    w0 = du + di
    n_layers = sizes.shape[0] - 1
    use_bu = flags[0] != 0
    use_bi = flags[1] != 0
    use_mu = flags[2] != 0
    dot = flags[3] != 0
    total_h = 0
    for layer in range(1, n_layers + 1):
        total_h += sizes[layer]
    last = sizes[n_layers]
    o_out = offs[2 * n_layers]
    o_out_b = offs[2 * n_layers + 1]
    o_mu = offs[2 * n_layers + 2]
    n_theta = theta.shape[0]
    bmax = min(batch_size, n)

    # Work buffers for the largest batch: layer inputs/outputs, dropout-and-ReLU gates.
    acts = np.empty(bmax * (w0 + total_h), dtype=np.float32)
    gates = np.empty(bmax * max(total_h, 1), dtype=np.float32)
    max_w = w0
    for layer in range(1, n_layers + 1):
        max_w = max(max_w, sizes[layer])
    dbuf = np.empty((2, bmax * max_w), dtype=np.float32)
    dX_all = np.empty(bmax * w0, dtype=np.float32)
    # each part's share of the hidden layers' gradients, laid out as theta
    dW_part = np.zeros((_CHUNKS, max(o_out, 1)), dtype=np.float32)
    draw = np.empty(bmax, dtype=np.float32)
    grad = np.zeros(n_theta, dtype=np.float32)
    part = np.zeros((_CHUNKS, last + 2), dtype=np.float64)
    sse_part = np.zeros(_CHUNKS, dtype=np.float64)
    gP = np.zeros(P.shape, dtype=np.float32)
    gQ = np.zeros(Q.shape, dtype=np.float32)
    gbu = np.zeros(bu.shape, dtype=np.float32)
    gbi = np.zeros(bi.shape, dtype=np.float32)
    seen_u = np.zeros(P.shape[0], dtype=np.bool_)
    seen_i = np.zeros(Q.shape[0], dtype=np.bool_)
    touched_u = np.empty(bmax, dtype=np.int64)
    touched_i = np.empty(bmax, dtype=np.int64)
    f_b1 = np.float32(beta1)
    f_b2 = np.float32(beta2)
    f_1b1 = np.float32(1.0 - beta1)
    f_1b2 = np.float32(1.0 - beta2)
    f_eps = np.float32(eps)
    # Region 2's tasks: blocks of ~_DENSE_BLOCK layer parameters, then _ROW_TASKS ranges
    # of user rows (P and b_u) and as many of item rows (Q and b_i).
    n_dense_tasks = max(1, -(-n_theta // _DENSE_BLOCK))
    n_tasks = n_dense_tasks + 2 * _ROW_TASKS
    n_users = P.shape[0]
    n_items = Q.shape[0]
    sse = 0.0

    step = step0
    for start in range(0, n, batch_size):
        B = min(batch_size, n - start)
        step += 1
        two_lu = np.float32(2.0 * l2_user / B)
        two_li = np.float32(2.0 * l2_item / B)
        two_lb = np.float32(2.0 * l2_bias / B)
        X0 = acts[: B * w0].reshape(B, w0)
        dX = dX_all[: B * w0].reshape(B, w0)

        # ---- region 1: each part of the batch forward and backward through the network
        for c in nb.prange(_CHUNKS):
            _part_step(
                c, c * B // _CHUNKS, (c + 1) * B // _CHUNKS, B, start, ui, ii, r, P, Q, bu, bi,
                flags, theta, offs, sizes, acts, gates, dbuf, dX_all, dW_part, draw, part,
                sse_part, step, bmax, seed, dropout, low, high,
            )  # fmt: skip

        # ---- between the regions: the output layer's gradient, the touched rows
        for c in range(_CHUNKS):
            sse += sse_part[c]
        for j in range(last + 1):
            acc = 0.0
            for c in range(_CHUNKS):
                acc += part[c, j]
            grad[o_out + j] = np.float32(acc)
        if use_mu:
            grad[o_mu] = grad[o_out_b]
        n_tu = 0
        n_ti = 0
        for b in range(B):
            u = ui[start + b]
            i = ii[start + b]
            if not seen_u[u]:
                seen_u[u] = True
                touched_u[n_tu] = u
                n_tu += 1
            if not seen_i[i]:
                seen_i[i] = True
                touched_i[n_ti] = i
                n_ti += 1

        # ---- region 2: Adam on the layers, table gradients and lazy Adam by columns
        t = float(step)
        size_rows = np.float32(lr * np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t))
        step_size = np.float32(lr / (1.0 - beta1**t))
        bc2_sqrt = np.float32(np.sqrt(1.0 - beta2**t))
        for task in nb.prange(n_tasks):
            if task < n_dense_tasks:
                x0 = task * n_theta // n_dense_tasks
                x1 = (task + 1) * n_theta // n_dense_tasks
                for x in range(x0, x1):
                    if x < o_out:  # hidden layers: sum the parts in order
                        acc32 = np.float32(0.0)
                        for c in range(_CHUNKS):
                            acc32 += dW_part[c, x]
                        grad[x] = acc32
                    g = grad[x]
                    mx = m_theta[x] + f_1b1 * (g - m_theta[x])
                    vx = f_b2 * v_theta[x] + f_1b2 * g * g
                    m_theta[x] = mx
                    v_theta[x] = vx
                    theta[x] -= step_size * mx / (np.sqrt(vx) / bc2_sqrt + f_eps)
            elif task < n_dense_tasks + _ROW_TASKS:
                # users lo..hi: their rows' gradients in batch order, then lazy Adam
                t_row = task - n_dense_tasks
                lo_r = t_row * n_users // _ROW_TASKS
                hi_r = (t_row + 1) * n_users // _ROW_TASKS
                for b in range(B):
                    u = ui[start + b]
                    if u < lo_r or u >= hi_r:
                        continue
                    g = draw[b]
                    for k in range(du):
                        gk = dX[b, k] + two_lu * X0[b, k]
                        if dot:
                            gk += g * X0[b, du + k]
                        gP[u, k] += gk
                    if use_bu:
                        gbu[u, 0] += g + two_lb * bu[u, 0]
                for x in range(n_tu):
                    u = touched_u[x]
                    if u < lo_r or u >= hi_r:
                        continue
                    _adam_cols(P, mP, vP, gP, u, 0, du, size_rows, f_b1, f_b2, f_1b1, f_1b2, f_eps)
                    if use_bu:
                        _adam_cols(
                            bu, mbu, vbu, gbu, u, 0, 1,
                            size_rows, f_b1, f_b2, f_1b1, f_1b2, f_eps,
                        )  # fmt: skip
            else:
                # items lo..hi, the same
                t_row = task - n_dense_tasks - _ROW_TASKS
                lo_r = t_row * n_items // _ROW_TASKS
                hi_r = (t_row + 1) * n_items // _ROW_TASKS
                for b in range(B):
                    i = ii[start + b]
                    if i < lo_r or i >= hi_r:
                        continue
                    g = draw[b]
                    for k in range(di):
                        gk = dX[b, du + k] + two_li * X0[b, du + k]
                        if dot:
                            gk += g * X0[b, k]
                        gQ[i, k] += gk
                    if use_bi:
                        gbi[i, 0] += g + two_lb * bi[i, 0]
                for x in range(n_ti):
                    i = touched_i[x]
                    if i < lo_r or i >= hi_r:
                        continue
                    _adam_cols(Q, mQ, vQ, gQ, i, 0, di, size_rows, f_b1, f_b2, f_1b1, f_1b2, f_eps)
                    if use_bi:
                        _adam_cols(
                            bi, mbi, vbi, gbi, i, 0, 1,
                            size_rows, f_b1, f_b2, f_1b1, f_1b2, f_eps,
                        )  # fmt: skip
        for x in range(n_tu):
            seen_u[touched_u[x]] = False
        for x in range(n_ti):
            seen_i[touched_i[x]] = False
    return sse


@nb.njit(fastmath=_FAST, nogil=True, boundscheck=False)
def _hogwild_batches(
    next_batch,
    ui,
    ii,
    r,
    batch_size,
    P,
    Q,
    bu,
    bi,
    flags,
    theta,
    m_theta,
    v_theta,
    offs,
    sizes,
    dropout,
    low,
    high,
    mP,
    vP,
    mQ,
    vQ,
    mbu,
    vbu,
    mbi,
    vbi,
    step0,
    lr,
    beta1,
    beta2,
    eps,
    l2_user,
    l2_item,
    l2_bias,
    seed,
):
    # Batches as they come (a shared counter hands them out), each forward, backward and
    # Adam on its own, reading and writing the shared parameters without locks. Returns
    # the SSE of the batches this thread took.
    n = r.shape[0]
    du = P.shape[1]
    di = Q.shape[1]
    w0 = du + di
    n_layers = sizes.shape[0] - 1
    use_bu = flags[0] != 0
    use_bi = flags[1] != 0
    use_mu = flags[2] != 0
    dot = flags[3] != 0
    total_h = 0
    max_w = w0
    for layer in range(1, n_layers + 1):
        total_h += sizes[layer]
        max_w = max(max_w, sizes[layer])
    last = sizes[n_layers]
    o_out = offs[2 * n_layers]
    o_out_b = offs[2 * n_layers + 1]
    o_mu = offs[2 * n_layers + 2]
    n_theta = theta.shape[0]
    bmax = min(batch_size, n)

    acts = np.empty(bmax * (w0 + total_h), dtype=np.float32)
    gates = np.empty(bmax * max(total_h, 1), dtype=np.float32)
    dbuf = np.empty((2, bmax * max_w), dtype=np.float32)
    dX_all = np.empty(bmax * w0, dtype=np.float32)
    draw = np.empty(bmax, dtype=np.float32)
    grad = np.zeros(n_theta, dtype=np.float32)
    # _part_step's slots, for one part: the whole batch
    dW_part = np.zeros((1, max(o_out, 1)), dtype=np.float32)
    part = np.zeros((1, last + 2), dtype=np.float64)
    sse_part = np.zeros(1, dtype=np.float64)
    gP = np.zeros(P.shape, dtype=np.float32)
    gQ = np.zeros(Q.shape, dtype=np.float32)
    gbu = np.zeros(bu.shape, dtype=np.float32)
    gbi = np.zeros(bi.shape, dtype=np.float32)
    seen_u = np.zeros(P.shape[0], dtype=np.bool_)
    seen_i = np.zeros(Q.shape[0], dtype=np.bool_)
    touched_u = np.empty(bmax, dtype=np.int64)
    touched_i = np.empty(bmax, dtype=np.int64)
    f_b1 = np.float32(beta1)
    f_b2 = np.float32(beta2)
    f_1b1 = np.float32(1.0 - beta1)
    f_1b2 = np.float32(1.0 - beta2)
    f_eps = np.float32(eps)
    sse = 0.0

    n_batches = -(-n // batch_size)
    while True:
        k = _fetch_add(next_batch, 0)  # the next batch nobody has taken
        if k >= n_batches:
            break
        start = k * batch_size
        B = min(batch_size, n - start)
        step = step0 + k + 1
        two_lu = np.float32(2.0 * l2_user / B)
        two_li = np.float32(2.0 * l2_item / B)
        two_lb = np.float32(2.0 * l2_bias / B)
        X0 = acts[: B * w0].reshape(B, w0)
        dX = dX_all[: B * w0].reshape(B, w0)
        _part_step(
            0, 0, B, B, start, ui, ii, r, P, Q, bu, bi, flags, theta, offs, sizes, acts, gates,
            dbuf, dX_all, dW_part, draw, part, sse_part, step, bmax, seed, dropout, low, high,
        )  # fmt: skip
        sse += sse_part[0]
        for x in range(o_out):
            grad[x] = dW_part[0, x]
        for j in range(last + 1):
            grad[o_out + j] = np.float32(part[0, j])
        if use_mu:
            grad[o_mu] = grad[o_out_b]
        # Adam on the layers
        tf = float(step)
        size_rows = np.float32(lr * np.sqrt(1.0 - beta2**tf) / (1.0 - beta1**tf))
        step_size = np.float32(lr / (1.0 - beta1**tf))
        bc2_sqrt = np.float32(np.sqrt(1.0 - beta2**tf))
        for x in range(n_theta):
            g = grad[x]
            mx = m_theta[x] + f_1b1 * (g - m_theta[x])
            vx = f_b2 * v_theta[x] + f_1b2 * g * g
            m_theta[x] = mx
            v_theta[x] = vx
            theta[x] -= step_size * mx / (np.sqrt(vx) / bc2_sqrt + f_eps)
        # the tables: each touched row's gradient summed in batch order, then lazy Adam
        n_tu = 0
        n_ti = 0
        for b in range(B):
            u = ui[start + b]
            i = ii[start + b]
            g = draw[b]
            if not seen_u[u]:
                seen_u[u] = True
                touched_u[n_tu] = u
                n_tu += 1
            if not seen_i[i]:
                seen_i[i] = True
                touched_i[n_ti] = i
                n_ti += 1
            for j in range(du):
                gk = dX[b, j] + two_lu * X0[b, j]
                if dot:
                    gk += g * X0[b, du + j]
                gP[u, j] += gk
            for j in range(di):
                gk = dX[b, du + j] + two_li * X0[b, du + j]
                if dot:
                    gk += g * X0[b, j]
                gQ[i, j] += gk
            if use_bu:
                gbu[u, 0] += g + two_lb * bu[u, 0]
            if use_bi:
                gbi[i, 0] += g + two_lb * bi[i, 0]
        for x in range(n_tu):
            u = touched_u[x]
            seen_u[u] = False
            _adam_cols(P, mP, vP, gP, u, 0, du, size_rows, f_b1, f_b2, f_1b1, f_1b2, f_eps)
            if use_bu:
                _adam_cols(bu, mbu, vbu, gbu, u, 0, 1, size_rows, f_b1, f_b2, f_1b1, f_1b2, f_eps)
        for x in range(n_ti):
            i = touched_i[x]
            seen_i[i] = False
            _adam_cols(Q, mQ, vQ, gQ, i, 0, di, size_rows, f_b1, f_b2, f_1b1, f_1b2, f_eps)
            if use_bi:
                _adam_cols(bi, mbi, vbi, gbi, i, 0, 1, size_rows, f_b1, f_b2, f_1b1, f_1b2, f_eps)
    return sse


@nb.njit(parallel=True, fastmath=_FAST, cache=True, nogil=True, boundscheck=False)
def neural_epoch_hogwild(n_threads, *args):
    """:func:`neural_epoch` with one region per epoch: ``n_threads`` threads each take the
    next batch nobody has taken and run its whole step (forward, backward, Adam) on the
    shared parameters without locks ("Hogwild", as the MF engine on large data). No
    thread waits for another, so the epoch keeps its pace when other programs hold
    CPUs; the result depends on how the threads interleave (on one thread it is
    deterministic). Same arguments as :func:`neural_epoch` after ``n_threads``.
    """
    next_batch = np.zeros(1, dtype=np.int64)
    sse = 0.0
    for _ in nb.prange(n_threads):
        sse += _hogwild_batches(next_batch, *args)
    return sse
