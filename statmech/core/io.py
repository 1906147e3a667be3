"""Files: atomic writes, tidy tables with a JSON sidecar, checked ``.npz`` reading, provenance.

Every write goes through :func:`atomic_write` (a temporary file in the same
directory, fsync, then ``os.replace``), so a reader or an interrupted run never
sees half a file and no temporary file is left behind. A file read alone says
what it is: ``write_table(path, columns, params)`` writes ``path`` (CSV) and
``path.with_suffix('.json')`` holding the parameters, column descriptions and
the provenance record (:func:`statmech.core.provenance.provenance`); ``.npz``
files written by :func:`write_npz` hold the provenance as a JSON string under
:data:`PROVENANCE_KEY`. :func:`read_npz` turns every way a file can be broken
(missing, a directory, empty, truncated, not an ``.npz``, object arrays,
NaN) into a one-line ``ValueError`` naming the file and what to do.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import secrets
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from statmech.core.provenance import jsonable, provenance

__all__ = [
    "atomic_write",
    "ensure_dir",
    "write_text",
    "write_npz",
    "read_npz",
    "read_provenance",
    "write_table",
    "read_table",
    "sidecar_path",
    "PROVENANCE_KEY",
]

PROVENANCE_KEY = "__provenance__"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip archive: its first entry, or empty
_NPY_MAGIC = b"\x93NUMPY"
# what np.load / zipfile raise for a damaged archive or array
_CORRUPT = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error, NotImplementedError, UnicodeError)


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON sidecar of a table: ``path`` with the suffix ``.json``."""
    return Path(path).with_suffix(".json")


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (best effort: not every file system lets a directory be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on success fsync it and rename it onto ``path``.

    Either the whole new file is at ``path`` afterwards or the old one (if
    any) is untouched; the temporary file is removed on any failure, Ctrl-C
    included. Missing parent directories are created. A directory in the way,
    or a parent that is a file, or an OS error (permissions, a full disk) is a
    ``ValueError`` naming the path.
    """
    if not mode.startswith("w"):
        raise ValueError(f"atomic_write opens files for writing ('w' or 'wb'), got mode {mode!r}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"cannot write {path}: a directory is in the way; remove it or choose another output path")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"cannot write {path}: a file is in the way of its directory {parent}") from None
    except OSError as exc:
        raise ValueError(f"cannot write {path}: cannot create its directory ({exc.strerror})") from None
    tmp = parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        # 0o666 and the umask, as a plain open() would give the final file
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    _fsync_dir(parent)


def ensure_dir(path: str | os.PathLike, what: str = "output directory") -> Path:
    """``path`` as an existing directory (created with its parents when missing), or a ``ValueError`` naming it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} {path} exists and is not a directory; remove it or give another path")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"{what} {path} cannot be created: a file is in the way of one of its parents") from None
    except OSError as exc:
        raise ValueError(f"{what} {path} cannot be created ({exc.strerror})") from None
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)


def write_npz(path: str | os.PathLike, arrays: dict, params: dict | None = None) -> Path:
    """Save ``arrays`` as an ``.npz`` atomically, with the provenance record (and ``params``) under PROVENANCE_KEY."""
    if PROVENANCE_KEY in arrays:
        raise ValueError(f"{PROVENANCE_KEY!r} is reserved for the provenance record")
    payload: dict[str, Any] = dict(arrays)
    payload[PROVENANCE_KEY] = np.array(json.dumps(provenance(params), sort_keys=True))
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **payload)
    return Path(path)


@contextlib.contextmanager
def _open_npz(path: Path, name: str, remedy: str, keys: list):
    """The open NpzFile of ``path`` after the checks every reader shares; ``ValueError`` otherwise."""
    if path.is_dir():
        raise ValueError(f"{name} is a directory, not an .npz file; give the path of the file itself")
    if not path.exists():
        raise ValueError(f"{name} does not exist")
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise ValueError(f"{name} cannot be read ({exc.strerror})") from None
    with fh:
        head = fh.read(len(_NPY_MAGIC))
        if not head:
            raise ValueError(f"{name} cannot be read: it is empty (0 bytes, e.g. a write that was cut short); {remedy}")
        if head.startswith(_NPY_MAGIC):
            raise ValueError(f"{name} holds a single array (.npy), not the named arrays {keys}")
        if not head.startswith(_ZIP_MAGIC):
            raise ValueError(
                f"{name} cannot be read: not a valid .npz file (it does not begin like a zip archive: "
                f"a file of another format renamed .npz?); {remedy}"
            )
        fh.seek(0)
        try:
            data = np.load(fh, allow_pickle=False)
            data.files  # noqa: B018  (a damaged archive fails here rather than later)
        except _CORRUPT as exc:
            raise ValueError(
                f"{name} cannot be read: not a valid .npz file (truncated or corrupt: {exc}); {remedy}"
            ) from None
        with data:
            yield data


def _get(data, k: str, name: str, remedy: str) -> np.ndarray:
    try:
        return data[k]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(
                f"{name}: array {k!r} holds Python objects (pickled data), which statmech never loads; {remedy}"
            ) from None
        raise ValueError(f"{name} cannot be read: array {k!r} is corrupt ({exc}); {remedy}") from None
    except _CORRUPT as exc:
        raise ValueError(f"{name} cannot be read: array {k!r} is truncated or corrupt ({exc}); {remedy}") from None


