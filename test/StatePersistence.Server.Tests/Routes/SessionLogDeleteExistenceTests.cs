using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.Retention;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Storage;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// <c>DELETE /api/sessions/{id}/log</c> for an id with no session learns whether there is a log from its size, reading
/// none of its text: a log left under a key the key file no longer opens (here revoked) is deleted like any (204), and
/// an id with no log is still a 404 naming it. Before 2026-12-07 the route opened the log, reading and verifying every
/// append, and the key's refusal answered 500: that log could not be deleted over HTTP. A log whose text is all in
/// rotated parts (its live log rotated away, nothing appended since) is found by its files, without reading one: before
/// 2026-12-07 the route opened such a log, reading and verifying every part, and under a revoked key answered 500.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SessionLogDeleteExistenceTests : IDisposable
{
    private readonly TempDirectory _keys = new();

    public void Dispose() => _keys.Dispose();

    [Fact]
    public async Task OrphanLogUnderARevokedKey_IsDeleted_AndAnIdWithNoLogIsStill404NamingIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string keyFile = _keys.Combine("keys.json");
        string revoked = EncryptionKeyFile.Create(keyFile).Active.Id;
        await using var server = new StateServerFactory(("StatePersistence:Encryption:KeyFile", keyFile), ("StatePersistence:ReencryptionInterval", "00:00:00"));
        await SealOrphanLogThenRotateAndRevokeAsync(server.StatePath, keyFile, revoked);
        string log = server.File("logs", "session_ghost.log");
        Assert.True(File.Exists(log));
        using HttpClient client = server.Client();

        using HttpResponseMessage deleted = await client.DeleteAsync("/api/sessions/ghost/log", ct);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(File.Exists(log));
        JsonElement absent = await (await client.DeleteUrlAsync("/api/sessions/ghost/log")).ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("ghost", absent.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OrphanLogAllInRotatedParts_UnderARevokedKey_IsDeleted_WithoutItsTextBeingRead()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string keyFile = _keys.Combine("keys.json");
        string revoked = EncryptionKeyFile.Create(keyFile).Active.Id;
        await using var server = new StateServerFactory(("StatePersistence:Encryption:KeyFile", keyFile), ("StatePersistence:ReencryptionInterval", "00:00:00"));
        await SealOrphanLogThenRotateAndRevokeAsync(server.StatePath, keyFile, revoked, rotateLog: true);
        string part = server.File("logs", "session_ghost.log.1");
        Assert.True(File.Exists(part));
        Assert.False(File.Exists(server.File("logs", "session_ghost.log")));
        LogReadCounter? counter = null;
        await using WebApplicationFactory<Program> counted = server.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
            services.AddSingleton<IStatePersistence>(sp => (counter = LogReadCounter.Over(sp.GetRequiredService<StatePersistenceService>())).Self)));
        using HttpClient client = counted.CreateClient();

        using HttpResponseMessage deleted = await client.DeleteAsync("/api/sessions/ghost/log", ct);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(File.Exists(part));
        Assert.Empty(counter!.LogReads);
        JsonElement absent = await (await client.DeleteUrlAsync("/api/sessions/ghost/log")).ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("ghost", absent.Str("detail"), StringComparison.Ordinal);
        Assert.Empty(counter.LogReads);
    }

    /// <summary>Records each call that reads or opens a session log's text.</summary>
    public class LogReadCounter : PersistenceProxy<LogReadCounter>
    {
        public List<string> LogReads { get; } = [];

        protected override bool TryIntercept(MethodInfo method, object?[] args, out object? result)
        {
            if (method.Name is nameof(IStatePersistence.OpenSessionLogAsync) or nameof(IStatePersistence.ReadSessionLogAsync))
            {
                LogReads.Add($"{method.Name}({args[0]})");
            }

            return base.TryIntercept(method, args, out result);
        }
    }

    /// <summary>A session log with no session sealed with the first key, a snapshot under a second, then the first revoked.</summary>
    private static async Task SealOrphanLogThenRotateAndRevokeAsync(string statePath, string keyFile, string first, bool rotateLog = false)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var options = new StatePersistenceOptions { StatePath = statePath, ReencryptionInterval = TimeSpan.Zero };
        options.Encryption.KeyFile = keyFile;
        var store = new FileStateStore(options, options.ResolvePayloadCodec());
        await using (var service = new StatePersistenceService(options, store))
        {
            await service.StartAsync(ct);
            await service.AppendSessionLogAsync("ghost", "left behind by a library user\n", ct);
            if (rotateLog)
            {
                // All its text into part 1: the live log is gone until the next append.
                Assert.NotNull(await ((IRetentionStore)store).CapSessionLogAsync("ghost", 1, 1, Durability.Full, ct));
            }
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
