"""Symbolic equations of motion of the order parameters (docs/theory/equations.md), built from
the derived integrals of :mod:`statmech.symbolic.integrals`.

With w = (-v, +vstar) over student and teacher fields:

- dR_in/dalpha = eta v_i sum_a w_a I3(i, n, a)
- dQ_ik/dalpha = eta v_i sum_a w_a I3(i, k, a) + eta v_k sum_a w_a I3(k, i, a)
  + eta^2 v_i v_k [sum_{a,b} w_a w_b I4(i, k, a, b) + sigma^2 J2(i, k)]
- dv_i/dalpha = eta_v sum_a w_a I2(i, a)
- eps_g = (1/2) sum_{a,b} s_a s_b I2(a, b), s = (v, -vstar)

(Goldt et al. 2019; Saad & Solla 1995 for fixed v). The numba right-hand side
``statmech.ode.rhs`` implements the same equations by hand; tests/symbolic/test_symbolic.py
checks it against these expressions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from statmech.symbolic.integrals import check_activation, collapsed, derive

__all__ = ["Equations", "equations"]


def _name(prefix, *idx):
    """Q_12 for small indices, Q_1,12 when an index has two digits (1-based like the paper)."""
    parts = [str(i + 1) for i in idx]
    sep = "," if any(len(p) > 1 for p in parts) else ""
    return f"{prefix}_{sep.join(parts)}"


@dataclass(frozen=True, eq=False)
class Equations:
    """Equations of motion for K students and M teachers as sympy expressions.

    Symbols: ``Q`` (K x K, symmetric: Q_ki is the symbol Q_ik), ``R`` (K x M), ``T``
    (M x M, symmetric), ``v`` (K), ``vstar`` (M), ``eta``, ``eta_v``, ``sigma``.
    Right-hand sides: ``dQ`` (K x K), ``dR`` (K x M), ``dv`` (K x 1), and ``eps_g``.
    """

    K: int
    M: int
    activation: str
    train_second_layer: bool
    noise: bool
    Q: sp.ImmutableMatrix
    R: sp.ImmutableMatrix
    T: sp.ImmutableMatrix
    v: sp.ImmutableMatrix
    vstar: sp.ImmutableMatrix
    eta: sp.Symbol
    eta_v: sp.Symbol
    sigma: sp.Symbol
    dQ: sp.ImmutableMatrix
    dR: sp.ImmutableMatrix
    dv: sp.ImmutableMatrix
    eps_g: sp.Expr

    # ------------------------------------------------------------ evaluation
    @property
    def arguments(self) -> list:
        """Flat argument list of :meth:`function`: Q (i <= k), R, T (n <= m), v, vstar, eta, eta_v, sigma."""
        Q = [self.Q[i, k] for i, k in zip(*np.triu_indices(self.K))]
        T = [self.T[n, m] for n, m in zip(*np.triu_indices(self.M))]
        return [*Q, *self.R, *T, *self.v, *self.vstar, self.eta, self.eta_v, self.sigma]

    @property
    def packed(self) -> list:
        """[dQ.ravel(), dR.ravel(), dv]: the order of ``statmech.ode.pack``."""
        return [*self.dQ, *self.dR, *self.dv]

    def function(self, modules="numpy"):
        """A callable f(*arguments) -> [*packed, eps_g], lambdified with common subexpressions."""
        return _lambdify(self, modules)

    def _values(self, Q, R, T, v, vstar, eta, eta_v, sigma):
        Q, R, T = (np.asarray(a, dtype=float) for a in (Q, R, T))
        return [
            *Q[np.triu_indices(self.K)],
            *R.ravel(),
            *T[np.triu_indices(self.M)],
            *np.ravel(v),
            *np.ravel(vstar),
            eta,
            eta_v,
            sigma,
        ]

    def rhs(self, state, *, eta: float, eta_v: float, sigma: float = 0.0, modules="numpy") -> np.ndarray:
        """The right-hand side at a ``statmech.State``, packed like ``statmech.ode.rhs``."""
        self._check_state(state)
        _check_rates(eta, eta_v, sigma)
        out = self.function(modules)(*self._values(state.Q, state.R, state.T, state.v, state.vstar, eta, eta_v, sigma))
        return np.array([float(x) for x in out[:-1]])

    def eps_g_at(self, state, modules="numpy") -> float:
        """eps_g at a ``statmech.State`` from the symbolic expression."""
        self._check_state(state)
        out = self.function(modules)(*self._values(state.Q, state.R, state.T, state.v, state.vstar, 0, 0, 0))
        return float(out[-1])

    def packed_rhs(self, T, vstar, *, eta: float, eta_v: float, sigma: float = 0.0):
        """f(alpha, y) for ``scipy.integrate.solve_ivp``, y packed like ``statmech.ode.pack``."""
        _check_rates(eta, eta_v, sigma)
        f = self.function("numpy")
        K, M = self.K, self.M
        T = np.asarray(T, dtype=float)
        vstar = np.asarray(vstar, dtype=float)
        if T.shape != (M, M) or vstar.shape != (M,):
            raise ValueError(f"T must be {M}x{M} and vstar of length {M}, got {T.shape} and {vstar.shape}")

        upper = np.ravel_multi_index(np.triu_indices(K), (K, K))
        Tu = T[np.triu_indices(M)]

        def fun(alpha, y):
            R = y[K * K : K * K + K * M]
            v = y[K * K + K * M :]
            return np.array(f(*y[upper], *R, *Tu, *v, *vstar, eta, eta_v, sigma)[:-1], dtype=float)

        return fun

    def _check_state(self, state):
        if (state.K, state.M) != (self.K, self.M):
            raise ValueError(f"state has K={state.K}, M={state.M} but the equations are for K={self.K}, M={self.M}")

    # -------------------------------------------------------------- printing
    def lines(self, latex: bool = False) -> list:
        """One line per independent equation (dQ_ik with i <= k, dR, dv), then eps_g."""
        alpha = sp.Symbol("alpha")
        names = {sym: f"v^{{*}}_{{{sym.name.split('_', 1)[1]}}}" for sym in self.vstar}

        def pr(expr):
            return sp.latex(expr, symbol_names=names) if latex else sp.sstr(expr)

        out = []

        def eq(lhs, rhs):
            if latex:
                out.append(rf"\frac{{d {pr(lhs)}}}{{d\alpha}} = {pr(rhs)}")
            else:
                out.append(f"d{lhs}/d{alpha} = {pr(rhs)}")

        for i in range(self.K):
            for k in range(i, self.K):
                eq(self.Q[i, k], self.dQ[i, k])
        for i in range(self.K):
            for n in range(self.M):
                eq(self.R[i, n], self.dR[i, n])
        if self.train_second_layer:
            for i in range(self.K):
                eq(self.v[i], self.dv[i])
        if latex:
            out.append(rf"\epsilon_g = {pr(self.eps_g)}")
        else:
            out.append(f"eps_g = {pr(self.eps_g)}")
        return out

    def text(self, latex: bool = False) -> str:
        return "\n".join(self.lines(latex))


def _check_rates(eta, eta_v, sigma):
    for name, value in (("eta", eta), ("eta_v", eta_v), ("sigma", sigma)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


@lru_cache(maxsize=32)
def _lambdify(eqs: Equations, modules):
    if isinstance(modules, list):
        modules = tuple(modules)
    return sp.lambdify(eqs.arguments, [*eqs.packed, eqs.eps_g], modules=modules, cse=True)


@lru_cache(maxsize=64)
def equations(
    K: int, M: int, activation: str = "erf", train_second_layer: bool = True, noise: bool = True
) -> Equations:
    """The equations of motion of docs/theory/equations.md for K students, M teachers, as sympy expressions.

    ``train_second_layer=False`` gives the soft committee machine (dv = 0, no eta_v);
    ``noise=False`` drops the output-noise term sigma^2 J2. Results are cached per process.
    """
    for name, value in (("K", K), ("M", M)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    K, M = int(K), int(M)
    check_activation(activation)
    ints = derive(activation)
    if ints.i4 is None:
        raise ValueError(
            f"activation {activation!r} has no closed-form I4, so its equations of motion "
            f"cannot be written in closed form; use 'erf' or 'linear'"
        )

    Qs = [[None] * K for _ in range(K)]
    for i in range(K):
        for k in range(i, K):
            Qs[i][k] = Qs[k][i] = (
                sp.Symbol(_name("Q", i, k), positive=True) if i == k else sp.Symbol(_name("Q", i, k), real=True)
            )
    Ts = [[None] * M for _ in range(M)]
    for n in range(M):
        for m in range(n, M):
            Ts[n][m] = Ts[m][n] = (
                sp.Symbol(_name("T", n, m), positive=True) if n == m else sp.Symbol(_name("T", n, m), real=True)
            )
    Q = sp.ImmutableMatrix(Qs)
    T = sp.ImmutableMatrix(Ts)
    R = sp.ImmutableMatrix(K, M, lambda i, n: sp.Symbol(_name("R", i, n), real=True))
    v = sp.ImmutableMatrix(K, 1, lambda i, _: sp.Symbol(_name("v", i), real=True))
    vstar = sp.ImmutableMatrix(M, 1, lambda n, _: sp.Symbol(_name("vstar", n), real=True))
    eta = sp.Symbol("eta", nonnegative=True)
    eta_v = sp.Symbol("eta_v", nonnegative=True)
    sigma = sp.Symbol("sigma", nonnegative=True)

    C = sp.Matrix(sp.BlockMatrix([[Q, R], [R.T, T]]))  # covariance of (lambda, nu), docs/theory/model.md
    n = K + M
    w = [-v[i] for i in range(K)] + [vstar[m] for m in range(M)]

    def integral(kind, *fields):
        """The derived expression of one integral at fields (a, b, ...) of C, coinciding fields merged."""
        letters, pattern = {}, ""
        for f in fields:
            letters.setdefault(f, "abcd"[len(letters)])
            pattern += letters[f]
        pos = {letter: f for f, letter in letters.items()}
        expr = collapsed(activation, kind, pattern)
        return expr.xreplace(
            {sym: C[pos[sym.name[2]], pos[sym.name[3]]] for sym in expr.free_symbols if sym.name.startswith("C_")}
        )

    I2 = [[integral("i2", a, b) for b in range(n)] for a in range(n)]
    # S3[i][b] = sum_a w_a I3(i, b, a)
    S3 = [[sum(w[a] * integral("i3", i, b, a) for a in range(n)) for b in range(n)] for i in range(K)]
    dQ = [[None] * K for _ in range(K)]
    for i in range(K):
        for k in range(i, K):
            # I4 is symmetric in its last two fields: sum over c <= d with weight 2 off the diagonal
            s4 = sum(
                (1 if c == d else 2) * w[c] * w[d] * integral("i4", i, k, c, d) for c in range(n) for d in range(c, n)
            )
            second = s4 + (sigma**2 * integral("j2", i, k) if noise else 0)
            dQ[i][k] = dQ[k][i] = eta * (v[i] * S3[i][k] + v[k] * S3[k][i]) + eta**2 * v[i] * v[k] * second
    dR = [[eta * v[i] * S3[i][K + m] for m in range(M)] for i in range(K)]
    if train_second_layer:
        dv = [eta_v * sum(w[a] * I2[i][a] for a in range(n)) for i in range(K)]
    else:
        dv = [sp.Integer(0)] * K
    s = [v[i] for i in range(K)] + [-vstar[m] for m in range(M)]
    eps_g = sp.Rational(1, 2) * sum(s[a] * s[b] * I2[a][b] for a in range(n) for b in range(n))
    if activation == "linear":  # polynomial: expanding makes the structure visible
        dQ = [[sp.expand(x) for x in row] for row in dQ]
        dR = [[sp.expand(x) for x in row] for row in dR]
        dv = [sp.expand(x) for x in dv]
        eps_g = sp.expand(eps_g)
    return Equations(
        K=K,
        M=M,
        activation=activation,
        train_second_layer=bool(train_second_layer),
        noise=bool(noise),
        Q=Q,
        R=R,
        T=T,
        v=v,
        vstar=vstar,
        eta=eta,
        eta_v=eta_v,
        sigma=sigma,
        dQ=sp.ImmutableMatrix(dQ),
        dR=sp.ImmutableMatrix(dR),
        dv=sp.ImmutableMatrix(K, 1, dv),
        eps_g=eps_g,
    )
