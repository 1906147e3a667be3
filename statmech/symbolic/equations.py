"""Symbolic equations of motion of the order parameters (docs/theory/equations.md and
docs/theory/general_model.md), built from the derived integrals of :mod:`statmech.symbolic.integrals`.

With w = (-v/s_K, +vstar/s_M) over student and teacher fields and v~ = v/s_K:

- dR_in/dalpha = eta v~_i sum_a w_a I3(i, n, a) - kappa R_in
- dQ_ik/dalpha = eta v~_i sum_a w_a I3(i, k, a) + eta v~_k sum_a w_a I3(k, i, a)
  + (eta^2 / B) v~_i v~_k [sum_{a,b} w_a w_b I4(i, k, a, b) + sigma^2 J2(i, k)] - 2 kappa Q_ik
- dv_i/dalpha = (eta_v / s_K) sum_a w_a I2(i, a) - kappa v_i
- eps_g = (1/2) sum_{a,b} s_a s_b I2(a, b), s = (v/s_K, -vstar/s_M)

with the student's activation g on student fields and the teacher's g* on teacher fields
(Goldt et al. 2019; Saad & Solla 1995 for fixed v, 1996 for weight decay). The weight
decay kappa and the batch size B are symbols when asked for (``weight_decay=True``,
``mini_batch=True``); s_K, s_M are 1, sqrt(K), K (sqrt(M), M) by ``output_scale``.
The numba right-hand side ``statmech.ode.rhs`` implements the same equations by hand;
tests/symbolic/test_symbolic.py and tests/symbolic/test_general.py check it against these
expressions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike

from statmech.core.model import Model, output_scale_factor, resolve_model
from statmech.core.state import State
from statmech.core.vocabulary import OUTPUT_SCALES, check_choice
from statmech.integrals import kernels, mixed
from statmech.symbolic.integrals import C as _C
from statmech.symbolic.integrals import (
    check_activation,
    collapsed,
    derive,
    derive_mixed,
    mixed_i2,
    tilted_covariance,
)

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
    (M x M, symmetric), ``v`` (K), ``vstar`` (M), ``eta``, ``eta_v``, ``sigma``, ``kappa``
    (weight decay) and ``B`` (batch size; both appear only when asked for).
    Right-hand sides: ``dQ`` (K x K), ``dR`` (K x M), ``dv`` (K x 1), and ``eps_g``.
    With a ReLU student and ``unevaluated_i4`` the I4 integrals (no closed form) are
    undefined functions ``I4_relu_relu_<g_c>_<g_d>`` of the ten covariances, evaluated
    numerically by the quadrature kernel ``statmech.integrals.mixed.i4``.
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
    teacher_activation: str = "erf"
    output_scale: str = "1"
    weight_decay: bool = False
    mini_batch: bool = False
    kappa: sp.Symbol = sp.Symbol("kappa", nonnegative=True)
    B: sp.Symbol = sp.Symbol("B", positive=True)
    numeric: tuple = ()

    # ------------------------------------------------------------ evaluation
    @property
    def arguments(self) -> list:
        """Flat argument list of :meth:`function`: Q (i <= k), R, T (n <= m), v, vstar, eta, eta_v, sigma, kappa, B."""
        Q = [self.Q[i, k] for i, k in zip(*np.triu_indices(self.K))]
        T = [self.T[n, m] for n, m in zip(*np.triu_indices(self.M))]
        return [*Q, *self.R, *T, *self.v, *self.vstar, self.eta, self.eta_v, self.sigma, self.kappa, self.B]

    @property
    def packed(self) -> list:
        """[dQ.ravel(), dR.ravel(), dv]: the order of ``statmech.ode.pack``."""
        return [*self.dQ, *self.dR, *self.dv]

    def function(self, modules: str = "numpy") -> Callable[..., Any]:
        """A callable f(*arguments) -> [*packed, eps_g], lambdified with common subexpressions."""
        return _lambdify(self, modules)

    def _values(self, Q, R, T, v, vstar, eta, eta_v, sigma, kappa=0.0, B=1.0):
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
            kappa,
            B,
        ]

    def model(self, **fields: Any) -> Model:
        """The :class:`statmech.core.model.Model` of these equations with the numbers ``fields``."""
        return Model(
            activation=self.activation,
            teacher_activation=self.teacher_activation,
            output_scale=self.output_scale,
            **fields,
        )

    def _numbers(self, model, fields) -> tuple:
        """(eta, eta_v, sigma, kappa, B) from a Model matching these equations, or from keywords."""
        if model is None:
            eta_v = fields.pop("eta_v", None)
            if "eta" not in fields or eta_v is None:
                raise ValueError("give a model or eta= and eta_v= (the second-layer rate; 0 for fixed v)")
            model = self.model(eta_v=eta_v, **fields)
        else:
            model = resolve_model(model, **fields)
            for name in ("activation", "teacher_activation", "output_scale"):
                if getattr(model, name) != getattr(self, name):
                    raise ValueError(
                        f"model.{name}={getattr(model, name)!r} but the equations were derived for {getattr(self, name)!r}"
                    )
        if model.weight_decay != 0 and not self.weight_decay:
            raise ValueError(f"weight_decay={model.weight_decay} but the equations have no weight decay term")
        if model.batch_size != 1 and not self.mini_batch:
            raise ValueError(f"batch_size={model.batch_size} but the equations were derived for B = 1")
        return model.eta, model.eta_v, model.sigma, model.weight_decay, float(model.batch_size)

    def rhs(self, state: State, model: Model | None = None, *, modules: str = "numpy", **fields: Any) -> np.ndarray:
        """The right-hand side at a ``statmech.State``, packed like ``statmech.ode.rhs``.

        ``model`` (its activations and output scaling must be these equations') or the
        numbers as keywords: ``eta``, ``eta_v``, ``sigma``, ``weight_decay``, ``batch_size``.
        """
        self._check_state(state)
        numbers = self._numbers(model, dict(fields))
        out = self.function(modules)(*self._values(state.Q, state.R, state.T, state.v, state.vstar, *numbers))
        return np.array([float(x) for x in out[:-1]])

    def eps_g_at(self, state: State, modules: str = "numpy") -> float:
        """eps_g at a ``statmech.State`` from the symbolic expression."""
        self._check_state(state)
        out = self.function(modules)(*self._values(state.Q, state.R, state.T, state.v, state.vstar, 0, 0, 0))
        return float(out[-1])

    def packed_rhs(
        self,
        T: ArrayLike,
        vstar: ArrayLike,
        *,
        eta: float,
        eta_v: float,
        sigma: float = 0.0,
        weight_decay: float = 0.0,
        batch_size: int = 1,
    ) -> Callable[[float, np.ndarray], np.ndarray]:
        """f(alpha, y) for ``scipy.integrate.solve_ivp``, y packed like ``statmech.ode.pack``."""
        _check_rates(eta, eta_v, sigma)
        _, _, _, kappa, B = self._numbers(
            None, dict(eta=eta, eta_v=eta_v, weight_decay=weight_decay, batch_size=batch_size)
        )
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
            return np.array(f(*y[upper], *R, *Tu, *v, *vstar, eta, eta_v, sigma, kappa, B)[:-1], dtype=float)

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

    def substituted(self, values: dict) -> Equations:
        """A copy with symbols replaced by numbers in every right-hand side (for printing), e.g. {eqs.kappa: 0.01}."""
        sub = {k: sp.nsimplify(v) for k, v in values.items()}
        return replace(
            self,
            dQ=self.dQ.xreplace(sub),
            dR=self.dR.xreplace(sub),
            dv=self.dv.xreplace(sub),
            eps_g=self.eps_g.xreplace(sub),
        )


def _check_rates(eta, eta_v, sigma):
    for name, value in (("eta", eta), ("eta_v", eta_v), ("sigma", sigma)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


@lru_cache(maxsize=32)
def _lambdify(eqs: Equations, modules):
    if isinstance(modules, list):
        modules = tuple(modules)
    mods = modules if isinstance(modules, tuple) else (modules,)
    if eqs.numeric:  # undefined I4 functions, evaluated by the quadrature kernel
        mods = ({name: _numeric_i4(*codes) for name, codes in eqs.numeric}, *mods)
    return sp.lambdify(eqs.arguments, [*eqs.packed, eqs.eps_g], modules=list(mods), cse=True)


def _numeric_i4(act_a, act_b, act_c, act_d):
    a, b, c, d = (kernels.activation_code(x) for x in (act_a, act_b, act_c, act_d))

    def f(*args):
        return mixed.i4(a, b, c, d, *(float(x) for x in args))

    return f


def _self_i2(activation: str, x):
    """E[g(u)^2] for u ~ N(0, x): one field, no roots of differences (which may round below zero)."""
    if activation == "erf":
        return 2 / sp.pi * sp.asin(x / (1 + x))
    if activation == "linear":
        return x
    return x / 2


@lru_cache(maxsize=64)
def equations(
    K: int,
    M: int,
    activation: str = "erf",
    train_second_layer: bool = True,
    noise: bool = True,
    *,
    teacher_activation: str | None = None,
    weight_decay: bool = False,
    mini_batch: bool = False,
    output_scale: str = "1",
    unevaluated_i4: bool = False,
) -> Equations:
    """The equations of motion of docs/theory/general_model.md for K students, M teachers, as sympy expressions.

    ``activation`` is the student's g, ``teacher_activation`` the teacher's g* (default: g);
    ``train_second_layer=False`` gives the soft committee machine (dv = 0, no eta_v);
    ``noise=False`` drops the output-noise term sigma^2 J2; ``weight_decay=True`` adds
    the decay terms with the symbol kappa, ``mini_batch=True`` divides the O(eta^2) terms
    by the symbol B; ``output_scale`` ("1", "sqrt", "K") sets s_K and s_M. A ReLU student
    has no closed-form I4: an error, or with ``unevaluated_i4=True`` undefined functions
    evaluated numerically (see :class:`Equations`). Results are cached per process.
    """
    for name, value in (("K", K), ("M", M)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    K, M = int(K), int(M)
    check_activation(activation)
    teacher = activation if teacher_activation is None else teacher_activation
    check_activation(teacher)
    check_choice("output_scale", output_scale, OUTPUT_SCALES)
    if activation == "relu" and not unevaluated_i4:
        raise ValueError(
            f"activation {activation!r} has no closed-form I4, so its equations of motion "
            f"cannot be written in closed form; use 'erf' or 'linear' (or unevaluated_i4=True)"
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
    kappa = sp.Symbol("kappa", nonnegative=True)
    B = sp.Symbol("B", positive=True)
    decay = kappa if weight_decay else sp.Integer(0)
    batch = B if mini_batch else sp.Integer(1)
    scale = {"1": sp.Integer(1), "sqrt": sp.sqrt(sp.Integer(K)), "K": sp.Integer(K)}[output_scale]
    scale_t = {"1": sp.Integer(1), "sqrt": sp.sqrt(sp.Integer(M)), "K": sp.Integer(M)}[output_scale]
    assert float(scale) == output_scale_factor(output_scale, K)

    C = sp.Matrix(sp.BlockMatrix([[Q, R], [R.T, T]]))  # covariance of (lambda, nu), docs/theory/model.md
    n = K + M
    act = [activation] * K + [teacher] * M
    vt = [v[i] / scale for i in range(K)]  # the student's effective second-layer weights
    w = [-vt[i] for i in range(K)] + [vstar[m] / scale_t for m in range(M)]
    numeric: dict = {}

    def at_fields(expr, fields):
        """A generic expression of :data:`statmech.symbolic.integrals.C` at fields (a, b, ...) of C."""
        pos = dict(zip("abcd", fields))
        return expr.xreplace(
            {sym: C[pos[sym.name[2]], pos[sym.name[3]]] for sym in expr.free_symbols if sym.name.startswith("C_")}
        )

    def integral(g, kind, *fields):
        """A single-activation integral at fields (a, b, ...) of C, coinciding fields merged."""
        letters, pattern = {}, ""
        for f in fields:
            letters.setdefault(f, "abcd"[len(letters)])
            pattern += letters[f]
        pos = {letter: f for f, letter in letters.items()}
        expr = collapsed(g, kind, pattern)
        return expr.xreplace(
            {sym: C[pos[sym.name[2]], pos[sym.name[3]]] for sym in expr.free_symbols if sym.name.startswith("C_")}
        )

    def i2(a, b):
        if act[a] == act[b]:
            return integral(act[a], "i2", a, b)
        return at_fields(mixed_i2(act[a], act[b]), (a, b))

    def i3(i, b, c):  # g' of the student i, g of field c
        if act[c] == activation:
            return integral(activation, "i3", i, b, c)
        return at_fields(derive_mixed(activation, act[c])["i3"], (i, b, c))

    def i4(i, k, c, d):  # g' of students i, k; g of fields c, d
        if act[c] == act[d] == activation and activation != "relu":
            return integral(activation, "i4", i, k, c, d)
        if activation == "linear":  # g' = 1
            return i2(c, d)
        if activation == "erf":  # tilt by g'(u_i) g'(u_k): J2(i, k) times I2 of (c, d) under the tilted covariance
            S = tilted_covariance()
            sub = {
                sym: C[dict(zip("abcd", (i, k, c, d)))[sym.name[2]], dict(zip("abcd", (i, k, c, d)))[sym.name[3]]]
                for sym in set().union(*(x.free_symbols for x in S))
            }
            S = S.xreplace(sub)
            if c == d:
                inner = _self_i2(act[c], S[0, 0])
            elif act[c] == act[d]:
                inner = derive(act[c]).i2.xreplace({_C["aa"]: S[0, 0], _C["bb"]: S[1, 1], _C["ab"]: S[0, 1]})
            else:
                inner = mixed_i2(act[c], act[d]).xreplace({_C["aa"]: S[0, 0], _C["bb"]: S[1, 1], _C["ab"]: S[0, 1]})
            return integral("erf", "j2", i, k) * inner
        name = f"I4_relu_relu_{act[c]}_{act[d]}"
        numeric[name] = ("relu", "relu", act[c], act[d])
        f = sp.Function(name)
        idx = (i, k, c, d)
        pairs = [(0, 0), (1, 1), (2, 2), (3, 3), (0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
        return f(*[C[idx[p], idx[q]] for p, q in pairs])

    I2 = [[i2(a, b) for b in range(n)] for a in range(n)]
    # S3[i][b] = sum_a w_a I3(i, b, a)
    S3 = [[sum(w[a] * i3(i, b, a) for a in range(n)) for b in range(n)] for i in range(K)]
    dQ = [[None] * K for _ in range(K)]
    for i in range(K):
        for k in range(i, K):
            # I4 is symmetric in its last two fields: sum over c <= d with weight 2 off the diagonal
            s4 = sum((1 if c == d else 2) * w[c] * w[d] * i4(i, k, c, d) for c in range(n) for d in range(c, n))
            second = s4 + (sigma**2 * integral(activation, "j2", i, k) if noise else 0)
            dQ[i][k] = dQ[k][i] = (
                eta * (vt[i] * S3[i][k] + vt[k] * S3[k][i])
                + eta**2 / batch * vt[i] * vt[k] * second
                - 2 * decay * Q[i, k]
            )
    dR = [[eta * vt[i] * S3[i][K + m] - decay * R[i, m] for m in range(M)] for i in range(K)]
    if train_second_layer:
        dv = [eta_v / scale * sum(w[a] * I2[i][a] for a in range(n)) - decay * v[i] for i in range(K)]
    else:
        dv = [sp.Integer(0)] * K
    s = [vt[i] for i in range(K)] + [-w[K + m] for m in range(M)]
    eps_g = sp.Rational(1, 2) * sum(s[a] * s[b] * I2[a][b] for a in range(n) for b in range(n))
    if activation == teacher == "linear":  # polynomial: expanding makes the structure visible
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
        teacher_activation=teacher,
        output_scale=output_scale,
        weight_decay=bool(weight_decay),
        mini_batch=bool(mini_batch),
        kappa=kappa,
        B=B,
        numeric=tuple(sorted(numeric.items())),
    )
