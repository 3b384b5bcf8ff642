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
}

/// <summary>Tests that change environment variables run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "environment";
}
