"""Writes the side-by-side report of eval/bench-peer.sh (Markdown, and the raw numbers as JSON)."""

from __future__ import annotations

import argparse
import json


def lead(ours: float, theirs: float, higher_is_better: bool = True) -> str:
    if ours == theirs:
        return "tie"
    better = ours > theirs if higher_is_better else ours < theirs
    return "Hỏi Luật" if better else "**peer**"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", required=True)
    parser.add_argument("--quality", required=True)
    parser.add_argument("--results", required=True, help="the run's directory: bench.<name>-<c>.json, <name>-<c>.cpu_ms")
    parser.add_argument("--out", required=True, help="report path without extension")
    args = parser.parse_args()
    run = json.load(open(args.run, encoding="utf-8"))
    quality = json.load(open(args.quality, encoding="utf-8"))
    levels = (1, 8, 32)

    def load(name: str) -> list[dict]:
        out = []
        for c in levels:
            level = json.load(open(f"{args.results}/bench.{name}-{c}.json", encoding="utf-8"))["levels"][0]
            # CPU time over the level (3 s warm-up included), per question answered at the level's rate.
            cpu_ms = int(open(f"{args.results}/{name}-{c}.cpu_ms").read())
            questions = level["questions_per_second"] * (level["seconds"] + 3.0)
            level["cpu_ms_per_question"] = cpu_ms / questions if questions else 0.0
            out.append(level)
        return out

    ours_bench, peer_bench = load("hoiluat"), load("peer")
    hl, peer = run["hoiluat"], run["peer"]

    lines = [
        "# Hỏi Luật and a peer built on the usual Python stack",
        "",
        f"- command: `{run['command']}` ({run['date']})",
        f"- machine: {run['machine']}; both services, the load generator and the quality client share it,"
        f" and so do other agents' builds (load average before / after: {run['load_before']} / {run['load_after']})",
        "- Hỏi Luật: release build, default configuration, answer cache off (the peer has none)",
        "- peer: `eval/peers/peer.py` (FastAPI + uvicorn, one process; the same e5-small ONNX graph through"
        " onnxruntime with as many threads as cores; bm25s; FAISS `IndexFlatIP`; RRF k = 60 over the top 40 of each)",
        "",
        "## Quality (same questions, same gold articles, same metrics)",
        "",
        "| set | questions | system | R@1 | R@5 | R@10 | MRR@10 | nDCG@10 | must-decline declined |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in quality["sets"]:
        for name, key, declined in (("Hỏi Luật", "hoiluat", s["hoiluat_declined"]), ("peer", "peer", s["peer_declined"])):
            m = s[key]
            if m["questions"] == 0:
                lines.append(f"| {s['name']} | 0 | {name} | — | — | — | — | — | {declined} / {s['must_decline']} |")
                continue
            lines.append(
                f"| {s['name']} | {m['questions']} | {name} | {m['recall_at_1']:.3f} | {m['recall_at_5']:.3f} |"
                f" {m['recall_at_10']:.3f} | {m['mrr_at_10']:.3f} | {m['ndcg_at_10']:.3f} |"
                f" {declined} / {s['must_decline']} |"
            )
    lines += [
        "",
        "## Load (`hoiluat bench`: closed loop, distinct real questions, POST /v1/ask; levels alternate between the services)",
        "",
        "| concurrency | system | questions/s | p50 | p99 | errors | CPU per question | faster |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for ours, theirs in zip(ours_bench, peer_bench):
        for name, level in (("Hỏi Luật", ours), ("peer", theirs)):
            lines.append(
                f"| {level['concurrency']} | {name} | {level['questions_per_second']:.1f} |"
                f" {level['latency']['p50_ms']:.1f} ms | {level['latency']['p99_ms']:.1f} ms | {level['errors']} |"
                f" {level['cpu_ms_per_question']:.1f} ms |"
                + (f" {lead(ours['questions_per_second'], theirs['questions_per_second'])} |" if name == "peer" else " |")
            )
    lines += [
        "",
        "## Resources",
        "",
        "| | Hỏi Luật | peer | lower |",
        "|---|---|---|---|",
        f"| cold start (process start → `/readyz` 200, index on disk) | {hl['cold_ms']} ms | {peer['cold_ms']} ms |"
        f" {lead(hl['cold_ms'], peer['cold_ms'], False)} |",
        f"| peak RSS while serving the load | {hl['peak_kb'] // 1024} MiB | {peer['peak_kb'] // 1024} MiB |"
        f" {lead(hl['peak_kb'], peer['peak_kb'], False)} |",
        f"| index of the shipped corpus from scratch (wall) | {hl['build_s']} | {peer['build_s']} | |",
        f"| peak RSS of that build | {hl['build_peak_kb'] // 1024} MiB | {peer['build_peak_kb'] // 1024} MiB |"
        f" {lead(hl['build_peak_kb'], peer['build_peak_kb'], False)} |",
        "",
        f"- Hỏi Luật's ingest: {hl['build_output']}",
        f"- the peer's build: `{peer['build_output']}`",
        "",
    ]
    open(args.out + ".md", "w", encoding="utf-8").write("\n".join(lines))
    json.dump(
        {"run": run, "quality": quality, "load": {"hoiluat": ours_bench, "peer": peer_bench}},
        open(args.out + ".json", "w", encoding="utf-8"),
        ensure_ascii=False,
        indent=2,
    )


if __name__ == "__main__":
    main()
