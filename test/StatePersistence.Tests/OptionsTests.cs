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
}

/// <summary>Tests that change environment variables run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "environment";
}
