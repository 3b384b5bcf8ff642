using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StatePersistence.Encryption;
using StatePersistence.Serialization;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary>
/// An <see cref="IPayloadCodec"/> registered in the container is the store's codec (the README's "Hosting API"); a
/// key source for encryption at rest set beside it is refused at start naming both, as the options refuse a key file
/// beside their own <c>PayloadCodec</c>, rather than dropped without a word.
/// </summary>
public sealed class ContainerCodecBesideAKeySourceTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private sealed class PassThroughCodec : IPayloadCodec
    {
        public string? KeyId => null;

        public string Name => "pass-through";

        public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context) => plain.ToArray();

        public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context) => stored.ToArray();
    }

    private sealed class Keys : IEncryptionKeyProvider
    {
        private readonly EncryptionKeyRing _ring = new([EncryptionKey.Generate("kms-key", EncryptionKeyState.Active, DateTimeOffset.UnixEpoch)]);

        public EncryptionKeyRing GetKeyRing() => _ring;
    }

    [Theory]
    [InlineData("KeyProvider")]
    [InlineData("KeyFile")]
    public async Task AKeySourceBesideACodecInTheContainer_StopsTheStartNamingBoth_AndNothingIsOpened(string source)
    {
        string statePath = _directory.Combine("state");
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection([new("StatePersistence:StatePath", statePath)]);
        builder.Services.AddSingleton<IPayloadCodec>(new PassThroughCodec());
        builder.Services.AddStatePersistence(o =>
        {
            if (source == "KeyProvider")
            {
                o.Encryption.KeyProvider = new Keys();
            }
            else
            {
                o.Encryption.KeyFile = _directory.Combine("keys.json");
            }
        });
        using IHost host = builder.Build();

        // Before the fix the host started and the store wrote through the container's codec alone: the task's text
        // stood in the clear on disk although the options asked for encryption at rest.
        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Contains($"Encryption.{source}", error.Message, StringComparison.Ordinal);
        Assert.Contains("pass-through", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(statePath), "nothing is opened");
    }
}
