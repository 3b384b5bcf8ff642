using StatePersistence.CrashTests.Support;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>
/// Boots one crash state and checks the invariants: recovery does not throw; what it returns is a state the
/// acknowledged calls allow (<see cref="WorkloadModel.Check"/>); quarantined files keep their exact bytes, durably;
/// and recovery is idempotent and leaves a working store: a save after it, then a second recovery from what is
/// durable, gives the same state plus that save.
/// </summary>
internal sealed class CrashStateChecker(Workload workload, Violations violations)
{
    private static readonly AgentTask AfterRecovery = new()
    {
        Id = "saved-after-recovery",
        Description = "written by the first process after recovery",
        Status = TaskStatuses.Pending,
        CreatedAt = Services.Epoch,
    };

    public async Task CheckAsync(RunResult run, CrashModel model, DurableImage image)
    {
        var problems = new List<string>();
        try
        {
            await CheckRecoveriesAsync(run.Model, image, problems);
        }
        catch (Exception ex)
        {
            problems.Add("checking threw: " + ex);
        }

        foreach (string problem in problems)
        {
            string crash = workload.Crash == CrashKind.PowerLoss ? "power loss" : "kill -9";
            violations.Add($"{workload.Name}: {crash} {run.Point}, model {model}: {problem}\n  state: {image.Description}\n  calls: {run.Model.Steps()}");
        }
    }

    private async Task CheckRecoveriesAsync(WorkloadModel model, DurableImage image, List<string> problems)
    {
        CrashSimulatingFileSystem firstDisk = CrashSimulatingFileSystem.FromImage(image);
        StatePersistenceService first = Services.Create(Options(), firstDisk, Clock());
        try
        {
            await first.StartAsync();
        }
        catch (Exception ex)
        {
            problems.Add("recovery threw: " + ex);
            await Services.AbandonAsync(first);
            return;
        }

        RecoveredContent recovered;
        try
        {
            recovered = await RecoveredContent.ReadAsync(first, model.LogSessions, skipCorruptReports: workload.IntegrityOnly);
            List<string> missing = [.. workload.IntegrityOnly ? model.CheckIntegrity(recovered) : model.Check(recovered)];
            problems.AddRange(missing);
            CheckQuarantined(first.LastRecovery!, image, firstDisk, problems);
            CheckCutLogBytesKept(first.LastRecovery!, image, firstDisk, problems);
            CheckRestored(first.LastRecovery!, image, recovered, problems);
            CheckLost(first.LastRecovery!, recovered, everyAcknowledgedCallThere: !workload.IntegrityOnly && missing.Count == 0, problems);
            if (workload.CheckImage?.Invoke(image, firstDisk) is { } imageProblem)
            {
                problems.Add(imageProblem);
            }

            if (workload.IntegrityOnly)
            {
                return;
            }

            await first.SaveTaskAsync(AfterRecovery);
        }
        catch (Exception ex)
        {
            problems.Add("using the recovered service threw: " + ex);
            return;
        }
        finally
        {
            await Services.AbandonAsync(first);
        }

        // A power cut right after: recovery again from only what the first recovery and the save made durable.
        StatePersistenceService second = Services.Create(Options(), CrashSimulatingFileSystem.FromImage(firstDisk.DurableState), Clock());
        try
        {
            await second.StartAsync();
            RecoveredContent again = await RecoveredContent.ReadAsync(second, model.LogSessions);
            recovered.Values[RecoveredContent.TaskKey(AfterRecovery.Id)] = RecoveredContent.Json(AfterRecovery);
            foreach (string difference in recovered.Differences(again))
            {
                problems.Add("a second recovery (after a save and a power cut) differs from the first: " + difference);
            }
        }
        catch (Exception ex)
        {
            problems.Add("the second recovery threw: " + ex);
        }
        finally
        {
            await Services.AbandonAsync(second);
        }
    }

    /// <summary>A corrupt file is moved aside with its exact bytes, and the move is durable.</summary>
    private static void CheckQuarantined(RecoveryReport report, DurableImage image, CrashSimulatingFileSystem disk, List<string> problems)
    {
        if (report.Quarantined.Count == 0)
        {
            return;
        }

        DurableImage after = disk.DurableState;
        foreach (QuarantinedFile file in report.Quarantined)
        {
            if (!image.FileExists(file.OriginalPath))
            {
                problems.Add($"'{file.OriginalPath}' was reported quarantined but was not on the disk");
            }
            else if (!after.FileExists(file.QuarantinePath))
            {
                problems.Add($"'{file.OriginalPath}' was quarantined to '{file.QuarantinePath}', which is not durable");
            }
            else if (!after.ReadFile(file.QuarantinePath).AsSpan().SequenceEqual(image.ReadFile(file.OriginalPath)))
            {
                problems.Add($"'{file.OriginalPath}' was quarantined to '{file.QuarantinePath}' with different content");
            }
        }
    }

