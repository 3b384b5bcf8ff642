using System.Net;
using System.Text.Json;
using Npgsql;
using StatePersistence.Encryption;
using StatePersistence.Postgres;
using StatePersistence.Retention;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Storage;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// <see cref="SessionLogDeleteExistenceTests"/> on PostgreSQL: <c>DELETE /api/sessions/{id}/log</c> of an orphan log
/// whose rows are all in a rotated part (the live part empty, so its size is 0) under a key the key file has revoked is
/// deleted (204): the store learns that the log exists from its rows' keys, reading no payload. Before 2026-12-07 the
/// PostgreSQL store took the interface's default, which then opened the log, every row read and decrypted, and the
/// revoked key's refusal answered 500: the log could not be deleted over HTTP.
/// </summary>
public sealed class SessionLogDeleteExistenceOnPostgresTests : IAsyncDisposable
{
    private readonly PostgresSchemaScope _database = new("logexists");
    private readonly TempDirectory _keys = new();

    public async ValueTask DisposeAsync()
    {
        await _database.DisposeAsync();
        _keys.Dispose();
    }

    [Fact]
    public async Task OrphanLogAllInARotatedPart_UnderARevokedKey_IsDeleted_AndThenIs404NamingIt()
    {
        string keyFile = _keys.Combine("keys.json");
        string revoked = EncryptionKeyFile.Create(keyFile).Active.Id;
        await SealOrphanLogAndRotateItAsync(keyFile);
        EncryptionKeyRing ring = EncryptionKeyFile.Read(keyFile).WithActive(EncryptionKey.Generate("k-second", EncryptionKeyState.Active, DateTimeOffset.UtcNow));
        EncryptionKeyFile.Write(keyFile, ring.WithState(revoked, EncryptionKeyState.Revoked));
        await using var server = new StateServerFactory(
            ("StatePersistence:Store", "postgres"),
            ("StatePersistence:ConnectionString", PostgresSchemaScope.ConnectionString),
            ("StatePersistence:Schema", _database.Schema),
            ("StatePersistence:Encryption:KeyFile", keyFile),
            ("StatePersistence:ReencryptionInterval", "00:00:00"));
        using HttpClient client = server.Client();

        using HttpResponseMessage deleted = await client.DeleteAsync("/api/sessions/ghost/log", Ct);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(0L, await LogRowsAsync());
        JsonElement absent = await (await client.DeleteUrlAsync("/api/sessions/ghost/log")).ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("ghost", absent.Str("detail"), StringComparison.Ordinal);
    }

    /// <summary>Two appends to the log of a session that is not there, sealed with the key file's key, then rotated into part 1.</summary>
    private async Task SealOrphanLogAndRotateItAsync(string keyFile)
    {
        var options = new StatePersistenceOptions { ReencryptionInterval = TimeSpan.Zero, ScrubInterval = TimeSpan.Zero };
        options.Encryption.KeyFile = keyFile;
        var store = new PostgresStateStore(PostgresSchemaScope.ConnectionString, _database.Schema, options.ResolvePayloadCodec(hasStateDirectory: false));
        await using var service = new StatePersistenceService(options, store);
        await service.StartAsync(Ct);
        await service.AppendSessionLogAsync("ghost", "left behind by a library user\n", Ct);
        await service.AppendSessionLogAsync("ghost", "and more\n", Ct);
        Assert.True((await ((IRetentionStore)store).CapSessionLogAsync("ghost", 1, 1, Durability.Full, Ct))!.Rotated);
        Assert.Equal(0, await service.SessionLogSizeAsync("ghost", Ct));
        Assert.Equal(2L, await LogRowsAsync());
    }

    private async Task<long> LogRowsAsync()
    {
        await using NpgsqlDataSource source = NpgsqlDataSource.Create(PostgresSchemaScope.ConnectionString);
        await using NpgsqlCommand count = source.CreateCommand($"SELECT count(*) FROM {_database.Schema}.session_logs WHERE session_id = 'ghost'");
        return (long)(await count.ExecuteScalarAsync(Ct))!;
    }
}
