using StatePersistence.Commit;
using StatePersistence.Ids;
using StatePersistence.Recovery;
using StatePersistence.Retention;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Storage;

namespace StatePersistence.InMemory;

/// <summary>
/// The reference store: the whole contract, in memory. Every committed group is encoded (format version, then the
/// payload codec) into an <see cref="InMemoryStorage"/>, and opening decodes and replays it, so a restart over the
/// same storage exercises what a durable store does. Fast enough to be the store of an application's own tests.
/// It keeps its whole log (it declares no <see cref="ICheckpointStore"/>); session logs are stored one object per
/// append, the way an object store without append would keep them, and the retention policy's parts are marks
/// between them (<see cref="IRetentionStore"/>).
/// </summary>
public sealed partial class InMemoryStateStore : IStateStore, IStateBlobStore
{
    private readonly InMemoryStorage _storage;
    private readonly PayloadEnvelope _envelope;
    private CommitSequencer? _sequencer;
    private ChangeFeed? _feed;

    /// <summary>Creates a store over <paramref name="storage"/> (a new, empty one when null).</summary>
    public InMemoryStateStore(InMemoryStorage? storage = null, IPayloadCodec? codec = null, string location = "memory")
    {
        _storage = storage ?? new InMemoryStorage();
        _envelope = PayloadEnvelope.For(codec);
        Location = location;
    }

    /// <inheritdoc />
    public string Location { get; }

    /// <summary>What the store holds.</summary>
    public InMemoryStorage Storage => _storage;

    /// <inheritdoc />
    /// <remarks>Never raised: memory holds no copies that could be damaged behind the store's back.</remarks>
    public event EventHandler<QuarantinedFile>? DamageFound
    {
        add { }
        remove { }
    }

