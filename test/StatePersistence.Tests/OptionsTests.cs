namespace StatePersistence.Tests;

[Collection(EnvironmentCollection.Name)]
public sealed class OptionsTests
{
    [Fact]
    public void ResolveStatePath_PrefersExplicitThenEnvironmentThenDefault()
    {
        string? saved = Environment.GetEnvironmentVariable("STATE_PATH");
        try
        {
            Environment.SetEnvironmentVariable("STATE_PATH", null);
            Assert.Equal(Path.GetFullPath("./coding-agent-state"), new StatePersistenceOptions().ResolveStatePath());

            Environment.SetEnvironmentVariable("STATE_PATH", "/var/lib/coding-agent");
            Assert.Equal("/var/lib/coding-agent", new StatePersistenceOptions().ResolveStatePath());

            Assert.Equal("/explicit", new StatePersistenceOptions { StatePath = "/explicit" }.ResolveStatePath());
        }
        finally
        {
            Environment.SetEnvironmentVariable("STATE_PATH", saved);
        }
    }

    [Fact]
    public void Validate_NamesEachBadOption()
    {
        var options = new StatePersistenceOptions { MaxBackups = 0, AutosaveInterval = TimeSpan.FromSeconds(-1), MaxBackupBytes = -1 };

        IReadOnlyList<string> problems = options.Validate();

        Assert.Contains(problems, p => p.StartsWith("MaxBackups", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("AutosaveInterval", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("MaxBackupBytes", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => StatePersistence.FileStore.FileStatePersistence.Create(options));
    }

    [Theory]
    [InlineData("AutosaveInterval", 60 * 24 * 60 * 60_000L, "at most 49.7 days")]
    [InlineData("AutosaveInterval", 0L, "at least 1 ms")]
    [InlineData("ScrubInterval", long.MaxValue / 10_000, "at most 49.7 days")]
    [InlineData("ReencryptionInterval", 0L, "at least 1 ms")]
    [InlineData("Retention:Interval", 60 * 24 * 60 * 60_000L, "at most 49.7 days")]
    public void Validate_AnIntervalATimerCannotWait_IsRefusedNamingTheOption_BeforeAnythingIsOpened(string option, long milliseconds, string why)
    {
        // 0 ms in the data is one tick: more than 0 (so not "off"), less than the 1 ms a PeriodicTimer takes.
        TimeSpan value = milliseconds == 0 ? TimeSpan.FromTicks(1) : TimeSpan.FromMilliseconds(milliseconds);
        using var directory = new Support.TempDirectory();
        var options = new StatePersistenceOptions { StatePath = directory.Combine("state") };
        switch (option)
        {
            case "AutosaveInterval": options.AutosaveInterval = value; break;
            case "ScrubInterval": options.ScrubInterval = value; break;
            case "ReencryptionInterval": options.ReencryptionInterval = value; break;
            default: options.Retention.Interval = value; options.Retention.ReportMaxAge = TimeSpan.FromDays(1); break;
        }

        string problem = Assert.Single(options.Validate());
        Assert.StartsWith(option + " must be " + why, problem, StringComparison.Ordinal);
        ArgumentException error = Assert.Throws<ArgumentException>(() => StatePersistence.FileStore.FileStatePersistence.Create(options));
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(directory.Combine("state")));
    }

    [Theory]
    [InlineData(1L << 61)]
    [InlineData(long.MaxValue)]
    [InlineData((1L << 40) + 1)]
    public void Validate_ACheckpointThresholdOver1TiB_IsRefusedNamingTheValue(long bytes)
    {
        // Before 2026-12-07 accepted: from 2^61 on, four thresholds (the write stall) overflowed a long and the first
        // save was refused with 503.
        string problem = Assert.Single(new StatePersistenceOptions { CheckpointAfterBytes = bytes }.Validate());

        Assert.StartsWith($"CheckpointAfterBytes must be at most 1099511627776 (1 TiB) (was {bytes})", problem, StringComparison.Ordinal);
        Assert.Empty(new StatePersistenceOptions { CheckpointAfterBytes = 1L << 40 }.Validate());
    }

    [Fact]
    public void Validate_AnEventHistoryOverAMillion_IsRefusedNamingTheValue_InsteadOfRunningOutOfMemoryAtStart()
    {
        // Before 2026-12-07 accepted: int.MaxValue made the start allocate a ring of 2^31 events and crash with
        // OutOfMemoryException and a stack trace.
        string problem = Assert.Single(new StatePersistenceOptions { EventHistory = int.MaxValue }.Validate());

        Assert.StartsWith("EventHistory must be at most 1048576 (was 2147483647)", problem, StringComparison.Ordinal);
        Assert.Empty(new StatePersistenceOptions { EventHistory = 1 << 20 }.Validate());
    }

    [Theory]
    [InlineData("Retention:ReportMaxAge")]
    [InlineData("Retention:TaskArchiveAfter")]
    public void Validate_ARetentionAgeOver100Years_IsRefusedNamingTheOption(string option)
    {
        // Before 2026-12-07 accepted: an age over about 2,000 years put "now - age" before year 1, and every retention
        // pass failed with ArgumentOutOfRangeException.
        foreach (TimeSpan age in (TimeSpan[])[TimeSpan.MaxValue, TimeSpan.FromDays(36_501)])
        {
            var options = new StatePersistenceOptions();
            SetAge(options, option, age);

            string problem = Assert.Single(options.Validate());

            Assert.StartsWith($"{option} must be at most 36500.00:00:00 (100 years) (was {age})", problem, StringComparison.Ordinal);
        }

        var longest = new StatePersistenceOptions();
        SetAge(longest, option, TimeSpan.FromDays(36_500));
        Assert.Empty(longest.Validate());
    }

    [Fact]
    public void Validate_AnEmptyStatePath_IsRefused_NotTakenForTheDefault()
    {
        // "An explicit value wins": an empty one silently used ./coding-agent-state in the working directory.
        string problem = Assert.Single(new StatePersistenceOptions { StatePath = " " }.Validate());
        Assert.StartsWith("StatePath is empty", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStatePathThatIsAFile_IsRefusedSayingSo_AndTheFileIsLeftAsItWas()
    {
        using var directory = new Support.TempDirectory();
        string file = directory.Combine("not-a-directory");
        await File.WriteAllTextAsync(file, "keep me", TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<StatePersistence.Errors.StatePersistenceException>(
            () => StatePersistence.FileStore.FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = file }, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains($"'{file}' is a file, not a directory", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("..", error.Message, StringComparison.Ordinal);
        Assert.Equal("keep me", await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Options_AreReadOnlyOnceTheServiceStarted()
    {
        using var directory = new Support.TempDirectory();
        var options = new StatePersistenceOptions { StatePath = directory.Combine("state"), AutosaveInterval = TimeSpan.Zero };
        StatePersistenceService service = StatePersistence.FileStore.FileStatePersistence.Create(options);
        options.MaxBackups = 3;
        Assert.False(options.IsFrozen);

        await service.StartAsync(TestContext.Current.CancellationToken);
        await using (service)
        {
            var error = Assert.Throws<InvalidOperationException>(() => options.Durability = StatePersistence.Storage.Durability.Relaxed);

            Assert.Contains("StatePersistenceOptions.Durability", error.Message, StringComparison.Ordinal);
            Assert.True(options.IsFrozen);
            Assert.Equal(StatePersistence.Storage.Durability.Full, service.Options.Durability);
            Assert.Equal(3, service.Options.MaxBackups);
        }
    }

    private static void SetAge(StatePersistenceOptions options, string option, TimeSpan age)
    {
        if (option == "Retention:ReportMaxAge")
        {
            options.Retention.ReportMaxAge = age;
        }
        else
        {
            options.Retention.TaskArchiveAfter = age;
        }
    }
}

/// <summary>Tests that change environment variables run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "environment";
}
