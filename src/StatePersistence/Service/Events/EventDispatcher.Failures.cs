using Microsoft.Extensions.Logging;
using StatePersistence.Diagnostics;
using StatePersistence.Events;

namespace StatePersistence.Service.Events;

/// <summary>
/// The failures the dispatcher reports: failed saves, failed background jobs and reads of the change feed (each logged as
/// what it is, counted in <c>statepersistence.save.failures</c> and raised as <c>StateSaveError</c>), item files the scrub
/// could not read, and damaged task archives whose leftovers an archive run kept live.
/// </summary>
internal sealed partial class EventDispatcher
{
    /// <summary>
    /// A failed save, <paramref name="finished"/> when the store answered (<see cref="Commit.OutcomeOrder"/>), when that
    /// was before this report; null for now.
    /// </summary>
    public void SaveFailed(string operation, string? path, Exception error, long? finished = null)
    {
        health.RecordFailure(error, finished ?? Commit.OutcomeOrder.Next());
        LogFailure(operation, path, error, FailureLines.Save);
        Report(operation, FailedKind(operation), path, error);
    }

    /// <summary>Counts a failure in <c>statepersistence.save.failures</c> under <paramref name="kind"/> and raises it as <c>state:save-error</c>.</summary>
    private void Report(string operation, string kind, string? path, Exception error)
    {
        instruments.SaveFailures.Add(1, StateInstruments.Kind(kind));
        log.Notify(StateEventTypes.StateSaveError, operation: operation);
        Raise(StateSaveError, new StateSaveErrorEventArgs(operation, path, error), nameof(StateSaveError));
    }

    /// <summary>The three lines a failure is logged with: first with its stack trace, then its summary and each repeat.</summary>
    private sealed record FailureLines(
        Action<ILogger, Exception, string, string?> First,
        Action<ILogger, string, string?, string, int, DateTimeOffset> Again,
        Action<ILogger, string, string?, string, int> Repeat)
    {
        public static readonly FailureLines Save = new(Log.SaveFailed, Log.SaveFailedAgain, Log.SaveFailedRepeat);

        /// <summary>A failed read of the change feed, which is no save.</summary>
        public static readonly FailureLines FeedRead = new(Log.FeedReadFailed, Log.FeedReadFailedAgain, Log.FeedReadFailedRepeat);
    }

    /// <summary>Logs a failure with its stack trace, or as one line when it repeats one logged so a moment ago (<see cref="RepeatedFailures"/>).</summary>
    private void LogFailure(string operation, string? path, Exception error, FailureLines lines)
    {
        if (_repeated.Repeat(operation, error) is not { } repeat)
        {
            lines.First(logger, error, operation, path);
        }
        else if (repeat.Summarize)
        {
            lines.Again(logger, operation, path, error.Message, repeat.Repeats, repeat.LoggedAt);
        }
        else
        {
            lines.Repeat(logger, operation, path, error.Message, repeat.Repeats);
        }
    }

    /// <summary>
    /// The <c>kind</c> a failed save is counted under: the one its duration is recorded under when it succeeds
    /// (<c>task</c>, <c>session</c>, <c>log</c>, <c>report</c>, <c>snapshot</c>), so that failures divide by saves
    /// kind by kind. The event and the log line keep the operation's own name (<c>save-task</c>, <c>append-log</c>).
    /// </summary>
    internal static string FailedKind(string operation) => operation switch
    {
        "append-log" or "delete-log" => "log",
        _ when operation.StartsWith("save-", StringComparison.Ordinal) => operation["save-".Length..],
        _ => operation,
    };

    /// <summary>A background job (the scrub) failed: reported like a save error, but no save failed, so health stays.</summary>
    public void BackgroundFailed(string operation, Exception error) => ReportBackground(operation, error, FailureLines.Save);

    /// <summary>
    /// Reading the store's change feed failed (<c>follow-changes</c>: the follower reading what other instances of a
    /// shared store committed; <c>change-feed</c>: the feed read for the event stream). Counted and raised as any
    /// background failure, but logged as a failed read of the feed: it was "Saving failed (follow-changes)", and no save
    /// had failed.
    /// </summary>
    public void FeedReadFailed(string operation, Exception error) => ReportBackground(operation, error, FailureLines.FeedRead);

    /// <summary>
    /// Reports a failed background step. A save that failed inside it reported itself (<see cref="SaveFailed"/>) and
    /// reaches the pass as a <see cref="ReportedSaveFailure"/>, which the pass's loop does not report again.
    /// </summary>
    private void ReportBackground(string operation, Exception error, FailureLines lines)
    {
        LogFailure(operation, location, error, lines);
        Report(operation, operation, location, error);
    }

    /// <summary>
    /// The scrub could not read some item files because the file system refused (permissions, an I/O error) and left
    /// them as they are: no corruption, and no save failed, so health stays as the store's listing of them makes it
    /// (Degraded). Each pass that meets any is logged once (naming the count, the first file and the OS error), counted
    /// in <c>statepersistence.save.failures</c> under <c>scrub-read</c> and raised as <c>state:save-error</c>
    /// (operation <c>scrub-read</c>, the first file, a <see cref="Errors.StateStorageException"/> around the refusal).
    /// </summary>
    public void ScrubCouldNotRead(IReadOnlyList<Storage.RefusedRead> refused)
    {
        const string Operation = "scrub-read";
        (string path, Exception cause) = (refused[0].Path, refused[0].Error);
        string osError = FileStore.Operations.UnreadableFile.OsError(cause);
        Log.ScrubCouldNotRead(logger, location, refused.Count, path, osError);
        string others = refused.Count > 1 ? $", and {refused.Count - 1} other item file(s) likewise" : "";
        var error = new Errors.StateStorageException(
            $"'{path}' could not be read ({osError}); the scrub left it as it is (not moved aside, rewritten or deleted){others}.", path, cause,
            isTransient: cause is IOException);
        Report(Operation, Operation, path, error);
    }

    /// <summary>
    /// An archive run (the retention pass's, <paramref name="operation"/> <c>retention-archive</c>) found an earlier archive
    /// that does not read back whole, kept live what it took along and archived anew the live tasks it holds: logged as a
    /// Warning naming the archive, why and what was done instead, counted in <c>statepersistence.save.failures</c> under
    /// the operation and raised as <c>state:save-error</c>, so that the damage is not left without a word.
    /// </summary>
    public void ArchiveLeftoversKept(string operation, FileStore.Operations.DamagedTaskArchive damaged)
    {
        string outcome = FileStore.Operations.TaskArchive.DamagedArchives.Outcome(damaged);
        Log.ArchiveLeftoversKept(logger, location, damaged.Archive, outcome, damaged.Problem);
        var error = new Errors.StateStorageException(
            $"The task archive '{damaged.Archive}' is damaged (it does not read back whole), so {outcome}. {damaged.Problem}",
            damaged.Archive, inner: null, isTransient: false);
        Report(operation, operation, damaged.Archive, error);
    }
}
