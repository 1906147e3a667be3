"""Sphinx configuration of the statmech documentation (built offline: no intersphinx, no network)."""

import shutil
from pathlib import Path

import statmech

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

project = "statmech"
author = "the statmech developers"
copyright = "2026, the statmech developers"
release = statmech.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # ships MathJax 3 into _static: formulas render with no network
    "sphinx.ext.viewcode",
]

# The notebooks live at the top of the repository; Sphinx only reads files under docs/, so they are
# copied next to the pages at every build (docs/notebooks/ is generated and ignored by git).
_nb_dst = DOCS / "notebooks"
if _nb_dst.exists():
    shutil.rmtree(_nb_dst)
_nb_dst.mkdir()
for _nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
    shutil.copy2(_nb, _nb_dst / _nb.name)

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "build.sh", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# Notebooks are shown with their saved outputs; nothing is executed while building.
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# Dead references between pages, to headings and to API names are errors (sphinx-build -W -n).
nitpicky = True
nitpick_ignore_regex = [
    # Types from other libraries: there is no intersphinx (offline build), so these cannot resolve.
    (
        r"py:.*",
        r"(np|numpy|scipy|numba|pathlib|collections|typing|concurrent|dask|distributed|matplotlib|sympy|os|io)(\..*)?",
    ),
    (
        r"py:class",
        r"(Path|ndarray|ArrayLike|NDArray|Callable|Iterable|Iterator|Sequence|Mapping|Any|Literal|Generator|Axes|Figure|Axis|Line2D|Legend|ErrorbarContainer|Client|optional|array|array-like|callable|.* of .*|default .*)",
    ),
    (r"py:class", r".*\._[A-Za-z].*"),  # private helper classes in signatures
    (
        r"py:class",
        r"(float|int|str|bool|dict|list|tuple|None|object|type|bytes|Exception|ValueError|Warning|UserWarning|TypeError|KeyError|RuntimeError)",
    ),
]
suppress_warnings = ["myst.header"]

autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = False
autosummary_generate = False
napoleon_google_docstring = True
napoleon_numpy_docstring = True

