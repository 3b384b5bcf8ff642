using System.Collections.Immutable;
using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Failures;
using StatePersistence.Postgres.Listing;
using StatePersistence.Postgres.Reencryption;
using StatePersistence.Querying;
using StatePersistence.Postgres.Schema;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Storage;
using ChangeFeed = StatePersistence.Postgres.Changes.ChangeFeed;

namespace StatePersistence.Postgres;

/// <summary>
/// The PostgreSQL store: tasks and sessions as rows of one schema (<c>jsonb</c> holding the seed's JSON under the
/// identity codec, sealed <c>bytea</c> under any other), each group of changes committed in one transaction with its
/// expectations checked under the items' locks, and a change feed every instance on the database reads without gaps
/// (<see cref="ChangeFeed"/>). Several instances may open the same schema at once; the schema is created and upgraded
/// when the first opens it.
/// </summary>
public sealed partial class PostgresStateStore : ISharedStateStore, IStateBlobStore, ITaskListingStore
{
    /// <summary>The schema used when none is given.</summary>
    public const string DefaultSchema = "statepersistence";

    /// <summary>
    /// How long a change stays in the change log when no retention is given: an instance (or an event-stream client)
    /// further behind than this reloads instead of reading the changes it missed.
    /// </summary>
    public static readonly TimeSpan DefaultChangeRetention = TimeSpan.FromHours(1);

    /// <summary>
    /// The longest change retention accepted: 100 years. The pruner asks PostgreSQL for <c>clock_timestamp()</c> minus
    /// it, which must stay a timestamp.
    /// </summary>
    public static readonly TimeSpan MaxChangeRetention = TimeSpan.FromDays(36_500);

    /// <summary>
    /// How many statements each connection of a store built from a connection string prepares at most, unless the
    /// string sets <c>Max Auto Prepare</c> itself.
    /// </summary>
    internal const int AutoPreparedStatements = 32;

    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource? _writerDataSource;
    private readonly string _schema;
    private readonly StorePayloads _payloads;
    private readonly ChangeRows _rows;
    private readonly GroupWriter _writer;

    // The most connections this instance may hold: each pool's Maximum Pool Size (a store built from a connection
    // string has two, the writer's and the rest's). Shown in the health details, so that an operator can add up the
    // instances against the server's max_connections.
    private readonly int _connectionsMax;
    private readonly ChangeFeed _feed;
    private readonly TaskListingQuery _listing;
    private readonly TimeSpan _pollInterval;
    private readonly ChangePruner _pruner;
    private readonly RowReencryption _reencryption;
    private readonly ArchiveReencryption _archiveReencryption;
    private readonly UnconfirmedRewrites _unconfirmedRewrites;
    private readonly int _commandTimeoutSeconds;
    private readonly StoreFailures _failures;
    private bool _open;

    // Session log appends, and creates of a log or a report, whose COMMIT lost its answer but which the database showed
    // stored (health: commit_answers_lost, with the writer's commits of that kind).
    private long _commitAnswersLost;

    /// <summary>
    /// A store over <paramref name="connectionString"/> (any Npgsql connection string, multi-host ones included) in
    /// <paramref name="schema"/>. The connection string is never logged or shown: <see cref="Location"/> names only
    /// the hosts, the database and the schema. <paramref name="changeRetention"/> (positive, at most <see cref="MaxChangeRetention"/>; default
    /// <see cref="DefaultChangeRetention"/>) is how long a committed change stays in the change log.
    /// </summary>
    public PostgresStateStore(string connectionString, string schema = DefaultSchema, IPayloadCodec? codec = null, TimeSpan? pollInterval = null,
        TimeSpan? changeRetention = null)
        : this(CreateDataSource(connectionString), CreateWriterDataSource(connectionString), schema, codec, pollInterval, changeRetention)
    {
    }

