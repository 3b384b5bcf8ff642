using System.Text;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>Damage to a report file at rest is detected when it is read, never served as the report.</summary>
public sealed class ReportIntegrityTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task LoadReport_WithAByteFlippedInsideAString_IsRefused_AndMovedAside()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveReportAsync("r1", Json("""{"summary":"all tests passed","count":12}"""), ct);
        string path = _fixture.File("reports", "report_r1.json");
        byte[] bytes = await File.ReadAllBytesAsync(path, ct);
        int at = Encoding.UTF8.GetString(bytes).IndexOf("passed", StringComparison.Ordinal);
        bytes[at] = (byte)'q'; // still valid JSON: only a checksum can tell
        await File.WriteAllBytesAsync(path, bytes, ct);

        var error = await Assert.ThrowsAsync<StateStorageException>(() => service.LoadReportAsync("r1", ct).AsTask());

        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
        Assert.Single(Directory.GetFiles(_fixture.File("reports"), "report_r1.corrupt.*"));
    }

    [Fact]
    public async Task LoadReport_WhoseFileWasCopiedOverByAnotherReport_IsRefused()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveReportAsync("r1", Json("""{"week":1}"""), ct);
        await service.SaveReportAsync("r2", Json("""{"week":2}"""), ct);
        File.Copy(_fixture.File("reports", "report_r2.json"), _fixture.File("reports", "report_r1.json"), overwrite: true);

        var error = await Assert.ThrowsAsync<StateStorageException>(() => service.LoadReportAsync("r1", ct).AsTask());

        Assert.Contains("'r2'", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await service.LoadReportAsync("r2", ct))!.Value.GetProperty("week").GetInt32());
    }

    [Fact]
    public async Task LoadReport_WithAHighBitFlippedIntoInvalidUtf8_IsRefusedAsCorrupt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveReportAsync("r1", Json("""{"week":1}"""), ct);
        string path = _fixture.File("reports", "report_r1.json");
        byte[] bytes = await File.ReadAllBytesAsync(path, ct);
        bytes[Encoding.UTF8.GetString(bytes).IndexOf("r1", StringComparison.Ordinal)] ^= 0x80;
        await File.WriteAllBytesAsync(path, bytes, ct);

        var error = await Assert.ThrowsAsync<StateStorageException>(() => service.LoadReportAsync("r1", ct).AsTask());

        Assert.Contains("UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadReport_WrittenBeforeReportsHadAnEnvelope_IsServedAsItIs()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (await _fixture.OpenAsync())
        {
        }

        await File.WriteAllTextAsync(_fixture.File("reports", "report_old.json"), """{"type":"summary","data":[1,2]}""", ct);
        await using StatePersistenceService service = await _fixture.OpenAsync();

        JsonElement report = (await service.LoadReportAsync("old", ct))!.Value;

        Assert.Equal("summary", report.GetProperty("type").GetString());
    }

    [Fact]
    public async Task ReportFile_IsPlainJson_NamingItsIdAndChecksum()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveReportAsync("r1", Json("""{"ok":true}"""), ct);

        using JsonDocument file = JsonDocument.Parse(await File.ReadAllBytesAsync(_fixture.File("reports", "report_r1.json"), ct));

        Assert.Equal("r1", file.RootElement.GetProperty("$report_id").GetString());
        Assert.StartsWith("crc32:", file.RootElement.GetProperty("$checksum").GetString(), StringComparison.Ordinal);
        Assert.True(file.RootElement.GetProperty("$report").GetProperty("ok").GetBoolean());
        Assert.True((await service.LoadReportAsync("r1", ct))!.Value.GetProperty("ok").GetBoolean());
    }

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
