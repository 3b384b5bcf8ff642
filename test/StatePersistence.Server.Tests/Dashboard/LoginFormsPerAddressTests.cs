using System.Net;
using System.Text;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// The login form is read before any key is checked, in a pool of 64 forms of 16 KiB. One client address may have only
/// 4 of them read at once: before, one address that posted 64 slow forms, again every <c>RequestBodyTimeout</c>, kept
/// <c>/login</c> at 503 for everyone, the operator included. On the real server process: the attacker's forms leave
/// from 127.0.0.2, the operator's from 127.0.0.3; the servers turn the minimum data rate off and give a body 5 minutes,
/// so that only the client ends a slow form.
/// </summary>
public sealed class LoginFormsPerAddressTests
{
    private const string Key = "login-forms-per-address-key-0123456789";
    private const string Attacker = "127.0.0.2";

    [Fact]
    public async Task OneAddressHoldsFourSlowForms_ItsFifthIs429_AndAnotherAddressStillLogsIn()
    {
        using var directory = new TempDirectory();
        int port = ServerProcess.FreePort();
        await using ServerProcess server = await ServerProcess.StartAsync(port, ["--state-path", directory.Combine("state"),
            "--StatePersistence:Server:MinRequestBodyBytesPerSecond", "0", "--StatePersistence:Server:RequestBodyTimeout", "00:05:00"],
            new Dictionary<string, string> { ["STATE_API_KEY"] = Key });
        byte[] form = Encoding.ASCII.GetBytes("key=" + new string('w', 16 * 1024 - 4));
        var slow = new List<SlowUpload>();
        using HttpClient operatorClient = LocalAddressClient.Create("127.0.0.3", port);
        try
        {
            for (int i = 0; i < 64; i++)
            {
                slow.Add(await SlowUpload.StartAsync(port,
                    $"POST /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {form.Length}\r\n\r\n",
                    form, Attacker));
            }

            // All but the four being read are answered at once (before, none was: all 64 were read, filling the pool).
            List<SlowUpload> answered = await AnsweredAsync(slow, 60);
            Assert.Equal(60, answered.Count);
            foreach (SlowUpload refused in answered)
            {
                SlowUploadAnswer answer = await refused.Answer;
                Assert.StartsWith("HTTP/1.1 429", answer.StatusLine, StringComparison.Ordinal);
                Assert.Contains("Retry-After: 1", answer.Headers, StringComparer.OrdinalIgnoreCase);
                Assert.Contains("\"limit_value\":4", answer.Body, StringComparison.Ordinal);
                Assert.Contains($"({Attacker}) already has 4 login forms being read", answer.Body, StringComparison.Ordinal);
            }

            // The pool still has room: another address is heard, with a wrong key and with the right one.
            using HttpResponseMessage wrongKey = await LoginAsync(operatorClient, "not-the-key");
            Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
            using HttpResponseMessage rightKey = await LoginAsync(operatorClient, Key);
            Assert.Equal(HttpStatusCode.SeeOther, rightKey.StatusCode);
            Assert.Equal(4, slow.Count(upload => !upload.Answer.IsCompletedSuccessfully));
        }
        finally
        {
            foreach (SlowUpload upload in slow)
            {
                await upload.DisposeAsync();
            }
        }

        // Its forms ended, the attacker's address is heard again: its slots are given back as each request ends (polled:
        // a moment after the client closed its connection).
        using HttpClient attacker = LocalAddressClient.Create(Attacker, port);
        using HttpResponseMessage afterwards = await UntilHeardAsync(() => LoginAsync(attacker, "not-the-key"));
        Assert.Equal(HttpStatusCode.Unauthorized, afterwards.StatusCode);

        operatorClient.DefaultRequestHeaders.Authorization = new("Bearer", Key);
        string metrics = await (await operatorClient.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains("statepersistence_requests_refused_total{reason=\"login_forms_per_address\",status=\"429\"}", metrics, StringComparison.Ordinal);
        Assert.Contains($"Login forms from {Attacker} are refused (429): it already has 4 being read", server.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The uploads answered once <paramref name="count"/> of them are, or those answered within 20 s (before an upload
    /// stops waiting for its answer, at 30 s).
    /// </summary>
    private static async Task<List<SlowUpload>> AnsweredAsync(List<SlowUpload> uploads, int count)
    {
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (uploads.Count(upload => upload.Answer.IsCompletedSuccessfully) < count && !bounded.IsCancellationRequested && !Ct.IsCancellationRequested)
        {
            await Task.Delay(20, Ct);
        }

        return [.. uploads.Where(upload => upload.Answer.IsCompletedSuccessfully)];
    }

    /// <summary>Sends until the answer is neither 429 nor 503 (the slots are not given back yet), for at most 30 s.</summary>
    private static async Task<HttpResponseMessage> UntilHeardAsync(Func<Task<HttpResponseMessage>> send)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            HttpResponseMessage response = await send();
            if (response.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable))
            {
                return response;
            }

            response.Dispose();
            await Task.Delay(20, bounded.Token);
        }
    }

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string key) =>
        client.PostAsync("/login", new FormUrlEncodedContent([new("key", key)]), Ct);
}