    /// <summary>A store over a data source the caller owns (and disposes).</summary>
    public PostgresStateStore(NpgsqlDataSource dataSource, string schema = DefaultSchema, IPayloadCodec? codec = null, TimeSpan? pollInterval = null,
        TimeSpan? changeRetention = null)
        : this(dataSource ?? throw new ArgumentNullException(nameof(dataSource)), writerDataSource: null, schema, codec, pollInterval, changeRetention)
    {
    }

    /// <summary>
    /// A store over data sources it owns (<paramref name="writerDataSource"/> not null: built from a connection string)
    /// or over the caller's (used for the writes too, as the caller configured it).
    /// </summary>
    private PostgresStateStore(NpgsqlDataSource dataSource, NpgsqlDataSource? writerDataSource, string schema, IPayloadCodec? codec,
        TimeSpan? pollInterval, TimeSpan? changeRetention)
    {
        PostgresSchema.ValidateName(schema);
        _dataSource = dataSource;
        _writerDataSource = writerDataSource;
        _schema = schema;
        _pollInterval = pollInterval ?? TimeSpan.FromSeconds(1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_pollInterval, TimeSpan.Zero, nameof(pollInterval));
        var builder = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Location = StoreLocation.Of(builder, schema);
        _commandTimeoutSeconds = builder.CommandTimeout;
        _failures = new StoreFailures(Location, _commandTimeoutSeconds);
        _connectionsMax = builder.MaxPoolSize + (writerDataSource is null ? 0 : new NpgsqlConnectionStringBuilder(writerDataSource.ConnectionString).MaxPoolSize);
        _appendHolds = new SemaphoreSlim(AppendHoldsAtOnce(builder.MaxPoolSize));
        _payloads = new StorePayloads(codec);
        _reencryptionRemaining = StartingReencryptionFigure(codec);
        _rows = new ChangeRows(_payloads, Location);
        var own = new OwnCommits();
        _writer = new GroupWriter(writerDataSource ?? dataSource, schema, _rows, own);
        _pruner = new ChangePruner(dataSource, schema, changeRetention ?? DefaultChangeRetention);
        _feed = new ChangeFeed(dataSource, schema, _rows, _pruner, own);
        _listing = new TaskListingQuery(dataSource, schema, _rows);
        _unconfirmedRewrites = new UnconfirmedRewrites(schema);
        _reencryption = new RowReencryption(dataSource, schema, _rows, _payloads, _unconfirmedRewrites);
        _archiveReencryption = new ArchiveReencryption(dataSource, schema, _payloads, Location, _unconfirmedRewrites);
    }

    /// <inheritdoc />
    /// <remarks>The hosts, database and schema; never the credentials.</remarks>
    public string Location { get; }

    /// <inheritdoc />
    public TimeSpan FeedPollInterval => _pollInterval;

    /// <summary>How many times this store's change feed read the table (<see cref="ChangeFeed.TableReads"/>), for tests.</summary>
    internal long FeedTableReads => _feed.TableReads;

    /// <summary>
    /// How long a committed change stays in the change log after the feed numbered it. The instances following the
    /// feed prune older changes in the background, one at a time; a reader further behind reloads (see
    /// <see cref="ReloadAsync"/>).
    /// </summary>
    public TimeSpan ChangeRetention => _pruner.Retention;

