using System.CommandLine;
using System.Globalization;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore.Operations;
using StatePersistence.Ids;
using StatePersistence.Postgres;
using StatePersistence.Retention;

namespace StatePersistence.Cli.Commands.Archive;

/// <summary>
/// <c>statectl archive --completed-before DATE [--with-logs]</c>, <c>statectl archive restore ARCHIVE</c> and
/// <c>statectl archive list</c>: on a state directory they take its writer lock by opening it; with
/// <c>--store postgres</c> they open the PostgreSQL store beside its running instances (<see cref="StoreSession"/>).
/// The work is <see cref="TaskArchives"/>'s, the same on both.
/// </summary>
internal static class ArchiveCommand
{
    private static readonly string[] DateFormats =
        ["yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ssK",
         "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"];

    public static Command Create()
    {
        var before = new Option<string>("--completed-before")
        {
            Description = "Archive completed and failed tasks whose completed_at (else updated_at) is before DATE: an ISO-8601 date (midnight UTC) or date-time (UTC unless it names an offset).",
            HelpName = "DATE",
        };
        var withLogs = new Option<bool>("--with-logs") { Description = "Also move the tasks' session logs and reports into the archive." };
        var command = new Command("archive", "Move old completed and failed tasks out of the live state into an archive, tasks.<timestamp>.tar.gz (archive/ in the state directory, or the task_archives table with --store postgres; written durably before anything is deleted), or restore or list archives.");
        command.Options.Add(before);
        command.Options.Add(withLogs);
        KeyFileOption.AddTo(command);
        StoreChoice.AddOptionsTo(command);
        command.SetHandler((context, parsed, cancellation) =>
            ArchiveAsync(context, StoreChoice.From(parsed), parsed.GetValue(before), parsed.GetValue(withLogs), cancellation));

        var file = new Argument<string>("ARCHIVE") { Description = "An archive the store keeps, by its name (as 'archive list' shows it), or an archive file's path." }.NotEmpty("an archive's name or path");
        var restore = new Command("restore", "Bring an archive's tasks (and logs and reports) back; refused, changing nothing, when one of them exists again. The archive stays.");
        restore.Arguments.Add(file);
        restore.SetHandler((context, parsed, cancellation) => RestoreAsync(context, StoreChoice.From(parsed), parsed.GetValue(file)!, cancellation));
        command.Subcommands.Add(restore);

        var task = new Option<string[]>("--task")
        {
            Description = "Only the archives holding this task (repeat for several): which archive to restore to bring it back.",
            HelpName = "ID",
        };
        var verify = new Option<bool>("--verify")
        {
            Description = "Read each archive whole, as 'archive restore' checks it (every entry against its length and SHA-256 in the manifest, and the gzip trailer), "
                + "and mark the damaged ones (exit 1 when any is). Without it only each archive's manifest is read.",
        };
        var list = new Command("list", "The archives the store keeps, oldest first (with --task ID, those holding that task).");
        list.Options.Add(task);
        list.Options.Add(verify);
        list.SetHandler((context, parsed, cancellation) => ListAsync(context, StoreChoice.From(parsed), parsed.GetValue(task) ?? [], parsed.GetValue(verify), cancellation));
        command.Subcommands.Add(list);
        return command;
    }

    /// <summary>Parses DATE; a missing or bad one is bad usage (exit 2), named.</summary>
    private static DateTimeOffset ParseDate(string? text)
    {
        if (text is null)
        {
            throw new CommandFailedException("archive needs --completed-before DATE, or one of its commands: restore, list.", ExitCodes.Usage);
        }

        return DateTimeOffset.TryParseExact(text, DateFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset date)
            ? date
            : throw new CommandFailedException($"--completed-before '{text}' is not an ISO-8601 date (2024-05-01) or date-time (2024-05-01T12:00:00Z).", ExitCodes.Usage);
    }

