using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.InMemory;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary><c>ReplaceTaskAsync</c>: a whole-task write that says whether it created, on the file store and the in-memory store.</summary>
public sealed class TaskReplaceTests : IDisposable
{
    private static readonly DateTimeOffset Created = new(2026, 11, 1, 9, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();

    public static TheoryData<string> Stores => ["file", "memory"];

    public void Dispose() => _directory.Dispose();

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Replace_CreatesWhenAbsent_ThenReplacesTheWholeTask_KeepingItsCreatedAt(string store)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await StartAsync(store);
        var first = new AgentTask
        {
            Id = "t1", Description = "first", Status = "pending", Tool = "CLAUDECODE", CreatedAt = Created, UpdatedAt = Created.AddMinutes(1),
            ExtensionData = new() { ["priority"] = JsonDocument.Parse("3").RootElement },
        };

        ItemReplacement created = await service.ReplaceTaskAsync(first, ct);
        ItemReplacement replaced = await service.ReplaceTaskAsync(
            new AgentTask { Id = "t1", Description = "second", Status = "running", UpdatedAt = Created.AddMinutes(2), Logs = [Entry("started")] }, ct);

        Assert.True(created.Created);
        Assert.False(replaced.Created);
        Assert.True(replaced.Revision > created.Revision);
        AgentTask stored = (await service.LoadTaskAsync("t1", ct))!;
        Assert.Equal(("second", "running", Created, replaced.Revision), (stored.Description, stored.Status, stored.CreatedAt, stored.Revision));
        // Replaced whole: what the second task did not name is gone, not merged from the first.
        Assert.Null(stored.Tool);
        Assert.Null(stored.ExtensionData);
        Assert.Equal("started", Assert.Single(stored.Logs).Message);
        // The answer is the stored JSON, byte for byte what the task serializes to with its revision.
        Assert.Equal(ItemCodec.Serialize(stored), replaced.Json.ToArray());
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Replace_CreatingWithoutCreatedAt_TakesItsUpdatedAt_OrTheTimeOfTheWrite_AndLeavesTheCallersTaskAlone(string store)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await StartAsync(store);
        var stamped = new AgentTask { Id = "t1", Description = "d", Status = "pending", UpdatedAt = Created, Revision = 99 };
        var bare = new AgentTask { Id = "t2", Description = "d", Status = "pending" };
        DateTimeOffset before = DateTimeOffset.UtcNow;

        ItemReplacement first = await service.ReplaceTaskAsync(stamped, ct);
        await service.ReplaceTaskAsync(bare, ct);

        Assert.Equal(Created, (await service.LoadTaskAsync("t1", ct))!.CreatedAt);
        DateTimeOffset writeTime = (await service.LoadTaskAsync("t2", ct))!.CreatedAt!.Value;
        Assert.InRange(writeTime, before, DateTimeOffset.UtcNow);
        // The caller's objects: no created_at added, the revision they carried ignored and left as it was.
        Assert.Null(stamped.CreatedAt);
        Assert.Equal(99, stamped.Revision);
        Assert.NotEqual(99, first.Revision);
        Assert.Null(bare.CreatedAt);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Replace_WithExpectations_CreatesOnlyWhenAbsentAndReplacesOnlyTheRevisionNamed(string store)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await StartAsync(store);
        ItemReplacement created = await service.ReplaceTaskAsync(Task("t1", "first"), ExpectedRevision.Absent, null, ct);
        ItemReplacement second = await service.ReplaceTaskAsync(Task("t1", "second"), ExpectedRevision.Exactly(created.Revision), null, ct);

        StateConflictException exists = await Assert.ThrowsAsync<StateConflictException>(async () =>
            await service.ReplaceTaskAsync(Task("t1", "again"), ExpectedRevision.Absent, null, ct));
        StateConflictException stale = await Assert.ThrowsAsync<StateConflictException>(async () =>
            await service.ReplaceTaskAsync(Task("t1", "stale"), ExpectedRevision.Exactly(created.Revision), null, ct));
        StateConflictException missing = await Assert.ThrowsAsync<StateConflictException>(async () =>
            await service.ReplaceTaskAsync(Task("t9", "none"), ExpectedRevision.Exactly(created.Revision), null, ct));

        Assert.True(created.Created);
        Assert.False(second.Created);
        Assert.Equal((second.Revision, "second"), (exists.CurrentRevision, Assert.IsType<AgentTask>(exists.Current).Description));
        Assert.Equal(second.Revision, stale.CurrentRevision);
        Assert.Null(missing.CurrentRevision);
        Assert.Equal("second", (await service.LoadTaskAsync("t1", ct))!.Description);
        Assert.Null(await service.LoadTaskAsync("t9", ct));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Replace_CheckSeesTheTaskAsStoredAndWhetherItCreates_AndARefusalStoresNothing(string store)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await StartAsync(store);
        var seen = new List<(DateTimeOffset? CreatedAt, bool Created)>();
        await service.ReplaceTaskAsync(Task("t1", "first"), ExpectedRevision.Any, (task, created) => seen.Add((task.CreatedAt, created)), ct);
        long revision = (await service.LoadTaskAsync("t1", ct))!.Revision;

        InvalidOperationException refused = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await service.ReplaceTaskAsync(new AgentTask { Id = "t1", Description = "too big", Status = "pending" }, ExpectedRevision.Any, (task, created) =>
            {
                seen.Add((task.CreatedAt, created));
                throw new InvalidOperationException("refused by the check");
            }, ct));

