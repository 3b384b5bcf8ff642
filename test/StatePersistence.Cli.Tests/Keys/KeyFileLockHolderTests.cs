using System.Diagnostics;
using StatePersistence.Cli.Commands.Keys;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// The holder of a key-file lock is named even while other processes take and drop locks. The kernel hands
/// <c>/proc/locks</c> out a page at a time, resuming at a line number, so a reading beside lock churn skips lines: a
/// clean-clone CI run (many test processes holding locks) printed the waiting message without its holder. Here the
/// holder is util-linux's <c>flock</c> (its only lock), and the churn is made on purpose by two threads over 150
/// locks of this process (which never opens the lock file); a single reading of the list missed the holder's line in
/// some of 200 announcements.
/// </summary>
public sealed class KeyFileLockHolderTests : IDisposable
{
    private const int Announcements = 200;

    private readonly TempDirectory _temp = new();

    [Fact]
    public async Task Announce_BesideLockChurn_AlwaysNamesTheHolder()
    {
        string keyFile = _temp.Combine("keys.json");
        string lockFile = keyFile + ".lock";
        List<FileStream> others = [.. Enumerable.Range(0, 150).Select(i => Lock(_temp.Combine($"other-{i}")))];
        using Process holder = Process.Start(new ProcessStartInfo("flock", ["--exclusive", lockFile, "sleep", "60"]) { UseShellExecute = false })!;
        using var stop = new CancellationTokenSource();
        Task[] churners = [];
        var missing = new List<string>();
        try
        {
            Assert.True(await HeldAsync(lockFile), "flock did not take the lock within 30 s");
            churners = [.. Enumerable.Range(0, 2).Select(offset => Task.Run(() => Churn(others, offset, stop.Token), CancellationToken.None))];
            for (int i = 0; i < Announcements; i++)
            {
                using var error = new StringWriter();
                KeyFileLockWait.Announce(error, keyFile);
                if (!error.ToString().Contains($"waiting for the lock '{lockFile}', held by process {holder.Id} (flock", StringComparison.Ordinal))
                {
                    missing.Add(error.ToString());
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(churners);
            others.ForEach(o => o.Dispose());
            holder.Kill(entireProcessTree: true);
            await holder.WaitForExitAsync(CancellationToken.None);
        }

        Assert.True(missing.Count == 0, $"{missing.Count} of {Announcements} messages did not name the holder {holder.Id}, the first: {missing.FirstOrDefault()}");
    }

    /// <summary>Whether another process holds the lock within 30 s (taking it fails).</summary>
    private static async Task<bool> HeldAsync(string lockFile)
    {
        for (DateTime end = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < end; await Task.Delay(20, Http.Ct))
        {
            try
            {
                using FileStream probe = Lock(lockFile);
            }
            catch (IOException)
            {
                return true;
            }
        }

        return false;
    }

    private static FileStream Lock(string path) =>
        new(path, new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None });

    /// <summary>Drops and takes again the locks at <paramref name="offset"/>, every second one, until stopped.</summary>
    private static void Churn(List<FileStream> locks, int offset, CancellationToken stop)
    {
        for (int i = offset; !stop.IsCancellationRequested; i = (i + 2) % locks.Count)
        {
            locks[i].Dispose();
            locks[i] = Lock(locks[i].Name);
        }
    }

    public void Dispose() => _temp.Dispose();
}