    private static async Task<int> ArchiveAsync(CommandContext context, StoreChoice store, string? date, bool withLogs, CancellationToken cancellation)
    {
        DateTimeOffset before = ParseDate(date);
        TaskArchiveResult result;
        string location;
        string? snapshotFailure;
        await SayWhoHoldsTheArchiveLockAsync(context, store, cancellation).ConfigureAwait(false);
        // Not stopped between its steps by Ctrl-C: an archive written but its tasks still live, or logs half removed.
        using (Interruption.Defer("the archive"))
        await using (StatePersistenceService service = await OpenForArchiveAsync(context, store, before, cancellation).ConfigureAwait(false))
        {
            location = service.Location;
            result = await TaskArchives.ArchiveAsync(service, before, withLogs, cancellation).ConfigureAwait(false);
            snapshotFailure = await WriterSession.SnapshotAfterChangeAsync(context, service, "The archive run").ConfigureAwait(false);
        }

        if (context.Json)
        {
            context.WriteJson(new ArchiveReport(result.Archive, result.Archives, result.NothingToArchive, before, withLogs, result.Tasks.Count, result.Tasks,
                result.StillLive, result.Logs, result.Reports, result.Bytes, result.EarlierArchives, result.LeftLive, result.LeftLiveUnopened, result.DamagedArchives,
                snapshotFailure), ArchiveCommandJsonContext.Default.ArchiveReport);
            return Verdict(context, result, snapshotFailure);
        }

        context.Output.WriteLine(result.NothingToArchive
            ? $"Nothing to archive: no completed or failed task in {location} is older than {before:O}."
            : result.Archive is null
                ? $"Removed {result.Tasks.Count} task(s), {result.Logs} session log(s) and {result.Reports} report(s) from the live state; no new archive was needed."
                : $"Archived {result.Tasks.Count} task(s), {result.Logs} session log(s) and {result.Reports} report(s) into "
                  + (result.Archives.Count > 1 ? $"{result.Archives.Count} archives, {string.Join(", ", result.Archives)}" : result.Archive)
                  + $" ({result.Bytes:N0} bytes).");
        if (result.EarlierArchives.Count > 0)
        {
            context.Output.WriteLine($"Finished an archive run that was cut short after its archive was written: what it had not yet deleted or removed (tasks, logs, reports), unchanged since, was already in {string.Join(", ", result.EarlierArchives)}, and was removed from the live state rather than archived again.");
        }

        if (result.LeftLive.Count > 0)
        {
            context.Output.WriteLine($"Kept live, as the live copy is not what the archive that took it holds (written to since, or its id used again): {string.Join(", ", result.LeftLive)}.");
        }

        if (result.LeftLiveUnopened.Count > 0)
        {
            context.Output.WriteLine($"Kept live, as the copy the archive that took it holds could not be opened here to compare (a key the key file lacks): {string.Join(", ", result.LeftLiveUnopened)}.");
        }

        if (result.StillLive.Count > 0)
        {
            context.Output.WriteLine($"Changed while being archived, so kept live (the archive holds an older copy): {string.Join(", ", result.StillLive)}.");
        }

        foreach (DamagedTaskArchive damaged in result.DamagedArchives)
        {
            // Nothing is removed, nor a task taken as archived, on the word of a damaged archive; but the operator must
            // hear of the damage and of what was done instead.
            context.Output.WriteLine($"The archive {damaged.Archive} is damaged (it does not read back whole), so {DamagedOutcome(damaged)}. {damaged.Problem}");
        }

        return Verdict(context, result, snapshotFailure);
    }

    /// <summary>Exit 1 when an earlier archive was found damaged or the snapshot after the run failed (said on standard error).</summary>
    private static int Verdict(CommandContext context, TaskArchiveResult result, string? snapshotFailure) =>
        Damaged(context, result) == ExitCodes.Success && snapshotFailure is null ? ExitCodes.Success : ExitCodes.Failed;

