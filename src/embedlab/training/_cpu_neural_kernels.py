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

__all__ = ["neural_epoch"]

_FAST = {"reassoc", "contract", "nsz"}
_CHUNKS = 16
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@nb.njit(inline="always")
def _keep(seed: np.uint64, counter: np.uint64, threshold: np.uint64) -> bool:
    # splitmix64's finalizer over seed + counter · golden ratio; the top 24 bits as a uniform.
    x = seed + counter * _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(40)) >= threshold


@nb.njit(inline="always")
def _adam_row(W, M, V, G, row, size, b1, b2, c1, c2, eps) -> None:
    # SparseAdam's rule on one row of a table; the row's summed gradient is then cleared.
    for k in range(W.shape[1]):
        g = G[row, k]
        m = b1 * M[row, k] + c1 * g
        v = b2 * V[row, k] + c2 * g * g
        M[row, k] = m
        V[row, k] = v
        W[row, k] -= size * (m / (np.sqrt(v) + eps))
        G[row, k] = 0.0


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
    squash = flags[4] != 0
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
    dW_part = np.empty((_CHUNKS, max_w * max_w + max_w), dtype=np.float32)
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
    p_drop = np.float32(dropout)
    inv_keep = np.float32(1.0 / (1.0 - dropout))
    threshold = np.uint64(dropout * 16777216.0)
    f_low = np.float32(low)
    f_span = np.float32(high - low)
    one_b1 = 1.0 - beta1
    one_b2 = 1.0 - beta2
    f_b1 = np.float32(beta1)
    f_b2 = np.float32(beta2)
    f_1b1 = np.float32(one_b1)
    f_1b2 = np.float32(one_b2)
    f_eps = np.float32(eps)
    sse = 0.0

    step = step0
    for start in range(0, n, batch_size):
        B = min(batch_size, n - start)
        step += 1
        inv_b = np.float32(1.0 / B)
        two_lu = np.float32(2.0 * l2_user / B)
        two_li = np.float32(2.0 * l2_item / B)
        two_lb = np.float32(2.0 * l2_bias / B)
        X0 = acts[: B * w0].reshape(B, w0)
        for c in nb.prange(_CHUNKS):
            for b in range(c * B // _CHUNKS, (c + 1) * B // _CHUNKS):
                u = ui[start + b]
                i = ii[start + b]
                for k in range(du):
                    X0[b, k] = P[u, k]
                for k in range(di):
                    X0[b, du + k] = Q[i, k]

        # ---- forward through the hidden layers
        in_off = 0
        g_off = 0
        unit0 = 0
        for layer in range(1, n_layers + 1):
            w_in = sizes[layer - 1]
            h = sizes[layer]
            a_off = in_off + B * w_in
            X = acts[in_off:a_off].reshape(B, w_in)
            Wt = theta[offs[2 * layer - 2] : offs[2 * layer - 2] + w_in * h].reshape(w_in, h)
            bias = theta[offs[2 * layer - 1] : offs[2 * layer - 1] + h]
            A = acts[a_off : a_off + B * h].reshape(B, h)
            G = gates[g_off : g_off + B * h].reshape(B, h)
            for c in nb.prange(_CHUNKS):
                for b in range(c * B // _CHUNKS, (c + 1) * B // _CHUNKS):
                    for j in range(h):
                        A[b, j] = bias[j]
                    for k in range(w_in):
                        xk = X[b, k]
                        for j in range(h):
                            A[b, j] += xk * Wt[k, j]
                    base = np.uint64((step * bmax + b) * total_h + unit0)
                    for j in range(h):
                        z = A[b, j]
                        g = np.float32(1.0) if z > 0 else np.float32(0.0)
                        if p_drop > 0 and g > 0:
                            if _keep(seed, base + np.uint64(j), threshold):
                                g = inv_keep
                            else:
                                g = np.float32(0.0)
                        G[b, j] = g
                        A[b, j] = z * g
            in_off = a_off
            g_off += B * h
            unit0 += h
        X_top = acts[in_off : in_off + B * last].reshape(B, last)

        # ---- output, biases, loss and d loss / d raw
        w_out = theta[o_out : o_out + last]
        b_out = theta[o_out_b]
        mu = theta[o_mu] if use_mu else np.float32(0.0)
        for c in nb.prange(_CHUNKS):
            acc = 0.0
            for b in range(c * B // _CHUNKS, (c + 1) * B // _CHUNKS):
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
                    draw[b] = np.float32(2.0) * err * inv_b * f_span * sig * (np.float32(1.0) - sig)
                else:
                    err = s - r[start + b]
                    draw[b] = np.float32(2.0) * err * inv_b
                acc += np.float64(err) * np.float64(err)
            sse_part[c] = acc

        # ---- backward: output layer, then the hidden layers from the top
        for c in nb.prange(_CHUNKS):
            for j in range(last + 2):
                part[c, j] = 0.0
            for b in range(c * B // _CHUNKS, (c + 1) * B // _CHUNKS):
                g = np.float64(draw[b])
                for j in range(last):
                    part[c, j] += X_top[b, j] * g
                part[c, last] += g
        for c in range(_CHUNKS):
            sse += sse_part[c]
        for j in range(last + 1):
            acc = 0.0
            for c in range(_CHUNKS):
                acc += part[c, j]
            grad[o_out + j] = np.float32(acc)
        if use_mu:
            grad[o_mu] = grad[o_out_b]
        par = n_layers % 2
        d_top = dbuf[par, : B * last].reshape(B, last)
        for c in nb.prange(_CHUNKS):
            for b in range(c * B // _CHUNKS, (c + 1) * B // _CHUNKS):
                for j in range(last):
                    d_top[b, j] = draw[b] * w_out[j]
        for layer in range(n_layers, 0, -1):
            w_in = sizes[layer - 1]
            h = sizes[layer]
            g_off -= B * h
            in_off -= B * w_in
            par = layer % 2
            dA = dbuf[par, : B * h].reshape(B, h)
            d_in = dbuf[1 - par, : B * w_in].reshape(B, w_in)
            G = gates[g_off : g_off + B * h].reshape(B, h)
            X_in = acts[in_off : in_off + B * w_in].reshape(B, w_in)
            o_w = offs[2 * layer - 2]
            o_b = offs[2 * layer - 1]
            Wt = theta[o_w : o_w + w_in * h].reshape(w_in, h)
            n_w = w_in * h
            # dA ⊙ gate; then per chunk: Σ x dAᵀ (weight), Σ dA (bias); d_in = dA Wtᵀ
            for c in nb.prange(_CHUNKS):
                part_w = dW_part[c]
                for x in range(n_w + h):
                    part_w[x] = 0.0
                for b in range(c * B // _CHUNKS, (c + 1) * B // _CHUNKS):
                    for j in range(h):
                        dA[b, j] *= G[b, j]
                        part_w[n_w + j] += dA[b, j]
                    for k in range(w_in):
                        xk = X_in[b, k]
                        for j in range(h):
                            part_w[k * h + j] += xk * dA[b, j]
                    for k in range(w_in):
                        acc32 = np.float32(0.0)
                        for j in range(h):
                            acc32 += dA[b, j] * Wt[k, j]
                        d_in[b, k] = acc32
            for x in range(n_w):
                acc32 = np.float32(0.0)
                for c in range(_CHUNKS):
                    acc32 += dW_part[c, x]
                grad[o_w + x] = acc32
            for j in range(h):
                acc32 = np.float32(0.0)
                for c in range(_CHUNKS):
                    acc32 += dW_part[c, n_w + j]
                grad[o_b + j] = acc32
        # d loss / d [p_u; q_i]
        dX = dbuf[0, : B * w0].reshape(B, w0)

        # ---- table gradients, accumulated in batch order
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
            g = draw[b]
            for k in range(du):
                gk = dX[b, k] + two_lu * X0[b, k]
                if dot:
                    gk += g * X0[b, du + k]
                gP[u, k] += gk
            for k in range(di):
                gk = dX[b, du + k] + two_li * X0[b, du + k]
                if dot:
                    gk += g * X0[b, k]
                gQ[i, k] += gk
            if use_bu:
                gbu[u, 0] += g + two_lb * bu[u, 0]
            if use_bi:
                gbi[i, 0] += g + two_lb * bi[i, 0]

        # ---- lazy Adam on the touched rows (SparseAdam's rule)
        t = float(step)
        size_rows = np.float32(lr * np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t))
        for x in nb.prange(n_tu):
            u = touched_u[x]
            _adam_row(P, mP, vP, gP, u, size_rows, f_b1, f_b2, f_1b1, f_1b2, f_eps)
            if use_bu:
                _adam_row(bu, mbu, vbu, gbu, u, size_rows, f_b1, f_b2, f_1b1, f_1b2, f_eps)
            seen_u[u] = False
        for x in nb.prange(n_ti):
            i = touched_i[x]
            _adam_row(Q, mQ, vQ, gQ, i, size_rows, f_b1, f_b2, f_1b1, f_1b2, f_eps)
            if use_bi:
                _adam_row(bi, mbi, vbi, gbi, i, size_rows, f_b1, f_b2, f_1b1, f_1b2, f_eps)
            seen_i[i] = False

        # ---- Adam on the dense parameters (torch.optim.Adam's rule)
        step_size = np.float32(lr / (1.0 - beta1**t))
        bc2_sqrt = np.float32(np.sqrt(1.0 - beta2**t))
        for x in range(n_theta):
            g = grad[x]
            m = m_theta[x] + f_1b1 * (g - m_theta[x])
            v = f_b2 * v_theta[x] + f_1b2 * g * g
            m_theta[x] = m
            v_theta[x] = v
            theta[x] -= step_size * m / (np.sqrt(v) / bc2_sqrt + f_eps)
    return sse
