using Npgsql;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// A damaged session log row (a payload whose envelope does not open) is refused by a streamed read as by a whole read;
/// a row damaged after the log was opened is thrown once the text before it was written, not passed off as its end.
/// </summary>
public sealed class SessionLogReadDamageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly AesGcmCodec Codec = new(new EncryptionKeyRing([
        EncryptionKey.Generate("damage-key", EncryptionKeyState.Active, DateTimeOffset.UnixEpoch)]));

    [Fact]
    public async Task ADamagedRow_IsRefusedWhenTheLogIsOpened_AsTheWholeReadRefusesIt()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name, Codec);
        await store.OpenAsync(Ct);
        await SessionLogRows.AppendAsync(store, "s1", "one\n", "two\n", "three\n");
        await SessionLogRows.DamageAsync(schema, 2);

        StateStorageException whole = await Assert.ThrowsAsync<StateStorageException>(() => store.ReadSessionLogAsync("s1", Ct).AsTask());
        StateStorageException opened = await Assert.ThrowsAsync<StateStorageException>(() => store.OpenSessionLogAsync("s1", Ct).AsTask());

        Assert.Equal(whole.Message, opened.Message);
        Assert.Equal(whole.IsTransient, opened.IsTransient);
    }

    [Fact]
    public async Task ARowDamagedAfterTheLogWasOpened_IsThrownAfterTheTextBeforeIt()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name, Codec);
        await store.OpenAsync(Ct);
        await SessionLogRows.AppendAsync(store, "s1", "one\n", "two\n", "three\n");
        await using ISessionLogReader reader = (await store.OpenSessionLogAsync("s1", Ct))!;
        await SessionLogRows.DamageAsync(schema, 2);

        using var sent = new MemoryStream();
        StateStorageException thrown = await Assert.ThrowsAsync<StateStorageException>(() => reader.CopyToAsync(sent, 0, reader.Length, Ct).AsTask());

        Assert.Equal(14, reader.Length);
        Assert.Equal("one\n"u8.ToArray(), sent.ToArray());
        Assert.Contains("logs/s1/", thrown.Message, StringComparison.Ordinal);
    }
}
