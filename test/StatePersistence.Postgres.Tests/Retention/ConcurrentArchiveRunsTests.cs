using System.Globalization;
using Npgsql;
using StatePersistence.Errors;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Postgres.Schema;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Retention;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Retention;

/// <summary>
/// Archive runs of several instances (each instance's retention pass, an operator's <c>statectl archive --store
/// postgres</c>) on one schema: they take turns, and each run decides on a state that holds what the runs before it
/// deleted. Before, two runs at once both archived the same tasks (two archives holding them), and a run right after
/// another instance's, deciding on a state the feed had not yet brought up to date, took that run's tasks for an
/// interrupted run's and failed on a conflict deleting them again.
/// </summary>
public sealed class ConcurrentArchiveRunsTests
{
    // Rounds: a single round could pass by luck (a run that happens to start after the other's deletion arrived).
    private const int Rounds = 8;
    private const int TasksPerRound = 20;

    private static readonly DateTimeOffset LongAgo = DateTimeOffset.UtcNow.AddDays(-40);
    private static readonly DateTimeOffset Cut = DateTimeOffset.UtcNow.AddDays(-30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TwoInstancesArchivingAtOnce_PutEachTaskInExactlyOneArchive_AndNeitherFails()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct);

        for (int round = 0; round < Rounds; round++)
        {
            List<string> ids = await FinishedTasksAsync(a, b, round);

            TaskArchiveResult[] results = await Task.WhenAll(
                Task.Run(() => TaskArchives.ArchiveAsync(a, Cut, cancellationToken: Ct), Ct),
                Task.Run(() => TaskArchives.ArchiveAsync(b, Cut, cancellationToken: Ct), Ct));

            Assert.Equal(ids, results.SelectMany(r => r.Tasks).Order(StringComparer.Ordinal));
            Assert.All(results, r => Assert.Empty(r.StillLive));
            Assert.All(results, r => Assert.Empty(r.EarlierArchives));
            Assert.Equal(ids, await ArchivedIdsAsync(schema.Name, round));
        }
    }

    /// <param name="durability">
    /// A's: under <see cref="Durability.Relaxed"/> its deletions commit without a feed position, numbered by the next
    /// reader, so B's catch-up must number them to see them.
    /// </param>
    [Theory]
    [InlineData(Durability.Full)]
    [InlineData(Durability.Relaxed)]
    public async Task ARunRightAfterAnotherInstancesRun_FindsNothingLeftToArchive(Durability durability)
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name,
            new StatePersistenceOptions { Durability = durability }, cancellationToken: Ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct);

        for (int round = 0; round < Rounds; round++)
        {
            List<string> ids = await FinishedTasksAsync(a, b, round);

            TaskArchiveResult first = await TaskArchives.ArchiveAsync(a, Cut, cancellationToken: Ct);
            // At once, before B's feed has brought it A's deletions.
            TaskArchiveResult second = await TaskArchives.ArchiveAsync(b, Cut, cancellationToken: Ct);

            Assert.Equal(ids, first.Tasks.Order(StringComparer.Ordinal));
            Assert.True(second.NothingToArchive, $"round {round}: the second run took {second.Tasks.Count} tasks, kept {second.StillLive.Count} live, finished {string.Join(", ", second.EarlierArchives)}");
            Assert.Equal(ids, await ArchivedIdsAsync(schema.Name, round));
        }
    }

    /// <summary>
    /// A restore on B right after A created a task the archive holds is refused naming it, with nothing written (its
    /// log stays absent): B decides on the store's state, not on one its feed has not brought up to date, where the
    /// restore wrote the log and then failed on a conflict committing the tasks.
    /// </summary>
    [Fact]
    public async Task ARestoreRightAfterAnotherInstanceCreatedOneOfItsTasks_IsRefusedNamingIt_NothingWritten()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct);

        for (int round = 0; round < Rounds; round++)
        {
            List<string> ids = await FinishedTasksAsync(a, b, round);
            string session = string.Create(CultureInfo.InvariantCulture, $"s{round}");
            Assert.True(await a.CreateSessionAsync(new SessionInfo { Id = session, Type = "interactive", Status = "ended", TaskId = ids[0] }, Ct));
            await a.AppendSessionLogAsync(session, "what it did\n", Ct);
            TaskArchiveResult archived = await TaskArchives.ArchiveAsync(a, Cut, withLogs: true, Ct);
            Assert.Equal(1, archived.Logs);

            await a.SaveTaskAsync(new AgentTask { Id = ids[0], Description = "the id taken again" }, Ct);
            // At once, before B's feed has brought it A's new task.
            StatePersistenceException refused = await Assert.ThrowsAsync<StatePersistenceException>(() =>
                TaskArchives.RestoreAsync(b, Path.GetFileName(archived.Archive!), Ct));

            Assert.Contains($"task '{ids[0]}' exists", refused.Message, StringComparison.Ordinal);
            Assert.Null(await b.ReadSessionLogAsync(session, Ct));
            Assert.Equal("the id taken again", (await b.LoadTaskAsync(ids[0], Ct))!.Description);
            Assert.Null(await b.LoadTaskAsync(ids[1], Ct));
        }
    }

    /// <summary>
    /// A run whose archive lock went with its connection (a backend terminated, a network cut, an idle timeout) writes no
    /// archive: the archive is written on the lock's own connection, so it commits only while the lock is held, and the
    /// run fails naming it before it deletes a task. Before, it was written on a pooled connection and committed all the
    /// same, beside the archive of the same tasks that the run which took the lock over was writing.
    /// </summary>
    [Fact]
    public async Task AnArchiveWrittenAfterTheRunLostItsLock_FailsNamingIt_AndNothingIsWritten()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name, IdentityCodec.Instance);
        await store.OpenAsync(Ct);
        ITaskArchiveStore archives = store;
        const string name = "tasks.20260101T000000Z.tar.gz";
        string key = PostgresStateStore.ArchiveRunLockKey(schema.Name);

        IAsyncDisposable lost = await archives.AcquireTaskArchiveLockAsync(Ct);
        int pid;
        await using (NpgsqlConnection look = await PostgresServer.DataSource.OpenConnectionAsync(Ct))
        {
            pid = (await PostgresSchema.AdvisoryLockHolderAsync(look, key, Ct))!.Value;
            await using var terminate = new NpgsqlCommand("SELECT pg_terminate_backend($1, 10000)", look);
            terminate.Parameters.AddWithValue(pid);
            Assert.True((bool)(await terminate.ExecuteScalarAsync(Ct))!);
            Assert.Null(await PostgresSchema.AdvisoryLockHolderAsync(look, key, Ct));
        }

        StateStorageException failed = await Assert.ThrowsAsync<StateStorageException>(async () =>
            await archives.TryWriteTaskArchiveAsync(name, new byte[] { 1, 2, 3 }, ["t1"], null, Ct));
        Assert.Contains($"write the task archive '{name}'", failed.Message, StringComparison.Ordinal);
        Assert.Empty(await archives.ListTaskArchivesAsync(Ct));
        await lost.DisposeAsync();

        // The next run, on a connection of its own, holds the lock and writes.
        await using (await archives.AcquireTaskArchiveLockAsync(Ct))
        {
            Assert.True(await archives.TryWriteTaskArchiveAsync(name, new byte[] { 1, 2, 3 }, ["t1"], null, Ct));
        }

        Assert.Equal([name], (await archives.ListTaskArchivesAsync(Ct)).Select(a => a.Name));
    }

    /// <summary>Finished tasks of the round, created on A and waited for on B (so both runs would select them).</summary>
    private static async Task<List<string>> FinishedTasksAsync(StatePersistenceService a, StatePersistenceService b, int round)
    {
        var ids = new List<string>();
        for (int i = 0; i < TasksPerRound; i++)
        {
            string id = string.Create(CultureInfo.InvariantCulture, $"r{round}_t{i:D2}");
            ids.Add(id);
            await a.SaveTaskAsync(new AgentTask { Id = id, Description = "finished long ago", Status = TaskStatuses.Completed, CompletedAt = LongAgo }, Ct);
        }

        Assert.NotNull(await b.WaitForTaskAsync(ids[^1], a.Revision, Ct));
        return ids;
    }

    /// <summary>Every task id of the round the schema's archives hold, once per archive holding it.</summary>
    private static async Task<List<string>> ArchivedIdsAsync(string schema, int round)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(
            $"SELECT id FROM {schema}.task_archives, unnest(task_ids) AS id WHERE id LIKE $1 ORDER BY id COLLATE \"C\"");
        command.Parameters.AddWithValue(string.Create(CultureInfo.InvariantCulture, $"r{round}\\_%"));
        var ids = new List<string>();
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }
}
