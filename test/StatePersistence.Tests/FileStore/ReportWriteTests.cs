using System.Text;
using System.Text.Json;
using StatePersistence.FileStore;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

public sealed class ReportWriteTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task SaveReport_ConcurrentWritesOfOneId_EachSucceed_AndLeaveOneWholeReport()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        JsonElement[] reports = [.. Enumerable.Range(0, 8).Select(Report)];

        for (int round = 0; round < 20; round++)
        {
            // Before each write had its own temp name, two writers truncated and renamed one shared temp file:
            // a rename failed for the loser, or a torn mix of both was renamed into place.
            await Task.WhenAll(reports.Select(r => Task.Run(() => service.SaveReportAsync("r1", r, ct).AsTask(), ct)));

            JsonElement? stored = await service.LoadReportAsync("r1", ct);
            Assert.Contains(reports, r => r.GetRawText() == stored!.Value.GetRawText());
        }

        Assert.DoesNotContain(Directory.GetFiles(_fixture.File("reports")), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Startup_RemovesTempFilesOfInterruptedReportWrites()
    {
        await using (await _fixture.OpenAsync())
        {
        }

        string temp = _fixture.File("reports", "report_r1.json.1a2b3c.tmp");
        await File.WriteAllTextAsync(temp, "{\"half\":", TestContext.Current.CancellationToken);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.False(File.Exists(temp));
        Assert.Empty(await service.ListReportsAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task SaveReport_WithACancelledToken_ThrowsOperationCanceled_AndWritesNoFile()
    {
        await using var store = new FileStateStore(_fixture.Options());
        await store.OpenAsync(TestContext.Current.CancellationToken);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => store.SaveReportAsync("r1", "{}"u8.ToArray(), Durability.Full, cancelled.Token).AsTask());

        Assert.Empty(Directory.GetFiles(_fixture.File("reports")));
    }

    private static JsonElement Report(int writer)
    {
        var text = new StringBuilder("{\"writer\":").Append(writer).Append(",\"lines\":[");
        for (int i = 0; i < 20_000; i++)
        {
            text.Append(i == 0 ? "" : ",").Append('"').Append(writer).Append('-').Append(i).Append('"');
        }

        return JsonDocument.Parse(text.Append("]}").ToString()).RootElement.Clone();
    }
}
