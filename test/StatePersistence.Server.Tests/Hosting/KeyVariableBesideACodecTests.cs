using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StatePersistence.Encryption;
using StatePersistence.Serialization;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary>Run alone: they set variables of the whole process, which every host started meanwhile would read.</summary>
[CollectionDefinition(nameof(ProcessEnvironment), DisableParallelization = true)]
public sealed class ProcessEnvironment;

/// <summary>
/// A key variable (<c>STATE_ENCRYPTION_KEY_FILE</c>, <c>STATE_ENCRYPTION_KEY</c>) beside a codec set in code, in
/// the container or as the options' <c>PayloadCodec</c>, stops the start naming both, as a key source set in code
/// does (<see cref="ContainerCodecBesideAKeySourceTests"/>), rather than being dropped without a word.
/// </summary>
[Collection(nameof(ProcessEnvironment))]
public sealed class KeyVariableBesideACodecTests : IDisposable
{
    private const string Material = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    private readonly TempDirectory _directory = new();

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(EncryptionOptions.KeyFileVariable, null);
        Environment.SetEnvironmentVariable(EnvironmentKeyProvider.DefaultVariable, null);
        _directory.Dispose();
    }

    private sealed class PassThroughCodec : IPayloadCodec
    {
        public string? KeyId => null;

        public string Name => "pass-through";

        public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context) => plain.ToArray();

        public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context) => stored.ToArray();
    }

    [Theory]
    [InlineData(EncryptionOptions.KeyFileVariable, "container")]
    [InlineData(EnvironmentKeyProvider.DefaultVariable, "container")]
    [InlineData(EncryptionOptions.KeyFileVariable, "options")]
    [InlineData(EnvironmentKeyProvider.DefaultVariable, "options")]
    public async Task AKeyVariableBesideACodecSetInCode_StopsTheStartNamingBoth_AndNothingIsOpened(string variable, string codecIn)
    {
        string keyFile = _directory.Combine("keys.json");
        EncryptionKeyFile.Create(keyFile);
        Environment.SetEnvironmentVariable(variable, variable == EncryptionOptions.KeyFileVariable ? keyFile : $"env-key:{Material}");
        string statePath = _directory.Combine("state");
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection([new("StatePersistence:StatePath", statePath)]);
        if (codecIn == "container")
        {
            builder.Services.AddSingleton<IPayloadCodec>(new PassThroughCodec());
        }

        builder.Services.AddStatePersistence(o => o.PayloadCodec = codecIn == "options" ? new PassThroughCodec() : null);
        using IHost host = builder.Build();

        // Before the fix the host started and the store wrote through the codec alone: the variable the operator set
        // for encryption at rest was dropped without a word.
        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Contains($"The environment variable {variable} is set", error.Message, StringComparison.Ordinal);
        Assert.Contains("pass-through", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Material, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(statePath), "nothing is opened");
    }
}
