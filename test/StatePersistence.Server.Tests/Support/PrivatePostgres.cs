using System.Diagnostics;

namespace StatePersistence.Server.Tests.Support;

/// <summary>
/// A PostgreSQL cluster of one test's own (<c>scripts/services/postgres.sh</c> on a free port in a temporary
/// directory), for tests that stop, crash, restart or fail over the database: the shared one serves other tests at
/// the same time.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("statepersistence-test-postgres.").FullName;
    private readonly int _port = ServerProcess.FreePort();

    private PrivatePostgres()
    {
    }

    public string ConnectionString { get; private set; } = "";

    /// <summary>The port it listens on (127.0.0.1).</summary>
    public int Port => _port;

    public static async Task<PrivatePostgres> StartAsync()
    {
        var cluster = new PrivatePostgres();
        cluster.ConnectionString = (await cluster.RunAsync("start")).Trim();
        return cluster;
    }

    /// <summary>
    /// A streaming-replication standby of <paramref name="primary"/>, made synchronous: from its return on, the
    /// primary acknowledges a commit only once the standby has it.
    /// </summary>
    public static async Task<PrivatePostgres> StartSynchronousStandbyOfAsync(PrivatePostgres primary)
    {
        var standby = new PrivatePostgres();
        standby.ConnectionString = (await standby.RunAsync("standby", ("SP_PG_PRIMARY_PORT", primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)))).Trim();
        return standby;
    }

    /// <summary>Stops it as a crash would (immediate mode: no shutdown checkpoint, clients cut off).</summary>
    public Task CrashAsync() => RunAsync("crash");

    /// <summary>Promotes this standby to primary.</summary>
    public Task PromoteAsync() => RunAsync("promote");

    /// <summary>Stops the cluster (a fast shutdown: clients are disconnected, nothing committed is lost).</summary>
    public Task StopAsync() => RunAsync("stop");

    /// <summary>Starts it again on the same port and data.</summary>
    public Task RestartAsync() => RunAsync("start");

    public async ValueTask DisposeAsync()
    {
        await RunAsync("stop");
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<string> RunAsync(string command, params (string Name, string Value)[] environment)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(RepositoryFiles.Find("scripts/services/postgres.sh"));
        info.ArgumentList.Add(command);
        info.Environment["SP_PG_DIR"] = _directory;
        info.Environment["SP_PG_PORT"] = _port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach ((string name, string value) in environment)
        {
            info.Environment[name] = value;
        }

        using Process process = Process.Start(info) ?? throw new InvalidOperationException("bash did not start.");
        Task<string> errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        string output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(process.ExitCode == 0, $"postgres.sh {command} exited with {process.ExitCode}: {await errors}");
        return output;
    }
}
