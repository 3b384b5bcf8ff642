using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Conformance;
using StatePersistence.Model;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Listing;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;
using StatePersistence.Querying;

namespace StatePersistence.Postgres.Tests.Listing;

/// <summary>
/// Task listings answered from PostgreSQL's indexes (<see cref="Storage.ITaskListingStore"/>) must page exactly as the
/// core's own listing of its in-memory state does, for every order, filter and page size; sealed rows are never
/// listed (the core answers instead), and rows written before the listing columns are listed when an instance opens.
/// </summary>
public sealed class TaskListingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly string[] Statuses = [TaskStatuses.Pending, TaskStatuses.InProgress, TaskStatuses.Completed, TaskStatuses.Failed];
    private static readonly string?[] Tools = ["CLAUDECODE", "shell", null];

    [Fact]
    public async Task EveryOrderFilterAndPageSize_PagesFromTheIndexes_ExactlyAsFromMemory()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await SaveVariedTasksAsync(service, 90, ct);
        await using PostgresStateStore store = new(PostgresServer.ConnectionString, schema.Name);
        await store.OpenAsync(ct);

        foreach (TaskSort sort in Enum.GetValues<TaskSort>())
        {
            foreach (TaskQuery filter in Filters())
            {
                foreach (int limit in new[] { 1, 7, 1000 })
                {
                    TaskQuery query = filter with { Sort = sort, Limit = limit };
                    Assert.NotNull(await store.ListTasksAsync(new TaskListing(query.Status, query.Tool, query.UpdatedSince, sort, null, limit + 1), ct));
                    List<string> fromIndexes = await PageThroughAsync(q => service.QueryTasksAsync(q, ct).AsTask(), query);
                    List<string> fromMemory = await PageThroughAsync(q => Task.FromResult(service.QueryTasks(q)), query);
            Assert.True(fromMemory.SequenceEqual(fromIndexes),
                        $"{sort} {filter} limit {limit}:\n memory  {string.Join(",", fromMemory)}\n indexes {string.Join(",", fromIndexes)}");
                }
            }
        }
    }

    [Fact]
    public async Task ASearch_IsAnsweredFromTheInstancesState_WithTheIndexesFilters_AsFromMemory()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await SaveVariedTasksAsync(service, 90, ct);

        // "task 1" is the description of task 1 and of tasks 10-19; "SHELL" is a tool, matched ignoring case.
        foreach (TaskQuery query in new[]
        {
            new TaskQuery { Search = "task 1", Sort = TaskSort.UpdatedAtDescending, Limit = 4 },
            new TaskQuery { Search = "SHELL", Status = TaskStatuses.Completed, Sort = TaskSort.CreatedAt, Limit = 3 },
        })
        {
            List<string> answered = await PageThroughAsync(q => service.QueryTasksAsync(q, ct).AsTask(), query);
            List<string> fromMemory = await PageThroughAsync(q => Task.FromResult(service.QueryTasks(q)), query);
            Assert.NotEmpty(answered);
            Assert.Equal(fromMemory, answered);
            Assert.Equal(answered.Count, service.CountTasks(query));
        }

        Assert.Equal(11, service.CountTasks(new TaskQuery { Search = "task 1" }));
    }

    [Fact]
    public async Task AscendingUpdatedAt_FromTheIndexes_NeverMissesATaskChangedDuringTheWalk()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        await MovingTaskWalk.RunAsync(service, q => service.QueryTasksAsync(q, ct).AsTask(), ct);
    }

    [Fact]
    public async Task FiltersHoldingALoneSurrogate_FromTheIndexes_AreAnsweredAsFromMemory()
    {
        // Before 2026-12-07 Npgsql's strict UTF-8 encoder refused the parameter: a storage failure, not a page.
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        await UnencodableTaskFilters.RunAsync(service, q => service.QueryTasksAsync(q, ct).AsTask(), ct);
    }

    [Fact]
    public async Task APageOfLargeTasks_ReadsFromTheIndexesOnlyTheRowsItsByteBudgetHolds_AndTheWalkReadsEveryTaskOnce()
    {
        // The page is cut at TaskQuery.MaxBytes (8 MiB by default); before 2026-12-07 the listing still read limit + 1
        // bodies from the database first: 1,000 tasks of a mebibyte were a gigabyte in memory for an 8 MiB answer.
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        for (int i = 0; i < 40; i++)
        {
            await service.SaveTaskAsync(new AgentTask
            {
                Id = $"task_{i:D2}", Description = new string('x', 16 * 1024), Status = TaskStatuses.Pending, CreatedAt = T0, UpdatedAt = T0.AddSeconds(i),
            }, ct);
        }

        const int budget = 50 * 1024; // three of them fit, a fourth does not
        var query = new TaskListingQuery(PostgresServer.DataSource, schema.Name, new ChangeRows(new StorePayloads(), schema.Name));
        IReadOnlyList<StoredItem>? read = await query.RunAsync(new TaskListing(null, null, null, TaskSort.UpdatedAtDescending, null, 41) { MaxBytes = budget }, ct);

        Assert.NotNull(read);
        Assert.Equal(["task_39", "task_38", "task_37", "task_36"], read.Select(i => i.Id));
        foreach (TaskSort sort in new[] { TaskSort.Id, TaskSort.UpdatedAtDescending })
        {
            var walk = new TaskQuery { Sort = sort, Limit = 1000, MaxBytes = budget };
            List<string> fromIndexes = await PageThroughAsync(q => service.QueryTasksAsync(q, ct).AsTask(), walk);
            Assert.Equal(await PageThroughAsync(q => Task.FromResult(service.QueryTasks(q)), walk), fromIndexes);
            Assert.Equal(40, fromIndexes.Distinct().Count());
            Assert.Equal(3, (await service.QueryTasksAsync(walk, ct)).Tasks.Count);
        }
    }

    [Fact]
    public async Task EveryOrder_FromTheIndexes_TasksCreatedAndDeletedBetweenPages_NeitherLoseNorRepeatTheWalksPlace()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        await ChangingTaskWalk.RunAsync(service, q => service.QueryTasksAsync(q, ct).AsTask(), ct);
    }

    [Fact]
    public async Task ARowSealedWhileAListingRuns_IsListedOrAnsweredFromMemory_NeverAFailure()
    {
        // The check for unlisted rows and the listing were two statements of a batch, each with its own snapshot (READ
        // COMMITTED): a row the background re-encryption sealed between them (body NULL, not listed) reached the listing,
        // whose read of its NULL body threw InvalidCastException, a 500 for GET /api/tasks while encryption was being
        // turned on. The listing flips one row as the re-encryption does, as fast as it can, while listing.
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using (StatePersistenceService writer = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct))
        {
            await SaveVariedTasksAsync(writer, 5, ct);
        }

        string body = await ScalarAsync<string>($"SELECT body::text FROM {schema.Name}.items WHERE kind = 'task' AND id = 'task_0'");
        var query = new TaskListingQuery(PostgresServer.DataSource, schema.Name, new ChangeRows(new StorePayloads(), schema.Name));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task flipping = Task.Run(async () =>
        {
            await using NpgsqlConnection connection = await PostgresServer.DataSource.OpenConnectionAsync(ct);
            await using var seal = new NpgsqlCommand($"UPDATE {schema.Name}.items SET body = NULL, sealed = '\\x01'::bytea, listed = false WHERE kind = 'task' AND id = 'task_0'", connection);
            await using var unseal = new NpgsqlCommand($"UPDATE {schema.Name}.items SET body = $1::jsonb, sealed = NULL, listed = true WHERE kind = 'task' AND id = 'task_0'", connection);
            unseal.Parameters.Add(new NpgsqlParameter { Value = body });
            while (!stop.IsCancellationRequested)
            {
                await seal.ExecuteNonQueryAsync(ct);
                await unseal.ExecuteNonQueryAsync(ct);
            }
        }, ct);

        int listed = 0, fellBack = 0;
        try
        {
            for (int i = 0; i < 10_000; i++)
            {
                IReadOnlyList<StoredItem>? page = await query.RunAsync(new TaskListing(null, null, null, TaskSort.Id, null, 100), ct);
                if (page is null)
                {
                    fellBack++;
                }
                else
                {
                    Assert.Equal(5, page.Count);
                    listed++;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await flipping;
        }

        Assert.True(listed > 0 && fellBack > 0, $"listed {listed}, fell back {fellBack}: the row was not flipped under the listings");
    }

    [Fact]
    public async Task SealedRows_KeepNoListingColumns_AndTheCoreListsFromMemory()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        var options = new StatePersistenceOptions { PayloadCodec = new XorTestCodec() };
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, options, cancellationToken: ct);
        await SaveVariedTasksAsync(service, 12, ct);
        await using PostgresStateStore store = new(PostgresServer.ConnectionString, schema.Name, new XorTestCodec());
        await store.OpenAsync(ct);

        Assert.Null(await store.ListTasksAsync(new TaskListing(null, null, null, TaskSort.Id, null, 10), ct));
        Assert.Equal(0L, await ScalarAsync<long>($"SELECT count(*) FROM {schema.Name}.items WHERE kind = 'task' AND (listed OR status IS NOT NULL OR tool IS NOT NULL OR updated_key IS NOT NULL)"));
        TaskPage page = await service.QueryTasksAsync(new TaskQuery { Status = TaskStatuses.Completed, Sort = TaskSort.UpdatedAtDescending }, ct);
        Assert.Equal(service.QueryTasks(new TaskQuery { Status = TaskStatuses.Completed, Sort = TaskSort.UpdatedAtDescending }).Tasks.Select(t => t.Id), page.Tasks.Select(t => t.Id));
        Assert.NotEmpty(page.Tasks);
    }

    [Fact]
    public async Task RowsWrittenBeforeTheListingColumns_AreListedWhenAnInstanceOpens()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using (StatePersistenceService writer = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct))
        {
            await SaveVariedTasksAsync(writer, 20, ct);
        }

        // As a schema of version 1 left them: no listing columns filled.
        await ExecuteAsync($"UPDATE {schema.Name}.items SET status = NULL, tool = NULL, created_key = NULL, updated_key = NULL, listed = false");
        var query = new TaskListingQuery(PostgresServer.DataSource, schema.Name, new ChangeRows(new StorePayloads(), schema.Name));
        var listing = new TaskListing(TaskStatuses.Completed, null, null, TaskSort.UpdatedAt, null, 100);
        Assert.Null(await query.RunAsync(listing, ct));

        await using StatePersistenceService reader = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        Assert.Equal(0L, await ScalarAsync<long>($"SELECT count(*) FROM {schema.Name}.items WHERE kind = 'task' AND NOT listed"));
        Assert.NotNull(await query.RunAsync(listing, ct));
        var page = new TaskQuery { Status = TaskStatuses.Completed, Sort = TaskSort.UpdatedAt, Limit = 3 };
        Assert.Equal(await PageThroughAsync(q => Task.FromResult(reader.QueryTasks(q)), page), await PageThroughAsync(q => reader.QueryTasksAsync(q, ct).AsTask(), page));
    }

    [Fact]
    public async Task FiltersAndPositionsHoldingNul_AnswerFromTheIndexes_AsFromMemory_NotAStorageFailure()
    {
        // PostgreSQL's text refuses NUL (SQLSTATE 22021): ?tool=x%00, ?after=a%00 or a forged cursor were a 500
        // counted as a storage failure. No stored status, tool or id holds NUL, so each is an answer like any other.
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await SaveVariedTasksAsync(service, 40, ct);

        var queries = new List<TaskQuery>
        {
            new() { Tool = "shell\0" },
            new() { Status = TaskStatuses.Completed + "\0" },
            new() { AfterId = "\0" },
            new() { AfterId = "a2\0" },
            new() { AfterId = "task_9\0zz" },
        };
        foreach (TaskSort sort in Enum.GetValues<TaskSort>())
        {
            // A real cursor from the middle of the listing, its id given a NUL and more after it.
            TaskPage first = service.QueryTasks(new TaskQuery { Sort = sort, Limit = 7 });
            queries.Add(new TaskQuery { Sort = sort, Limit = 5, Next = WithNulInId(first.Next!) });
        }

        foreach (TaskQuery query in queries)
        {
            // after= is an id order's first page (its next pages follow the cursor instead).
            List<string> fromMemory = query.AfterId is null ? await PageThroughAsync(q => Task.FromResult(service.QueryTasks(q)), query)
                : [.. service.QueryTasks(query).Tasks.Select(t => t.Id)];
            List<string> fromIndexes = query.AfterId is null ? await PageThroughAsync(q => service.QueryTasksAsync(q, ct).AsTask(), query)
                : [.. (await service.QueryTasksAsync(query, ct)).Tasks.Select(t => t.Id)];
            Assert.True(fromMemory.SequenceEqual(fromIndexes),
                $"{query}:\n memory  {string.Join(",", fromMemory)}\n indexes {string.Join(",", fromIndexes)}");
        }

        Assert.Empty((await service.QueryTasksAsync(new TaskQuery { Tool = "shell\0" }, ct)).Tasks);
        Assert.Equal(40, (await service.QueryTasksAsync(new TaskQuery { AfterId = "\0" }, ct)).Tasks.Count);
        Assert.Contains("task_9", (await service.QueryTasksAsync(new TaskQuery { AfterId = "task_8\0" }, ct)).Tasks.Select(t => t.Id));
    }

    /// <summary>A cursor (base64url of "sort:key:id") whose id has "\0zz" appended.</summary>
    private static string WithNulInId(string cursor) =>
        System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(
            System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(cursor)) + "\0zz"));

    private static IEnumerable<TaskQuery> Filters()
    {
        yield return new TaskQuery();
        yield return new TaskQuery { Status = TaskStatuses.Completed };
        yield return new TaskQuery { Tool = "shell" };
        yield return new TaskQuery { UpdatedSince = T0.AddMinutes(20) };
        yield return new TaskQuery { Status = TaskStatuses.Pending, Tool = "CLAUDECODE", UpdatedSince = T0.AddMinutes(5) };
        yield return new TaskQuery { Status = "no-such-status" };
    }

    /// <summary>
    /// Tasks with every status and tool, timestamps with ties (several tasks per minute) and fractions of a second,
    /// and ids whose byte order differs from a linguistic one (case, punctuation).
    /// </summary>
    private static async Task SaveVariedTasksAsync(StatePersistenceService service, int count, CancellationToken ct)
    {
        var random = new Random(13);
        for (int i = 0; i < count; i++)
        {
            string id = (i % 3) switch { 0 => $"task_{i}", 1 => $"Task-{i}", _ => $"a{i}" };
            DateTimeOffset created = T0.AddMinutes(random.Next(0, 30)).AddTicks(i % 4 == 0 ? random.Next(0, 10_000_000) : 0);
            await service.SaveTaskAsync(new AgentTask
            {
                Id = id,
                Description = "task " + i,
                Status = Statuses[random.Next(Statuses.Length)],
                Tool = Tools[random.Next(Tools.Length)],
                CreatedAt = created,
                UpdatedAt = created.AddMinutes(random.Next(0, 10)),
            }, ct);
        }
    }

    private static async Task<List<string>> PageThroughAsync(Func<TaskQuery, Task<TaskPage>> run, TaskQuery query)
    {
        var ids = new List<string>();
        string? next = query.Next;
        do
        {
            TaskPage page = await run(query with { Next = next });
            ids.AddRange(page.Tasks.Select(t => t.Id));
            next = page.Next;
            Assert.True(ids.Count <= 1000, "the pages never end");
        }
        while (next is not null);
        return ids;
    }

    private static async Task ExecuteAsync(string sql)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    private static async Task<T> ScalarAsync<T>(string sql)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }
}
