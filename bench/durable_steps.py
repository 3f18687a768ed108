"""What saving a step before its dependents start costs: a 20-step chain (each step reads
the one before, so each is saved before the next starts) and 20 independent steps (none
is waited for), run by two weft binaries in turn against the scripted mock model.

    python3 bench/durable_steps.py WEFT_BEFORE WEFT_AFTER [ROUNDS]

Prints the median and the best wall time of each (the best is the least disturbed by
other work on the machine).
"""
import subprocess, sys, time, os, statistics, socket, tempfile
from pathlib import Path
HERE = Path(__file__).resolve().parent
root = Path(tempfile.mkdtemp(prefix="weft-durable-"))
bins = {"before": sys.argv[1], "after": sys.argv[2]}
port = 18871
home = root / "home"; home.mkdir(exist_ok=True)
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
mock = subprocess.Popen([sys.executable, str(HERE / "mock_model.py"), "--port", str(port)])
for _ in range(100):
    try: socket.create_connection(("127.0.0.1", port), timeout=0.1).close(); break
    except OSError: time.sleep(0.05)
n = 20
chain = "steps:\n" + "".join(
    f"  s{i}:\n    prompt: \"step {i}" + (f" after {{{{ steps.s{i-1}.output }}}}" if i else "") + "\"\n" for i in range(n))
flat = "steps:\n" + "".join(f"  s{i}:\n    prompt: step {i}\n" for i in range(n))
(root / "chain.yaml").write_text(chain); (root / "flat.yaml").write_text(flat)
codex = subprocess.check_output([str(HERE.parent / "scripts/codex-cli")], text=True).strip()
env = dict(os.environ, CODEX_HOME=str(home), CODEX_BIN=codex)
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 11
for wf in ["chain", "flat"]:
    all = {"before": [], "after": []}
    for r in range(rounds):
      for b in bins:
            ts = all[b]
            t = time.time()
            out = subprocess.run([bins[b], "run", str(root / f"{wf}.yaml"), "--progress", "plain", "--output", "off", "--runs-dir", str(root / "runs"), "-j", "20"], env=env, cwd=root, capture_output=True)
            ts.append(time.time() - t)
            assert out.returncode == 0, out.stderr[-2000:]
    for b, ts in all.items():
        print(wf, b, f"median {statistics.median(ts):.3f}s  min {min(ts):.3f}s", flush=True)
mock.terminate()
import shutil; shutil.rmtree(root, ignore_errors=True)
