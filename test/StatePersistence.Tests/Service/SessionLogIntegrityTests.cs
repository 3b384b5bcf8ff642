using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>Session logs come back byte for byte, and damage to them is detected (issue 10 items 4 and 7).</summary>
public sealed class SessionLogIntegrityTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task TextEndingInNulBytes_ComesBackByteForByte_AfterACleanRestart()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.AppendSessionLogAsync("s1", "head\n", ct);
            await first.AppendSessionLogAsync("s1", "tail\0\0\0", ct);
        }

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal("head\ntail\0\0\0", await second.ReadSessionLogAsync("s1", ct));
        await second.AppendSessionLogAsync("s1", "more", ct);
        Assert.Equal("head\ntail\0\0\0more", await second.ReadSessionLogAsync("s1", ct));
    }

    [Fact]
    public async Task FlippedByteInASessionLog_IsDetectedAndReported_NotServedSilently()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.AppendSessionLogAsync("s1", "one\n", ct);
            await first.AppendSessionLogAsync("s1", "two\n", ct);
            await first.AppendSessionLogAsync("s1", "three\n", ct);
        }

        string log = _fixture.File("logs", "session_s1.log");
        byte[] bytes = await File.ReadAllBytesAsync(log, ct);
        int at = bytes.AsSpan().IndexOf("two"u8);
        bytes[at] ^= 0x01;
        await File.WriteAllBytesAsync(log, bytes, ct);

        await using StatePersistenceService second = await _fixture.OpenAsync();
        int detected = 0;
        second.CorruptionDetected += (_, _) => detected++;
        string? text = await second.ReadSessionLogAsync("s1", ct);

        Assert.DoesNotContain("uwo", text ?? "", StringComparison.Ordinal);
        Assert.Equal(1, detected);
        string aside = Assert.Single(Directory.GetFiles(_fixture.File("logs"), "session_s1.log.corrupt.*"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(aside, ct));
    }

    [Fact]
    public async Task SessionLogWhoseHeadIsZeroed_IsDetectedAndReported_NotServedAsPlainText()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.AppendSessionLogAsync("s1", "one\n", ct);
            await first.AppendSessionLogAsync("s1", "two\n", ct);
            await first.AppendSessionLogAsync("s1", "three\n", ct);
        }

        // The file header and the first append zeroed (a lost block): what is left must not pass for a plain-text log.
        string log = _fixture.File("logs", "session_s1.log");
        byte[] bytes = await File.ReadAllBytesAsync(log, ct);
        Array.Clear(bytes, 0, bytes.AsSpan().IndexOf("two"u8));
        await File.WriteAllBytesAsync(log, bytes, ct);

        await using StatePersistenceService second = await _fixture.OpenAsync();
        int detected = 0;
        second.CorruptionDetected += (_, _) => detected++;
        string? text = await second.ReadSessionLogAsync("s1", ct);

        Assert.Equal("three\n", text);
        Assert.Equal(1, detected);
        Assert.Single(Directory.GetFiles(_fixture.File("logs"), "session_s1.log.corrupt.*"));
    }
}
