#!/usr/bin/env python3
"""weft against its peers, side by side, on one app-server binary and one mock model.

usage: bench.py WEFT_BIN [--rounds R] [--validate-only]
       (CODEX_BIN set; peers' Python SDK importable; neither is needed with --validate-only)

1. N = 1, 10, 50 independent one-turn steps: weft vs the bare JSON-RPC floor
   (floor_raw.py) vs the official Python SDK (peer_pysdk.py, asyncio.gather over
   threads). Runs alternate in a rotating order; each figure is a median, and the
   comparisons are ratios of medians. Every client is timed after it is up: weft by
   its run's own duration (`duration_ms`: threads started, turns run), the peers by
   the wall time they print; weft's whole-process wall time is shown beside it.
2. A DAG with 300 ms of model latency per answer: weft's makespan against the
   critical-path bound (turns on the longest path x 300 ms).
3. weft's own peak resident memory (not the app-server's) at 50 concurrent steps.
4. `weft validate` of a 1,000-step workflow whose every prompt reads the step before it
   through its output schema: load, plan, type-check and render-check, whole process.
5. (`--scale-only` runs 5 and 6 alone) A fan-out of 50 and of 2,000 one-turn elements at
   `--jobs 50`: run time (median), time per element, weft's peak memory and the
   app-server's (the largest child weft reaped; the highest of the rounds).
   `WEFT_BEFORE=PATH` runs an earlier weft binary too, alternating with this one.
6. 50 one-turn fresh-thread steps with `environment: snapshot` against `plain`.
"""
import json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WEFT = sys.argv[1]
ROUNDS = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5


def codex_home(root: Path, port: int) -> Path:
    home = root / f"home-{port}"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f"""model = "mock-model"
model_provider = "mock"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false
[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:{port}/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
[analytics]
enabled = false
[features]
shell_snapshot = false
""")
    return home


def start_mock(port: int, delay_ms: int = 0) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, str(HERE / "mock_model.py"), "--port", str(port),
                          "--delay-ms", str(delay_ms)])
    for _ in range(100):
        try:
            import socket
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return p
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the mock model did not start")


def workflow(path: Path, n: int) -> None:
    steps = "".join(f"  s{i}:\n    prompt: task {i}\n" for i in range(n))
    path.write_text(f"name: bench-{n}\nsteps:\n{steps}")


def run_weft(wf: Path, env: dict, jobs: int, extra_env=None) -> tuple[float, float, str]:
    e = dict(env, **(extra_env or {}))
    t0 = time.perf_counter()
    out = subprocess.run([WEFT, "run", str(wf), "--output", "json", "--jobs", str(jobs),
                          "--runs-dir", str(Path(env["BENCH_TMP"]) / "runs")],
                         env=e, capture_output=True, text=True, cwd=env["BENCH_TMP"])
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"weft failed ({out.returncode}):\n{out.stderr[-2000:]}")
    report = json.loads(out.stdout)
    return report["duration_ms"] / 1000, wall, out.stderr


