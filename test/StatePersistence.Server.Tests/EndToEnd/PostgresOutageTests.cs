using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.EndToEnd;

/// <summary>
/// Two real server processes on a PostgreSQL of this test's own, which is stopped and started again while they run:
/// writes during the outage are refused with 503 and store nothing, the instances reconnect by themselves, and the
/// feed misses nothing (what A acknowledges after the restart reaches B, and so does what it acknowledged before).
/// </summary>
public sealed class PostgresOutageTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task WritesDuringAnOutage_Get503AndStoreNothing_AndTheInstancesCatchUpAfterIt()
    {
        await using PrivatePostgres database = await PrivatePostgres.StartAsync();
        string[] arguments = ["--store", "postgres", "--connection-string", database.ConnectionString];
        await using ServerProcess a = await ServerProcess.StartAsync(ServerProcess.FreePort(), arguments);
        await using ServerProcess b = await ServerProcess.StartAsync(ServerProcess.FreePort(), arguments);
        await (await a.Client.PutJsonAsync("/api/tasks/before", """{"description":"before the outage"}""")).ExpectAsync(HttpStatusCode.Created);

        await database.StopAsync();
        JsonElement refused = await (await a.Client.PutJsonAsync("/api/tasks/during", """{"description":"during the outage"}"""))
            .ExpectProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.DoesNotContain("Password", refused.Str("detail") ?? "", StringComparison.OrdinalIgnoreCase);
        await (await a.Client.PatchJsonAsync("/api/tasks/before", """{"status":"in_progress"}""")).ExpectProblemAsync(HttpStatusCode.ServiceUnavailable);

        await database.RestartAsync();
        JsonElement after = await RetryUntilAsync(a, () => a.Client.PutJsonAsync("/api/tasks/after", """{"description":"after the outage"}"""), HttpStatusCode.Created);

        // Nothing of the refused writes was stored; everything acknowledged reaches B through the feed.
        foreach (ServerProcess server in new[] { a, b })
        {
            await (await server.Client.GetUrlAsync("/api/tasks/during")).ExpectProblemAsync(HttpStatusCode.NotFound);
            Assert.Equal("pending", (await RetryUntilAsync(server, () => server.Client.GetUrlAsync("/api/tasks/before"), HttpStatusCode.OK)).Str("status"));
        }

        JsonElement seen = await RetryUntilAsync(b, () => b.Client.GetUrlAsync("/api/tasks/after"), HttpStatusCode.OK);
        Assert.Equal(after.GetProperty("revision").GetInt64(), seen.GetProperty("revision").GetInt64());
    }

    [Fact]
    public async Task RestartedUnderLoad_TheInstancesReconnect_AndNothingAcknowledgedIsLostOrHalfStored()
    {
        await using PrivatePostgres database = await PrivatePostgres.StartAsync();
        string[] arguments = ["--store", "postgres", "--connection-string", database.ConnectionString];
        await using ServerProcess a = await ServerProcess.StartAsync(ServerProcess.FreePort(), arguments);
        await using ServerProcess b = await ServerProcess.StartAsync(ServerProcess.FreePort(), arguments);
        await using var load = new AcknowledgedWriteLoad("restart", [a, b], writersPerInstance: 4);
        string Diagnostics() => $"A:\n{a.Output}\nB:\n{b.Output}";

        await load.WaitForAcknowledgedAsync(40, Bound, Diagnostics);
        await database.StopAsync();
        DateTime deadline = DateTime.UtcNow + Bound;
        while (load.Refusals == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"No write was refused while PostgreSQL was down:\n{Diagnostics()}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        int beforeRestart = load.Acknowledged.Count;
        await database.RestartAsync();
        await load.WaitForAcknowledgedAsync(beforeRestart + 40, Bound, Diagnostics);
        await load.StopAsync();

        await AcknowledgedWrites.AssertAllPresentAsync(load, [a, b], Bound);
    }

    /// <summary>Repeats the request until it gets <paramref name="expected"/> (bounded): the instance reconnects by itself.</summary>
    private static async Task<JsonElement> RetryUntilAsync(ServerProcess server, Func<Task<HttpResponseMessage>> send, HttpStatusCode expected)
    {
        DateTime deadline = DateTime.UtcNow + Bound;
        while (true)
        {
            using HttpResponseMessage answer = await send();
            if (answer.StatusCode == expected)
            {
                return await answer.JsonAsync();
            }

            Assert.True(answer.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.NotFound,
                $"Expected {expected} or a 503/404 while reconnecting, got {(int)answer.StatusCode}: {await answer.TextAsync()}");
            Assert.True(DateTime.UtcNow < deadline, $"No {expected} within {Bound}:\n{server.Output}");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
