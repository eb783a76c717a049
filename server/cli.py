"""The ``wenming`` command: serve, worker, demo, migrate, media, ranking, user, org, calendar, messages."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from datetime import date
from typing import Any, NoReturn

from server.config import Config, ConfigError
from server.kernel.clock import now_local, now_utc
from server.kernel.errors import ApiError
from server.runtime.processes import follow_parent

# Sanic's workers and its manager process are spawned: each starts by importing the main module
# (this one), before anything else of ours runs; from then on it dies with `wenming serve`.
follow_parent()


class CommandError(Exception):
    """A failure the operator can fix; printed as one line, exit status 1."""


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (ConfigError, CommandError) as exc:
        _fail(str(exc))
    except ApiError as exc:
        _fail(exc.message)
    except KeyboardInterrupt:
        sys.exit(130)


def _fail(message: str) -> NoReturn:
    print(f"wenming: error: {message}", file=sys.stderr)
    sys.exit(1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wenming", description="网络文明志愿服务小程序后端")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=_serve)

    demo = sub.add_parser("demo", help="serve on a fresh SQLite file with a built-in fake WeChat and demo data")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(func=_demo)

    worker = sub.add_parser("worker", help="run background jobs (subscribe messages, reminders) from Redis")
    worker.set_defaults(func=_worker)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=_migrate)

    media = sub.add_parser("media", help="maintain stored photos").add_subparsers(dest="media_command", required=True)
    sweep = media.add_parser("sweep", help="remove files no photo record points to (leftovers of crashes)")
    sweep.add_argument(
        "--older-than", type=int, default=3600, metavar="SECONDS", help="only files at least this old (default 3600)"
    )
    sweep.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    sweep.set_defaults(func=_media_sweep)

    ranking = sub.add_parser("ranking", help="leaderboards").add_subparsers(dest="ranking_command", required=True)
    rebuild = ranking.add_parser("rebuild", help="rebuild the Redis leaderboards from the points ledger")
    rebuild.set_defaults(func=_ranking_rebuild)

    user = sub.add_parser("user", aliases=["users"], help="manage people").add_subparsers(
        dest="user_command", required=True
    )
    grant = user.add_parser("grant", help="create the user if needed and set the role")
    grant.add_argument("--openid", required=True)
    grant.add_argument("--role", required=True, choices=["volunteer", "influencer", "staff", "admin"])
    grant.add_argument("--org", dest="org_id", type=int, default=None)
    grant.set_defaults(func=_grant)
    roster = user.add_parser(
        "import", help="create or update people from an .xlsx or .csv roster (姓名, 手机号, 组织, 身份)"
    )
    roster.add_argument("file")
    roster.set_defaults(func=_import_roster)

    org = sub.add_parser("org", aliases=["orgs"], help="the org tree").add_subparsers(dest="org_command", required=True)
    org_import = org.add_parser("import", help="create the org tree from an .xlsx or .csv file (名称, 类型, 上级)")
    org_import.add_argument("file")
    org_import.set_defaults(func=_import_orgs)
    console = sub.add_parser("console", help="the staff console").add_subparsers(dest="console_command", required=True)
    link = console.add_parser("link", help="print a one-time sign-in URL (10 minutes) for a staff member or admin")
    link.add_argument("--openid", required=True)
    link.set_defaults(func=_console_link)
    calendar = sub.add_parser("calendar", help="the working-day calendar of message deadlines").add_subparsers(
        dest="calendar_command", required=True
    )
    seed = calendar.add_parser("seed", help="write the published holiday schedules (a year already set is kept)")
    seed.add_argument("--year", type=int, action="append", dest="years", help="only this year (may repeat)")
    seed.set_defaults(func=_seed_calendar)

    messages = sub.add_parser("messages", help="netizen messages (网民留言)").add_subparsers(
        dest="messages_command", required=True
    )
    supervise = messages.add_parser(
        "supervise", help="raise overdue messages one supervision level and tell their assignees (the daily job)"
    )
    supervise.add_argument(
        "--as-of", type=_day, metavar="YYYY-MM-DD", help="the day to supervise as (default: today, Asia/Shanghai)"
    )
    supervise.set_defaults(func=_supervise_messages)
    return parser


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def with_db(config: Config, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``work`` with the ORM up, always closing it (an open pool would hang exit)."""
    from server.runtime.db import close_db, init_db

    async def run() -> Any:
        try:
            await init_db(config.database_url, config.redis_url)
            return await work()
        except (OSError, ConnectionError) as exc:
            raise CommandError(
                f"cannot reach the database ({type(exc).__name__}): check WENMING_DATABASE_URL"
            ) from None
        finally:
            await close_db()

    return asyncio.run(run())


