using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Encryption;
using StatePersistence.Postgres.Tests.Reencryption;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Reading;

/// <summary>
/// <c>statectl verify --store postgres</c>, the real tool against the real database: a sound store is OK with every
/// row read back; damage of each kind it looks for (a sealed report and a log append altered at rest, a change missing
/// from the feed, an item row that is not what its newest change left, listing columns that disagree with the JSON or
/// fill a sealed row's, counters and rotated log parts that disagree with their rows) is named row by row, exit 1, and
/// the read changes nothing. Before, a PostgreSQL deployment had no way to check its rows but to start an instance, which reads
/// the items only and stops at the first it cannot open.
/// </summary>
public sealed class StatectlVerifyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The connection string as an operator would give it: in the variable, not on the command line.</summary>
    private static Dictionary<string, string> Environment => new() { ["STATEPERSISTENCE_CONNECTION_STRING"] = PostgresServer.ConnectionString };

    [Fact]
    public async Task ASoundStore_IsOk_WithEveryRowReadBack()
    {
        await using EncryptedSchema schema = await EncryptedSchema.PopulatedAndSealedAsync();
        long changes = await schema.ScalarAsync("SELECT count(*) FROM {0}.changes WHERE body IS NOT NULL OR sealed IS NOT NULL");

        StatectlRun json = await VerifyAsync(schema, "--key-file", schema.KeyFile, "--json");
        StatectlRun text = await VerifyAsync(schema, "--key-file", schema.KeyFile);
        StatectlRun keyless = await VerifyAsync(schema);

        Assert.True(json.ExitCode == 0, json.ToString());
        JsonElement report = json.Json();
        Assert.True(report.GetProperty("ok").GetBoolean());
        Assert.EndsWith($"#{schema.Name}", report.GetProperty("database").GetString(), StringComparison.Ordinal);
        JsonElement rows = report.GetProperty("rowsChecked");
        Assert.Equal(EncryptedSchema.Items + 2, rows.GetProperty("items").GetInt64()); // the tasks, the session, the application's properties
        Assert.Equal(changes, rows.GetProperty("changes").GetInt64());
        Assert.Equal(EncryptedSchema.Items, rows.GetProperty("sessionLogRows").GetInt64());
        Assert.Equal(EncryptedSchema.Items, rows.GetProperty("reports").GetInt64());
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("OK: no problems in the PostgreSQL store postgresql://", Words(text.Output), StringComparison.Ordinal);
        Assert.True(keyless.ExitCode == 1, keyless.ToString());
        Assert.Contains("The PostgreSQL store holds sealed rows", keyless.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.ConnectionString, json.ToString() + text + keyless, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachKindOfDamage_IsNamedRowByRow_AndTheReadChangesNothing()
    {
        await using EncryptedSchema schema = await EncryptedSchema.PopulatedAndSealedAsync();
        // A sealed report and a log append with their last byte flipped at rest: their envelope checksums fail.
        const string FlippedPayload = "payload = set_byte(payload, octet_length(payload) - 1, get_byte(payload, octet_length(payload) - 1) # 1)";
        Assert.Equal(1, await schema.ScalarAsync($"WITH u AS (UPDATE {{0}}.reports SET {FlippedPayload} WHERE id = 'r3' RETURNING 1) SELECT count(*) FROM u"));
        long segment = await schema.ScalarAsync($"WITH u AS (UPDATE {{0}}.session_logs SET {FlippedPayload} WHERE session_id = 's2' RETURNING segment) SELECT min(segment) FROM u");
        // A change gone from the middle of the feed, and an item row that is not what its newest change left.
        long gap = await schema.ScalarAsync("WITH d AS (DELETE FROM {0}.changes WHERE kind = 'task' AND id = 't4' RETURNING position) SELECT min(position) FROM d");
        long written = await schema.ScalarAsync("SELECT max(revision) FROM {0}.changes WHERE kind = 'task' AND id = 't6'");
        Assert.Equal(1, await schema.ScalarAsync("WITH u AS (UPDATE {0}.items SET revision = revision + 100 WHERE kind = 'task' AND id = 't6' RETURNING 1) SELECT count(*) FROM u"));
        // Counters that no longer agree with their rows, as rows changed with the triggers off would leave them.
        Assert.Equal(1, await schema.ScalarAsync("WITH u AS (UPDATE {0}.session_log_sizes SET bytes = bytes + 5 WHERE session_id = 's5' RETURNING 1) SELECT count(*) FROM u"));
        Assert.Equal(1, await schema.ScalarAsync("WITH u AS (UPDATE {0}.report_counts SET reports = reports + 1 WHERE stripe = 0 RETURNING 1) SELECT count(*) FROM u"));
        // A sealed task's status written beside it in clear.
        Assert.Equal(1, await schema.ScalarAsync("WITH u AS (UPDATE {0}.items SET status = 'completed', listed = true WHERE kind = 'task' AND id = 't8' RETURNING 1) SELECT count(*) FROM u"));
        long s5 = await schema.ScalarAsync("SELECT sum(octet_length(payload)) FROM {0}.session_logs WHERE session_id = 's5'");
        long last = await schema.ScalarAsync("SELECT max(position) FROM {0}.changes");
        Assert.True(gap > 0 && gap < last, $"the deleted change had position {gap}, the feed ends at {last}");
        string before = await DumpAsync(schema);

        StatectlRun json = await VerifyAsync(schema, "--key-file", schema.KeyFile, "--json");
        StatectlRun text = await VerifyAsync(schema, "--key-file", schema.KeyFile);

        Assert.True(json.ExitCode == 1, json.ToString());
        JsonElement report = json.Json();
        Assert.False(report.GetProperty("ok").GetBoolean());
        var problems = report.GetProperty("problems").EnumerateArray()
            .Select(p => (Row: p.GetProperty("row").GetString()![(p.GetProperty("row").GetString()!.IndexOf('#', StringComparison.Ordinal) + schema.Name.Length + 1)..], Problem: p.GetProperty("problem").GetString()!))
            .OrderBy(p => p.Row, StringComparer.Ordinal).ToList();
        Assert.Equal(["/changes", $"/logs/s2/{segment}", "/logs/s5", "/reports", "/reports/r3", "/task/t6", "/task/t8"], problems.Select(p => p.Row));
        Assert.Contains($"the change feed has no position {gap} although {gap + 1} follows", problems[0].Problem, StringComparison.Ordinal);
        Assert.Contains("checksum fails", problems[1].Problem, StringComparison.Ordinal);
        Assert.StartsWith($"the size kept for the session log 's5' is {s5 + 5} bytes, its rows hold {s5}", problems[2].Problem, StringComparison.Ordinal);
        Assert.StartsWith($"the number of reports kept is {EncryptedSchema.Items + 1}, the table holds {EncryptedSchema.Items}", problems[3].Problem, StringComparison.Ordinal);
        Assert.Contains("checksum fails", problems[4].Problem, StringComparison.Ordinal);
        Assert.Equal($"the task 't6' was written at revision {written} (its newest change in the log), but items holds its row at revision {written + 100}", problems[5].Problem);
        Assert.StartsWith("the task 't8' is sealed, but its listing columns hold status 'completed', tool null, created_key null, updated_key null, listed true", problems[6].Problem, StringComparison.Ordinal);
        Assert.True(text.ExitCode == 1, text.ToString());
        Assert.Contains("7 problem(s) in the PostgreSQL store", Words(text.Output), StringComparison.Ordinal);
        Assert.Equal(before, await DumpAsync(schema));
    }

    [Fact]
    public async Task ListingColumnsAndRotatedLogParts_AreCheckedAgainstTheirRows()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        (StatePersistenceService service, PostgresStateStore store) = await schema.OpenAsync(encrypted: false);
        await using (service)
        {
            await EncryptedSchema.PopulateAsync(service);
            await service.AppendSessionLogAsync("s1", "second line\n", Ct);
            SessionLogTrim rotation = Assert.IsType<SessionLogTrim>(await store.CapSessionLogAsync("s1", 1, 2, Durability.Full, Ct));
            Assert.True(rotation.Rotated);
            await service.AppendSessionLogAsync("s1", "after the rotation\n", Ct);
        }

        // A task written before the listing columns existed (none filled, not listed) waits for the next start to list
        // it, and meanwhile every listing is answered from memory: not a problem.
        Assert.Equal(1, await schema.ScalarAsync("WITH u AS (UPDATE {0}.items SET status = NULL, tool = NULL, created_key = NULL, updated_key = NULL, listed = false WHERE kind = 'task' AND id = 't0' RETURNING 1) SELECT count(*) FROM u"));
        StatectlRun sound = await VerifyAsync(schema, "--json");
        Assert.True(sound.ExitCode == 0, sound.ToString());

        // A listed task whose status and update time no longer say what its JSON says, a session with a listing
        // column, and the first append of the rotated part deleted by hand (the size counter follows the delete, the
        // part's size does not).
        Assert.Equal(1, await schema.ScalarAsync("WITH u AS (UPDATE {0}.items SET status = 'failed' WHERE kind = 'task' AND id = 't2' RETURNING 1) SELECT count(*) FROM u"));
        long updated = await schema.ScalarAsync("WITH u AS (UPDATE {0}.items SET updated_key = updated_key + 1 WHERE kind = 'task' AND id = 't3' RETURNING updated_key - 1 AS was) SELECT min(was) FROM u");
        Assert.Equal(1, await schema.ScalarAsync("WITH u AS (UPDATE {0}.items SET tool = 'CLAUDECODE' WHERE kind = 'session' RETURNING 1) SELECT count(*) FROM u"));
        long part = await schema.ScalarAsync("SELECT bytes FROM {0}.session_log_parts WHERE session_id = 's1'");
        long mark = await schema.ScalarAsync("SELECT last_segment FROM {0}.session_log_parts WHERE session_id = 's1'");
        long deleted = await schema.ScalarAsync("WITH d AS (DELETE FROM {0}.session_logs WHERE session_id = 's1' AND segment = (SELECT min(segment) FROM {0}.session_logs WHERE session_id = 's1') RETURNING octet_length(payload)) SELECT min(octet_length) FROM d");
        string before = await DumpAsync(schema);

        StatectlRun json = await VerifyAsync(schema, "--json");

        Assert.True(json.ExitCode == 1, json.ToString());
        var problems = json.Json().GetProperty("problems").EnumerateArray()
            .Select(p => (Row: p.GetProperty("row").GetString()![(p.GetProperty("row").GetString()!.IndexOf('#', StringComparison.Ordinal) + schema.Name.Length + 1)..], Problem: p.GetProperty("problem").GetString()!, Revision: p.GetProperty("revision").GetInt64()))
            .OrderBy(p => p.Row, StringComparer.Ordinal).ToList();
        Assert.Equal(["/logs/s1", "/session/s-main", "/task/t2", "/task/t3"], problems.Select(p => p.Row));
        Assert.Equal(mark, problems[0].Revision);
        Assert.StartsWith($"the rotated part of the session log 's1' ending at segment {mark} was {part} bytes when rotated out, its rows now hold {part - deleted}: the live log is measured {deleted} bytes smaller", problems[0].Problem, StringComparison.Ordinal);
        Assert.StartsWith("the row is a session's, but its listing columns hold status null, tool 'CLAUDECODE'", problems[1].Problem, StringComparison.Ordinal);
        Assert.StartsWith("the listing columns of the task 't2' disagree with its JSON: status is 'failed' where its status gives 'pending'. GET /api/tasks", problems[2].Problem, StringComparison.Ordinal);
        Assert.StartsWith($"the listing columns of the task 't3' disagree with its JSON: updated_key is {updated + 1} where its updated_at gives {updated}.", problems[3].Problem, StringComparison.Ordinal);
        Assert.Equal(before, await DumpAsync(schema));
    }

    /// <summary>The console output with its wrapping undone (the console is 80 columns wide).</summary>
    private static string Words(string output) => System.Text.RegularExpressions.Regex.Replace(output, @"\s+", " ");

    private static Task<StatectlRun> VerifyAsync(EncryptedSchema schema, params string[] arguments) =>
        StatectlRun.RunAsync(["verify", .. arguments, "--store", "postgres", "--schema", schema.Name], environment: Environment);

    /// <summary>Every row the verification reads, as text: what it must leave exactly as it was.</summary>
    private static async Task<string> DumpAsync(EncryptedSchema schema) =>
        string.Join('\n', (await schema.RawRowsAsync()).Select(r => $"{r}:{r.Body}:{(r.Bytes is null ? "" : Convert.ToHexString(r.Bytes))}").Order(StringComparer.Ordinal))
        + $"\nrevisions {await schema.ScalarAsync("SELECT last_value FROM {0}.revisions")}, horizon {await schema.ScalarAsync("SELECT position FROM {0}.feed_horizon")}";
}
