using System.Diagnostics;
using System.Text;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// Changes to one key file follow one another (the audit's data loss: <c>keys retire OLD --remove</c> wrote back the
/// ring it had read before its scan, over the key a <c>keys rotate</c> run meanwhile had added and the server was
/// already sealing with). Real statectl processes; the test holds the key file's lock as another statectl would, and
/// checks the key file once statectl says it waits for that lock (not after a guessed sleep), then changes the ring
/// itself before it lets go: the rotation must rotate the ring as it is then.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyFileLockTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string KeyFile => _temp.Combine("keys.json");

    [Fact]
    public async Task Rotate_WaitsWhileAnotherChangeHoldsTheKeyFilesLock_ThenRotatesTheRingAsItIsThen()
    {
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", KeyFile, "--json");
        Assert.True(created.ExitCode == 0, created.ToString());
        string first = created.Json().GetProperty("keyId").GetString()!;
        // The ring the holder of the lock writes while the rotation waits: the rotation must rotate that one.
        string replacement = _temp.Combine("replacement.json");
        StatectlRun other = await StatectlRun.RunAsync("keys", "create", replacement, "--json");
        Assert.True(other.ExitCode == 0, other.ToString());
        string replaced = other.Json().GetProperty("keyId").GetString()!;
        byte[] before = File.ReadAllBytes(KeyFile);
        var held = new FileStream(KeyFile + ".lock", new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None });
        using Process rotation = StatectlProcess.Start("keys", "rotate", "--key-file", KeyFile, "--json");
        var errors = new StringBuilder();
        rotation.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        rotation.BeginErrorReadLine();
        Task<string> output = rotation.StandardOutput.ReadToEndAsync(Http.Ct);
        try
        {
            // Said once it found the lock held, before its change: until the lock is let go, it must change nothing.
            bool saidItWaits = await ProcessWaits.PollAsync(() => ProcessWaits.Text(errors).Contains("waiting for the lock", StringComparison.Ordinal) || rotation.HasExited);
            Assert.True(saidItWaits && !rotation.HasExited, $"statectl did not wait for the lock (exited: {rotation.HasExited}): {ProcessWaits.Text(errors)}");
            Assert.Equal(before, File.ReadAllBytes(KeyFile));

            // The holder's change. A rotation that had not waited (it says it waits just before taking the lock) has
            // read the old ring by now: its write loses this ring, or this write loses its key.
            File.Copy(replacement, KeyFile, overwrite: true);
        }
        finally
        {
            await held.DisposeAsync();
        }

        await rotation.WaitForExitAsync(Http.Ct);
        var rotated = new StatectlRun(rotation.ExitCode, await output, ProcessWaits.Text(errors));
        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        string ring = File.ReadAllText(KeyFile);
        Assert.Contains(rotated.Json().GetProperty("keyId").GetString()!, ring, StringComparison.Ordinal);
        Assert.Contains(replaced, ring, StringComparison.Ordinal);
        Assert.DoesNotContain(first, ring, StringComparison.Ordinal);
    }
}
