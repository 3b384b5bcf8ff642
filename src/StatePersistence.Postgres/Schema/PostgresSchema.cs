using System.Collections.Frozen;
using System.Text.RegularExpressions;
using Npgsql;
using StatePersistence.Errors;

namespace StatePersistence.Postgres.Schema;

/// <summary>
/// Creates and upgrades the store's tables in one PostgreSQL schema, with the schema's own version table
/// (<c>schema_version</c>). Each step upgrades one version to the next and is never edited once released: a change
/// ships as a new step. Several instances starting at once are serialized by a transaction-scoped advisory lock, so
/// exactly one applies each step and the others find the schema current; a database of a newer version than this
/// build knows is refused, naming both versions, and left untouched.
/// </summary>
internal static partial class PostgresSchema
{
    /// <summary>The version this build writes and reads.</summary>
    public static int CurrentVersion => Steps.Length;

    /// <summary>What each version's step does, the first for version 1: the descriptions <c>schema_version</c> records.</summary>
    public static IReadOnlyList<string> StepDescriptions => [.. Steps.Select(s => s.Description)];

    /// <summary>
    /// The key of the transaction-scoped advisory lock a creation or an upgrade of <paramref name="schema"/> holds
    /// (<c>pg_advisory_xact_lock(hashtextextended(key, 0))</c>): while it is held, one is running.
    /// </summary>
    public static string UpgradeLockKey(string schema) => "statepersistence.schema:" + schema;

    /// <summary>
    /// How long one attempt of an upgrade waits for the store's tables (<see cref="LockTablesAsync"/>): below
    /// PostgreSQL's deadlock_timeout (1 s by default), so a wait that would deadlock ends here first, from this side.
    /// </summary>
    internal static readonly TimeSpan LockAttempt = TimeSpan.FromMilliseconds(200);