html_theme = "pydata_sphinx_theme"
html_title = f"statmech {release}"
html_static_path = ["_static"]
html_css_files = ["statmech.css"]
html_theme_options = {
    "navigation_depth": 3,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 8,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
# Pages without subpages get no (empty) left sidebar.
html_sidebars = {
    "**": ["sidebar-nav-bs"],
    **{p: [] for p in ("index", "getting_started", "gallery", "performance", "architecture", "changelog")},
}
html_show_sourcelink = False


# --- API reference: one page per curated namespace, generated at every build from the live package, so
# a name added to (or removed from) a namespace's __all__ appears (or disappears) without editing the docs.
API_NAMESPACES = [
    "statmech",
    "statmech.core",
    "statmech.integrals",
    "statmech.ode",
    "statmech.sim",
    "statmech.dpp",
    "statmech.analysis",
    "statmech.pruning",
    "statmech.pruning.theory",
    "statmech.pruning.finite",
    "statmech.pruning.retraining",
    "statmech.experiments",
    "statmech.sweep",
    "statmech.plots",
]


def _public_submodules(pkg):
    import importlib
    import pkgutil

    if not hasattr(pkg, "__path__"):
        return []
    out = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        out.append(importlib.import_module(f"{pkg.__name__}.{info.name}"))
    return out


def _home_page(modname):
    """The namespace page that owns a module: the longest curated namespace that is a prefix of it."""
    best = None
    for ns in API_NAMESPACES:
        if (modname == ns or modname.startswith(ns + ".")) and (best is None or len(ns) > len(best)):
            best = ns
    return best


def _api_pages():
    import importlib
    import inspect

    pages = {}
    seen = {}  # id(object) -> the name it is documented under (first namespace in layer order)
    for ns in API_NAMESPACES:
        mod = importlib.import_module(ns)
        lines = [f"# `{ns}`", "", "```{eval-rst}", f".. automodule:: {ns}", "   :no-members:", "```", ""]
        names = list(getattr(mod, "__all__", []))
        documented = set()
        links = []
        entries = []
        submodules = []
        for name in names:
            if name == "__version__":
                entries += [
                    f".. py:data:: {ns}.__version__",
                    f"   :value: {statmech.__version__!r}",
                    "",
                    "   The package version.",
                    "",
                ]
                continue
            obj = getattr(mod, name)
            if not inspect.ismodule(obj) and _trackable(obj) and id(obj) in seen:
                links.append(f"- `{name}`: {{py:obj}}`{seen[id(obj)]}`")
                documented.add(name)
                continue
            if _trackable(obj):
                seen[id(obj)] = f"{ns}.{name}"
            if inspect.ismodule(obj):
                if _home_page(obj.__name__) == ns:
                    submodules.append(obj)
                else:
                    links.append(f"- `{name}`: {{py:mod}}`{obj.__name__}`")
                continue
            documented.add(name)
            if inspect.isclass(obj):
                entries += [f".. autoclass:: {ns}.{name}", "   :members:", ""]
            elif callable(obj):
                entries += [f".. autofunction:: {ns}.{name}", ""]
            else:
                # A constant: its value (autodata would show the docstring of its type, e.g. tuple's).
                value = repr(obj)
                if len(value) > 100:
                    value = value[:97] + "..."
                entries += [f".. py:data:: {name}", f"   :value: {value}", ""]
        if ns != "statmech":
            for sub in _public_submodules(mod):
                if sub not in submodules and _home_page(sub.__name__) == ns:
                    submodules.append(sub)
        if entries:
            lines += ["## Names", "", "```{eval-rst}", f".. py:currentmodule:: {ns}", "", *entries, "```", ""]
        if links:
            lines += ["## Also here", "", *links, ""]
        for sub in submodules:
            if hasattr(sub, "__all__"):
                subnames = list(sub.__all__)
            else:  # what autodoc documents without __all__: the public names defined in the module itself
                subnames = [
                    n
                    for n in dir(sub)
                    if not n.startswith("_") and getattr(getattr(sub, n), "__module__", None) == sub.__name__
                ]
            exclude, also = [], []
            for n in subnames:
                o = getattr(sub, n, None)
                if inspect.ismodule(o):
                    continue
                if _trackable(o) and id(o) in seen:
                    exclude.append(n)
                    also.append(f"{{py:obj}}`{seen[id(o)]}`")
                elif _trackable(o) and _defined_elsewhere(o, sub):
                    exclude.append(n)  # documented in the module that defines it
                elif n in documented and not _trackable(o):
                    exclude.append(n)
                    also.append(f"{{py:obj}}`{ns}.{n}`")
            lines += [
                f"## `{sub.__name__}`",
                "",
                "```{eval-rst}",
                f".. automodule:: {sub.__name__}",
                "   :members:",
                "   :undoc-members:",
            ]
            if exclude:
                lines.append(f"   :exclude-members: {', '.join(sorted(exclude))}")
            lines += ["```", ""]
            if also:
                lines += ["Also in this module: " + ", ".join(also) + ".", ""]
            for n in subnames:
                o = getattr(sub, n, None)
                if (
                    n not in exclude
                    and (inspect.isclass(o) or callable(o))
                    and id(o) not in seen
                    and not inspect.ismodule(o)
                ):
                    seen[id(o)] = f"{sub.__name__}.{n}"
        pages[ns] = "\n".join(lines)
    DOCUMENTED.update(seen)
    return pages


DOCUMENTED = {}


def _defined_elsewhere(obj, sub):
    """True when ``obj`` is re-exported by ``sub`` from another public statmech module (documented there)."""
    home = getattr(obj, "__module__", None) or ""
    return home != sub.__name__ and home.startswith("statmech.") and "._" not in home and _home_page(home) is not None


def _trackable(obj):
    import inspect

    return (
        inspect.isclass(obj)
        or inspect.isfunction(obj)
        or inspect.ismodule(obj)
        or hasattr(obj, "py_func")
        or (isinstance(obj, (tuple, list, dict, frozenset)) and len(obj) > 0)
    )


_api_dir = DOCS / "api" / "generated"
_api_dir.mkdir(parents=True, exist_ok=True)
_api = _api_pages()
for _old in _api_dir.glob("*.md"):
    if _old.stem not in _api:
        _old.unlink()
for _ns, _text in _api.items():
    _path = _api_dir / f"{_ns}.md"
    if not _path.exists() or _path.read_text() != _text:
        _path.write_text(_text)


def _resolve_python(path):
    """The object a dotted Python path names (longest importable module prefix, then attributes), or None."""
    import importlib

    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for p in parts[i:]:
                obj = getattr(obj, p)
        except AttributeError:
            return None, []
        return obj, []
    return None, []


def _documented_name(path):
    """Where the object named by ``path`` is documented: a re-exported name, or a method of a documented class."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        obj, _ = _resolve_python(".".join(parts[:i]))
        if obj is not None and id(obj) in DOCUMENTED:
            return ".".join([DOCUMENTED[id(obj)], *parts[i:]])
    return None


def _missing_reference(app, env, node, contnode):
    """Docstrings name objects by the module they are defined in; the reference documents them under the
    namespace that re-exports them. Map one to the other by the object's identity."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    mod = node.get("py:module")
    cls = node.get("py:class")
    candidates = []
    if mod and cls:
        candidates.append(f"{mod}.{cls}.{target}")
    if mod:
        candidates.append(f"{mod}.{target}")
    candidates.append(target)
    domain = env.domains["py"]
    # A name documented under a namespace has that namespace as its module; its docstring may name a
    # sibling of the module it is defined in: accept a unique documented name with the same last part.
    last = target.rsplit(".", 1)[-1]
    same = {n for n, e in domain.objects.items() if n.rsplit(".", 1)[-1] == last and not e.aliased}
    if len(same) == 1:
        candidates.append(same.pop())
    domain = env.domains["py"]
    for cand in candidates:
        name = cand if cand in domain.objects else _documented_name(cand)
        if name and name != node["reftarget"]:
            new = node.deepcopy()
            new["reftarget"] = name
            new["refspecific"] = False
            res = domain.resolve_xref(env, node["refdoc"], app.builder, "obj", name, new, contnode)
            if res is not None:
                return res
    # A constant without a docstring exists but has no entry of its own: show the name as text. A
    # reference to a name that does not exist at all still fails.
    for cand in candidates:
        obj, _ = _resolve_python(cand)
        if obj is not None and cand.startswith("statmech."):
            return contnode
    return None


def _escape_bars(app, what, name, obj, options, lines):
    """Docstrings write absolute values and set sizes as |x| (never reST substitutions): escape the bars
    outside inline literals, so docutils reads them as text."""
    import re

    for i, line in enumerate(lines):
        if "|" not in line:
            continue
        parts = re.split(r"(``.*?``)", line)
        lines[i] = "".join(p if p.startswith("``") else p.replace("|", "\\|") for p in parts)


def setup(app):
    app.connect("missing-reference", _missing_reference)
    app.connect("autodoc-process-docstring", _escape_bars)


# --- Sweep engines: their parameters, quantities and row keys, read from the registry at every build.
def _engine_tables():
    from statmech.sweep import ENGINES

    lines = []
    for name, eng in ENGINES.items():
        doc = " ".join((eng.doc or "").split())
        lines += [f"### `{name}`", ""]
        if doc:
            lines += [doc, ""]
        lines += [
            f"Quantities: {', '.join(f'`{q}`' for q in eng.quantities)} (default record: "
            f"{', '.join(f'`{q}`' for q in eng.default_record)}). Rows of one run are indexed by "
            f"{', '.join(f'`{k}`' for k in eng.row_keys) or 'nothing (one row)'}.",
            "",
            "| parameter | type | default | allowed | meaning |",
            "| --- | --- | --- | --- | --- |",
        ]
        for pname, p in eng.params.items():
            allowed = ", ".join(map(str, p.choices)) if p.choices else ""
            if p.minimum is not None:
                allowed = (allowed + "; " if allowed else "") + f"{'>' if p.exclusive else '>='} {p.minimum:g}"
            default = (
                "" if p.default is None else f"`{p.default!r}`" if not isinstance(p.default, list) else f"`{p.default}`"
            )
            meaning = str(p.doc).replace("|", "\\|")
            lines.append(f"| `{pname}` | {p.kind} | {default} | {allowed} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


_gen = DOCS / "guide" / "generated"
_gen.mkdir(parents=True, exist_ok=True)
_text = _engine_tables()
if not (_gen / "sweep_engines.md").exists() or (_gen / "sweep_engines.md").read_text() != _text:
    (_gen / "sweep_engines.md").write_text(_text)
