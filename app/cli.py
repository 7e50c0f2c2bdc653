"""The `tinyforge` command: run the platform, manage users and projects, upload data, run the
demo."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TypedDict

import click

from app.core.config import get_settings


def _settings():
    return get_settings()


def _migrate(quiet: bool = True) -> None:
    from app.core.db import upgrade

    settings = _settings()
    if not quiet:
        click.echo(f"migrating {settings.database_url} ...", err=True)
    upgrade(settings.database_url)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Tinyforge: self-hostable TinyML platform. Settings come from TINYFORGE_* environment
    variables."""


# --- database ------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema (Alembic)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from app.core.db import current_revision, upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    click.echo(f"database at revision {current_revision(settings.database_url)}")


# --- blob storage --------------------------------------------------------------------------------


@main.group()
def storage() -> None:
    """Blob storage (a local directory, or S3-compatible object storage)."""


@storage.command("check")
def storage_check() -> None:
    """Write, read back and delete a probe blob in the configured store; say where it is."""
    from app.core.storage import StorageError, check_store, get_store

    try:
        store = get_store(_settings())
    except (StorageError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    backend = "s3" if store.remote else "local"
    click.echo(f"backend: {backend}")
    click.echo(f"location: {store.location}")
    try:
        done = check_store(store)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"ok: {done}")


# --- users and projects --------------------------------------------------------------------------