def _migrate(args: argparse.Namespace) -> None:
    from server.runtime.db import apply_migrations

    config = Config.from_env()
    applied = with_db(config, apply_migrations)
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print("database is up to date")


def check_migrated(config: Config) -> None:
    from server.runtime.db import pending_migrations

    pending = with_db(config, pending_migrations)
    if pending:
        raise CommandError(
            f"the database is not migrated ({len(pending)} pending: {', '.join(pending)}); run `wenming migrate` first"
        )


def _serve(args: argparse.Namespace) -> None:
    from server.runtime.observability import configure_logging

    configure_logging()
    config = Config.from_env()
    if args.workers < 1:
        raise CommandError("--workers must be at least 1")
    if args.workers > 1 and not config.redis_url:
        raise CommandError("--workers > 1 needs WENMING_REDIS_URL: tokens, limits and caches must be shared")
    check_migrated(config)
    run_server(args.host, args.port, args.workers)


def run_server(host: str, port: int, workers: int) -> None:
    """Serve with Sanic's worker manager; each worker builds its app from the environment.

    Workers are separate processes: with more than one, their metrics go to files in
    ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory unless set) so /metrics sums them all.
    """
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from server.runtime.processes import guard_worker_startup, lead_children, stop_leading_children
    from server.web.protocol import ServiceProtocol

    with _metrics_dir(workers):
        loader = AppLoader(factory=worker_app)
        app = loader.load()
        app.register_listener(guard_worker_startup, "main_process_ready")
        # Sanic's access log stays off: ours (server.runtime.observability) logs route templates, no query strings.
        app.prepare(host=host, port=port, workers=workers, access_log=False, motd=False, protocol=ServiceProtocol)
        lead_children()
        try:
            Sanic.serve(primary=app, app_loader=loader)
        finally:
            stop_leading_children()


def worker_app() -> Any:
    """The app of one worker process; spawned workers set up their own JSON logging first."""
    from server.app import create_app
    from server.runtime.observability import configure_logging

    configure_logging()
    return create_app()


@contextlib.contextmanager
def _metrics_dir(workers: int) -> Iterator[None]:
    from server.runtime.observability import MULTIPROC_DIR_ENV

    given = os.environ.get(MULTIPROC_DIR_ENV)
    if given:
        # prometheus_client's rule: wipe the directory before the processes that share it start.
        os.makedirs(given, exist_ok=True)
        for stale in glob.glob(os.path.join(given, "*.db")):
            os.remove(stale)
        yield
        return
    if workers == 1:
        yield
        return
    path = tempfile.mkdtemp(prefix="wenming-metrics-")
    os.environ[MULTIPROC_DIR_ENV] = path  # inherited by the spawned workers
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_DIR_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


def _demo(args: argparse.Namespace) -> None:
    from server.demo import run_demo
    from server.runtime.observability import configure_logging

    configure_logging()

    run_demo(args.host, args.port)


def _worker(args: argparse.Namespace) -> None:
    import aiohttp
    import orjson
    from arq.worker import run_worker

    from server.runtime.db import close_db, init_db
    from server.runtime.jobs import job_context, worker_settings
    from server.runtime.observability import configure_logging
    from server.wechat.client import RedisTokenStore, WeChatClient

    configure_logging()
    config = Config.from_env()
    if not config.redis_url:
        raise CommandError("the worker needs WENMING_REDIS_URL; without Redis, `wenming serve` runs jobs itself")
    check_migrated(config)

    async def startup(ctx: dict[str, Any]) -> None:
        await init_db(config.database_url, config.redis_url)
        ctx["http"] = aiohttp.ClientSession(json_serialize=lambda o: orjson.dumps(o).decode())
        wechat = WeChatClient(
            appid=config.wechat_appid,
            secret=config.wechat_secret,
            api_base=config.wechat_api_base,
            session=ctx["http"],
            tokens=RedisTokenStore(ctx["redis"], config.wechat_appid),
            timeout=config.wechat_timeout,
        )
        ctx.update(job_context(config, wechat))

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["http"].close()
        await close_db()

    run_worker(worker_settings(config.redis_url, startup, shutdown))


