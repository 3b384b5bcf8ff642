using System.Text;
using StatePersistence.CrashTests.Support;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Migrations;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Storage;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Migrations;

/// <summary>
/// The store opened on the Node directory at <see cref="CrashSimulatingFileSystem.DefaultRoot"/>, which migrates it,
/// and what the migration crash tests compare: everything the open serves, and the rollback after it.
/// </summary>
internal static class MigratingOpen
{
    public const string Root = CrashSimulatingFileSystem.DefaultRoot;

    public static StatePersistenceOptions Options => Services.Options(Root);

    /// <summary>The open that migrates, on its own: the store, opened and closed.</summary>
    public static async Task OpenAsync(IFileSystem fileSystem, CancellationToken ct)
    {
        await using var store = new FileStateStore(Options, fileSystem, timeProvider: Services.NewClock());
        await store.OpenAsync(ct);
    }

    /// <summary>Everything the Node directory held, as the store serves it after an open.</summary>
    public static async Task<string> LoadAsync(IFileSystem fileSystem, CancellationToken ct)
    {
        await using var store = new FileStateStore(Options, fileSystem, timeProvider: Services.NewClock());
        RecoveredState state = await store.OpenAsync(ct);
        var text = new StringBuilder();
        text.Append("tasks: ").AppendJoin(", ", state.View.Tasks.Select(t => t.Key + "=" + ItemCodec.DeserializeTask(t.Value.Json).Status)).Append('\n');
        text.Append("sessions: ").AppendJoin(", ", state.View.Sessions.Keys).Append('\n');
        foreach (string session in (string[])["sess_a", "sess_a_b"])
        {
            byte[]? log = await store.ReadSessionLogAsync(session, ct);
            text.Append("log ").Append(session).Append(": ").Append(log is null ? "(none)" : Encoding.UTF8.GetString(log)).Append('\n');
        }

        foreach (string report in await store.ListReportsAsync(ct))
        {
            text.Append("report ").Append(report).Append(": ").Append(Encoding.UTF8.GetString((await store.LoadReportAsync(report, ct))!)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>What <c>statectl migrate rollback</c> does.</summary>
    public static void Rollback(IFileSystem fileSystem) =>
        StateMigrations.Rollback(Options, fileSystem, MigrationChain.Default, codec: null, Services.NewClock());
}
