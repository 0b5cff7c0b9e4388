"""Password checks under attack: the key-existence oracle and what guessers cost everyone else.

    python benchmarks/auth.py                  # defaults: 15 requests per figure, 8 guessers
    python benchmarks/auth.py --rounds 30 --guessers 16

Starts `lrs serve` (embedded store, the default secret hash cost) and prints medians of:
1. a wrong secret for an existing key, an unknown key, and a right (recently proven) secret;
2. a right secret while `--guessers` threads send wrong secrets for the same key as fast as they can, once with
   the default failure limits and once with them off (LRS_AUTH_MAX_FAILURES_PER_*=0).
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time

import requests

from lrs.server import spawned

ADMIN = ("admin", "change-me")
HEADERS = {"X-Experience-API-Version": "1.0.3"}


def median_ms(endpoint: str, auth: tuple[str, str], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        requests.get(endpoint + "/statements?limit=1", auth=auth, headers=HEADERS, timeout=60)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def under_attack(endpoint: str, guessers: int, rounds: int) -> tuple[float, dict[int, int]]:
    """Median of the admin's requests while guessers run, and the guessers' answers by status."""
    stop, answers, lock = threading.Event(), {}, threading.Lock()

    def guess(number: int) -> None:
        with requests.Session() as session:
            while not stop.is_set():
                code = session.get(endpoint + "/statements", auth=(ADMIN[0], f"guess-{number}"),
                                   headers=HEADERS, timeout=60).status_code
                with lock:
                    answers[code] = answers.get(code, 0) + 1

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guessers)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        return median_ms(endpoint, ADMIN, rounds), answers
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


def run(rounds: int, guessers: int, limits: dict[str, str], title: str, oracle: bool) -> None:
    env = {"LRS_ADMIN_KEY": ADMIN[0], "LRS_ADMIN_SECRET": ADMIN[1], "LRS_LOG_LEVEL": "ERROR", **limits}
    with spawned(env) as (endpoint, _):
        median_ms(endpoint, ADMIN, 1)  # proves the admin's pair once
        print(f"-- {title}")
        if oracle:  # without limits, or the wrong secrets would soon be answered 429
            print(f"wrong secret, existing key: {median_ms(endpoint, (ADMIN[0], 'wrong'), rounds):8.1f} ms median")
            print(f"unknown key:                {median_ms(endpoint, ('no-such-key', 'wrong'), rounds):8.1f} ms median")
        print(f"right secret, idle:         {median_ms(endpoint, ADMIN, rounds):8.1f} ms median")
        median, answers = under_attack(endpoint, guessers, rounds)
        print(f"right secret, {guessers} guessers:   {median:8.1f} ms median (guessers' answers: {answers})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--guessers", type=int, default=8)
    args = parser.parse_args()
    off = {"LRS_AUTH_MAX_FAILURES_PER_KEY": "0", "LRS_AUTH_MAX_FAILURES_PER_ADDRESS": "0"}
    run(args.rounds, args.guessers, off, "failure limits off", oracle=True)
    run(args.rounds, args.guessers, {}, "default failure limits", oracle=False)


if __name__ == "__main__":
    main()
