using System.Text.Json;
using StatePersistence.CrashTests.Support;
using StatePersistence.Diagnostics;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Retention;

/// <summary>
/// The retention policy's pass crashed before every file-system operation (and once after the last), every crash state
/// of both crash models booted and read: a rotation or a cut of a session log, then one more append, and the expiry of
/// a report. Nothing torn, nothing the policy did not mean to drop lost: the log reads as before the pass or as the
/// policy leaves it, plus the next append when it was acknowledged; a report is whole or gone, and only the old one.
/// </summary>
public sealed class RetentionCrashTests(ReliabilityLedger ledger)
{
    private const int StatesPerPoint = 256;

    [Fact]
    public Task Rotation_DroppingTheOldestPart_CrashedAnywhere_LosesNoKeptAppend() =>
        ExploreAsync("retention: rotation into two parts, the oldest dropped, then an append",
            r => { r.SessionLogMaxBytes = 100; r.SessionLogRotatedParts = 2; },
            // Parts 1 (lines 4-7) and 2 (lines 0-3), the live log (8-11) past the cap.
            SeedTwoPartsAsync,
            before: Lines(0, 11), after: Lines(4, 11));

    [Fact]
    public Task Rotation_IntoAFreePart_CrashedAnywhere_LosesNoAppend() =>
        ExploreAsync("retention: rotation into a new part, then an append",
            r => { r.SessionLogMaxBytes = 100; r.SessionLogRotatedParts = 3; },
            async service =>
            {
                await AppendAsync(service, 0, 3);
                await service.RunRetentionOnceAsync(Ct);
                await AppendAsync(service, 4, 7);
            },
            before: Lines(0, 7), after: Lines(0, 7));

    [Fact]
    public Task DroppingTheOldestAppends_CrashedAnywhere_LeavesTheOldLogOrTheCutOne() =>
        ExploreAsync("retention: no parts kept, the oldest appends dropped, then an append",
            r => { r.SessionLogMaxBytes = 200; r.SessionLogRotatedParts = 0; },
            service => AppendAsync(service, 0, 6),
            before: Lines(0, 6), after: Lines(4, 6));

    /// <summary>
    /// A log with two rotated parts deleted (<c>DeleteSessionLogAsync</c>, what deleting its session does), crashed
    /// before every operation: the log reads whole, or cut from the front at a part (the oldest part goes first, each
    /// removal durable before the next), or empty; never with a gap; and empty once the call returned.
    /// </summary>
    [Fact]
    public async Task DeletingALogWithParts_CrashedAnywhere_LeavesItWholeCutFromTheFrontOrGone()
    {
        string[] allowed = [Lines(0, 11), Lines(4, 11), Lines(8, 11), ""];
        await ExploreStatesAsync("session log deletion: two parts and the live log",
            r => { r.SessionLogMaxBytes = 100; r.SessionLogRotatedParts = 2; },
            SeedTwoPartsAsync,
            service => service.DeleteSessionLogAsync("s1", Ct).AsTask(),
            async (booted, finished) =>
            {
                string text = await booted.ReadSessionLogAsync("s1", Ct) ?? "";
                return !allowed.Contains(text) ? $"the log reads\n{text}\ninstead of the whole log, a front part of it cut, or nothing"
                    : finished && text.Length > 0 ? $"the deletion returned, but the log reads\n{text}"
                    : null;
            });
    }

    [Fact]
    public async Task ReportExpiry_CrashedAnywhere_TheOldReportIsWholeOrGone_TheOthersUntouched()
    {
        const string workload = "retention: report expiry";
        const string old = """{"created_at":"2023-12-01T00:00:00Z","week":48}""";
        const string recent = """{"created_at":"2023-12-31T00:00:00Z","week":52}""";
        Action<StatePersistence.Retention.RetentionOptions> policy = r => r.ReportMaxAge = TimeSpan.FromDays(7);
        async Task Seed(StatePersistenceService service)
        {
            await service.SaveReportAsync("a-old", JsonDocument.Parse(old).RootElement.Clone(), Ct);
            await service.SaveReportAsync("b-recent", JsonDocument.Parse(recent).RootElement.Clone(), Ct);
        }

        await ExploreStatesAsync(workload, policy, Seed, ExpireAcknowledgedAsync, async (booted, finished) =>
        {
            IReadOnlyList<string> ids = await booted.ListReportsAsync(Ct);
            string? problem = ids.SequenceEqual(["a-old", "b-recent"]) || ids.SequenceEqual(["b-recent"]) ? null : $"the reports are [{string.Join(", ", ids)}]";
            if (finished && ids.Contains("a-old"))
            {
                // The README promises the deletion is followed by a directory fsync: once the pass returned, it holds.
                problem ??= "the pass returned, but the expired report a-old is back";
            }

            foreach (string id in ids)
            {
                string json = (await booted.LoadReportAsync(id, Ct))!.Value.GetRawText();
                if (json != (id == "a-old" ? old : recent))
                {
                    problem ??= $"the report {id} reads {json}";
                }
            }

            return problem;
        });
    }

