using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Archive;

/// <summary>
/// A damaged report (here NUL-filled, as a power cut can leave a file) was copied into the export without a word, exit
/// 0, and the import of that export was then refused whole for it: a backup that could not be restored. The export now
/// leaves it out and names it; the report stays in the state directory as it is, and the export imports.
/// </summary>
public sealed class ExportOfADamagedReportTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Export_LeavesTheDamagedReportOut_NamingIt_KeepsItInTheDirectory_AndTheExportImports()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        string report = Path.Combine(StatePath, "reports", "report_r1.json");
        byte[] damaged = new byte[200];
        File.WriteAllBytes(report, damaged);
        string archive = _temp.Combine("backup.tar.gz");

        StatectlRun export = await StatectlRun.RunAsync("export", archive, "--state-path", StatePath);
        StatectlRun import = await StatectlRun.RunAsync("import", archive, "--state-path", _temp.Combine("restored"));

        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.Contains($"statectl: warning: {report} (r1): the report is damaged", export.Error, StringComparison.Ordinal);
        Assert.Contains("it is not in the export", export.Error, StringComparison.Ordinal);
        Assert.Contains("0 report(s)", export.Output, StringComparison.Ordinal);
        Assert.Equal(damaged, File.ReadAllBytes(report));
        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.True(File.Exists(Path.Combine(_temp.Combine("restored"), "tasks", "task_1.json")));
    }
}