    /// <summary>
    /// Exit 1 when the run found an earlier archive damaged: the run did its work, but an archive the operator keeps
    /// tasks in no longer reads back whole, and a script must hear of it (before 2026-12-06 exit 0).
    /// </summary>
    private static int Damaged(CommandContext context, TaskArchiveResult result)
    {
        if (result.DamagedArchives.Count == 0)
        {
            return ExitCodes.Success;
        }

        context.Error.WriteLine($"statectl: the run finished, but found {result.DamagedArchives.Count} earlier archive(s) damaged: {string.Join(", ", result.DamagedArchives.Select(d => d.Archive))}; "
            + "nothing was removed or taken as archived on their word (see above), and 'statectl archive restore' refuses them, naming the damaged entry.");
        return ExitCodes.Failed;
    }

    /// <summary>What the run did instead of taking a damaged archive's word: leftovers kept live, live tasks archived anew.</summary>
    private static string DamagedOutcome(DamagedTaskArchive damaged)
    {
        var parts = new List<string>();
        if (damaged.KeptLive.Count > 0)
        {
            parts.Add("what it took along that an interrupted run left live was kept live, not removed: " + string.Join(", ", damaged.KeptLive));
        }

        if (damaged.ArchivedAnew.Count > 0)
        {
            parts.Add("the live tasks it holds were archived anew, not taken as already archived in it: " + string.Join(", ", damaged.ArchivedAnew));
        }

        return parts.Count > 0 ? string.Join("; and ", parts)
            : "nothing was taken as kept in it (its manifest does not read either, so it cannot say what it holds): what it took along stays live, and any live task it holds is archived anew";
    }

    /// <summary>
    /// The store an archive run works on. On PostgreSQL, with the tasks the run may choose only (read by the indexed
    /// status and update time, the choice itself then made as on the directory): an instance's open loads every live
    /// task, and the run's memory grew with them (60,000 pending tasks, nothing to archive: 150 MB against 70 MB for an
    /// empty store). A state directory is opened whole, through its writer lock (<see cref="StoreSession"/>).
    /// </summary>
    private static Task<StatePersistenceService> OpenForArchiveAsync(CommandContext context, StoreChoice store, DateTimeOffset before,
        CancellationToken cancellation) =>
        store.IsPostgres
            ? store.ReadAsync(async (connectionString, schema) =>
            {
                await PostgresStoreCheck.RequireCurrentAsync(connectionString, schema, cancellation).ConfigureAwait(false);
                return await PostgresStatePersistence.OpenForTaskArchiveAsync(connectionString, schema, before, context.StoreOptions(), cancellation)
                    .ConfigureAwait(false);
            })
            : StoreSession.OpenAsync(context, store, cancellation);

    /// <summary>
    /// The archive whose entry could not be opened without a key: the restore opens every entry as
    /// <c>&lt;archive&gt;!&lt;entry&gt;</c> before anything is written. Null when what lacked a key is not an archive's entry.
    /// </summary>
    private static string? SealedArchive(StateFormatException ex) =>
        ex.Path is { } path && path.LastIndexOf('!') is > 0 and int bang ? path[..bang] : null;

    /// <summary>
    /// A sealed archive (taken from an encrypted deployment) restored without a key: the archive is what needs one, not
    /// the store, which may well be in the clear (before 2026-12-07 the message said "The state directory ... is encrypted").
    /// </summary>
    private static CommandFailedException ArchiveNeedsAKey(string archive, StateFormatException ex) =>
        new($"The archive '{archive}' is sealed (its entry '{ex.Path![(archive.Length + 1)..]}' with the codec '{ex.WrittenWithCodec}') and no key was given to open it: "
            + $"pass --key-file FILE or set {EncryptionOptions.KeyFileVariable}, naming the key file of the deployment that wrote the archive. Nothing was restored.",
            ExitCodes.Failed, ex);

