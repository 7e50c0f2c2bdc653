"""The rooms of the code base stay apart (DESIGN.md), checked on the source (imports in functions
too).

- the compute libraries (workers/dsp, workers/learn, workers/deploy) never import the service
  (`app`);
- services, models and schemas never import the HTTP layer (app.api, app.web);
- a route module (app/api/routes, app/web/routes) is imported only by the code that installs the
  routers (app/main.py, app/web/__init__.py): what two routes share is a service, a schema or a
  dependency, never another route.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

LIBRARIES = ("workers/dsp", "workers/learn", "workers/deploy", "workers/tune")
NO_HTTP = ("app/services", "app/models", "app/schemas", "app/core")
ROUTE_PACKAGES = ("app.api.routes", "app.web.routes")
ROUTER_INSTALLERS = ("app.main", "app.web")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, wherever it stands."""
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # `from pkg import name` may import the submodule pkg.name
            out += [(node.lineno, module)] + [
                (node.lineno, f"{module}.{a.name}") for a in node.names
            ]
    return out


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (REPO_ROOT / folder).rglob("*.py"))


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(folders: tuple[str, ...], forbidden) -> list[str]:
    found = []
    for path in sources(*folders):
        me = module_name(path)
        for line, module in imported_modules(path):
            if forbidden(me, module):
                found.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {module}")
    return sorted(set(found))


def imports_app(_importer: str, module: str) -> bool:
    return within(module, "app")


def imports_http(_importer: str, module: str) -> bool:
    return within(module, "app.api") or within(module, "app.web")


def imports_another_route(importer: str, module: str) -> bool:
    return importer not in ROUTER_INSTALLERS and any(
        within(module, package) and module != package and not within(module, importer)
        for package in ROUTE_PACKAGES
    )


def test_compute_libraries_do_not_import_the_service():
    assert sources(*LIBRARIES), "no library sources found"
    assert violations(LIBRARIES, imports_app) == []


def test_services_models_and_schemas_do_not_import_the_http_layer():
    assert violations(NO_HTTP, imports_http) == []


def test_route_modules_are_imported_only_where_the_routers_are_installed():
    assert violations(("app",), imports_another_route) == []


@pytest.mark.parametrize(
    ("folder", "source", "rule", "caught"),
    [
        ("workers/learn", "from app.services import jobs\n", imports_app, True),
        ("workers/deploy", "def f():\n    import app.core.db\n", imports_app, True),
        ("workers/dsp", "from workers.dsp import get_block\nimport numpy\n", imports_app, False),
        (
            "app/services",
            "def f():\n    from app.web.templating import render\n",
            imports_http,
            True,
        ),
        ("app/api/routes", "from app.api.routes.jobs import submit\n", imports_another_route, True),
        ("app/web/routes", "from app.api.routes import dsp\n", imports_another_route, True),
        ("app/api/routes", "from . import dsp\n", imports_another_route, True),
        ("app/api/routes", "from app.api.deps import SessionDep\n", imports_another_route, False),
        (
            "app/web",
            "def declarations():\n    from app.api.routes.dsp import dsp_blocks\n",
            imports_another_route,
            True,
        ),
    ],
)
def test_the_checks_catch_what_they_are_for(tmp_path, monkeypatch, folder, source, rule, caught):
    """Each rule on a planted file, so that a check that could never fail would be noticed."""
    import tests.test_layering as layering

    (tmp_path / folder).mkdir(parents=True)
    (tmp_path / folder / "planted.py").write_text(source)
    monkeypatch.setattr(layering, "REPO_ROOT", tmp_path)
    assert bool(violations((folder,), rule)) is caught
