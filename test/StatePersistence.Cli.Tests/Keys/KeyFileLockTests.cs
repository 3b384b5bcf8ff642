using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// Changes to one key file follow one another (the audit's data loss: <c>keys retire OLD --remove</c> wrote back the
/// ring it had read before its scan, over the key a <c>keys rotate</c> run meanwhile had added and the server was
/// already sealing with). Real statectl processes; the test holds the key file's lock as another statectl would.
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
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", KeyFile)).ExitCode);
        Task<StatectlRun> rotation;
        byte[] whileHeld;
        using (new FileStream(KeyFile + ".lock", new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None }))
        {
            byte[] before = File.ReadAllBytes(KeyFile);
            rotation = StatectlRun.RunAsync("keys", "rotate", "--key-file", KeyFile, "--json");

            // Long enough for the process to start, read and write, had it not waited for the lock.
            await Task.Delay(TimeSpan.FromSeconds(3), Http.Ct);
            whileHeld = File.ReadAllBytes(KeyFile);
            Assert.False(rotation.IsCompleted, rotation.IsCompleted ? (await rotation).ToString() : "");
            Assert.Equal(before, whileHeld);
        }

        StatectlRun rotated = await rotation;
        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        Assert.Contains(rotated.Json().GetProperty("keyId").GetString()!, File.ReadAllText(KeyFile), StringComparison.Ordinal);
    }
}