    private static async Task<int> RestoreAsync(CommandContext context, StoreChoice store, string file, CancellationToken cancellation)
    {
        TaskRestoreResult result;
        string? snapshotFailure;
        await SayWhoHoldsTheArchiveLockAsync(context, store, cancellation).ConfigureAwait(false);
        using (Interruption.Defer("the restore of the archive"))
        await using (StatePersistenceService service = await StoreSession.OpenAsync(context, store, cancellation).ConfigureAwait(false))
        {
            try
            {
                result = await TaskArchives.RestoreAsync(service, file, cancellation).ConfigureAwait(false);
            }
            catch (StateFormatException ex) when (ex.ReaderLacksCodec && SealedArchive(ex) is { } archive)
            {
                throw ArchiveNeedsAKey(archive, ex);
            }

            snapshotFailure = await WriterSession.SnapshotAfterChangeAsync(context, service, "The restore of the archive").ConfigureAwait(false);
        }

        int exitCode = snapshotFailure is null ? ExitCodes.Success : ExitCodes.Failed;
        if (context.Json)
        {
            context.WriteJson(new ArchiveRestoreReport(result.Archive, result.Tasks.Count, result.Tasks, result.Logs, result.Reports, result.Revision, snapshotFailure),
                ArchiveCommandJsonContext.Default.ArchiveRestoreReport);
            return exitCode;
        }

        context.Output.WriteLine($"Restored {result.Tasks.Count} task(s), {result.Logs} session log(s) and {result.Reports} report(s) from {result.Archive} at revision {result.Revision}; the archive is kept.");
        return exitCode;
    }

    private static async Task<int> ListAsync(CommandContext context, StoreChoice store, string[] taskIds, bool verify, CancellationToken cancellation)
    {
        if (taskIds.FirstOrDefault(id => StateId.Problem(id) is not null) is { } bad)
        {
            throw new CommandFailedException($"--task '{bad}' is not a task id: {StateId.Problem(bad)}", ExitCodes.Usage);
        }

        if (verify && store.IsPostgres)
        {
            // The rows are checked whole by the store's verification, in the snapshot it reads everything else in.
            throw new CommandFailedException("--verify reads a state directory's archive files; with --store postgres, 'statectl verify --store postgres' reads every task archive whole and names a damaged one.",
                ExitCodes.Usage);
        }

        string location;
        List<ArchiveListEntry> entries;
        if (!store.IsPostgres)
        {
            // The files are read where they lie, without the directory's lock: a list beside a running server.
            StateDirectoryRequirement.Require(context.StatePath);
            location = Path.GetFullPath(context.StatePath);
            IReadOnlyCollection<string>? holding = taskIds.Length == 0 ? null : taskIds;
            entries = [.. (verify ? TaskArchives.CheckFiles(location, holding, cancellation) : TaskArchives.ListFiles(location, holding))
                .Select(a => Entry(a, Path.Combine(TaskArchives.DirectoryOf(location), a.Name)))];
        }
        else
        {
            // Read without opening the store: an instance's open would load every live task to list a few rows.
            (location, IReadOnlyList<TaskArchiveInfo> archives) = await store.ReadAsync((connectionString, schema) =>
                PostgresTaskArchiveReader.ListAsync(connectionString, schema, taskIds.Length == 0 ? null : taskIds, cancellation)).ConfigureAwait(false);
            entries = [.. archives.Select(a => Entry(a, PostgresTaskArchiveReader.Describe(location, a.Name)))];
        }

        if (context.Json)
        {
            context.WriteJson(new ArchiveListReport(location, verify, entries), ArchiveCommandJsonContext.Default.ArchiveListReport);
            return Verdict(context, verify, entries);
        }

        string ids = string.Join(", ", taskIds.Select(id => $"'{id}'"));
        string holdingText = taskIds.Length == 0 ? "" : $" holding {ids}";
        // With --task, an archive whose manifest does not read cannot be searched: said apart, not counted as holding
        // them (before 2026-12-07 it was left out, and "No task archive holding" was said though it might).
        List<ArchiveListEntry> found = taskIds.Length == 0 ? entries : [.. entries.Where(e => e.Tasks is not null)];
        List<ArchiveListEntry> unsearched = [.. entries.Except(found)];
        context.Output.WriteLine(found.Count == 0 ? $"No task archive{holdingText} in {location}." : $"{found.Count} task archive(s){holdingText} in {location}:");
        foreach (ArchiveListEntry entry in found)
        {
            context.Output.WriteLine($"  {entry.Name}  {ListLine(entry, verify)}");
        }

        if (unsearched.Count > 0)
        {
            context.Output.WriteLine($"{unsearched.Count} archive(s) could not be searched, as the manifest does not read: whether they hold {ids} is not known.");
            foreach (ArchiveListEntry entry in unsearched)
            {
                context.Output.WriteLine($"  {entry.Name}  {ListLine(entry, verify)}");
            }
        }

        if (entries.Count > 0)
        {
            context.Output.WriteLine(verify ? "Each archive was read whole, as 'archive restore' checks it (sealed entries as bytes, without opening them: what a sealed task entry holds is judged by the restore, which opens it)."
                : store.IsPostgres ? "Listed from the rows' columns, no archive read: 'statectl verify --store postgres' reads each archive whole."
                : "Only each archive's manifest was read: damage past it (an entry, the end of the file) shows with --verify, which reads each archive whole as 'archive restore' does.");
        }

        return Verdict(context, verify, entries);
    }