        Assert.Equal("refused by the check", refused.Message);
        // The check saw the created_at the replace would keep (the first task's), and that it would not create.
        Assert.Equal([(Created, true), (Created, false)], seen);
        AgentTask stored = (await service.LoadTaskAsync("t1", ct))!;
        Assert.Equal(("first", revision), (stored.Description, stored.Revision));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Replace_UnderLastWriterWins_StoresAStaleReplace_AndUnderMerge_MergesItWithTheCurrentTask(string store)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService lww = await StartAsync(store, new StatePersistenceOptions { ConflictPolicy = ConflictPolicy.LastWriterWins }))
        {
            long first = (await lww.ReplaceTaskAsync(Task("t1", "first"), ct)).Revision;
            await lww.ReplaceTaskAsync(Task("t1", "theirs"), ct);
            ItemReplacement stale = await lww.ReplaceTaskAsync(Task("t1", "mine"), ExpectedRevision.Exactly(first), null, ct);
            Assert.Equal(("mine", stale.Revision), ((await lww.LoadTaskAsync("t1", ct))!.Description, (await lww.LoadTaskAsync("t1", ct))!.Revision));
        }

        await using StatePersistenceService merging = await StartAsync(store, new StatePersistenceOptions
        {
            StatePath = _directory.Combine("merge"),
            ConflictPolicy = ConflictPolicy.Merge,
            MergeTask = (current, attempted) =>
            {
                attempted.Description = current.Description + " & " + attempted.Description;
                return attempted;
            },
        });
        long base1 = (await merging.ReplaceTaskAsync(Task("t1", "base"), ct)).Revision;
        await merging.ReplaceTaskAsync(Task("t1", "theirs"), ct);
        var mine = new AgentTask { Id = "t1", Description = "mine", Status = "pending" };

        ItemReplacement merged = await merging.ReplaceTaskAsync(mine, ExpectedRevision.Exactly(base1), null, ct);

        AgentTask stored = (await merging.LoadTaskAsync("t1", ct))!;
        Assert.Equal(("theirs & mine", merged.Revision, Created), (stored.Description, stored.Revision, stored.CreatedAt));
        Assert.False(merged.Created);
        Assert.Equal(ItemCodec.Serialize(stored), merged.Json.ToArray());
        Assert.Equal("mine", mine.Description);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Replace_RedactsTheLogMessages_InTheStoreAndInTheJsonItReturns(string store)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var options = new StatePersistenceOptions();
        options.Redaction.Patterns["acme-key"] = "ACME-[A-Z0-9]{12}";
        await using StatePersistenceService service = await StartAsync(store, options);
        AgentTask task = Task("t1", "d");
        task.Logs = [Entry("deploying with ACME-ABCDEF123456 now")];

        ItemReplacement replaced = await service.ReplaceTaskAsync(task, ct);

        string json = System.Text.Encoding.UTF8.GetString(replaced.Json.Span);
        Assert.DoesNotContain("ACME-ABCDEF123456", json, StringComparison.Ordinal);
        Assert.Contains("[REDACTED:acme-key]", json, StringComparison.Ordinal);
        Assert.Equal("deploying with [REDACTED:acme-key] now", (await service.LoadTaskAsync("t1", ct))!.Logs[0].Message);
        Assert.Equal("deploying with ACME-ABCDEF123456 now", task.Logs[0].Message);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Replace_RefusesAnUnsafeId_BeforeAnythingIsWritten(string store)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await StartAsync(store);

        await Assert.ThrowsAsync<InvalidStateIdException>(async () => await service.ReplaceTaskAsync(Task("../escape", "d"), ct));

        Assert.Empty(await service.LoadTasksAsync(ct));
    }

    private static AgentTask Task(string id, string description) =>
        new() { Id = id, Description = description, Status = "pending", CreatedAt = Created, UpdatedAt = Created };

    private static TaskLogEntry Entry(string message) =>
        new() { Timestamp = Created, Level = "info", Type = "system", Message = message };

    private async Task<StatePersistenceService> StartAsync(string store, StatePersistenceOptions? options = null)
    {
        options ??= new StatePersistenceOptions();
        options.StatePath ??= _directory.Combine("state");
        StatePersistenceService service = store == "file"
            ? FileStatePersistence.Create(options)
            : new StatePersistenceService(options, new InMemoryStateStore());
        await service.StartAsync(TestContext.Current.CancellationToken);
        return service;
    }
}