    /// <inheritdoc />
    /// <remarks>
    /// Raised once for each report or session-log row a read found damaged (sealed bytes that fail their check), with
    /// the row's location as both paths and <see cref="QuarantinedFile.LeftInPlace"/> set: a database has no aside, so
    /// the row is left as it is, the read that found it fails naming it, and health lists it
    /// (<see cref="StoreHealth.Unreadable"/>) until it is replaced or deleted. A row under a key or codec this instance
    /// lacks is listed too, but is not damage and is not raised.
    /// </remarks>
    public event EventHandler<QuarantinedFile>? DamageFound
    {
        add => _damageFound += value;
        remove => _damageFound -= value;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Creates or upgrades the schema (refusing one of a newer version), numbers what committed without a position
    /// yet, and reads the current items and the feed's position in one snapshot. A group that commits while this
    /// runs may be both in the view and after its position: the feed delivers it again, with the revision the view
    /// already holds.
    /// </remarks>
    public async ValueTask<RecoveredState> OpenAsync(CancellationToken cancellationToken = default)
    {
        var report = new RecoveryReport { StartedAt = DateTimeOffset.UtcNow, SnapshotSource = "postgresql" };
        // Guarded like every other operation: a database that cannot be reached or refuses the login at start is a
        // StateStorageException naming the store (the server's one-line refusal), not Npgsql's exception.
        (StateView view, long position, int? itemChanges) = await Guarded("open (reach the database, create or upgrade the schema, read the state)", async () =>
        {
            await PostgresSchema.EnsureAsync(_dataSource, _schema, cancellationToken).ConfigureAwait(false);
            (StateView loaded, long at, int? changesAt, List<StoredItem> unlisted) = await LoadAsync(cancellationToken).ConfigureAwait(false);
            await TaskListingBackfill.RunAsync(_dataSource, _schema, unlisted, cancellationToken).ConfigureAwait(false);
            return (loaded, at, changesAt);
        }).ConfigureAwait(false);
        _open = true;
        report.Revision = view.Revision;
        report.TasksLoaded = view.Tasks.Count;
        report.SessionsLoaded = view.Sessions.Count;
        return new RecoveredState(view, report) { Position = position, ItemChangesAtPosition = itemChanges };
    }

    /// <inheritdoc />
    /// <remarks>
    /// The same read as <see cref="OpenAsync"/>: every current row and the feed's position, in one snapshot, after
    /// numbering what committed without a position yet.
    /// </remarks>
    public async ValueTask<RecoveredState> ReloadAsync(CancellationToken cancellationToken = default)
    {
        RequireOpen();
        var report = new RecoveryReport { StartedAt = DateTimeOffset.UtcNow, SnapshotSource = "postgresql" };
        (StateView view, long position, _, _) = await Guarded("reload the state", async () => await LoadAsync(cancellationToken).ConfigureAwait(false))
            .ConfigureAwait(false);
        report.Revision = view.Revision;
        report.TasksLoaded = view.Tasks.Count;
        report.SessionsLoaded = view.Sessions.Count;
        return new RecoveredState(view, report) { Position = position };
    }

    /// <inheritdoc />
    public async ValueTask<long?> ReadItemRevisionAsync(bool task, string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        RequireOpen();
        return await Guarded("read an item's revision", async () =>
        {
            await using NpgsqlCommand read = _dataSource.CreateCommand($"SELECT revision FROM {_schema}.items WHERE kind = $1 AND id = $2");
            read.Parameters.Add(new NpgsqlParameter { Value = task ? ChangeRows.Task : ChangeRows.Session });
            read.Parameters.Add(new NpgsqlParameter { Value = id });
            return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long revision ? revision : (long?)null;
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Numbers what committed without a position (relaxed durability, an older instance) first, as a reader does, then
    /// reads the head as a load does (<see cref="ChangeFeed.ReadHeadAsync"/>).
    /// </remarks>
    public async ValueTask<long> ReadFeedHeadAsync(CancellationToken cancellationToken = default)
    {
        RequireOpen();
        return await Guarded("read the change feed's head", async () => await _feed.ReadHeadAsync(cancellationToken).ConfigureAwait(false))
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Numbers what committed without a position, then reads the current items and the feed's position in one
    /// snapshot, and makes sure the synchronous standby holds that position (<see cref="ConfirmedPositions.ConfirmAsync"/>);
    /// also returns the tasks whose listing columns are not filled yet. The position is the highest given,
    /// or the pruned horizon when every change up to it was pruned. The group at that position is counted in the same
    /// snapshot (<see cref="RecoveredState.ItemChangesAtPosition"/>; null when it was pruned): the event stream tells
    /// an event id taken inside it from one at its end.
    /// </summary>
    private async Task<(StateView View, long Position, int? ItemChangesAtPosition, List<StoredItem> Unlisted)> LoadAsync(CancellationToken cancellationToken)
    {
        await _feed.AssignPositionsAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction snapshot = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken)
            .ConfigureAwait(false);
        long position, sequence;
        int? itemChangesAtPosition;
        bool waitsForStandby;
        await using (var numbers = new NpgsqlCommand($"""
            SELECT head.position,
                   (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {_schema}.revisions),
                   (SELECT count(*) FILTER (WHERE kind <> $1) FROM {_schema}.changes WHERE position = head.position),
                   EXISTS (SELECT 1 FROM {_schema}.changes WHERE position = head.position),
                   {ConfirmedPositions.WaitsForStandbyExpression}
            FROM (SELECT {ChangeFeed.HeadExpression(_schema)} AS position) head
            """, connection, snapshot))
        {
            numbers.Parameters.Add(new NpgsqlParameter { Value = ChangeRows.Extras });
            await using NpgsqlDataReader reader = await numbers.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            (position, sequence) = (reader.GetInt64(0), reader.GetInt64(1));
            itemChangesAtPosition = reader.GetBoolean(3) ? (int)reader.GetInt64(2) : null;
            waitsForStandby = reader.GetBoolean(4);
        }

        ImmutableSortedDictionary<string, StoredItem>.Builder tasks = ImmutableSortedDictionary.CreateBuilder<string, StoredItem>(StringComparer.Ordinal);
        ImmutableSortedDictionary<string, StoredItem>.Builder sessions = ImmutableSortedDictionary.CreateBuilder<string, StoredItem>(StringComparer.Ordinal);
        byte[]? extras = null;
        long revision = sequence;
        var unlisted = new List<StoredItem>();
        await using (NpgsqlCommand items = ItemsToLoad(connection, snapshot))
        await using (NpgsqlDataReader reader = await items.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                long itemRevision = reader.GetInt64(2);
                revision = Math.Max(revision, itemRevision);
                StateChange change = _rows.ToChange(new ItemRow(reader.GetString(0), reader.GetString(1),
                    reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3), reader.IsDBNull(4) ? null : reader.GetFieldValue<byte[]>(4)), itemRevision);
                switch (change.Kind)
                {
                    case ChangeKind.PutTask:
                        tasks[change.Id] = change.Item!;
                        if (!reader.GetBoolean(5) && !reader.IsDBNull(3))
                        {
                            unlisted.Add(change.Item!);
                        }

                        break;
                    case ChangeKind.PutSession:
                        sessions[change.Id] = change.Item!;
                        break;
                    default:
                        extras = change.Json;
                        break;
                }
            }
        }

        await snapshot.CommitAsync(cancellationToken).ConfigureAwait(false);
        // The instance follows on after the position loaded, and its event stream names it: not before the synchronous
        // standby holds it (ChangeFeed), or a failover would give it to another change.
        await _feed.Confirmed.ConfirmAsync(position, position, waitsForStandby, $"a commit made after reading the state at feed position {position}", cancellationToken)
            .ConfigureAwait(false);
        return (new StateView(revision, tasks.ToImmutable(), sessions.ToImmutable(), extras), position, itemChangesAtPosition, unlisted);
    }

    /// <inheritdoc />
    /// <remarks>
    /// All groups in one transaction (each atomic, checked in order); under <see cref="Durability.Relaxed"/> without
    /// waiting for the WAL flush. A lost connection or an unavailable database is a transient
    /// <see cref="Errors.StateStorageException"/>: nothing of the call is half-stored (the transaction is atomic). When
    /// the connection broke during the commit itself the groups may have committed: the database is asked
    /// (<see cref="Failures.LostCommitAnswer"/>), and what it cannot settle is a <see cref="Errors.StateOutcomeUnknownException"/>.
    /// </remarks>
    public async ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groups);
        RequireOpen();
        if (groups.Count == 0)
        {
            return [];
        }

        try
        {
            return await CommitAsync(groups, durability, cancellationToken).ConfigureAwait(false);
        }
        catch (Errors.StateStorageException refused) when (groups.Count > 1 && IsRefusedData(refused))
        {
            // PostgreSQL refused a value of one group (a number or a string jsonb cannot hold, a row past a limit),
            // which rolled back the whole transaction: nothing is stored. The groups are the saves of independent
            // callers batched together, so each is committed on its own, and only the one holding the value fails.
            return await CommitOneByOneAsync(groups, durability, cancellationToken).ConfigureAwait(false);
        }
    }

