using System.Diagnostics;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Tasks;

/// <summary>
/// <c>statectl tasks edit --json</c> that saves nothing: the file keeping the operator's edit is named in the JSON
/// document (<c>keptEdit</c>), so a script finds it without parsing the message; standard error still names it.
/// Before 2026-12-07 only the message named it, and an interrupted edit's JSON did not name it at all.
/// </summary>
public sealed class KeptEditJsonTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    [Theory]
    [InlineData("""sed -i 's/"pending"/"done"/' "$1" """)]
    [InlineData("""sed -i 's/"task number 1"/"edited"/' "$1"; exit 4""")]
    public async Task ARefusedEdit_NamesTheFileKeepingIt_InTheJson(string script)
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);

        StatectlRun run = await StatectlRun.RunAsync(["tasks", "edit", "task_1", "--state-path", StatePath, "--json"],
            environment: new Dictionary<string, string> { ["EDITOR"] = Script("bad.sh", script) });

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.True(run.Json().TryGetProperty("keptEdit", out JsonElement kept), run.ToString());
        string path = kept.GetString()!;
        Assert.True(File.Exists(path), run.ToString());
        Assert.Contains($"'{path}'", run.Error, StringComparison.Ordinal);
        Assert.Equal(1, run.Json().GetProperty("exitCode").GetInt32());
        File.Delete(path);
    }

    [Fact]
    public async Task AnEditThatFailsForAnotherReason_HasNoKeptEdit()
    {
        StatectlRun run = await StatectlRun.RunAsync(["tasks", "edit", "task_1", "--state-path", _temp.Combine("missing"), "--json"],
            environment: new Dictionary<string, string> { ["EDITOR"] = "true" });

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.False(run.Json().TryGetProperty("keptEdit", out _), run.ToString());
    }

    [Fact]
    public async Task AnEditInterruptedWhileTheEditorIsOpen_NamesTheFileKeepingIt_InTheJson()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        string temp = _temp.Combine("tmp");
        Directory.CreateDirectory(temp);
        string editorPid = _temp.Combine("editor.pid");
        string editor = Script("typing.sh", $$"""sed -i 's/"task number 1"/"half typed"/' "$1"; echo $$ > '{{editorPid}}'; exec sleep 60""");

        using Process edit = StatectlProcess.Start(["tasks", "edit", "task_1", "--state-path", StatePath, "--json"],
            new Dictionary<string, string> { ["EDITOR"] = editor, ["TMPDIR"] = temp });
        Task<string> output = edit.StandardOutput.ReadToEndAsync(Http.Ct);
        Task<string> errors = edit.StandardError.ReadToEndAsync(Http.Ct);
        string? file = null;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(Http.Ct))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            while ((file = Directory.EnumerateFiles(temp, "statectl-edit-task_1-*.json").FirstOrDefault()) is null
                || !(await File.ReadAllTextAsync(file, timeout.Token)).Contains("half typed", StringComparison.Ordinal))
            {
                Assert.False(edit.HasExited, "statectl ended before its editor was typed into");
                await Task.Delay(10, timeout.Token);
            }
        }

        using (Process signal = Process.Start("kill", ["-INT", edit.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync(Http.Ct);
        }

        await edit.WaitForExitAsync(Http.Ct);
        using (Process stop = Process.Start("kill", [(await File.ReadAllTextAsync(editorPid, Http.Ct)).Trim()]))
        {
            await stop.WaitForExitAsync(Http.Ct);
        }

        string json = await output;
        Assert.Equal(130, edit.ExitCode);
        using JsonDocument document = JsonDocument.Parse(json);
        Assert.Equal(130, document.RootElement.GetProperty("exitCode").GetInt32());
        Assert.True(document.RootElement.TryGetProperty("keptEdit", out JsonElement kept), json + await errors);
        Assert.Equal(file, kept.GetString());
        Assert.Contains($"nothing was saved; the edit is kept in '{file}'", await errors, StringComparison.Ordinal);
        Assert.Contains("half typed", await File.ReadAllTextAsync(file, Http.Ct), StringComparison.Ordinal);
    }

    /// <summary>An <c>$EDITOR</c> value that runs <paramref name="body"/> with the file to edit as <c>$1</c>.</summary>
    private string Script(string name, string body)
    {
        string path = _temp.Combine(name);
        File.WriteAllText(path, body + "\n");
        return $"sh '{path}'";
    }

    public void Dispose() => _temp.Dispose();
}
