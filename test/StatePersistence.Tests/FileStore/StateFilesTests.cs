using System.Text.Json;
using System.Text.RegularExpressions;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// <see cref="StateFiles"/>, the one classifier of a state directory's files that <c>statectl du</c>
/// (<see cref="StateDiskUsage"/>) and the encryption's listing of payload files (<see cref="StoredPayloadFiles"/>)
/// use: a directory the real store filled (every kind it writes in a run: snapshot, backups, journal, items, log,
/// report, task archive, lock, a file recovery moved aside and its report), plus the files of the README's
/// "On-disk layout" a run cannot leave on demand (temp files, failed-append markers, rotated parts, kept tails,
/// a migration's copies, an import's marker) and foreign ones, walked whole: each file is what the README's line for
/// it says.
/// </summary>
public sealed class StateFilesTests : IDisposable
{
    private const string Ts = "20240101T000000-0000000Z";

    /// <summary>The README's layout, line by line: the path (a pattern), what it is, the kind <c>du</c> counts it as, and whether it holds payloads.</summary>
    private static readonly (string Pattern, StateFileKind Kind, string Du, bool Payload)[] Readme =
    [
        (@"state\.json", StateFileKind.Snapshot, "state", true),
        (@"state\.backup\.\d{8}T\d{6}-\d{7}Z(\.\d+)?\.json", StateFileKind.Backup, "backups", true),
        (@"tasks/[^./]+\.json", StateFileKind.Task, "tasks", true),
        (@"sessions/[^./]+\.json", StateFileKind.Session, "sessions", true),
        (@"logs/session_[^./]+\.log", StateFileKind.SessionLog, "logs", true),
        (@"logs/session_[^./]+\.log\.[1-9]\d*", StateFileKind.SessionLog, "logs", true),
        (@"logs/session_[^./]+\.log\.failed", StateFileKind.SessionLogFailureMarker, "logs", false),
        (@"reports/report_[^./]+\.json", StateFileKind.Report, "reports", true),
        (@"journal/\d{10}\.wal", StateFileKind.JournalSegment, "journal", true),
        (@"journal/\d{10}\.wal\.failed", StateFileKind.JournalFailureMarker, "journal", false),
        (@"journal-head\.json", StateFileKind.JournalHead, "journal", false),
        (@"recovery-report\.json", StateFileKind.RecoveryReport, "other", false),
        (@"state\.pre-migration\.backup\.json", StateFileKind.Backup, "backups", true),
        (@"pre-migration/manifest\.json", StateFileKind.MigrationManifest, "backups", false),
        (@"pre-migration/tasks/[^./]+\.json", StateFileKind.Task, "backups", true),
        (@"state\.migration-v\d+-to-v\d+\.log", StateFileKind.MigrationLog, "other", false),
        (@"archive/tasks\.\d{8}T\d{6}-\d{7}Z(\.\d+)?\.tar\.gz", StateFileKind.TaskArchive, "archive", true),
        (@"\.lock|\.lock\.owner", StateFileKind.Lock, "other", false),
        (@"import-in-progress\.json", StateFileKind.ImportMarker, "other", false),
        // Moved aside next to where they were (torn tails kept aside among them); in a folder of the operator's, they
        // are still counted as moved aside, but no key has to open them.
        (@"([^/]+|(tasks|sessions|logs|reports|journal)/[^/]+)\.corrupt\.\d{8}T\d{6}-\d{7}Z\.json", StateFileKind.MovedAside, "quarantined", true),
        (@"saved/[^/]+\.corrupt\.[^/]+", StateFileKind.MovedAside, "quarantined", false),
        // Writes in flight or left by a crash, whatever else their name holds; and anything foreign.
        (@".+\.tmp", StateFileKind.Temp, "other", false),
        (@"tasks/notes\.txt|tasks/task_1\.json~|tasks/sub/task_9\.json|reports/summary\.json|archive/readme\.txt|journal/notes\.wal|saved/state\.json",
            StateFileKind.Other, "other", false),
    ];

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task EveryFileTheStoreMakes_IsClassifiedAsTheReadmeSays_ByDuAndByThePayloadListing()
    {
        await FillWithTheStoreAsync();
        AddTheLayoutsOtherNames();

        string root = _fixture.StatePath;
        var files = StateFiles.Under(root).ToList();
        var payloads = StoredPayloadFiles.Under(root).Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        var du = new Dictionary<string, long>(StringComparer.Ordinal);
        var unmatched = Readme.Select(line => line.Pattern).ToHashSet(StringComparer.Ordinal);
        var wrong = new List<string>();
        foreach ((string path, StateFile file) in files)
        {
            string relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            (string Pattern, StateFileKind Kind, string Du, bool Payload)? line = null;
            foreach (var candidate in Readme)
            {
                if (Regex.IsMatch(relative, "^(" + candidate.Pattern + ")$"))
                {
                    line = candidate;
                    break;
                }
            }

            if (line is not { } expected)
            {
                wrong.Add($"{relative}: no line of the README's layout names it");
                continue;
            }

            unmatched.Remove(expected.Pattern);
            du[expected.Du] = du.GetValueOrDefault(expected.Du) + 1;
            if (file.Kind != expected.Kind)
            {
                wrong.Add($"{relative}: classified {file.Kind}, the README says {expected.Kind}");
            }

            if (payloads.Contains(path) != expected.Payload)
            {
                wrong.Add($"{relative}: {(expected.Payload ? "missing from" : "in")} the payload listing");
            }
        }

        Assert.Empty(wrong);
        Assert.Empty(unmatched);
        foreach (StateDiskUsageKind kind in StateDiskUsage.Measure(root).Kinds)
        {
            Assert.True(du.GetValueOrDefault(kind.Kind) == kind.Files, $"du counts {kind.Files} file(s) as {kind.Kind}, the README {du.GetValueOrDefault(kind.Kind)}");
        }
    }

