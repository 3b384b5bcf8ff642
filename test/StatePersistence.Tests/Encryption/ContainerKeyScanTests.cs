using StatePersistence.Encryption;
using StatePersistence.FileSystem;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// The chunked scan of containers (journal segments, session logs) gives the answer the whole-file scan gives, on real
/// files, wherever the one envelope that decides it lies: at the start, or with its header straddling the boundary of
/// any of the first chunks (the buffer the pool hands out may be 64 or 128 KiB and more, so every such boundary is
/// tried).
/// </summary>
public sealed class ContainerKeyScanTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    public static TheoryData<string?, string?, bool> Cases => new()
    {
        { "key-old", "key-new", true },
        { "key-new", "key-new", false },
        { null, "key-new", true },
        { null, null, false },
        { "key-old", null, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OneEnvelopeAnywhere_IsFoundAsTheWholeFileScanFindsIt(string? sealedWith, string? active, bool stale)
    {
        byte[] envelope = [.. EnvelopeFormat.Header(sealedWith is null ? "identity" : AesGcmCodec.CodecName, sealedWith), .. new byte[48]];
        var offsets = new List<int> { 0, 1, 1000 };
        foreach (int boundary in new[] { 64 << 10, 128 << 10, 256 << 10 })
        {
            for (int at = boundary - 1040; at <= boundary + 16; at += 13)
            {
                offsets.Add(at);
            }
        }

        string path = _directory.Combine("container.bin");
        var wrong = new List<string>();
        foreach (int offset in offsets)
        {
            byte[] content = [.. new byte[offset], .. envelope, .. new byte[300]];
            File.WriteAllBytes(path, content);
            bool whole = EncryptionKeyUsage.NeedsResealing(content, active);
            bool chunked = ContainerKeyScan.NeedsResealing(PhysicalFileSystem.Instance, path, active);
            if (whole != stale || chunked != stale)
            {
                wrong.Add($"envelope at {offset}: whole-file scan {whole}, chunked scan {chunked}, expected {stale}");
            }
        }

        Assert.Empty(wrong);
    }

    [Fact]
    public void ManyEnvelopes_TheStaleOneLast_IsFoundBeyondTheFirstChunks()
    {
        byte[] current = [.. EnvelopeFormat.Header(AesGcmCodec.CodecName, "key-new"), .. new byte[1000]];
        byte[] stale = [.. EnvelopeFormat.Header(AesGcmCodec.CodecName, "key-old"), .. new byte[1000]];
        byte[] content = [.. Enumerable.Range(0, 400).SelectMany(_ => current), .. stale];
        string path = _directory.Combine("log.bin");
        File.WriteAllBytes(path, content);

        Assert.True(ContainerKeyScan.NeedsResealing(PhysicalFileSystem.Instance, path, "key-new"));
        Assert.True(ContainerKeyScan.NeedsResealing(PhysicalFileSystem.Instance, path, "key-old"));
        File.WriteAllBytes(path, content[..^stale.Length]);
        Assert.False(ContainerKeyScan.NeedsResealing(PhysicalFileSystem.Instance, path, "key-new"));
    }
}
