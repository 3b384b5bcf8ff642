#!/usr/bin/env python3
"""Mutation check of the write path (issue 9; see docs/reliability.md).

Applies, one at a time, the mutations listed in scripts/mutations.tsv to durability-critical code, rebuilds the
crash suite (test/StatePersistence.CrashTests) and runs it, stopping at its first failing test; a mutant the crash
suite does not kill is then run against the library's tests (test/StatePersistence.Tests), and a mutant of the
PostgreSQL store (src/StatePersistence.Postgres) against its own tests (test/StatePersistence.Postgres.Tests, on
STATEPERSISTENCE_POSTGRES or the throwaway cluster of scripts/services/postgres.sh, which they start when it is not
up): straight away when it changes that store alone, which the crash suite and the library's tests do not load. Writes the table
of which test killed which mutant to artifacts/mutation-table.md. A mutant that survives is a hole in the proof.
Not part of the README's test command: it rebuilds and runs the suite once per mutant.

    python3 scripts/mutation-check.py          # every mutant
    python3 scripts/mutation-check.py 3 7      # only mutants 3 and 7

mutations.tsv: one edit per line, tab-separated: number, file, a substring of the line to change, which
occurrence of it (1 = first), what replaces the substring, and (on the mutant's first line) what the mutant does.
Several lines with one number are one mutant.

It tests the commit checked out (HEAD), in a git worktree of its own under the system's temp directory, removed
afterwards: the working tree is never touched, so editing and building there during a run neither leaks into the
mutants' builds nor is undone by the run's `git checkout` of each mutant (run in place, a run on 2026-12-06 threw
away every uncommitted edit of src/ made while it ran, and reported a mutant surviving that its test kills).
Uncommitted changes are not tested: commit them first. The table and the logs are copied to artifacts/.

A mutant that does not compile proves nothing: it is listed as "invalid: does not compile" and fails the run (exit code
1) as a survivor does. Every build's exit code is checked, the library tests' and the PostgreSQL tests' included: before
2026-12-07 those two were ignored, so a failed build ran the binaries left by the build before, possibly carrying the
previous mutant's edit. After a failed build the bin/ and obj/ directories of src/ and test/ are removed, so nothing a
failed build left is reused by the next mutant's.
"""
import os, re, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
SUITE = "test/StatePersistence.CrashTests/bin/Release/net10.0/StatePersistence.CrashTests"
UNIT = "test/StatePersistence.Tests/bin/Release/net10.0/StatePersistence.Tests"
POSTGRES = "test/StatePersistence.Postgres.Tests/bin/Release/net10.0/StatePersistence.Postgres.Tests"


def load():
    mutants = {}
    for line in open("scripts/mutations.tsv", encoding="utf-8"):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        number, path, pattern, occurrence, replacement = fields[:5]
        mutant = mutants.setdefault(int(number), {"edits": [], "what": ""})
        mutant["edits"].append((path, pattern, int(occurrence), replacement))
        if len(fields) > 5 and fields[5]:
            mutant["what"] = fields[5]
    return mutants


def apply(edits):
    shown = []
    for path, pattern, occurrence, replacement in edits:
        lines = open(path, encoding="utf-8").read().split("\n")
        hits = [i for i, text in enumerate(lines) if pattern in text]
        if len(hits) < occurrence:
            raise ValueError(f"{path}: {pattern!r} occurs {len(hits)} time(s), occurrence {occurrence} wanted")
        i = hits[occurrence - 1]
        lines[i] = lines[i].replace(pattern, replacement, 1)
        open(path, "w", encoding="utf-8").write("\n".join(lines))
        shown.append(f"{path}:{i + 1}")
    return ", ".join(shown)


def run(cmd, log):
    with open(log, "w") as out:
        return subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode


def build(project):
    """Builds project (its log in artifacts/mutant-build.log); on failure, removes every bin/ and obj/ of src/ and test/."""
    if run(["dotnet", "build", project, "-c", "Release", "-nologo", "-v", "quiet"], "artifacts/mutant-build.log") == 0:
        return True
    shutil.copy("artifacts/mutant-build.log", "artifacts/mutant-build-failed.log")
    for top in ("src", "test"):
        for project_dir in os.listdir(top):
            for output in ("bin", "obj"):
                shutil.rmtree(os.path.join(top, project_dir, output), ignore_errors=True)
    return False


