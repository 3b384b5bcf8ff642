using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Archive;

/// <summary>
/// Paths an operator mistypes: an export aimed at a directory, an import into a path under a file. Both failed with
/// the operating system's bare words ("Is a directory : 'x'", "Could not find a part of the path"), naming neither
/// what was wrong nor that nothing was changed.
/// </summary>
public sealed class ExportImportPathTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Export_ToADirectory_IsRefusedSayingItIsADirectory_AndTheDirectoryIsUnchanged()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        string directory = _temp.Combine("backups");
        Directory.CreateDirectory(directory);

        StatectlRun export = await StatectlRun.RunAsync("export", directory, "--state-path", StatePath, "--json");

        Assert.True(export.ExitCode == 1, export.ToString());
        Assert.Contains($"The archive '{directory}' is a directory: give the path of the .tar.gz file to write. Nothing was written.",
            export.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(directory));
        Assert.DoesNotContain(Directory.EnumerateFiles(_temp.Path), f => f.Contains(".tmp", StringComparison.Ordinal));
    }

    /// <summary>
    /// Refused before the store is even reached: the port below has no server, so a check made after the copy (as
    /// before 2026-12-07, once the whole store was in TMPDIR) would fail on the connection instead.
    /// </summary>
    [Fact]
    public async Task ExportFromPostgres_ToADirectory_IsRefusedBeforeTheStoreIsRead()
    {
        string directory = _temp.Combine("backups");
        Directory.CreateDirectory(directory);
        int port = ServerProcess.FreePort();

        StatectlRun export = await StatectlRun.RunAsync("export", directory, "--store", "postgres",
            "--connection-string", $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Timeout=3", "--json");

        Assert.True(export.ExitCode == 1, export.ToString());
        Assert.Contains($"The archive '{directory}' is a directory: give the path of the .tar.gz file to write. Nothing was written.",
            export.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(directory));
    }

    [Fact]
    public async Task Import_IntoAPathUnderAFile_IsRefusedNamingTheFile()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        string archive = _temp.Combine("backup.tar.gz");
        Assert.Equal(0, (await StatectlRun.RunAsync("export", archive, "--state-path", StatePath)).ExitCode);
        string file = _temp.Combine("notes.txt");
        File.WriteAllText(file, "not a directory");
        string under = Path.Combine(file, "state");

        StatectlRun import = await StatectlRun.RunAsync("import", archive, "--state-path", under);

        Assert.True(import.ExitCode == 1, import.ToString());
        Assert.Contains($"'{file}' on the way to it is a file, not a directory. Nothing was changed.", import.Error, StringComparison.Ordinal);
        Assert.Equal("not a directory", File.ReadAllText(file));
    }
}
