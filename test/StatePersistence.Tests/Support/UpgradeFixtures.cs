using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StatePersistence.Serialization;

namespace StatePersistence.Tests.Support;

/// <summary>
/// The state directories earlier builds of this project wrote (<c>Fixtures/Upgrades/</c>, each described in its
/// README with the commit and the requests that made it), copied to the build output; for some, what that build's
/// server answered (<c>&lt;name&gt;.expected/</c>).
/// </summary>
internal static class UpgradeFixtures
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Upgrades");

    /// <summary>Copies fixture <paramref name="name"/> into <paramref name="stateDirectory"/>, which must not exist yet.</summary>
    public static void CopyTo(string name, string stateDirectory)
    {
        string source = Path.Combine(Folder, name);
        Assert.True(Directory.Exists(source), $"the fixture '{name}' is not in the build output ({source})");
        Assert.False(Directory.Exists(stateDirectory), $"'{stateDirectory}' already exists");
        foreach (string file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(stateDirectory, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>A file of what the old server answered (<c>&lt;fixture&gt;.expected/&lt;file&gt;</c>).</summary>
    public static string Expected(string fixture, string file) => Path.Combine(Folder, fixture + ".expected", file);

    /// <summary>
    /// Asserts that <paramref name="service"/> serves what the old server answered for the fixtures made with the same
    /// requests (README: state-2.0.0-journal-v1-killed): two tasks, a session, its log byte for byte, a report, and
    /// the task deleted after the snapshot gone. <c>revision</c> is left out of the comparison: builds from before
    /// revisions had none.
    /// </summary>
    public static async Task AssertServesTheOldAnswersAsync(StatePersistenceService service, string fixture, CancellationToken ct)
    {
        AssertSameJson(Expected(fixture, "task_plain.json"), ItemCodec.Serialize((await service.LoadTaskAsync("task_plain", ct))!));
        AssertSameJson(Expected(fixture, "task_extra.json"), ItemCodec.Serialize((await service.LoadTaskAsync("task_extra", ct))!));
        AssertSameJson(Expected(fixture, "session_1.json"), ItemCodec.Serialize((await service.LoadSessionAsync("session_1", ct))!));
        Assert.Null(await service.LoadTaskAsync("task_gone", ct));
        Assert.Equal(File.ReadAllBytes(Expected(fixture, "session_1.log")), Encoding.UTF8.GetBytes((await service.ReadSessionLogAsync("session_1", ct))!));
        JsonElement report = (await service.LoadReportAsync("rep_1", ct))!.Value;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllBytes(Expected(fixture, "rep_1.json"))), JsonNode.Parse(report.GetRawText())));
    }

    private static JsonNode WithoutRevision(ReadOnlySpan<byte> json)
    {
        JsonObject node = JsonNode.Parse(json)!.AsObject();
        node.Remove("revision");
        return node;
    }

    private static void AssertSameJson(string expectedFile, ReadOnlySpan<byte> actual)
    {
        JsonNode expected = WithoutRevision(File.ReadAllBytes(expectedFile));
        JsonNode got = WithoutRevision(actual);
        Assert.True(JsonNode.DeepEquals(expected, got), $"{Path.GetFileName(expectedFile)}:\n expected {expected.ToJsonString()}\n got      {got.ToJsonString()}");
    }
}
