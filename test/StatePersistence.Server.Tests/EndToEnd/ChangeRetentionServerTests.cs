using System.Net;
using System.Text.Json;
using Npgsql;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.EndToEnd;

/// <summary>
/// The PostgreSQL change log's retention over HTTP, with two real server processes: A keeps changes for one second
/// (<c>StatePersistence:Postgres:ChangeRetention</c>) and prunes them; B, cut off from the database meanwhile (its
/// role may not log in), finds its place pruned when it is back, reloads, serves A's current tasks, and an
/// <c>/api/events</c> client resuming on B with a <c>Last-Event-ID</c> from before gets <c>reset</c>. Waits are bounded
/// polls; no assertion is on time.
/// </summary>
public sealed class ChangeRetentionServerTests : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly PostgresSchemaScope _database = new("retention");
    private readonly List<ServerProcess> _servers = [];
    private readonly string _role = "sp_srv_" + Guid.NewGuid().ToString("N")[..12];

    public async ValueTask DisposeAsync()
    {
        foreach (ServerProcess server in _servers)
        {
            await server.DisposeAsync();
        }

        await ExecuteAsync($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{_role}'");
        await ExecuteAsync($"DROP ROLE IF EXISTS {_role}");
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task AnInstanceBehindThePrunedLog_ReloadsAndServesCurrentTasks_AndAResumingEventClientGetsReset()
    {
        await ExecuteAsync($"CREATE ROLE {_role} LOGIN SUPERUSER");
        string[] retention = ["--StatePersistence:Postgres:ChangeRetention", "00:00:01"];
        ServerProcess a = await StartAsync([.. _database.ServerArguments, .. retention]);
        string connectionB = new NpgsqlConnectionStringBuilder(PostgresSchemaScope.ConnectionString) { Username = _role }.ConnectionString;
        ServerProcess b = await StartAsync(["--store", "postgres", "--connection-string", connectionB, "--StatePersistence:Schema", _database.Schema,
            .. retention]);

        string seenOnB;
        await using (SseReader stream = await SseReader.OpenAsync(b.Client))
        {
            await (await a.Client.PostJsonAsync("/api/tasks", """{"id":"kept","description":"1"}""")).ExpectAsync(HttpStatusCode.Created);
            await (await a.Client.PostJsonAsync("/api/tasks", """{"id":"gone","description":"1"}""")).ExpectAsync(HttpStatusCode.Created);
            seenOnB = await IdOfChangeAsync(stream, "gone");
        }

        // B is cut off; A changes, deletes and creates, and a second later prunes all of it but the newest group.
        await ExecuteAsync($"ALTER ROLE {_role} NOLOGIN");
        await ExecuteAsync($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{_role}'");
        await (await a.Client.PutJsonAsync("/api/tasks/kept", """{"id":"kept","description":"2"}""")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.NoContent, (await a.Client.DeleteUrlAsync("/api/tasks/gone")).StatusCode);
        await (await a.Client.PostJsonAsync("/api/tasks", """{"id":"created","description":"3"}""")).ExpectAsync(HttpStatusCode.Created);
        await WaitUntilAsync(async () => await ScalarAsync($"SELECT count(*) FROM {_database.Schema}.changes") == 1, "A pruned the change log", a);

        await ExecuteAsync($"ALTER ROLE {_role} LOGIN");
        await WaitUntilAsync(async () => (await b.Client.GetUrlAsync("/api/tasks/created")).StatusCode == HttpStatusCode.OK, "B served 'created'", b);
        Assert.Equal("2", (await (await b.Client.GetUrlAsync("/api/tasks/kept")).ExpectAsync(HttpStatusCode.OK)).Str("description"));
        Assert.Equal(HttpStatusCode.NotFound, (await b.Client.GetUrlAsync("/api/tasks/gone")).StatusCode);

        await using SseReader resumed = await SseReader.OpenAsync(b.Client, seenOnB);
        while (true)
        {
            SseReader.Event next = (await resumed.ReadAsync(1))[0];
            if (next.Type == "reset")
            {
                break;
            }

            // Only what B held before it lost its place may come first (its own failure reports), never a change.
            Assert.False(next.Type.StartsWith("task:", StringComparison.Ordinal), $"a change before the reset: {next}");
        }
    }

    private async Task<ServerProcess> StartAsync(string[] arguments)
    {
        ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), arguments);
        _servers.Add(server);
        return server;
    }

    private static async Task<string> IdOfChangeAsync(SseReader stream, string id)
    {
        while (true)
        {
            SseReader.Event next = (await stream.ReadAsync(1))[0];
            if (next.Type.StartsWith("task:", StringComparison.Ordinal) && JsonDocument.Parse(next.Data).RootElement.GetProperty("id").GetString() == id)
            {
                return next.Id!;
            }
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, ServerProcess server)
    {
        DateTime deadline = DateTime.UtcNow + Bound;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Not reached within {Bound}: {what}.\n{server.Output}");
            await Task.Delay(50, Ct);
        }
    }

    private static async Task ExecuteAsync(string sql)
    {
        await using NpgsqlDataSource source = NpgsqlDataSource.Create(PostgresSchemaScope.ConnectionString);
        await using NpgsqlCommand command = source.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(string sql)
    {
        await using NpgsqlDataSource source = NpgsqlDataSource.Create(PostgresSchemaScope.ConnectionString);
        await using NpgsqlCommand command = source.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
