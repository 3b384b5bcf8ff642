using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// The login form's body is read under the limits every body has: a form the framework's reader refuses is a 400
/// naming what it refused (it was a 500 with an Error and a stack trace each time), the body takes its room in
/// <c>MaxBufferedBodyBytes</c> like a JSON body, and a body that carries no key counts toward the login limit as a
/// wrong key does.
/// </summary>
public sealed class LoginFormTests
{
    private const string Key = "k3y-Secret-Value-42-0123456789abcdef";

    [Theory]
    [InlineData("fields", "Form value count limit 1024 exceeded")]
    [InlineData("name", "Form key length limit 2048 exceeded")]
    public async Task AFormTheReaderRefuses_Is400NamingTheLimit_NotA500(string shape, string named)
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client();
        string body = shape == "fields"
            ? "key=x&" + string.Join('&', Enumerable.Range(0, 1024).Select(i => $"f{i}=1"))
            : new string('k', 2049) + "=1&key=x";

        HttpResponseMessage response = await client.PostAsync("/login", Form(body), Ct);

        var problem = await response.ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(named, problem.Str("detail"), StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.DoesNotContain(server.Logs.Entries, e => e.Level >= LogLevel.Error);
    }

    [Theory]
    [InlineData("key=+++")]
    [InlineData("other=1")]
    public async Task ABlankKey_CountsTowardTheLimit_AsAWrongKeyDoes(string body)
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key), ("StatePersistence:Server:LoginFailureLimit", "2"));
        using HttpClient client = server.Client();

        HttpResponseMessage first = await client.PostAsync("/login", Form(body), Ct);
        HttpResponseMessage second = await client.PostAsync("/login", Form(body), Ct);
        HttpResponseMessage rightKeyThen = await client.PostAsync("/login", Form("key=" + Key), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, first.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, rightKeyThen.StatusCode);
    }

    [Fact]
    public async Task ACompressedForm_Is415AskingForIdentity_AndSetsNoCookie()
    {
        // Read as sent before 2026-12-07, as no other body is: a gzipped form was taken byte for byte. Not a guess at
        // the key, so not counted toward the login limit (as a form of another media type is not).
        await using var server = new StateServerFactory(("STATE_API_KEY", Key), ("StatePersistence:Server:LoginFailureLimit", "1"));
        using HttpClient client = server.Client();
        StringContent gzipped = Form("key=" + Key);
        gzipped.Headers.ContentEncoding.Add("gzip");

        HttpResponseMessage response = await client.PostAsync("/login", gzipped, Ct);

        var problem = await response.ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("Content-Encoding 'gzip'", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Equal("identity", response.Headers.GetValues("Accept-Encoding").Single());
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Equal(HttpStatusCode.SeeOther, (await client.PostAsync("/login", Form("key=" + Key), Ct)).StatusCode);
    }

    [Fact]
    public async Task AFormBeingRead_TakesItsRoomInTheBodyBudget_UntilItsRequestEnds()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key),
            ("StatePersistence:Server:MaxRequestBodyBytes", "1000"), ("StatePersistence:Server:MaxBufferedBodyBytes", "1500"));
        using HttpClient client = server.Client(Key);
        using HttpClient browser = server.Client();
        byte[] held = Encoding.ASCII.GetBytes("key=" + new string('w', 900));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The login sends its first 10 bytes and waits: the server holds its room meanwhile. A PUT in flight when the
        // login's headers arrive may take the room first, and the login is then the one refused: it is sent again.
        Task<HttpResponseMessage> login = browser.PostAsync("/login", new HeldContent(held, release.Task), Ct);
        HttpResponseMessage refused;
        using (var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            bounded.CancelAfter(TimeSpan.FromSeconds(30));
            while (true)
            {
                refused = await client.PutJsonAsync("/api/tasks/task_2", Body(900));
                if (refused.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    break;
                }

                Assert.Equal(HttpStatusCode.Created, refused.StatusCode);
                await client.DeleteUrlAsync("/api/tasks/task_2");
                if (login.IsCompleted)
                {
                    login = browser.PostAsync("/login", new HeldContent(held, release.Task), Ct);
                }

                await Task.Delay(20, bounded.Token);
            }
        }

        var problem = await refused.ExpectProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("StatePersistence:Server:MaxBufferedBodyBytes", problem.Str("limit"));
        Assert.Null(await server.Persistence.LoadTaskAsync("task_2", Ct));

        release.SetResult();
        Assert.Equal(HttpStatusCode.Unauthorized, (await login).StatusCode);
        await (await client.PutJsonAsync("/api/tasks/task_2", Body(900))).ExpectAsync(HttpStatusCode.Created);
    }

    private static StringContent Form(string body) => new(body, Encoding.ASCII, "application/x-www-form-urlencoded");

    private static string Body(int padding) => $$"""{"description":"{{new string('y', padding)}}"}""";

    /// <summary>A form body of a declared length whose first 10 bytes are sent at once and the rest once released.</summary>
    private sealed class HeldContent : HttpContent
    {
        private readonly byte[] _body;
        private readonly Task _release;

        public HeldContent(byte[] body, Task release)
        {
            _body = body;
            _release = release;
            Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(_body.AsMemory(0, 10));
            await stream.FlushAsync();
            await _release;
            await stream.WriteAsync(_body.AsMemory(10));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _body.Length;
            return true;
        }
    }
}
