using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.Model;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;
using StatePersistence.FileStore;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary><c>AddStatePersistence</c> in a generic host: binding, validation, start-up recovery, shutdown snapshot.</summary>
public sealed class HostingTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string StatePath => _directory.Combine("state");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task InvalidOptions_FailStartWithMessagesNamingTheSettings()
    {
        HostApplicationBuilder builder = Builder();
        builder.Services.AddStatePersistence(o =>
        {
            o.MaxBackups = 0;
            o.AutosaveInterval = TimeSpan.FromSeconds(-1);
        });
        using IHost host = builder.Build();

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Contains("StatePersistence:MaxBackups must be at least 1 (was 0)", error.Message, StringComparison.Ordinal);
        Assert.Contains("StatePersistence:AutosaveInterval must not be negative", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(StatePath), "nothing is opened when the options are invalid");
    }

    [Fact]
    public async Task InvalidConfiguration_FailsStart()
    {
        HostApplicationBuilder builder = Builder(("StatePersistence:MaxBackups", "0"));
        builder.Services.AddStatePersistence();
        using IHost host = builder.Build();

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Contains("StatePersistence:MaxBackups", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_AreBoundFromTheSection_ThenConfigured()
    {
        HostApplicationBuilder builder = Builder(("StatePersistence:MaxBackups", "3"), ("StatePersistence:AutosaveInterval", "00:02:00"),
            ("StatePersistence:Durability", "Relaxed"), ("StatePersistence:SnapshotOnShutdown", "false"));
        builder.Services.AddStatePersistence(o => o.MaxBackups = 5);
        using IHost host = builder.Build();

        StatePersistenceOptions options = host.Services.GetRequiredService<IOptions<StatePersistenceOptions>>().Value;

        Assert.Equal(StatePath, options.StatePath);
        Assert.Equal(5, options.MaxBackups);
        Assert.Equal(TimeSpan.FromMinutes(2), options.AutosaveInterval);
        Assert.Equal(Storage.Durability.Relaxed, options.Durability);
        Assert.False(options.SnapshotOnShutdown);
        Assert.Equal(StatePath, host.Services.GetRequiredService<IStatePersistence>().Location);
    }

    [Fact]
    public void AddStatePersistence_Twice_RegistersOneServiceAndOneHostedService()
    {
        var services = new ServiceCollection();

        services.AddStatePersistence().Services.AddStatePersistence();

        Assert.Single(services, d => d.ServiceType == typeof(StatePersistenceService));
        Assert.Single(services, d => d.ServiceType == typeof(IStatePersistence));
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService));
    }

    [Fact]
    public async Task WithoutConfiguration_ABareServiceCollectionWorks()
    {
        await using ServiceProvider provider = new ServiceCollection().AddLogging()
            .AddStatePersistence(o => o.StatePath = StatePath).Services.BuildServiceProvider();

        StatePersistenceService service = provider.GetRequiredService<StatePersistenceService>();

        Assert.Same(service, provider.GetRequiredService<IStatePersistence>());
        Assert.Equal(StatePath, service.Location);
    }

    [Fact]
    public async Task Start_RecoversBeforeAnyOtherHostedServiceStarts()
    {
        await using (StatePersistenceService earlier = FileStatePersistence.Create(new StatePersistenceOptions { StatePath = StatePath, SnapshotOnShutdown = false }))
        {
            await earlier.StartAsync(Ct);
            await earlier.SaveTaskAsync(new AgentTask { Id = "task_1", Description = "saved before a crash" }, Ct);
        }

        HostApplicationBuilder builder = Builder();
        builder.Services.AddHostedService<RecoveryProbe>();
        builder.Services.AddStatePersistence();
        using IHost host = builder.Build();
        await host.StartAsync(Ct);

        RecoveryProbe probe = host.Services.GetServices<IHostedService>().OfType<RecoveryProbe>().Single();
        Assert.Equal("saved before a crash", probe.SeenAtStart?.Description);
        await host.StopAsync(Ct);
    }

    [Fact]
    public async Task Stop_WritesTheFinalSnapshotAndReleasesTheDirectory()
    {
        HostApplicationBuilder builder = Builder(("StatePersistence:AutosaveInterval", "01:00:00"));
        builder.Services.AddStatePersistence();
        using IHost host = builder.Build();
        await host.StartAsync(Ct);
        await host.Services.GetRequiredService<IStatePersistence>().SaveTaskAsync(new AgentTask { Id = "task_1", Description = "d" }, Ct);
        Assert.False(File.Exists(Path.Combine(StatePath, "state.json")));

        await host.StopAsync(Ct);

        using JsonDocument snapshot = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(StatePath, "state.json"), Ct));
        Assert.Equal("task_1", snapshot.RootElement.GetProperty("tasks")[0].GetProperty("id").GetString());
        await using StatePersistenceService reopened = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = StatePath }, cancellationToken: Ct);
        Assert.NotNull(await reopened.LoadTaskAsync("task_1", Ct));
    }

    [Fact]
    public async Task TwoStopsAtOnce_BothReturnOnlyAfterTheFinalSnapshot()
    {
        HostApplicationBuilder builder = Builder(("StatePersistence:AutosaveInterval", "01:00:00"));
        builder.Services.AddStatePersistence();
        using IHost host = builder.Build();
        await host.StartAsync(Ct);
        IStatePersistence persistence = host.Services.GetRequiredService<IStatePersistence>();
        for (int i = 0; i < 50; i++)
        {
            await persistence.SaveTaskAsync(new AgentTask { Id = $"task_{i}", Description = new string('x', 10_000) }, Ct);
        }

        Task first = host.StopAsync(Ct);
        Task second = host.StopAsync(Ct);
        await second;

        Assert.True(File.Exists(Path.Combine(StatePath, "state.json")), "the second stop returned before the snapshot was written");
        await first;
    }

    [Fact]
    public async Task TheHostsTimeProviderAndMeterFactory_AreUsed()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2024, 1, 1, 10, 0, 0, TimeSpan.Zero));
        HostApplicationBuilder builder = Builder();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddMetrics();
        builder.Services.AddStatePersistence();
        using IHost host = builder.Build();
        IMeterFactory factory = host.Services.GetRequiredService<IMeterFactory>();
        var published = new List<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == StateMeter.Name && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    lock (published)
                    {
                        published.Add(instrument.Name);
                    }
                }
            },
        };
        listener.Start();

        await host.StartAsync(Ct);

        Assert.Equal(time.GetUtcNow(), host.Services.GetRequiredService<IStatePersistence>().LastRecovery!.StartedAt);
        lock (published)
        {
            Assert.Contains("statepersistence.save.duration", published);
        }

        await host.StopAsync(Ct);
    }

    private HostApplicationBuilder Builder(params (string Key, string? Value)[] settings)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(
            [new("StatePersistence:StatePath", StatePath), .. settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))]);
        builder.Services.AddLogging();
        return builder;
    }

    /// <summary>A hosted service registered before persistence, recording what it can load when it starts.</summary>
    private sealed class RecoveryProbe(IStatePersistence persistence) : IHostedService
    {
        public AgentTask? SeenAtStart { get; private set; }

        public async Task StartAsync(CancellationToken cancellationToken) =>
            SeenAtStart = await persistence.LoadTaskAsync("task_1", cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
