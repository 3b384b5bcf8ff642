using System.Diagnostics;
using System.Globalization;

namespace StatePersistence.Postgres.Tests.Support;

/// <summary>
/// A PostgreSQL cluster of its own (<c>scripts/services/postgres.sh start</c> on a free port in a temporary directory),
/// for tests that change server-wide settings (<c>synchronous_standby_names</c> cannot be set per database or per
/// session): the shared cluster serves the other tests at the same time, and such a setting would stall their commits.
/// </summary>
public sealed class PrivateCluster : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("statepersistence-test-postgres.").FullName;
    private readonly int _port = LocalPorts.Unused();

    private PrivateCluster()
    {
    }

    public string ConnectionString { get; private set; } = "";

    public static async Task<PrivateCluster> StartAsync()
    {
        var cluster = new PrivateCluster();
        cluster.ConnectionString = (await cluster.RunAsync("start")).Trim().Split('\n')[^1];
        return cluster;
    }

    public async ValueTask DisposeAsync()
    {
        await RunAsync("stop");
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<string> RunAsync(string command)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot(), "scripts", "services", "postgres.sh"));
        info.ArgumentList.Add(command);
        info.Environment["SP_PG_DIR"] = _directory;
        info.Environment["SP_PG_PORT"] = _port.ToString(CultureInfo.InvariantCulture);
        info.Environment["SP_PG_MAX_CONNECTIONS"] = "50";
        using Process process = Process.Start(info) ?? throw new InvalidOperationException("bash did not start.");
        Task<string> errors = process.StandardError.ReadToEndAsync();
        string output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"postgres.sh {command} exited with {process.ExitCode}: {await errors}");
        }

        return output;
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StatePersistence.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("No StatePersistence.sln above " + AppContext.BaseDirectory + ".");
    }
}
