using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Archive;

/// <summary>
/// A session log whose last append is whole but fails its checksum (here a flipped byte in its text) was left out of
/// the export without a word, exit 0: it could be an append in flight beside a running server. The export now reads
/// the log again after the settle time <c>statectl verify</c> waits and, the append still there and still failing,
/// leaves it out as before but names it as a warning (standard error, and <c>problems</c> with <c>--json</c>): the
/// session, the bytes, why, and that the next start copies the log aside and cuts the append off.
/// </summary>
public sealed class ExportOfADamagedLastAppendTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    private string Log => Path.Combine(StatePath, "logs", "session_s1.log");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Export_LeavesTheDamagedLastAppendOut_NamingIt_AndTheExportImports()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        byte[] bytes = File.ReadAllBytes(Log);
        bytes[8 + 12 + 2] ^= 0x40; // inside the text of the log's only (so last) append
        File.WriteAllBytes(Log, bytes);
        string expected = $"{Log} (s1): the last append (bytes 8..{bytes.Length - 1}) is whole but fails its checksum";

        StatectlRun export = await StatectlRun.RunAsync("export", _temp.Combine("backup.tar.gz"), "--state-path", StatePath);
        StatectlRun json = await StatectlRun.RunAsync("export", _temp.Combine("backup-json.tar.gz"), "--state-path", StatePath, "--json");
        StatectlRun import = await StatectlRun.RunAsync("import", _temp.Combine("backup.tar.gz"), "--state-path", _temp.Combine("restored"));

        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.Contains("statectl: warning: " + expected, export.Error, StringComparison.Ordinal);
        Assert.Contains("the next start of a server copies the log aside and cuts that append off", export.Error, StringComparison.Ordinal);
        Assert.True(json.ExitCode == 0, json.ToString());
        JsonElement problem = Assert.Single(json.Json().GetProperty("problems").EnumerateArray());
        Assert.Equal(Log, problem.GetProperty("path").GetString());
        Assert.Equal("s1", problem.GetProperty("id").GetString());
        Assert.StartsWith($"the last append (bytes 8..{bytes.Length - 1}) is whole but fails its checksum", problem.GetProperty("problem").GetString(), StringComparison.Ordinal);
        Assert.Equal(bytes, File.ReadAllBytes(Log));
        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.Equal(bytes[..8], File.ReadAllBytes(Path.Combine(_temp.Combine("restored"), "logs", "session_s1.log")));
    }

    [Fact]
    public async Task Export_OfAHealthyLog_HasNoWarning()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);

        StatectlRun export = await StatectlRun.RunAsync("export", _temp.Combine("backup.tar.gz"), "--state-path", StatePath);
        StatectlRun json = await StatectlRun.RunAsync("export", _temp.Combine("backup-json.tar.gz"), "--state-path", StatePath, "--json");

        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.DoesNotContain("warning", export.Error, StringComparison.Ordinal);
        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Empty(json.Json().GetProperty("problems").EnumerateArray());
    }
}
