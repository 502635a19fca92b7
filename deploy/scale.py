"""The scaled deployment on one machine: one `instructplay serve` worker process per core behind HAProxy
with sticky sessions, all sharing PostgreSQL and a Redis message queue.

    INSTRUCTPLAY_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/instructplay \\
    INSTRUCTPLAY_MESSAGE_QUEUE=redis://127.0.0.1:6379/0 \\
    .venv/bin/python deploy/scale.py [--workers N] [--port 8000]

What it does, in order:
1. checks that PostgreSQL and Redis answer (it starts neither: they are the deployment's shared state),
2. installs HAProxy from Debian's packages if it is missing (apt-get, as root; otherwise it says what to run),
3. brings the database to the newest schema once (so the workers do not race to migrate it),
4. starts the workers, `instructplay serve` on 127.0.0.1:5001, 5002, ... (one gunicorn process each, the
   gevent worker, or SERVER_WORKER), with one shared SECRET_KEY and DEAL_KEY and a database pool sized so that all of them
   fit in PostgreSQL's max_connections,
5. writes deploy/haproxy.cfg, filled in, to the run folder and starts HAProxy on --port,
6. prints `instructplay: serving on http://127.0.0.1:8000/ ...` once HAProxy answers, and writes
   deployment.json (ports and process ids) to the run folder,
7. restarts any worker that exits (a crash, an OOM kill, kill -9): its games are rebuilt from their events by
   whichever worker a returning client reaches; stops everything on Ctrl-C or SIGTERM.

Spreading it over several machines: run workers on each app machine with `--no-balancer --listen 0.0.0.0`
(the same INSTRUCTPLAY_DATABASE_URL, MESSAGE_QUEUE, SECRET_KEY and DEAL_KEY everywhere), and one balancer with
`--workers 0 --remote HOST:PORT --remote HOST:PORT ...` naming them all (deploy/README.md).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

TEMPLATE = Path(__file__).resolve().parent / "haproxy.cfg"
PROBE = "/api/partners?game=hanabi"
STARTUP_TIMEOUT_S = 180
RESERVED_DB_CONNECTIONS = 10  # left to psql, migrations, exports and the dashboard
MAX_CONNECTIONS_PER_WORKER = 1000  # = a worker's threads (SERVER_THREADS): one per open websocket


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = args.db or os.environ.get("INSTRUCTPLAY_DATABASE_URL", "")
    queue_url = args.queue or os.environ.get("INSTRUCTPLAY_MESSAGE_QUEUE", "")
    if args.workers > 0:
        check_shared_services(database_url, queue_url)
    if not args.no_balancer:
        ensure_haproxy()
    run_dir = Path(args.run_dir or REPO_ROOT / "instance" / "deploy").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    env = worker_environment(database_url, queue_url, args.workers) if args.workers > 0 else {}
    if args.workers > 0:
        migrate(database_url)
    deployment = Deployment(run_dir, env, args)
    signal.signal(signal.SIGTERM, lambda *_: deployment.stop_and_exit(0))
    signal.signal(signal.SIGINT, lambda *_: deployment.stop_and_exit(0))
    deployment.start()
    return deployment.supervise()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="deploy/scale.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="worker processes on this machine (default: one per core, %(default)s here; 0: none)")
    p.add_argument("--port", type=int, default=8000, help="HAProxy's port, the site's address (default 8000)")
    p.add_argument("--bind", default="*", help="HAProxy's address (default * = every interface)")
    p.add_argument("--first-worker-port", type=int, default=5001,
                   help="the workers listen on this port and the next ones (default 5001; 0: any free ports)")
    p.add_argument("--listen", default="127.0.0.1",
                   help="the workers' address (default 127.0.0.1; 0.0.0.0 when a balancer elsewhere reaches them)")
    p.add_argument("--remote", action="append", default=[], metavar="HOST:PORT",
                   help="a worker on another machine for HAProxy to balance to as well (repeatable)")
    p.add_argument("--no-balancer", action="store_true", help="start the workers only (an app machine)")
    p.add_argument("--db", help="PostgreSQL URL (default INSTRUCTPLAY_DATABASE_URL)")
    p.add_argument("--queue", help="Redis URL of the message queue (default INSTRUCTPLAY_MESSAGE_QUEUE)")
    p.add_argument("--run-dir", help="where the filled-in haproxy.cfg, the logs and deployment.json go "
                                     "(default instance/deploy)")
    args = p.parse_args(argv)
    if args.workers <= 0 and not args.remote:
        p.error("no workers: give --workers N, or --remote HOST:PORT for workers on other machines")
    if args.no_balancer and args.workers <= 0:
        p.error("--no-balancer starts workers only: give --workers N")
    return args


# ------------------------------------------------------------------------------------- shared services


def check_shared_services(database_url: str, queue_url: str) -> None:
    if not database_url.startswith("postgresql"):
        fail("the scaled deployment shares one PostgreSQL database: set INSTRUCTPLAY_DATABASE_URL (or --db), e.g. "
             "postgresql+psycopg://postgres@127.0.0.1:5432/instructplay (SQLite is for one process: ./run.sh serve)")
    if not queue_url.startswith(("redis://", "rediss://", "unix://")):
        fail("the workers pass broadcasts through a Redis message queue: set INSTRUCTPLAY_MESSAGE_QUEUE (or --queue), "
             "e.g. redis://127.0.0.1:6379/0")
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:
        fail(f"PostgreSQL does not answer at {safe_url(database_url)} ({type(e).__name__}: {str(e).splitlines()[0]}); "
             f"start it, create the database (createdb), or fix INSTRUCTPLAY_DATABASE_URL")
    finally:
        engine.dispose()
    import redis

    try:
        redis.Redis.from_url(queue_url, socket_connect_timeout=5).ping()
    except Exception as e:
        fail(f"Redis does not answer at {queue_url} ({type(e).__name__}: {e}); start it (redis-server) or fix "
             f"INSTRUCTPLAY_MESSAGE_QUEUE")


def migrate(database_url: str) -> None:
    from server.db import migrate as migrations
    from server.db.store import make_engine

    engine = make_engine(database_url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()


def database_pool(database_url: str, workers: int) -> tuple[int, int]:
    """(pool size, overflow) per worker so that every worker at its busiest fits in max_connections."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            max_connections = int(conn.execute(text("SHOW max_connections")).scalar())
    finally:
        engine.dispose()
    per_worker = max(2, (max_connections - RESERVED_DB_CONNECTIONS) // max(1, workers))
    return max(1, per_worker // 2), per_worker - max(1, per_worker // 2)


def worker_environment(database_url: str, queue_url: str, workers: int) -> dict[str, str]:
    """The workers' environment: the shared services, one SECRET_KEY and DEAL_KEY for all (made here unless
    given), and a pool size that fits (unless INSTRUCTPLAY_DB_POOL_SIZE is given)."""
    env = dict(os.environ)
    env["INSTRUCTPLAY_DATABASE_URL"] = database_url
    env["INSTRUCTPLAY_MESSAGE_QUEUE"] = queue_url
    env.setdefault("INSTRUCTPLAY_SECRET_KEY", secrets.token_hex(32))  # set it yourself to keep logins across restarts
    env.setdefault("INSTRUCTPLAY_TRUSTED_PROXIES", "1")  # HAProxy adds X-Forwarded-For (option forwardfor)
    if not env.get("INSTRUCTPLAY_DEAL_KEY"):
        try:
            from server.config import deal_key
        except ImportError:  # a server without keyed deals
            pass
        else:
            env["INSTRUCTPLAY_DEAL_KEY"] = deal_key()  # the site's key file, instance/deal.key
    if not env.get("INSTRUCTPLAY_DB_POOL_SIZE"):
        size, overflow = database_pool(database_url, workers)
        env["INSTRUCTPLAY_DB_POOL_SIZE"], env["INSTRUCTPLAY_DB_MAX_OVERFLOW"] = str(size), str(overflow)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def ensure_haproxy() -> None:
    if shutil.which("haproxy"):
        return
    command = ["apt-get", "install", "-y", "-qq", "haproxy"]
    if os.geteuid() != 0:
        fail("HAProxy is not installed: run `sudo apt-get update && sudo apt-get install -y haproxy`, then again")
    print("instructplay: installing HAProxy (Debian package)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], command):
        if subprocess.run(step, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            fail(f"`{' '.join(step)}` failed: install HAProxy yourself (apt-get install -y haproxy), then again")


# ------------------------------------------------------------------------------------- processes


def die_with_parent() -> None:
    """In a child: receive SIGTERM when this launcher dies, however it dies (Linux), so no worker outlives it."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    os.setsid()


class Worker:
    def __init__(self, port: int, host: str, env: dict[str, str], log_path: Path):
        self.port, self.host, self.env, self.log_path = port, host, env, log_path
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"http://{'127.0.0.1' if self.host in ('0.0.0.0', '::') else self.host}:{self.port}"

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--host", self.host, "--port", str(self.port)],
                cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass


class Deployment:
    def __init__(self, run_dir: Path, env: dict[str, str], args: argparse.Namespace):
        self.run_dir, self.env, self.args = run_dir, env, args
        ports = free_ports(args.workers) if args.first_worker_port == 0 else \
            [args.first_worker_port + i for i in range(args.workers)]
        self.workers = [Worker(p, args.listen, env, run_dir / f"worker-{p}.log") for p in ports]
        self.haproxy: subprocess.Popen | None = None
        self.url = f"http://{'127.0.0.1' if args.bind in ('*', '0.0.0.0', '::') else args.bind}:{args.port}/"

    def start(self) -> None:
        for w in self.workers:
            w.start()
        for w in self.workers:
            self.wait_for(w.url + PROBE, f"the worker on port {w.port}", w.process, w.log_path)
        self.write_state()  # before the line below: whoever waits for it may read the state at once
        if self.args.no_balancer:
            print(f"instructplay: {len(self.workers)} workers serving on "
                  f"{', '.join(w.url for w in self.workers)} (no balancer here)", flush=True)
        else:
            config = self.run_dir / "haproxy.cfg"
            config.write_text(haproxy_config(self.args, self.workers))
            check = subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], capture_output=True, text=True)
            if check.returncode != 0:
                self.stop_and_exit(1, f"HAProxy refused {config}:\n{check.stdout}{check.stderr}")
            log_path = self.run_dir / "haproxy.log"
            with open(log_path, "ab") as log:
                self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=log,
                                                stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
            self.wait_for(self.url.rstrip("/") + PROBE, "HAProxy", self.haproxy, log_path)
            self.write_state()
            print(f"instructplay: serving on {self.url} ({len(self.workers)} worker processes"
                  f"{f' here and {len(self.args.remote)} elsewhere' if self.args.remote else ''} behind HAProxy; "
                  f"logs in {self.run_dir})", flush=True)

    def wait_for(self, url: str, what: str, process: subprocess.Popen, log_path: Path) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
                self.stop_and_exit(1, f"{what} exited with code {process.returncode}; its log ({log_path}):\n{tail}")
            try:
                with urllib.request.urlopen(url, timeout=3) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop_and_exit(1, f"{what} did not answer {url} within {STARTUP_TIMEOUT_S} s (log: {log_path})")
            time.sleep(0.3)

    def write_state(self) -> None:
        state = {"url": self.url, "launcher_pid": os.getpid(),
                 "haproxy_pid": self.haproxy.pid if self.haproxy else None,
                 "haproxy_socket": str(self.run_dir / "haproxy.sock") if self.haproxy else None,
                 "workers": [{"port": w.port, "url": w.url, "pid": w.process.pid, "restarts": w.restarts,
                              "log": str(w.log_path)} for w in self.workers],
                 "remote": self.args.remote}
        tmp = self.run_dir / "deployment.json.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.run_dir / "deployment.json")

    def supervise(self) -> int:
        while True:
            time.sleep(0.5)
            if self.haproxy is not None and self.haproxy.poll() is not None:
                self.stop_and_exit(1, f"HAProxy exited with code {self.haproxy.returncode} "
                                      f"(log: {self.run_dir / 'haproxy.log'}); stopping the workers")
            for w in self.workers:
                code = w.process.poll()
                if code is None:
                    continue
                w.stop(signal.SIGKILL)  # what is left of its process group (a gunicorn worker)
                w.restarts += 1
                print(f"instructplay: the worker on port {w.port} exited ({describe(code)}); restarting it "
                      f"(restart {w.restarts})", flush=True)
                time.sleep(min(5.0, 0.5 * w.restarts))  # a worker that cannot start is not restarted in a spin
                w.start()
                self.write_state()

    def stop_and_exit(self, code: int, message: str = "") -> None:
        if message:
            print(f"instructplay: {message}", file=sys.stderr, flush=True)
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
        for w in self.workers:
            w.stop()
        deadline = time.monotonic() + 15
        for p in [w.process for w in self.workers] + [self.haproxy]:
            if p is None:
                continue
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
        for w in self.workers:
            w.stop(signal.SIGKILL)
        sys.exit(code)


def haproxy_config(args: argparse.Namespace, workers: list[Worker]) -> str:
    servers = [(f"w{w.port}", f"{'127.0.0.1' if w.host in ('0.0.0.0', '::') else w.host}:{w.port}") for w in workers]
    servers += [(f"r{i + 1}", remote) for i, remote in enumerate(args.remote)]
    lines = "\n".join(f"    server {name} {address} cookie {name}" for name, address in servers)
    bind = f"{'' if args.bind == '*' else args.bind}:{args.port}"
    maxconn = str(MAX_CONNECTIONS_PER_WORKER * len(servers))
    stats = str(Path(args.run_dir or REPO_ROOT / "instance" / "deploy").resolve() / "haproxy.sock")
    return (TEMPLATE.read_text().replace("@BIND@", bind).replace("@SERVERS@", lines).replace("@MAXCONN@", maxconn)
            .replace("@STATS@", stats))


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def describe(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit code {returncode}"


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def fail(message: str) -> None:
    print(f"instructplay: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


if __name__ == "__main__":
    sys.exit(main())
