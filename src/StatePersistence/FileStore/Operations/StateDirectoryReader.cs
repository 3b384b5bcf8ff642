using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// Reads a state directory without opening the store: safe beside a running server. It never takes the directory's
/// lock and never writes, renames, quarantines or deletes anything. The state is read as start-up recovery reads it
/// (<c>state.json</c>, then every journal record after its revision), with the differences a live directory needs:
/// the torn tail of the journal being written is simply its end, and when a checkpoint replaces <c>state.json</c> or
/// removes a journal segment during the read, the read starts again from the new files. Every task the server
/// acknowledged before the read began is in the view, at that revision or a later one, and nothing half-written is.
/// </summary>
public static class StateDirectoryReader
{
    /// <summary>How many times a read is started again when a checkpoint changes the files under it.</summary>
    public const int DefaultMaxAttempts = ReadRetry.MaxAttempts;

    /// <summary>
    /// Reads <paramref name="stateDirectory"/>. With <paramref name="checkItemFiles"/> the task and session files are
    /// read too and compared with the state (each disagreement is a problem). Throws
    /// <see cref="DirectoryNotFoundException"/> for a missing directory, <see cref="StateFormatException"/> for a file
    /// of a newer format version, and <see cref="StateStorageException"/> when no consistent read was had in
    /// <paramref name="maxAttempts"/> attempts (a server checkpointing faster than the directory can be read; the attempts
    /// wait between them, from 1 ms doubling up to 250 ms, so the default ones span about 3 s). A
    /// directory holding an unfinished import (<c>import-in-progress.json</c>) throws
    /// <see cref="StateImportIncompleteException"/> naming the archive, as opening it does: its files are part of an
    /// archive, and a read of them would pass for the state. So, for the same reason, does one whose migration or its
    /// rollback did not finish (<see cref="StateMigrationIncompleteException"/>, naming what finishes it).
    /// </summary>
    public static StateDirectoryView Read(string stateDirectory, IPayloadCodec? codec = null, bool checkItemFiles = true,
        int maxAttempts = DefaultMaxAttempts) =>
        ReadDirectory(PhysicalFileSystem.Instance, stateDirectory, codec, checkItemFiles, maxAttempts, refuseUnfinished: true, Thread.Sleep);

    /// <summary>
    /// <see cref="Read(string, IPayloadCodec?, bool, int)"/>, reading an unfinished import or migration as it is: for
    /// <see cref="StateDirectoryVerifier"/>, which reports the import or migration itself and checks what is there.
    /// </summary>
    internal static StateDirectoryView ReadEvenIfImportUnfinished(string stateDirectory, IPayloadCodec? codec, bool checkItemFiles, IFileSystem fileSystem) =>
        ReadDirectory(fileSystem, stateDirectory, codec, checkItemFiles, DefaultMaxAttempts, refuseUnfinished: false, Thread.Sleep);

    /// <summary>
    /// The read itself. <paramref name="pause"/> waits between two attempts (<see cref="ReadRetry"/>): a checkpoint's
    /// thread descheduled in the middle of its steps (between renaming <c>state.json</c> to a backup and its successor
    /// into place, where the file system has no hard links) would otherwise be seen half-done by every attempt, and the
    /// last one would report it as damage.
    /// </summary>
    internal static StateDirectoryView ReadDirectory(IFileSystem fileSystem, string stateDirectory, IPayloadCodec? codec, bool checkItemFiles, int maxAttempts,
        bool refuseUnfinished, Action<TimeSpan> pause)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        var layout = new StateLayout(Path.GetFullPath(stateDirectory));
        if (!Directory.Exists(layout.Root))
        {
            throw new DirectoryNotFoundException(StateDirectoryAbsence.Describe(layout.Root));
        }

        if (refuseUnfinished && fileSystem.FileExists(layout.ImportMarkerFile))
        {
            throw new StateImportIncompleteException(layout.Root, layout.ImportMarkerFile, ImportMarker.Read(fileSystem, layout)?.Archive);
        }

        if (refuseUnfinished && UnfinishedMigration.Refusal(fileSystem, layout) is { } unfinished)
        {
            throw unfinished;
        }

        PayloadEnvelope envelope = PayloadEnvelope.For(codec);
        string reason = "";
        for (int attempt = 1; attempt <= maxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                pause(ReadRetry.PauseBefore(attempt));
            }

            try
            {
                var read = new ReadAttempt(fileSystem, layout, envelope, checkItemFiles, lastAttempt: attempt == maxAttempts);
                if (read.Run(attempt) is { } view)
                {
                    return view;
                }

                reason = read.Changed!;
            }
            catch (FileNotFoundException ex)
            {
                // A checkpoint deleted a journal segment or a backup between its listing and its reading. On the last
                // attempt too: the caller is told the files kept changing (transient, try again), not that one is missing.
                reason = ex.Message;
            }
        }

        throw new StateStorageException(
            $"No consistent read of the state directory '{layout.Root}' was had in {maxAttempts} attempts: the files kept changing under the read ({reason}). Nothing was changed; try again, or stop the server.",
            layout.Root, inner: null, isTransient: true);
    }
}