    /// <summary>
    /// Bytes cut off a session log's end are kept with their exact content, durably (a copy of the range, or of the
    /// whole log when it was copied aside as damaged): only NULs, which hold nothing, may go without a copy.
    /// </summary>
    private static void CheckCutLogBytesKept(RecoveryReport report, DurableImage image, CrashSimulatingFileSystem disk, List<string> problems)
    {
        DurableImage after = disk.DurableState;
        foreach (DroppedByteRange range in report.DroppedSessionLogBytes)
        {
            string what = $"bytes {range.Offset}..{range.Offset + range.Length - 1} cut from '{range.Path}'";
            if (!image.FileExists(range.Path) || image.ReadFile(range.Path).Length < range.Offset + range.Length)
            {
                problems.Add($"{what} were reported, but the log on the disk did not hold them");
                continue;
            }

            byte[] original = image.ReadFile(range.Path);
            ReadOnlySpan<byte> cut = original.AsSpan((int)range.Offset, (int)range.Length);
            if (range.KeptAs is null)
            {
                if (cut.ContainsAnyExcept((byte)0))
                {
                    problems.Add($"{what} were not all NULs, yet they were not kept");
                }
            }
            else if (!after.FileExists(range.KeptAs))
            {
                problems.Add($"{what} were kept in '{range.KeptAs}', which is not durable");
            }
            else if (after.ReadFile(range.KeptAs) is var kept && !kept.AsSpan().SequenceEqual(cut) && !kept.AsSpan().SequenceEqual(original))
            {
                problems.Add($"{what} were kept in '{range.KeptAs}' with different content");
            }
        }
    }

    /// <summary>
    /// Nothing is listed as restored from a backup that was not: the backup named was on the disk, its item's file
    /// was corrupt (quarantined), and the recovered state holds the item.
    /// </summary>
    private void CheckRestored(RecoveryReport report, DurableImage image, RecoveredContent recovered, List<string> problems)
    {
        foreach (RestoredItem item in report.RestoredFromBackup)
        {
            string key = item.Kind == "task" ? RecoveredContent.TaskKey(item.Id) : RecoveredContent.SessionKey(item.Id);
            string itemFile = Path.Combine(workload.StatePath, item.Kind == "task" ? "tasks" : "sessions", item.Id + ".json");
            if (!image.FileExists(Path.Combine(workload.StatePath, item.Source)))
            {
                problems.Add($"{item.Kind} '{item.Id}' was reported restored from '{item.Source}', which was not on the disk");
            }
            else if (!report.Quarantined.Exists(q => q.OriginalPath == itemFile))
            {
                problems.Add($"{item.Kind} '{item.Id}' was reported restored from '{item.Source}', but its file was not quarantined");
            }
            else if (!recovered.Values.ContainsKey(key))
            {
                problems.Add($"{item.Kind} '{item.Id}' was reported restored from '{item.Source}', but the recovered state does not hold it");
            }
            else if (!item.PossiblyStale)
            {
                problems.Add($"{item.Kind} '{item.Id}' was restored from the backup '{item.Source}' without being marked possibly stale");
            }
        }
    }

    /// <summary>
    /// Nothing is listed as lost that recovery brought back: a loss names a task or session no valid copy held. And
    /// nothing at all is listed as lost when every acknowledged call is in the recovered state: a report of lost
    /// journal records then is a false alarm (the start is unhealthy, and refused under AbsoluteConsistency), such as a
    /// zeroed segment that journal-head.json names because its header was not fsynced (mutants 59 and 60). Workloads
    /// that damage files on purpose (<see cref="Workload.IntegrityOnly"/>) lose acknowledged data by design, and are
    /// not held to it.
    /// </summary>
    private static void CheckLost(RecoveryReport report, RecoveredContent recovered, bool everyAcknowledgedCallThere, List<string> problems)
    {
        if (everyAcknowledgedCallThere && report.Lost.Count > 0)
        {
            problems.Add($"the recovery report lists losses though every acknowledged call is there: {string.Join("; ", report.Lost)}");
        }

        foreach (string lost in report.Lost)
        {
            foreach (System.Text.RegularExpressions.Match named in System.Text.RegularExpressions.Regex.Matches(lost, "\\b(task|session) '([^']+)'"))
            {
                string key = named.Groups[1].Value == "task" ? RecoveredContent.TaskKey(named.Groups[2].Value) : RecoveredContent.SessionKey(named.Groups[2].Value);
                if (recovered.Values.ContainsKey(key))
                {
                    problems.Add($"the recovery report lists {named.Groups[1].Value} '{named.Groups[2].Value}' as lost, but recovery brought it back: {lost}");
                }
            }
        }
    }

    private StatePersistenceOptions Options() => Services.Options(workload.StatePath, workload.Configure);

    /// <summary>A clock a day after the workload's, so names recovery derives from it never collide with older ones.</summary>
    private static Microsoft.Extensions.Time.Testing.FakeTimeProvider Clock()
    {
        var clock = Services.NewClock();
        clock.Advance(TimeSpan.FromDays(1));
        return clock;
    }
}
