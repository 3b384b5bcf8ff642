using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Testing.Fixtures;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Migrations;

/// <summary>
/// The server started on a directory the original Node implementation wrote: its routes serve the reports under
/// their real ids and each session's joined log, and the migration (not the server's own permission fix-up) tightens
/// the permissions, so the pre-migration backup keeps the Node modes for a rollback.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeImportRoutesTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new();

    public NodeImportRoutesTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");
        NodeStateDirectory.WriteTo(_server.StatePath);
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Reports_AreServedUnderTheirRealId_TheNewestOfSeveral()
    {
        using HttpClient client = _server.Client();

        JsonElement ids = await (await client.GetUrlAsync("/api/reports")).ExpectAsync(HttpStatusCode.OK);
        JsonElement report = await (await client.GetUrlAsync("/api/reports/rep_1")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(["rep_1", "rep_2"], ids.EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(NodeStateDirectory.Report1, report.GetRawText());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetUrlAsync("/api/reports/rep_1_1704110400000")).StatusCode);
    }

    [Fact]
    public async Task SessionLogs_AreServedJoined_EachSessionOnlyItsOwnLines()
    {
        using HttpClient client = _server.Client();

        using HttpResponseMessage a = await client.GetUrlAsync("/api/sessions/sess_a/log");
        using HttpResponseMessage ab = await client.GetUrlAsync("/api/sessions/sess_a_b/log");

        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal(NodeStateDirectory.SessionALog, await a.Content.ReadAsStringAsync(Ct));
        Assert.Equal(NodeStateDirectory.SessionABLog, await ab.Content.ReadAsStringAsync(Ct));
        JsonElement task = await (await client.GetUrlAsync("/api/tasks/task_1")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("completed", task.GetProperty("status").GetString());
    }

    [Fact]
    public async Task State_AfterTheMigrationAtStart_HasTheLastSavedOfTheStateJsonItWrote()
    {
        using HttpClient client = _server.Client();

        JsonElement state = await (await client.GetUrlAsync("/api/state")).ExpectAsync(HttpStatusCode.OK);

        using JsonDocument onDisk = JsonDocument.Parse(await File.ReadAllBytesAsync(_server.File("state.json"), Ct));
        Assert.True(state.TryGetProperty("last_saved", out JsonElement lastSaved), "GET /api/state has no last_saved");
        Assert.Equal(onDisk.RootElement.GetProperty("last_saved").GetDateTimeOffset(), lastSaved.GetDateTimeOffset());
    }

    [Fact]
    public async Task Permissions_AreTightenedByTheMigration_WhichKeepsTheNodeModesInItsBackup()
    {
        using HttpClient client = _server.Client();
        await (await client.GetUrlAsync("/api/reports")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_server.File("tasks", "task_1.json")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_server.StatePath));
        Assert.Contains("0644 -> 0600", await File.ReadAllTextAsync(_server.File("state.migration-v1.0.0-to-v2.1.0.log"), Ct), StringComparison.Ordinal);
        string manifest = await File.ReadAllTextAsync(_server.File("pre-migration", "manifest.json"), Ct);
        Assert.Contains("\"path\": \"tasks/task_1.json\"", manifest, StringComparison.Ordinal);
        Assert.Contains("\"mode\": \"644\"", manifest, StringComparison.Ordinal);
    }
}

/// <summary><c>--StatePersistence:AutoMigrate false</c>: the server process does not start on an older directory, and leaves it as it was.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AutoMigrateOffTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public AutoMigrateOffTests() => Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task AnOlderDirectory_StopsTheStart_NamingTheCommand_AndStaysAsItWas()
    {
        string statePath = _temp.Combine("state");
        NodeStateDirectory.WriteTo(statePath);

        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(), ["--state-path", statePath, "--StatePersistence:AutoMigrate", "false"]);
        int exitCode = await server.WaitForExitAsync();

        Assert.NotEqual(0, exitCode);
        Assert.Contains("automatic migration is off", server.Output, StringComparison.Ordinal);
        Assert.Contains("statectl migrate apply --state-path " + statePath, server.Output, StringComparison.Ordinal);
        Assert.Equal(NodeStateDirectory.Files, NodeStateDirectory.ReadAll(statePath));
        Assert.Equal(NodeStateDirectory.FileMode, File.GetUnixFileMode(Path.Combine(statePath, "tasks", "task_1.json")));
    }
}
