using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.EndToEnd;

/// <summary>
/// The real server process on the real PostgreSQL (<c>STATEPERSISTENCE_POSTGRES</c>, which the README's test command
/// sets), each test in a schema of its own, dropped afterwards.
/// </summary>
public sealed class PostgresStoreServerTests : IAsyncDisposable
{
    private readonly PostgresSchemaScope _database = new("srv");

    private static string ConnectionString => PostgresSchemaScope.ConnectionString;

    public ValueTask DisposeAsync() => _database.DisposeAsync();

    [Fact]
    public async Task StorePostgres_RoundTripsATask_AndARestartFromTheEnvironmentFindsIt()
    {
        JsonElement created;
        await using (ServerProcess first = await ServerProcess.StartAsync(ServerProcess.FreePort(),
            _database.ServerArguments))
        {
            created = await (await first.Client.PostJsonAsync("/api/tasks", """{"id":"pg_task","description":"kept in PostgreSQL","tool":"CLAUDECODE"}"""))
                .ExpectAsync(HttpStatusCode.Created);
            await (await first.Client.PatchJsonAsync("/api/tasks/pg_task", """{"status":"in_progress"}""")).ExpectAsync(HttpStatusCode.OK);
            await first.KillAsync();
        }

        // The connection string from the environment this time, the store from the configuration section.
        await using ServerProcess second = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--StatePersistence:Schema", _database.Schema],
            new Dictionary<string, string> { ["StatePersistence__Store"] = "postgres", ["STATEPERSISTENCE_CONNECTION_STRING"] = ConnectionString });
        JsonElement task = await (await second.Client.GetUrlAsync("/api/tasks/pg_task")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(("kept in PostgreSQL", "in_progress"), (task.Str("description"), task.Str("status")));
        Assert.True(task.GetProperty("revision").GetInt64() > created.GetProperty("revision").GetInt64());
    }
}