    /// <summary>
    /// The README's layout itself against <see cref="Readme"/>: every file it draws is a line of the table, and every
    /// line of the table but the in-flight, foreign and migration-folder files is drawn, so the two cannot drift apart.
    /// Before 2026-12-07 the table held a session log's failed-append marker and the README did not draw it.
    /// </summary>
    [Fact]
    public void TheReadmesLayout_DrawsEveryLineOfTheTable_AndNothingElse()
    {
        List<string> drawn = DrawnFiles();
        Assert.True(drawn.Count > 15, $"only {drawn.Count} file(s) read from the README's \"On-disk layout\"");

        static bool Matches(string pattern, string path) => Regex.IsMatch(path, "^(" + pattern + ")$");
        Assert.Empty(drawn.Where(path => !Readme.Any(line => Matches(line.Pattern, path))).Select(path => $"drawn, not in the table: {path}"));
        Assert.Empty(Readme
            .Where(line => line.Kind is not (StateFileKind.Temp or StateFileKind.Other)
                && !line.Pattern.StartsWith("saved/", StringComparison.Ordinal) && !line.Pattern.StartsWith("pre-migration/", StringComparison.Ordinal))
            .Where(line => !drawn.Any(path => Matches(line.Pattern, path)))
            .Select(line => $"in the table, not drawn: {line.Pattern}"));
    }

    /// <summary>The files the README's "On-disk layout" block draws (folders left out), their placeholders filled in.</summary>
    private static List<string> DrawnFiles()
    {
        string[] lines = File.ReadAllLines(ReadmePath());
        int heading = Array.IndexOf(lines, "## On-disk layout");
        Assert.True(heading > 0, "README.md has no '## On-disk layout' section");
        var drawn = new List<string>();
        foreach (string line in lines.Skip(heading + 1).SkipWhile(l => !l.StartsWith("```", StringComparison.Ordinal)).Skip(1).TakeWhile(l => !l.StartsWith("```", StringComparison.Ordinal)))
        {
            Match entry = Regex.Match(line, @"^[├└]── (.+?)\s+#");
            if (!entry.Success || entry.Groups[1].Value.EndsWith('/'))
            {
                continue;
            }

            foreach (string name in entry.Groups[1].Value.Split(", "))
            {
                drawn.Add(name
                    .Replace("<timestamp>", Ts).Replace("<id>", "task_1").Replace("<N>", "1").Replace("<M>", "2")
                    .Replace("journal/<n>", "journal/0000000001").Replace("<n>", "1").Replace("*", "state"));
            }
        }

        return drawn;
    }

