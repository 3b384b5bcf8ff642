using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.InMemory;
using StatePersistence.Model;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>The conflict policies, on the file store and the in-memory store.</summary>
public sealed class ConflictPolicyTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public static TheoryData<string> Stores => ["file", "memory"];

    public void Dispose() => _directory.Dispose();

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task LastWriterWins_StaleWritesHappenAnyway_EachWithItsOwnRevision(string store)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await StartAsync(store, new StatePersistenceOptions { ConflictPolicy = ConflictPolicy.LastWriterWins });
        long first = await CreateAsync(service, "t1", "first");
        long second = (await service.UpdateTaskAsync("t1", t => t.Description = "second", ct))!.Revision;

        await service.SaveTaskAsync(new AgentTask { Id = "t1", Description = "stale save", Status = "pending" }, ExpectedRevision.Exactly(first), ct);
        AgentTask saved = (await service.LoadTaskAsync("t1", ct))!;
        AgentTask updated = (await service.UpdateTaskAsync("t1", t => t.Status = "running", ExpectedRevision.Exactly(first), ct))!;

        Assert.Equal("stale save", saved.Description);
        Assert.True(first < second && second < saved.Revision && saved.Revision < updated.Revision);
        Assert.Equal(("stale save", "running"), (updated.Description, updated.Status));
        Assert.True(await service.DeleteTaskAsync("t1", ExpectedRevision.Exactly(first), ct));
        Assert.Null(await service.LoadTaskAsync("t1", ct));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Merge_CombinesTheCurrentAndTheAttempted_AndMergesAgainOnANewConflict(string store)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService? service = null;
        var merges = new List<(string Current, string Attempted)>();
        var options = new StatePersistenceOptions
        {
            ConflictPolicy = ConflictPolicy.Merge,
            MergeTask = (current, attempted) =>
            {
                merges.Add((current.Description!, attempted.Description!));
                if (merges.Count == 1)
                {
                    // Someone else writes meanwhile: the merged task meets a newer version and is merged again.
                    service!.UpdateTaskAsync("t1", t => t.Description += " +late", ct).AsTask().GetAwaiter().GetResult();
                }

                attempted.Description = current.Description + " & " + attempted.Description;
                return attempted;
            },
        };
        await using (service = await StartAsync(store, options))
        {
            long first = await CreateAsync(service, "t1", "base");
            await service.UpdateTaskAsync("t1", t => t.Description = "theirs", ct);

            await service.SaveTaskAsync(new AgentTask { Id = "t1", Description = "mine", Status = "pending" }, ExpectedRevision.Exactly(first), ct);

            Assert.Equal([("theirs", "mine"), ("theirs +late", "theirs & mine")], merges);
            Assert.Equal("theirs +late & theirs & mine", (await service.LoadTaskAsync("t1", ct))!.Description);
        }
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Merge_OfAReplace_MergedAgainOnANewConflict_IsCheckedAgain_AndNotStoredWhenRefused(string store)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService? service = null;
        int merges = 0;
        var options = new StatePersistenceOptions
        {
            ConflictPolicy = ConflictPolicy.Merge,
            MergeTask = (current, attempted) =>
            {
                if (++merges == 1)
                {
                    // Someone else writes meanwhile: the merged task meets a newer version and is merged again.
                    service!.UpdateTaskAsync("t1", t => t.Description = "late", ct).AsTask().GetAwaiter().GetResult();
                }

                attempted.Description = current.Description + " & " + attempted.Description;
                return attempted;
            },
        };
        await using (service = await StartAsync(store, options))
        {
            long first = await CreateAsync(service, "t1", "base");
            await service.UpdateTaskAsync("t1", t => t.Description = "theirs", ct);
            var checkedDescriptions = new List<string>();

            // The caller's check (the server's quotas) refuses the second merge, "late & theirs & mine".
            var refusal = await Assert.ThrowsAsync<StateValidationException>(() => service.ReplaceTaskAsync(
                new AgentTask { Id = "t1", Description = "mine", Status = "pending" }, ExpectedRevision.Exactly(first), (task, _) =>
                {
                    checkedDescriptions.Add(task.Description!);
                    if (task.Description!.StartsWith("late", StringComparison.Ordinal))
                    {
                        throw new StateValidationException("description", "too long for the test's quota");
                    }
                }, ct).AsTask());

            Assert.Contains("quota", refusal.Message, StringComparison.Ordinal);
            Assert.Equal(["theirs & mine", "late & theirs & mine"], checkedDescriptions);
            Assert.Equal("late", (await service.LoadTaskAsync("t1", ct))!.Description);
        }
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Merge_WithoutACallbackForTheKind_RefusesItsConflicts(string store)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await StartAsync(store,
            new StatePersistenceOptions { ConflictPolicy = ConflictPolicy.Merge, MergeTask = (current, _) => current });
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "interactive", Status = "active" }, ct);
        long first = (await service.LoadSessionAsync("s1", ct))!.Revision;
        await service.UpdateSessionAsync("s1", s => s.Status = "idle", ct);

        StateConflictException conflict = await Assert.ThrowsAsync<StateConflictException>(async () =>
            await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "interactive", Status = "done" }, ExpectedRevision.Exactly(first), ct));
        Assert.Equal("idle", Assert.IsType<SessionInfo>(conflict.Current).Status);
    }

    [Fact]
    public void Merge_WithoutAnyCallback_IsRefusedWhenTheServiceIsCreated()
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() =>
            new StatePersistenceService(new StatePersistenceOptions { ConflictPolicy = ConflictPolicy.Merge }, new InMemoryStateStore()));
        Assert.Contains("ConflictPolicy is Merge", error.Message, StringComparison.Ordinal);
    }

    private async Task<StatePersistenceService> StartAsync(string store, StatePersistenceOptions options)
    {
        options.StatePath = _directory.Combine("state");
        StatePersistenceService service = store == "file"
            ? FileStatePersistence.Create(options)
            : new StatePersistenceService(options, new InMemoryStateStore());
        await service.StartAsync(TestContext.Current.CancellationToken);
        return service;
    }

    private static async Task<long> CreateAsync(StatePersistenceService service, string id, string description)
    {
        Assert.True(await service.CreateTaskAsync(new AgentTask { Id = id, Description = description, Status = "pending" }, TestContext.Current.CancellationToken));
        return (await service.LoadTaskAsync(id, TestContext.Current.CancellationToken))!.Revision;
    }
}