def _media_sweep(args: argparse.Namespace) -> None:
    import time

    from media.storage import LocalStorage
    from models.media import sweep
    from server.app import make_storage

    if args.older_than < 0:
        raise CommandError("--older-than must not be negative")
    config = Config.from_env()
    check_migrated(config)
    storage = make_storage(config)
    cutoff = time.time() - args.older_than

    result = with_db(config, lambda: sweep(storage, older_than=cutoff, dry_run=args.dry_run))
    if config.storage != "local" and not args.dry_run:
        # Uploads are received on local disk whatever the storage: their leftovers are here.
        result.leftovers += LocalStorage(config.media_root).remove_leftovers(cutoff)
    for key in result.orphans:
        print(f"{'would remove' if args.dry_run else 'removed'} {key}")
    verb = "would remove" if args.dry_run else "removed"
    print(
        f"{verb} {len(result.orphans)} orphan file(s) and {result.leftovers} temporary file(s); "
        f"{result.kept} file(s) in use"
    )


def _ranking_rebuild(args: argparse.Namespace) -> None:
    import time

    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from models.rankings import Rankings
    from server.runtime.changes import CHANGES, RANKINGS

    config = Config.from_env()
    check_migrated(config)
    if not config.redis_url:
        print("no WENMING_REDIS_URL: rankings are computed from the ledger on every request, nothing to rebuild")
        return
    started = time.perf_counter()

    async def work() -> int:
        redis = Redis.from_url(config.redis_url)  # type: ignore[arg-type]
        try:
            entries = await Rankings(redis).rebuild(now_utc(), progress=_progress_bar("rebuilding rankings"))
            await CHANGES.committed((RANKINGS,))  # the serving processes' cached boards
            return entries
        except (RedisError, OSError) as exc:
            raise CommandError(f"cannot reach Redis ({type(exc).__name__}): check WENMING_REDIS_URL") from None
        finally:
            await redis.aclose()

    entries = with_db(config, work)
    print(f"rebuilt rankings from {entries} ledger entries in {time.perf_counter() - started:.1f} s")


def _progress_bar(label: str) -> Callable[[int, int], None]:
    """A one-line progress bar on stderr (redrawn in place on a terminal, one final line otherwise)."""
    width = 30

    def draw(done: int, total: int) -> None:
        share = done / total if total else 1.0
        bar = "#" * round(share * width)
        line = f"{label} [{bar:<{width}}] {share:4.0%} {done}/{total}"
        if sys.stderr.isatty():
            print("\r" + line, end="" if done < total else "\n", file=sys.stderr, flush=True)
        elif done >= total:
            print(line, file=sys.stderr, flush=True)

    return draw


def _import_roster(args: argparse.Namespace) -> None:
    from media.spreadsheets import NotASpreadsheet, read_table
    from models.roster import RosterError, columns_of, import_roster, roster_secrets
    from server.kernel.crypto import Vault

    config = Config.from_env()
    check_migrated(config)
    try:
        header, rows = read_table(args.file)
        columns = columns_of(header)
    except FileNotFoundError:
        raise CommandError(f"no such file: {args.file}") from None
    except (NotASpreadsheet, RosterError) as exc:
        raise CommandError(f"{args.file}: {exc}") from None

    async def work() -> Any:
        secrets = roster_secrets(Vault(config.secret_key))
        return await import_roster(
            rows, columns, secrets, actor=None, source=os.path.basename(args.file), progress=_progress_bar("importing")
        )

    result = with_db(config, work)
    for error in result.errors:
        print(f"row {error.row}: {error.message}", file=sys.stderr)
    print(
        f"{args.file}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged, "
        f"{len(result.errors)} row(s) with errors"
    )
    if result.errors:
        # A script (or the person reading $?) must not take a partial import for a whole one.
        sys.exit(1)


def _import_orgs(args: argparse.Namespace) -> None:
    from media.spreadsheets import NotASpreadsheet, read_table
    from models.org_import import OrgImportError, check_header, import_orgs

    config = Config.from_env()
    check_migrated(config)
    try:
        header, rows = read_table(args.file)
        check_header(header)
    except FileNotFoundError:
        raise CommandError(f"no such file: {args.file}") from None
    except (NotASpreadsheet, OrgImportError) as exc:
        raise CommandError(f"{args.file}: {exc}") from None

    async def work() -> Any:
        return await import_orgs(rows, actor=None, source=os.path.basename(args.file))

    result = with_db(config, work)
    for error in result.errors:
        print(f"row {error.row}: {error.message}", file=sys.stderr)
    print(
        f"{args.file}: {result.created} created, {result.unchanged} unchanged, {len(result.errors)} row(s) with errors"
    )
    if result.errors:
        sys.exit(1)


