using System.Text.Json;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

public sealed class SessionLogReportTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Session_SavedThenCrash_IsLoadedAndWrittenToSessionsFolderAtCheckpoint()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync();
        await first.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "interactive", Status = "active", TaskId = "task_1" }, ct);
        await StateFixture.CrashAsync(first);

        await using (StatePersistenceService second = await _fixture.OpenAsync())
        {
            SessionInfo? session = await second.LoadSessionAsync("s1", ct);
            Assert.Equal("task_1", session!.TaskId);
        }

        string json = await File.ReadAllTextAsync(_fixture.File("sessions", "s1.json"), ct);
        Assert.Contains("\"task_id\":\"task_1\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SessionLog_AppendsToOneFile_AndSurvivesCrash()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync();
        await first.AppendSessionLogAsync("s1", "line one\n", ct);
        await first.AppendSessionLogAsync("s1", "line two\n", ct);
        await StateFixture.CrashAsync(first);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal("line one\nline two\n", await second.ReadSessionLogAsync("s1", ct));
        Assert.Equal(["session_s1.log"], Directory.GetFiles(_fixture.File("logs")).Select(Path.GetFileName));
        Assert.Null(await second.ReadSessionLogAsync("nobody", ct));
    }

    [Fact]
    public async Task SessionLog_NulTailLeftByCrash_IsTrimmedAtStartup()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.AppendSessionLogAsync("s1", "acknowledged\n", ct);
        }

        await using (FileStream log = File.Open(_fixture.File("logs", "session_s1.log"), FileMode.Append))
        {
            log.Write(new byte[4096]);
        }

        await using StatePersistenceService second = await _fixture.OpenAsync();
        await second.AppendSessionLogAsync("s1", "after\n", ct);

        Assert.Equal("acknowledged\nafter\n", await second.ReadSessionLogAsync("s1", ct));
        Assert.Contains(second.LastRecovery!.Warnings, w => w.Contains("4096 NUL bytes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Report_SaveReturnsPath_ListAndLoad()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        JsonElement report = JsonSerializer.SerializeToElement(new Dictionary<string, int> { ["passed"] = 3 });

        string path = await service.SaveReportAsync("weekly", report, ct);
        await service.SaveReportAsync("daily", report, ct);

        Assert.Equal(_fixture.File("reports", "report_weekly.json"), path);
        Assert.Equal(["daily", "weekly"], await service.ListReportsAsync(ct));
        Assert.Equal(3, (await service.LoadReportAsync("weekly", ct))!.Value.GetProperty("passed").GetInt32());
        Assert.Null(await service.LoadReportAsync("missing", ct));
    }

    [Fact]
    public async Task CorruptReport_IsQuarantinedAndReported()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await File.WriteAllTextAsync(_fixture.File("reports", "report_bad.json"), "{\"trunc", ct);
        int detected = 0;
        service.CorruptionDetected += (_, _) => detected++;

        var error = await Assert.ThrowsAsync<StatePersistence.Errors.StateStorageException>(async () => await service.LoadReportAsync("bad", ct));

        Assert.Contains("report_bad.json", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, detected);
        Assert.Single(Directory.GetFiles(_fixture.File("reports"), "report_bad.corrupt.*.json"));
    }
}
