"""`manage.py bench waitlist --entries N`: a freed seat to the offer on the entry's page.

N people wait for a sold-out ticket type, each with their entry's page open (a real
WebSocket on `/ws/waitlist/<uuid>/`, their own session), served by an ASGI server
subprocess. Rounds alternate, in this process:

* **offer**: a holder of the sold-out ticket type cancels; the seat is offered to the next
  entry in the cancelling transaction. Measured: from that commit to the message carrying
  `data-status="offered"` on that entry's socket;
* **raw**: a holder of a second ticket type of the function (no queue) cancels. Measured:
  from that commit to its availability fragment on every open socket - the live path the
  offer rides on, without the entry's re-read.

Both in one run, on one server, with the same sockets open, so the ratio is the cost of
the waiting list's own work (each open entry page re-reads its place once per change).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import time

import websockets
from django.conf import settings
from django.core.management.base import CommandError

from bench.data import delete_bench_function, make_bench_function, session_store
from bench.measure import format_table, latency_summary_ms
from bench.processes import asgi_server, on_production_services, raise_file_limit
from bench.wire import open_live_socket
from common.buyers import BUYER_SESSION_KEY
from tickets.models import Registration, TicketType, WaitlistEntry
from tickets.services import holds, waitlist
from tickets.signals import availability_changed

HELP = "N open waiting-list pages: seat freed -> offer on the entry's page, beside the raw path."

# Rounds are spaced past the hub's coalescing (250 ms) so each is measured on its own.
ROUND_GAP = 0.6


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entries", type=int, default=200, help="open entry pages (default 200)")
    parser.add_argument("--rounds", type=int, default=60, help="seats freed per path (default 60)")
    parser.add_argument(
        "--server", choices=["uvicorn", "daphne"], default="uvicorn", help="ASGI server"
    )


def run(out, *, entries: int, rounds: int, server: str, **options) -> None:
    if entries < 1 or rounds < 1 or rounds > entries:
        raise CommandError("--entries must be at least 1 and --rounds between 1 and --entries.")
    if not on_production_services():
        raise CommandError(
            "bench waitlist measures the production shape: set DATABASE_URL to PostgreSQL "
            "and REDIS_URL to Redis (the in-memory layer cannot cross processes)."
        )
    raise_file_limit()
    queued = make_bench_function("waitlist", capacity=rounds)
    function = queued.event.function
    raw = TicketType.objects.create(
        event=queued.event, name="Raw seat", price=100, capacity=rounds, max_per_order=10
    )
    try:
        out.write(f"Setting up: {rounds} holders on each of two ticket types, {entries} entries...")
        queue_holders = [_hold(queued, f"bench-wl-q-{n}") for n in range(rounds)]
        raw_holders = [_hold(raw, f"bench-wl-r-{n}") for n in range(rounds)]
        pages = [_entry_with_session(queued, n) for n in range(entries)]
        env = {"LIVE_MAX_SOCKETS_PER_IP": str(entries * 2 + 100)}
        with asgi_server(server, env=env) as process:
            out.write(f"{entries} entry pages open on {server}; {rounds} rounds of each path...")
            offer, raw_row = asyncio.run(
                _measure(process.url, pages, queued, raw, queue_holders, raw_holders)
            )
    finally:
        WaitlistEntry.objects.filter(ticket_type__event__function=function).delete()
        delete_bench_function(function)
    out.write("")
    out.write(_table(offer, raw_row))
    out.write("")
    out.write(
        f"{entries} entry pages open, {rounds} seats freed per path, {ROUND_GAP:g} s apart; "
        f"CPU cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}"
    )
    if len(offer) < rounds:
        raise CommandError(f"{rounds - len(offer)} offers never reached their page")


def _table(offer: list[float], raw: list[float]) -> str:
    o, r = latency_summary_ms(offer), latency_summary_ms(raw)
    headers = ["path", "samples", "p50 ms", "p95 ms", "p99 ms", "max ms", "p50 / raw", "p99 / raw"]
    rows = [
        ["raw: commit -> availability on every open page", len(raw), r["p50"], r["p95"],
         r["p99"], r["max"], "1.0x", "1.0x"],
        ["offer: seat freed -> offer on the entry's page", len(offer), o["p50"], o["p95"],
         o["p99"], o["max"], _ratio(o["p50"], r["p50"]), _ratio(o["p99"], r["p99"])],
    ]  # fmt: skip
    return format_table(headers, rows)


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.1f}x" if base else "-"


def _hold(ticket_type: TicketType, buyer: str) -> Registration:
    return holds.hold_tickets(
        holds.HoldRequest(
            buyer_key=buyer,
            function=ticket_type.event.function,
            ticket_type_id=ticket_type.pk,
            quantity=1,
        )
    ).registration


def _entry_with_session(ticket_type: TicketType, n: int) -> tuple[WaitlistEntry, str]:
    buyer = f"bench-wl-waiter-{n}-{ticket_type.pk}"
    entry = waitlist.join(
        waitlist.JoinRequest(
            function=ticket_type.event.function,
            ticket_type_id=ticket_type.pk,
            quantity=1,
            name=f"Waiter {n}",
            email=f"waiter-{n}-{ticket_type.pk}@bench.example",
            buyer_key=buyer,
        )
    )
    session = session_store()
    session[BUYER_SESSION_KEY] = buyer
    session.create()
    return entry, session.session_key


async def _measure(url, pages, queued, raw, queue_holders, raw_holders):
    raw_version = re.compile(rf'id="availability-{raw.pk}"[^>]*data-version="(\d+)"'.encode())
    offered_at: dict[int, float] = {}  # entry pk -> when its page saw the offer
    offer_seen = {entry.pk: asyncio.Event() for entry, _ in pages}
    raw_seen: list[list[tuple[float, int]]] = [[] for _ in pages]
    ready = [asyncio.Event() for _ in pages]
    connecting = asyncio.Semaphore(50)

    async def page(index: int, entry: WaitlistEntry, session_key: str) -> None:
        cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}"
        async with connecting:
            connection = await open_live_socket(url, f"/ws/waitlist/{entry.uuid}/", cookie=cookie)
            await connection.recv()  # the snapshot
        ready[index].set()
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in connection:
                data = message if isinstance(message, bytes) else message.encode()
                now = time.perf_counter()
                if entry.pk not in offered_at and b'data-status="offered"' in data:
                    offered_at[entry.pk] = now
                    offer_seen[entry.pk].set()
                match = raw_version.search(data)
                if match:
                    raw_seen[index].append((now, int(match.group(1))))

    tasks = [asyncio.create_task(page(i, e, k)) for i, (e, k) in enumerate(pages)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), timeout=300)
    await asyncio.sleep(1)  # the entry fragments after each snapshot

    commits: dict[tuple[int, int], float] = {}

    def record_commit(sender, *, availabilities, **kwargs) -> None:
        at = time.perf_counter()
        for availability in availabilities:
            commits.setdefault((availability.ticket_type_id, availability.version), at)

    offers: list[float] = []
    raws: list[float] = []
    availability_changed.connect(record_commit, dispatch_uid="bench-waitlist")
    try:
        for queue_holder, raw_holder in zip(queue_holders, raw_holders, strict=True):
            version = await asyncio.to_thread(_cancel_and_version, raw_holder, raw)
            await asyncio.sleep(ROUND_GAP)
            committed = commits[(raw.pk, version)]
            for seen in raw_seen:
                first = next((t for t, v in seen if v >= version), None)
                if first is not None:
                    raws.append(first - committed)

            entry_pk, version = await asyncio.to_thread(_cancel_and_offer, queue_holder, queued)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(offer_seen[entry_pk].wait(), timeout=5)
            if entry_pk in offered_at:
                offers.append(offered_at[entry_pk] - commits[(queued.pk, version)])
            await asyncio.sleep(ROUND_GAP)
    finally:
        availability_changed.disconnect(dispatch_uid="bench-waitlist")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return offers, raws


def _cancel_and_version(registration: Registration, ticket_type: TicketType) -> int:
    holds.cancel_registration(registration.pk)
    return TicketType.objects.values_list("version", flat=True).get(pk=ticket_type.pk)


def _cancel_and_offer(registration: Registration, ticket_type: TicketType) -> tuple[int, int]:
    """Free one seat of the queued ticket type: which entry got it, at which version. The
    commit's time is the first availability_changed of the release's transaction (its
    release and the offer's reserve share a commit)."""
    holds.cancel_registration(registration.pk)
    entry = (
        WaitlistEntry.objects.filter(offered_registration__isnull=False, ticket_type=ticket_type)
        .order_by("-offered_at")
        .first()
    )
    release_version = TicketType.objects.values_list("version", flat=True).get(pk=ticket_type.pk)
    # The release bumped the version first, then the offer's reserve and the count of
    # people waiting: three bumps in one commit. The first is when the seat was freed.
    return entry.pk, release_version - 2
