"""C generation helpers shared by every emitter of the deployment builder.

One place decides how a number becomes a C literal, what a generated identifier may be, what
the first line of a generated file says, how Jinja2 templates are rendered (one environment,
StrictUndefined, templates addressed as ``<room>/<name>.j2``), and how a hand-written runtime
file takes a library's symbol prefix.

The prefix reaches generated code as a variable: templates get ``prefix`` and ``PREFIX``,
emitters build names from it. Hand-written runtime files (real C, compiled and tested as they
are) carry the runtime's own names, ``tinyforge_*`` / ``TINYFORGE_*``; `runtime_source` moves
those names to a library's prefix when it copies a file into the library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import jinja2
import numpy as np

from workers.deploy.ir import CompileError

RUNTIME_PREFIX = "tinyforge_"  # the prefix the hand-written runtime files are written with
DO_NOT_EDIT = "Do not edit."
RUNTIME_COPY = "Runtime copied verbatim, prefix applied."

_DEPLOY_DIR = Path(__file__).resolve().parent
TEMPLATE_DIRS = {
    "model": _DEPLOY_DIR / "templates",
    "dsp": _DEPLOY_DIR / "dsp" / "templates",
    "package": _DEPLOY_DIR / "package" / "templates",
    "mcu": _DEPLOY_DIR / "mcu" / "templates",
}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_C_KEYWORDS = frozenset(
    {
        "auto",
        "break",
        "case",
        "char",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extern",
        "float",
        "for",
        "goto",
        "if",
        "inline",
        "int",
        "long",
        "register",
        "restrict",
        "return",
        "short",
        "signed",
        "sizeof",
        "static",
        "struct",
        "switch",
        "typedef",
        "union",
        "unsigned",
        "void",
        "volatile",
        "while",
        "_Bool",
        "_Complex",
        "_Imaginary",
    }
)
# a name of the runtime's namespace where a name starts (not inside `my_tinyforge_x`; `-D` flags
# in comments count as a start)
_RUNTIME_NAME = re.compile(r"(?:(?<![A-Za-z0-9_])|(?<=-D))(?:(tinyforge_)|(TINYFORGE_))")


# ---------------------------------------------------------------------------------------------
# Literals


def c_float(value: float | np.floating, *, what: str = "float constant") -> str:
    """`value` rounded to float32 as a C `float` literal that reads back as exactly that float.

    The shortest decimal that round-trips (positional between 1e-4 and 1e16, else scientific),
    with the `f` suffix. C has no literal for inf or NaN: they raise CompileError naming `what`.
    """
    with np.errstate(over="ignore"):
        v = np.float32(value)
    if not np.isfinite(v):
        raise CompileError(
            f"{what} is {float(value)!r}: C has no literal for a value that is not finite"
        )
    magnitude = abs(float(v))
    if magnitude == 0.0 or 1e-4 <= magnitude < 1e16:
        text = np.format_float_positional(v, unique=True, trim="0")
    else:
        text = np.format_float_scientific(v, unique=True, trim="0")
    return text + "f"


def c_double(value: float, *, what: str = "double constant") -> str:
    """`value` as a C `double` literal (Python's shortest round-trip repr); finite values only."""
    v = float(value)
    if not np.isfinite(v):
        raise CompileError(f"{what} is {v!r}: C has no literal for a value that is not finite")
    return repr(v)


def c_int(value: int) -> str:
    """An integer literal (decimal)."""
    return str(int(value))


def c_list(texts: Iterable[str], *, per_line: int = 16, indent: str = "    ") -> str:
    """The body of a C initializer: `per_line` items a line, each followed by a comma."""
    items = list(texts)
    lines = [
        indent + ", ".join(items[k : k + per_line]) + "," for k in range(0, len(items), per_line)
    ]
    return "\n".join(lines)


def c_int_array(name: str, values: Iterable[int], ctype: str = "int32_t") -> str:
    """`static const <ctype> name[n] = {...};` on one line."""
    texts = [c_int(v) for v in values]
    return f"static const {ctype} {name}[{len(texts)}] = {{{', '.join(texts)}}};"


# ---------------------------------------------------------------------------------------------
# Identifiers


def is_identifier(name: str) -> bool:
    """True when `name` is spelled as a C identifier (letters, digits, `_`; no leading digit)."""
    return isinstance(name, str) and _IDENTIFIER.fullmatch(name) is not None


def check_identifier(name: str, *, what: str = "generated identifier") -> str:
    """`name` itself when it is a C identifier and not a keyword; CompileError otherwise."""
    if not is_identifier(name) or name in _C_KEYWORDS:
        raise CompileError(f"{what} {name!r} is not a valid C identifier")
    return name


def check_prefix(prefix: str) -> str:
    """A symbol prefix: a C identifier that ends with '_' (e.g. 'tinyforge_')."""
    if not is_identifier(prefix) or prefix in _C_KEYWORDS or not prefix.endswith("_"):
        raise CompileError(
            f"prefix {prefix!r} is not a valid C identifier ending with '_' (e.g. 'tinyforge_')"
        )
    return prefix


def sanitize(text: str, *, max_len: int = 40) -> str:
    """Any name (a tensor's, a model's) as a safe identifier fragment, also safe inside comments."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", text)[:max_len].strip("_")
    return out or "t"


# ---------------------------------------------------------------------------------------------
# Banners


def banner(description: str, *, note: str = DO_NOT_EDIT, comment: str = "c") -> str:
    """The first line of a generated file: ``Generated by <description>. <note>``.

    `comment` "c" wraps it in ``/* */`` (anything in `description` that would open or close a
    comment is broken up), "hash" starts it with ``#`` (Makefile, CMake).
    """
    text = " ".join(f"Generated by {description}. {note}".split())
    if comment == "c":
        return "/* " + text.replace("*/", "* /").replace("/*", "/ *") + " */"
    if comment == "hash":
        return "# " + text
    raise ValueError(f"comment must be 'c' or 'hash', got {comment!r}")


# ---------------------------------------------------------------------------------------------
# Templates

_ENV = jinja2.Environment(
    loader=jinja2.PrefixLoader(
        {room: jinja2.FileSystemLoader(str(path)) for room, path in TEMPLATE_DIRS.items()}
    ),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
)


def render(template: str, *, prefix: str | None = None, **context: object) -> str:
    """Render ``<room>/<name>.j2`` (rooms: model, dsp, package, mcu) with `context`.

    With `prefix`, the template also gets ``prefix`` and ``PREFIX`` (upper case, for macros).
    """
    if prefix is not None:
        context.update(prefix=prefix, PREFIX=prefix.upper())
    return _ENV.get_template(template).render(**context)


# ---------------------------------------------------------------------------------------------
# Hand-written runtime files


def runtime_name(name: str, prefix: str) -> str:
    """A runtime file's (or symbol's) name under `prefix`: tinyforge_x.c -> <prefix>x.c."""
    return _move_names(name, prefix)


def runtime_source(path: Path, prefix: str) -> tuple[str, str]:
    """A hand-written runtime file as it goes into a library: its file name and text, with every
    name of the runtime's namespace moved to `prefix`.

    The names are words starting with ``tinyforge_`` / ``TINYFORGE_`` (functions, types, macros,
    ``#include`` names); they become ``<prefix>...`` / ``<PREFIX>...``. With the default prefix
    the file is copied unchanged.
    """
    check_prefix(prefix)
    path = Path(path)
    return runtime_name(path.name, prefix), _move_names(path.read_text(), prefix)


def _move_names(text: str, prefix: str) -> str:
    if prefix == RUNTIME_PREFIX:
        return text
    upper = prefix.upper()
    return _RUNTIME_NAME.sub(lambda m: prefix if m.group(1) else upper, text)
