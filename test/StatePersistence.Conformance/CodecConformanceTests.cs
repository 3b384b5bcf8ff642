using System.Text;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>What a store does with the payload codec, and with data in a format it does not know.</summary>
/// <typeparam name="THarness">The store\'s harness.</typeparam>
public abstract class CodecConformanceTests<THarness> : StoreConformanceBase<THarness>
    where THarness : StoreHarness, new()
{
    private const string Secret = "plain-text-canary-7f3e";

    /// <summary>With a non-identity codec, everything written reads back the same after a restart.</summary>
    [Fact]
    public async Task Codec_RoundTripsEverythingAcrossRestart()
    {
        var codec = new XorTestCodec();
        await WriteEverythingAsync(codec);

        (IStateStore store, StateView view) = await OpenAsync(codec);
        await using (store)
        {
            Assert.Equal(Secret + " task", Description(view.Tasks["t1"]));
            Assert.False(view.Tasks.ContainsKey("t2"));
            Assert.True(view.Sessions.ContainsKey("s1"));
            if (store is IStateBlobStore blobs)
            {
                Assert.Equal(Secret + " log\n", Encoding.UTF8.GetString((await blobs.ReadSessionLogAsync("s1", Ct))!));
                Assert.Contains(Secret, Encoding.UTF8.GetString((await blobs.LoadReportAsync("r1", Ct))!), StringComparison.Ordinal);
            }
        }
    }

    /// <summary>With a non-identity codec, no stored byte holds the content in plain text.</summary>
    [Fact]
    public async Task Codec_NoPlainTextIsStored()
    {
        if (Harness.PlainTextGap is { } gap)
        {
            Assert.Skip(gap);
        }

        await WriteEverythingAsync(new XorTestCodec());

        List<byte[]> stored = [.. Harness.StoredBytes()];
        Assert.NotEmpty(stored);
        Assert.DoesNotContain(stored, bytes => Contains(bytes, Secret));
    }

    /// <summary>Data in a newer format version is refused with an error naming the version, never read as something else.</summary>
    [Fact]
    public async Task UnknownFormatVersion_IsRefused()
    {
        Harness.PlantUnknownFormatVersion();

        IStateStore store = CreateStore(Serialization.IdentityCodec.Instance);
        await using (store)
        {
            StateFormatException error = await Assert.ThrowsAsync<StateFormatException>(async () => await store.OpenAsync(Ct));
            Assert.Contains("version", error.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    private async Task WriteEverythingAsync(XorTestCodec codec)
    {
        (IStateStore store, StateView view) = await OpenAsync(codec);
        await using (store)
        {
            view = await ApplyAsync(store, view, PutTask("t1", Secret + " task"), PutTask("t2", Secret + " deleted"), PutSession("s1"));
            view = await ApplyAsync(store, view, DeleteTask("t2"));
            if (store is ICheckpointStore checkpoints)
            {
                // Through a checkpoint too, so snapshots and item files are covered; then one more change after it.
                await checkpoints.BeginCheckpointAsync(view.Revision, Ct);
                await checkpoints.WriteCheckpointAsync(view, DateTimeOffset.UtcNow, Durability.Full, Ct);
            }

            await CommitAsync(store, PutSession("s2"));
            if (store is IStateBlobStore blobs)
            {
                await blobs.AppendSessionLogAsync("s1", Encoding.UTF8.GetBytes(Secret + " log\n"), Durability.Full, Ct);
                await blobs.SaveReportAsync("r1", Encoding.UTF8.GetBytes($$"""{"note":"{{Secret}}"}"""), Durability.Full, Ct);
            }
        }
    }
}
