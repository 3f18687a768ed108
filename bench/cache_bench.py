#!/usr/bin/env python3
"""The result cache ("never pay twice"), measured on the pinned app-server and the mock
model (bench/mock_model.py, its request log counted).

usage: cache_bench.py WEFT_BIN [--rounds R]      (CODEX_BIN set)

A 10-step DAG with `cache: true`, in a git repository; every prompt reads its upstream
steps' outputs, and the mock model numbers its replies, so a step that runs again changes
the prompts of its dependents.
1. Run it (cold), then again unchanged: the second run must send 0 model requests.
2. Edit the prompt of `s4` (in the middle of the DAG): only `s4` and its dependents
   (`s5`, `s8`) may be sent.
3. A full-miss run with the cache on (an empty `--cache-dir` each time) against the same
   run with `--no-cache`, alternating, R rounds: medians of the run's own duration and of
   the whole process.
"""
import json, os, socket, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WEFT = sys.argv[1]
ROUNDS = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 10
PORT = 18794
NEEDS = {0: [], 1: [0], 2: [1], 3: [0], 4: [3], 5: [4], 6: [], 7: [6], 8: [5, 7], 9: [2]}


def workflow(edited: bool = False) -> str:
    lines = ["name: cache-bench", "defaults:", "  cache: true", "steps:"]
    for i, needs in NEEDS.items():
        reads = " ".join(f"{{{{ steps.s{n}.output }}}}" for n in needs)
        word = "task (edited)" if edited and i == 4 else "task"
        lines += [f"  s{i}:", f"    prompt: \"{word} {i} {reads}\""]
    return "\n".join(lines) + "\n"


def codex_home(root: Path) -> Path:
    home = root / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(f"""model = "mock-model"
model_provider = "mock"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false
[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:{PORT}/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
[analytics]
enabled = false
[features]
shell_snapshot = false
""")
    return home


def start_mock(log: Path) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, str(HERE / "mock_model.py"), "--port", str(PORT),
                          "--log", str(log)])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.1).close()
            return p
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the mock model did not start")


def sent(log: Path) -> list[str]:
    """The prompts the model was sent so far (the last user message of each request)."""
    if not log.exists():
        return []
    prompts = []
    for line in log.read_bytes().splitlines():
        body = json.loads(line)
        users = [i for i in body.get("input", []) if i.get("role") == "user"]
        text = users[-1]["content"][0].get("text", "") if users else ""
        prompts.append(text)
    return prompts


def run(work: Path, env: dict, *args: str) -> tuple[float, float, dict]:
    t0 = time.perf_counter()
    out = subprocess.run([WEFT, "run", "flow.yaml", "--output", "json", *args],
                         env=env, capture_output=True, text=True, cwd=work)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"weft failed ({out.returncode}):\n{out.stderr[-2000:]}")
    report = json.loads(out.stdout)
    return report["duration_ms"] / 1000, wall, report


def git(work: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=work, check=True, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b",
                            GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b"))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        work = root / "work"
        work.mkdir()
        (work / "README.md").write_text("a repository the steps read\n")
        git(work, "init", "-q")
        git(work, "add", "-A")
        git(work, "commit", "-qm", "init")
        (work / "flow.yaml").write_text(workflow())
        log = root / "requests.jsonl"
        env = dict(os.environ, CODEX_HOME=str(codex_home(root)), TMPDIR=str(root))
        env.pop("WEFT_CACHE_DIR", None)
        mock = start_mock(log)
        try:
            lines = counts(work, env, log)
            lines += ["", "| full-miss run of 10 steps | cache on | `--no-cache` | on / off |",
                      "|---|---|---|---|", *overhead(root, work, env)]
        finally:
            mock.terminate()
    print("\n".join(["## Result cache", "", *lines]))


def counts(work: Path, env: dict, log: Path) -> list[str]:
    run(work, env)
    cold = len(sent(log))
    _, _, again = run(work, env)
    second = len(sent(log)) - cold
    cached = sum(1 for s in again["steps"].values() if s.get("cached"))
    (work / "flow.yaml").write_text(workflow(edited=True))
    before = len(sent(log))
    run(work, env)
    edited = sorted("`s" + next(w for w in p.split() if w.isdigit()) + "`" for p in sent(log)[before:])
    assert second == 0, f"the unchanged second run sent {second} requests"
    lines = ["| run | model requests | served from the cache |", "|---|---|---|",
             f"| first (cold) | {cold} | 0 |",
             f"| second, unchanged | {second} | {cached} of 10 |",
             f"| after editing `s4`'s prompt | {len(sent(log)) - before} ({', '.join(edited)}) | "
             f"{10 - (len(sent(log)) - before)} of 10 |"]
    print("\n".join(lines), flush=True)
    return lines


def overhead(root: Path, work: Path, env: dict) -> list[str]:
    on, off, on_wall, off_wall = [], [], [], []
    for r in range(ROUNDS):
        for mode in (["on", "off"] if r % 2 == 0 else ["off", "on"]):
            if mode == "on":
                d, w, _ = run(work, env, "--cache-dir", str(root / f"empty-{r}"))
                on.append(d); on_wall.append(w)
            else:
                d, w, _ = run(work, env, "--no-cache")
                off.append(d); off_wall.append(w)
    med = statistics.median
    return [f"| run (median of {ROUNDS}) | {med(on):.3f} s | {med(off):.3f} s | {med(on) / med(off):.3f} |",
            f"| whole process (median) | {med(on_wall):.3f} s | {med(off_wall):.3f} s | "
            f"{med(on_wall) / med(off_wall):.3f} |"]


main()
