using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StatePersistence.Encryption;
using StatePersistence.Events;
using StatePersistence.FileStore;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// The background re-encryption through the real file store (a real key file, real AES-GCM, real fsync): after a
/// rotation every file is rewritten under the new key (only the key file still names the old one), everything reads
/// back, the old key can then be removed, and the audit names key ids only.
/// </summary>
public sealed class ReencryptionTests : IDisposable
{
    private const string Description = "OTTER-task-description-4411";
    private const string SessionLine = "OTTER-session-log-line-90aa";
    private const string ReportText = "OTTER-report-content-7c3e";
    private readonly StateFixture _fixture = new();
    private readonly CapturingLoggerProvider _logs = new();

    public ReencryptionTests()
    {
        KeyFile = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "keys.json");
    }

    private string KeyFile { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    private async Task<StatePersistenceService> OpenAsync(bool encrypted)
    {
        StatePersistenceService service = FileStatePersistence.Create(_fixture.Options(o =>
        {
            o.Encryption.KeyFile = encrypted ? KeyFile : null;
            o.ScrubInterval = TimeSpan.Zero;
            o.AutosaveInterval = TimeSpan.Zero;
        }), LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Information)), _fixture.Time);
        await service.StartAsync(Ct);
        return service;
    }

    private async Task PopulateAsync(StatePersistenceService service)
    {
        for (int i = 0; i < 40; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"t{i}", description: $"{i} {Description}"), Ct);
        }

        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "interactive", Status = "active" }, Ct);
        for (int i = 0; i < 40; i++)
        {
            await service.AppendSessionLogAsync($"s{i}", $"{SessionLine} {i}\n", Ct);
            await service.SaveReportAsync($"r{i}", JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["summary"] = $"{ReportText} {i}" }), Ct);
        }

        await service.SaveSnapshotAsync(Ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await service.SaveSnapshotAsync(Ct);
        await service.SaveTaskAsync(StateFixture.Task("t-journal", description: $"journal {Description}"), Ct);
    }

    private static async Task AssertEverythingIsBackAsync(StatePersistenceService service)
    {
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal($"{i} {Description}", (await service.LoadTaskAsync($"t{i}", Ct))!.Description);
            Assert.Equal($"{SessionLine} {i}\n", await service.ReadSessionLogAsync($"s{i}", Ct));
            Assert.Equal($"{ReportText} {i}", (await service.LoadReportAsync($"r{i}", Ct))!.Value.GetProperty("summary").GetString());
        }

        Assert.Equal($"journal {Description}", (await service.LoadTaskAsync("t-journal", Ct))!.Description);
    }

    /// <summary>Every file under the state directory naming <paramref name="text"/> (the held lock file has no content to read).</summary>
    private List<string> FilesNaming(string text) =>
        [.. Directory.EnumerateFiles(_fixture.StatePath, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith(".lock", StringComparison.Ordinal))
            .Where(f => File.ReadAllBytes(f).AsSpan().IndexOf(Encoding.ASCII.GetBytes(text)) >= 0)];

    [Fact]
    public async Task AfterARotation_EveryFileIsRewrittenUnderTheNewKey_ThenTheOldKeyCanBeRemoved()
    {
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        StatePersistenceService service = await OpenAsync(encrypted: true);
        await using (service)
        {
            // Events are read from now on (the reader sees the populating saves first, so it is listening by the rotation).
            Task<List<StateEvent>> reader = EventsUntilFinishedAsync(service);
            await PopulateAsync(service);
            Assert.True(EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Files > 80, "the old key protects the files before the rotation");
            string newKey = EncryptionKeyOperations.Rotate(KeyFile).Id;

            await _fixture.TickUntilAsync(() => reader.IsCompleted, "the finished event");
            Assert.Equal(0, EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Files);
            Assert.Empty(FilesNaming(oldKey));
            Assert.NotEmpty(FilesNaming(newKey));
            Assert.Empty(FilesNaming(Description));
            await AssertEverythingIsBackAsync(service);

            // The run ends with its audit events, naming the new key.
            List<StateEvent> events = await reader;
            Assert.Contains(events, e => e.Type == StateEventTypes.EncryptionKeyActivated && e.Id == newKey);
            Assert.Contains(events, e => e.Type == StateEventTypes.ReencryptionStarted && e.Id == newKey);
            Assert.Contains(events, e => e.Type == StateEventTypes.ReencryptionFinished && e.Id == newKey);
            Assert.Equal(0L, RemainingInHealth(service));

            // Nothing left under the old key: removing it is allowed, and everything still reads after a restart.
            EncryptionKeyOperations.Remove(KeyFile, oldKey, _fixture.StatePath);
        }

        await using (StatePersistenceService reopened = await OpenAsync(encrypted: true))
        {
            await AssertEverythingIsBackAsync(reopened);
        }

        AssertNoKeyMaterialLogged();
        Assert.Contains(_logs.Messages, m => m.Contains("Re-encryption of", StringComparison.Ordinal) && m.Contains("finished", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TurningEncryptionOnOverAClearDirectory_SealsEveryFile()
    {
        await using (StatePersistenceService clear = await OpenAsync(encrypted: false))
        {
            await PopulateAsync(clear);
        }

        Assert.NotEmpty(FilesNaming(Description));
        string key = EncryptionKeyFile.Create(KeyFile).Active.Id;
        await using StatePersistenceService service = await OpenAsync(encrypted: true);
        await _fixture.TickUntilAsync(Finished, "the finished log entry");
        Assert.Equal("", string.Join(", ", FilesNotSealedWith(key).Select(f => Path.GetRelativePath(_fixture.StatePath, f))));
        Assert.Equal("", string.Join(", ", FilesNaming(Description).Select(f => Path.GetRelativePath(_fixture.StatePath, f))));
        Assert.Equal("", string.Join(", ", FilesNaming(SessionLine).Concat(FilesNaming(ReportText)).Select(f => Path.GetRelativePath(_fixture.StatePath, f))));
        Assert.Equal([key], EncryptionKeyUsage.Measure(_fixture.StatePath).ByKey.Keys);
        await AssertEverythingIsBackAsync(service);
        AssertNoKeyMaterialLogged();
    }

    [Fact]
    public async Task KeysAddedRetiredRevokedAndRemoved_InTheKeyFile_AreAuditedByTheRunningService_WithKeyIdsOnly()
    {
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        await using StatePersistenceService service = await OpenAsync(encrypted: true);
        await service.SaveTaskAsync(StateFixture.Task("t1", description: Description), Ct);
        Task<List<StateEvent>> reader = EventsUntilAsync(service, StateEventTypes.EncryptionKeyRemoved);
        await service.SaveTaskAsync(StateFixture.Task("t2", description: Description), Ct);

        // A rotation adds a key and retires the old one; once everything is under the new key, the old one is
        // revoked, then removed. The file changes between steps only after the service saw the last one.
        string newKey = EncryptionKeyOperations.Rotate(KeyFile).Id;
        await _fixture.TickUntilAsync(() => Finished() && Logged($"the key {oldKey} is now retired"), "the rotation's audit and the re-encryption");
        EncryptionKeyOperations.SetState(KeyFile, oldKey, EncryptionKeyState.Revoked);
        await _fixture.TickUntilAsync(() => Logged($"the key {oldKey} is now revoked"), "the revocation's audit");
        EncryptionKeyOperations.Remove(KeyFile, oldKey, _fixture.StatePath);
        await _fixture.TickUntilAsync(() => reader.IsCompleted, "the removal's event");

        List<StateEvent> events = await reader;
        Assert.Contains(events, e => e.Type == StateEventTypes.EncryptionKeyAdded && e.Id == newKey);
        Assert.Contains(events, e => e.Type == StateEventTypes.EncryptionKeyActivated && e.Id == newKey);
        Assert.Contains(events, e => e.Type == StateEventTypes.EncryptionKeyRetired && e.Id == oldKey);
        Assert.Contains(events, e => e.Type == StateEventTypes.EncryptionKeyRevoked && e.Id == oldKey);
        Assert.Contains(events, e => e.Type == StateEventTypes.EncryptionKeyRemoved && e.Id == oldKey);
        Assert.DoesNotContain(events, e => e.Type == StateEventTypes.EncryptionKeyAdded && e.Id == oldKey);
        Assert.True(Logged($"the key {newKey} was added to the key ring (active)"));
        Assert.True(Logged($"the key {oldKey} was removed from the key ring"));
        Assert.Equal(Description, (await service.LoadTaskAsync("t2", Ct))!.Description);
        AssertNoKeyMaterialLogged();
    }

    [Fact]
    public async Task DisablingEncryption_RewritesEverySealedFileInTheClear_ThenTheDirectoryOpensWithoutAnyKey()
    {
        string key = EncryptionKeyFile.Create(KeyFile).Active.Id;
        await using (StatePersistenceService service = await OpenAsync(encrypted: true))
        {
            await PopulateAsync(service);
            Assert.Empty(FilesNaming(Description));
            Assert.True(EncryptionKeyUsage.Measure(_fixture.StatePath).For(key).Files > 80, "the key protects the files before encryption is turned off");
            int finishedBefore = FinishedCount();

            EncryptionKeyOperations.Disable(KeyFile);

            // Saves go on meanwhile (in the clear), and the background re-encryption rewrites the rest in the clear.
            await service.SaveTaskAsync(StateFixture.Task("t-after", description: $"after {Description}"), Ct);
            await _fixture.TickUntilAsync(() => FinishedCount() > finishedBefore, "the re-encryption to the clear");
            Assert.Equal(0, EncryptionKeyUsage.Measure(_fixture.StatePath).For(key).Payloads);
            Assert.Empty(FilesNaming(key));
            Assert.Equal(0L, RemainingInHealth(service));
            await AssertEverythingIsBackAsync(service);
            Assert.Contains(_logs.Messages, m => m.Contains("the key " + key + " is now retired", StringComparison.Ordinal));
        }

        // Nothing is sealed any more: the key file can go, and the directory opens with no key at all, data equal.
        File.Delete(KeyFile);
        await using (StatePersistenceService clear = await OpenAsync(encrypted: false))
        {
            await AssertEverythingIsBackAsync(clear);
            Assert.Equal($"after {Description}", (await clear.LoadTaskAsync("t-after", Ct))!.Description);
            Assert.Empty(clear.LastRecovery!.Quarantined);
        }

        Assert.NotEmpty(FilesNaming(Description));
        Assert.Empty(EncryptionKeyUsage.Measure(_fixture.StatePath).ByKey);
    }

    private int FinishedCount() => _logs.Messages.Count(m => m.StartsWith("Re-encryption of", StringComparison.Ordinal) && m.Contains(" finished: ", StringComparison.Ordinal));

    private bool Logged(string text) => _logs.Messages.Any(m => m.Contains(text, StringComparison.Ordinal));

    private bool Finished() => _logs.Messages.Any(m => m.StartsWith("Re-encryption of", StringComparison.Ordinal) && m.Contains(" finished: ", StringComparison.Ordinal));

    /// <summary>Files holding a payload not sealed with <paramref name="key"/>; <c>recovery-report.json</c> (ids and paths only) is plain by design.</summary>
    private List<string> FilesNotSealedWith(string key) =>
        [.. Directory.EnumerateFiles(_fixture.StatePath, "*", SearchOption.AllDirectories)
            // Files that hold no content, only metadata, and stay in the clear: the recovery report, the lock and its
            // owner, and journal-head.json (the newest segment's number, epoch and first sequence number).
            .Where(f => Path.GetFileName(f) is not ("recovery-report.json" or "journal-head.json") && !Path.GetFileName(f).StartsWith(".lock", StringComparison.Ordinal))
            .Where(f => EncryptionKeyUsage.NeedsResealing(File.ReadAllBytes(f), key))];

    private static long RemainingInHealth(StatePersistenceService service) =>
        service.CheckHealth().StoreDetails.GetValueOrDefault("reencryption_files_remaining", -1);

    private static Task<List<StateEvent>> EventsUntilFinishedAsync(StatePersistenceService service) =>
        EventsUntilAsync(service, StateEventTypes.ReencryptionFinished);

    private static async Task<List<StateEvent>> EventsUntilAsync(StatePersistenceService service, string last)
    {
        var events = new List<StateEvent>();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(120));
        await foreach (StateEvent e in service.ReadEventsAsync(null, bounded.Token))
        {
            events.Add(e);
            if (e.Type == last)
            {
                break;
            }
        }

        return events;
    }

    private void AssertNoKeyMaterialLogged()
    {
        using JsonDocument file = JsonDocument.Parse(File.ReadAllBytes(KeyFile));
        foreach (JsonElement key in file.RootElement.GetProperty("keys").EnumerateArray())
        {
            string material = key.GetProperty("material").GetString()!;
            Assert.DoesNotContain(_logs.Messages, m => m.Contains(material, StringComparison.Ordinal));
        }
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _messages = new();

        public IReadOnlyCollection<string> Messages => _messages;

        public ILogger CreateLogger(string categoryName) => new Capturing(_messages);

        public void Dispose()
        {
        }

        private sealed class Capturing(ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception) + (exception is null ? "" : " " + exception));
        }
    }
}