    /// <summary>
    /// One archive's line: its tasks, size and time, and under --verify whether it reads whole. Before 2026-12-07 only
    /// the manifest was ever read, and an archive cut in its gzip trailer or with a damaged entry listed as sound.
    /// </summary>
    private static string ListLine(ArchiveListEntry entry, bool verify)
    {
        if (entry.Tasks is not { } tasks)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{entry.Bytes} bytes, {(verify ? "DAMAGED: " : "")}its manifest does not read: {entry.Problem ?? "unknown"}");
        }

        string what = string.Create(CultureInfo.InvariantCulture, $"{tasks} task(s), {entry.Bytes} bytes, written {entry.CreatedAt:yyyy-MM-ddTHH:mm:ssZ}");
        return !verify ? what : entry.Problem is { } problem ? $"{what}, DAMAGED: it does not read whole: {problem}" : $"{what}, reads whole";
    }

    /// <summary>
    /// Under --verify, exit 1 when an archive is damaged, naming them on standard error: a script checking the archives
    /// must hear of it. A plain listing exits 0 as before: it read too little to vouch for an archive either way.
    /// </summary>
    private static int Verdict(CommandContext context, bool verify, List<ArchiveListEntry> entries)
    {
        List<string> damaged = [.. entries.Where(e => e.Problem is not null).Select(e => e.Name)];
        if (!verify || damaged.Count == 0)
        {
            return ExitCodes.Success;
        }

        context.Error.WriteLine($"statectl: {damaged.Count} of {entries.Count} archive(s) do not read whole: {string.Join(", ", damaged)}; "
            + "'statectl archive restore' refuses them, naming what is wrong (see above). They were left as they are.");
        return ExitCodes.Failed;
    }

    /// <summary>
    /// On PostgreSQL, where an instance's retention pass or another operator may be archiving: says on standard error
    /// who holds the archive lock, so a command that waits its turn does not look hung. A look only: the run takes the
    /// lock itself (<see cref="TaskArchives"/>), however this one answered.
    /// </summary>
    private static async Task SayWhoHoldsTheArchiveLockAsync(CommandContext context, StoreChoice store, CancellationToken cancellation)
    {
        if (store.IsPostgres && await store.ReadAsync((connectionString, schema) =>
                PostgresTaskArchiveReader.DescribeArchiveLockHolderAsync(connectionString, schema, cancellation)).ConfigureAwait(false) is { } holder)
        {
            context.Error.WriteLine($"statectl: another task archive run or restore is in progress on this store ({holder}); this one waits for it to end, "
                + "then decides on the state it left.");
            context.Error.Flush();
        }
    }

    private static ArchiveListEntry Entry(TaskArchiveInfo archive, string location) =>
        new(archive.Name, location, archive.Bytes, archive.Tasks, archive.CreatedAt?.ToUniversalTime(), archive.Problem);
}
