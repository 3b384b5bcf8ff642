using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Health;

public sealed class HealthRouteTests
{
    private const string Key = "0123456789abcdef0123456789abcdef-key";
    private static readonly (string, string?) Details = ("StatePersistence:Server:HealthDetailsWithoutKey", "true");

    [Fact]
    public async Task Health_WithoutTheKey_AnswersTheStatusOnly()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient anonymous = server.Client();
        using HttpClient withKey = server.Client(Key);

        JsonElement bare = await (await anonymous.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK);
        JsonElement full = await (await withKey.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("Healthy", bare.Str("status"));
        Assert.Single(bare.EnumerateObject());
        Assert.True(full.GetProperty("checks").GetProperty("state_persistence").Has("data"));
    }

    [Fact]
    public async Task Health_WithoutAKeyConfigured_AnswersTheStatusOnlyUnlessTheSettingSaysSo()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        JsonElement bare = await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK);

        Assert.Single(bare.EnumerateObject());
    }

    [Fact]
    public async Task Health_IsCachedForItsDuration_SoProbesDoNotReachTheDisk()
    {
        await using var server = new StateServerFactory(Details);
        using HttpClient client = server.Client();
        JsonElement first = await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK);
        Directory.Delete(server.StatePath, recursive: true);

        JsonElement cached = await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK);
        server.Time.Advance(TimeSpan.FromSeconds(3));
        JsonElement fresh = await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.ServiceUnavailable);

        Assert.Equal("Healthy", first.Str("status"));
        Assert.Equal("Healthy", cached.Str("status"));
        Assert.Equal("Unhealthy", fresh.Str("status"));
    }

    [Fact]
    public async Task Health_AnswersGetAndHeadOnly_OtherMethodsAre405WithADetail()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        HttpResponseMessage head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/health"), Ct);
        HttpResponseMessage post = await client.PostAsync("/health", null, Ct);
        HttpResponseMessage delete = await client.DeleteUrlAsync("/health");

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        JsonElement problem = await post.ExpectProblemAsync(HttpStatusCode.MethodNotAllowed);
        Assert.Contains("GET", problem.Str("detail"), StringComparison.Ordinal);
        await delete.ExpectProblemAsync(HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task Health_OnAFreshDirectory_Answers200HealthyWithTheSeedsFields()
    {
        await using var server = new StateServerFactory(Details);
        using HttpClient client = server.Client();
        await client.PostAsync("/api/state/save", null, Ct);
        server.Time.Advance(TimeSpan.FromSeconds(90));

        JsonElement health = await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("Healthy", health.Str("status"));
        JsonElement data = health.GetProperty("checks").GetProperty("state_persistence").GetProperty("data");
        Assert.True(data.GetProperty("state_dir_exists").GetBoolean());
        Assert.True(data.GetProperty("writable").GetBoolean());
        Assert.True(data.GetProperty("disk_space").GetInt64() > 0);
        Assert.Equal("2024-01-01T10:00:00Z", data.Str("last_save_time"));
        Assert.Equal(90, data.GetProperty("last_save_age_seconds").GetDouble());
        Assert.Equal(0, data.GetProperty("backup_count").GetInt32());
        Assert.False(data.GetProperty("corruption_detected").GetBoolean());
        Assert.Equal(server.StatePath, data.Str("state_path"));
    }

    [Fact]
    public async Task Health_BelowTheLowSpaceThreshold_Answers200Degraded()
    {
        await using var server = new StateServerFactory(Details, ("StatePersistence:HealthCheck:LowDiskSpaceBytes", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using HttpClient client = server.Client();

        JsonElement health = await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("Degraded", health.Str("status"));
        JsonElement check = health.GetProperty("checks").GetProperty("state_persistence");
        Assert.Contains("bytes are free", check.Str("description"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_WhenTheDirectoryIsGone_Answers503Unhealthy()
    {
        await using var server = new StateServerFactory(Details);
        using HttpClient client = server.Client();
        Directory.Delete(server.StatePath, recursive: true);

        JsonElement health = await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.ServiceUnavailable);

        Assert.Equal("Unhealthy", health.Str("status"));
        Assert.False(health.GetProperty("checks").GetProperty("state_persistence").GetProperty("data").GetProperty("state_dir_exists").GetBoolean());
    }

    [Fact]
    public async Task Health_AfterCorruptionWasFound_IsDegradedAndSaysSo()
    {
        await using var server = new StateServerFactory(Details);
        Directory.CreateDirectory(server.StatePath);
        await File.WriteAllTextAsync(server.File("state.json"), "{\"version\":\"2.0.0\",\"tasks\":[", Ct);
        using HttpClient client = server.Client();

        JsonElement health = await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("Degraded", health.Str("status"));
        Assert.True(health.GetProperty("checks").GetProperty("state_persistence").GetProperty("data").GetProperty("corruption_detected").GetBoolean());
    }
}