@main.group()
def user() -> None:
    """Dashboard users."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, help="at least 8 characters")
@click.option("--admin", is_flag=True)
def user_create(email: str, password: str, admin: bool) -> None:
    """Create a dashboard user."""
    from app.core.db import session_scope
    from app.services import users
    from app.services.errors import ServiceError

    _migrate()
    try:
        with session_scope() as session:
            u = users.create_user(session, email=email, password=password, is_admin=admin)
            click.echo(f"created user {u.email} (id {u.id})")
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc


@user.command("set-password")
@click.option("--email", required=True)
@click.option(
    "--password", default=None, help="at least 8 characters (default: a new random one, printed)"
)
def user_set_password(email: str, password: str | None) -> None:
    """Set a dashboard user's password (the first user's too: admin@tinyforge.local); every
    session of the user ends."""
    from app.core.db import session_scope
    from app.services import users
    from app.services.errors import ServiceError

    _migrate()
    new = password if password is not None else secrets.token_urlsafe(12)
    try:
        with session_scope() as session:
            u, ended = users.set_password_by_email(session, email=email, password=new)
            click.echo(
                f"password of {u.email} changed" + ("" if password is not None else f": {new}")
            )
            click.echo(f"{ended} dashboard session(s) of {u.email} ended", err=True)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc


@main.group()
def project() -> None:
    """Projects."""


@project.command("create")
@click.option("--name", required=True)
@click.option(
    "--owner",
    "owner_email",
    default=None,
    help="email of an existing user who will own it (default: the first admin)",
)
@click.option("--json", "as_json", is_flag=True, help='print {"id", "api_key", "hmac_key"}')
def project_create(name: str, owner_email: str | None, as_json: bool) -> None:
    """Create a project and print its id, API key (shown once) and HMAC key."""
    from app.core.db import session_scope
    from app.services import projects, users
    from app.services.errors import ServiceError

    _migrate()
    password = None
    try:
        with session_scope() as session:
            if owner_email:
                owner = users.get_by_email(session, owner_email)
                if owner is None:
                    raise click.ClickException(
                        f"no user with email {owner_email}; create it with `tinyforge user create`"
                    )
            else:
                owner, password = users.ensure_first_admin(session)
            new = projects.create_project(session, name=name, owner=owner)
            out = {"id": new.project.id, "api_key": new.api_key, "hmac_key": new.hmac_key}
            owner_email = owner.email
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"project {out['id']} belongs to {owner_email}", err=True)
    if password:
        click.echo(f"first user: {owner_email}  password: {password}", err=True)
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(
            f"project {out['id']} '{name}'\n  API key:  {out['api_key']}  (shown once: keep it)"
            f"\n  HMAC key: {out['hmac_key']}"
        )


ROLE_CHOICES = click.Choice(["viewer", "member", "admin", "owner"])


@project.command("add-member")
@click.option("--project", "project_id", type=int, required=True, help="project id")
@click.option("--email", required=True, help="an existing user")
@click.option("--role", type=ROLE_CHOICES, default="member", show_default=True)
def project_add_member(project_id: int, email: str, role: str) -> None:
    """Let a user use a project with a role (viewer, member, admin, owner: docs/teams.md); for a
    member already, change the role (the last owner stays owner)."""
    from app.core.db import session_scope
    from app.services import audit, members, projects, users
    from app.services.errors import ServiceError
    from app.services.roles import Role

    _migrate()
    try:
        with session_scope() as session:
            u = users.get_by_email(session, email)
            if u is None:
                raise click.ClickException(
                    f"no user with email {email}; create it with `tinyforge user create`"
                )
            p = projects.get_project(session, project_id)
            actor = audit.Actor(label="tinyforge CLI")
            if members.member_role(session, p.id, u.id) is None:
                projects.add_member(session, p, u, role=role)
                audit.record(
                    session,
                    p.id,
                    actor,
                    "member.add",
                    target=u.email,
                    detail={"userId": u.id, "role": role},
                )
                added = True
            else:
                members.set_role(session, p, u.id, Role.parse(role), by=Role.OWNER, actor=actor)
                added = False
            click.echo(
                f"{u.email} {'is now' if added else 'was already'} a member of project {p.id} "
                f"'{p.name}' (role {role})"
            )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc


@project.command("invite")
@click.argument("project_id", type=int)
@click.option("--role", type=ROLE_CHOICES, default="member", show_default=True)
@click.option("--days", type=float, default=7.0, show_default=True, help="days until it expires")
def project_invite(project_id: int, role: str, days: float) -> None:
    """Print an invitation link to PROJECT_ID (single use; TINYFORGE_BASE_URL is its host)."""
    from app.core.db import session_scope
    from app.services import audit, invitations, projects
    from app.services.errors import ServiceError
    from app.services.roles import Role

    _migrate()
    settings = _settings()
    try:
        with session_scope() as session:
            p = projects.get_project(session, project_id)
            new = invitations.create(
                session,
                p,
                Role.parse(role),
                by=Role.OWNER,
                actor=audit.Actor(label="tinyforge CLI"),
                expires_in_days=days,
            )
            expires = new.invitation.expires_at
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    base = (settings.base_url or "http://localhost:8000").rstrip("/")
    click.echo(f"{base}{invitations.invite_path(new.token)}")
    click.echo(
        f"joins project {project_id} as {role}; single use; expires {expires:%Y-%m-%d %H:%M} UTC",
        err=True,
    )


@project.command("add-key")
@click.argument("project_id", type=int)
@click.option(
    "--role",
    type=click.Choice(["ingestion", "full", "admin"]),
    default="full",
    show_default=True,
    help="ingestion: send data only; full: a member's; admin",
)
@click.option("--name", default="cli", show_default=True)
def project_add_key(project_id: int, role: str, name: str) -> None:
    """Create an API key for PROJECT_ID and print it (shown once)."""
    from app.core.db import session_scope
    from app.services import audit, projects
    from app.services.errors import ServiceError

    _migrate()
    try:
        with session_scope() as session:
            p = projects.get_project(session, project_id)
            key = projects.create_api_key(session, p, name=name, role=role)
            audit.record(
                session,
                p.id,
                audit.Actor(label="tinyforge CLI"),
                "apikey.create",
                target=name,
                detail={"role": role},
            )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(key)


# --- moving a project between installations ------------------------------------------------------


@main.command("export")
@click.argument("project_id", type=int)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export_cmd(project_id: int, out: Path) -> None:
    """Write project PROJECT_ID (samples, impulses, models, libraries) to the zip OUT."""
    from app.core.db import session_scope
    from app.core.storage import get_store
    from app.services import project_export, projects
    from app.services.errors import ServiceError

    _migrate()
    settings = _settings()
    try:
        with session_scope(settings) as session:
            p = projects.get_project(session, project_id)
            done = project_export.export_project(session, get_store(settings), p, out)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc}") from exc
    click.echo(
        f"project {project_id} exported to {out}: {done.samples} samples "
        f"({done.sample_files} distinct files), {done.impulses} impulses, "
        f"{done.artifacts} artifacts, {done.bytes} bytes"
    )


@main.command("import")
@click.argument("zip_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--owner",
    "owner_email",
    default=None,
    help="email of an existing user who will own it (default: the first admin)",
)
def import_cmd(zip_path: Path, owner_email: str | None) -> None:
    """Create a new project from an export zip; every file's hash is checked first."""
    from app.core.db import session_scope
    from app.core.storage import get_store
    from app.services import project_export, users
    from app.services.errors import ServiceError

    _migrate()
    settings = _settings()
    password = None
    try:
        files = project_export.read_export(zip_path)
        with session_scope(settings) as session:
            if owner_email:
                owner = users.get_by_email(session, owner_email)
                if owner is None:
                    raise click.ClickException(
                        f"no user with email {owner_email}; create it with `tinyforge user create`"
                    )
            else:
                owner, password = users.ensure_first_admin(session)
            owner_email = owner.email
            done = project_export.import_project(session, get_store(settings), files, owner=owner)
            new_id, api_key = done.new.project.id, done.new.api_key
    except ServiceError as exc:
        raise click.ClickException(f"import refused, nothing created: {exc.message}") from exc
    if password:
        click.echo(f"first user: {owner_email}  password: {password}", err=True)
    c = done.counts
    click.echo(
        f"project {new_id} imported from {zip_path}: {c['samples']} samples, "
        f"{c['impulses']} impulses, {c['artifacts']} artifacts\n"
        f"  API key:  {api_key}  (shown once: keep it)"
    )


