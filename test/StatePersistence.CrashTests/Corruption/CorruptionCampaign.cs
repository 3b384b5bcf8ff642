using StatePersistence.CrashTests.Enumeration;
using StatePersistence.CrashTests.Support;
using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Testing.Fixtures;

namespace StatePersistence.CrashTests.Corruption;

/// <summary>
/// Damage at rest, one corruption per trial, to copies of a directory a real process left when killed with SIGKILL.
/// Invariants: the library starts or refuses with a clear message (never an unhandled exception); every item a valid
/// copy still holds comes back as it was; no deleted item comes back unreported; nothing valid is deleted (what
/// recovery does not keep it moves aside, and a checkpoint followed by a restart loads the same state); and
/// whatever differs from the undamaged directory's state is reported.
/// </summary>
internal sealed class CorruptionCampaign(ReliabilityLedger ledger, Violations violations, bool encrypted = false)
{
    private static readonly string[] LogSessions = ["s0", "s1", "s2", "s3", "s4"];

    /// <summary>The key file the killed process and every trial use when the campaign runs encrypted.</summary>
    private string? _keyFile;

    public async Task RunAsync(int trialsPerKind, int acks)
    {
        using var directory = new TempDirectory();
        string killed = directory.File("killed");
        if (encrypted)
        {
            _keyFile = directory.File("keys.json");
            StatePersistence.Encryption.EncryptionKeyFile.Create(_keyFile);
        }

        await KilledDirectory.CreateAsync(killed, acks, _keyFile);
        string referenceCopy = directory.File("reference");
        DirectoryCopy.Copy(killed, referenceCopy);
        Observed reference = await OpenAndReadAsync(referenceCopy) ?? throw new InvalidOperationException("The undamaged directory did not open.");
        var random = new Random(ReliabilityLedger.Seed ^ 0x0C0FFEE);
        foreach (CorruptionKind kind in Enum.GetValues<CorruptionKind>())
        {
            for (int trial = 0; trial < trialsPerKind; trial++)
            {
                string root = directory.File($"trial-{kind}-{trial}");
                DirectoryCopy.Copy(killed, root);
                Corruption corruption = Corruption.Apply(root, kind, random);
                string outcome = await TrialAsync(root, corruption, reference);
                ledger.RecordCorruptionTrial(kind.ToString(), outcome);
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private async Task<string> TrialAsync(string root, Corruption corruption, Observed reference)
    {
        string label = $"corruption campaign: {corruption}";
        var before = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).ToList();
        string damagedPath = Path.Combine(root, corruption.RelativePath);
        bool leftAllZeros = File.Exists(damagedPath) && !File.ReadAllBytes(damagedPath).AsSpan().ContainsAnyExcept((byte)0);
        Observed? first;
        try
        {
            first = await OpenAndReadAsync(root);
        }
        catch (StatePersistenceException ex) when (!string.IsNullOrWhiteSpace(ex.Message))
        {
            return "refused";
        }
        catch (Exception ex)
        {
            violations.Add($"{label}: start-up threw {ex.GetType().Name} instead of recovering or refusing with a clear message: {ex}");
            return "violation";
        }

        var problems = new List<string>();
        HashSet<string> damaged = DamagedFiles(corruption);
        List<string> differences = reference.Content.Differences(first!.Content);
        if (differences.Count > 0 && !first.Reported(reference) && JournalTailLost(corruption, leftAllZeros))
        {
            // Known limit (README, docs/reliability.md): a journal segment removed or replaced whole, or cut short at
            // a record boundary, leaves nothing that names what it held; those changes are gone without a trace.
            return "journal-tail-lost-unreported";
        }

        if (differences.Count > 0 && !first.Reported(reference) && corruption.LeftWholeShorterLog)
        {
            // Known limit, the session log's counterpart of a journal cut at a record boundary: a log cut exactly where
            // an append ended is a whole shorter log, and nothing records how many appends it had. Counted, not hidden.
            return "log-tail-lost-unreported";
        }

        if (differences.Count > 0 && !first.Reported(reference) && LogSwapped(corruption))
        {
            // Known limit: a session log does not name its session yet, so a whole valid log copied over another's is
            // served as that session's log. Counted, not hidden.
            return "log-swapped-unreported";
        }

        CheckItems(reference, first, corruption, damaged, root, problems);
        CheckNothingDeleted(root, before, damaged, problems);

        Observed? second = await OpenAndReadAsync(root, checkpointFirst: true);
        foreach (string difference in first!.StableContent.Differences(second!.StableContent))
        {
            problems.Add($"a checkpoint and a restart changed what recovery had loaded: {difference}");
        }

        foreach (string problem in problems)
        {
            violations.Add($"{label}: {problem}\n  recovery report: {first.ReportSummary}");
        }

        return problems.Count > 0 ? "violation"
            : reference.Content.Differences(first.Content).Count == 0 ? "intact"
            : "recovered-and-reported";
    }

    /// <summary>Every key compared with the undamaged directory's state.</summary>
    private static void CheckItems(Observed reference, Observed trial, Corruption corruption, HashSet<string> damaged, string root, List<string> problems)
    {
        List<string> differences = reference.Content.Differences(trial.Content);
        if (differences.Count > 0 && !trial.Reported(reference) && !UndetectableLoss(corruption))
        {
            problems.Add("the state differs from the undamaged directory's, and nothing reported damage: " + string.Join("; ", differences.Take(3)));
        }

        // Until items carry revisions (issue 12) only the journal orders an item file a killed checkpoint wrote against
        // state.json: with a journal segment damaged, that file's newer copy cannot be told from a stale one.
        var holders = new ItemHolders(root, damaged, countItemFiles: !damaged.Any(f => Corruption.KindOf(f) == "journal"));
        foreach ((string key, string value) in reference.Content.Values)
        {
            string? recovered = trial.Content.Values.GetValueOrDefault(key);
            if (recovered != value && holders.UndamagedCopyHolds(key, value))
            {
                problems.Add($"{key} came back as {Short(recovered)} although an undamaged file holds {Short(value)}");
            }
        }

        foreach (string key in trial.Content.Values.Keys.Except(reference.Content.Values.Keys))
        {
            if (!damaged.Any(f => Corruption.KindOf(f) == "journal"))
            {
                problems.Add($"{key} came back although it was deleted, and no journal segment was damaged");
            }
        }
    }

    /// <summary>
    /// A journal segment deleted, emptied, truncated, zeroed whole (its few records all in the block) or from the start
    /// of a record to its end (<see cref="Corruption.LeftJournalCutAtARecord"/>: seed 1878946143 zeroed the one record
    /// in bytes 1536..2048 of the newest segment, the same as a cut at that boundary), or overwritten by
    /// another segment: what was cut away left no bytes to read, and nothing else records how long the journal was
    /// (the newest segment left all zeros looks exactly like the spare prepared ahead).
    /// </summary>
    private static bool JournalTailLost(Corruption corruption, bool leftAllZeros) =>
        Corruption.KindOf(corruption.RelativePath) == "journal"
        && (corruption.Kind is CorruptionKind.Delete or CorruptionKind.Empty or CorruptionKind.Truncate
            || (corruption.Kind == CorruptionKind.ZeroBlock && (leftAllZeros || corruption.LeftJournalCutAtARecord))
            || (corruption.Kind == CorruptionKind.Duplicate && corruption.Detail.StartsWith("overwritten", StringComparison.Ordinal)));

    /// <summary>A whole session log exchanged with or copied over another session's.</summary>
    private static bool LogSwapped(Corruption corruption) =>
        Corruption.KindOf(corruption.RelativePath) == "log" && corruption.Kind is CorruptionKind.Swap or CorruptionKind.Duplicate;

    /// <summary>
    /// A report or log has one copy and no index: when its file was deleted or emptied outright, nothing is left that
    /// could tell it ever held anything. Every other change to one (a flipped bit, a cut, a swap) must be reported.
    /// </summary>
    private static bool UndetectableLoss(Corruption corruption) =>
        Corruption.KindOf(corruption.RelativePath) is "report" or "log" && corruption.Kind is CorruptionKind.Delete or CorruptionKind.Empty;

    /// <summary>Start-up may move files aside or remove temp files; it must never simply delete an undamaged file.</summary>
    private static void CheckNothingDeleted(string root, List<string> before, HashSet<string> damaged, List<string> problems)
    {
        var after = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).ToHashSet(StringComparer.Ordinal);
        foreach (string file in before.Where(f => !after.Contains(f) && !damaged.Contains(f) && !f.EndsWith(".tmp", StringComparison.Ordinal)))
        {
            string stem = Path.GetFileNameWithoutExtension(file);
            if (!after.Any(a => a.Contains(stem + ".corrupt.", StringComparison.Ordinal) || a.Contains(Path.GetFileName(file) + ".corrupt.", StringComparison.Ordinal)))
            {
                problems.Add($"start-up deleted the undamaged file '{file}' without moving it aside");
            }
        }
    }

    private static HashSet<string> DamagedFiles(Corruption corruption)
    {
        var damaged = new HashSet<string>(StringComparer.Ordinal) { corruption.RelativePath };
        const string Exchanged = "exchanged with ";
        if (corruption.Detail.StartsWith(Exchanged, StringComparison.Ordinal))
        {
            damaged.Add(corruption.Detail[Exchanged.Length..]);
        }

        return damaged;
    }

    /// <summary>Opens the directory (after a checkpoint and a restart when asked) and reads everything back.</summary>
    private async Task<Observed?> OpenAndReadAsync(string root, bool checkpointFirst = false)
    {
        StatePersistenceOptions options = TrialOptions(root);
        if (checkpointFirst)
        {
            StatePersistenceService writer = Services.Create(options, PhysicalFileSystem.Instance, Services.NewClock());
            await writer.StartAsync();
            await writer.SaveSnapshotAsync();
            await Services.AbandonAsync(writer);
        }

        StatePersistenceService service = Services.Create(TrialOptions(root), PhysicalFileSystem.Instance, Services.NewClock());
        try
        {
            await service.StartAsync();
            return await Observed.ReadAsync(service, LogSessions);
        }
        finally
        {
            await Services.AbandonAsync(service);
        }
    }

    private StatePersistenceOptions TrialOptions(string root) => Services.Options(root, o =>
    {
        o.MaxBackups = 10;
        o.Encryption.KeyFile = _keyFile;
    });


    private static string Short(string? value) => value is null ? "(absent)" : value.Length <= 80 ? value : value[..80] + "…";
}

/// <summary>What one start recovered and reported, and which reads of it failed as corrupt.</summary>
internal sealed record Observed(RecoveredContent Content, RecoveredContent StableContent, RecoveryReport Report, StateHealthStatus Health, int ReadErrors)
{
    public string ReportSummary =>
        $"{Report.Quarantined.Count} quarantined, {Report.Lost.Count} lost, {Report.Warnings.Count} warning(s), {Report.TornJournalBytes} torn journal bytes, health {Health}, {ReadErrors} read error(s)";

    /// <summary>Whether this start showed damage that the undamaged directory's start did not.</summary>
    public bool Reported(Observed undamaged) =>
        Report.CorruptionDetected || ReadErrors > 0 || Report.Warnings.Count > undamaged.Report.Warnings.Count
        || Report.TornJournalBytes != undamaged.Report.TornJournalBytes || Health != undamaged.Health;

    public static async Task<Observed> ReadAsync(StatePersistenceService service, string[] logSessions)
    {
        int errors = 0;
        RecoveredContent content = await RecoveredContent.ReadAsync(service, logSessions, skipCorruptReports: true, onCorrupt: () => errors++);
        RecoveredContent stable = errors == 0 ? content : await RecoveredContent.ReadAsync(service, logSessions, skipCorruptReports: true);
        return new Observed(content, stable, service.LastRecovery!, service.CheckHealth().Status, errors);
    }
}
