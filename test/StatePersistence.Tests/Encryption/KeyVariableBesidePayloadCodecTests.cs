using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// A key source taken from the environment (<c>STATE_ENCRYPTION_KEY_FILE</c>, <c>STATE_ENCRYPTION_KEY</c>) beside a
/// <c>PayloadCodec</c> set in code is refused naming both, as a key file or key provider set in code is
/// (<see cref="KeyProviderBesidePayloadCodecTests"/>): the operator who set the variable believes the data is
/// encrypted with its keys. Without a codec in code the variable still turns encryption on.
/// </summary>
[Collection(EnvironmentCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyVariableBesidePayloadCodecTests : IDisposable
{
    private static readonly string Material = Convert.ToBase64String(Enumerable.Range(0, EncryptionKey.MaterialSize).Select(i => (byte)(i * 7)).ToArray());

    private readonly TempDirectory _directory = new();

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(EncryptionOptions.KeyFileVariable, null);
        Environment.SetEnvironmentVariable(EnvironmentKeyProvider.DefaultVariable, null);
        _directory.Dispose();
    }

    [Theory]
    [InlineData(EncryptionOptions.KeyFileVariable)]
    [InlineData(EnvironmentKeyProvider.DefaultVariable)]
    public async Task AKeyVariableBesideAPayloadCodec_IsRefusedNamingBoth_WithoutTheKey_AndNothingIsOpened(string variable)
    {
        SetVariable(variable);
        string statePath = _directory.Combine("state");
        var options = new StatePersistenceOptions { StatePath = statePath, PayloadCodec = new AesGcmTestCodec() };

        // Before the fix the variable was ignored without a word: the store sealed with the codec alone, so the
        // directory was not encrypted with the keys the operator gave (and statectl with the same variable could not read it).
        var error = await Assert.ThrowsAsync<ArgumentException>(() => FileStatePersistence.OpenAsync(options, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
        Assert.Contains("PayloadCodec (test-aes-gcm)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Material, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(statePath));
    }

    [Theory]
    [InlineData(EncryptionOptions.KeyFileVariable)]
    [InlineData(EnvironmentKeyProvider.DefaultVariable)]
    public async Task AKeyVariableWithoutACodecInCode_StillEncrypts(string variable)
    {
        SetVariable(variable);
        var options = new StatePersistenceOptions { StatePath = _directory.Combine("state") };

        await using StatePersistenceService service = await FileStatePersistence.OpenAsync(options, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(AesGcmCodec.CodecName, options.ResolvePayloadCodec()!.Name);
    }

    private void SetVariable(string variable)
    {
        if (variable == EncryptionOptions.KeyFileVariable)
        {
            string keyFile = _directory.Combine("keys.json");
            EncryptionKeyFile.Create(keyFile);
            Environment.SetEnvironmentVariable(variable, keyFile);
        }
        else
        {
            Environment.SetEnvironmentVariable(variable, $"env-key:{Material}");
        }
    }
}
