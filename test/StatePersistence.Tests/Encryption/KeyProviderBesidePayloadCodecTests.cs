using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// A store has one codec: options naming a key source for encryption at rest and a <c>PayloadCodec</c> too are
/// refused naming both, for the key provider as for the key file, rather than one of them being dropped without a word.
/// </summary>
public sealed class KeyProviderBesidePayloadCodecTests
{
    private sealed class Keys : IEncryptionKeyProvider
    {
        private readonly EncryptionKeyRing _ring = new([EncryptionKey.Generate("kms-key", EncryptionKeyState.Active, DateTimeOffset.UnixEpoch)]);

        public EncryptionKeyRing GetKeyRing() => _ring;
    }

    [Fact]
    public async Task AKeyProviderBesideAPayloadCodec_IsRefusedNamingBoth_AndNothingIsOpened()
    {
        using var directory = new TempDirectory();
        string statePath = directory.Combine("state");
        var options = new StatePersistenceOptions { StatePath = statePath, PayloadCodec = new AesGcmTestCodec() };
        options.Encryption.KeyProvider = new Keys();

        // Before the fix the key provider was ignored without a word: the store sealed with the codec alone, so an
        // application that gave its KMS for encryption at rest (beside, say, a compressing codec) stored in the clear.
        var error = await Assert.ThrowsAsync<ArgumentException>(() => FileStatePersistence.OpenAsync(options, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("Encryption.KeyProvider", error.Message, StringComparison.Ordinal);
        Assert.Contains("PayloadCodec", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(statePath));
    }
}