@main.group()
def version() -> None:
    """Project versions: frozen copies of a project's data, impulses and models."""


@version.command("create")
@click.argument("project_id", type=int)
@click.option("--description", "-m", default="", help="what this version is")
def version_create(project_id: int, description: str) -> None:
    """Freeze project PROJECT_ID as a new version."""
    from app.core.db import session_scope
    from app.core.storage import get_store
    from app.services import projects, versions
    from app.services.errors import ServiceError

    _migrate()
    settings = _settings()
    try:
        with session_scope(settings) as session:
            p = projects.get_project(session, project_id)
            v = versions.create_version(session, get_store(settings), p, description=description)
            out = versions.version_json(v)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    c = out["counts"]
    click.echo(
        f"project {project_id} version {out['number']}: {c['samples']} samples, "
        f"{c['impulses']} impulses, {c['artifacts']} artifacts"
    )


@version.command("list")
@click.argument("project_id", type=int)
def version_list(project_id: int) -> None:
    """The versions of project PROJECT_ID, oldest first."""
    from app.core.db import session_scope
    from app.services import projects, versions
    from app.services.errors import ServiceError

    _migrate()
    try:
        with session_scope(_settings()) as session:
            projects.get_project(session, project_id)
            rows = [versions.version_json(v) for v in versions.list_versions(session, project_id)]
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    for v in rows:
        c = v["counts"]
        click.echo(
            f"{v['number']}\t{v['createdAt']}\t{c['samples']} samples, {c['impulses']} impulses, "
            f"{c['artifacts']} artifacts\t{v['description']}"
        )


@version.command("restore")
@click.argument("project_id", type=int)
@click.argument("number", type=int)
def version_restore(project_id: int, number: int) -> None:
    """A new project holding version NUMBER of project PROJECT_ID (owned by the same owner)."""
    from app.core.db import session_scope
    from app.core.storage import get_store
    from app.models import User
    from app.services import projects, versions
    from app.services.errors import ServiceError

    _migrate()
    settings = _settings()
    try:
        with session_scope(settings) as session:
            p = projects.get_project(session, project_id)
            v = versions.get_version(session, project_id, number)
            owner = session.get(User, p.owner_id) if p.owner_id is not None else None
            done = versions.restore(session, get_store(settings), v, owner=owner)
            new_id, api_key = done.new.project.id, done.new.api_key
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"project {new_id} restored from version {number} of project {project_id}\n"
        f"  API key:  {api_key}  (shown once: keep it)"
    )


