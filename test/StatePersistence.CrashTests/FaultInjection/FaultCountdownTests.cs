using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using static StatePersistence.CrashTests.SimulatedDisk;

namespace StatePersistence.CrashTests.FaultInjection;

/// <summary>Which call a rule fails, for how long, and what the failure looks like. Runs on the real disk.</summary>
public sealed class FaultCountdownTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FaultInjectingFileSystem _fs = new(PhysicalFileSystem.Instance);

    public void Dispose() => _temp.Dispose();

    /// <summary>Tries one write per byte of <paramref name="text"/> at its offset; returns the 1-based attempts that failed.</summary>
    private List<int> WriteEachByte(IFileHandle handle, string text)
    {
        var failed = new List<int>();
        for (int i = 0; i < text.Length; i++)
        {
            try
            {
                handle.Write(i, Bytes(text[i].ToString()));
            }
            catch (IOException)
            {
                failed.Add(i + 1);
            }
        }

        return failed;
    }

    [Fact]
    public void Countdown_FailsExactlyTheNthMatchingCall_AndTheCallDoesNotHappen()
    {
        using IFileHandle handle = _fs.Open(_temp.File("a"), FileOpenMode.CreateNew);
        FaultRule rule = _fs.InjectFault(FaultOperations.Write, InjectedError.NoSpace, nthCall: 3);

        List<int> failed = WriteEachByte(handle, "abcde");

        Assert.Equal([3], failed);
        Assert.Equal("ab\0de", Text(File.ReadAllBytes(_temp.File("a"))));
        Assert.Equal(1, rule.FaultsInjected);
        Assert.Equal(1, _fs.FaultsInjected);
        Assert.False(rule.IsArmed);
    }

    [Fact]
    public void PersistentFault_FailsFromTheNthCallUntilRemoved()
    {
        using IFileHandle handle = _fs.Open(_temp.File("a"), FileOpenMode.CreateNew);
        FaultRule rule = _fs.InjectFault(FaultOperations.Write, InjectedError.IOError, nthCall: 2, persistent: true);

        Assert.Equal([2, 3, 4], WriteEachByte(handle, "abcd"));
        Assert.True(_fs.RemoveFault(rule));
        Assert.Empty(WriteEachByte(handle, "abcd"));
        Assert.Equal(3, _fs.FaultsInjected);
    }

    [Fact]
    public void ClearFaults_DisarmsEveryRule_AndKeepsTheCounters()
    {
        _fs.InjectFault(FaultOperations.Delete, InjectedError.IOError, persistent: true);
        Assert.Throws<IOException>(() => _fs.Delete(_temp.File("a")));

        _fs.ClearFaults();
        _fs.Delete(_temp.File("a"));

        Assert.Equal(1, _fs.FaultsInjected);
        Assert.Equal(2, _fs.CallCount(FaultOperations.Delete));
    }

    [Fact]
    public void CombinedOperations_ShareOneCountdown()
    {
        using IFileHandle handle = _fs.Open(_temp.File("a"), FileOpenMode.CreateNew);
        _fs.InjectFault(FaultOperations.Write | FaultOperations.Sync, InjectedError.IOError, nthCall: 2);

        handle.Write(0, Bytes("a"));

        Assert.Throws<IOException>(handle.Sync);
        handle.Write(0, Bytes("b"));
        handle.Sync();
    }

    [Fact]
    public void PathFilter_CountsOnlyMatchingPaths()
    {
        string other = _temp.File("other");
        string journal = _temp.File("journal");
        _fs.InjectFault(FaultOperations.Open, InjectedError.NoSpace, nthCall: 2, pathFilter: p => p.EndsWith("journal", StringComparison.Ordinal));

        _fs.Open(other, FileOpenMode.CreateOrTruncate).Dispose();
        _fs.Open(journal, FileOpenMode.CreateOrTruncate).Dispose();
        _fs.Open(other, FileOpenMode.CreateOrTruncate).Dispose();

        Assert.Throws<IOException>(() => _fs.Open(journal, FileOpenMode.CreateOrTruncate));
        Assert.Equal(4, _fs.CallCount(FaultOperations.Open));
    }

    [Fact]
    public void FailedRename_LeavesBothNamesAsTheyWere()
    {
        File.WriteAllText(_temp.File("src"), "data");
        _fs.InjectFault(FaultOperations.Rename, InjectedError.NoSpace);

        Assert.Throws<IOException>(() => _fs.Rename(_temp.File("src"), _temp.File("dst")));

        Assert.True(File.Exists(_temp.File("src")));
        Assert.False(File.Exists(_temp.File("dst")));
    }

    [Theory]
    [InlineData(InjectedError.NoSpace, 28, "No space left on device")]
    [InlineData(InjectedError.IOError, 5, "Input/output error")]
    [InlineData(InjectedError.TooManyOpenFiles, 24, "Too many open files")]
    public void IOErrors_AreIOExceptionsCarryingTheErrno(InjectedError error, int errno, string message)
    {
        _fs.InjectFault(FaultOperations.SyncDirectory, error);

        IOException exception = Assert.Throws<IOException>(() => _fs.SyncDirectory(_temp.Path));

        Assert.Equal(errno, exception.HResult);
        Assert.StartsWith(message, exception.Message, StringComparison.Ordinal);
        Assert.Contains(_temp.Path, exception.Message, StringComparison.Ordinal);
        Assert.True(FaultInjectingFileSystem.IsInjected(exception));
    }

    [Theory]
    [InlineData(InjectedError.AccessDenied, 13)]
    [InlineData(InjectedError.NotPermitted, 1)]
    public void PermissionErrors_AreUnauthorizedAccessWithTheErrnoInside(InjectedError error, int errno)
    {
        _fs.InjectFault(FaultOperations.CreateDirectory, error);

        UnauthorizedAccessException exception = Assert.Throws<UnauthorizedAccessException>(() => _fs.CreateDirectory(_temp.File("sub")));

        Assert.Equal(errno, exception.InnerException?.HResult);
        Assert.False(Directory.Exists(_temp.File("sub")));
    }

    [Fact]
    public void InnerFailures_AreNotReportedAsInjected()
    {
        FileNotFoundException exception = Assert.Throws<FileNotFoundException>(() => _fs.Open(_temp.File("missing"), FileOpenMode.Read));

        Assert.False(FaultInjectingFileSystem.IsInjected(exception));
        Assert.Equal(0, _fs.FaultsInjected);
    }

    [Fact]
    public void FreeSpace_CanBeFailedOrOverridden()
    {
        _fs.ReportedFreeSpace = 1024;
        Assert.Equal(1024, _fs.GetAvailableFreeSpace(_temp.Path));

        _fs.InjectFault(FaultOperations.FreeSpace, InjectedError.IOError);
        Assert.Throws<IOException>(() => _fs.GetAvailableFreeSpace(_temp.Path));
    }

    [Fact]
    public void ListAndLock_CanBeFailed()
    {
        _fs.InjectFault(FaultOperations.List | FaultOperations.Lock, InjectedError.AccessDenied, persistent: true);

        Assert.Throws<UnauthorizedAccessException>(() => _fs.ListFiles(_temp.Path));
        Assert.Throws<UnauthorizedAccessException>(() => _fs.AcquireLock(_temp.File("lock")));
        Assert.False(File.Exists(_temp.File("lock")));
    }
}
