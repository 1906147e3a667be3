"""Symbolic derivation of the Gaussian integrals of docs/theory/integrals.md (sympy).

This module is the single source of truth for I2, J2, I3, I4. The numba kernels
in ``statmech.integrals.{erf,linear,relu}`` are hand-written for speed;
``tests/symbolic/test_symbolic.py`` checks every one of them against the expressions
derived here, lambdified, at 1,000 random valid covariances to 1e-12.

The derivation starts from I2(a,b) = E[g(u_a) g(u_b)] of an activation and uses

- Price's theorem: dE[F(u_a) G(u_b)]/dC_ab = E[F' G'] (a != b) and
  dE[F(u_a) ...]/dC_aa = E[F'' ...] / 2;
- Stein's lemma: E[u_b F(u)] = sum_j C_bj E[dF/du_j].

Hence J2(a,b) = dI2/dC_ab and, with F = g'(u_a) g(u_c),
I3(a,b,c) = C_ab E[g''(u_a) g(u_c)] + C_bc E[g'(u_a) g'(u_c)]
          = 2 C_ab dI2(a,c)/dC_aa + C_bc dI2(a,c)/dC_ac.

I4 for erf is the literature form (Saad & Solla 1995; docs/theory/integrals.md). It
is checked here, not trusted: :func:`i4_erf_tilted` derives it independently
(g' of erf is a Gaussian, so g'(u_a) g'(u_b) tilts the measure and I4 becomes
J2(a,b) times an I2 under the tilted covariance), :func:`i4_price_identities`
lists the Price relations its derivatives must satisfy (one against
E[g'g'g'g'], itself an elementary Gaussian integral) and
:func:`i4_special_cases` the limits that reduce it to lower integrals. For the
linear activation g' = 1, so I4(a,b,c,d) = I2(c,d) is derived. ReLU I4 has
no closed form (the numba kernel is a quadrature), so it is ``None`` here;
:func:`relu_i4_closed_forms` gives it on special manifolds and its Price
derivative dI4/dC_ab in closed form, against which the kernel is tested.

All expressions are functions of the generic covariance symbols ``C_aa, C_bb,
...`` (:data:`C`); :data:`ARGS` gives their order, the same as the argument
order of the numba kernels.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import sympy as sp

__all__ = [
    "ACTIVATIONS",
    "C",
    "ARGS",
    "Integrals",
    "activation_function",
    "starting_i2",
    "derive",
    "literature",
    "i4_erf_tilted",
    "tilted_covariance",
    "j4",
    "i4_price_identities",
    "i4_special_cases",
    "check_activation",
    "price",
    "collapsed",
    "relu_i4_closed_forms",
    "mean_derivative",
    "mixed_i2",
    "derive_mixed",
    "mixed_i4_tilted",
]

ACTIVATIONS = ("erf", "linear", "relu")

# Generic covariance entries of four fields a, b, c, d. Variances are
# positive (ReLU needs C_aa > 0; for erf 1 + C_aa > 0 suffices); covariances real.
C = {name: sp.Symbol(f"C_{name}", positive=True) for name in ("aa", "bb", "cc", "dd")}
C.update({name: sp.Symbol(f"C_{name}", real=True) for name in ("ab", "ac", "ad", "bc", "bd", "cd")})
caa, cbb, ccc, cdd = C["aa"], C["bb"], C["cc"], C["dd"]
cab, cac, cad, cbc, cbd, ccd = C["ab"], C["ac"], C["ad"], C["bc"], C["bd"], C["cd"]

#: argument order of each integral, identical to the numba kernels' signatures
ARGS = {
    "i2": (caa, cbb, cab),
    "j2": (caa, cbb, cab),
    "i3": (caa, cbb, ccc, cab, cac, cbc),
    "i4": (caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd),
}

u = sp.Symbol("u", real=True)


class Integrals(NamedTuple):
    """The four integrals of one activation as sympy expressions in :data:`C` (i4 may be None)."""

    activation: str
    i2: sp.Expr
    j2: sp.Expr
    i3: sp.Expr
    i4: sp.Expr | None


def check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}")
    return activation


def activation_function(activation: str) -> sp.Expr:
    """g(u) as a sympy expression in :data:`u` (docs/theory/model.md)."""
    check_activation(activation)
    if activation == "erf":
        return sp.erf(u / sp.sqrt(2))
    if activation == "linear":
        return u
    return sp.Max(0, u)


def starting_i2(activation: str) -> sp.Expr:
    """I2(a,b) = E[g(u_a) g(u_b)], the one integral the derivation starts from.

    erf: (2/pi) asin(C_ab / sqrt((1+C_aa)(1+C_bb))) (Saad & Solla 1995);
    linear: C_ab; relu: the degree-one arc-cosine kernel (Cho & Saul 2009),
    (sqrt(C_aa C_bb - C_ab^2) + (pi - acos(rho)) C_ab) / (2 pi), rho = C_ab / sqrt(C_aa C_bb).
    """
    check_activation(activation)
    if activation == "erf":
        return 2 / sp.pi * sp.asin(cab / sp.sqrt((1 + caa) * (1 + cbb)))
    if activation == "linear":
        return cab
    rho = cab / sp.sqrt(caa * cbb)
    return (sp.sqrt(caa * cbb - cab**2) + (sp.pi - sp.acos(rho)) * cab) / (2 * sp.pi)


def price(expr: sp.Expr, x: sp.Symbol, y: sp.Symbol) -> sp.Expr:
    """Price's theorem: E[F'(u_x) G'(u_y)] = dE[F G]/dC_xy for x != y, E[F''(u_x) ...] = 2 dE/dC_xx.

    ``x`` and ``y`` are field letters ('a'..'d'); ``expr`` an expectation in :data:`C`.
    """
    if x == y:
        return 2 * sp.diff(expr, C[x + x])
    return sp.diff(expr, C["".join(sorted(x + y))])


def _rename(expr: sp.Expr, mapping: dict) -> sp.Expr:
    """Relabel fields, e.g. {'b': 'c'} turns I2(a,b) into I2(a,c)."""

    def rename(name):
        return "".join(sorted(mapping.get(ch, ch) for ch in name))

    return expr.xreplace({sym: C[rename(name)] for name, sym in C.items()})


@cache
def derive(activation: str = "erf") -> Integrals:
    """J2 by Price's theorem and I3 by Stein's lemma + Price, from :func:`starting_i2`; simplified.

    I4: derived as (g')^2 I2(c,d) when g' is constant (linear); the literature form for erf
    (checked by :func:`i4_erf_tilted`, :func:`i4_price_identities`, :func:`i4_special_cases`);
    None for ReLU (no closed form).
    """
    check_activation(activation)
    I2 = starting_i2(activation)
    # Price: d/dC_ab E[g(u_a) g(u_b)] = E[g'(u_a) g'(u_b)]
    J2 = sp.simplify(price(I2, "a", "b"))
    # Stein on E[u_b g'(u_a) g(u_c)] with derivatives moved onto I2(a,c) by Price
    I2ac = _rename(I2, {"b": "c"})
    I3 = sp.simplify(cab * price(I2ac, "a", "a") + cbc * price(I2ac, "a", "c"))
    gprime = sp.diff(activation_function(activation), u)
    if activation == "relu":
        I4 = None
    elif gprime.free_symbols == set():
        # g' constant: E[g' g' g(u_c) g(u_d)] = g'^2 I2(c, d)
        I4 = sp.simplify(gprime**2 * _rename(I2, {"a": "c", "b": "d"}))
    else:
        I4 = literature("erf")["i4"]
    return Integrals(activation, I2, J2, I3, I4)


def literature(activation: str = "erf") -> dict:
    """Closed forms as printed in the literature (docs/theory/integrals.md; relu.py docstrings), for checks.

    These are targets the derivation must reproduce, not inputs to it (except erf I4).
    """
    check_activation(activation)
    if activation == "erf":
        L3 = (1 + caa) * (1 + ccc) - cac**2
        L4 = (1 + caa) * (1 + cbb) - cab**2
        L0 = L4 * ccd - cbc * cbd * (1 + caa) - cac * cad * (1 + cbb) + cab * cac * cbd + cab * cad * cbc
        L1 = L4 * (1 + ccc) - cbc**2 * (1 + caa) - cac**2 * (1 + cbb) + 2 * cab * cac * cbc
        L2 = L4 * (1 + cdd) - cbd**2 * (1 + caa) - cad**2 * (1 + cbb) + 2 * cab * cad * cbd
        return {
            "i2": 2 / sp.pi * sp.asin(cab / sp.sqrt((1 + caa) * (1 + cbb))),
            "j2": 2 / sp.pi / sp.sqrt((1 + caa) * (1 + cbb) - cab**2),
            "i3": 2 / sp.pi / sp.sqrt(L3) * (cbc * (1 + caa) - cab * cac) / (1 + caa),
            "i4": 4 / sp.pi**2 / sp.sqrt(L4) * sp.asin(L0 / sp.sqrt(L1 * L2)),
        }
    if activation == "linear":
        return {"i2": cab, "j2": sp.Integer(1), "i3": cbc, "i4": ccd}
    rho = cab / sp.sqrt(caa * cbb)
    j2 = sp.Rational(1, 4) + sp.asin(rho) / (2 * sp.pi)
    return {
        "i2": starting_i2("relu"),
        "j2": j2,
        "i3": cab * sp.sqrt(caa * ccc - cac**2) / (2 * sp.pi * caa) + cbc * _rename(j2, {"b": "c"}),
        "i4": None,
    }


# ------------------------------------------------------------- checks of erf I4
def _erf_gprime_is_gaussian() -> sp.Expr:
    """g'(u) for erf, asserting it is sqrt(2/pi) exp(-u^2/2) (what the tilting arguments use)."""
    gp = sp.diff(activation_function("erf"), u)
    if sp.simplify(gp - sp.sqrt(2 / sp.pi) * sp.exp(-(u**2) / 2)) != 0:  # pragma: no cover - sympy invariant
        raise AssertionError(f"unexpected erf derivative {gp}")
    return gp


@cache
def j4() -> sp.Expr:
    """E[g'(u_a) g'(u_b) g'(u_c) g'(u_d)] for erf = (4/pi^2) det(I + C)^(-1/2).

    g' = sqrt(2/pi) exp(-u^2/2), and E[exp(-u.u/2)] = det(I + C)^(-1/2) for u ~ N(0, C):
    an elementary Gaussian integral, independent of the I4 formula.
    """
    _erf_gprime_is_gaussian()
    Cm = sp.Matrix([[caa, cab, cac, cad], [cab, cbb, cbc, cbd], [cac, cbc, ccc, ccd], [cad, cbd, ccd, cdd]])
    return 4 / sp.pi**2 / sp.sqrt(sp.expand((sp.eye(4) + Cm).det()))


@cache
def tilted_covariance() -> sp.ImmutableMatrix:
    """Covariance of (u_c, u_d) under the measure tilted by exp(-(u_a^2 + u_b^2)/2).

    Woodbury: S = C_cd,cd - C_cd,ab (I + C_ab,ab)^(-1) C_ab,cd (a 2 x 2 matrix, rational in C).
    In docs/theory/integrals.md's notation S_cd = L0 / L4, 1 + S_cc = L1 / L4, 1 + S_dd = L2 / L4.
    """
    A = sp.Matrix([[1 + caa, cab], [cab, 1 + cbb]])
    B = sp.Matrix([[cac, cad], [cbc, cbd]])
    S = sp.Matrix([[ccc, ccd], [ccd, cdd]]) - B.T * A.inv() * B
    return sp.ImmutableMatrix(S.applyfunc(sp.cancel))


@cache
def i4_erf_tilted() -> sp.Expr:
    """I4 for erf derived from I2 and J2 by tilting the Gaussian measure.

    g'(u_a) g'(u_b) = (2/pi) exp(-(u_a^2 + u_b^2)/2) multiplies the density of u by a
    Gaussian factor: its mass is J2(a,b) and (u_c, u_d) become Gaussian with the
    :func:`tilted_covariance` S. Hence I4(a,b,c,d) = J2(a,b) * I2 at (S_cc, S_dd, S_cd).
    """
    _erf_gprime_is_gaussian()
    ints = derive("erf")
    S = tilted_covariance()
    return ints.j2 * ints.i2.xreplace({caa: S[0, 0], cbb: S[1, 1], cab: S[0, 1]})


def _d(expr, *names):
    for name in names:
        expr = sp.diff(expr, C[name])
    return expr


@cache
def i4_price_identities() -> tuple:
    """Relations (description, lhs, rhs) that Price's theorem imposes on erf I4; lhs == rhs.

    First order: dI4/dC_cd = E[g'g'g'g'] = :func:`j4`. Second order: each mixed derivative
    d^2 I4 / dC_xy dC_zw equals E[(d_x d_y d_z d_w f)] for f = g'(u_a) g'(u_b) g(u_c) g(u_d),
    so derivatives that move the same derivatives onto the same factors agree
    (a diagonal C_xx counts double: dC_xx brings d_x^2 / 2).
    """
    I4 = derive("erf").i4
    d1 = _d(I4, "cd")
    return (
        ("dI4/dC_cd = E[g'_a g'_b g'_c g'_d] = (4/pi^2) det(I+C)^(-1/2)", d1, j4()),
        ("d2I4/dC_ab dC_cd = d2I4/dC_ac dC_bd (both E[g''_a g''_b g'_c g'_d])", _d(I4, "ab", "cd"), _d(I4, "ac", "bd")),
        ("d2I4/dC_ab dC_cd = d2I4/dC_ad dC_bc", _d(I4, "ab", "cd"), _d(I4, "ad", "bc")),
        ("d2I4/dC_cd^2 = 4 d2I4/dC_cc dC_dd (E[g'_a g'_b g''_c g''_d])", _d(I4, "cd", "cd"), 4 * _d(I4, "cc", "dd")),
        ("d2I4/dC_ab^2 = 4 d2I4/dC_aa dC_bb (E[g'''_a g'''_b g_c g_d])", _d(I4, "ab", "ab"), 4 * _d(I4, "aa", "bb")),
        (
            "d2I4/dC_ac dC_ad = 2 d2I4/dC_aa dC_cd (E[g'''_a g'_b g'_c g'_d])",
            _d(I4, "ac", "ad"),
            2 * _d(I4, "aa", "cd"),
        ),
        (
            "d2I4/dC_ac dC_bc = 2 d2I4/dC_cc dC_ab (E[g''_a g''_b g''_c g_d])",
            _d(I4, "ac", "bc"),
            2 * _d(I4, "cc", "ab"),
        ),
        ("d2I4/dC_ac^2 = 4 d2I4/dC_aa dC_cc (E[g'''_a g'_b g''_c g_d])", _d(I4, "ac", "ac"), 4 * _d(I4, "aa", "cc")),
        (
            "dJ4/dC_ab = d2I4/dC_ab dC_cd (Price applied to both sides of the first relation)",
            _d(j4(), "ab"),
            _d(I4, "ab", "cd"),
        ),
    )


@cache
def i4_special_cases() -> tuple:
    """Limits (description, lhs, rhs) in which erf I4 reduces to lower integrals; lhs == rhs.

    - no covariance between (a,b) and (c,d): I4 = J2(a,b) I2(c,d) (independence);
    - u_c independent of the other fields: I4 = 0 (g odd, E[g(u_c)] = 0);
    - u_b = 0 (zero variance, g'(0) = sqrt(2/pi)) and u_d -> eps u_d, eps -> 0
      (g(eps u) ~ g'(0) eps u): I4 / eps -> (2/pi) E[g'(u_a) u_d g(u_c)] = (2/pi) I3(a,d,c);
    - I4 is symmetric under a <-> b and c <-> d.
    """
    ints = derive("erf")
    I4 = ints.i4
    assert I4 is not None  # erf has a closed-form I4 (None only for ReLU)
    indep = I4.xreplace({cac: 0, cad: 0, cbc: 0, cbd: 0})
    prod = ints.j2 * _rename(ints.i2, {"a": "c", "b": "d"})
    c_alone = I4.xreplace({cac: 0, cbc: 0, ccd: 0})
    eps = sp.Symbol("epsilon", positive=True)
    x, y = sp.symbols("x y", real=True)  # C_ad / eps and C_cd / eps stay finite
    scaled = I4.xreplace({cbb: 0, cab: 0, cbc: 0, cbd: 0, cdd: eps**2, cad: eps * x, ccd: eps * y})
    lim = sp.limit(scaled / eps, eps, 0)
    i3_adc = ints.i3.xreplace({cab: x, cbc: y})  # I3(a, b->d, c): C_ab -> C_ad, C_bc -> C_cd
    swap_ab = _swap(I4, "a", "b")
    swap_cd = _swap(I4, "c", "d")
    return (
        ("zero cross covariances: I4 = J2(a,b) I2(c,d)", indep, prod),
        ("u_c independent of a, b, d: I4 = 0", c_alone, sp.Integer(0)),
        ("u_b = 0, u_d = eps u_d, eps -> 0: I4/eps -> (2/pi) I3(a,d,c)", lim, 2 / sp.pi * i3_adc),
        ("symmetric in a <-> b", swap_ab, I4),
        ("symmetric in c <-> d", swap_cd, I4),
    )


# ------------------------------------------------- ReLU I4: closed-form pieces
def _conditional(Cm: sp.Matrix, keep: list, given: list) -> sp.Matrix:
    """Covariance of fields ``keep`` given u_j = 0 for j in ``given`` (Schur complement)."""
    A = Cm.extract(given, given)
    B = Cm.extract(given, keep)
    return (Cm.extract(keep, keep) - B.T * A.inv() * B).applyfunc(sp.cancel)


def _orthant2(S: sp.Matrix) -> sp.Expr:
    """P(x_1 > 0, x_2 > 0) for x ~ N(0, S): 1/4 + asin(rho)/(2 pi) (Sheppard)."""
    return sp.Rational(1, 4) + sp.asin(S[0, 1] / sp.sqrt(S[0, 0] * S[1, 1])) / (2 * sp.pi)


@cache
def relu_i4_closed_forms() -> tuple:
    """Closed forms (description, substitution, expression) for ReLU I4, which has none in general.

    With the substitution applied to the arguments (:data:`ARGS` ``["i4"]``), I4 equals the
    expression; the numba kernel (a quadrature) is checked against them.

    - zero covariance between (a,b) and (c,d): I4 = J2(a,b) I2(c,d);
    - u_c independent of a, b, d: I4 = E[relu(u_c)] E[step_a step_b relu_d], E[relu(u_c)] =
      sqrt(C_cc / (2 pi)), and by Stein (relu(u) = u step(u)) E[step_a step_b u_d step_d] =
      sum_j C_dj p_j(0) P(other two > 0 | u_j = 0), each an orthant probability of two fields;
    - Price: dI4/dC_ab = E[delta(u_a) delta(u_b) relu(u_c) relu(u_d)] = p_ab(0, 0) I2 under the
      covariance of (u_c, u_d) given u_a = u_b = 0 (the substitution is empty; the expression is
      the derivative, not I4).
    """
    ints = derive("relu")
    Cm = sp.Matrix([[caa, cab, cac, cad], [cab, cbb, cbc, cbd], [cac, cbc, ccc, ccd], [cad, cbd, ccd, cdd]])
    zero_cross = {cac: 0, cad: 0, cbc: 0, cbd: 0}
    prod = ints.j2 * _rename(ints.i2, {"a": "c", "b": "d"})
    c_alone = {cac: 0, cbc: 0, ccd: 0}
    Cc = Cm.xreplace(c_alone)
    a, b, d = 0, 1, 3
    three = 0
    for j, (k, l) in ((a, (b, d)), (b, (a, d)), (d, (a, b))):
        density = 1 / sp.sqrt(2 * sp.pi * Cc[j, j])
        three += Cc[d, j] * density * _orthant2(_conditional(Cc, [k, l], [j]))
    c_alone_value = sp.sqrt(ccc / (2 * sp.pi)) * three
    S = _conditional(Cm, [2, 3], [0, 1])
    p00 = 1 / (2 * sp.pi * sp.sqrt(caa * cbb - cab**2))
    dI4_dab = p00 * ints.i2.xreplace({caa: S[0, 0], cbb: S[1, 1], cab: S[0, 1]})
    return (
        ("zero cross covariances: I4 = J2(a,b) I2(c,d)", zero_cross, prod),
        ("u_c independent of a, b, d: I4 = sqrt(C_cc/2pi) E[step_a step_b relu_d]", c_alone, c_alone_value),
        ("Price: dI4/dC_ab = p(u_a=0, u_b=0) E[relu_c relu_d | u_a = u_b = 0]", {}, dI4_dab),
    )


def _swap(expr, x, y):
    return _rename(expr, {x: y, y: x})


def _tidy_powers(expr: sp.Expr) -> sp.Expr:
    """Factor the polynomial arguments of roots, asin and Abs (cheap, unlike ``sp.simplify``)."""
    expr = expr.replace(
        lambda x: isinstance(x, sp.Pow) and not x.exp.is_integer, lambda x: sp.Pow(sp.factor(x.base), x.exp)
    )
    return expr.replace(lambda x: isinstance(x, (sp.asin, sp.acos, sp.Abs)), lambda x: x.func(sp.factor(x.args[0])))


def _positive_minors() -> list:
    """Quantities positive for every valid covariance: L3, L4 (2x2 minors of I + C) and L1, L2 =
    L4 (1 + S) with S a tilted variance (docs/theory/integrals.md notation), for erf."""
    L3 = (1 + caa) * (1 + ccc) - cac**2
    L4 = (1 + caa) * (1 + cbb) - cab**2
    L1 = L4 * (1 + ccc) - cbc**2 * (1 + caa) - cac**2 * (1 + cbb) + 2 * cab * cac * cbc
    L2 = L4 * (1 + cdd) - cbd**2 * (1 + caa) - cad**2 * (1 + cbb) + 2 * cab * cad * cbd
    return [L1, L2, L3, L4]


@cache
def collapsed(activation: str, kind: str, pattern: str) -> sp.Expr:
    """Integral ``kind`` of ``activation`` with coinciding fields merged, tidied.

    ``pattern`` names the field of each argument slot by its first occurrence, e.g. I4(i, i, c, c)
    is ``"aacc"`` and I3(i, k, i) is ``"aba"``. Coinciding fields are the same Gaussian variable, so
    C_ab -> C_aa etc. A root of a square, sqrt(L1^2), is |L1| = L1 because L1 > 0 on valid covariances.
    """
    expr = getattr(derive(activation), kind)
    if expr is None:
        raise ValueError(f"I4 for activation {activation!r} has no closed form")
    slots = "abcd"[: len(pattern)]
    if len(pattern) != {"i2": 2, "j2": 2, "i3": 3, "i4": 4}[kind] or any(
        pattern[j] not in slots[: j + 1] for j in range(len(pattern))
    ):
        raise ValueError(f"invalid field pattern {pattern!r} for {kind}")
    m = dict(zip(slots, pattern))

    def merged(name):
        return "".join(sorted(m.get(name[0], name[0]) + m.get(name[1], name[1])))

    sub = {sym: C[merged(name)] for name, sym in C.items()}
    expr = _tidy_powers(expr.xreplace(sub))
    if activation == "erf":
        positive = [sp.expand(p.xreplace(sub)) for p in _positive_minors()]

        def unabs(z):
            ze = sp.expand(z)
            for p in positive:
                if sp.expand(ze - p) == 0 or sp.expand(ze + p) == 0:
                    return sp.factor(p)
            return sp.Abs(z)

        expr = expr.replace(lambda x: isinstance(x, sp.Abs), lambda x: unabs(x.args[0]))
    if kind != "i4":  # small enough for a full simplification (about 0.1 s)
        expr = sp.simplify(expr)
    return expr


# ------------------------------------------- fields of different activations
def mean_derivative(activation: str) -> sp.Expr:
    """E[g'(u_a)] for u_a ~ N(0, C_aa), integrated by sympy."""
    gp = sp.diff(activation_function(activation), u)
    density = sp.exp(-(u**2) / (2 * caa)) / sp.sqrt(2 * sp.pi * caa)
    if activation == "relu":  # g' = step: integrate over u > 0
        return sp.simplify(sp.integrate(density, (u, 0, sp.oo)))
    return sp.simplify(sp.integrate(gp * density, (u, -sp.oo, sp.oo)))


@cache
def mixed_i2(act_a: str, act_b: str) -> sp.Expr:
    """E[g_a(u_a) g_b(u_b)] with an activation per field.

    Same activation: :func:`starting_i2`. Different: one of the two is odd (erf or linear), so
    I2 = 0 at C_ab = 0, and d^2 I2 / dC_ab^2 = E[g_a'' g_b''] = 0 (a linear g'' vanishes; for
    erf and ReLU, E[erf''(u_a) | u_b = 0] = 0 as erf'' is odd). By Price's theorem I2 is then
    C_ab J2 at C_ab = 0, i.e. C_ab E[g_a'] E[g_b'] (:func:`mean_derivative`).
    """
    check_activation(act_a)
    check_activation(act_b)
    if act_a == act_b:
        return starting_i2(act_a)
    return sp.simplify(cab * mean_derivative(act_a) * _rename(mean_derivative(act_b), {"a": "b"}))


@cache
def derive_mixed(act_a: str, act_c: str) -> dict:
    """I2(a,c), J2(a,c) (Price) and I3(a,b,c) (Stein + Price) for a field a with ``act_a`` and c with ``act_c``.

    I3 = C_ab E[g_a'' g_c] + C_bc E[g_a' g_c'] = 2 C_ab dI2(a,c)/dC_aa + C_bc dI2(a,c)/dC_ac; I2 and
    J2 are in the fields (a, b), I3 in :data:`ARGS` ``["i3"]`` order.
    """
    I2 = mixed_i2(act_a, act_c)
    J2 = sp.simplify(price(I2, "a", "b"))
    I2ac = _rename(I2, {"b": "c"})
    I3 = sp.simplify(cab * price(I2ac, "a", "a") + cbc * price(I2ac, "a", "c"))
    return {"i2": I2, "j2": J2, "i3": I3}


@cache
def mixed_i4_tilted(act_ab: str, act_c: str, act_d: str) -> sp.Expr:
    """I4(a,b,c,d) for derivative fields a, b with erf or linear ``act_ab`` and any g_c, g_d.

    linear: g' = 1, so I4 = I2(c,d). erf: g'(u_a) g'(u_b) tilts the Gaussian measure (mass
    J2(a,b), covariance of (u_c, u_d) :func:`tilted_covariance`), so I4 = J2(a,b) I2(c,d) under
    the tilted covariance, as :func:`i4_erf_tilted` derives for erf throughout.
    """
    if act_ab not in ("erf", "linear"):
        raise ValueError(f"act_ab must be 'erf' or 'linear' (ReLU derivatives have no such form), got {act_ab!r}")
    I2cd = mixed_i2(act_c, act_d)
    if act_ab == "linear":
        return _rename(I2cd, {"a": "c", "b": "d"})
    S = tilted_covariance()
    return derive("erf").j2 * I2cd.xreplace({caa: S[0, 0], cbb: S[1, 1], cab: S[0, 1]})