# --- serving -------------------------------------------------------------------------------------


def _worker_argv(queues: str, concurrency: int, pool: str, loglevel: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
        "--pool",
        pool,
        "--loglevel",
        loglevel,
        "-n",
        f"tinyforge-{socket.gethostname()}-{os.getpid()}@%h",
        "--without-mingle",
        "--without-gossip",
    ]


@main.command()
@click.option("--queues", "-Q", default="default,dsp,train,deploy,tune", show_default=True)
@click.option(
    "--concurrency", "-c", type=int, default=None, help="default TINYFORGE_WORKER_CONCURRENCY"
)
@click.option(
    "--pool",
    type=click.Choice(["prefork", "threads", "solo"]),
    default="prefork",
    show_default=True,
)
@click.option("--loglevel", default="INFO", show_default=True)
def worker(queues: str, concurrency: int | None, pool: str, loglevel: str) -> None:
    """Run a Celery worker (any number of them, on any host sharing the database, broker and
    blobs)."""
    argv = _worker_argv(queues, concurrency or _settings().worker_concurrency, pool, loglevel)
    # small matrix products (filterbanks) stall waiting for BLAS threads on a busy machine; one
    # process = one core
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.execv(argv[0], argv)


EI_PORTS = (
    4800,
    4802,
    4810,
)  # Edge Impulse's Studio API, remote management and ingestion, with EI_HOST=<ip>
EI_PORTS_HELP = (
    "also listen on ports 4800, 4802 and 4810 of --host, where Edge Impulse's tools (the "
    "edge-impulse-linux daemon, the data forwarder) expect the Studio API, remote management and "
    "ingestion when EI_HOST is set to that address"
)


TLS_HELP = (
    "serve HTTPS with this certificate (PEM); phones give web pages their sensors only over HTTPS "
    "(or on localhost)"
)


class _TlsOptions(TypedDict, total=False):
    """uvicorn's TLS arguments: both or neither."""

    ssl_certfile: str
    ssl_keyfile: str


def _tls(cert: str | None, key: str | None) -> _TlsOptions:
    if bool(cert) != bool(key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    return {"ssl_certfile": cert, "ssl_keyfile": key} if cert and key else {}


def _listen_all(host: str, ports: list[int]) -> list[socket.socket]:
    """Bind every port before anything else happens; a taken one fails the command with its
    reason."""
    from app.core.processes import PortInUse, listen

    socks = []
    try:
        for p in ports:
            socks.append(listen(host, p))
    except PortInUse as exc:
        for sock in socks:
            sock.close()
        raise click.ClickException(str(exc)) from exc
    return socks


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers", "web_workers", default=1, show_default=True, type=int, help="uvicorn processes"
)
@click.option("--ei-ports", is_flag=True, help=EI_PORTS_HELP)
@click.option(
    "--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None, help=TLS_HELP
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="the certificate's private key (PEM)",
)
def serve(
    host: str,
    port: int,
    web_workers: int,
    ei_ports: bool,
    tls_cert: str | None,
    tls_key: str | None,
) -> None:
    """Serve the API, ingestion and dashboard (no job worker; run `tinyforge worker` beside it)."""
    import uvicorn

    tls = _tls(tls_cert, tls_key)
    if not ei_ports:
        _migrate(quiet=False)
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=web_workers,
            log_level="info",
            access_log=False,
            **tls,
        )
        return
    socks = _listen_all(host, [port, *(p for p in EI_PORTS if p != port)])
    _migrate(quiet=False)
    config = uvicorn.Config(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=web_workers,
        log_level="info",
        access_log=False,
        **tls,
    )
    click.echo(
        f"also serving Edge Impulse's ports {', '.join(map(str, EI_PORTS))} on {host}", err=True
    )
    if web_workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=socks).run()
    else:
        uvicorn.Server(config).run(sockets=socks)


