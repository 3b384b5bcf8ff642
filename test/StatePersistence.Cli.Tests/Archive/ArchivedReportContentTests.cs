using System.Text;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Archive;

/// <summary>
/// A task archive's report entry must hold a report, as the stores take one (a JSON object, not holding another
/// report's id), or verify names it and the restore refuses it, in the same words. Before 2026-12-07 neither looked:
/// such an archive (every hash consistent) verified sound and was restored, exit 0, and the first read of the report
/// moved it aside as corrupt.
/// </summary>
public sealed class ArchivedReportContentTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("[1, 2]", "is not a report (the report is a JSON Array, not an object)")]
    [InlineData("""{"id":"r_other"}""", "is not a report (the report inside has id 'r_other', not 'r_a' as its file name says)")]
    [InlineData("{not json", "is not a report (")]
    public async Task AReportEntryThatIsNotAReport_IsDamagedToVerify_AndTheRestoreRefusesIt(string content, string expected)
    {
        string archive = await ArchiveWithReportAsync();
        TaskArchiveFixtures.RewriteConsistently(archive, (_, entries) =>
        {
            int report = entries.FindIndex(e => e.Name == "reports/report_r_a.json");
            entries[report] = (entries[report].Name, Encoding.UTF8.GetBytes(content));
        });
        string problem = $"The archive '{archive}' is damaged: its entry 'reports/report_r_a.json' {expected}";

        StatectlRun verify = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");
        StatectlRun restore = await StatectlRun.RunAsync("archive", "restore", Path.GetFileName(archive), "--state-path", StatePath);

        Assert.True(verify.ExitCode == 1, verify.ToString());
        JsonElement found = Assert.Single(verify.Json().GetProperty("problems").EnumerateArray());
        Assert.Equal(archive, found.GetProperty("path").GetString());
        Assert.StartsWith(problem, found.GetProperty("problem").GetString(), StringComparison.Ordinal);
        Assert.True(restore.ExitCode == 1, restore.ToString());
        Assert.Contains(problem, restore.Error, StringComparison.Ordinal);
        Assert.Contains("Nothing was restored.", restore.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(StatePath, "reports", "report_r_a.json")), "the report was restored");
    }

    /// <summary>Task t_a and its report r_a (its JSON naming the task), archived together; the archive's path.</summary>
    private async Task<string> ArchiveWithReportAsync()
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        await using StatePersistenceService service = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = StatePath }, cancellationToken: Http.Ct);
        await service.SaveTaskAsync(new AgentTask { Id = "t_a", Status = TaskStatuses.Completed, CompletedAt = now.AddDays(-30) }, Http.Ct);
        await service.SaveReportAsync("r_a", JsonDocument.Parse("""{"id":"r_a","task_id":"t_a"}""").RootElement.Clone(), Http.Ct);
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, now.AddDays(-29), withLogs: true, cancellationToken: Http.Ct);
        Assert.Equal(["t_a"], result.Tasks);
        Assert.Equal(1, result.Reports);
        return result.Archive!;
    }
}
