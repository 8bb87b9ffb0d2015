#!/usr/bin/env python3
"""Writes the Markdown report of a soak run (eval/soak.sh) from its JSON, on stdout."""

import argparse
import json
import os
import subprocess
import time


def machine():
    cores = os.cpu_count()
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as meminfo:
            total = int(meminfo.readline().split()[1]) // (1024 * 1024)
    except OSError:
        total = "?"
    return f"{cores} cores, {model}, {total} GiB"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("result")
    parser.add_argument("--command", required=True)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--corpus", required=True)
    args = parser.parse_args()
    with open(args.result) as source:
        r = json.load(source)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = []
    add = out.append
    add("# Soak benchmark\n")
    add(f"- command: `{args.command}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), commit `{commit}`")
    add(f"- machine: {machine()}; the load generator, the fake platforms and the service share these cores")
    add(f"- service: `{args.binary}`, SQLite, embedded index of {args.corpus}")
    add(f"- load: {r['minutes']} minutes at about {r['rate_per_second']} events per second (webhook conversations "
        f"of Zalo OA, Zalo Bot and Telegram, widget questions, `/v1/ask`, staff sign-ins and reviews); "
        f"the fake platforms failed {r['failure_rate']:.0%} of sends with a 5xx\n")
    add("## Outcome\n")
    add("| what | value |\n|---|---|")
    add(f"| SIGKILLs, restarts back to ready | {r['kills']}, {r['restarts_ready']} |")
    if r["restart_seconds"]:
        add(f"| seconds from restart to ready (each) | {', '.join(str(s) for s in r['restart_seconds'])} |")
    add(f"| webhook messages acknowledged | {r['acknowledged_webhooks']} |")
    add(f"| webhook deliveries repeated by the platforms (service down) | {r['redeliveries']} |")
    add(f"| their final statuses | {', '.join(f'{k} {v}' for k, v in sorted(r['message_statuses'].items()))} |")
    add(f"| failed and recorded (flagged for staff) | {r['failed_recorded']} (flags delivery_failed / handling_failed: {r['flagged_failures']}) |")
    add(f"| **lost** (acknowledged, neither delivered nor recorded failed; reviews never delivered) | **{r['lost']}** |")
    add(f"| duplicate deliveries (a part the service sent again after a kill, from its delivery records) | {r['duplicate_deliveries']} |")
    add(f"| identical texts one chat received (upper bound: also a question and its follow-up answered alike) | {r.get('identical_texts_to_one_chat', '–')} |")
    add(f"| sends accepted by the fake platforms / refused (the 10 %) | {r['platform_sends']} / {r['platform_failed_sends']} |")
    add(f"| reviews by delivery status | {', '.join(f'{k} {v}' for k, v in sorted(r['reviews'].items())) or 'none'} |")
    add(f"| web and API messages by status | {', '.join(f'{k} {v}' for k, v in sorted(r['web_and_api_messages'].items()))} |")
    add("")
    if r["lost_messages"]:
        add("Lost messages (first 20):\n")
        for lost in r["lost_messages"]:
            add(f"- {lost}")
        add("")
    add("## Load held\n")
    add("| kind | ok | failed | p50 | p95 |\n|---|---|---|---|---|")
    for kind, s in r["load"].items():
        p50 = f"{s['p50_s']} s" if s["p50_s"] is not None else "–"
        p95 = f"{s['p95_s']} s" if s["p95_s"] is not None else "–"
        add(f"| {kind} | {s['ok']} | {s['failed']} | {p50} | {p95} |")
    add("\n`failed` of a webhook: not acknowledged before the end of the drain; of the widget and `/v1/ask`:"
        " no answer (the service was killed during the request, or was restarting).\n")
    add("## RSS over time\n")
    add("Sampled every 10 s; one row a minute. `process` counts the lifetimes (each SIGKILL starts a new one).\n")
    add("| minute | process | RSS MiB |\n|---|---|---|")
    last_minute = None
    for seconds, process, kib in r["rss"]:
        minute = seconds // 60
        if minute != last_minute:
            add(f"| {minute} | {process} | {kib / 1024:.0f} |")
            last_minute = minute
    lifetimes = {}
    for seconds, process, kib in r["rss"]:
        lifetimes.setdefault(process, []).append((seconds, kib))
    add("\n| process | samples | first 2 min mean MiB | last 2 min mean MiB | max MiB |\n|---|---|---|---|---|")
    for process, samples in sorted(lifetimes.items()):
        start, end = samples[0][0], samples[-1][0]
        first = [kib for s, kib in samples if s - start <= 120]
        last = [kib for s, kib in samples if end - s <= 120]
        add(f"| {process} | {len(samples)} | {sum(first) / len(first) / 1024:.0f} | "
            f"{sum(last) / len(last) / 1024:.0f} | {max(k for _, k in samples) / 1024:.0f} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
