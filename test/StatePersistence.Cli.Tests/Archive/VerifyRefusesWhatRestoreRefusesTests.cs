using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Archive;

/// <summary>
/// <c>statectl verify</c> and <c>statectl archive list --verify</c> refuse what <c>archive restore</c> refuses, in the
/// restore's words: a manifest naming a task whose entry it does not list, an id that is not a valid id, a task entry
/// holding another task. Before 2026-12-07 the whole read behind verify checked only that the entries matched the
/// manifest's list and hashes, so such an archive (every hash consistent) verified sound, exit 0, and the operator who
/// verified it before deleting the live copies learnt otherwise only from the restore's refusal.
/// </summary>
public sealed class VerifyRefusesWhatRestoreRefusesTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task AManifestNamingAnUnlistedTask_AnInvalidId_OrATaskEntryHoldingAnotherTask_IsDamagedToVerify_AsToTheRestore()
    {
        (string unlisted, string invalid, string other) = await TaskArchiveFixtures.WriteThreeAsync(StatePath);
        TaskArchiveFixtures.RewriteConsistently(unlisted, (_, entries) => entries.RemoveAll(e => e.Name == "tasks/t_a.json"));
        TaskArchiveFixtures.RewriteConsistently(invalid, (manifest, _) => manifest["tasks"]![0]!["sessionLogs"] = new JsonArray("no/such id"));
        TaskArchiveFixtures.RewriteConsistently(other, (_, entries) =>
        {
            int task = entries.FindIndex(e => e.Name == "tasks/t_c.json");
            entries[task] = (entries[task].Name, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(entries[task].Content).Replace("\"t_c\"", "\"t_d\"", StringComparison.Ordinal)));
        });
        var expected = new Dictionary<string, string>
        {
            [unlisted] = $"The archive '{unlisted}' is damaged: its manifest names the task 't_a' and does not list its entry 'tasks/t_a.json'.",
            [invalid] = $"The archive '{invalid}' is damaged: its manifest names the session id 'no/such id', which is not a valid id.",
            [other] = $"The archive '{other}' is damaged: its entry 'tasks/t_c.json' holds task 't_d'.",
        };
        Dictionary<string, byte[]> before = StateFiles.Snapshot(StatePath);

        StatectlRun verify = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");
        StatectlRun list = await StatectlRun.RunAsync("archive", "list", "--verify", "--state-path", StatePath, "--json");

        Assert.True(verify.ExitCode == 1, verify.ToString());
        Dictionary<string, string> problems = verify.Json().GetProperty("problems").EnumerateArray()
            .ToDictionary(p => p.GetProperty("path").GetString()!, p => p.GetProperty("problem").GetString()!);
        Assert.Equal(expected, problems);
        Assert.True(list.ExitCode == 1, list.ToString());
        Assert.Equal(expected.Values, list.Json().GetProperty("archives").EnumerateArray().Select(a => a.GetProperty("problem").GetString()!));
        StateFiles.AssertUnchanged(before, StatePath);

        foreach ((string archive, string problem) in expected)
        {
            StatectlRun restore = await StatectlRun.RunAsync("archive", "restore", Path.GetFileName(archive), "--state-path", StatePath);
            Assert.True(restore.ExitCode == 1, restore.ToString());
            Assert.Contains(problem + " Nothing was restored.", restore.Error, StringComparison.Ordinal);
        }
    }
}
