using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests;

/// <summary>
/// A session log opened for a streamed read, then capped by the retention pass before the range is copied: the rows
/// the copy starts from (its checkpoint's) are gone. The reader serves the log as it was opened or fails saying it
/// changed; before 2026-12-07 it started from the first row still there and served its text at the offsets of the
/// rows the cap deleted, a 206 of other bytes than the range asked for, without a word.
/// </summary>
public sealed class SessionLogReadWhileCappedTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ACopyWhoseCheckpointRowWasCutAway_FailsSayingTheLogChanged_NeverServesOtherText()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await store.OpenAsync(Ct);
        await SessionLogRows.AppendAsync(store, "s1", "aaa1\n", "aaa2\n", "aaa3\n", "aaa4\n");
        await using ISessionLogReader reader = (await store.OpenSessionLogAsync("s1", Ct))!;
        Assert.Equal(20, reader.Length);

        // Four rows of one size: a cap just under three of them, keeping none rotated, cuts to the newest within half
        // the cap, which is the last row alone.
        long rowBytes;
        await using (var size = PostgresServer.DataSource.CreateCommand($"SELECT max(octet_length(payload)) FROM {schema.Name}.session_logs"))
        {
            rowBytes = (long)(int)(await size.ExecuteScalarAsync(Ct))!;
        }

        SessionLogTrim trim = (await store.CapSessionLogAsync("s1", 3 * rowBytes - 1, 0, Durability.Full, Ct))!;
        Assert.Equal(3 * rowBytes, trim.BytesFreed);

        using var sent = new MemoryStream();
        Exception? copied = await Record.ExceptionAsync(() => reader.CopyToAsync(sent, 0, 5, Ct).AsTask());
        Assert.NotEqual("aaa4\n", System.Text.Encoding.UTF8.GetString(sent.ToArray()));
        StateStorageException changed = Assert.IsType<StateStorageException>(copied);
        Assert.Contains("changed at segment", changed.Message, StringComparison.Ordinal);
        Assert.Contains("The log of session 's1'", changed.Message, StringComparison.Ordinal);
    }
}
