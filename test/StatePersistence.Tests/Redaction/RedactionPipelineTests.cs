using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Redaction;

/// <summary>
/// Through the service and the file store: what a session log append or a task log message holds is stored redacted
/// (every file under the state directory is read back), counted by kind, and stored verbatim with the switch off.
/// </summary>
public sealed class RedactionPipelineTests : IDisposable
{
    private const string GitHubToken = "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";
    private const string DbPassword = "Sup3r-S3cret-Pw";
    private const string Text = $"$ git push https://x-access-token:{GitHubToken}@github.com/acme/app.git\nDB password={DbPassword}\n";
    private const string Redacted = "$ git push https://x-access-token:[REDACTED:github-token]@github.com/acme/app.git\nDB password=[REDACTED:password]\n";

    private readonly StateFixture _fixture = new();
    private readonly ServiceProvider _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public void Dispose()
    {
        _metrics.Dispose();
        _fixture.Dispose();
    }

    private IMeterFactory Meters => _metrics.GetRequiredService<IMeterFactory>();

    private async Task<StatePersistenceService> OpenAsync(Action<StatePersistenceOptions>? configure = null)
    {
        StatePersistenceOptions options = _fixture.Options(configure);
        var service = new StatePersistenceService(options, new FileStateStore(options, timeProvider: _fixture.Time),
            timeProvider: _fixture.Time, meterFactory: Meters);
        await service.StartAsync(TestContext.Current.CancellationToken);
        return service;
    }

    /// <summary>Whether any file under the state directory (journal, snapshot, backups, item files, logs) holds <paramref name="text"/>.</summary>
    private string[] FilesHolding(string text)
    {
        byte[] needle = Encoding.UTF8.GetBytes(text);
        // The lock file is held by a running service, and holds nothing.
        return [.. Directory.EnumerateFiles(_fixture.StatePath, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != ".lock" && File.ReadAllBytes(f).AsSpan().IndexOf(needle) >= 0)];
    }

