using StatePersistence.FileStore;
using StatePersistence.Storage;

namespace StatePersistence.Tests.Service;

/// <summary>
/// Options may be set until <see cref="StatePersistenceService.StartAsync"/> (the README's "Configuration"): a value
/// set between building the service and starting it is checked at the start, which names it before anything is opened.
/// </summary>
public sealed class OptionsChangedBeforeStartTests
{
    [Fact]
    public async Task AnInvalidValueSetAfterTheServiceWasBuilt_IsRefusedAtStartNamingIt_AndNothingIsOpened()
    {
        using var directory = new Support.TempDirectory();
        string statePath = directory.Combine("state");
        var options = new StatePersistenceOptions { StatePath = statePath };
        await using StatePersistenceService service = FileStatePersistence.Create(options);
        options.AutosaveInterval = TimeSpan.FromDays(100);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => service.StartAsync(TestContext.Current.CancellationToken));

        // Before the fix the start opened the directory, ran recovery, and then failed on the timer's
        // ArgumentOutOfRangeException ("period"), leaving a service that could not be started again.
        Assert.Contains("AutosaveInterval", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(statePath));
        Assert.False(options.IsFrozen);

        options.AutosaveInterval = TimeSpan.FromSeconds(30);
        await service.StartAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, service.TaskCount);
    }

    [Theory]
    [InlineData("Durability")]
    [InlineData("EventHistory")]
    [InlineData("Redaction")]
    public async Task ASettingTheServiceTookWhenBuilt_ChangedBeforeStart_IsRefusedAtStartNamingIt(string setting)
    {
        using var directory = new Support.TempDirectory();
        string statePath = directory.Combine("state");
        var options = new StatePersistenceOptions { StatePath = statePath, Durability = Durability.Relaxed };
        await using StatePersistenceService service = FileStatePersistence.Create(options);
        switch (setting)
        {
            case "Durability":
                // Before the fix saves went on unsynced (Relaxed) while the options, the store and the health said Full.
                options.Durability = Durability.Full;
                break;
            case "EventHistory":
                options.EventHistory = 10;
                break;
            default:
                // Before the fix session log text was still redacted although redaction had been turned off.
                options.Redaction.Enabled = false;
                break;
        }

        var error = await Assert.ThrowsAsync<ArgumentException>(() => service.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(statePath));
    }
}