def _ensure_first_user() -> str | None:
    from app.core.db import session_scope
    from app.services import users

    with session_scope() as session:
        if users.count_users(session):
            return None
        return users.ensure_first_admin(session)[1]


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--concurrency", "-c", type=int, default=None)
@click.option("--ei-ports", is_flag=True, help=EI_PORTS_HELP)
@click.option(
    "--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None, help=TLS_HELP
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="the certificate's private key (PEM)",
)
def up(
    host: str,
    port: int,
    concurrency: int | None,
    ei_ports: bool,
    tls_cert: str | None,
    tls_key: str | None,
) -> None:
    """Embedded mode: migrate, start a Celery worker beside the web server, serve until interrupted.

    The worker stops with the server: on Ctrl-C, SIGTERM, SIGHUP, an error, and (Linux) even when
    this process is killed.
    """
    import uvicorn

    from app.core.processes import (
        child_process,
        serve_until_signal,
        stop_signals_raise_keyboard_interrupt,
    )

    tls = _tls(tls_cert, tls_key)
    # before anything else: a taken port changes nothing and fails at once
    socks = _listen_all(host, [port, *(p for p in EI_PORTS if ei_ports and p != port)])
    settings = _settings()
    url = f"{'https' if tls else 'http'}://{host}:{port}"
    log_path = settings.data_dir / "worker.log"
    argv = _worker_argv(
        "default,dsp,train,deploy,tune",
        concurrency or settings.worker_concurrency,
        "prefork",
        "INFO",
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    with (
        contextlib.ExitStack() as held,
        stop_signals_raise_keyboard_interrupt(),
        contextlib.suppress(KeyboardInterrupt),
    ):
        for sock in socks:
            held.enter_context(sock)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _migrate(quiet=False)
        password = _ensure_first_user()
        with (
            open(log_path, "ab") as worker_log,
            child_process(argv, env=env, stdout=worker_log, stderr=subprocess.STDOUT),
        ):
            click.echo(
                f"Tinyforge is starting at {url}  (data in {settings.data_dir}, worker log "
                f"{log_path})"
            )
            if password:
                click.echo(
                    f"first user: admin@tinyforge.local  password: {password}  "
                    "(change it or create your own with `tinyforge user create`)"
                )
            else:
                click.echo(
                    "sign in with an existing user (the first one is admin@tinyforge.local; "
                    "`tinyforge user set-password --email E` resets a password), or create one "
                    "with `tinyforge user create --email E --password P`"
                )
            config = uvicorn.Config(
                "app.main:create_app",
                factory=True,
                host=host,
                port=port,
                log_level="info",
                access_log=False,
                **tls,
            )
            if ei_ports:
                click.echo(
                    f"also serving Edge Impulse's ports {', '.join(map(str, EI_PORTS))} on {host}"
                )
            serve_until_signal(config, socks)
        click.echo("Tinyforge stopped (web server and worker)", err=True)


# --- data upload ---------------------------------------------------------------------------------

UPLOADABLE = {".json", ".cbor", ".wav", ".csv", ".jpg", ".jpeg", ".png"}


def _collect(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in UPLOADABLE
            )
        elif p.is_file():
            files.append(p)
        else:
            raise click.ClickException(f"{p} does not exist")
    return files


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--url",
    default=lambda: os.environ.get("TINYFORGE_URL", "http://127.0.0.1:8000"),
    show_default="$TINYFORGE_URL or http://127.0.0.1:8000",
)
@click.option(
    "--api-key",
    envvar="TINYFORGE_API_KEY",
    required=True,
    help="project API key (or $TINYFORGE_API_KEY)",
)
@click.option(
    "--category",
    type=click.Choice(["training", "testing", "anomaly", "split"]),
    default="split",
    show_default=True,
)
@click.option(
    "--label",
    default=None,
    help="label for every file (default: from the file name, text before the first '.')",
)
@click.option("--allow-duplicates/--no-duplicates", default=True, show_default=True)
@click.option("--batch", default=20, show_default=True, help="files per request")
def upload(
    paths: tuple[str, ...],
    url: str,
    api_key: str,
    category: str,
    label: str | None,
    allow_duplicates: bool,
    batch: int,
) -> None:
    """Upload files or folders to a project through the ingestion API."""
    from app.client import upload_files

    files = _collect(paths)
    if not files:
        raise click.ClickException("no uploadable files found (.json .cbor .wav .csv .jpg .png)")
    failures: list[tuple[str, str]] = []
    ok = 0
    with click.progressbar(
        length=len(files), label=f"uploading {len(files)} files", file=sys.stderr
    ) as bar:
        for result in upload_files(
            url,
            api_key,
            files,
            category=category,
            label=label,
            disallow_duplicates=not allow_duplicates,
            batch=batch,
        ):
            if result["success"]:
                ok += 1
            else:
                failures.append((result.get("fileName", "?"), result.get("error", "failed")))
            bar.update(1)
    click.echo(f"uploaded {ok} of {len(files)} files")
    for name, error in failures:
        click.echo(f"  failed: {name}: {error}", err=True)
    if failures:
        sys.exit(1)


