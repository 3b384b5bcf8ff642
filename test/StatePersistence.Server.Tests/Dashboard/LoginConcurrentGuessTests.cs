using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using StatePersistence.Server.Http;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// The login limit holds for keys posted at the same time: a post is let in to have its key compared only while its
/// address has a wrong key left to spend, counting the posts already let in and not yet answered. The limit was checked
/// before the form was read and spent only once the key proved wrong, so every post that arrived meanwhile (up to the
/// four forms one address may have read at once) had its key compared past the limit.
/// </summary>
public sealed class LoginConcurrentGuessTests
{
    private const string Key = "k3y-Secret-Value-42-0123456789abcdef";

    [Fact]
    public async Task TwoWrongKeysPostedTogether_WithOneLeftInTheLimit_OnlyOneIsCompared_TheOtherIs429()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key), ("StatePersistence:Server:LoginFailureLimit", "1"));
        using HttpClient client = server.Client();
        BodyBudget budget = server.Services.GetRequiredService<BodyBudget>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = new GatedForm("wrong-key-number-1-0123456789abcdef", gate.Task);
        Task<HttpResponseMessage> firstPost = client.PostAsync("/login", first, Ct);
        await Until(() => budget.BytesHeld == first.Length); // its form is being read: it was let in
        var second = new GatedForm("wrong-key-number-2-0123456789abcdef", gate.Task);
        Task<HttpResponseMessage> secondPost = client.PostAsync("/login", second, Ct);
        await Until(() => secondPost.IsCompleted || budget.BytesHeld == first.Length + second.Length);
        gate.SetResult();

        HttpStatusCode[] statuses = [(await firstPost).StatusCode, (await secondPost).StatusCode];
        Assert.Equal(HttpStatusCode.Unauthorized, statuses[0]);
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[1]);
        Assert.True((await secondPost).Headers.RetryAfter is not null);
    }

    [Fact]
    public async Task AWrongAndTheRightKeyPostedTogether_WithOneLeft_TheRightKeyLogsIn()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key), ("StatePersistence:Server:LoginFailureLimit", "2"));
        using HttpClient client = server.Client();
        BodyBudget budget = server.Services.GetRequiredService<BodyBudget>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var wrong = new GatedForm("wrong-key-number-1-0123456789abcdef", gate.Task);
        Task<HttpResponseMessage> wrongPost = client.PostAsync("/login", wrong, Ct);
        await Until(() => budget.BytesHeld == wrong.Length);
        using HttpResponseMessage right = await client.PostAsync("/login", new FormUrlEncodedContent([new("key", Key)]), Ct);
        gate.SetResult();

        Assert.Equal(HttpStatusCode.SeeOther, right.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrongPost).StatusCode);
    }

    private static async Task Until(Func<bool> condition)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(10, bounded.Token);
        }
    }

    /// <summary>A login form whose first bytes are sent at once and the rest only when <paramref name="gate"/> completes.</summary>
    private sealed class GatedForm : HttpContent
    {
        private readonly byte[] _body;
        private readonly Task _gate;

        public GatedForm(string key, Task gate)
        {
            _body = Encoding.ASCII.GetBytes("key=" + Uri.EscapeDataString(key));
            _gate = gate;
            Headers.ContentType = new("application/x-www-form-urlencoded");
        }

        public long Length => _body.Length;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(_body.AsMemory(0, 4));
            await stream.FlushAsync();
            await _gate;
            await stream.WriteAsync(_body.AsMemory(4));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _body.Length;
            return true;
        }
    }
}
