using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>The framed session log's crash tails and the version 1 (plain text) logs written before it.</summary>
public sealed class SessionLogFormatTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private string Log => _fixture.File("logs", "session_s1.log");

    [Fact]
    public async Task PlainTextLogOfAnEarlierVersion_IsReadAsItIs_AndAppendedToAfterConversion()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Directory.CreateDirectory(_fixture.File("logs"));
        await File.WriteAllTextAsync(Log, "written by version 1\n", ct);

        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            Assert.Equal("written by version 1\n", await first.ReadSessionLogAsync("s1", ct));
            await first.AppendSessionLogAsync("s1", "framed\0", ct);
            Assert.Equal("written by version 1\nframed\0", await first.ReadSessionLogAsync("s1", ct));
        }

        await using StatePersistenceService second = await _fixture.OpenAsync();
        Assert.Equal("written by version 1\nframed\0", await second.ReadSessionLogAsync("s1", ct));
    }

    [Fact]
    public async Task HalfAFrameLeftByACrash_IsRemovedAtStartup_AndTheNextAppendFollowsTheLastAcknowledgedOne()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.AppendSessionLogAsync("s1", "one\n", ct);
            await first.AppendSessionLogAsync("s1", "two\n", ct);
        }

        byte[] bytes = await File.ReadAllBytesAsync(Log, ct);
        await File.WriteAllBytesAsync(Log, bytes[..^5], ct);

        await using StatePersistenceService second = await _fixture.OpenAsync();
        Assert.Equal("one\n", await second.ReadSessionLogAsync("s1", ct));
        await second.AppendSessionLogAsync("s1", "three\n", ct);
        Assert.Equal("one\nthree\n", await second.ReadSessionLogAsync("s1", ct));
        Assert.Contains(second.LastRecovery!.Warnings, w => w.Contains("not a valid append", StringComparison.Ordinal));
    }
}
