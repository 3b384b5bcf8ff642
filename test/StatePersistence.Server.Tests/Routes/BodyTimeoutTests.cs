using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Configuration;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A request body holds its room in the body budget while it is read, so how long it may take is bounded too:
/// <c>RequestBodyTimeout</c>, then 408. Before it, a client with the key that declared 4 MiB and sent 240 bytes a
/// second (Kestrel's minimum rate) held its room for about five hours, and eight of them refused every other write with
/// 503; with the minimum rate turned off (0), for ever. The servers here turn the rate off, so that only the deadline
/// can end a slow body, and set it to 2 s; the clients send their bodies over their own sockets, a few bytes a second.
/// </summary>
public sealed class BodyTimeoutTests
{
    private const string Key = "body-timeout-tests-key-0123456789abcdef";

    private static readonly string[] SlowBodySettings =
    [
        "--StatePersistence:Server:MinRequestBodyBytesPerSecond", "0", "--StatePersistence:Server:RequestBodyTimeout", "00:00:02",
    ];

    [Fact]
    public async Task ASlowBody_Is408AtTheDeadline_NamingIt_AndItsRoomServesTheNextWrite()
    {
        using var directory = new TempDirectory();
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", directory.Combine("state"),
            "--StatePersistence:Server:MaxRequestBodyBytes", "1000", "--StatePersistence:Server:MaxBufferedBodyBytes", "1000", .. SlowBodySettings]);
        byte[] body = Encoding.ASCII.GetBytes($$"""{"id":"task_slow","description":"{{new string('s', 900)}}"}""");

        // The whole budget: while it is read no other body of 900 bytes fits.
        await using SlowUpload slow = await SlowUpload.StartAsync(server.Port,
            $"PUT /api/tasks/task_slow HTTP/1.1\r\nHost: 127.0.0.1:{server.Port}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n", body);

        SlowUploadAnswer answer = await slow.Answer;
        Assert.StartsWith("HTTP/1.1 408", answer.StatusLine, StringComparison.Ordinal);
        Assert.Contains("Connection: close", answer.Headers, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("\"limit\":\"StatePersistence:Server:RequestBodyTimeout\"", answer.Body, StringComparison.Ordinal);
        Assert.Contains("did not arrive within 00:00:02", answer.Body, StringComparison.Ordinal);

        // Another client's write gets the room back (polled: the room is given back as the request ends, a moment
        // after its answer went out).
        HttpResponseMessage stored = await UntilAsync(() => server.Client.PutJsonAsync("/api/tasks/task_next",
            $$"""{"description":"{{new string('n', 900)}}"}"""));
        await stored.ExpectAsync(HttpStatusCode.Created);
        await (await server.Client.GetUrlAsync("/api/tasks/task_slow")).ExpectProblemAsync(HttpStatusCode.NotFound);

        string metrics = await (await server.Client.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains("statepersistence_requests_refused_total{reason=\"body_timeout\",status=\"408\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains($"The body of PUT /api/tasks/task_slow ({body.Length} bytes) from 127.0.0.1 did not arrive within 00:00:02", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABodyBelowTheMinimumRate_IsTheSameRefusal_NamingThatSetting_CountedAndLogged()
    {
        // Kestrel ends a body below MinRequestBodyBytesPerSecond (after its 5 s grace) with a 408 exception of its own,
        // which was answered 400 "Malformed body ... See MinRequestBodyDataRate" (a Kestrel option no operator sets
        // here), and neither counted nor logged (Kestrel logs it at Information, under a category the server logs from
        // Warning on).
        using var directory = new TempDirectory();
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", directory.Combine("state"),
            "--StatePersistence:Server:MinRequestBodyBytesPerSecond", "1000"]);
        byte[] body = Encoding.ASCII.GetBytes($$"""{"id":"task_slow","description":"{{new string('s', 900)}}"}""");

        await using SlowUpload slow = await SlowUpload.StartAsync(server.Port,
            $"POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1:{server.Port}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n", body);

        SlowUploadAnswer answer = await slow.Answer;
        Assert.StartsWith("HTTP/1.1 408", answer.StatusLine, StringComparison.Ordinal);
        Assert.Contains("\"limit\":\"StatePersistence:Server:MinRequestBodyBytesPerSecond\"", answer.Body, StringComparison.Ordinal);
        Assert.Contains("slower than 1000 bytes a second", answer.Body, StringComparison.Ordinal);
        string metrics = await (await server.Client.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains("statepersistence_requests_refused_total{reason=\"body_timeout\",status=\"408\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains($"The body of POST /api/tasks ({body.Length} bytes) from 127.0.0.1 arrived slower than 1000 bytes a second", server.Output,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlowLoginForms_Are408AtTheDeadline_AndTheFormsRoomServesTheNextLogin()
    {
        // 64 forms of 16 KiB fill the room kept for login forms, which anyone may post before a key is checked. They come
        // from 16 addresses, as one address may have only BodyBudget.FormsPerAddress (4) read at once (LoginFormsPerAddressTests).
        using var directory = new TempDirectory();
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", directory.Combine("state"),
            .. SlowBodySettings], new Dictionary<string, string> { ["STATE_API_KEY"] = Key });
        byte[] form = Encoding.ASCII.GetBytes("key=" + new string('w', 16 * 1024 - 4));
        var slow = new List<SlowUpload>();
        try
        {
            for (int i = 0; i < 64; i++)
            {
                slow.Add(await SlowUpload.StartAsync(server.Port,
                    $"POST /login HTTP/1.1\r\nHost: 127.0.0.1:{server.Port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {form.Length}\r\n\r\n", form,
                    $"127.0.0.{2 + (i / 4)}"));
            }

            foreach (SlowUpload upload in slow)
            {
                SlowUploadAnswer answer = await upload.Answer;
                Assert.StartsWith("HTTP/1.1 408", answer.StatusLine, StringComparison.Ordinal);
                Assert.Contains("StatePersistence:Server:RequestBodyTimeout", answer.Body, StringComparison.Ordinal);
            }
        }
        finally
        {
            foreach (SlowUpload upload in slow)
            {
                await upload.DisposeAsync();
            }
        }

        HttpResponseMessage wrongKey = await UntilAsync(() => server.Client.PostAsync("/login",
            new StringContent("key=not-the-key", Encoding.ASCII, "application/x-www-form-urlencoded"), Ct));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);

        using var keyed = new HttpClient { BaseAddress = server.Client.BaseAddress };
        keyed.DefaultRequestHeaders.Authorization = new("Bearer", Key);
        string metrics = await (await keyed.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains("statepersistence_requests_refused_total{reason=\"body_timeout\",status=\"408\"} 64", metrics, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:01")]
    [InlineData("1.00:00:01")]
    public void ATimeoutNotFromAboveZeroToOneDay_StopsTheStart_NamingTheSetting(string value)
    {
        var settings = new Dictionary<string, string?> { ["StatePersistence:Server:RequestBodyTimeout"] = value };

        List<string> problems = StartupChecks.Settings(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());

        Assert.Contains("StatePersistence:Server:RequestBodyTimeout", Assert.Single(problems), StringComparison.Ordinal);
    }

    [Fact]
    public void TheDefaultTimeout_IsOneMinute() => Assert.Equal(TimeSpan.FromMinutes(1), new StateServerOptions().RequestBodyTimeout);

    /// <summary>Sends until the answer is not 503 (the room is not given back yet), for at most 30 s.</summary>
    private static async Task<HttpResponseMessage> UntilAsync(Func<Task<HttpResponseMessage>> send)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            HttpResponseMessage response = await send();
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
            {
                return response;
            }

            response.Dispose();
            await Task.Delay(20, bounded.Token);
        }
    }
}
