"""The Markdown section bench/conditions.sh prints at its end: the CPU, the
command, one table of the in-process conditions (condition x request x pause,
sinter and ONNX Runtime side by side), one of `sinter serve` under load, the idle
CPU, and the issue's targets with what was measured. Reads OUT/clients.jsonl,
OUT/serve.jsonl and OUT/notes.txt. Standard library only."""
import argparse
import datetime
import json
import os
import subprocess


def load(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
    return rows


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def ms(x):
    return "—" if x is None else (f"{x:.1f}" if x >= 10 else f"{x:.2f}")


def trio(r):
    return "—" if r is None else f"{ms(r['p50_ms'])} / {ms(r['p99_ms'])} / {ms(r['max_ms'])}"


NAMES = {"sinter": "sinter.Model", "sinter-torch-compile": "torch.compile(backend=sinter)",
         "onnxruntime": "an ONNX Runtime session"}


def idle_label(r):
    """What an idle Python process held."""
    held = " and ".join(NAMES.get(s, s) for s in r.get("systems_in_process", [r["system"]]))
    torch = ", PyTorch loaded" if r.get("torch_in_process", "none") != "none" else ""
    return f"Python holding {held} after its calls{torch}"


def main():
    p = argparse.ArgumentParser()
    for a in ("out", "command", "model", "threads", "hog-cpu", "quick", "ort", "seconds", "n-short",
              "n-batch", "load-s", "idle-s", "warmup", "settings"):
        p.add_argument("--" + a, default="")
    a = p.parse_args()
    clients = load(os.path.join(a.out, "clients.jsonl"))
    serve = load(os.path.join(a.out, "serve.jsonl"))
    notes = []
    if os.path.exists(os.path.join(a.out, "notes.txt")):
        with open(os.path.join(a.out, "notes.txt")) as f:
            notes = [x.rstrip() for x in f if x.strip()]

    timed = [r for r in clients if "p50_ms" in r]
    idle = [r for r in clients if r.get("condition") == "idle"]

    def col(system):
        return "onnxruntime" if system == "onnxruntime" else "sinter"

    # (condition, kind, pause) -> {column: row}, in first-seen order
    table = {}
    for r in timed:
        key = (r["condition"], r["kind"], r["pause_ms"])
        table.setdefault(key, {})[col(r["system"])] = r

    def get(cond, kind, pause, system="sinter"):
        return table.get((cond, kind, float(pause)), {}).get(system)

    cpu = sh("lscpu | sed -n 's/^Model name: *//p'") or "?"
    flags = sh("grep -m1 -o -w -E 'avx512f|avx512_vnni|avx512_bf16|avx2' /proc/cpuinfo | sort -u | tr '\\n' ' '")
    commit = sh("git rev-parse --short HEAD")
    dirty = " (with uncommitted changes)" if sh("git status --porcelain --untracked-files=no") else ""
    sinter_v = next((r.get("sinter") for r in timed if r.get("sinter")), "?")
    torch_v = next((r.get("torch") for r in timed if r.get("torch")), None)
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    out = []
    w = out.append
    w(f"## {now[:10]}: sinter under real conditions (issue 20's measurement)")
    w("")
    if a.quick == "1":
        w("**--quick: a smoke run of the script, not numbers.**")
        w("")
    w(f"- CPU: {cpu}, {os.cpu_count()} logical CPUs ({flags.strip() or '?'}); `lscpu`; {now}")
    w(f"- tree: {commit}{dirty}; sinter {sinter_v}, onnxruntime {a.ort}"
      + (f", torch {torch_v}" if torch_v else ""))
    w(f"- model: {a.model}; {a.threads} compute threads (sinter's default here; ONNX Runtime's "
      f"`intra_op_num_threads` set to sinter's count in each condition, inter-op 1)")
    w(f"- requests: *short* = one 16-token input; *batch* = the 32 log-normal lengths of "
      f"bench/lengths_lognormal_32.txt (979 tokens; ONNX Runtime pads to the longest row, sinter "
      f"does not); token ids, in process ({a.n_short} short / {a.n_batch} batch requests per "
      f"point, {a.warmup} untimed calls before each); hog = `taskset -c {a.hog_cpu}` busy loop")
    w(f"- command (took {a.seconds} s):")
    w("")
    w(f"      {a.command}")
    w("")
    w(f"- settings: `{a.settings}`")
    for n in notes:
        w(f"- {n}")
    if notes:
        w("")

    bg = load(os.path.join(a.out, "background.jsonl"))
    if bg:
        busy = [b for b in bg if b["other_cores"] > 0.1 or b["steal_cores"] > 0.1]
        w("- CPU used by other processes during each measurement (cores; the machine's busy "
          "time less the measured processes' and the hog's; steal in brackets): "
          + "; ".join(f"{b['what']} {b['other_cores']:.2f} ({b['steal_cores']:.2f})" for b in bg))
        if busy:
            w(f"- **not quiet**: {len(busy)} of {len(bg)} measurements ran beside more than 0.1 "
              f"core of other work (or steal); their numbers are not clean")
        w("")
    w("p50 / p99 / max in ms (p99 is nearest-rank; with fewer than 100 requests it is the max).")
    w("")
    w("| condition | request | pause | threads | sinter | ONNX Runtime |")
    w("|---|---|---:|---:|---:|---:|")
    for (cond, kind, pause), cols in table.items():
        any_r = cols.get("sinter") or cols.get("onnxruntime")
        w(f"| {cond} | {'short' if kind == 'short' else 'batch'} | "
          f"{'back to back' if not pause else f'{pause:g} ms'} | {any_r['threads']} | "
          f"{trio(cols.get('sinter'))} | {trio(cols.get('onnxruntime'))} |")
    w("")

    if serve:
        w(f"`sinter serve` (defaults) + bench/loadgen (open loop, Poisson arrivals, log-normal "
          f"texts), {a.load_s} s per point; sustainable rate = loadgen --find-max on the quiet "
          f"machine. Latency runs from each request's scheduled time; over 1 s = requests not "
          f"answered 1 s after it (loadgen --timeout-ms 1000), so p50/p99/max are over the "
          f"answered requests (p99 reads > 1000 when over 1 % timed out).")
        w("")
        w("| condition | offered req/s | sent | answered/s | p50 ms | p99 ms | max ms | over 1 s "
          "| other errors (429/5xx/conn) | server CPU s |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in serve:
            r["over_1s"] = r["timeouts"]
            big = r["sent"] and r["timeouts"] / r["sent"] > 0.01
            r["p99_all"] = float("inf") if big else r["p99_ms"]
            p99 = "> 1000" if big else ms(r["p99_ms"])
            mx = "> 1000" if r["timeouts"] else ms(r["max_ms"])
            errs = f"{r['status_429']}/{r['status_5xx']}/{r['errors'] + r['other_status']}"
            w(f"| {r['condition']} | {r['offered_rate']:.1f} | {r['sent']} | {r['throughput']:.1f} | "
              f"{ms(r['p50_ms'])} | {p99} | {mx} | {r['over_1s']} | {errs} | {r['server_cpu_s']} |")
        w("")

    if idle:
        w("| idle process | CPU s (utime+stime) over the idle time |")
        w("|---|---:|")
        for r in idle:
            what = r["kind"]
            if what == "idle-process":
                what = idle_label(r)
            w(f"| {what} | {r['idle_cpu_s']} over {r['idle_s']:g} s |")
        w("")

    # ---- targets
    t = []

    def ratio(x, y):
        return None if x is None or y in (None, 0) else x / y

    for kind in ("short", "lognormal"):
        b2b, p50ms = get("quiet", kind, 0), get("quiet", kind, 50)
        r = ratio(p50ms and p50ms["p50_ms"], b2b and b2b["p50_ms"])
        if r is not None:
            t.append((f"quiet, {'short' if kind == 'short' else 'batch'}: p50 after a 50 ms pause ≤ 1.2x "
                      f"back to back", f"{ms(p50ms['p50_ms'])} vs {ms(b2b['p50_ms'])} ms = {r:.2f}x",
                      r <= 1.2))
    hog = next((c for (c, _, _) in table if c.startswith("hog on CPU") and "1 thread" not in c), None)
    for kind in ("short", "lognormal"):
        if not hog:
            break
        h, one, ort = get(hog, kind, 0), get("quiet, 1 thread", kind, 0), get(hog, kind, 0, "onnxruntime")
        k = "short" if kind == "short" else "batch"
        if h and one:
            t.append((f"hog, {k}: sinter p50 ≤ sinter 1 thread on a quiet machine",
                      f"{ms(h['p50_ms'])} vs {ms(one['p50_ms'])} ms", h["p50_ms"] <= one["p50_ms"]))
        if h and ort:
            t.append((f"hog, {k}: sinter p50 ≤ ONNX Runtime p50 under the same hog",
                      f"{ms(h['p50_ms'])} vs {ms(ort['p50_ms'])} ms", h["p50_ms"] <= ort["p50_ms"]))
    quota = next((c for (c, _, _) in table if c.startswith("quota")), None)
    if quota:
        q, quiet = get(quota, "short", 0), get("quiet", "short", 0)
        if q and quiet:
            r = ratio(q["p99_ms"], quiet["p99_ms"])
            t.append(("quota 1.5 CPUs, short: p99 ≤ 2x quiet p99",
                      f"{ms(q['p99_ms'])} vs {ms(quiet['p99_ms'])} ms = {r:.2f}x", r <= 2))
    for r in serve:
        if r.get("hog") == 1 and r.get("load_pct") == 80:
            t.append(("serve at 80 % of sustainable with the hog: p99 ≤ 100 ms, none over 1 s",
                      f"p99 {ms(r['p99_ms'])} ms, {r['over_1s']} over 1 s",
                      r["p99_all"] <= 100 and r["over_1s"] == 0))
    for r in idle:
        if r["system"] != "onnxruntime":
            t.append((f"idle CPU 0.0 s over 10 s: "
                      f"{r['kind'] if r['system'] == 'sinter serve' else idle_label(r)}",
                      f"{r['idle_cpu_s']} s over {r['idle_s']:g} s", r["idle_cpu_s"] < 0.05))
    if t:
        w("| target | measured | met |")
        w("|---|---|---|")
        for what, got, ok in t:
            w(f"| {what} | {got} | {'yes' if ok else '**no**'} |")
        w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