    private static readonly Step[] Steps =
    [
        // Never released before the store itself (no public entry point reached it), so still version 1.
        new("items, revisions, the change log, session logs and reports", """
            -- The current items. kind is 'task', 'session' or 'extras' (the application's own properties, id '').
            -- Under the identity codec body holds the item's JSON without its revision (the seed's JSON, queryable);
            -- under any other codec sealed holds the enveloped, encoded JSON (ciphertext is not JSON).
            CREATE TABLE {0}.items (
                kind     text   NOT NULL,
                id       text   NOT NULL,
                revision bigint NOT NULL,
                body     jsonb  NULL,
                sealed   bytea  NULL,
                PRIMARY KEY (kind, id),
                CHECK ((body IS NULL) <> (sealed IS NULL))
            );
            -- Taken once per group, after its items are locked and its expectations checked, so an item's
            -- revisions increase with its changes and a refused group takes none.
            CREATE SEQUENCE {0}.revisions;
            -- Every committed change: its group's revision, its place in the group, the item after it (both value
            -- columns null for a deletion), and the group's place in the feed, given after it commits (ChangeFeed).
            CREATE TABLE {0}.changes (
                revision bigint  NOT NULL,
                ordinal  integer NOT NULL,
                kind     text    NOT NULL,
                id       text    NOT NULL,
                body     jsonb   NULL,
                sealed   bytea   NULL,
                position bigint  NULL,
                PRIMARY KEY (revision, ordinal)
            );
            CREATE INDEX changes_position ON {0}.changes (position) WHERE position IS NOT NULL;
            CREATE INDEX changes_unpositioned ON {0}.changes (revision) WHERE position IS NULL;
            -- One row per append, as an object store would keep them: an append never rewrites a log.
            CREATE TABLE {0}.session_logs (
                session_id text      NOT NULL,
                segment    bigserial NOT NULL,
                payload    bytea     NOT NULL,
                PRIMARY KEY (session_id, segment)
            );
            CREATE TABLE {0}.reports (
                id      text  PRIMARY KEY,
                payload bytea NOT NULL
            );
            """),
        new("task listing columns and indexes", """
            -- GET /api/tasks is answered from these (TaskListing): status, tool and the sort keys (UTC ticks of
            -- created_at/updated_at, the smallest bigint when absent, as the core orders them), written with every
            -- task row under the identity codec. A sealed row keeps them null and listed false (its status, tool and
            -- times stay as private as its body); a row written before this version is listed when an instance opens.
            ALTER TABLE {0}.items
                ADD COLUMN status      text    NULL,
                ADD COLUMN tool        text    NULL,
                ADD COLUMN created_key bigint  NULL,
                ADD COLUMN updated_key bigint  NULL,
                ADD COLUMN listed      boolean NOT NULL DEFAULT false;
            -- Ids order ordinally (byte order), as the core's maps do, whatever the database's collation.
            CREATE INDEX items_tasks_by_id ON {0}.items (id COLLATE "C") WHERE kind = 'task';
            CREATE INDEX items_tasks_by_created ON {0}.items (created_key, id COLLATE "C") WHERE kind = 'task';
            CREATE INDEX items_tasks_by_updated ON {0}.items (updated_key, id COLLATE "C") WHERE kind = 'task';
            CREATE INDEX items_tasks_by_status ON {0}.items (status, id COLLATE "C") WHERE kind = 'task';
            CREATE INDEX items_tasks_by_status_updated ON {0}.items (status, updated_key, id COLLATE "C") WHERE kind = 'task';
            CREATE INDEX items_tasks_by_tool ON {0}.items (tool, id COLLATE "C") WHERE kind = 'task';
            -- Finds quickly whether any task is not listed (then the core answers from memory instead).
            CREATE INDEX items_tasks_unlisted ON {0}.items (id) WHERE kind = 'task' AND NOT listed;
            """),
        new("a bounded change log: when each change was numbered, and the pruned horizon", """
            -- When the feed numbered the change (the database's clock, taken under the numbering lock, so it grows
            -- with the position): the retention window counts from here, not from the writer's start, so a change
            -- whose transaction stalled before committing still gets the whole window once readers can see it.
            -- The rows numbered before this version get the whole window from now; one numbered later by an instance
            -- of an earlier version (which leaves it null) gets it from when the pruner first finds it.
            ALTER TABLE {0}.changes ADD COLUMN numbered_at timestamptz NULL;
            UPDATE {0}.changes SET numbered_at = now() WHERE position IS NOT NULL;
            -- Every change at or below this position has been pruned (ChangePruner): a reader asking for the
            -- changes after an older position has lost its place and reloads instead. One row.
            CREATE TABLE {0}.feed_horizon (
                only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
                position bigint  NOT NULL
            );
            INSERT INTO {0}.feed_horizon (position) VALUES (0);
            """),
        new("the key id of every stored payload, indexed, for the background re-encryption", """
            -- The key id a stored payload's envelope names (EnvelopeFormat: magic 'SPEV', version, flags, codec id
            -- length, key id length, codec id, key id), as bytes: '' for a payload in the clear (an identity envelope,
            -- or the plain JSON of the identity codec's forms), null for no payload. Computed from the stored bytes,
            -- so every row is covered whoever wrote it (an instance of an earlier version included), and nothing has
            -- to be backfilled. Not strict, so PostgreSQL inlines it and an index on it matches a query's use of it.
            CREATE FUNCTION {0}.payload_key_id(payload bytea) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                SELECT CASE
                    WHEN payload IS NULL THEN NULL
                    WHEN octet_length(payload) >= 8 AND substring(payload FROM 1 FOR 4) = decode('53504556', 'hex')
                        THEN substring(payload FROM 9 + get_byte(payload, 6) FOR get_byte(payload, 7))
                    ELSE ''::bytea
                END
            $$;
            -- The rows under a key other than the active one are found by range scans of these (key < k OR key > k),
            -- so a step and its count cost the rows still to rewrite, not a scan of every row.
            CREATE INDEX items_key_id ON {0}.items ({0}.payload_key_id(sealed));
            CREATE INDEX changes_key_id ON {0}.changes ({0}.payload_key_id(sealed));
            CREATE INDEX session_logs_key_id ON {0}.session_logs ({0}.payload_key_id(payload));
            CREATE INDEX reports_key_id ON {0}.reports ({0}.payload_key_id(payload));
            """),
        new("the bytes each session's log takes as stored, kept by a trigger, for the quota check", """
            -- The quota check before every append read the sum of the log's payloads: every row of the log, each
            -- append (8-9 ms at 100,000 appends). A trigger keeps the sum instead, so an instance of an earlier
            -- version writing beside this one keeps it too, and a re-encryption's rewrite of a payload is counted.
            -- Sixteen counters a session (by segment): one would make every append to a session wait for the one
            -- before to commit (its row lock), where appends on other connections now mostly take other counters.
            -- The functions run as their owner (the role that upgraded the schema): a role granted the tables
            -- before this version existed appends and reads the size without a grant on the new table.
            CREATE TABLE {0}.session_log_sizes (
                session_id text     NOT NULL,
                stripe     smallint NOT NULL,
                bytes      bigint   NOT NULL,
                PRIMARY KEY (session_id, stripe)
            );
            INSERT INTO {0}.session_log_sizes (session_id, stripe, bytes)
                SELECT session_id, segment % 16, sum(octet_length(payload)) FROM {0}.session_logs GROUP BY 1, 2;
            CREATE FUNCTION {0}.count_session_log_bytes() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
                SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN
                    UPDATE {0}.session_log_sizes SET bytes = bytes - octet_length(OLD.payload)
                        WHERE session_id = OLD.session_id AND stripe = OLD.segment % 16;
                END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    INSERT INTO {0}.session_log_sizes AS s (session_id, stripe, bytes)
                        VALUES (NEW.session_id, NEW.segment % 16, octet_length(NEW.payload))
                        ON CONFLICT (session_id, stripe) DO UPDATE SET bytes = s.bytes + excluded.bytes;
                END IF;
                RETURN NULL;
            END
            $$;
            CREATE TRIGGER session_log_bytes AFTER INSERT OR UPDATE OF session_id, segment, payload OR DELETE ON {0}.session_logs
                FOR EACH ROW EXECUTE FUNCTION {0}.count_session_log_bytes();
            CREATE FUNCTION {0}.session_log_bytes(of_session text) RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
                SET search_path = pg_catalog, pg_temp AS $$
                SELECT coalesce(sum(bytes), 0)::bigint FROM {0}.session_log_sizes WHERE session_id = of_session
            $$;
            """),
        new("the reports in listing order, and their number kept by a trigger, for the paged listing and the quota", """
            -- GET /api/reports read every id to serve one page, sorted in "C" order (which the primary key's collation
            -- need not give), and the MaxReports check before every report save read them all again. An index in that
            -- order answers a page, and counters kept by a trigger answer the check, also for an instance of an
            -- earlier version writing beside this one. Sixteen counters (by a hash of the id), as for the session log
            -- sizes: one would make every new report wait for the one before it to commit.
            CREATE INDEX reports_by_id ON {0}.reports (id COLLATE "C");
            CREATE TABLE {0}.report_counts (
                stripe  smallint PRIMARY KEY,
                reports bigint   NOT NULL
            );
            INSERT INTO {0}.report_counts (stripe, reports)
                SELECT s, (SELECT count(*) FROM {0}.reports WHERE hashtext(id) & 15 = s) FROM generate_series(0, 15) AS s;
            CREATE FUNCTION {0}.count_reports() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
                SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                IF TG_OP = 'TRUNCATE' THEN
                    UPDATE {0}.report_counts SET reports = 0;
                    RETURN NULL;
                END IF;
                IF TG_OP IN ('UPDATE', 'DELETE') THEN
                    UPDATE {0}.report_counts SET reports = reports - 1 WHERE stripe = hashtext(OLD.id) & 15;
                END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    UPDATE {0}.report_counts SET reports = reports + 1 WHERE stripe = hashtext(NEW.id) & 15;
                END IF;
                RETURN NULL;
            END
            $$;
            CREATE TRIGGER reports_count AFTER INSERT OR UPDATE OF id OR DELETE ON {0}.reports
                FOR EACH ROW EXECUTE FUNCTION {0}.count_reports();
            CREATE TRIGGER reports_count_truncate AFTER TRUNCATE ON {0}.reports
                FOR EACH STATEMENT EXECUTE FUNCTION {0}.count_reports();
            CREATE FUNCTION {0}.report_count() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
                SET search_path = pg_catalog, pg_temp AS $$
                SELECT coalesce(sum(reports), 0)::bigint FROM {0}.report_counts
            $$;
            """),
        new("session log parts and the retention pass's cap", """
            -- The retention policy's session log cap (RetentionOptions.SessionLogMaxBytes): a rotation marks the last
            -- segment of the live log, so the appends up to it become part 1 and the parts before move down one; the
            -- part beyond the number kept is deleted with its rows. A part is a range of segments, never a copy: a
            -- rotation writes one row whatever the log's size, and reads go on reading every row in order. bytes is
            -- what the part held when it was rotated out, so the live log's size stays one lookup away.
            CREATE TABLE {0}.session_log_parts (
                session_id   text   NOT NULL,
                last_segment bigint NOT NULL,
                bytes        bigint NOT NULL,
                PRIMARY KEY (session_id, last_segment)
            );
            -- A row of a part written after the part was marked keeps the part's bytes true: a re-encryption that
            -- reseals it (enabling encryption grows every row by its envelope), or an append that took its segment
            -- before the rotation and inserts after the mark committed. A new append finds no part above it, so it
            -- costs one probe of the part index. Deletes are left to cap_session_log, which drops a part's mark
            -- with its rows (a per-row update of the mark would rewrite it once per row).
            CREATE OR REPLACE FUNCTION {0}.count_session_log_bytes() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
                SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN
                    UPDATE {0}.session_log_sizes SET bytes = bytes - octet_length(OLD.payload)
                        WHERE session_id = OLD.session_id AND stripe = OLD.segment % 16;
                END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    INSERT INTO {0}.session_log_sizes AS s (session_id, stripe, bytes)
                        VALUES (NEW.session_id, NEW.segment % 16, octet_length(NEW.payload))
                        ON CONFLICT (session_id, stripe) DO UPDATE SET bytes = s.bytes + excluded.bytes;
                    UPDATE {0}.session_log_parts AS p
                        SET bytes = p.bytes + octet_length(NEW.payload) - CASE WHEN TG_OP = 'UPDATE' THEN octet_length(OLD.payload) ELSE 0 END
                        WHERE p.session_id = NEW.session_id AND p.last_segment = (
                            SELECT min(q.last_segment) FROM {0}.session_log_parts AS q
                            WHERE q.session_id = NEW.session_id AND q.last_segment >= NEW.segment);
                END IF;
                RETURN NULL;
            END
            $$;
            -- The size a quota measures is the live log's, as on files, so a rotation makes room under it again:
            -- every row's bytes less the parts'. Over by an append only while one that took its segment before a
            -- rotation inserted before the mark committed, until that part is dropped.
            CREATE OR REPLACE FUNCTION {0}.session_log_bytes(of_session text) RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
                SET search_path = pg_catalog, pg_temp AS $$
                SELECT greatest(0,
                    coalesce((SELECT sum(s.bytes) FROM {0}.session_log_sizes AS s WHERE s.session_id = of_session), 0)
                    - coalesce((SELECT sum(p.bytes) FROM {0}.session_log_parts AS p WHERE p.session_id = of_session), 0))::bigint
            $$;
            -- The logs that may be past a cap: their whole size (every part) is over it. Run as the owner, as
            -- session_log_bytes is, for a role granted the tables before version 5.
            CREATE FUNCTION {0}.session_logs_larger_than(min_bytes bigint) RETURNS SETOF text LANGUAGE sql STABLE SECURITY DEFINER
                SET search_path = pg_catalog, pg_temp AS $$
                SELECT session_id FROM {0}.session_log_sizes GROUP BY session_id HAVING sum(bytes) > min_bytes
                ORDER BY session_id COLLATE "C"
            $$;
            -- Every instance runs the retention pass; the first to claim it in an interval does it, the others skip.
            -- The claim is one row, taken atomically by its upsert: a second claim waits for the first and then finds
            -- it too recent. An instance that dies in its pass leaves the next interval's claim to any instance.
            CREATE TABLE {0}.retention_passes (
                id         smallint    PRIMARY KEY CHECK (id = 1),
                started_at timestamptz NOT NULL
            );
            CREATE FUNCTION {0}.claim_retention_pass(every interval) RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
                SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                INSERT INTO {0}.retention_passes AS r (id, started_at) VALUES (1, clock_timestamp())
                    ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at
                    WHERE r.started_at <= excluded.started_at - every;
                RETURN FOUND;
            END
            $$;
            -- One log's cap, in one transaction: nothing when its live part is within max_bytes; else a rotation
            -- (kept_parts > 0), or with no part kept a cut to the newest whole appends within half the cap. Passes of
            -- several instances take the log's advisory lock in turn, so the second finds the log within the cap.
            CREATE FUNCTION {0}.cap_session_log(of_session text, max_bytes bigint, kept_parts integer)
                RETURNS TABLE (log_bytes bigint, bytes_freed bigint, rotated boolean) LANGUAGE plpgsql SECURITY DEFINER
                SET search_path = pg_catalog, pg_temp AS $$
            DECLARE
                live_after bigint;
                live       bigint;
                newest     bigint;
                cut        bigint;
                freed      bigint := 0;
            BEGIN
                PERFORM pg_advisory_xact_lock(hashtext('{0}.session_log_parts'), hashtext(of_session));
                -- Marks below the log's first row are of rows deleted since (by hand, or the log begun again).
                DELETE FROM {0}.session_log_parts AS p WHERE p.session_id = of_session AND p.last_segment <
                    coalesce((SELECT min(l.segment) FROM {0}.session_logs AS l WHERE l.session_id = of_session), 9223372036854775807);
                SELECT coalesce(max(p.last_segment), 0) INTO live_after FROM {0}.session_log_parts AS p WHERE p.session_id = of_session;
                SELECT coalesce(sum(octet_length(l.payload)), 0), max(l.segment) INTO live, newest
                    FROM {0}.session_logs AS l WHERE l.session_id = of_session AND l.segment > live_after;
                IF live <= max_bytes THEN
                    RETURN;
                END IF;
                IF kept_parts > 0 THEN
                    INSERT INTO {0}.session_log_parts (session_id, last_segment, bytes) VALUES (of_session, newest, live);
                    SELECT p.last_segment INTO cut FROM {0}.session_log_parts AS p WHERE p.session_id = of_session
                        ORDER BY p.last_segment DESC OFFSET kept_parts LIMIT 1;
                ELSE
                    SELECT max(sized.segment) INTO cut FROM (
                        SELECT l.segment, sum(octet_length(l.payload)) OVER (ORDER BY l.segment DESC) AS suffix
                        FROM {0}.session_logs AS l WHERE l.session_id = of_session) AS sized
                    WHERE sized.suffix > max_bytes / 2;
                END IF;
                IF cut IS NOT NULL THEN
                    WITH gone AS (
                        DELETE FROM {0}.session_logs AS l WHERE l.session_id = of_session AND l.segment <= cut
                        RETURNING octet_length(l.payload) AS bytes)
                    SELECT coalesce(sum(gone.bytes), 0) INTO freed FROM gone;
                    DELETE FROM {0}.session_log_parts AS p WHERE p.session_id = of_session AND (kept_parts = 0 OR p.last_segment <= cut);
                END IF;
                RETURN QUERY SELECT live, freed, kept_parts > 0;
            END
            $$;
            """),
        new("task archives", """
            -- The task archive (RetentionOptions.TaskArchiveAfter, statectl archive): each archive the .tar.gz the file
            -- store writes, byte for byte, under a new name each time, rewritten only by the re-encryption. task_ids
            -- are the tasks its manifest holds, so a run cut short after its archive committed is found and finished;
            -- key_id is the key its entries are sealed with (null: in the clear), for the key usage and the
            -- re-encryption. Compressed already: kept out of line as it is, not compressed again.
            CREATE TABLE {0}.task_archives (
                name       text        PRIMARY KEY,
                created_at timestamptz NOT NULL DEFAULT now(),
                task_ids   text[]      NOT NULL,
                key_id     text        NULL,
                content    bytea       NOT NULL
            );
            ALTER TABLE {0}.task_archives ALTER COLUMN content SET STORAGE EXTERNAL;
            CREATE INDEX task_archives_task_ids ON {0}.task_archives USING gin (task_ids);
            -- The roles the instances run as were granted the tables of the versions before (a DBA upgrades, the
            -- application's role only uses them): each role granted on items gets the same on task_archives, so an
            -- upgrade does not leave the retention pass refused by a table its role cannot touch.
            DO $grants$
            DECLARE
                granted record;
            BEGIN
                FOR granted IN
                    SELECT a.grantee::regrole::text AS grantee, a.privilege_type
                    FROM pg_catalog.pg_class AS c, aclexplode(c.relacl) AS a
                    WHERE c.oid = '{0}.items'::regclass AND a.grantee <> c.relowner AND a.grantee <> 0
                      AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
                LOOP
                    EXECUTE format('GRANT %s ON {0}.task_archives TO %s', granted.privilege_type, granted.grantee);
                END LOOP;
            END
            $grants$;
            """),
        new("damaged report marks", DamagedReportsStep),
    ];

