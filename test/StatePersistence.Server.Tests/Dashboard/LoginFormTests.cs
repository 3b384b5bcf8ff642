using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// The login form's body is read under limits of its own: a form the framework's reader refuses is a 400 naming what
/// it refused (it was a 500 with an Error and a stack trace each time), a form over 16 KiB is 413, the forms being read
/// take room of their own (64 forms of the largest size, at most 4 of them from one address: see
/// <see cref="LoginFormsPerAddressTests"/>), apart from the API's <c>MaxBufferedBodyBytes</c> that they could fill
/// before any key was checked, and a body that carries no key counts toward the login limit as a wrong key does.
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
    public async Task AFormBeingRead_LeavesTheApiBodiesTheirRoom()
    {
        // The form is read before any key is checked. It took its room from the API's bodies: eight logins declaring
        // 4 MiB and sending 300 bytes a second (the minimum rate allows that for hours) refused every API write with 503.
        await using var server = new StateServerFactory(("STATE_API_KEY", Key),
            ("StatePersistence:Server:MaxRequestBodyBytes", "1000"), ("StatePersistence:Server:MaxBufferedBodyBytes", "1000"));
        using HttpClient client = server.Client(Key);
        using HttpClient browser = server.Client();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new HeldContent(Encoding.ASCII.GetBytes("key=" + new string('w', 900)), release.Task);
        Task<HttpResponseMessage> login = browser.PostAsync("/login", held, Ct);
        await HeldAsync(server, 904);

        await (await client.PutJsonAsync("/api/tasks/task_2", Body(900))).ExpectAsync(HttpStatusCode.Created);

        release.SetResult();
        Assert.Equal(HttpStatusCode.Unauthorized, (await login).StatusCode);
    }

    [Fact]
    public async Task FormsBeingRead_TakeRoomOfTheirOwn_AndTheOneThatFindsNoneIs503()
    {
        // 64 forms of the largest size (here MaxRequestBodyBytes, below 16 KiB) are read at once, not one more. They come
        // from 16 addresses, as one address may have only BodyBudget.FormsPerAddress (4) read at once.
        await using var server = new StateServerFactory(("STATE_API_KEY", Key), ("StatePersistence:Server:MaxRequestBodyBytes", "1000"));
        using HttpClient browser = server.Client();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        byte[] form = Encoding.ASCII.GetBytes("key=" + new string('w', 996));
        var logins = new List<Task<HttpContext>>();
        for (int i = 0; i < 64; i++)
        {
            logins.Add(HeldLoginAsync(server, form, release.Task, $"192.0.2.{1 + (i / 4)}"));
            await HeldAsync(server, 1000L * (i + 1));
        }

        HttpResponseMessage refused = await browser.PostAsync("/login", Form("key=" + new string('w', 996)), Ct);

        var problem = await refused.ExpectProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(64_000, problem.GetProperty("limit_value").GetInt64());
        Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
        release.SetResult();
        foreach (Task<HttpContext> login in logins)
        {
            Assert.Equal(StatusCodes.Status401Unauthorized, (await login).Response.StatusCode);
        }
    }

    [Fact]
    public async Task AFormLargerThan16KiB_Is413_BeforeItIsRead()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client();

        HttpResponseMessage response = await client.PostAsync("/login", Form("key=" + Key + "&pad=" + new string('p', 16 * 1024)), Ct);

        var problem = await response.ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(16 * 1024, problem.GetProperty("limit_value").GetInt64());
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    /// <summary>Waits until the server holds room for <paramref name="bytes"/> of bodies: the held forms are being read.</summary>
    private static async Task HeldAsync(StateServerFactory server, long bytes)
    {
        Server.Http.BodyBudget budget = server.Services.GetRequiredService<Server.Http.BodyBudget>();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        while (budget.BytesHeld < bytes)
        {
            await Task.Delay(10, bounded.Token);
        }
    }

    /// <summary>
    /// A login posted from <paramref name="address"/> (the in-process server sees no address of an HttpClient's request),
    /// its body's first 10 bytes read at once and the rest once released.
    /// </summary>
    private static Task<HttpContext> HeldLoginAsync(StateServerFactory server, byte[] form, Task release, string address) =>
        server.Server.SendAsync(context =>
        {
            context.Connection.RemoteIpAddress = IPAddress.Parse(address);
            context.Request.Method = HttpMethods.Post;
            context.Request.Path = "/login";
            context.Request.Host = new HostString("localhost");
            context.Request.ContentType = "application/x-www-form-urlencoded";
            context.Request.ContentLength = form.Length;
            context.Request.Body = new HeldStream(form, release);
        }, Ct);

    private static StringContent Form(string body) => new(body, Encoding.ASCII, "application/x-www-form-urlencoded");

    private static string Body(int padding) => $$"""{"description":"{{new string('y', padding)}}"}""";

    /// <summary>A body whose first 10 bytes are read at once and the rest once released.</summary>
    private sealed class HeldStream(byte[] body, Task release) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= 10)
            {
                await release.WaitAsync(cancellationToken);
            }

            int count = Math.Min(buffer.Length, (_position < 10 ? 10 : body.Length) - _position);
            body.AsMemory(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

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
