using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.EndToEnd;

/// <summary>
/// Issue 13's failover: a primary with a synchronous streaming-replication standby (two local PostgreSQL clusters of
/// this test's own), two real server processes on an Npgsql multi-host connection string, a write load, the primary
/// crashed (immediate stop) and the standby promoted. The instances continue on the new primary by themselves, and
/// nothing they acknowledged is lost: synchronous commit means an acknowledged commit was on the standby already.
/// </summary>
public sealed class PostgresFailoverTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task AfterThePrimaryCrashes_InstancesContinueOnThePromotedStandby_AndLoseNothingAcknowledged()
    {
        await using PrivatePostgres primary = await PrivatePostgres.StartAsync();
        await using PrivatePostgres standby = await PrivatePostgres.StartSynchronousStandbyOfAsync(primary);
        // Npgsql's multi-host form: it tries the hosts in order and keeps only one that accepts writes.
        string connection = $"Host=127.0.0.1:{primary.Port},127.0.0.1:{standby.Port};Username=postgres;Database=postgres;Target Session Attributes=primary";
        string[] arguments = ["--store", "postgres", "--connection-string", connection];
        await using ServerProcess a = await ServerProcess.StartAsync(ServerProcess.FreePort(), arguments);
        await using ServerProcess b = await ServerProcess.StartAsync(ServerProcess.FreePort(), arguments);
        await using var load = new AcknowledgedWriteLoad("failover", [a, b], writersPerInstance: 4);
        string Diagnostics() => $"A:\n{a.Output}\nB:\n{b.Output}";

        await load.WaitForAcknowledgedAsync(40, Bound, Diagnostics);
        await primary.CrashAsync();
        // With the primary gone and the standby still read-only, every write is refused: the outage is real.
        await WaitUntilAsync(() => load.Refusals > 0, "no write was refused after the primary crashed", Diagnostics);
        int beforePromotion = load.Acknowledged.Count;
        await standby.PromoteAsync();
        await load.WaitForAcknowledgedAsync(beforePromotion + 40, Bound, Diagnostics);
        await load.StopAsync();

        await AcknowledgedWrites.AssertAllPresentAsync(load, [a, b], Bound);
        // A new instance, started on the promoted standby alone, reads everything from the database itself.
        await using ServerProcess c = await ServerProcess.StartAsync(ServerProcess.FreePort(), arguments);
        await AcknowledgedWrites.AssertAllPresentAsync(load, [c], Bound);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure, Func<string> diagnostics)
    {
        DateTime deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Within {Bound}, {failure}:\n{diagnostics()}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
