"""The demo command: the two demo businesses, their credentials, served beside a job worker."""

import dataclasses
import os
import subprocess
import sys

from app.auth import hash_secret, issue_token, new_api_key
from app.commands.database import migrate, request_db
from app.commands.serve import serve
from app.settings import Settings
from db.roles import Role


async def demo(settings: Settings, url: str, host: str, port: int, workers: int = 1) -> None:
    """Migrate, seed the two demo businesses, print credentials, serve beside a job worker."""
    if not settings.cors_origins:  # a page served from the demo's own origin may call it
        own = (f"http://{host}:{port}", f"http://localhost:{port}", f"http://127.0.0.1:{port}")
        settings = dataclasses.replace(settings, cors_origins=tuple(dict.fromkeys(own)))
    await migrate(url)
    print(await demo_credentials(settings, url), flush=True)
    job_worker = start_job_worker(settings, url)
    try:
        await serve(settings, url, host, port, workers)
    finally:
        stop_job_worker(job_worker, grace_s=settings.shutdown_grace_s)


def start_job_worker(settings: Settings, url: str) -> "subprocess.Popen[bytes]":
    """Start `expensegraph worker` in a process of its own, on the same database and files."""
    env = {**os.environ, "DATABASE_URL": url}
    env.setdefault("EXPENSEGRAPH_DATA_DIR", str(settings.data_dir))
    if settings.receipts_dir is not None:
        env.setdefault("EXPENSEGRAPH_RECEIPTS_DIR", str(settings.receipts_dir))
    if settings.webhooks_allow_private:  # the demo's: its endpoints may be on this machine
        env.setdefault("EXPENSEGRAPH_WEBHOOK_ALLOW_PRIVATE", "1")
    command = [sys.executable, "-m", "app.cli", "worker", "--concurrency", "2"]
    return subprocess.Popen(command, env=env)


def stop_job_worker(process: "subprocess.Popen[bytes]", *, grace_s: float) -> None:
    """Stop the worker: SIGTERM (its running jobs finish), then SIGKILL after ``grace_s``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:  # a killed worker's jobs are taken over later
        process.kill()
        process.wait()


async def demo_credentials(settings: Settings, url: str) -> str:
    """Seed the demo businesses if missing, replace the demo API key; return what to print."""
    from devdata.demo import DEMO_KEY_PERMISSIONS, replace_demo_key, seed_demo
    from devdata.demo_receipts import seed_demo_receipts

    data = await seed_demo(url=url)
    acme, globex = data.acme, data.globex
    async with request_db(url) as db:
        queued = await seed_demo_receipts(
            db=db, receipts_dir=settings.receipt_root, business_id=acme.business_id
        )
    lines = ["", "Ready-to-paste credentials (send as 'Authorization: Bearer <credential>'):", ""]
    for role in (Role.ADMIN, Role.MANAGER, Role.EMPLOYEE):
        member_id, email = acme.members[role]
        token = issue_token(settings, business_id=acme.business_id, member_id=member_id)
        lines.append(f"{role} token ({email}, {acme.name}): {token}")
    prefix, key = new_api_key()
    async with request_db(url) as db, db.savepoint():
        await replace_demo_key(
            db=db, business_id=acme.business_id, prefix=prefix, secret_hash=hash_secret(key)
        )
    readable = ", ".join(permission.partition(":")[0] for permission in DEMO_KEY_PERMISSIONS)
    lines.append(f"API key ({readable} read; {acme.name}): {key}")
    member_id, email = globex.members[Role.ADMIN]
    token = issue_token(settings, business_id=globex.business_id, member_id=member_id)
    lines += ["", "Another business, to see that the two never mix:"]
    lines.append(f"{Role.ADMIN} token ({email}, {globex.name}): {token}\n")
    if queued:
        lines.append(
            f"{queued} receipts queued for the worker: within seconds they are"
            " read and attached (query receipts { nodes { fileName processing extracted"
            " { merchantName total { amount currency } } expense { merchantName } } }).\n"
        )
    lines.append(
        "In GraphiQL, subscriptions run too: paste a token in Headers, run"
        " subscription { events { type objectId } }, then change something.\n"
    )
    return "\n".join(lines)