    /// <summary>
    /// Brings <paramref name="schema"/> to <see cref="CurrentVersion"/>, creating it when absent. Returns the version
    /// it found (0 for a new schema).
    /// <para>
    /// A schema already at this version is only read: no DDL runs, so a role that may only read and write the store's
    /// tables (the schema created or upgraded by another role) opens it. PostgreSQL checks the CREATE privilege of
    /// <c>CREATE SCHEMA IF NOT EXISTS</c> and <c>CREATE TABLE IF NOT EXISTS</c> before it looks whether the object
    /// exists, so those statements run only when something is missing.
    /// </para>
    /// <para>
    /// An upgrade runs without the connection's Command Timeout: it is done once, by one instance, and may rewrite a
    /// large change log or build indexes over every row (under a 30 s limit such a database could never be upgraded:
    /// each start rolled the work back). It first takes every table of the store in one lock (see
    /// <see cref="LockTablesAsync"/>), so it never deadlocks with the writes of instances still running.
    /// </para>
    /// </summary>
    public static async Task<int> EnsureAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        ValidateName(schema);
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (await ReadVersionAsync(connection, null, schema, cancellationToken).ConfigureAwait(false) is { } current && current >= CurrentVersion)
        {
            RefuseNewer(schema, current);
            return current;
        }

        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", connection, transaction))
        {
            // Another instance may be upgrading: wait for it however long its upgrade takes.
            lockCommand.CommandTimeout = 0;
            lockCommand.Parameters.AddWithValue(UpgradeLockKey(schema));
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        int found;
        try
        {
            if (await ReadVersionAsync(connection, transaction, schema, cancellationToken).ConfigureAwait(false) is { } recorded)
            {
                found = recorded;
            }
            else
            {
                await CreateVersionTableAsync(connection, transaction, schema, cancellationToken).ConfigureAwait(false);
                found = 0;
            }

            RefuseNewer(schema, found);
            if (found > 0 && found < CurrentVersion)
            {
                await LockTablesAsync(connection, transaction, schema, cancellationToken).ConfigureAwait(false);
            }

            for (int version = found; version < CurrentVersion; version++)
            {
                Step step = Steps[version];
                await ExecuteAsync(connection, transaction, string.Format(System.Globalization.CultureInfo.InvariantCulture, step.Sql, schema),
                    cancellationToken).ConfigureAwait(false);
                await using var record = new NpgsqlCommand($"INSERT INTO {schema}.schema_version (version, description) VALUES ($1, $2)",
                    connection, transaction);
                record.Parameters.AddWithValue(version + 1);
                record.Parameters.AddWithValue(step.Description);
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new StateStorageException(
                $"The PostgreSQL schema '{schema}' needs creating or upgrading to version {CurrentVersion}, and this role may not: " +
                $"{ex.SqlState}: {ex.MessageText}. Start one instance with the role that owns the schema's tables (for a new schema, one " +
                "with CREATE on the database, or the schema's owner), or run 'statectl migrate apply --store postgres' with that role; once it " +
                "is at this version, a role that may only read and write its tables opens it.", schema, ex, isTransient: false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return found;
    }

    /// <summary>
    /// For a read-only look (an operator's tool, not a store): throws <see cref="PostgresStoreNotFoundException"/> naming
    /// the schema when it has no version table (it does not exist, or no store ever created it),
    /// <see cref="StateStorageException"/> when it is older than
    /// <paramref name="needed"/> (an instance of this build upgrades it when it starts), and
    /// <see cref="StateFormatException"/> when a newer build wrote it. Creates and changes nothing. The caller has
    /// checked the name (<see cref="ValidateName"/>).
    /// </summary>
    public static async Task RequireVersionAsync(NpgsqlConnection connection, string schema, string location, int needed, CancellationToken cancellationToken)
    {
        int? found = await ReadVersionAsync(connection, null, schema, cancellationToken).ConfigureAwait(false);
        if (found is null)
        {
            throw new PostgresStoreNotFoundException(
                $"The PostgreSQL schema '{schema}' at {location} holds no StatePersistence store (no {schema}.schema_version table): check the schema name ({PostgresStoreNotFoundException.SchemaSetting}, default '{PostgresStateStore.DefaultSchema}') and the database. Nothing was changed.",
                schema, location);
        }

        RefuseNewer(schema, found.Value);
        if (found < needed)
        {
            throw new StateStorageException(
                $"The PostgreSQL schema '{schema}' at {location} is at version {found}; this needs version {needed} or later: start one instance of this build on it (it upgrades the schema), then run this again. Nothing was changed.",
                location, inner: null, isTransient: false);
        }
    }

    /// <summary>The backend holding <paramref name="schema"/>'s upgrade lock (<see cref="UpgradeLockKey"/>): one creating or upgrading it now; null when none is.</summary>
    internal static Task<int?> UpgradeHolderAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken) =>
        AdvisoryLockHolderAsync(connection, UpgradeLockKey(schema), cancellationToken);

    /// <summary>The backend holding the advisory lock on <c>hashtextextended(<paramref name="key"/>, 0)</c> in this database; null when none does.</summary>
    internal static async Task<int?> AdvisoryLockHolderAsync(NpgsqlConnection connection, string key, CancellationToken cancellationToken)
    {
        // An advisory lock on one bigint shows in pg_locks as its high and low halves (classid, objid) with objsubid 1.
        await using var holder = new NpgsqlCommand("""
            SELECT pid FROM pg_catalog.pg_locks
            WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
              AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)
            LIMIT 1
            """, connection);
        holder.Parameters.AddWithValue(key);
        return await holder.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is int pid ? pid : null;
    }

    /// <summary>The version recorded in <paramref name="schema"/>, or null when it has no version table (or does not exist).</summary>
    internal static async Task<int?> ReadVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string schema,
        CancellationToken cancellationToken)
    {
        // Read from the catalog with the statement's snapshot, not through to_regclass: its lookup takes no lock, so it
        // may answer from this session's cache as it was before another instance created the table while this one
        // waited for the schema lock.
        await using (var exists = new NpgsqlCommand("""
            SELECT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = $1 AND c.relname = 'schema_version')
            """, connection, transaction))
        {
            exists.Parameters.AddWithValue(schema);
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                return null;
            }
        }

        await using var versionCommand = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {schema}.schema_version", connection, transaction);
        return Convert.ToInt32(await versionCommand.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false),
            System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Creates the schema when it is missing (only then: see <see cref="EnsureAsync"/>), and its version table.</summary>
    private static async Task CreateVersionTableAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema,
        CancellationToken cancellationToken)
    {
        await using (var exists = new NpgsqlCommand("SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = $1)", connection, transaction))
        {
            exists.Parameters.AddWithValue(schema);
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                await ExecuteAsync(connection, transaction, $"CREATE SCHEMA IF NOT EXISTS {schema}", cancellationToken).ConfigureAwait(false);
            }
        }

