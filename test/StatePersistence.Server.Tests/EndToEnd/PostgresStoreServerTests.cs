using System.Net;
using System.Text.Json;
using Npgsql;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.EndToEnd;

/// <summary>
/// The real server process on the real PostgreSQL (<c>STATEPERSISTENCE_POSTGRES</c>, which the README's test command
/// sets), each test in a schema of its own, dropped afterwards.
/// </summary>
public sealed class PostgresStoreServerTests : IAsyncDisposable
{
    private readonly string _schema = "srv_" + Guid.NewGuid().ToString("N")[..16];

    private static string ConnectionString => Environment.GetEnvironmentVariable("STATEPERSISTENCE_POSTGRES") is { Length: > 0 } configured
        ? configured
        : throw new InvalidOperationException("STATEPERSISTENCE_POSTGRES is not set: the PostgreSQL tests need a server (scripts/test.sh starts one).");

    public async ValueTask DisposeAsync()
    {
        await using NpgsqlDataSource source = NpgsqlDataSource.Create(ConnectionString);
        await using NpgsqlCommand drop = source.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE");
        await drop.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task StorePostgres_RoundTripsATask_AndARestartFromTheEnvironmentFindsIt()
    {
        JsonElement created;
        await using (ServerProcess first = await ServerProcess.StartAsync(ServerProcess.FreePort(),
            ["--store", "postgres", "--connection-string", ConnectionString, "--StatePersistence:Schema", _schema]))
        {
            created = await (await first.Client.PostJsonAsync("/api/tasks", """{"id":"pg_task","description":"kept in PostgreSQL","tool":"CLAUDECODE"}"""))
                .ExpectAsync(HttpStatusCode.Created);
            await (await first.Client.PatchJsonAsync("/api/tasks/pg_task", """{"status":"in_progress"}""")).ExpectAsync(HttpStatusCode.OK);
            await first.KillAsync();
        }

        // The connection string from the environment this time, the store from the configuration section.
        await using ServerProcess second = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--StatePersistence:Schema", _schema],
            new Dictionary<string, string> { ["StatePersistence__Store"] = "postgres", ["STATEPERSISTENCE_CONNECTION_STRING"] = ConnectionString });
        JsonElement task = await (await second.Client.GetUrlAsync("/api/tasks/pg_task")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(("kept in PostgreSQL", "in_progress"), (task.Str("description"), task.Str("status")));
        Assert.True(task.GetProperty("revision").GetInt64() > created.GetProperty("revision").GetInt64());
    }
}
