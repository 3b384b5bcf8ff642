using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The start-up scrub and <c>statectl verify</c> judge an item file by one rule: the same table of files, each put in
/// the same crashed state directory, is run through both, and each side's verdict must be the table's. Before the
/// rule was one, they disagreed on a file as new as the state's item with other content, one between the item's
/// revision and the state's, one newer than the state (verify let those through) and one of valid JSON that is no
/// task (the scrub let it through).
/// </summary>
public sealed class ItemFileRuleAgreementTests
{
    // The history every case starts from (revisions as the journal numbers them):
    // task_1 "v0" (1), task_1 "v1" (2), task_2 (3), checkpoint (3), task_1 "v2" (4), task_1 "v3" (5), task_2 deleted (6), crash.
    private const long Checkpoint = 3;
    private const long ItemRevision = 5;
    private const long StateRevision = 6;

    // A bound on background work, not a measure of its speed: the scrub runs on the thread pool, which a loaded
    // 2-core CI machine can keep from it for seconds (10 s was the whole margin).
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static TheoryData<string, string, bool> Cases => new()
    {
        { "task_1", "the checkpoint's file", false },
        { "task_1", "the checkpoint's copy in the format from before the envelope", false },
        { "task_1", "the state's copy, sealed", false },
        { "task_1", "the state's copy in the format from before the envelope", false },
        { "task_1", "a version an interrupted checkpoint wrote (between the checkpoint and the state's)", false },
        { "task_1", "a version from before the checkpoint", true },
        { "task_1", "as new as the state's item, other content", true },
        { "task_1", "newer than the item, no newer than the state", true },
        { "task_1", "newer than the state", true },
        { "task_1", "edited by hand, no revision", true },
        { "task_1", "cut short", true },
        { "task_1", "another task's file", true },
        { "task_1", "another task's content in the format from before the envelope", true },
        { "task_1", "valid JSON in the version's range that is no task", true },
        { "task_2", "the checkpoint's file", false },
        { "task_2", "a version an interrupted checkpoint wrote before the deletion", false },
        { "task_2", "a version from before the checkpoint", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ScrubAndVerify_JudgeAnItemFileAlike(string id, string file, bool problem)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var fixture = new StateFixture();
        await CrashAfterTheHistoryAsync(fixture, ct);
        string path = fixture.File("tasks", id + ".json");
        await File.WriteAllBytesAsync(path, Content(fixture, id, file), ct);

        StateDirectoryVerification verified = StateDirectoryVerifier.Verify(fixture.StatePath);
        List<StateDirectoryProblem> verifyFound = [.. verified.Problems.Where(p => p.Path == path)];
        List<QuarantinedFile> scrubFound = await ScrubAsync(fixture, ct);

        Assert.True(problem == (verifyFound.Count > 0), $"verify: expected {(problem ? "a problem" : "none")}, found [{string.Join("; ", verifyFound)}]");
        Assert.True(problem == scrubFound.Any(f => f.OriginalPath == path),
            $"scrub: expected {(problem ? "the file moved aside" : "none")}, found [{string.Join("; ", scrubFound.Select(f => $"{f.OriginalPath}: {f.Reason}"))}]");
    }

    private static async Task CrashAfterTheHistoryAsync(StateFixture fixture, CancellationToken ct)
    {
        StatePersistenceService service = await fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("task_1", description: "v0"), ct);
        await service.SaveTaskAsync(StateFixture.Task("task_1", description: "v1"), ct);
        await service.SaveTaskAsync(StateFixture.Task("task_2"), ct);
        await service.SaveSnapshotAsync(ct);
        await service.SaveTaskAsync(StateFixture.Task("task_1", description: "v2"), ct);
        await service.SaveTaskAsync(StateFixture.Task("task_1", description: "v3"), ct);
        await service.DeleteTaskAsync("task_2", ct);
        await StateFixture.CrashAsync(service);

        StateDirectoryView read = StateDirectoryReader.Read(fixture.StatePath);
        Assert.Equal((Checkpoint, ItemRevision, StateRevision), (read.SnapshotRevision, read.View.Tasks["task_1"].Revision, read.View.Revision));
    }

    private static byte[] Content(StateFixture fixture, string id, string file)
    {
        string path = fixture.File("tasks", id + ".json");
        byte[] checkpointed = File.ReadAllBytes(path);
        byte[] state = StateDirectoryReader.Read(fixture.StatePath).View.Tasks.GetValueOrDefault("task_1")!.Json;
        return file switch
        {
            "the checkpoint's file" => checkpointed,
            "the checkpoint's copy in the format from before the envelope" => PayloadEnvelope.Identity.Open(PayloadKind.Task, id, checkpointed, path),
            "the state's copy, sealed" => PayloadEnvelope.Identity.Seal(PayloadKind.Task, id, state),
            "the state's copy in the format from before the envelope" => state,
            "a version an interrupted checkpoint wrote (between the checkpoint and the state's)" => Sealed(id, "v2", Checkpoint + 1),
            "a version an interrupted checkpoint wrote before the deletion" => Sealed(id, "between", Checkpoint + 1),
            "a version from before the checkpoint" => Sealed(id, "before", 1),
            "as new as the state's item, other content" => Sealed(id, "other", ItemRevision),
            "newer than the item, no newer than the state" => Sealed(id, "other", StateRevision),
            "newer than the state" => Sealed(id, "other", StateRevision + 10),
            "edited by hand, no revision" => Plain(id, "edited", 0),
            "cut short" => checkpointed[..(checkpointed.Length / 2)],
            "another task's file" => Sealed("task_3", "v2", Checkpoint + 1),
            "another task's content in the format from before the envelope" => Plain("task_3", "v2", Checkpoint + 1),
            "valid JSON in the version's range that is no task" => JsonSerializer.SerializeToUtf8Bytes(new { id, revision = Checkpoint + 1, status = 5 }),
            _ => throw new ArgumentException($"no such case: {file}", nameof(file)),
        };
    }

    private static byte[] Plain(string id, string description, long revision)
    {
        AgentTask task = StateFixture.Task(id, description: description);
        task.Revision = revision;
        return JsonSerializer.SerializeToUtf8Bytes(task, StateJsonContext.Default.AgentTask);
    }

    private static byte[] Sealed(string id, string description, long revision) =>
        PayloadEnvelope.Identity.Seal(PayloadKind.Task, id, Plain(id, description, revision));

    /// <summary>Starts the store on the directory and returns what its start-up scrub moved aside.</summary>
    private static async Task<List<QuarantinedFile>> ScrubAsync(StateFixture fixture, CancellationToken ct)
    {
        var found = new List<QuarantinedFile>();
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var scrubs = new MetricCollector<double>(meters.GetRequiredService<IMeterFactory>(), StateMeter.Name, "statepersistence.scrub.duration");
        StatePersistenceService service = fixture.Create(meters: meters.GetRequiredService<IMeterFactory>());
        service.CorruptionDetected += (_, e) =>
        {
            lock (found)
            {
                found.Add(e.File);
            }
        };
        await service.StartAsync(ct);
        await using (service)
        {
            await scrubs.WaitForMeasurementsAsync(1, Patience);
        }

        lock (found)
        {
            return [.. found];
        }
    }
}