        await ExecuteAsync(connection, transaction, $"""
            CREATE TABLE IF NOT EXISTS {schema}.schema_version (
                version     integer     PRIMARY KEY,
                description text        NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            );
            """, cancellationToken).ConfigureAwait(false);
    }

    private static void RefuseNewer(string schema, int found)
    {
        if (found > CurrentVersion)
        {
            throw new StateFormatException(
                $"The PostgreSQL schema '{schema}' is at version {found}; this build knows versions up to {CurrentVersion}. " +
                "It was written by a newer StatePersistence and is left untouched; run this program from a build of that version or later.", schema);
        }
    }

    /// <summary>
    /// Takes every table of the store (those of version 1) in ACCESS EXCLUSIVE mode before an upgrade's first step,
    /// trying for <see cref="LockAttempt"/> at a time. Instances still running write while the upgrade waits, and not all
    /// in one order: this build's writer takes <c>changes</c> then <c>items</c>, earlier builds <c>items</c> then
    /// <c>changes</c>. Had the steps taken their locks as they came (version 3 alters <c>changes</c>, version 4 then
    /// indexes <c>items</c>), a writer holding one table and waiting for the other deadlocked with the upgrade, and
    /// PostgreSQL aborted one of them: a 503 on that instance, or this start refused. Here an attempt that does not get
    /// them all in time is rolled back to its savepoint, which releases what it got, so the writer waiting behind it goes
    /// on, and the upgrade tries again: writes wait for the upgrade, none fails for it.
    /// </summary>
    private static async Task LockTablesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema,
        CancellationToken cancellationToken)
    {
        const string Savepoint = "store_tables";
        while (true)
        {
            await transaction.SaveAsync(Savepoint, cancellationToken).ConfigureAwait(false);
            try
            {
                await ExecuteAsync(connection, transaction, $"""
                    SET LOCAL lock_timeout = {(int)LockAttempt.TotalMilliseconds};
                    LOCK TABLE {schema}.items, {schema}.changes, {schema}.session_logs, {schema}.reports IN ACCESS EXCLUSIVE MODE;
                    SET LOCAL lock_timeout = DEFAULT;
                    """, cancellationToken).ConfigureAwait(false);
                await transaction.ReleaseAsync(Savepoint, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.LockNotAvailable)
            {
                await transaction.RollbackAsync(Savepoint, cancellationToken).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(10, 100)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Refuses a schema name that is not a plain lower-case SQL identifier: it is written into statements, never quoted
    /// from user input.
    /// </summary>
    public static void ValidateName(string schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (!Identifier().IsMatch(schema))
        {
            throw new ArgumentException(
                $"The PostgreSQL schema name '{schema}' is not allowed: use 1-63 characters of a-z, 0-9 and '_', starting with a letter or '_'.",
                nameof(schema));
        }

        // Unquoted, a reserved word is a syntax error in the first statement; PostgreSQL keeps pg_ names for itself
        // (creating one fails) and information_schema is its own, which a store must never fill.
        if (ReservedWords.Contains(schema) || schema.StartsWith("pg_", StringComparison.Ordinal) || schema == "information_schema")
        {
            throw new ArgumentException(
                $"The PostgreSQL schema name '{schema}' is not allowed: {(ReservedWords.Contains(schema) ? "it is a reserved word of SQL" : "PostgreSQL keeps it for its own")}; choose another name.",
                nameof(schema));
        }
    }

    /// <summary>
    /// PostgreSQL's reserved key words, those no unquoted identifier may be (<c>pg_get_keywords()</c>, categories R and
    /// T, of version 15, with <c>system_user</c>, reserved since 16).
    /// </summary>
    private static readonly FrozenSet<string> ReservedWords = FrozenSet.ToFrozenSet(
    [
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "binary", "both", "case", "cast",
        "check", "collate", "collation", "column", "concurrently", "constraint", "create", "cross", "current_catalog", "current_date",
        "current_role", "current_schema", "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct",
        "do", "else", "end", "except", "false", "fetch", "for", "foreign", "freeze", "from", "full", "grant", "group", "having", "ilike", "in",
        "initially", "inner", "intersect", "into", "is", "isnull", "join", "lateral", "leading", "left", "like", "limit", "localtime",
        "localtimestamp", "natural", "not", "notnull", "null", "offset", "on", "only", "or", "order", "outer", "overlaps", "placing",
        "primary", "references", "returning", "right", "select", "session_user", "similar", "some", "symmetric", "system_user", "table",
        "tablesample", "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "verbose", "when", "where", "window",
        "with",
    ], StringComparer.Ordinal);

    /// <summary>Runs <paramref name="sql"/> without a time limit: the creation and the upgrade run once (see <see cref="EnsureAsync"/>).</summary>
    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();

    private sealed record Step(string Description, string Sql);
}