def _trials_table(trials: list[dict], limit: int) -> list[str]:
    done = [t for t in trials if t["status"] == "succeeded"]
    done.sort(key=lambda t: (-t["epochs"], -t["accuracy"]["int8"], t["profile"]["latency_ms"]))
    rows = [
        f"{'trial':>6} {'epochs':>6} {'int8':>7} {'float32':>7} {'latency':>10} {'DSP+NN':>13} "
        f"{'RAM':>9} {'flash':>9}  impulse"
    ]
    for t in done[:limit]:
        imp = t["impulse"]
        desc = (
            f"{imp['dsp']['block']} "
            f"{imp['input'].get('window_size_ms', imp['input'].get('width'))}"
            f" {t['point'].get('network')} w{t['point'].get('width')} d{t['point'].get('depth')}"
        )
        prof = t["profile"]
        dsp = prof.get("dsp_latency_ms")  # None: the DSP was not measured (no Arm toolchain)
        parts = "-" if dsp is None else f"{dsp:.2f}+{prof['nn_latency_ms']:.2f}"
        rows.append(
            f"{t['id']:>6} {t['epochs']:>6} {t['accuracy']['int8']:>7.1%} "
            f"{t['accuracy']['float32']:>7.1%} {prof['latency_ms']:>7.2f} ms {parts:>13} "
            f"{prof['ram_bytes']:>9,} {prof['flash_bytes']:>9,}  {desc}"
        )
    return rows


