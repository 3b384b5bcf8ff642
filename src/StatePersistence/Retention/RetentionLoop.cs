using System.Text.Json;
using StatePersistence.Service.Events;
using StatePersistence.Storage;

namespace StatePersistence.Retention;

/// <summary>
/// The background retention pass (issue 16): once right after start-up, then every <see cref="RetentionOptions.Interval"/>,
/// it archives the tasks finished longer ago than <see cref="RetentionOptions.TaskArchiveAfter"/> (first, so their logs
/// and reports go along before the other steps touch them), caps every session log over
/// <see cref="RetentionOptions.SessionLogMaxBytes"/> and deletes every report older than
/// <see cref="RetentionOptions.ReportMaxAge"/>. Each step, log and report on its own: one that fails is logged, counted
/// and raised as <c>state:save-error</c> (operation <c>retention-archive</c>, <c>retention-session-log</c> or
/// <c>retention-report</c>) and the pass goes on with the next; the loop keeps running. A cancellation the service did not
/// ask for (a codec's <c>HttpClient</c> timing out) is such a failure (<see cref="Service.CallerCancellation"/>); before
/// 2026-12-07 it left the pass, and the logs and reports after the one it failed were never judged while it kept
/// failing (RetentionCancelledByItsStoreTests). An earlier archive that does not
/// read back whole, whose leftovers the archive step kept live, is reported the same way (a Warning, once per archive).
/// A session log or report the archive step kept live as its live copy is not the archive's (written to meanwhile) is
/// logged with why and counted in <c>statepersistence.retention.kept_live</c>, once per item while the process runs.
/// </summary>
internal sealed class RetentionLoop(StatePersistenceOptions options, TimeProvider time, IRetentionStore? store, EventDispatcher events,
    Func<DateTimeOffset, bool, CancellationToken, Task<FileStore.Operations.TaskArchiveResult>>? archiveTasks)
{
    /// <summary>How many report ids the pass lists at a time.</summary>
    internal const int ReportPage = 1000;

    // The damaged archives whose leftovers the pass kept live that were reported: each once per process, not at every
    // pass while it and its leftovers are there (as a damaged report on PostgreSQL).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _damagedReported = new(StringComparer.Ordinal);

    // The logs and reports the archive step kept live that were named: each once per process, as the next pass finds
    // it again (its task gone, its live copy still not the archive's) and would name it at every pass.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _keptLiveReported = new(StringComparer.Ordinal);

    private Task? _loop;

    public Task Stopped => _loop ?? Task.CompletedTask;

    public void Start(CancellationToken stopping)
    {
        if (!options.Retention.IsEnabled)
        {
            return;
        }

        if (store is null)
        {
            // A store that keeps logs and reports where the pass does not reach: said once at start, so a policy the
            // operator configured does not silently do nothing.
            events.RetentionNotApplied(Describe(options.Retention));
            return;
        }

        if (options.Retention.TaskArchiveAfter > TimeSpan.Zero && archiveTasks is null)
        {
            // A store that keeps no task archives (not an ITaskArchiveStore: the file store and PostgreSQL are) keeps its
            // finished tasks. The rest of the policy applies.
            events.TaskArchiveNotApplied(options.Retention.TaskArchiveAfter);
        }

        _loop = Service.Checkpoints.BackgroundLoop.Start(options.Retention.Interval, time, "retention", events, RunOnceAsync, stopping);
    }

    /// <summary>The parts of <paramref name="policy"/> that are on, as their settings name them.</summary>
    private static string Describe(RetentionOptions policy) => string.Join(", ", new[]
    {
        policy.SessionLogMaxBytes > 0 ? $"SessionLogMaxBytes={policy.SessionLogMaxBytes}" : null,
        policy.ReportMaxAge > TimeSpan.Zero ? $"ReportMaxAge={policy.ReportMaxAge}" : null,
        policy.TaskArchiveAfter > TimeSpan.Zero ? $"TaskArchiveAfter={policy.TaskArchiveAfter}" : null,
    }.OfType<string>());

    /// <summary>Logs and counts those of <paramref name="items"/> not named before in this process (before 2026-12-07 none was).</summary>
    private void ReportKeptLive(IReadOnlyList<string> items, bool unopened)
    {
        string[] fresh = items.Where(item => _keptLiveReported.TryAdd(item, true)).ToArray();
        if (fresh.Length > 0)
        {
            events.RetentionKeptLive(fresh, unopened);
        }
    }

    /// <summary>One pass: the finished tasks to archive, then every session log and report.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        if (store is null)
        {
            return;
        }

        RetentionOptions policy = options.Retention;
        if (!await store.ClaimPassAsync(policy.Interval, cancellationToken).ConfigureAwait(false))
        {
            events.RetentionPassSkipped(policy.Interval);
            return;
        }

        if (policy.TaskArchiveAfter > TimeSpan.Zero && archiveTasks is not null)
        {
            try
            {
                FileStore.Operations.TaskArchiveResult archived = await archiveTasks(time.GetUtcNow() - policy.TaskArchiveAfter,
                    policy.TaskArchiveWithLogs, cancellationToken).ConfigureAwait(false);
                if (!archived.NothingToArchive)
                {
                    events.TasksArchived(archived);
                }

                ReportKeptLive(archived.LeftLive, unopened: false);
                ReportKeptLive(archived.LeftLiveUnopened, unopened: true);
                foreach (FileStore.Operations.DamagedTaskArchive damaged in archived.DamagedArchives)
                {
                    if (_damagedReported.TryAdd(damaged.Archive, true))
                    {
                        events.ArchiveLeftoversKept("retention-archive", damaged);
                    }
                }
            }
            catch (ReportedSaveFailure)
            {
                // The commit deleting the archived tasks failed, and was counted, raised and logged as that save
                // (archive); before 2026-12-07 also as retention-archive (FailureCountedOnceTests).
            }
            catch (Exception ex) when (Service.CallerCancellation.IsFailure(ex, cancellationToken))
            {
                events.BackgroundFailed("retention-archive", ex);
            }
        }

        if (policy.SessionLogMaxBytes > 0)
        {
            foreach (string sessionId in await store.ListSessionLogsAsync(policy.SessionLogMaxBytes, cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    SessionLogTrim? trim = await store.CapSessionLogAsync(sessionId, policy.SessionLogMaxBytes, policy.SessionLogRotatedParts,
                        options.Durability, cancellationToken).ConfigureAwait(false);
                    if (trim is not null)
                    {
                        events.SessionLogCapped(trim);
                    }
                }
                catch (Exception ex) when (Service.CallerCancellation.IsFailure(ex, cancellationToken))
                {
                    events.BackgroundFailed("retention-session-log", ex);
                }
            }
        }

        if (policy.ReportMaxAge > TimeSpan.Zero && store is IStateBlobStore blobs)
        {
            DateTimeOffset cutoff = time.GetUtcNow() - policy.ReportMaxAge;
            // A page of ids at a time, after the last one judged: the pass holds a page, not every id (a store of
            // objects lists them the same way), and a report deleted meanwhile does not move the next page.
            IReadOnlyList<string> page;
            string? after = null;
            do
            {
                page = await blobs.ListReportsAsync(after, ReportPage, cancellationToken).ConfigureAwait(false);
                foreach (string reportId in page)
                {
                    try
                    {
                        if (await store.ExpireReportAsync(reportId, json => CreatedAt(json) < cutoff, options.Durability, cancellationToken).ConfigureAwait(false) is { } freed)
                        {
                            events.ReportExpired(reportId, freed);
                        }
                    }
                    catch (Exception ex) when (Service.CallerCancellation.IsFailure(ex, cancellationToken))
                    {
                        events.BackgroundFailed("retention-report", ex);
                    }
                }

                after = page.Count > 0 ? page[^1] : after;
            }
            while (page.Count == ReportPage);
        }
    }

    /// <summary>
    /// The report's <c>created_at</c> (the state server stamps it on every report it saves); <see cref="DateTimeOffset.MaxValue"/>,
    /// so never expired, when the report has none it can read.
    /// </summary>
    internal static DateTimeOffset CreatedAt(byte[] json)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("created_at", out JsonElement created)
                && created.ValueKind == JsonValueKind.String
                && created.TryGetDateTimeOffset(out DateTimeOffset value)
                ? value
                : DateTimeOffset.MaxValue;
        }
        catch (JsonException)
        {
            return DateTimeOffset.MaxValue;
        }
    }
}