    private static string ReadmePath()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "README.md");
            if (File.Exists(candidate) && Directory.Exists(Path.Combine(directory.FullName, "src", "StatePersistence")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("README.md not found above " + AppContext.BaseDirectory);
    }

    /// <summary>What a run of the real store leaves: the lock is taken while the files are listed by the test.</summary>
    private async Task FillWithTheStoreAsync()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        DateTimeOffset now = _fixture.Time.GetUtcNow();
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
            await service.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = now.AddDays(-10) }, ct);
            await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "interactive", Status = "active" }, ct);
            await service.AppendSessionLogAsync("s1", "hello", ct);
            await service.SaveReportAsync("r1", JsonDocument.Parse("""{"ok":true}""").RootElement, ct);
            await service.SaveSnapshotAsync(ct);
            _fixture.Time.Advance(TimeSpan.FromMinutes(1));
            await service.SaveTaskAsync(StateFixture.Task("task_2"), ct);
            await service.SaveSnapshotAsync(ct);
            await TaskArchives.ArchiveAsync(service, now.AddDays(-1), cancellationToken: ct);
        }

        // A state.json cut short: start-up recovery moves it aside and writes its report.
        byte[] state = await File.ReadAllBytesAsync(_fixture.File("state.json"), ct);
        await File.WriteAllBytesAsync(_fixture.File("state.json"), state[..(state.Length / 2)], ct);
        await using (StatePersistenceService reopened = await _fixture.OpenAsync())
        {
            await reopened.SaveSnapshotAsync(ct);
        }

        Assert.Single(Directory.GetFiles(_fixture.StatePath, "state.corrupt.*.json"));
        Assert.True(File.Exists(_fixture.File("recovery-report.json")), "recovery wrote no report");
        Assert.NotEmpty(Directory.GetFiles(_fixture.File("archive"), "tasks.*.tar.gz"));
    }

    private void AddTheLayoutsOtherNames()
    {
        string segment = Path.GetFileName(Directory.GetFiles(_fixture.File("journal"), "*.wal").Order(StringComparer.Ordinal).First());
        Write("journal", segment + ".failed");
        Write("journal", $"{segment}.tail.corrupt.{Ts}.json");
        Write("journal", $"{segment}.tail.corrupt.{Ts}.json.1.tmp");
        Write("logs", "session_s1.log.failed");
        Write("logs", "session_s1.log.1");
        Write("logs", $"session_s1.log.tail.corrupt.{Ts}.json");
        Write("tasks", "task_1.json.3.tmp");
        Write("tasks", $"task_1.corrupt.{Ts}.json");
        Write("archive", "tasks.20240101T000000-0000000Z.tar.gz.1.tmp");
        Write("state.json.7.tmp");
        Write("state.pre-migration.backup.json");
        Write("pre-migration", "manifest.json");
        Write("pre-migration", "tasks", "task_1.json");
        Write("state.migration-v1-to-v2.log");
        Write(".lock.owner");
        Write(".lock");
        Write("import-in-progress.json");
        // Foreign: an editor's leftovers, notes, a folder of the operator's.
        Write("tasks", "notes.txt");
        Write("tasks", "task_1.json~");
        Write("tasks", "sub", "task_9.json");
        Write("reports", "summary.json");
        Write("archive", "readme.txt");
        Write("journal", "notes.wal");
        Write("saved", "state.json");
        Write("saved", $"task_3.corrupt.{Ts}.json");
    }

    private void Write(params string[] parts)
    {
        string path = _fixture.File(parts);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path))
        {
            File.WriteAllText(path, "{}");
        }
    }
}
