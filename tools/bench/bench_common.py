"""What the benchmark scripts share: choosing the clients to measure and
finding the actorrent binary, with errors reported through argparse."""

import os
import statistics

import swarm


def choose_clients(ap, args, known, default):
    """--only a,b (checked against `known`) or `default`."""
    if not args.only:
        return list(default)
    chosen = [d.strip() for d in args.only.split(",") if d.strip()]
    bad = [d for d in chosen if d not in known]
    if bad:
        ap.error(f"unknown client(s) {bad}; choose from {known}")
    return chosen


def resolve_actorrent(ap, path, without_it):
    """The actorrent binary to run: `path`, else $ACTORRENT_BIN, else build*/."""
    try:
        path = path or swarm.find_actorrent()
    except swarm.HarnessError as e:
        ap.error(f"{e} (or pass --actorrent PATH, or --only {without_it})")
    if not os.access(path, os.X_OK):
        ap.error(f"{path} is not executable")
    return path


def median(xs):
    return statistics.median(xs) if xs else float("nan")
