using System.Collections.Concurrent;
using System.Globalization;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.MultiInstance;

/// <summary>
/// Writes on instance B right after instance A's, before B's feed has delivered A's change: what B answers must be
/// the store's truth, not its own trailing state (an audit found B answering "not found" for a task A had just
/// created, and refusing unconditional log appends that raced another instance's with a conflict).
/// </summary>
public sealed class WritesAheadOfTheFeedTests
{
    // Thirty rounds each: B's feed delivers A's change within a millisecond or two, so a single round could pass by luck;
    // without the catch-up these rounds fail nearly every time.
    private const int Rounds = 30;

    [Fact]
    public async Task UpdatesDeletesAndLogAppendsOnB_RightAfterACreatedTheItem_FindIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        for (int i = 0; i < Rounds; i++)
        {
            string n = i.ToString(CultureInfo.InvariantCulture);
            // Each right after its create on A: B's feed has not delivered that create yet.
            Assert.True(await a.CreateTaskAsync(Task("patched_" + n), ct));
            AgentTask? patched = await b.UpdateTaskAsync("patched_" + n, t => t.Status = "in_progress", ct);
            Assert.True(await a.CreateTaskAsync(Task("deleted_" + n), ct));
            bool deleted = await b.DeleteTaskAsync("deleted_" + n, ct);
            Assert.True(await a.CreateTaskAsync(Task("logged_" + n), ct));
            AgentTask? logged = await b.AppendTaskLogAsync("logged_" + n, new TaskLogEntry { Level = "info", Type = "output", Message = "m" }, ct);
            Assert.True(await a.CreateSessionAsync(new SessionInfo { Id = "session_" + n, Type = "interactive", Status = "active" }, ct));
            SessionInfo? session = await b.UpdateSessionAsync("session_" + n, s => s.Status = "closed", ct);

            Assert.Equal("in_progress", patched?.Status);
            Assert.True(deleted, $"B said task 'deleted_{n}', which A had just created, did not exist");
            Assert.Equal("m", Assert.Single(logged?.Logs ?? []).Message);
            Assert.Equal("closed", session?.Status);
        }
    }

    /// <summary>
    /// <c>SaveStateAsync</c> replaces the whole state: on B right after A created a task, that task is replaced too (the
    /// replacement lists none, so it is deleted). Before, B diffed against its own state, which lacked the task, and the
    /// task survived a replacement of the whole state.
    /// </summary>
    [Fact]
    public async Task SaveStateOnB_RightAfterACreatedATask_ReplacesThatTaskToo()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        for (int i = 0; i < Rounds; i++)
        {
            string n = i.ToString(CultureInfo.InvariantCulture);
            Assert.True(await a.CreateTaskAsync(Task("created_" + n), ct));
            await b.SaveStateAsync(new PersistedState { Tasks = [Task("kept_" + n)] }, ct);

            Assert.Equal(0, await RowsAsync(schema.Name, "created_" + n));
            Assert.Equal(1, await RowsAsync(schema.Name, "kept_" + n));
        }
    }

    [Fact]
    public async Task AConditionalWriteOnB_NamingTheRevisionAJustWrote_IsNotRefused()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await a.SaveTaskAsync(Task("t"), ct);

        // A client that got revision R from A and sends "If-Match: R" to B is right: B catches up rather than refuse.
        for (int i = 0; i < Rounds; i++)
        {
            long onA = (await a.UpdateTaskAsync("t", t => t.Description = "a" + i.ToString(CultureInfo.InvariantCulture), ct))!.Revision;
            AgentTask? onB = await b.UpdateTaskAsync("t", t => t.Description = "b", ExpectedRevision.Exactly(onA), ct);
            Assert.NotNull(onB);
            Assert.True(onB.Revision > onA);
        }

        // A stale one is still refused, with the current item.
        long current = (await b.LoadLatestTaskAsync("t", ct))!.Revision;
        StateConflictException conflict = await Assert.ThrowsAsync<StateConflictException>(async () =>
            await b.UpdateTaskAsync("t", t => t.Description = "stale", ExpectedRevision.Exactly(current - 1), ct));
        Assert.Equal(current, conflict.CurrentRevision);
    }

    [Fact]
    public async Task LoadLatest_FindsWhatAnotherInstanceJustCreated_AndAbsentStaysAbsent()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        for (int i = 0; i < Rounds; i++)
        {
            string n = i.ToString(CultureInfo.InvariantCulture);
            Assert.True(await a.CreateTaskAsync(Task("task_" + n), ct));
            Assert.True(await a.CreateSessionAsync(new SessionInfo { Id = "session_" + n, Type = "interactive", Status = "active" }, ct));

            Assert.Equal("task_" + n, (await b.LoadLatestTaskAsync("task_" + n, ct))?.Id);
            Assert.Equal("session_" + n, (await b.LoadLatestSessionAsync("session_" + n, ct))?.Id);
        }

        Assert.Null(await b.LoadLatestTaskAsync("never_created", ct));
        Assert.Null(await b.LoadLatestSessionAsync("never_created", ct));
    }

    /// <summary>
    /// "As the store holds it now" holds for a deletion too: B used to return its own copy of a task or session A had
    /// just deleted, so the server's check after a log append kept text for a session deleted on another instance.
    /// </summary>
    [Fact]
    public async Task LoadLatest_MissesWhatAnotherInstanceJustDeleted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        for (int i = 0; i < Rounds; i++)
        {
            string n = i.ToString(CultureInfo.InvariantCulture);
            await CreateOnASeenOnBAsync(a, b, ["task_" + n], ["session_" + n], ct);

            // Each right after its delete on A: B's feed has not delivered that delete yet.
            Assert.True(await a.DeleteTaskAsync("task_" + n, ct));
            Assert.Null(await b.LoadLatestTaskAsync("task_" + n, ct));
            Assert.True(await a.DeleteSessionAsync("session_" + n, ct));
            Assert.Null(await b.LoadLatestSessionAsync("session_" + n, ct));
        }
    }

    /// <summary>
    /// A change on B of an item A has just deleted, before B's feed has brought the deletion: B's copy must not bring the
    /// item back (a patch built on it and stored would undo A's delete).
    /// </summary>
    [Fact]
    public async Task UpdatesAndLogAppendsOnB_RightAfterADeletedTheItem_DoNotBringItBack()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        for (int i = 0; i < Rounds; i++)
        {
            string n = i.ToString(CultureInfo.InvariantCulture);
            await CreateOnASeenOnBAsync(a, b, ["patched_" + n, "logged_" + n], ["session_" + n], ct);

            Assert.True(await a.DeleteTaskAsync("patched_" + n, ct));
            AgentTask? patched = await b.UpdateTaskAsync("patched_" + n, t => t.Status = "in_progress", ct);
            Assert.True(await a.DeleteTaskAsync("logged_" + n, ct));
            AgentTask? logged = await b.AppendTaskLogAsync("logged_" + n, new TaskLogEntry { Level = "info", Type = "output", Message = "m" }, ct);
            Assert.True(await a.DeleteSessionAsync("session_" + n, ct));
            SessionInfo? session = await b.UpdateSessionAsync("session_" + n, s => s.Status = "closed", ct);

            Assert.Null(patched);
            Assert.Null(logged);
            Assert.Null(session);
            Assert.Null(await a.LoadLatestTaskAsync("patched_" + n, ct));
            Assert.Null(await a.LoadLatestTaskAsync("logged_" + n, ct));
            Assert.Null(await a.LoadLatestSessionAsync("session_" + n, ct));
        }
    }

    /// <summary>
    /// A create-only write on B of an id A has just deleted, before B's feed has brought the deletion: the store holds
    /// no such item, so the create succeeds (B used to refuse it from its stale copy: <c>POST /api/sessions</c> answered 409).
    /// </summary>
    [Fact]
    public async Task CreatesOnB_RightAfterADeletedTheItem_Succeed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        for (int i = 0; i < Rounds; i++)
        {
            string n = i.ToString(CultureInfo.InvariantCulture);
            await CreateOnASeenOnBAsync(a, b, ["task_" + n], ["session_" + n], ct);

            Assert.True(await a.DeleteTaskAsync("task_" + n, ct));
            Assert.True(await b.CreateTaskAsync(Task("task_" + n), ct), $"B refused to create task 'task_{n}', which A had just deleted");
            Assert.True(await a.DeleteSessionAsync("session_" + n, ct));
            Assert.True(await b.CreateSessionAsync(new SessionInfo { Id = "session_" + n, Type = "interactive", Status = "active" }, ct),
                $"B refused to create session 'session_{n}', which A had just deleted");
        }
    }

    [Fact]
    public async Task ConcurrentUnconditionalLogAppendsOnBothInstances_AreAllStored()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await a.SaveTaskAsync(Task("shared"), ct);
        await b.WaitForTaskAsync("shared", (await a.LoadTaskAsync("shared", ct))!.Revision, ct);
        var revisions = new ConcurrentBag<long>();
        const int WorkersEach = 3, AppendsEach = 8;

        // An append without a condition is a read-modify-write like any update: when another instance appended after
        // this instance's copy, the store refuses the append built on it, and the service catches up and appends again.
        await System.Threading.Tasks.Task.WhenAll(new[] { a, b }.SelectMany((instance, i) => Enumerable.Range(0, WorkersEach).Select(w =>
            System.Threading.Tasks.Task.Run(async () =>
            {
                for (int k = 0; k < AppendsEach; k++)
                {
                    string message = string.Create(CultureInfo.InvariantCulture, $"{i}/{w}/{k}");
                    AgentTask appended = (await instance.AppendTaskLogAsync("shared", new TaskLogEntry { Level = "info", Type = "output", Message = message }, ct))!;
                    revisions.Add(appended.Revision);
                }
            }, ct))));

        const int Total = 2 * WorkersEach * AppendsEach;
        Assert.Equal(Total, revisions.Distinct().Count());
        AgentTask final = (await a.WaitForTaskAsync("shared", revisions.Max(), ct))!;
        Assert.Equal(Total, final.Logs.Count);
        Assert.Equal(Total, final.Logs.Select(l => l.Message).Distinct().Count());
    }

    /// <summary>The store's rows for the item <paramref name="id"/>, read from the table, not from any instance.</summary>
    private static async Task<long> RowsAsync(string schema, string id)
    {
        await using Npgsql.NpgsqlCommand count = PostgresServer.DataSource.CreateCommand($"SELECT count(*) FROM {schema}.items WHERE id = $1");
        count.Parameters.AddWithValue(id);
        return (long)(await count.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }

    private static AgentTask Task(string id) => new() { Id = id, Description = "from a", Status = "pending" };

    /// <summary>
    /// Creates the tasks and sessions on A and has B hold each (B's copy is then what must not outlive A's delete of it).
    /// </summary>
    private static async Task CreateOnASeenOnBAsync(StatePersistenceService a, StatePersistenceService b, string[] tasks, string[] sessions,
        CancellationToken ct)
    {
        foreach (string id in tasks)
        {
            Assert.True(await a.CreateTaskAsync(Task(id), ct));
            Assert.NotNull(await b.LoadLatestTaskAsync(id, ct));
        }

        foreach (string id in sessions)
        {
            Assert.True(await a.CreateSessionAsync(new SessionInfo { Id = id, Type = "interactive", Status = "active" }, ct));
            Assert.NotNull(await b.LoadLatestSessionAsync(id, ct));
        }
    }
}
