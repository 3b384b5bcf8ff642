using System.Text;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A session log's 8-byte file header is the one part of it no checksum covers. Its version says whether the frames
/// hold envelopes (3) or plain text (2), one bit apart: with that bit flipped at rest, a sealed log's ciphertext was
/// served as its text without a word (every frame's checksum held), <c>statectl verify</c> said OK, and the next rewrite
/// (the first append's sealing of a version 2 log, a re-encryption) sealed the ciphertext again, the text lost behind
/// two layers. A header that is not one at all, over valid frames, was served as it was and never named either. Now an
/// envelope that opens under a header saying plain text proves the header damaged: the frames are opened, the log is
/// copied aside and its header written again, and verify and export name it. Plain text that only starts like an
/// envelope stays text.
/// </summary>
public sealed class SessionLogFileHeaderDamageTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Log => _fixture.File("logs", "session_s1.log");

    [Fact]
    public async Task ASealedLogWhoseHeaderSaysPlainText_IsReadAsItsText_CopiedAside_AndItsHeaderWrittenAgain()
    {
        byte[] flipped = await WriteSealedLogAndFlipItsHeaderAsync();
        var found = new List<QuarantinedFile>();
        await using StatePersistenceService service = await OpenEncryptedAsync(found);

        Assert.Equal("secret-1\nsecret-2\n", await service.ReadSessionLogAsync("s1", Ct));

        QuarantinedFile copy = Assert.Single(found);
        Assert.Equal(flipped, await File.ReadAllBytesAsync(copy.QuarantinePath, Ct));
        Assert.Contains("says the appends are plain text (version 2), but they hold envelopes that open", copy.Reason, StringComparison.Ordinal);
        byte[] repaired = await File.ReadAllBytesAsync(Log, Ct);
        Assert.Equal(SessionLogFormat.EnvelopedVersion, SessionLogFormat.HeaderVersion(repaired));
        Assert.Equal(flipped[SessionLogFormat.FileHeaderSize..], repaired[SessionLogFormat.FileHeaderSize..]); // the frames as they were
        Assert.True(StateDirectoryVerifier.Verify(_fixture.StatePath, Codec()).Ok);
    }

    [Fact]
    public async Task ASealedLogWhoseHeaderSaysPlainText_IsStreamedAsItsText()
    {
        await WriteSealedLogAndFlipItsHeaderAsync();
        await using StatePersistenceService service = await OpenEncryptedAsync([]);

        await using ISessionLogReader reader = (await service.OpenSessionLogAsync("s1", Ct))!;
        using var text = new MemoryStream();
        await reader.CopyToAsync(text, 0, reader.Length, Ct);

        Assert.Equal("secret-1\nsecret-2\n", Encoding.UTF8.GetString(text.ToArray()));
    }

    [Fact]
    public async Task AnAppendToASealedLogWhoseHeaderSaysPlainText_DoesNotSealItsCiphertextAgain()
    {
        await WriteSealedLogAndFlipItsHeaderAsync();
        await using (StatePersistenceService service = await OpenEncryptedAsync([]))
        {
            await service.AppendSessionLogAsync("s1", "secret-3\n", Ct);
            Assert.Equal("secret-1\nsecret-2\nsecret-3\n", await service.ReadSessionLogAsync("s1", Ct));
        }

        await using StatePersistenceService reopened = await OpenEncryptedAsync([]);
        Assert.Equal("secret-1\nsecret-2\nsecret-3\n", await reopened.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task TheReencryption_OfASealedLogWhoseHeaderSaysPlainText_DoesNotSealItsCiphertextAgain()
    {
        await WriteSealedLogAndFlipItsHeaderAsync();
        await using StatePersistenceService service = await OpenEncryptedAsync([]);
        string oldKey = EncryptionKeyFile.Read(_fixture.KeyFilePath).Active.Id;
        EncryptionKeyOperations.Rotate(_fixture.KeyFilePath);
        StateFixture.ReloadKeyFile(service);

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        await service.ReencryptToEndAsync(bounded.Token);

        Assert.Equal(0, EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Files);
        Assert.Equal("secret-1\nsecret-2\n", await service.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task Verify_AndExport_NameASealedLogWhoseHeaderSaysPlainText_AndChangeNothing()
    {
        byte[] flipped = await WriteSealedLogAndFlipItsHeaderAsync();
        StateDirectoryVerification verification = StateDirectoryVerifier.Verify(_fixture.StatePath, Codec());
        StateArchiveResult exported = StateArchive.Export(_fixture.StatePath, _fixture.File("..", "export.tar.gz"), Codec(), null, TestContext.Current.CancellationToken);

        StateDirectoryProblem problem = Assert.Single(verification.Problems);
        Assert.Equal(Log, problem.Path);
        Assert.StartsWith("the file header (bytes 0..7) says the appends are plain text (version 2)", problem.Problem, StringComparison.Ordinal);
        StateDirectoryProblem named = Assert.Single(exported.Problems);
        Assert.Equal(Log, named.Path);
        Assert.StartsWith("the file header (bytes 0..7) says the appends are plain text (version 2)", named.Problem, StringComparison.Ordinal);
        Assert.Equal(flipped, await File.ReadAllBytesAsync(Log, Ct));
    }

    [Fact]
    public async Task AHeaderThatIsNotOne_OverValidFrames_IsNamedByVerify_AndWrittenAgainByARead()
    {
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.AppendSessionLogAsync("s1", "one\n", Ct);
            await first.AppendSessionLogAsync("s1", "two\n", Ct);
        }

        byte[] damaged = await File.ReadAllBytesAsync(Log, Ct);
        damaged.AsSpan(0, 4).Fill(0x2A);
        await File.WriteAllBytesAsync(Log, damaged, Ct);

        StateDirectoryProblem problem = Assert.Single(StateDirectoryVerifier.Verify(_fixture.StatePath).Problems);
        Assert.StartsWith("the file header (bytes 0..7) is damaged: it is not a session log's header", problem.Problem, StringComparison.Ordinal);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        Assert.Equal("one\ntwo\n", await service.ReadSessionLogAsync("s1", Ct));
        Assert.Equal(damaged, await File.ReadAllBytesAsync(Assert.Single(CopiesAside()), Ct));
        Assert.Equal(SessionLogFormat.PlainVersion, SessionLogFormat.HeaderVersion(await File.ReadAllBytesAsync(Log, Ct)));
        Assert.True(StateDirectoryVerifier.Verify(_fixture.StatePath).Ok);
    }

    [Theory]
    [InlineData("SPEV\u0001\0\u0008\0identity: the form of an envelope in the clear\n")]
    [InlineData("SPEV\u0001\0\u0007\u0002aes-gcmk1: the form of a keyed envelope, with no key to open it\n")]
    [InlineData("SPEV and more plain text\n")]
    public async Task PlainTextThatStartsLikeAnEnvelope_StaysText_AndNothingIsRepaired(string text)
    {
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.AppendSessionLogAsync("s1", text, Ct);
        }

        byte[] before = await File.ReadAllBytesAsync(Log, Ct);
        StateDirectoryVerification verification = StateDirectoryVerifier.Verify(_fixture.StatePath);
        Assert.True(verification.Ok, string.Join("\n", verification.Problems.Select(p => p.Problem)));
        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(text, await service.ReadSessionLogAsync("s1", Ct));
        Assert.Equal(before, await File.ReadAllBytesAsync(Log, Ct));
        Assert.Empty(CopiesAside());
    }

    /// <summary>A log of two appends sealed under a new key file's key, its header's version then flipped from 3 to 2 (one bit); returns the log's bytes.</summary>
    private async Task<byte[]> WriteSealedLogAndFlipItsHeaderAsync()
    {
        EncryptionKeyFile.Create(_fixture.KeyFilePath);
        await using (StatePersistenceService service = await OpenEncryptedAsync([]))
        {
            await service.AppendSessionLogAsync("s1", "secret-1\n", Ct);
            await service.AppendSessionLogAsync("s1", "secret-2\n", Ct);
        }

        byte[] bytes = await File.ReadAllBytesAsync(Log, Ct);
        Assert.Equal(SessionLogFormat.EnvelopedVersion, SessionLogFormat.HeaderVersion(bytes));
        bytes[4] ^= 0x01;
        Assert.Equal(SessionLogFormat.PlainVersion, SessionLogFormat.HeaderVersion(bytes));
        await File.WriteAllBytesAsync(Log, bytes, Ct);
        return bytes;
    }

    private async Task<StatePersistenceService> OpenEncryptedAsync(List<QuarantinedFile> found)
    {
        StatePersistenceOptions options = _fixture.Options(o =>
        {
            o.Encryption.KeyFile = _fixture.KeyFilePath;
            o.ScrubInterval = TimeSpan.Zero;
            o.AutosaveInterval = TimeSpan.Zero;
            o.ReencryptionInterval = TimeSpan.Zero;
        });
        var store = new FileStateStore(options, PhysicalFileSystem.Instance, options.ResolvePayloadCodec(), _fixture.Time);
        store.DamageFound += (_, file) => found.Add(file);
        var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time);
        await service.StartAsync(Ct);
        return service;
    }

    /// <summary>The codec of <see cref="StateFixture.KeyFilePath"/>, as statectl builds it from <c>--key-file</c>.</summary>
    private StatePersistence.Serialization.IPayloadCodec? Codec() =>
        _fixture.Options(o => o.Encryption.KeyFile = _fixture.KeyFilePath).ResolvePayloadCodec();

    private string[] CopiesAside() => Directory.GetFiles(_fixture.File("logs"), "*" + StateLayout.CorruptMarker + "*");
}
