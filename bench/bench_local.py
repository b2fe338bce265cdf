"""Benchmark of local mode end to end (run: ``python bench/bench_local.py [emails]``).

Starts local mode for the dev stack (pacing off, as the local tests run it), puts the emails
on the bus with ``EmailClient.send_many``, then runs the handlers until nothing is left to do:
sender → SES (emulated) → feedback processor → tracking table. Prints emails per second (from
the first put to idle), the process's peak resident memory, and how many emails ended in each
status. Recipients follow the SES mailbox simulator: mostly deliveries, a few bounces and
complaints, so the feedback processor's suppression paths run too.

Everything runs in this process against moto; no request leaves the machine, and local mode's
own calls (handlers and runtime) reach moto without HTTP (`sesmail.local.in_process`).
``bench/reliability.py`` sends to the same recipients.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sesmail.client import Email, EmailClient  # noqa: E402
from sesmail.local.session import LocalSession, local_session  # noqa: E402

EMAILS = 5_000
TEMPLATE = "welcome"
DATA = {"firstName": "Ada", "companyName": "Example"}
SIMULATOR = "simulator.amazonses.com"
GOAL_EMAILS_PER_SECOND = 25
GOAL_PEAK_MB = 1024


def recipient(n: int) -> str:
    """One in 50 bounces, one in 50 complains, the rest are delivered."""
    if n % 50 == 1:
        return f"bounce+{n}@{SIMULATOR}"
    if n % 50 == 2:
        return f"complaint+{n}@{SIMULATOR}"
    return f"success+{n}@{SIMULATOR}"


def final_statuses(session: LocalSession, ids: list[str]) -> Counter[str]:
    dynamodb = session.client("dynamodb")
    table = session.outputs["trackingTableName"]
    counts: Counter[str] = Counter()
    for start in range(0, len(ids), 100):
        keys = [{"emailId": {"S": email_id}} for email_id in ids[start : start + 100]]
        request = {
            table: {
                "Keys": keys,
                "ProjectionExpression": "#s",
                "ExpressionAttributeNames": {"#s": "status"},
            }
        }
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            counts.update(item["status"]["S"] for item in answer["Responses"][table])
            request = answer.get("UnprocessedKeys") or {}
    counts["(untracked)"] = len(ids) - sum(counts.values())
    return +counts


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(emails: int = EMAILS) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="sesmail-bench-"))
    with local_session(
        project_dir=ROOT,
        state_dir=workdir / ".sesmail",
        config_overrides={"maxSendRate": "0"},
    ) as session:
        client = EmailClient(
            session.outputs["eventBusName"], "bench.local", events_client=session.client("events")
        )
        requests = [
            Email(to=recipient(n), template=TEMPLATE, data=DATA, email_id=f"bench-{n:06d}")
            for n in range(emails)
        ]
        started, cpu_started = time.perf_counter(), time.process_time()
        ids = client.send_many(requests)
        idle = session.runtime.run_until_idle(timeout_seconds=3600)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        statuses = final_statuses(session, ids)
    rate = emails / elapsed
    peak = peak_rss_mb()
    print(f"emails:        {emails}")
    print(f"elapsed:       {elapsed:.1f} s{'' if idle else ' (timed out before idle)'}")
    print(f"throughput:    {rate:.1f} emails/s (goal >= {GOAL_EMAILS_PER_SECOND})")
    print(f"CPU:           {cpu:.1f} s ({1000 * cpu / emails:.1f} ms per email)")
    print(f"peak RSS:      {peak:.0f} MB (goal < {GOAL_PEAK_MB})")
    print("final status:  " + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items())))
    return 0 if idle else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else EMAILS))