    /// <inheritdoc />
    public ValueTask<RecoveredState> OpenAsync(CancellationToken cancellationToken = default)
    {
        var report = new RecoveryReport { StartedAt = DateTimeOffset.UtcNow };
        lock (_storage.Gate)
        {
            if (_storage.Open)
            {
                throw new Errors.StateDirectoryLockedException(Location, "another InMemoryStateStore");
            }

            // Decoded in full before anything changes: a record this build cannot read stops the open.
            List<CommittedGroup> log = [.. _storage.Log.Select((stored, index) =>
                InMemoryRecordFormat.Decode(_envelope.Open(PayloadKind.JournalRecord, RecordId(index), stored, $"{Location}/log/{index}"), Location))];
            StateView view = StateView.Empty;
            foreach (CommittedGroup group in log)
            {
                view = view.Apply(group.Changes, group.Revision);
                report.JournalRecordsReplayed++;
            }

            _storage.Open = true;
            _sequencer = new CommitSequencer(view);

            // The whole log is kept, so the feed holds every change since the first.
            _feed = new ChangeFeed(0, Location, int.MaxValue, long.MaxValue);
            _feed.Publish(log);

            report.Revision = view.Revision;
            report.TasksLoaded = view.Tasks.Count;
            report.SessionsLoaded = view.Sessions.Count;
            return ValueTask.FromResult(new RecoveredState(view, report));
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken = default)
    {
        lock (_storage.Gate)
        {
            CommitSequencer sequencer = _sequencer ?? throw NotOpen();
            CommitPlan plan = sequencer.Plan(groups);
            IReadOnlyList<CommittedGroup> committed = plan.Committed;

            // Encoded before anything is stored, so a group that cannot be encoded leaves the log as it was.
            int first = _storage.Log.Count;
            List<byte[]> records = [.. committed.Select((g, i) => _envelope.Seal(PayloadKind.JournalRecord, RecordId(first + i), InMemoryRecordFormat.Encode(g)))];
            _storage.Log.AddRange(records);
            sequencer.Accept(plan);
            _feed!.Publish(committed);
            return ValueTask.FromResult(plan.Outcomes);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<CommittedGroup>> ReadChangesAsync(long afterPosition, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult((_feed ?? throw NotOpen()).Read(afterPosition));

    /// <inheritdoc />
    public IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterPosition, CancellationToken cancellationToken = default) =>
        (_feed ?? throw NotOpen()).SubscribeAsync(afterPosition, cancellationToken);

    /// <inheritdoc />
    public StoreHealth CheckHealth()
    {
        lock (_storage.Gate)
        {
            return new StoreHealth
            {
                Location = Location,
                Exists = true,
                Writable = _sequencer is not null,
                Problem = _sequencer is null ? $"The in-memory store '{Location}' is not open." : null,
                BytesOnDisk = _storage.AllBytes().Sum(b => (long)b.Length),
                Details = new Dictionary<string, long>
                {
                    ["log_records"] = _storage.Log.Count,
                    ["session_logs"] = _storage.SessionLogs.Count(l => { lock (l.Value) { return l.Value.Appends.Count > 0; } }),
                    ["reports"] = _storage.Reports.Count,
                },
            };
        }
    }

    /// <inheritdoc />
    public ValueTask AppendSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        InMemorySessionLog log = _storage.SessionLogs.GetOrAdd(sessionId, _ => new InMemorySessionLog());
        lock (log)
        {
            log.Appends.Add(_envelope.Seal(PayloadKind.SessionLogAppend, sessionId, utf8Text.Span));
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>Checked and written under the log's lock, which every append and deletion takes.</remarks>
    public ValueTask<bool> TryCreateSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        InMemorySessionLog log = _storage.SessionLogs.GetOrAdd(sessionId, _ => new InMemorySessionLog());
        lock (log)
        {
            if (log.Appends.Count > 0)
            {
                return ValueTask.FromResult(false);
            }

            log.Appends.Add(_envelope.Seal(PayloadKind.SessionLogAppend, sessionId, utf8Text.Span));
        }

        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Empties the log under its lock rather than removing its entry: an append that took the entry just before keeps
    /// its text in the one log a read finds, never in an orphan no read reaches. An empty log reads as none.
    /// </remarks>
    public ValueTask DeleteSessionLogAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        if (_storage.SessionLogs.TryGetValue(sessionId, out InMemorySessionLog? log))
        {
            lock (log)
            {
                log.Appends.Clear();
                log.PartEnds.Clear();
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        if (!_storage.SessionLogs.TryGetValue(sessionId, out InMemorySessionLog? log))
        {
            return ValueTask.FromResult<byte[]?>(null);
        }

        lock (log)
        {
            if (log.Appends.Count == 0)
            {
                return ValueTask.FromResult<byte[]?>(null);
            }

            return ValueTask.FromResult<byte[]?>([.. log.Appends.SelectMany(s => _envelope.Open(PayloadKind.SessionLogAppend, sessionId, s, $"{Location}/logs/{sessionId}"))]);
        }
    }

    /// <inheritdoc />
    public ValueTask<ISessionLogReader?> OpenSessionLogAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        if (!_storage.SessionLogs.TryGetValue(sessionId, out InMemorySessionLog? log))
        {
            return ValueTask.FromResult<ISessionLogReader?>(null);
        }

        byte[][] appends;
        lock (log)
        {
            appends = [.. log.Appends];
        }

        if (appends.Length == 0)
        {
            return ValueTask.FromResult<ISessionLogReader?>(null);
        }

        return ValueTask.FromResult<ISessionLogReader?>(new InMemorySessionLogReader(sessionId, appends, _envelope, $"{Location}/logs/{sessionId}"));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListSessionLogsAsync(string? after, int limit, CancellationToken cancellationToken = default)
    {
        IEnumerable<string> ids = _storage.SessionLogs.Where(l => { lock (l.Value) { return l.Value.Appends.Count > 0; } })
            .Select(l => l.Key).Order(StringComparer.Ordinal);
        return ValueTask.FromResult(OrdinalPage.After(ids, after, limit));
    }

    /// <inheritdoc />
    /// <remarks>
    /// Whether the log holds any append, none opened: before 2026-12-07 this store took the interface's default, which
    /// opened a log whose text was all in rotated parts (its size 0), every append verified and decoded.
    /// </remarks>
    public ValueTask<bool> SessionLogExistsAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        if (!_storage.SessionLogs.TryGetValue(sessionId, out InMemorySessionLog? log))
        {
            return ValueTask.FromResult(false);
        }

        lock (log)
        {
            return ValueTask.FromResult(log.Appends.Count > 0);
        }
    }

    /// <inheritdoc />
    public ValueTask<long> SessionLogSizeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        if (!_storage.SessionLogs.TryGetValue(sessionId, out InMemorySessionLog? log))
        {
            return ValueTask.FromResult(0L);
        }

        // The live log only, as on the other stores: a rotation makes room under a quota again.
        lock (log)
        {
            return ValueTask.FromResult(log.LiveBytes);
        }
    }

    /// <inheritdoc />
    public ValueTask<string> SaveReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        _storage.Reports[reportId] = _envelope.Seal(PayloadKind.Report, reportId, json.Span);
        return ValueTask.FromResult($"{Location}/reports/{reportId}");
    }

    /// <inheritdoc />
    public ValueTask<bool> TryCreateReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        return ValueTask.FromResult(_storage.Reports.TryAdd(reportId, _envelope.Seal(PayloadKind.Report, reportId, json.Span)));
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        return ValueTask.FromResult(_storage.Reports.TryGetValue(reportId, out byte[]? stored)
            ? _envelope.Open(PayloadKind.Report, reportId, stored, $"{Location}/reports/{reportId}")
            : null);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<string>>([.. _storage.Reports.Keys.Order(StringComparer.Ordinal)]);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListReportsAsync(string? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        IEnumerable<string> ids = _storage.Reports.Keys.Where(id => after is null || string.CompareOrdinal(id, after) > 0);
        return ValueTask.FromResult<IReadOnlyList<string>>([.. ids.Order(StringComparer.Ordinal).Take(limit)]);
    }

    /// <inheritdoc />
    public ValueTask<long> CountReportsAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<long>(_storage.Reports.Count);

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        lock (_storage.Gate)
        {
            if (_sequencer is not null)
            {
                _storage.Open = false;
                _sequencer = null;
            }
        }

        return ValueTask.CompletedTask;
    }

    private InvalidOperationException NotOpen() => new($"The in-memory store '{Location}' is not open.");

    /// <summary>A log record is bound to its place in the log (the envelope's associated data), so one moved fails to open.</summary>
    private static string RecordId(int index) => index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
