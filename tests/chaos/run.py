"""Run the fault scenarios and print their counts:

    python tests/chaos/run.py                 # the fast ones (also in `make test`, tests/e2e)
    python tests/chaos/run.py --all           # plus the long outages (`make chaos`)
    python tests/chaos/run.py redis-down broker-restart

Starts its own RabbitMQ node and Redis (servers.py) under a temporary directory, and the
services on loopback; exits 1 if any scenario ends with a stuck or lost job, a job drafted
twice beyond the calls in flight at the fault, or a refused POST that was drafted anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scenarios import FAST, LONG, World, table  # noqa: E402
from servers import OwnRabbit, OwnRedis  # noqa: E402


async def main(names: list[str], keep: bool) -> int:
    base = Path(tempfile.mkdtemp(prefix="beacon-chaos-"))
    rabbit, redis = OwnRabbit(base / "rabbit"), OwnRedis(base / "redis")
    rabbit.start()
    redis.start()
    rows = []
    try:
        for name in names:
            scenario = {**FAST, **LONG}[name]
            world = World(rabbit, redis, base / "logs", llm_delay_s=1.0)
            try:
                counts = await scenario(world)
            finally:
                await world.close()
            rows.append(counts)
            print(table([counts]), flush=True)
    finally:
        redis.stop()
        rabbit.stop()
    print("\n" + table(rows))
    print(f"\nlogs: {base / 'logs'}" if keep else "")
    failed = [c.scenario for c in rows if not c.ok()]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help=f"any of {[*FAST, *LONG]}")
    parser.add_argument("--all", action="store_true", help="fast and long scenarios")
    args = parser.parse_args()
    chosen = args.scenarios or ([*FAST, *LONG] if args.all else list(FAST))
    sys.exit(asyncio.run(main(chosen, keep=True)))