    [Fact]
    public async Task SessionLogAppend_IsStoredAndReadBackRedacted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService service = await OpenAsync())
        {
            await service.AppendSessionLogAsync("s1", Text, ct);

            Assert.Equal(Redacted, await service.ReadSessionLogAsync("s1", ct));
        }

        Assert.Empty(FilesHolding(GitHubToken));
        Assert.Empty(FilesHolding(DbPassword));
        Assert.Single(FilesHolding("[REDACTED:github-token]"));
    }

    [Fact]
    public async Task TaskLogMessage_IsJournaledSnapshottedAndReturnedRedacted_TheCallersEntryUntouched()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var entry = new TaskLogEntry { Level = "info", Type = "output", Message = Text };
        await using (StatePersistenceService service = await OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
            AgentTask? appended = await service.AppendTaskLogAsync("t1", entry, ct);

            Assert.Equal(Redacted, Assert.Single(appended!.Logs).Message);
            Assert.Equal(Text, entry.Message);
            Assert.Null(entry.Timestamp);
            Assert.Equal(Redacted, Assert.Single((await service.LoadTaskAsync("t1", ct))!.Logs).Message);

            // Only the journal holds it before a snapshot; the snapshot and the task file after.
            Assert.NotEmpty(FilesHolding("[REDACTED:github-token]"));
            await service.SaveSnapshotAsync(ct);
        }

        Assert.Empty(FilesHolding(GitHubToken));
        Assert.Empty(FilesHolding(DbPassword));
        Assert.Contains(FilesHolding("[REDACTED:password]"), f => f.EndsWith(Path.Combine("tasks", "t1.json"), StringComparison.Ordinal));

        await using StatePersistenceService reopened = await OpenAsync();
        Assert.Equal(Redacted, Assert.Single((await reopened.LoadTaskAsync("t1", ct))!.Logs).Message);
    }

    [Fact]
    public async Task EachRedaction_IsCountedByKind()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var redactions = new MetricCollector<long>(Meters, StateMeter.Name, "statepersistence.redactions");
        await using (StatePersistenceService service = await OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
            await service.AppendSessionLogAsync("s1", Text, ct);
            await service.AppendTaskLogAsync("t1", new TaskLogEntry { Level = "info", Type = "output", Message = Text }, ct);
            await service.AppendTaskLogAsync("t1", new TaskLogEntry { Level = "info", Type = "output", Message = "nothing secret here" }, ct);
        }

        IReadOnlyList<CollectedMeasurement<long>> measured = redactions.GetMeasurementSnapshot();
        Assert.Equal(2, measured.Where(m => (string?)m.Tags["kind"] == "github-token").Sum(m => m.Value));
        Assert.Equal(2, measured.Where(m => (string?)m.Tags["kind"] == "password").Sum(m => m.Value));
        Assert.Equal(4, measured.Sum(m => m.Value));
    }

    [Fact]
    public async Task SwitchedOff_TextsAreStoredVerbatim_AndNothingIsCounted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var redactions = new MetricCollector<long>(Meters, StateMeter.Name, "statepersistence.redactions");
        await using (StatePersistenceService service = await OpenAsync(o => o.Redaction.Enabled = false))
        {
            await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
            await service.AppendSessionLogAsync("s1", Text, ct);
            AgentTask? appended = await service.AppendTaskLogAsync("t1", new TaskLogEntry { Level = "info", Type = "output", Message = Text }, ct);

            Assert.Equal(Text, Assert.Single(appended!.Logs).Message);
            Assert.Equal(Text, await service.ReadSessionLogAsync("s1", ct));
            await service.SaveSnapshotAsync(ct);
        }

        Assert.Contains(FilesHolding(GitHubToken), f => f.Contains("session_s1", StringComparison.Ordinal));
        Assert.Contains(FilesHolding(GitHubToken), f => f.EndsWith(Path.Combine("tasks", "t1.json"), StringComparison.Ordinal));
        Assert.Empty(redactions.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task ACustomPattern_IsAppliedAndCounted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var redactions = new MetricCollector<long>(Meters, StateMeter.Name, "statepersistence.redactions");
        await using (StatePersistenceService service = await OpenAsync(o => o.Redaction.Patterns["acme-key"] = "ACME-[A-Z0-9]{12}"))
        {
            await service.AppendSessionLogAsync("s1", "deploy key ACME-7Q2W9E4R1T6Y loaded\n", ct);

            Assert.Equal("deploy key [REDACTED:acme-key] loaded\n", await service.ReadSessionLogAsync("s1", ct));
        }

        Assert.Empty(FilesHolding("ACME-7Q2W9E4R1T6Y"));
        Assert.Equal("acme-key", (string?)Assert.Single(redactions.GetMeasurementSnapshot()).Tags["kind"]);
    }

    [Fact]
    public void AnInvalidCustomPattern_RefusesToCreateTheService_NamingTheOption()
    {
        StatePersistenceOptions options = _fixture.Options(o => o.Redaction.Patterns["acme-key"] = "ACME-[A-Z");

        var refused = Assert.Throws<ArgumentException>(() => new StatePersistenceService(options, new FileStateStore(options)));

        Assert.Contains("Redaction:Patterns:acme-key is not a valid regular expression", refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_fixture.StatePath) && Directory.EnumerateFiles(_fixture.StatePath, "*", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public async Task ARefusedAppend_StoresNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await OpenAsync(o => o.Redaction.Patterns["nested"] = @"(?<x>a+)+\k<x>b");
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);

        var refused = await Assert.ThrowsAsync<StateValidationException>(async () =>
            await service.AppendTaskLogAsync("t1", new TaskLogEntry { Level = "info", Type = "output", Message = new string('a', 64) + "!" }, ct));
        await Assert.ThrowsAsync<StateValidationException>(async () => await service.AppendSessionLogAsync("s1", new string('a', 64) + "!", ct));

        Assert.Equal("message", refused.Field);
        Assert.Empty((await service.LoadTaskAsync("t1", ct))!.Logs);
        Assert.Null(await service.ReadSessionLogAsync("s1", ct));
    }

    [Fact]
    public async Task LogEntriesOfATaskSavedWhole_AreStoredRedacted_TheCallersTaskUntouched()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        AgentTask task = StateFixture.Task("t1");
        task.Logs.Add(new TaskLogEntry { Level = "info", Type = "output", Message = Text });
        await using (StatePersistenceService service = await OpenAsync())
        {
            await service.SaveTaskAsync(task, ct);
            Assert.True(await service.CreateTaskAsync(new AgentTask { Id = "t2", Description = "d", Logs = [new TaskLogEntry { Message = Text }] }, ct));
            AgentTask? updated = await service.UpdateTaskAsync("t1", t => t.Logs.Add(new TaskLogEntry { Message = $"retry with {GitHubToken}" }), ct);

            Assert.Equal(Text, Assert.Single(task.Logs).Message);
            Assert.Equal([Redacted, "retry with [REDACTED:github-token]"], updated!.Logs.Select(l => l.Message));
            Assert.Equal(Redacted, Assert.Single((await service.LoadTaskAsync("t2", ct))!.Logs).Message);
            await service.SaveSnapshotAsync(ct);
        }

        Assert.Empty(FilesHolding(GitHubToken));
        Assert.Empty(FilesHolding(DbPassword));
    }

    [Fact]
    public async Task AnUpdate_ScansOnlyTheEntriesItChanged_WhatWasStoredBeforeRedactionStaysAsItWas()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        AgentTask task = StateFixture.Task("t1");
        task.Logs.Add(new TaskLogEntry { Message = Text });
        await using (StatePersistenceService service = await OpenAsync(o => o.Redaction.Enabled = false))
        {
            await service.SaveTaskAsync(task, ct);
        }

        using var redactions = new MetricCollector<long>(Meters, StateMeter.Name, "statepersistence.redactions");
        await using StatePersistenceService reopened = await OpenAsync();
        AgentTask? updated = await reopened.UpdateTaskAsync("t1", t =>
        {
            t.Status = TaskStatuses.InProgress;
            t.Logs.Add(new TaskLogEntry { Message = "token=abc123def" });
        }, ct);

        // Existing data is not rewritten when redaction is switched on; what this update wrote is redacted.
        Assert.Equal([Text, "token=[REDACTED:token]"], updated!.Logs.Select(l => l.Message));
        Assert.Equal("token", (string?)Assert.Single(redactions.GetMeasurementSnapshot()).Tags["kind"]);
    }

    [Fact]
    public async Task RedactionOptions_AreReadOnlyOnceTheServiceStarted()
    {
        StatePersistenceOptions options = _fixture.Options();
        await using StatePersistenceService service = await OpenAsync();

        Assert.Throws<InvalidOperationException>(() => service.Options.Redaction.Enabled = false);
        InvalidOperationException added = Assert.Throws<InvalidOperationException>(() => service.Options.Redaction.Patterns["late"] = "x+");
        Assert.StartsWith("StatePersistenceOptions.Redaction.Patterns cannot change once the service using these options has started", added.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => service.Options.Redaction.Patterns.Clear());
        Assert.Throws<InvalidOperationException>(() => service.Options.Redaction.Patterns.Remove("late"));
        Assert.False(options.IsFrozen);
    }
}