@main.command()
@click.option(
    "--url",
    default=lambda: os.environ.get("TINYFORGE_URL", "http://127.0.0.1:8000"),
    show_default="$TINYFORGE_URL or http://127.0.0.1:8000",
)
@click.option("--api-key", envvar="TINYFORGE_API_KEY", required=True, help="project API key")
@click.option("--board", required=True, help="board preset (tinyforge profile --help lists them)")
@click.option("--max-latency-ms", type=float, default=None, help="model latency limit (ms)")
@click.option("--max-ram-bytes", type=int, default=None, help="default: the board's RAM")
@click.option("--max-flash-bytes", type=int, default=None, help="default: the board's flash")
@click.option("--trials", type=int, default=9, show_default=True, help="candidates to train")
@click.option("--max-epochs", type=int, default=30, show_default=True)
@click.option("--time-budget-s", type=float, default=None)
@click.option("--space", default=None, help="JSON override of the search space")
@click.option("--top", default=5, show_default=True, help="rows of the table of best trials")
def tune(
    url: str,
    api_key: str,
    board: str,
    max_latency_ms: float | None,
    max_ram_bytes: int | None,
    max_flash_bytes: int | None,
    trials: int,
    max_epochs: int,
    time_budget_s: float | None,
    space: str | None,
    top: int,
) -> None:
    """Run the tuner on the project's training data and print the best trials."""
    from app.client import ApiError, TinyforgeClient

    try:
        space_json = json.loads(space) if space else None
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--space") from exc
    body = {
        "board": board,
        "maxLatencyMs": max_latency_ms,
        "maxRamBytes": max_ram_bytes,
        "maxFlashBytes": max_flash_bytes,
        "maxTrials": trials,
        "maxEpochs": max_epochs,
        "timeBudgetS": time_budget_s,
        "space": space_json,
    }
    body = {k: v for k, v in body.items() if v is not None}
    with TinyforgeClient(url, api_key) as client:
        try:
            pid = client.project_id()
            jid = client.post(f"/api/{pid}/jobs/tune", json=body)["id"]
            with click.progressbar(length=100, label=f"tuner job {jid}", file=sys.stderr) as bar:
                done = 0
                while True:
                    job = client.get(f"/api/{pid}/jobs/{jid}/status")["job"]
                    bar.update(job["progress"] - done)
                    done = job["progress"]
                    if job["status"] in ("succeeded", "failed", "cancelled"):
                        break
                    time.sleep(1.0)
            result = client.get(f"/api/{pid}/jobs/{jid}/result")
        except ApiError as exc:
            raise click.ClickException(exc.message) from exc
    skipped = len(result.get("skipped") or [])
    if job["status"] != "succeeded":
        raise click.ClickException(f"tuner job {jid} {job['status']}: {job['error']}")
    click.echo(
        f"tuner job {jid}: {len(result['trials'])} trials trained, {skipped} candidates skipped "
        f"(did not fit {board})"
    )
    for line in _trials_table(result["trials"], top):
        click.echo(line)


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--target",
    "-t",
    default="linux-x86_64",
    show_default=True,
    help=(
        "linux-x86_64, linux-aarch64, cortex-m0plus, cortex-m3, cortex-m4f, cortex-m7, "
        "cortex-m33, cortex-m55"
    ),
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="folder to write the library into (created; must be empty if it exists)",
)
@click.option(
    "--engine",
    type=click.Choice(["compiled", "tflite-micro"]),
    default="compiled",
    show_default=True,
)
@click.option(
    "--prefix", default="tinyforge_", show_default=True, help="prefix of every generated C symbol"
)
@click.option(
    "--verify",
    is_flag=True,
    help="build on the host and compare with the TFLite Micro interpreter; "
    "for Cortex-M targets also run under QEMU and count instructions",
)
@click.option(
    "--optimize",
    type=click.Choice(["speed", "ram"]),
    default="speed",
    show_default=True,
    help="ram: a smaller arena (in-place depthwise/pointwise, convolution + ADD on tiles)",
)
@click.option("--json", "as_json", is_flag=True, help="print the manifest as JSON")
def build(
    model: Path,
    target: str,
    out_dir: Path,
    engine: str,
    prefix: str,
    verify: bool,
    optimize: str,
    as_json: bool,
) -> None:
    """Compile a .tflite into a self-contained C library (no server needed)."""
    from workers.deploy import CompileError
    from workers.deploy.package import build_library, render_docs, write_library
    from workers.deploy.targets import TARGETS, get_target

    if target not in TARGETS:
        raise click.ClickException(f"unknown target '{target}': use one of {', '.join(TARGETS)}")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise click.ClickException(f"{out_dir} is not empty: choose a new folder")
    data = model.read_bytes()

    def log(message: str) -> None:
        click.echo(message, err=True)

    try:
        lib = build_library(
            data,
            target=target,
            engine=engine,
            prefix=prefix,
            title=model.stem,
            optimize_for=optimize,
        )
    except (CompileError, ValueError) as exc:
        raise click.ClickException(f"{model.name}: {exc}") from exc
    failures: list[str] = []  # why verification fails the build (none without --verify)
    if verify:
        if engine != "compiled":
            raise click.ClickException(
                "--verify checks the compiled engine; the tflite-micro export needs TFLM to build"
            )
        import numpy as np

        from workers.deploy.mcu.errors import McuRunError
        from workers.deploy.package.verify import record_in_manifest, verdict, verify_library

        rng = np.random.default_rng(0)
        shape = (100, *lib.compiled.input.shape[1:])
        inputs = (
            rng.integers(-128, 128, size=shape, dtype=np.int8)
            if lib.compiled.input.dtype == "int8"
            else rng.normal(size=shape).astype(np.float32)
        )
        try:
            report = verify_library(lib, data, target=target, model_inputs=inputs, log=log)
        except (CompileError, McuRunError, ValueError, OSError) as exc:
            raise click.ClickException(f"{model.name}: verification could not run: {exc}") from exc
        record_in_manifest(lib.manifest, report)
        failures = verdict(report)
        render_docs(
            lib,
            title=model.stem,
            impulse=None,
            target_description=get_target(target).description,
            verified_target=target if lib.manifest.get("instructions") else None,
        )
    write_library(lib, out_dir)
    if as_json:
        click.echo(json.dumps(lib.manifest, indent=2, sort_keys=True))
    else:
        m = lib.manifest
        click.echo(
            f"wrote {len(lib.files)} files to {out_dir}: arena {m['arena_bytes']} B, weights "
            f"{m['weights_bytes']} B, ops "
            f"{', '.join(m['ops'])}" + (f", bit exact: {m['bit_exact']}" if verify else "")
        )
    if failures:
        for reason in failures:
            click.echo(f"verification failed: {reason}", err=True)
        sys.exit(1)


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--board",
    "-b",
    "boards",
    multiple=True,
    help="board preset (repeatable); default: every Cortex-M preset",
)
@click.option("--estimate", is_flag=True, help="use the fitted estimator, never QEMU")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def profile(model: Path, boards: tuple[str, ...], estimate: bool, as_json: bool) -> None:
    """Latency, RAM and flash of a .tflite on each board (no server needed).

    Measured under QEMU with the per-core cycle model when the Arm toolchain is installed,
    estimated otherwise (or with --estimate).
    """
    from workers.deploy import CompileError
    from workers.deploy.profile import profile_model

    try:
        result = profile_model(
            model.read_bytes(), boards=list(boards), estimate=estimate, model_name=model.stem
        )
    except CompileError as exc:
        raise click.ClickException(f"{model.name}: {exc}") from exc
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    m = result["model"]
    click.echo(
        f"{model.name}: {m['dtype']}, {m['macs']:,} MACs, arena {m['arena_bytes']:,} B, "
        f"weights {m['weights_bytes']:,} B"
    )
    click.echo(
        f"{'board':32s} {'latency ms':>11s} {'cycles':>13s} {'RAM B':>9s} {'flash B':>10s}  method"
    )
    for b in result["boards"]:
        mark = "" if b["fits"] else "  DOES NOT FIT"
        click.echo(
            f"{b['board']:32s} {b['latency_ms']:>11.3f} {b['cycles']:>13,} {b['ram_bytes']:>9,} "
            f"{b['flash_bytes']:>10,}  {b['method']}{mark}"
        )
        for note in b["notes"]:
            click.echo(f"    note: {note}")