    /// <summary>
    /// The pass, finished only when it reported no failure: a pass logs, counts and raises what it cannot do and goes
    /// on, so its return alone does not say the expiry was done.
    /// </summary>
    private static async Task ExpireAcknowledgedAsync(StatePersistenceService service)
    {
        Exception? failure = null;
        EventHandler<StateSaveErrorEventArgs> onError = (_, e) => failure ??= e.Error;
        service.StateSaveError += onError;
        try
        {
            await service.RunRetentionOnceAsync(Ct);
        }
        finally
        {
            service.StateSaveError -= onError;
        }

        if (failure is not null)
        {
            throw new IOException("The retention pass reported a failure: the expiry was not acknowledged.", failure);
        }
    }

    /// <summary>Seeds the log, then crashes the pass and one append everywhere; the log must read <paramref name="before"/> or <paramref name="after"/>, then the append if it returned.</summary>
    private Task ExploreAsync(string workload, Action<StatePersistence.Retention.RetentionOptions> policy, Func<StatePersistenceService, Task> seed,
        string before, string after)
    {
        const string next = "next line\n";
        return ExploreStatesAsync(workload, policy, seed, async service =>
        {
            await service.RunRetentionOnceAsync(Ct);
            await service.AppendSessionLogAsync("s1", next, Ct);
        }, async (booted, finished) =>
        {
            string text = await booted.ReadSessionLogAsync("s1", Ct) ?? "";
            bool appended = text == before + next || text == after + next;
            if (text != before && text != after && !appended)
            {
                return $"the log reads\n{text}\ninstead of\n{before}\nor\n{after}\n(then '{next.TrimEnd()}' if acknowledged)";
            }

            return finished && !appended ? "the acknowledged append is lost" : null;
        });
    }

    /// <summary>
    /// The sweep over the phase: the check boots each crash state and gets whether the phase finished (its last call
    /// acknowledged).
    /// </summary>
    private async Task ExploreStatesAsync(string workload, Action<StatePersistence.Retention.RetentionOptions> policy, Func<StatePersistenceService, Task> seed,
        Func<StatePersistenceService, Task> phase, Func<StatePersistenceService, bool, Task<string?>> check)
    {
        var sweep = new CrashPointSweep(ledger, workload, StatesPerPoint);
        (CrashSimulatingFileSystem dry, StatePersistenceService dryService) = await SeededAsync(policy, seed);
        int start = dry.OperationCount;
        await phase(dryService);
        await Services.AbandonAsync(dryService);
        sweep.Begin(dry, start);

        foreach (int point in sweep.Points)
        {
            (CrashSimulatingFileSystem disk, StatePersistenceService service) = await SeededAsync(policy, seed);
            bool finished = await sweep.RunAsync(disk, point, () => phase(service));
            try
            {
                await Services.AbandonAsync(service);
            }
            catch (Exception) when (disk.HasCrashed)
            {
                // Closing after the crash fails too; nothing of it reaches the disk.
            }

            await sweep.CheckStatesAsync(disk, point, async image =>
            {
                await using StatePersistenceService booted = Services.Create(Options(_ => { }), CrashSimulatingFileSystem.FromImage(image), Services.NewClock());
                await booted.StartAsync(Ct);
                return await check(booted, finished);
            });
        }

        sweep.ThrowIfAny();
    }

    /// <summary>A fresh disk with the service started on it and <paramref name="seed"/> done.</summary>
    private static async Task<(CrashSimulatingFileSystem Disk, StatePersistenceService Service)> SeededAsync(
        Action<StatePersistence.Retention.RetentionOptions> policy, Func<StatePersistenceService, Task> seed)
    {
        var disk = new CrashSimulatingFileSystem();
        StatePersistenceService service = Services.Create(Options(policy), disk, Services.NewClock());
        await service.StartAsync(Ct);
        await seed(service);
        return (disk, service);
    }

    private static StatePersistenceOptions Options(Action<StatePersistence.Retention.RetentionOptions> policy) =>
        Services.Options(CrashSimulatingFileSystem.DefaultRoot, o =>
        {
            o.Retention.Interval = TimeSpan.Zero; // the test runs the pass itself
            policy(o.Retention);
        });

    private static async Task AppendAsync(StatePersistenceService service, int from, int to)
    {
        for (int i = from; i <= to; i++)
        {
            await service.AppendSessionLogAsync("s1", $"line-{i:D2}\n", Ct);
        }
    }

    /// <summary>Under a cap of 100 bytes and two parts: part 2 (lines 0-3), part 1 (4-7), the live log (8-11).</summary>
    private static async Task SeedTwoPartsAsync(StatePersistenceService service)
    {
        await AppendAsync(service, 0, 3);
        await service.RunRetentionOnceAsync(Ct);
        await AppendAsync(service, 4, 7);
        await service.RunRetentionOnceAsync(Ct);
        await AppendAsync(service, 8, 11);
    }

    private static string Lines(int from, int to) => string.Concat(Enumerable.Range(from, to - from + 1).Select(i => $"line-{i:D2}\n"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;
}