def run_peer(script: str, n: int, env: dict) -> float:
    out = subprocess.run([sys.executable, str(HERE / script), str(n)], env=env,
                         capture_output=True, text=True, cwd=env["BENCH_TMP"])
    if out.returncode != 0:
        raise SystemExit(f"{script} failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def median(xs):
    return statistics.median(xs)


def throughput(root: Path, env: dict) -> list[str]:
    lines = ["| N | weft (run) | weft (process) | bare JSON-RPC | Python SDK | weft / bare | SDK / bare | weft / SDK |",
             "|---|---|---|---|---|---|---|---|"]
    for n in (1, 10, 50):
        wf = root / f"bench-{n}.yaml"
        workflow(wf, n)
        times = {"weft": [], "wall": [], "floor": [], "sdk": []}
        rounds = ROUNDS if n < 50 else max(3, ROUNDS - 2)
        for r in range(rounds):
            order = ["weft", "floor", "sdk"]
            order = order[r % 3:] + order[:r % 3]
            for who in order:
                if who == "weft":
                    run, wall, _ = run_weft(wf, env, jobs=n)
                    times["weft"].append(run)
                    times["wall"].append(wall)
                elif who == "floor":
                    times["floor"].append(run_peer("floor_raw.py", n, env))
                else:
                    times["sdk"].append(run_peer("peer_pysdk.py", n, env))
        m = {k: median(v) for k, v in times.items()}
        lines.append(f"| {n} | {m['weft']:.3f} s | {m['wall']:.3f} s | {m['floor']:.3f} s | {m['sdk']:.3f} s "
                     f"| {m['weft'] / m['floor']:.2f} | {m['sdk'] / m['floor']:.2f} | {m['weft'] / m['sdk']:.2f} |")
        print(lines[-1], flush=True)
    return lines


DAG = """name: bench-dag
steps:
  survey: { prompt: survey }
  a: { prompt: "a {{ steps.survey.output }}" }
  b: { prompt: "b {{ steps.survey.output }}" }
  c: { prompt: "c {{ steps.survey.output }}" }
  merge: { prompt: "merge {{ steps.a.output }} {{ steps.b.output }}" }
  report: { prompt: "report {{ steps.merge.output }} {{ steps.c.output }}" }
"""


def dag(root: Path, env: dict) -> list[str]:
    wf = root / "dag.yaml"
    wf.write_text(DAG)
    spans = [run_weft(wf, env, jobs=4)[0] for _ in range(ROUNDS)]
    bound = 4 * 0.300
    m = median(spans)
    return [f"| 6 steps, 4 on the critical path, 300 ms per answer | {m:.3f} s | {bound:.3f} s | {m / bound:.2f} |"]


def memory(root: Path, env: dict) -> list[str]:
    wf = root / "bench-50.yaml"
    workflow(wf, 50)
    peaks = []
    for _ in range(3):
        _, _, stderr = run_weft(wf, env, jobs=50, extra_env={"WEFT_PEAK_RSS": "1"})
        line = [l for l in stderr.splitlines() if l.startswith("weft peak rss:")][-1]
        peaks.append(int(line.split()[3]))
    return [f"| 50 concurrent one-turn steps | {median(peaks) / 1024:.1f} MiB | {max(peaks) / 1024:.1f} MiB |"]


SCHEMA = ('{ type: object, required: [items, level], properties: { items: { type: array, '
          'items: { type: object, required: [name], properties: { name: { type: string }, '
          'note: { type: string } } } }, level: { enum: [low, high] } } }')


def validate_workflow(path: Path, n: int) -> None:
    lines = ["name: validate-bench", "inputs:", "  module: { type: string }", "steps:"]
    for i in range(n):
        lines.append(f"  s{i}:")
        if i == 0:
            lines.append("    prompt: List the public items of {{ inputs.module }}.")
        else:
            lines.append(
                f"    prompt: \"{{% for it in steps.s{i - 1}.output.items %}}{{{{ it.name | upper }}}} "
                f"{{% endfor %}}{{{{ steps.s{i - 1}.output.items | length }}}} "
                f"{{% if steps.s{i - 1}.output.level == 'high' %}}urgent{{% endif %}}\"")
        lines.append(f"    output_schema: {SCHEMA}")
    path.write_text("\n".join(lines) + "\n")


def validate_bench(root: Path) -> list[str]:
    wf = root / "validate-1000.yaml"
    validate_workflow(wf, 1000)
    times = []
    for _ in range(max(ROUNDS, 9)):
        t0 = time.perf_counter()
        out = subprocess.run([WEFT, "validate", str(wf)], capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if out.returncode != 0:
            raise SystemExit(f"weft validate failed:\n{out.stderr[-2000:]}")
    return [f"| 1,000 steps, each prompt reading the previous step's output | {median(times) * 1000:.0f} ms "
            f"| {min(times) * 1000:.0f} ms | {max(times) * 1000:.0f} ms |"]


def peaks(stderr: str) -> tuple[int, int]:
    def kib(prefix):
        return int([l for l in stderr.splitlines() if l.startswith(prefix)][-1].split()[3])
    return kib("weft peak rss:"), kib("child peak rss:")


def fanout_workflow(root: Path, n: int) -> tuple[Path, Path]:
    wf = root / f"fanout-{n}.yaml"
    wf.write_text("name: fanout\ninputs:\n  items: { type: array }\nsteps:\n"
                  "  each:\n    for_each: inputs.items\n    prompt: \"task {{ item }}\"\n")
    items = root / f"fanout-{n}.json"
    items.write_text(json.dumps({"items": list(range(n))}))
    return wf, items


def fanout_once(root: Path, env: dict, weft: str, n: int) -> tuple[float, int, int]:
    wf, items = fanout_workflow(root, n)
    out = subprocess.run([weft, "run", str(wf), "--inputs", str(items), "--jobs", "50",
                          "--output", "json", "--progress", "plain", "--runs-dir", str(root / "runs")],
                         env=dict(env, WEFT_PEAK_RSS="1"), capture_output=True, text=True,
                         cwd=env["BENCH_TMP"])
    if out.returncode != 0:
        raise SystemExit(f"weft failed ({out.returncode}):\n{out.stderr[-2000:]}")
    mine, child = peaks(out.stderr)
    return json.loads(out.stdout)["duration_ms"] / 1000, mine, child


def fanout(root: Path, env: dict, wefts: list[tuple[str, str]]) -> list[str]:
    """Each weft in turn (rotating order), 5 rounds at 50 elements and 2 at 2,000; medians."""
    lines = []
    for n in (50, 2000):
        runs = {label: [] for label, _ in wefts}
        for r in range(5 if n <= 50 else 2):
            order = wefts[r % len(wefts):] + wefts[:r % len(wefts)]
            for label, weft in order:
                runs[label].append(fanout_once(root, env, weft, n))
        for label, _ in wefts:
            run = median([x[0] for x in runs[label]])
            mine = max(x[1] for x in runs[label])
            child = max(x[2] for x in runs[label])
            lines.append(f"| {label} | {n} | {run:.1f} s | {run / n * 1000:.0f} ms | {mine / 1024:.0f} MiB "
                         f"| {child / 1024:.0f} MiB |")
            print(lines[-1], flush=True)
    return lines


def environments(root: Path, env: dict) -> list[str]:
    lines = []
    times = {"snapshot": [], "plain": []}
    for r in range(ROUNDS):
        for mode in (["snapshot", "plain"] if r % 2 == 0 else ["plain", "snapshot"]):
            wf = root / f"env-{mode}.yaml"
            steps = "".join(f"  s{i}:\n    prompt: task {i}\n" for i in range(50))
            wf.write_text(f"name: env-{mode}\ndefaults:\n  environment: {mode}\nsteps:\n{steps}")
            times[mode].append(run_weft(wf, env, jobs=50)[0])
    for mode in ("snapshot", "plain"):
        lines.append(f"| `environment: {mode}` | {median(times[mode]):.2f} s | {min(times[mode]):.2f} s "
                     f"| {max(times[mode]):.2f} s |")
    return lines


VALIDATE_HEADER = ["## weft validate", "", "| workflow | median | min | max |", "|---|---|---|---|"]


def scale_only():
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = dict(os.environ, BENCH_TMP=tmp, TMPDIR=str(root))
        mock = start_mock(18793)
        try:
            env["CODEX_HOME"] = str(codex_home(root, 18793))
            print("| weft | elements | run | per element | weft peak | app-server peak |\n|---|---|---|---|---|---|",
                  flush=True)
            wefts = [("this weft", WEFT)]
            if os.environ.get("WEFT_BEFORE"):
                wefts.append(("WEFT_BEFORE", os.environ["WEFT_BEFORE"]))
            fan = fanout(root, env, wefts)
            print("\n| 50 one-turn fresh-thread steps | median | min | max |\n|---|---|---|---|", flush=True)
            envs = environments(root, env)
        finally:
            mock.terminate()
    print("\n".join(["", "## A fan-out at --jobs 50", "",
                     "| weft | elements | run | per element | weft peak | app-server peak |", "|---|---|---|---|---|---|",
                     *fan, "", "## environment", "", "| 50 one-turn fresh-thread steps | median | min | max |",
                     "|---|---|---|---|", *envs]))


def main():
    if "--scale-only" in sys.argv:
        scale_only()
        return
    if "--validate-only" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            print("\n".join([*VALIDATE_HEADER, *validate_bench(Path(tmp))]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        validate = validate_bench(root)
        env = dict(os.environ, BENCH_TMP=tmp, TMPDIR=str(root))
        mock = start_mock(18791)
        try:
            env["CODEX_HOME"] = str(codex_home(root, 18791))
            print("## One-turn steps (medians)\n", flush=True)
            table = throughput(root, env)
            mem = memory(root, env)
        finally:
            mock.terminate()
        slow = start_mock(18792, delay_ms=300)
        try:
            env["CODEX_HOME"] = str(codex_home(root, 18792))
            spans = dag(root, env)
        finally:
            slow.terminate()
    print("\n".join(["", *table, "", "## DAG makespan", "",
                     "| workflow | weft makespan (median) | critical-path bound | ratio |", "|---|---|---|---|",
                     *spans, "", "## weft's own peak memory", "", "| run | median | max |", "|---|---|---|", *mem,
                     "", *VALIDATE_HEADER, *validate]))


main()
