using System.Text;
using Npgsql;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Commit;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Reencryption;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// A full-durability write whose COMMIT waits for a synchronous standby that never confirms it
/// (<c>synchronous_standby_names = 'nobody'</c>), until the wait is cancelled: by Npgsql's Command Timeout, or by the
/// caller's token. PostgreSQL does not fail such a COMMIT: it returns success with a WARNING (SQLSTATE 01000, "the
/// transaction has already committed locally, but might not have been replicated to the standby"). The write is on the
/// primary alone, so a failover may lose it: the store answers <see cref="StateOutcomeUnknownException"/> naming the
/// standby. Before 2026-12-07 the write was acknowledged stored. The cluster is this class's own: the setting is
/// server-wide, and on the shared cluster it would stall every other test's commits.
/// </summary>
public sealed class UnconfirmedStandbyCommitTests(UnconfirmedStandbyCommitTests.Cluster cluster) : IClassFixture<UnconfirmedStandbyCommitTests.Cluster>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("task", false)]
    [InlineData("log", false)]
    [InlineData("report", false)]
    [InlineData("task", true)]
    [InlineData("log", true)]
    [InlineData("report", true)]
    public async Task AWriteTheStandbyNeverConfirmed_FailsSayingSo_NotStored(string write, bool callerCancels)
    {
        // The Command Timeout ends the wait after 1 s; when the caller cancels, it is left at 30 s, never reached.
        string connection = new NpgsqlConnectionStringBuilder(cluster.Server.ConnectionString) { CommandTimeout = callerCancels ? 30 : 1 }.ConnectionString;
        string schema = "t_" + Guid.NewGuid().ToString("N")[..16];
        await using var store = new PostgresStateStore(connection, schema);
        await store.OpenAsync(Ct);

        Exception? failed;
        await cluster.RequireStandbyAsync();
        try
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            Task writing = WriteAsync(store, write, cancel.Token);
            if (callerCancels)
            {
                await cluster.WaitForACommitWaitingAsync(writing);
                await cancel.CancelAsync();
            }

            failed = await Record.ExceptionAsync(() => writing);
        }
        finally
        {
            await cluster.DropStandbyAsync();
        }

        StateOutcomeUnknownException unknown = Assert.IsType<StateOutcomeUnknownException>(failed);
        Assert.Contains("the synchronous standby did not confirm it", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("may lose it", unknown.Message, StringComparison.Ordinal);
        Assert.True(unknown.IsTransient);
        // Committed on the primary all the same.
        Assert.True(await StoredAsync(store, write));
    }

    /// <summary>
    /// The backend terminated (pg_terminate_backend, a fast shutdown) while its COMMIT waits for the standby: PostgreSQL
    /// sends a WARNING with SQLSTATE 57P01 ("canceling the wait for synchronous replication and terminating connection")
    /// and closes the connection without another word. The commit is on the primary alone. Before 2026-12-07 the broken
    /// connection was settled as a lost answer: the rows were found and the write acknowledged stored (a task save
    /// without a mark to ask by failed as a lost answer instead, blaming the connection).
    /// </summary>
    [Theory]
    [InlineData("task")]
    [InlineData("conditional task")]
    [InlineData("log")]
    [InlineData("report")]
    public async Task AWriteWhoseBackendIsTerminatedWaitingForTheStandby_FailsSayingSo_NotStored(string write)
    {
        await using PostgresStateStore store = await OpenStoreAsync();
        Exception? failed = await TerminatedWaitingAsync(cancellationToken => WriteAsync(store, write, cancellationToken));

        StateOutcomeUnknownException unknown = Assert.IsType<StateOutcomeUnknownException>(failed);
        Assert.Contains("the synchronous standby did not confirm it", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("terminated", unknown.Message, StringComparison.Ordinal);
        Assert.True(await StoredAsync(store, write));
        // Not a lost answer settled as stored.
        Assert.Equal(0L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    /// <summary>
    /// A removal or a cap of a session log, and the removal of a row a task archive took along, whose commit the standby
    /// never confirmed (the Command Timeout ends the wait, or the backend is terminated): on the primary alone, a
    /// failover brings the rows back, so it is not acknowledged done. Before 2026-12-07 a log's removal and cap were
    /// acknowledged (their commits were not watched), and an archived row's removal whose backend was terminated was
    /// settled as a lost answer and acknowledged.
    /// </summary>
    [Theory]
    [InlineData("remove log", false)]
    [InlineData("cap log", false)]
    [InlineData("remove archived log", false)]
    [InlineData("remove archived report", false)]
    [InlineData("remove log", true)]
    [InlineData("cap log", true)]
    [InlineData("remove archived log", true)]
    [InlineData("remove archived report", true)]
    public async Task ARemovalTheStandbyNeverConfirmed_FailsSayingSo(string removal, bool terminated)
    {
        await using PostgresStateStore store = await OpenStoreAsync(commandTimeout: terminated ? 30 : 1);
        byte[] line = Encoding.UTF8.GetBytes(new string('x', 99) + "\n");
        for (int i = 0; i < 3; i++)
        {
            await store.AppendSessionLogAsync("s1", line, Durability.Full, Ct);
        }

        await store.SaveReportAsync("r1", """{"a":1}"""u8.ToArray(), Durability.Full, Ct);
        byte[] log = (await store.ReadSessionLogAsync("s1", Ct))!;
        byte[] report = (await store.LoadReportAsync("r1", Ct))!;

        Task RemoveAsync(CancellationToken cancellationToken) => removal switch
        {
            "remove log" => store.RemoveSessionLogAsync("s1", cancellationToken).AsTask(),
            "cap log" => store.CapSessionLogAsync("s1", 150, 0, Durability.Full, cancellationToken).AsTask(),
            "remove archived log" => store.RemoveSessionLogIfUnchangedAsync("s1", log, cancellationToken).AsTask(),
            _ => store.RemoveReportIfUnchangedAsync("r1", report, cancellationToken).AsTask(),
        };

        Exception? failed;
        if (terminated)
        {
            failed = await TerminatedWaitingAsync(RemoveAsync);
        }
        else
        {
            await cluster.RequireStandbyAsync();
            try
            {
                failed = await Record.ExceptionAsync(() => RemoveAsync(Ct));
            }
            finally
            {
                await cluster.DropStandbyAsync();
            }
        }

        StateOutcomeUnknownException unknown = Assert.IsType<StateOutcomeUnknownException>(failed);
        Assert.Contains("the synchronous standby did not confirm it", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(0L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    /// <summary>
    /// A re-encryption step whose rewrite under the new key the standby never confirmed (the Command Timeout ends the
    /// wait, or the backend is terminated): the row is under the new key on the primary alone, still under the old key
    /// on the standby, so the old key must not look removable. The step fails saying so, the row stays counted as
    /// remaining (also by a step that finds nothing left on the primary while the standby still does not confirm), and
    /// the first step the standby confirms finishes it. Before 2026-12-07 the re-encryption's commits were not watched:
    /// the rewrite was counted done and <c>reencryption_files_remaining</c> reached 0.
    /// </summary>
    [Theory]
    [InlineData("report", false)]
    [InlineData("report", true)]
    [InlineData("task archive", false)]
    [InlineData("task archive", true)]
    public async Task AReencryptionRewriteTheStandbyNeverConfirmed_StaysRemaining_UntilAConfirmedStep(string row, bool terminated)
    {
        DirectoryInfo keys = Directory.CreateTempSubdirectory("sp-pgcrypt-");
        try
        {
            string keyFile = Path.Combine(keys.FullName, "keys.json");
            EncryptionKeyFile.Create(keyFile);
            var options = new StatePersistenceOptions();
            options.Encryption.KeyFile = keyFile;
            string connection = new NpgsqlConnectionStringBuilder(cluster.Server.ConnectionString) { CommandTimeout = terminated ? 30 : 1 }.ConnectionString;
            await using var store = new PostgresStateStore(connection, "t_" + Guid.NewGuid().ToString("N")[..16], options.ResolvePayloadCodec(hasStateDirectory: false));
            await store.OpenAsync(Ct);
            await using StatePersistenceService? archiving = row == "report" ? null : await ArchiveATaskAsync(keyFile, store);
            if (row == "report")
            {
                await store.SaveReportAsync("r1", """{"a":1}"""u8.ToArray(), Durability.Full, Ct);
            }

            string newKey = EncryptionKeyOperations.Rotate(keyFile).Id;
            await EncryptedSchema.WaitForActiveKeyAsync(store, newKey);
            if (row != "report")
            {
                // The task's rows (its change log) first, a row a step (the rows take the budget before the archive):
                // the archive alone is left, to be rewritten under the standby.
                while ((await store.ReencryptStepAsync(StateView.Empty, 1, Ct)).Remaining > 1)
                {
                }
            }

            Task StepAsync(CancellationToken cancellationToken) => store.ReencryptStepAsync(StateView.Empty, 32, cancellationToken).AsTask();
            Exception? failed;
            Exception? again = null;
            if (terminated)
            {
                failed = await TerminatedWaitingAsync(StepAsync);
            }
            else
            {
                await cluster.RequireStandbyAsync();
                try
                {
                    failed = await Record.ExceptionAsync(() => StepAsync(Ct));
                    // Nothing is left under the old key on the primary now; the standby still has not confirmed.
                    again = await Record.ExceptionAsync(() => StepAsync(Ct));
                }
                finally
                {
                    await cluster.DropStandbyAsync();
                }
            }

            StateOutcomeUnknownException unknown = Assert.IsType<StateOutcomeUnknownException>(failed);
            Assert.Contains("the synchronous standby did not confirm it", unknown.Message, StringComparison.Ordinal);
            Assert.Equal(1L, store.CheckHealth().Details["reencryption_files_remaining"]);
            if (!terminated)
            {
                Assert.IsType<StateOutcomeUnknownException>(again);
                Assert.Equal(1L, store.CheckHealth().Details["reencryption_files_remaining"]);
            }

            // The standby confirms again: the next step finishes the re-encryption.
            ReencryptionStep step = await store.ReencryptStepAsync(StateView.Empty, 32, Ct);
            Assert.Equal(0, step.Remaining);
            Assert.Equal(0L, store.CheckHealth().Details["reencryption_files_remaining"]);
        }
        finally
        {
            keys.Delete(recursive: true);
        }
    }

    /// <summary>
    /// <c>statectl keys retire OLD --remove --store postgres</c> after a re-encryption step the standby never confirmed:
    /// the primary's rows show 0 under the old key, but the standby may still hold them under it, so the removal is
    /// refused naming the standby, and allowed once a commit is confirmed again. Before 2026-12-07 it measured the
    /// primary alone and removed the key.
    /// </summary>
    [Fact]
    public async Task KeyRemoval_AfterARewriteTheStandbyNeverConfirmed_IsRefusedUntilItConfirms()
    {
        DirectoryInfo keys = Directory.CreateTempSubdirectory("sp-pgcrypt-");
        try
        {
            string keyFile = Path.Combine(keys.FullName, "keys.json");
            string oldKey = EncryptionKeyFile.Create(keyFile).Active.Id;
            var options = new StatePersistenceOptions();
            options.Encryption.KeyFile = keyFile;
            string connection = new NpgsqlConnectionStringBuilder(cluster.Server.ConnectionString) { CommandTimeout = 1 }.ConnectionString;
            string schema = "t_" + Guid.NewGuid().ToString("N")[..16];
            await using var store = new PostgresStateStore(connection, schema, options.ResolvePayloadCodec(hasStateDirectory: false));
            await store.OpenAsync(Ct);
            await store.SaveReportAsync("r1", """{"a":1}"""u8.ToArray(), Durability.Full, Ct);
            await EncryptedSchema.WaitForActiveKeyAsync(store, EncryptionKeyOperations.Rotate(keyFile).Id);
            var environment = new Dictionary<string, string> { ["STATEPERSISTENCE_CONNECTION_STRING"] = connection };
            string[] remove = ["keys", "retire", oldKey, "--remove", "--store", "postgres", "--schema", schema, "--key-file", keyFile];

            StatectlRun refused;
            bool keptThen;
            await cluster.RequireStandbyAsync();
            try
            {
                Assert.IsType<StateOutcomeUnknownException>(await Record.ExceptionAsync(() => store.ReencryptStepAsync(StateView.Empty, 32, Ct).AsTask()));
                refused = await StatectlRun.RunAsync(remove, environment: environment);
                keptThen = EncryptionKeyFile.Read(keyFile).Find(oldKey) is not null;
            }
            finally
            {
                await cluster.DropStandbyAsync();
            }

            StatectlRun removed = await StatectlRun.RunAsync(remove, environment: environment);

            Assert.True(refused.ExitCode != 0, refused.ToString());
            Assert.Contains("synchronous standby did not confirm", refused.Error, StringComparison.Ordinal);
            Assert.True(keptThen);
            Assert.True(removed.ExitCode == 0, removed.ToString());
            Assert.Null(EncryptionKeyFile.Read(keyFile).Find(oldKey));
        }
        finally
        {
            keys.Delete(recursive: true);
        }
    }

    /// <summary>
    /// A completed task moved into a task archive (sealed under the active key) by a service over <paramref name="store"/>,
    /// its own re-encryption off; the service (which disposes the store).
    /// </summary>
    private static async Task<StatePersistenceService> ArchiveATaskAsync(string keyFile, PostgresStateStore store)
    {
        var options = new StatePersistenceOptions { ReencryptionInterval = TimeSpan.Zero, ScrubInterval = TimeSpan.Zero };
        options.Encryption.KeyFile = keyFile;
        var service = new StatePersistenceService(options, store);
        await service.StartAsync(Ct);
        await service.SaveTaskAsync(new AgentTask { Id = "done", Description = "archived", Status = TaskStatuses.Completed, CompletedAt = DateTimeOffset.UtcNow.AddDays(-60) }, Ct);
        Assert.Equal(["done"], (await TaskArchives.ArchiveAsync(service, DateTimeOffset.UtcNow.AddDays(-30), cancellationToken: Ct)).Tasks);
        return service;
    }

    private async Task<PostgresStateStore> OpenStoreAsync(int commandTimeout = 30)
    {
        string connection = new NpgsqlConnectionStringBuilder(cluster.Server.ConnectionString) { CommandTimeout = commandTimeout }.ConnectionString;
        var store = new PostgresStateStore(connection, "t_" + Guid.NewGuid().ToString("N")[..16]);
        await store.OpenAsync(Ct);
        return store;
    }

    /// <summary>Runs <paramref name="write"/> under the standby, terminates its backend once its commit waits for it; its failure.</summary>
    private async Task<Exception?> TerminatedWaitingAsync(Func<CancellationToken, Task> write)
    {
        await cluster.RequireStandbyAsync();
        try
        {
            Task writing = write(Ct);
            await cluster.WaitForACommitWaitingAsync(writing);
            await cluster.TerminateWaitingAsync();
            return await Record.ExceptionAsync(() => writing);
        }
        finally
        {
            await cluster.DropStandbyAsync();
        }
    }

    private static Task WriteAsync(PostgresStateStore store, string write, CancellationToken cancellationToken) => write switch
    {
        "task" => store.AppendAsync([[Store.Put("t1", ExpectedRevision.Any, "one")]], Durability.Full, cancellationToken).AsTask(),
        // Expecting a revision: its transaction's mark is what a lost answer is settled by.
        "conditional task" => store.AppendAsync([[Store.Put("t1", ExpectedRevision.Absent, "one")]], Durability.Full, cancellationToken).AsTask(),
        "log" => store.AppendSessionLogAsync("s1", "one\n"u8.ToArray(), Durability.Full, cancellationToken).AsTask(),
        _ => store.SaveReportAsync("r1", """{"a":1}"""u8.ToArray(), Durability.Full, cancellationToken).AsTask(),
    };

    private static async Task<bool> StoredAsync(PostgresStateStore store, string write) => write switch
    {
        "task" or "conditional task" => await store.ReadItemRevisionAsync(task: true, "t1", Ct) is not null,
        "log" => await store.ReadSessionLogAsync("s1", Ct) is not null,
        _ => await store.LoadReportAsync("r1", Ct) is not null,
    };

    /// <summary>The private cluster, and the switch of its synchronous standby (one that never connects).</summary>
    public sealed class Cluster : IAsyncLifetime
    {
        private NpgsqlDataSource? _admin;

        public PrivateCluster Server { get; private set; } = null!;

        private NpgsqlDataSource Admin => _admin!;

        public async ValueTask InitializeAsync()
        {
            Server = await PrivateCluster.StartAsync();
            _admin = NpgsqlDataSource.Create(Server.ConnectionString);
            // A probe's commit must write WAL to wait for the standby (an xid alone does not).
            await using NpgsqlCommand table = _admin.CreateCommand("CREATE TABLE probe (at int)");
            await table.ExecuteNonQueryAsync(Ct);
        }

        public async ValueTask DisposeAsync()
        {
            if (_admin is not null)
            {
                await _admin.DisposeAsync();
            }

            await Server.DisposeAsync();
        }

        /// <summary>
        /// Every commit from here on waits for a standby named 'nobody'. The reload is asynchronous (the checkpointer
        /// publishes it), so a probe commit is run until one waits for the standby; it is then cancelled.
        /// </summary>
        public async Task RequireStandbyAsync()
        {
            await SetAsync("ALTER SYSTEM SET synchronous_standby_names = 'nobody'");
            while (true)
            {
                await using NpgsqlConnection probe = await Admin.OpenConnectionAsync(Ct);
                await using var commit = new NpgsqlCommand("INSERT INTO probe VALUES (1)", probe);
                Task<object?> committing = commit.ExecuteScalarAsync(Ct);
                if (await WaitingAsync(probe.ProcessID, committing))
                {
                    await using NpgsqlCommand cancel = Admin.CreateCommand($"SELECT pg_cancel_backend({probe.ProcessID})");
                    await cancel.ExecuteScalarAsync(Ct);
                    await committing;
                    return;
                }
            }
        }

        /// <summary>Commits no longer wait for a standby (and those waiting are released).</summary>
        public async Task DropStandbyAsync()
        {
            await SetAsync("ALTER SYSTEM RESET synchronous_standby_names");
            // Returns once the reset is in force: a commit waiting for the standby is released by it.
            await using NpgsqlCommand probe = Admin.CreateCommand("INSERT INTO probe VALUES (1)");
            await probe.ExecuteScalarAsync(CancellationToken.None);
        }

        /// <summary>Returns once a session other than the admin's waits for the standby (or <paramref name="write"/> ended).</summary>
        public async Task WaitForACommitWaitingAsync(Task write)
        {
            while (!write.IsCompleted)
            {
                await using NpgsqlCommand waiting = Admin.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
                if ((long)(await waiting.ExecuteScalarAsync(Ct))! > 0)
                {
                    return;
                }

                await Task.Delay(10, Ct);
            }
        }

        /// <summary>Terminates the sessions waiting for the standby, as an administrator or a fast shutdown does.</summary>
        public async Task TerminateWaitingAsync()
        {
            await using NpgsqlCommand terminate = Admin.CreateCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
            await terminate.ExecuteNonQueryAsync(Ct);
        }

        /// <summary>Whether session <paramref name="pid"/> comes to wait for the standby before <paramref name="committing"/> ends.</summary>
        private async Task<bool> WaitingAsync(int pid, Task committing)
        {
            while (!committing.IsCompleted)
            {
                await using NpgsqlCommand waiting = Admin.CreateCommand($"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid} AND wait_event = 'SyncRep'");
                if ((long)(await waiting.ExecuteScalarAsync(Ct))! > 0)
                {
                    return true;
                }

                await Task.Delay(10, Ct);
            }

            await committing;
            return false;
        }

        private async Task SetAsync(string setting)
        {
            // Two commands: ALTER SYSTEM refuses to run inside a transaction block, which one batch would be.
            foreach (string sql in new[] { setting, "SELECT pg_reload_conf()" })
            {
                await using NpgsqlCommand command = Admin.CreateCommand(sql);
                await command.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
    }
}
