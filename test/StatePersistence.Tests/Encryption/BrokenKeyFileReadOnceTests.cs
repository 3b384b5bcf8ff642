using Microsoft.Extensions.Time.Testing;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// A key file that changed and no longer reads is read once: its failure stands, for every caller alike, while the file
/// stays as it was when it failed (its identity, time, length, mode and owner), and the file is read again at once when
/// it changes (put right, or broken otherwise). Before 2026-12-07 every payload operation read and parsed it again, and
/// while one did, every other one at the same moment went on with the ring in memory, sealing with the key the operator
/// had replaced: under load, some writes failed and others succeeded, where every write that seals must fail.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class BrokenKeyFileReadOnceTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero));
    private readonly CountedReads _reads = new();

    public void Dispose() => _directory.Dispose();

    private string KeyFile => _directory.Combine("keys.json");

    [Fact]
    public void ABrokenKeyFile_IsReadOnce_WhileItStaysSo_AndPutRightItIsReadAtOnce()
    {
        EncryptionKeyFile.Create(KeyFile);
        byte[] good = File.ReadAllBytes(KeyFile);
        var provider = new KeyFileProvider(KeyFile, null, _time, _reads.Read);
        Assert.Equal(1, _reads.Count);

        File.WriteAllText(KeyFile, "{ not json");
        _time.Advance(KeyFileProvider.RecheckInterval * 2);
        for (int i = 0; i < 5; i++)
        {
            StatePersistenceException refused = Assert.ThrowsAny<StatePersistenceException>(() => provider.GetKeyRing());
            Assert.Contains("not valid JSON", refused.Message, StringComparison.Ordinal);
            Assert.Contains("not valid JSON", provider.Problem(), StringComparison.Ordinal);
        }

        Assert.Equal(2, _reads.Count);

        // Put right: the next operation reads it, with no wait for the recheck interval.
        File.WriteAllBytes(KeyFile, good);
        Assert.True(provider.GetKeyRing().HasActiveKey);
        Assert.Null(provider.Problem());
        Assert.Equal(3, _reads.Count);
    }

    [Fact]
    public void ABrokenKeyFileMadeLooseThenPutRightByChmod_IsReadAgain()
    {
        EncryptionKeyFile.Create(KeyFile);
        var provider = new KeyFileProvider(KeyFile, null, _time, _reads.Read);

        // Copied back in place with the wrong umask (a new file, mode 0644): refused for its mode.
        string copy = KeyFile + ".copy";
        File.WriteAllBytes(copy, File.ReadAllBytes(KeyFile));
        File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Move(copy, KeyFile, overwrite: true);
        _time.Advance(KeyFileProvider.RecheckInterval * 2);
        Assert.Contains("other local users may read it", provider.Problem(), StringComparison.Ordinal);

        // chmod 600 changes neither its content, time nor length: its mode is part of what the failure stands on.
        File.SetUnixFileMode(KeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Null(provider.Problem());
    }

    [Fact]
    public async Task WhileTheBrokenFileIsReadAgain_NoOtherCallerSealsWithTheReplacedRing()
    {
        EncryptionKeyFile.Create(KeyFile);
        var provider = new KeyFileProvider(KeyFile, null, _time, _reads.Read);
        File.WriteAllText(KeyFile, "{ not json");
        _time.Advance(KeyFileProvider.RecheckInterval * 2);
        Assert.ThrowsAny<StatePersistenceException>(() => provider.GetKeyRing());

        // A second operation: it reads the file again (held there by the test), or answers from the failure at once.
        _reads.HoldNext();
        Task<Exception?> second = Task.Run(() => Record(provider.GetKeyRing), TestContext.Current.CancellationToken);
        await Task.WhenAny(second, _reads.Holding).WaitAsync(TestContext.Current.CancellationToken);

        // A third one meanwhile must fail as well: the file still does not read.
        Exception? third = Record(provider.GetKeyRing);
        _reads.Release();
        Assert.IsType<StatePersistenceException>(third, exactMatch: false);
        Assert.IsType<StatePersistenceException>(await second, exactMatch: false);
    }

    private static Exception? Record(Func<EncryptionKeyRing> call)
    {
        try
        {
            call();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    /// <summary>The provider's read of the key file, counted; <see cref="HoldNext"/> holds the next read until <see cref="Release"/>.</summary>
    private sealed class CountedReads
    {
        private readonly ManualResetEventSlim _released = new(initialState: true);
        private TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;
        private int _hold;

        public int Count => Volatile.Read(ref _count);

        public Task Holding => _holding.Task;

        public void HoldNext()
        {
            _holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _released.Reset();
            Volatile.Write(ref _hold, 1);
        }

        public void Release() => _released.Set();

        public EncryptionKeyRing Read(string path, string? stateDirectory)
        {
            Interlocked.Increment(ref _count);
            if (Interlocked.Exchange(ref _hold, 0) == 1)
            {
                _holding.TrySetResult();
                _released.Wait(TestContext.Current.CancellationToken);
            }

            return EncryptionKeyFile.Read(path, stateDirectory);
        }
    }
}