async def console_secret(openid: str) -> str:
    """A one-time sign-in link's secret for the staff member or admin with ``openid`` (ORM up)."""
    from models.console import open_link
    from models.users import User

    user = await User.get_or_none(openid=openid, deleted_at__isnull=True)
    if user is None:
        raise CommandError(f"no person with openid {openid}")
    if not user.is_staff:
        raise CommandError(f"{openid} is a {user.role}, not staff or admin: the console is for staff only")
    return await open_link(user)


def console_url(base: str, secret: str) -> str:
    return f"{base.rstrip('/')}/console/login/link/{secret}"


def _console_link(args: argparse.Namespace) -> None:
    config = Config.from_env()
    check_migrated(config)
    print(console_url(config.public_base_url, with_db(config, lambda: console_secret(args.openid))))


def _seed_calendar(args: argparse.Namespace) -> None:
    from models.calendar_data import SCHEDULES, seed_calendar

    unknown = [year for year in args.years or () if year not in SCHEDULES]
    if unknown:
        known = ", ".join(map(str, sorted(SCHEDULES)))
        raise CommandError(
            f"no published schedule for {unknown[0]} (known: {known}); "
            f"an admin enters it with PUT /api/v1/calendar/{unknown[0]}"
        )
    config = Config.from_env()
    check_migrated(config)
    outcome = with_db(config, lambda: seed_calendar(args.years))
    for year, what in outcome.items():
        print(f"{year}: {SEED_OUTCOMES[what]}")


def _supervise_messages(args: argparse.Namespace) -> None:
    import aiohttp
    import orjson
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from models.calendar import calendar_for, is_workday
    from models.messages import supervise_overdue
    from server.runtime.jobs import TryAgain, job_context, tell_supervised
    from server.wechat.client import MemoryTokenStore, RedisTokenStore, TokenStore, WeChatClient

    config = Config.from_env()
    check_migrated(config)
    day = args.as_of or now_local().date()

    async def work() -> tuple[list[int], bool, bool]:
        workday = is_workday(day, await calendar_for([day.year]))
        raised = await supervise_overdue(day)
        # With Redis the worker's cached access token is shared: fetching a new one would expire it.
        redis = Redis.from_url(config.redis_url) if config.redis_url else None  # type: ignore[arg-type]
        tokens: TokenStore = RedisTokenStore(redis, config.wechat_appid) if redis else MemoryTokenStore()
        try:
            async with aiohttp.ClientSession(json_serialize=lambda o: orjson.dumps(o).decode()) as http:
                wechat = WeChatClient(
                    appid=config.wechat_appid,
                    secret=config.wechat_secret,
                    api_base=config.wechat_api_base,
                    session=http,
                    tokens=tokens,
                    timeout=config.wechat_timeout,
                )
                await tell_supervised(job_context(config, wechat), day)
            return raised, True, workday
        except (TryAgain, RedisError, OSError):
            return raised, False, workday  # raised all the same; the next run of the day sends what is left
        finally:
            if redis is not None:
                await redis.aclose()

    raised, told, workday = with_db(config, work)
    rest = "" if workday else " (not a working day: nothing is raised on weekends and holidays)"
    print(f"{day.isoformat()}: raised {len(raised)} overdue message(s){rest}")
    if not told:
        print("wenming: warning: some assignees were not told (WeChat busy); run again to send", file=sys.stderr)


SEED_OUTCOMES = {
    "seeded": "seeded from the published schedule",
    "unchanged": "already as published",
    "kept": "already set differently; kept (an admin changes it with PUT /api/v1/calendar/<year>)",
}


def _grant(args: argparse.Namespace) -> None:
    from models.users import grant_role

    config = Config.from_env()
    check_migrated(config)

    async def work() -> Any:
        return await grant_role(args.openid, args.role, args.org_id)

    user, created = with_db(config, work)
    org = f", org {user.org_id}" if user.org_id else ""
    print(f"{'created' if created else 'updated'} user {user.id} ({args.openid}): role {user.role}{org}")


if __name__ == "__main__":
    main()
