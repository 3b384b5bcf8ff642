using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Usage;

/// <summary>
/// statectl finds the state directory in the environment as the server does: <c>StatePersistence__StatePath</c> (the
/// server's setting), then <c>STATE_PATH</c>, a blank value being unset, then <c>./coding-agent-state</c>.
/// </summary>
public sealed class StatePathFromEnvironmentTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    [Fact]
    public async Task TheServersSettingVariable_NamesTheDirectory_BeforeStatePath()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);

        StatectlRun run = await StatectlRun.RunAsync(["du", "--json"], workingDirectory: _temp.Path,
            environment: new Dictionary<string, string> { ["StatePersistence__StatePath"] = StatePath, ["STATE_PATH"] = _temp.Combine("elsewhere") });

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(Path.GetFullPath(StatePath), run.Json().GetProperty("stateDirectory").GetString());
    }

    [Fact]
    public async Task ABlankVariable_IsUnset_AsTheServerTakesIt()
    {
        await ServerWrittenState.WriteAsync(_temp.Combine("coding-agent-state"), tasks: 1);

        StatectlRun run = await StatectlRun.RunAsync(["du", "--json"], workingDirectory: _temp.Path,
            environment: new Dictionary<string, string> { ["STATE_PATH"] = " ", ["StatePersistence__StatePath"] = "  " });

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(Path.GetFullPath(_temp.Combine("coding-agent-state")), run.Json().GetProperty("stateDirectory").GetString());
        Assert.False(Directory.Exists(_temp.Combine(" ")), "a blank STATE_PATH named a directory ' '");
    }

    [Fact]
    public async Task Help_ShowsTheDirectoryTheSettingVariableNames()
    {
        StatectlRun run = await StatectlRun.RunAsync(["du", "--help"], workingDirectory: _temp.Path,
            environment: new Dictionary<string, string> { ["StatePersistence__StatePath"] = StatePath });

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"[default: {StatePath}]", run.Output, StringComparison.Ordinal);
        Assert.Contains("$StatePersistence__StatePath, then $STATE_PATH", run.Output, StringComparison.Ordinal);
    }

    public void Dispose() => _temp.Dispose();
}
