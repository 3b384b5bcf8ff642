using System.Net;
using System.Net.Http.Headers;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>Measured alone: it counts the bytes the whole process allocates while the server answers.</summary>
[CollectionDefinition(nameof(AllocationMeasurements), DisableParallelization = true)]
public sealed class AllocationMeasurements;

/// <summary>
/// <c>GET /api/sessions/{id}/log</c> sends the log as it is read: its memory does not grow with the log, and damage
/// found once the body began going out aborts the answer, so a client cannot take a truncated log for the whole.
/// </summary>
[Collection(nameof(AllocationMeasurements))]
public sealed class SessionLogStreamingTests
{
    private const int AppendBytes = 64 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WholeAndRangedReadsOfALargeLog_AllocateFarLessThanTheLog()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        long size = await AppendAsync(server, "big", 256); // 16 MiB

        (long whole, HttpResponseMessage all, long allRead) = await MeasureAsync(client, "/api/sessions/big/log", null);
        (long tail, HttpResponseMessage part, long partRead) = await MeasureAsync(client, "/api/sessions/big/log", new RangeHeaderValue(size - 1000, null));

        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        Assert.Equal(size, all.Content.Headers.ContentLength);
        Assert.Equal(size, allRead);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal($"bytes {size - 1000}-{size - 1}/{size}", part.Content.Headers.ContentRange?.ToString());
        Assert.Equal(1000, partRead);
        Assert.True(whole < size / 4, $"sending the {size}-byte log allocated {whole} bytes in the process");
        Assert.True(tail < size / 4, $"sending the last 1000 bytes of the {size}-byte log allocated {tail} bytes in the process");
    }

    [Fact]
    public async Task DamageFoundAfterTheBodyBegan_AbortsTheAnswer_AndTheNextReadServesTheRepairedLog()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        long size = await AppendAsync(server, "s1", 128); // 8 MiB: far more than the response pipe holds unread

        using HttpResponseMessage answer = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/sessions/s1/log"),
            HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(size, answer.Content.Headers.ContentLength);
        await using Stream body = await answer.Content.ReadAsStreamAsync(Ct);
        byte[] buffer = new byte[AppendBytes];
        long read = await body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: true, Ct);

        // The server is held back by the unread body; an append in the second half is damaged in place now.
        string log = server.File("logs", "session_s1.log");
        using (var file = new FileStream(log, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = (file.Length / 4 * 3) + 17;
            file.WriteByte((byte)(file.ReadByte() ^ 0x01));
        }

        Exception aborted = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            int n;
            while ((n = await body.ReadAsync(buffer, Ct)) > 0)
            {
                read += n;
            }
        });

        Assert.True(aborted is IOException or HttpRequestException, $"not an aborted answer: {aborted}");
        Assert.True(read < size, $"all {read} bytes arrived: the damage was not found");
        Assert.Contains(server.Logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error
            && e.Text.Contains("was aborted after its headers were sent", StringComparison.Ordinal) && e.Text.Contains(log, StringComparison.Ordinal));

        // The next read finds the damage before it answers: the damaged append is kept aside and not served.
        HttpResponseMessage again = await client.GetUrlAsync("/api/sessions/s1/log");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(size - AppendBytes, again.Content.Headers.ContentLength);
        Assert.Single(Directory.GetFiles(server.File("logs"), "session_s1.log.corrupt.*"));
    }

    private static async Task<long> AppendAsync(StateServerFactory server, string sessionId, int appends)
    {
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/sessions", $$"""{"id":"{{sessionId}}","type":"i","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
        string text = new string('x', AppendBytes - 1) + "\n";
        for (int i = 0; i < appends; i++)
        {
            await server.Persistence.AppendSessionLogAsync(sessionId, text, Ct);
        }

        return (long)AppendBytes * appends;
    }

    /// <summary>A GET whose body is read through one reused buffer; what the process allocated meanwhile.</summary>
    private static async Task<(long Allocated, HttpResponseMessage Answer, long Read)> MeasureAsync(HttpClient client, string url, RangeHeaderValue? range)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = range;
        byte[] buffer = new byte[AppendBytes];
        long before = GC.GetTotalAllocatedBytes(precise: true);
        HttpResponseMessage answer = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        long read = 0;
        await using (Stream body = await answer.Content.ReadAsStreamAsync(Ct))
        {
            int n;
            while ((n = await body.ReadAsync(buffer, Ct)) > 0)
            {
                read += n;
            }
        }

        return (GC.GetTotalAllocatedBytes(precise: true) - before, answer, read);
    }
}