@main.command()
@click.option(
    "--dataset",
    type=click.Choice(["motion", "fsdd"]),
    default="motion",
    show_default=True,
    help=(
        "motion: a synthetic accelerometer data set; fsdd: the Free Spoken Digit Dataset in --data"
    ),
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="folder of FSDD .wav recordings (with --dataset fsdd)",
)
@click.option("--epochs", type=int, default=None, help="override the classifier's training epochs")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.option("--keep", is_flag=True, help="leave the platform running at the end (Ctrl-C to stop)")
@click.option("--port", default=0, type=int, help="port for the demo server (0 = a free one)")
def demo(
    dataset: str, data_dir: Path | None, epochs: int | None, as_json: bool, keep: bool, port: int
) -> None:
    """The README's main job: ingest -> impulse -> features -> train (float32 + int8) -> test, via
    the API."""
    from app.demo import run_demo

    try:
        summary = run_demo(
            port=port,
            keep=keep,
            echo=(lambda m: click.echo(m, err=True)),
            dataset=dataset,
            data_dir=data_dir,
            epochs=epochs,
        )
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(summary, indent=None if as_json else 2))
    if not as_json:
        from app.demo import dashboard_text

        click.echo(dashboard_text(summary["dashboard"]))


def _add_device_commands() -> None:
    from app.forwarder.cli import data_forwarder
    from app.runner.cli import run_impulse

    main.add_command(data_forwarder)
    main.add_command(run_impulse)


_add_device_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
