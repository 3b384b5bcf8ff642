using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// <c>statectl health</c>'s judgement (<see cref="StateDirectoryHealth"/>) of a directory on a full volume, which it
/// finds without writing (the disk-full audit: it said Degraded, <c>writable yes</c>, exit 0, where the server's check
/// said Unhealthy, "not writable: No space left on device", and the server would not start).
/// </summary>
public sealed class DirectoryHealthOnAFullVolumeTests : IDisposable
{
    private readonly StateFixture _fixture = new();
    private readonly FaultInjectingFileSystem _disk = new(PhysicalFileSystem.Instance);

    public void Dispose() => _fixture.Dispose();

    private async Task<Dictionary<string, byte[]>> StoppedServersDirectoryAsync()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("t1"), TestContext.Current.CancellationToken);
        }

        return Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
    }

    private StateDirectoryHealth Inspect() =>
        StateDirectoryHealth.Inspect(_fixture.StatePath, StateDirectoryHealth.DefaultLowDiskSpaceBytes, codec: null, _disk);

    [Fact]
    public async Task NoBlockFree_IsUnhealthy_NotWritable_NamingTheFreeBytes_AndNothingIsWritten()
    {
        Dictionary<string, byte[]> before = await StoppedServersDirectoryAsync();
        _disk.ReportedFreeSpace = 0;

        StateDirectoryHealth health = Inspect();

        Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
        Assert.False(health.Writable);
        Assert.Contains(health.Reasons, r => r.Contains("0 bytes are free", StringComparison.Ordinal) && r.Contains(_fixture.StatePath, StringComparison.Ordinal));
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        Assert.All(before, file => Assert.Equal(file.Value, File.ReadAllBytes(file.Key)));
    }

    [Fact]
    public async Task NoInodeFree_IsUnhealthy_NotWritable_WhateverTheFreeBytes()
    {
        await StoppedServersDirectoryAsync();
        _disk.ReportedFreeSpace = 1L << 30;
        _disk.ReportedFreeFiles = 0;

        StateDirectoryHealth health = Inspect();

        Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
        Assert.False(health.Writable);
        Assert.Contains(health.Reasons, r => r.Contains("0 inodes are free", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OneBlockFree_IsDegraded_ForLowSpace_AndStillWritable()
    {
        await StoppedServersDirectoryAsync();
        _disk.ReportedFreeSpace = 4096;
        _disk.ReportedFreeFiles = 1;

        StateDirectoryHealth health = Inspect();

        Assert.Equal(StateHealthStatus.Degraded, health.Status);
        Assert.True(health.Writable);
        Assert.Equal(4096, health.FreeBytes);
    }

    [Fact]
    public void FreeFiles_OnTheRealDisk_AreWhatStatvfsCounts()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "statvfs(2) is asked on Linux only");
        Directory.CreateDirectory(_fixture.StatePath);

        long? free = PhysicalFileSystem.Instance.GetAvailableFreeFiles(_fixture.StatePath);

        // stat -f prints the same statvfs counts: %c the file nodes, %d the free ones (f_ffree, which equals f_favail
        // on the file systems that have a fixed number). Other tests create and delete files meanwhile: a margin.
        string[] counts = Run("stat", "-f", "-c", "%c %d", _fixture.StatePath).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long total = long.Parse(counts[0], System.Globalization.CultureInfo.InvariantCulture);
        long statFree = long.Parse(counts[1], System.Globalization.CultureInfo.InvariantCulture);
        if (total == 0)
        {
            Assert.Null(free);
        }
        else
        {
            Assert.NotNull(free);
            Assert.InRange(free.Value, Math.Max(0, statFree - 10_000), statFree + 10_000);
        }
    }

    private static string Run(string program, params string[] arguments)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(program, arguments) { RedirectStandardOutput = true })!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output.Trim();
    }
}