def main():
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    if subprocess.run(["git", "status", "--porcelain", "--", "src", "test", "scripts/mutations.tsv"], capture_output=True, text=True).stdout.strip():
        print(f"note: uncommitted changes in src/, test/ or mutations.tsv are not tested; the run tests HEAD ({head})", flush=True)
    worktree = tempfile.mkdtemp(prefix="mutation-check-")
    subprocess.run(["git", "worktree", "add", "-q", "--detach", worktree, "HEAD"], check=True)
    try:
        os.chdir(worktree)
        check()
    finally:
        os.chdir(ROOT)
        os.makedirs("artifacts", exist_ok=True)
        for name in os.listdir(os.path.join(worktree, "artifacts")) if os.path.isdir(os.path.join(worktree, "artifacts")) else []:
            if name.startswith("mutant") or name == "mutation-table.md":
                shutil.copy(os.path.join(worktree, "artifacts", name), os.path.join("artifacts", name))
        subprocess.run(["git", "worktree", "remove", "--force", worktree])


def check():
    os.makedirs("artifacts", exist_ok=True)
    wanted = {int(a) for a in sys.argv[1:]}
    rows, survivors, invalid = [], 0, 0
    try:
        for number, mutant in sorted(load().items()):
            if wanted and number not in wanted:
                continue
            started = time.time()
            try:
                where = apply(mutant["edits"])
            except ValueError as error:
                rows.append((number, mutant["what"], "", f"NOT APPLIED: {error}", 0))
                survivors += 1
                subprocess.run(["git", "checkout", "-q", "--", "src"])
                continue
            print(f"mutant {number}: {mutant['what']} ({where})", flush=True)
            # A mutant of the PostgreSQL store alone goes straight to its tests: neither the crash suite nor the
            # library's tests load that assembly (they do not reference it), so they cannot see it, and running them
            # first cost a PostgreSQL mutant 8 of its 16 minutes under load on 2026-12-07.
            postgres_only = all(path.startswith("src/StatePersistence.Postgres/") for path, *_ in mutant["edits"])
            log, unbuilt, found = f"artifacts/mutant-{number}.log", "", None
            if not postgres_only and not build("test/StatePersistence.CrashTests"):
                killed = "invalid: does not compile"
            else:
                if not postgres_only:
                    # The kill -9 loop is left out: a killed process leaves the page cache intact, so it cannot see a
                    # missing fsync, and it is the slowest part of the suite; the threshold test needs it, so it goes too.
                    run([SUITE, "-stopOnFail", "-noColor", "-noLogo",
                         "-class-", "StatePersistence.CrashTests.Kill.KillNineTests",
                         "-class-", "StatePersistence.CrashTests.ReliabilityThresholdTests"], log)
                    found = re.search(r"^\s*([\w.]+).*? \[FAIL\]", open(log, encoding="utf-8", errors="replace").read(), re.M)
                if not found and not postgres_only:
                    # Not seen by the crash suite: the library's own tests (real files, damaged on purpose) are the
                    # rest of the proof; a mutant they kill is no hole, and the table says which test did.
                    if not build("test/StatePersistence.Tests"):
                        unbuilt = "test/StatePersistence.Tests"
                    else:
                        run([UNIT, "-stopOnFail", "-noColor", "-noLogo"], log + ".unit")
                        found = re.search(r"^\s*([\w.]+).*? \[FAIL\]", open(log + ".unit", encoding="utf-8", errors="replace").read(), re.M)
                if not found and not unbuilt and any(path.startswith("src/StatePersistence.Postgres/") for path, *_ in mutant["edits"]):
                    if not build("test/StatePersistence.Postgres.Tests"):
                        unbuilt = "test/StatePersistence.Postgres.Tests"
                    else:
                        run([POSTGRES, "-stopOnFail", "-noColor", "-noLogo"], log + ".postgres")
                        found = re.search(r"^\s*([\w.]+).*? \[FAIL\]", open(log + ".postgres", encoding="utf-8", errors="replace").read(), re.M)
                killed = f"invalid: does not compile ({unbuilt})" if unbuilt else found.group(1).replace("StatePersistence.CrashTests.", "") \
                    .replace("StatePersistence.Postgres.Tests.", "postgres: ").replace("StatePersistence.Tests.", "unit: ") if found else ""
            elapsed = round(time.time() - started)
            if not killed:
                killed, survivors = "SURVIVED", survivors + 1
            elif killed.startswith("invalid:"):
                invalid += 1
            print(f"  -> {killed} ({elapsed} s)", flush=True)
            rows.append((number, mutant["what"], where, killed, elapsed))
            subprocess.run(["git", "checkout", "-q", "--", "src"])
    finally:
        subprocess.run(["git", "checkout", "-q", "--", "src"])
    table = "| # | mutation | where | killed by | time |\n|---|---|---|---|---|\n" + "".join(
        f"| {n} | {what} | `{where}` | {killed} | {elapsed} s |\n" for n, what, where, killed, elapsed in rows)
    open("artifacts/mutation-table.md", "w", encoding="utf-8").write(table)
    print(table)
    print(f"{survivors} mutant(s) survived")
    if invalid:
        print(f"{invalid} mutant(s) invalid: they do not compile (see artifacts/mutant-build-failed.log)")
    sys.exit(1 if survivors or invalid else 0)


if __name__ == "__main__":
    main()
