namespace StatePersistence.Postgres.Schema;

internal static partial class PostgresSchema
{
    /// <summary>
    /// Version 9: the reports the retention pass found damaged. A report row that does not open (its payload fails its
    /// envelope's check) is evidence, never deleted; the file store moves such a report aside once, and a database has
    /// no aside, so the pass marks the row's version here and reports it only when it marks it: the passes after it, on
    /// any instance, find the mark and leave the row alone. A row saved anew is another version, judged afresh.
    /// </summary>
    private const string DamagedReportsStep = """
        -- One mark per report id: the version of its row (xmin) found damaged, why, and when. Marks of rows changed or
        -- gone since are dropped as new marks come, so the table holds the damage still in place.
        CREATE TABLE {0}.damaged_reports (
            id          text        PRIMARY KEY,
            row_version xid         NOT NULL,
            reason      text        NOT NULL,
            found_at    timestamptz NOT NULL DEFAULT now()
        );
        -- True when this call marked the version (the caller reports it), false when it was marked before. Several
        -- instances' passes meeting on a row: the upsert lets one mark it. Run as the owner, as the functions of
        -- version 7 are, so a role granted the tables before version 9 needs no new grant.
        CREATE FUNCTION {0}.mark_damaged_report(of_report text, version xid, why text) RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp AS $$
        BEGIN
            DELETE FROM {0}.damaged_reports AS d
                WHERE NOT EXISTS (SELECT 1 FROM {0}.reports AS r WHERE r.id = d.id AND r.xmin = d.row_version);
            INSERT INTO {0}.damaged_reports AS d (id, row_version, reason) VALUES (of_report, version, why)
                ON CONFLICT (id) DO UPDATE SET row_version = excluded.row_version, reason = excluded.reason, found_at = excluded.found_at
                WHERE d.row_version <> excluded.row_version;
            RETURN FOUND;
        END
        $$;
        """;
}
