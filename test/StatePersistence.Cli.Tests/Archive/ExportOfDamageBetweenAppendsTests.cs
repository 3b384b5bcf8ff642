using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Archive;

/// <summary>
/// Damage between valid appends of a session log, or in a rotated part, was copied into the export, exit 0 and no
/// warning, and <c>statectl import</c> then refused the whole archive ("the append at byte N fails its checks"). The
/// export now copies the valid appends only and names what it left out as a warning (standard error, and
/// <c>problems</c> with <c>--json</c>): the file, the session, the bytes and why; its import succeeds.
/// </summary>
public sealed class ExportOfDamageBetweenAppendsTests : IDisposable
{
    private const int Header = 8;

    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    private string Log => Path.Combine(StatePath, "logs", "session_s1.log");

    private string Restored => _temp.Combine("restored");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("session_s1.log")]
    [InlineData("session_s1.log.1")]
    public async Task Export_LeavesDamageBetweenValidAppendsOut_NamingIt_AndTheExportImports(string file)
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        // The server's one append, three times over (a frame is self-contained), the middle one damaged.
        byte[] log = File.ReadAllBytes(Log);
        byte[] frame = log[Header..];
        byte[] damaged = [.. log, .. frame, .. frame];
        damaged[Header + frame.Length + 12 + 2] ^= 0x40;
        string path = Path.Combine(StatePath, "logs", file);
        File.WriteAllBytes(path, damaged);
        string range = $"bytes {Header + frame.Length}..{Header + (2 * frame.Length) - 1}";

        StatectlRun export = await StatectlRun.RunAsync("export", _temp.Combine("backup.tar.gz"), "--state-path", StatePath);
        StatectlRun json = await StatectlRun.RunAsync("export", _temp.Combine("backup-json.tar.gz"), "--state-path", StatePath, "--json");
        StatectlRun import = await StatectlRun.RunAsync("import", _temp.Combine("backup.tar.gz"), "--state-path", Restored);

        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.Contains($"statectl: warning: {path} (s1): {range} fail their checks", export.Error, StringComparison.Ordinal);
        Assert.True(json.ExitCode == 0, json.ToString());
        JsonElement problem = Assert.Single(json.Json().GetProperty("problems").EnumerateArray());
        Assert.Equal(path, problem.GetProperty("path").GetString());
        Assert.Equal("s1", problem.GetProperty("id").GetString());
        Assert.StartsWith($"{range} fail their checks", problem.GetProperty("problem").GetString(), StringComparison.Ordinal);
        Assert.Equal(damaged, File.ReadAllBytes(path));
        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.Equal([.. log, .. frame], File.ReadAllBytes(Path.Combine(Restored, "logs", file)));
    }
}
