#!/usr/bin/env python3
"""Self-test of scripts/mutation-check.py, dotnet faked (seconds, no build): in a throwaway git tree, a mutant that does
not compile, one the crash suite kills, and one that compiles for the crash suite but not for the library's tests.
Both unbuildable mutants must be listed "invalid: does not compile", no test binary may run after a failed build,
the run must exit 1, and the failed builds' bin/ and obj/ must be gone.

    python3 scripts/mutation-check-selftest.py
"""
import importlib.util, os, shutil, subprocess, sys, tempfile
script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mutation-check.py")
sys.argv = sys.argv[:1]
spec = importlib.util.spec_from_file_location("mc", script)
mc = importlib.util.module_from_spec(spec); spec.loader.exec_module(mc)
tree = tempfile.mkdtemp(prefix="mc-harness-")
os.chdir(tree)
os.makedirs("src/Lib"); os.makedirs("src/StatePersistence.Postgres"); os.makedirs("scripts"); os.makedirs("test/StatePersistence.CrashTests/bin"); os.makedirs("test/StatePersistence.Tests/obj")
open("src/Lib/A.cs", "w").write("int x = 1;\nint y = 2;\n")
open("src/StatePersistence.Postgres/B.cs", "w").write("int z = 1;\n")
open("scripts/mutations.tsv", "w").write("1\tsrc/Lib/A.cs\tint x = 1;\t1\tint x = ;\tdoes not compile\n2\tsrc/Lib/A.cs\tint y = 2;\t1\tint y = 3;\tcompiles, killed\n3\tsrc/Lib/A.cs\tint y = 2;\t1\tint y = 4;\tcompiles for the crash suite, not for the unit tests\n"
    "4\tsrc/StatePersistence.Postgres/B.cs\tint z = 1;\t1\tint z = 5;\tthe PostgreSQL store alone, killed by its tests\n")
subprocess.run("git init -q && git add -A && git -c user.email=a@b -c user.name=h commit -qm init", shell=True, check=True)
calls = []
def fake_run(cmd, log):
    text = open("src/Lib/A.cs").read() + open("src/StatePersistence.Postgres/B.cs").read()
    calls.append((" ".join(cmd), "int z = 5;" in text))
    if cmd[0] == "dotnet":
        rc = 1 if "int x = ;" in text or ("int y = 4;" in text and cmd[2] == "test/StatePersistence.Tests") else 0
        open(log, "w").write(f"build rc {rc}\n"); return rc
    fail = "int y = 3;" in text and "CrashTests" in cmd[0]
    if "int z = 5;" in text and "Postgres.Tests" in cmd[0]:
        open(log, "w").write("    StatePersistence.Postgres.Tests.Pg.Test [FAIL]\n"); return 1
    open(log, "w").write("    StatePersistence.CrashTests.Some.Test [FAIL]\n" if fail else "ok\n"); return 1 if fail else 0
mc.run = fake_run
try:
    mc.check(); code = 0
except SystemExit as e:
    code = e.code
left = [d for d in ("test/StatePersistence.CrashTests/bin", "test/StatePersistence.Tests/obj") if os.path.isdir(d)]
table = open("artifacts/mutation-table.md").read()
problems = [p for p, bad in [
    (f"exit code {code}, not 1", code != 1),
    ("mutant 1 is not listed invalid", "| 1 | does not compile | `src/Lib/A.cs:1` | invalid: does not compile |" not in table),
    ("mutant 3 is not listed invalid", "invalid: does not compile (test/StatePersistence.Tests)" not in table),
    ("mutant 2 is not killed by Some.Test", "| Some.Test |" not in table),
    ("the unit tests ran after their build failed", any("StatePersistence.Tests/bin" in c and not pg for c, pg in calls)),
    ("mutant 4 is not killed by the PostgreSQL tests", "| 4 | the PostgreSQL store alone, killed by its tests | `src/StatePersistence.Postgres/B.cs:1` | postgres: Pg.Test |" not in table),
    ("the crash suite or the library's tests ran for a PostgreSQL-only mutant",
        any(pg and ("CrashTests" in c or "StatePersistence.Tests" in c) for c, pg in calls)),
    (f"bin/obj left after a failed build: {left}", bool(left))] if bad]
os.chdir("/")
shutil.rmtree(tree, ignore_errors=True)
print("\n".join(problems) or "mutation-check self-test passed")
sys.exit(1 if problems else 0)
