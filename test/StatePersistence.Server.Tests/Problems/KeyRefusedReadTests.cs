using System.Net;
using System.Text.Json;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Problems;

/// <summary>
/// A read the core refuses for a key (here a report under a revoked key, while the state itself is under the active
/// one): the client gets a 500 with a correlation id, and the server's log line under that id says why (the key, the
/// file); health is Degraded naming the file, and the file is left as it is.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyRefusedReadTests : IDisposable
{
    private readonly TempDirectory _keys = new();

    public void Dispose() => _keys.Dispose();

    [Fact]
    public async Task ReportUnderARevokedKey_Is500_TheLogLineUnderItsCorrelationIdNamesTheKey_AndHealthIsDegraded()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string keyFile = _keys.Combine("keys.json");
        string revoked = EncryptionKeyFile.Create(keyFile).Active.Id;
        await using var server = new StateServerFactory(("StatePersistence:Encryption:KeyFile", keyFile), ("StatePersistence:ReencryptionInterval", "00:00:00"),
            ("StatePersistence:Server:HealthDetailsWithoutKey", "true"));
        string report = server.File("reports", "report_r1.json");
        await SealReportThenRotateAndRevokeAsync(server.StatePath, keyFile, revoked);
        byte[] before = File.ReadAllBytes(report);
        using HttpClient client = server.Client();

        using HttpResponseMessage read = await client.GetAsync("/api/reports/r1", ct);

        Assert.Equal(HttpStatusCode.InternalServerError, read.StatusCode);
        string correlationId = JsonDocument.Parse(await read.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("correlation_id").GetString()!;
        Assert.Contains(server.Logs.Entries, e => e.Text.Contains(correlationId, StringComparison.Ordinal)
            && e.Text.Contains($"'{revoked}', which is revoked", StringComparison.Ordinal) && e.Text.Contains(report, StringComparison.Ordinal));
        JsonElement health = await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Degraded", health.Str("status"));
        JsonElement check = health.GetProperty("checks").GetProperty("state_persistence");
        Assert.Contains(report, check.Str("description"), StringComparison.Ordinal);
        Assert.Equal(1, check.GetProperty("data").GetProperty("unreadable_files").GetInt64());
        Assert.Equal(before, File.ReadAllBytes(report));
    }

    /// <summary>A report sealed with the first key, a snapshot under a second, then the first revoked: the state opens, the report does not.</summary>
    private static async Task SealReportThenRotateAndRevokeAsync(string statePath, string keyFile, string first)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var options = new StatePersistenceOptions { StatePath = statePath, ReencryptionInterval = TimeSpan.Zero };
        options.Encryption.KeyFile = keyFile;
        await using (StatePersistenceService service = FileStatePersistence.Create(options))
        {
            await service.StartAsync(ct);
            await service.SaveReportAsync("r1", JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["summary"] = "s" }), ct);
        }

        EncryptionKeyRing ring = EncryptionKeyFile.Read(keyFile);
        EncryptionKeyFile.Write(keyFile, ring.WithActive(EncryptionKey.Generate("k-second", EncryptionKeyState.Active, DateTimeOffset.UtcNow)));
        await using (StatePersistenceService service = FileStatePersistence.Create(options))
        {
            await service.StartAsync(ct);
            await service.SaveTaskAsync(new Model.AgentTask { Id = "t1", Description = "d" }, ct);
            await service.SaveSnapshotAsync(ct);
        }

        EncryptionKeyFile.Write(keyFile, EncryptionKeyFile.Read(keyFile).WithState(first, EncryptionKeyState.Revoked));
    }
}
