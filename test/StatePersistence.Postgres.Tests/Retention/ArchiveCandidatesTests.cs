using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using static StatePersistence.Postgres.Tests.Upgrade.OlderSchema;

namespace StatePersistence.Postgres.Tests.Retention;

/// <summary>
/// <c>statectl archive --store postgres</c> chooses from the tasks an archive run may take, read by the indexed
/// listing columns (<c>status</c>, <c>updated_key</c>), and not from every live task: it loaded the whole store as an
/// instance does, so its memory grew with the live tasks (60,000 pending tasks, none to archive: 150 MB against 70 MB
/// for an empty store). The choice stays the file store's, which the core makes on what was loaded.
/// </summary>
public sealed class ArchiveCandidatesTests
{
    private static readonly DateTimeOffset Cut = DateTimeOffset.UtcNow.AddDays(-30);
    private static readonly DateTimeOffset LongAgo = Cut.AddDays(-10);
    private static readonly DateTimeOffset Lately = Cut.AddDays(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Each case of the selection: status and the two times (completed_at first, else updated_at), either side of the cut.</summary>
    private static readonly AgentTask[] Tasks =
    [
        new() { Id = "completed-long-ago", Status = TaskStatuses.Completed, CompletedAt = LongAgo, UpdatedAt = Lately },
        new() { Id = "failed-long-ago", Status = TaskStatuses.Failed, CompletedAt = LongAgo },
        new() { Id = "updated-long-ago", Status = TaskStatuses.Completed, UpdatedAt = LongAgo },
        new() { Id = "completed-lately-updated-long-ago", Status = TaskStatuses.Completed, CompletedAt = Lately, UpdatedAt = LongAgo },
        new() { Id = "completed-at-the-cut", Status = TaskStatuses.Completed, CompletedAt = Cut },
        new() { Id = "completed-without-times", Status = TaskStatuses.Completed },
        new() { Id = "updated-lately", Status = TaskStatuses.Completed, UpdatedAt = Lately },
        new() { Id = "completed-lately-elsewhere", Status = TaskStatuses.Completed, CompletedAt = Lately }, // at +02:00, below
        new() { Id = "completed-long-ago-elsewhere", Status = TaskStatuses.Failed, CompletedAt = LongAgo }, // at -05:00, below
        new() { Id = "pending-long-ago", Status = TaskStatuses.Pending, CompletedAt = LongAgo, UpdatedAt = LongAgo },
        new() { Id = "running-long-ago", Status = TaskStatuses.InProgress, UpdatedAt = LongAgo },
        new() { Id = "cancelled-long-ago", Status = TaskStatuses.Cancelled, CompletedAt = LongAgo },
        new() { Id = "unlisted-long-ago", Status = TaskStatuses.Failed, UpdatedAt = LongAgo },
    ];

    [Fact]
    public async Task AnArchiveRunOverTheCandidatesOnly_ArchivesWhatARunOverEveryTaskArchives_AndLoadsNoOtherTask()
    {
        await using TestSchema whole = await PopulatedAsync();
        await using TestSchema candidates = await PopulatedAsync();

        TaskArchiveResult overEveryTask;
        await using (StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, whole.Name, cancellationToken: Ct))
        {
            overEveryTask = await TaskArchives.ArchiveAsync(service, Cut, cancellationToken: Ct);
        }

        TaskArchiveResult overCandidates;
        await using (StatePersistenceService service = await PostgresStatePersistence.OpenForTaskArchiveAsync(PostgresServer.ConnectionString,
            candidates.Name, Cut, cancellationToken: Ct))
        {
            // Not loaded: the tasks of another status, and the finished ones completed (in UTC) or, without a completed_at,
            // updated after the cut's second. Loaded, for the archiver to judge: the others, among them one completed in
            // the cut's second, one completed at another offset, one without times and the unlisted row.
            Assert.Equal(["completed-at-the-cut", "completed-lately-elsewhere", "completed-long-ago", "completed-long-ago-elsewhere", "completed-without-times",
                "failed-long-ago", "unlisted-long-ago", "updated-long-ago"], service.Durable.Tasks.Keys);
            overCandidates = await TaskArchives.ArchiveAsync(service, Cut, cancellationToken: Ct);
        }

        Assert.Equal(["completed-long-ago", "completed-long-ago-elsewhere", "failed-long-ago", "unlisted-long-ago", "updated-long-ago"],
            overEveryTask.Tasks.Order(StringComparer.Ordinal));
        Assert.Equal(overEveryTask.Tasks.Order(StringComparer.Ordinal), overCandidates.Tasks.Order(StringComparer.Ordinal));
        await using StatePersistenceService after = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, candidates.Name, cancellationToken: Ct);
        Assert.Equal(["cancelled-long-ago", "completed-at-the-cut", "completed-lately-elsewhere", "completed-lately-updated-long-ago",
            "completed-without-times", "pending-long-ago", "running-long-ago", "updated-lately"],
            after.Durable.Tasks.Keys);
    }

    /// <summary>
    /// A schema holding <see cref="Tasks"/>: one of them unlisted as a row an earlier build wrote (its listing columns
    /// empty), two with a completed_at written by hand at another offset (the library writes UTC, with a Z).
    /// </summary>
    private static async Task<TestSchema> PopulatedAsync()
    {
        TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using (StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct))
        {
            foreach (AgentTask task in Tasks)
            {
                task.Description = task.Id;
                await service.SaveTaskAsync(task, Ct);
            }
        }

        await ExecuteAsync($$"""
            UPDATE {{schema.Name}}.items SET status = NULL, tool = NULL, created_key = NULL, updated_key = NULL, listed = false
            WHERE kind = 'task' AND id = 'unlisted-long-ago';
            UPDATE {{schema.Name}}.items SET body = jsonb_set(body, '{completed_at}', to_jsonb('{{Lately.ToOffset(TimeSpan.FromHours(2)):yyyy-MM-dd'T'HH:mm:sszzz}}'::text))
            WHERE kind = 'task' AND id = 'completed-lately-elsewhere';
            UPDATE {{schema.Name}}.items SET body = jsonb_set(body, '{completed_at}', to_jsonb('{{LongAgo.ToOffset(TimeSpan.FromHours(-5)):yyyy-MM-dd'T'HH:mm:sszzz}}'::text))
            WHERE kind = 'task' AND id = 'completed-long-ago-elsewhere';
            """, Ct);
        return schema;
    }
}
