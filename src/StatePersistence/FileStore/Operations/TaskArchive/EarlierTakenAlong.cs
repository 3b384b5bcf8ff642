using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// What a run kept live of what an archive took along, the live copy not being the archived one: named in
/// <see cref="TaskArchiveResult.LeftLive"/>, or, when the archived copy does not open here, with why in
/// <see cref="TaskArchiveResult.LeftLiveUnopened"/>.
/// </summary>
internal sealed class KeptLive
{
    public SortedSet<string> LeftLive { get; } = new(StringComparer.Ordinal);

    public SortedSet<string> Unopened { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Removes the session logs and reports an earlier archive took along with tasks a run has now deleted (what a run cut
/// short before its delete commit left live), as <see cref="TaskArchiver"/> does for its own archive.
/// </summary>
internal static class EarlierTakenAlong
{
    /// <summary>
    /// The session logs and reports an earlier archive took along with a task now deleted, each removed only when it is
    /// still exactly what that archive holds, and removed by the store only while it still is (a log appended to since
    /// stays live: its archived copy is only a copy); one kept live is named in <paramref name="kept"/>.
    /// </summary>
    public static async Task<(int Logs, int Reports)> RemoveAsync(ITaskArchiveStore archives, IStateBlobStore store,
        Dictionary<string, ArchivedEarlier> earlier, IReadOnlyList<string> deleted, KeptLive kept, CancellationToken cancellationToken)
    {
        int logs = 0;
        int reports = 0;
        foreach (ArchivedEarlier archived in earlier.Values.Where(e => deleted.Contains(e.Task.Id)))
        {
            foreach (string sessionId in archived.Task.SessionLogs)
            {
                byte[]? live = await store.ReadSessionLogAsync(sessionId, cancellationToken).ConfigureAwait(false);
                if (await RemoveIfHeldAsync(archived, TaskArchiveManifest.LogEntry(sessionId), live, LeftLiveName.Log(sessionId), kept,
                    held => archives.RemoveSessionLogIfUnchangedAsync(sessionId, held, cancellationToken)).ConfigureAwait(false))
                {
                    logs++;
                }
            }

            foreach (string reportId in archived.Task.Reports)
            {
                byte[]? live = await store.LoadReportAsync(reportId, cancellationToken).ConfigureAwait(false);
                if (await RemoveIfHeldAsync(archived, TaskArchiveManifest.ReportEntry(reportId), live, LeftLiveName.Report(reportId), kept,
                    held => archives.RemoveReportIfUnchangedAsync(reportId, held, cancellationToken)).ConfigureAwait(false))
                {
                    reports++;
                }
            }
        }

        return (logs, reports);
    }

    /// <summary>
    /// Removes <paramref name="live"/> through <paramref name="remove"/> when it is what <paramref name="archived"/> holds
    /// under <paramref name="entry"/>, and the store finds it so still; else, when it is live, names it in
    /// <paramref name="kept"/> (with why, when the archived copy does not open here). False when nothing was removed.
    /// </summary>
    private static async Task<bool> RemoveIfHeldAsync(ArchivedEarlier archived, string entry, byte[]? live, string what, KeptLive kept,
        Func<byte[], ValueTask<bool>> remove)
    {
        if (live is null)
        {
            return false;
        }

        if (!EarlierArchives.Holds(archived, entry, live, out string? unopened))
        {
            if (unopened is null)
            {
                kept.LeftLive.Add(what);
            }
            else
            {
                kept.Unopened.Add($"{what} ({unopened})");
            }

            return false;
        }

        if (await remove(live).ConfigureAwait(false))
        {
            return true;
        }

        kept.LeftLive.Add(what);
        return false;
    }
}