def read_npz(
    path: str | os.PathLike,
    keys: Iterable[str],
    what: str,
    *,
    remedy: str = "replace it with a file written by statmech",
    finite: Iterable[str] = (),
    expect_format: tuple | None = None,
) -> dict:
    """Arrays ``keys`` of an ``.npz`` file, or a one-line ``ValueError`` naming the file, the problem and ``remedy``.

    Other keys in the file (such as PROVENANCE_KEY) are ignored. Arrays named
    in ``finite`` must hold real numbers (no complex, string or object
    arrays) without NaN or infinities. ``expect_format=(key, value)``: the
    file must hold that string under that key (a file type marker), checked
    before the other keys.
    """
    path = Path(path)
    name = f"{what} file {path}"
    keys = list(keys)
    with _open_npz(path, name, remedy, keys) as data:
        if expect_format is not None:
            key, value = expect_format
            marker = str(_get(data, key, name, remedy)) if key in data.files else None
            if marker != value:
                raise ValueError(f"{name} is not a {what} (no {key} {value!r}); {remedy}")
        missing = [k for k in keys if k not in data.files]
        if missing:
            raise ValueError(f"{name} is missing key(s) {missing}; expected keys {keys}")
        out = {k: _get(data, k, name, remedy) for k in keys}
    for k in finite:
        a = out[k]
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{name}: array {k!r} has dtype {a.dtype}, expected real numbers; {remedy}")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise ValueError(f"{name}: array {k!r} contains NaN or infinite entries; {remedy}")
    return out


def read_provenance(path: str | os.PathLike) -> dict | None:
    """The provenance record of a file written by statmech (an ``.npz``, a table or its ``.json`` sidecar), or None."""
    path = Path(path)
    if path.suffix == ".npz":
        name = f"file {path}"
        with _open_npz(path, name, "it has no provenance record", []) as data:
            if PROVENANCE_KEY not in data.files:
                return None
            text = str(_get(data, PROVENANCE_KEY, name, "it has no readable provenance record"))
    else:
        side = path if path.suffix == ".json" else sidecar_path(path)
        if not side.is_file():
            return None
        try:
            meta = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, ValueError) as exc:
            raise ValueError(f"sidecar {side} cannot be read as JSON ({exc})") from None
        record = meta.get("provenance") if isinstance(meta, dict) else None
        if isinstance(record, dict) and record.get("parameters") is None:
            record["parameters"] = meta.get("params")
        return record
    try:
        return json.loads(text)
    except ValueError:
        raise ValueError(f"the provenance record of {path} is not valid JSON") from None


def write_table(
    path: str | os.PathLike, columns: dict, params: dict | None = None, descriptions: dict | None = None
) -> Path:
    """Write equal-length ``columns`` (name -> sequence) as CSV, and the JSON sidecar (with provenance)."""
    path = Path(path)
    names = list(columns)
    data = [list(np.asarray(columns[n]).tolist()) for n in names]
    lengths = {len(d) for d in data}
    if len(lengths) > 1:
        raise ValueError(f"columns of {path.name} have different lengths {sorted(lengths)}")
    side = sidecar_path(path)
    if side.is_dir():  # checked before the table is written: both or neither
        raise ValueError(f"cannot write {side}: a directory is in the way; remove it or choose another output path")
    with atomic_write(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        for row in zip(*data):
            w.writerow([repr(x) if isinstance(x, float) else x for x in row])
    meta = {"file": path.name, "columns": names, "params": jsonable(params or {})}
    if descriptions:
        meta["descriptions"] = descriptions
    meta["provenance"] = provenance()  # its "parameters" are the sidecar's "params"
    write_text(side, json.dumps(meta, indent=2) + "\n")
    return path


def read_table(path: str | os.PathLike) -> tuple[dict, dict]:
    """(columns, params) of a table written by :func:`write_table`; numbers become floats."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"table {path} is a directory, not a CSV file")
    if not path.exists():
        raise ValueError(f"table {path} does not exist")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeError, csv.Error) as exc:
        raise ValueError(f"table {path} is not a CSV text file ({exc}); write it again") from None
    if not rows:
        raise ValueError(f"{path} is empty")
    names, body = rows[0], rows[1:]
    bad = [i + 2 for i, r in enumerate(body) if len(r) != len(names)]
    if bad:
        raise ValueError(f"table {path}: line {bad[0]} has a different number of fields than the header")
    cols = {}
    for j, n in enumerate(names):
        vals = [r[j] for r in body]
        try:
            cols[n] = np.array([float(x) for x in vals])
        except ValueError:
            cols[n] = np.array(vals, dtype=object)
    side = sidecar_path(path)
    params = {}
    if side.exists():
        try:
            params = json.loads(side.read_text(encoding="utf-8"))["params"]
        except (OSError, UnicodeError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"sidecar {side} of {path} cannot be read ({exc}); write the table again") from None
    return cols, params