    private ValueTask<IReadOnlyList<CommitOutcome>> CommitAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken) =>
        Guarded<IReadOnlyList<CommitOutcome>>("commit changes",
            () => LandingAsync<IReadOnlyList<CommitOutcome>>(async () => await _writer.AppendAsync(groups, durability, cancellationToken).ConfigureAwait(false)));

    /// <summary>
    /// Commits each group in a transaction of its own. A group whose data is refused gets a failed outcome; any other
    /// failure fails that group and every one after it (none of them was tried or stored), while the groups already
    /// committed keep their outcomes, so no committed save is reported as failed.
    /// </summary>
    private async ValueTask<IReadOnlyList<CommitOutcome>> CommitOneByOneAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken)
    {
        var outcomes = new CommitOutcome[groups.Count];
        for (int i = 0; i < groups.Count; i++)
        {
            try
            {
                outcomes[i] = (await CommitAsync([groups[i]], durability, cancellationToken).ConfigureAwait(false))[0];
            }
            catch (Errors.StateStorageException failed) when (IsRefusedData(failed))
            {
                outcomes[i] = CommitOutcome.Failed(failed);
            }
            catch (Exception failed)
            {
                for (int rest = i; rest < groups.Count; rest++)
                {
                    outcomes[rest] = CommitOutcome.Failed(failed);
                }

                break;
            }
        }

        return outcomes;
    }

    /// <summary>
    /// PostgreSQL refused the data itself: a data exception (SQLSTATE class 22: a number out of <c>numeric</c>'s range,
    /// a NUL jsonb cannot hold) or a program limit (class 54: a value or an index row too
    /// large). Not the connection, the database's state or another writer: the same group fails again however often
    /// it is tried, and another group need not.
    /// </summary>
    private static bool IsRefusedData(Errors.StateStorageException failure) =>
        failure.InnerException is PostgresException { SqlState: [ '2', '2', ..] or [ '5', '4', ..] };

    /// <inheritdoc />
    /// <remarks>
    /// Throws <see cref="ChangeFeedGapException"/> when changes after <paramref name="afterPosition"/> were pruned (older
    /// than <see cref="ChangeRetention"/>): reload the state instead (<see cref="ReloadAsync"/>).
    /// </remarks>
    public async ValueTask<IReadOnlyList<CommittedGroup>> ReadChangesAsync(long afterPosition, CancellationToken cancellationToken = default)
    {
        RequireOpen();
        return await Guarded($"read the change feed after position {afterPosition}", () => new ValueTask<IReadOnlyList<CommittedGroup>>(_feed.ReadAllAsync(afterPosition, cancellationToken)))
            .ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// From the listing columns' indexes, with the store's current rows (possibly ahead of an instance's own state);
    /// null under a sealing codec or while any task row is not listed.
    /// </remarks>
    public async ValueTask<IReadOnlyList<StoredItem>?> ListTasksAsync(TaskListing listing, CancellationToken cancellationToken = default)
    {
        RequireOpen();
        return await Guarded("list tasks", () => new ValueTask<IReadOnlyList<StoredItem>?>(_listing.RunAsync(listing, cancellationToken)))
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a database operation; a failure of the database or the connection to it becomes a
    /// <see cref="Errors.StateStorageException"/> naming the store and the operation (transient unless PostgreSQL
    /// refused the statement itself), which the server answers with 503. The message never holds the connection string.
    /// </summary>
    private async ValueTask<T> Guarded<T>(string operation, Func<ValueTask<T>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            throw _failures.Wrap(operation, ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Woken by PostgreSQL's NOTIFY from every committing instance, and polling the table at the store's poll interval
    /// besides, so a lost notification (a reconnecting listener) delays a change, never loses it. A database failure
    /// ends the enumeration with a <see cref="Errors.StateStorageException"/> naming the store and what the reader was
    /// doing (<c>read the change feed after position 7</c>), the Npgsql exception inside.
    /// </remarks>
    public IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterPosition, CancellationToken cancellationToken = default)
    {
        RequireOpen();
        return _feed.SubscribeAsync(afterPosition, FeedPollInterval, cancellationToken);
    }

    /// <inheritdoc />
    public StoreHealth CheckHealth()
    {
        bool reached = false;
        try
        {
            using NpgsqlConnection connection = _dataSource.OpenConnection();
            reached = true;
            using var command = new NpgsqlCommand(HealthQuery(_schema), connection);
            using NpgsqlDataReader reader = command.ExecuteReader();
            reader.Read();
            bool standby = reader.GetBoolean(6);
            long bytes = reader.GetInt64(5);
            var details = new Dictionary<string, long>
            {
                ["tasks"] = reader.GetInt64(0),
                ["sessions"] = reader.GetInt64(1),
                ["changes"] = reader.GetInt64(2),
                ["logs"] = reader.GetInt64(3),
                ["reports"] = reader.GetInt64(4),
                ["connections_max"] = _connectionsMax,
                ["commit_answers_lost"] = Interlocked.Read(ref _commitAnswersLost) + _writer.AnswersLost,
            };
            if (ReencryptionFigure is { } remaining)
            {
                details["reencryption_files_remaining"] = remaining; // left out until a step has counted
            }

            reader.Close();
            IReadOnlyList<string> unreadable = UnreadableReasons(connection);
            details["unreadable_files"] = unreadable.Count; // the file store's name: the rows a read could not open
            return new StoreHealth
            {
                Location = Location,
                Exists = true,
                Writable = _open && !standby,
                BytesOnDisk = bytes,
                Problem = standby ? $"The database of '{Location}' is a read-only standby." : _open ? null : $"The store '{Location}' is not open.",
                Details = details,
                Unreadable = unreadable,
                UnreadableUnit = "row",
            };
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            // Reported, not swallowed: the health check's problem is what the core logs, counts and shows. A database
            // that answered the connection but not the query (a lock, a timeout, a refusal) is not called unreachable.
            string why = ex is NpgsqlException failure ? DatabaseFailure.Describe(failure, _commandTimeoutSeconds) : ex.Message;
            return new StoreHealth
            {
                Location = Location, Exists = false, Writable = false,
                Problem = reached ? $"The store '{Location}' could not be read: {why}" : $"The store '{Location}' cannot be reached: {why}",
            };
        }
    }

    /// <summary>
    /// The figures of <see cref="CheckHealth"/>, run at every health check and gauge refresh, so its cost must not grow
    /// with the session logs (one row per append, millions of them): the sessions with a log are counted by a skip scan
    /// of the primary key, one index probe per session (<c>count(DISTINCT session_id)</c> read every row: 2.8 s for 4
    /// million appends). The other tables are bounded (the items by the quotas, the change log by its retention).
    /// </summary>
    internal static string HealthQuery(string schema) => $"""
        WITH RECURSIVE logged AS (
            SELECT min(session_id) AS session_id FROM {schema}.session_logs
            UNION ALL
            SELECT (SELECT min(session_id) FROM {schema}.session_logs WHERE session_id > logged.session_id)
            FROM logged WHERE logged.session_id IS NOT NULL)
        SELECT (SELECT count(*) FROM {schema}.items WHERE kind = 'task'),
               (SELECT count(*) FROM {schema}.items WHERE kind = 'session'),
               (SELECT count(*) FROM {schema}.changes),
               (SELECT count(session_id) FROM logged),
               (SELECT count(*) FROM {schema}.reports),
               pg_database_size(current_database()),
               pg_is_in_recovery()
        """;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _open = false;
        if (_writerDataSource is not null)
        {
            // Built from a connection string: the store's own, both of them.
            await _writerDataSource.DisposeAsync().ConfigureAwait(false);
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming <paramref name="schema"/> when it is not a schema name the store
    /// accepts (1-63 characters of a-z, 0-9 and '_', starting with a letter or '_'), so a configuration can be
    /// checked before anything starts.
    /// </summary>
    public static void ValidateSchema(string schema) => PostgresSchema.ValidateName(schema);

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when <paramref name="connectionString"/> is not one a store can connect
    /// with: it does not parse, names no host, a minimum pool above the maximum, or a port outside 1-65535. The message
    /// says what is wrong and never quotes the string (it may hold a password). Opens no connection.
    /// </summary>
    public static void ValidateConnectionString(string connectionString) => Reading.OperatorConnection.Parse(connectionString);

    /// <summary>
    /// The data source of a store given a connection string. Unless the string says otherwise, Npgsql prepares the
    /// statements a connection runs often (<c>Max Auto Prepare</c>, <see cref="AutoPreparedStatements"/>): the store
    /// runs a few dozen texts over and over (each names the store's schema, so it never varies), and planning them
    /// afresh for every save cost PostgreSQL about a third of its CPU per save. The statements name their columns, so
    /// an upgrade of the schema by another instance only makes PostgreSQL plan them again.
    /// </summary>
    internal static NpgsqlDataSource CreateDataSource(string connectionString) => NpgsqlDataSource.Create(WithAutoPrepare(connectionString).ConnectionString);

    /// <summary>
    /// The data source of the store's writer, built from the same connection string as <see cref="CreateDataSource"/>'s,
    /// except that a connection going back to its pool is not reset (<c>No Reset On Close</c>). Npgsql's reset (<c>RESET
    /// ALL</c>, <c>CLOSE ALL</c>, <c>UNLISTEN *</c>, <c>pg_advisory_unlock_all()</c>, <c>DISCARD SEQUENCES</c>,
    /// <c>DISCARD TEMP</c>, sent ahead of the connection's next statements) undoes session state, and the writer leaves
    /// none: its settings are <c>SET LOCAL</c>, its locks are the transaction's, and Npgsql rolls back a transaction
    /// left open whatever this setting says. Every other use of the store (the feed's listener among them) keeps the
    /// reset, on the other pool.
    /// </summary>
    internal static NpgsqlDataSource CreateWriterDataSource(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder = WithAutoPrepare(connectionString);
        builder.NoResetOnClose = true;
        return NpgsqlDataSource.Create(builder.ConnectionString);
    }

    private static NpgsqlConnectionStringBuilder WithAutoPrepare(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        // Parsed first where a failure never quotes the string (it may hold a password); the generic parse below then
        // accepts what Npgsql's did.
        NpgsqlConnectionStringBuilder builder = Reading.OperatorConnection.Parse(connectionString);
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        bool prepareSet = given.Keys.Cast<string>().Any(k => k.Replace(" ", "", StringComparison.Ordinal).Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase));
        if (!prepareSet)
        {
            builder.MaxAutoPrepare = AutoPreparedStatements;
        }

        return builder;
    }

    private void RequireOpen()
    {
        if (!_open)
        {
            throw new InvalidOperationException($"The store '{Location}' is not open: call OpenAsync first.");
        }
    }
}
