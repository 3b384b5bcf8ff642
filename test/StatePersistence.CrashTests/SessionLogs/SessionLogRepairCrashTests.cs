using System.Text;
using StatePersistence.CrashTests.Support;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.SessionLogs;

/// <summary>
/// The repair of a session log damaged at rest between two valid appends (the file copied aside as evidence, then
/// replaced by its valid appends), crashed before every file-system operation it makes, and every crash state of both
/// crash models booted and read: the log reads its valid appends, never empty, cut or NUL-filled. The repair renames a
/// new file over the only copy of those appends in the log, so its data must be on the disk before the rename.
/// </summary>
public sealed class SessionLogRepairCrashTests(ReliabilityLedger ledger)
{
    private const string Valid = "line-0\nline-2\n";

    [Fact]
    public async Task ARepairOfDamageBetweenAppends_CrashedAnywhere_KeepsTheValidAppends()
    {
        var sweep = new CrashPointSweep(ledger, "session log repair: damage between two appends", 256);
        (CrashSimulatingFileSystem dry, StatePersistenceService dryService) = await DamagedAsync();
        int start = dry.OperationCount;
        Assert.Equal(Valid, await dryService.ReadSessionLogAsync("s1", Ct));
        await Services.AbandonAsync(dryService);
        sweep.Begin(dry, start);

        foreach (int point in sweep.Points)
        {
            (CrashSimulatingFileSystem disk, StatePersistenceService service) = await DamagedAsync();
            await sweep.RunAsync(disk, point, () => service.ReadSessionLogAsync("s1", Ct).AsTask());
            try
            {
                await Services.AbandonAsync(service);
            }
            catch (Exception) when (disk.HasCrashed)
            {
                // Closing after the crash fails too; nothing of it reaches the disk.
            }

            await sweep.CheckStatesAsync(disk, point, async image =>
            {
                await using StatePersistenceService booted = Services.Create(Options(), CrashSimulatingFileSystem.FromImage(image), Services.NewClock());
                await booted.StartAsync(Ct);
                string text = await booted.ReadSessionLogAsync("s1", Ct) ?? "";
                return text == Valid ? null : $"the log reads\n{text}\ninstead of its valid appends\n{Valid}";
            });
        }

        sweep.ThrowIfAny();
    }

    /// <summary>
    /// A disk whose log s1 holds three appends, the middle one's text changed at rest (durably), and a service started
    /// on it: the damage is found by the first read, which repairs it.
    /// </summary>
    private static async Task<(CrashSimulatingFileSystem Disk, StatePersistenceService Service)> DamagedAsync()
    {
        var disk = new CrashSimulatingFileSystem();
        await using (StatePersistenceService writer = Services.Create(Options(), disk, Services.NewClock()))
        {
            await writer.StartAsync(Ct);
            for (int i = 0; i < 3; i++)
            {
                await writer.AppendSessionLogAsync("s1", $"line-{i}\n", Ct);
            }
        }

        string path = new StateLayout(CrashSimulatingFileSystem.DefaultRoot).SessionLogFile("s1");
        byte[] bytes = disk.ReadAllBytes(path);
        int at = bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes("line-1"));
        Assert.True(at >= 0, "the middle append's text is not in the log file");
        using (IFileHandle handle = disk.Open(path, FileOpenMode.OpenOrCreate))
        {
            handle.Write(at + 5, "X"u8);
            handle.Sync();
        }

        StatePersistenceService service = Services.Create(Options(), disk, Services.NewClock());
        await service.StartAsync(Ct);
        return (disk, service);
    }

    private static StatePersistenceOptions Options() => Services.Options(CrashSimulatingFileSystem.DefaultRoot);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;
}
