using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary>How <c>StateHealth</c> becomes a <see cref="HealthReport"/>.</summary>
public sealed class HealthCheckTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string StatePath => _directory.Combine("state");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Healthy_CarriesTheSeedsFieldsAsData()
    {
        using IHost host = await StartAsync(b => b.AddStatePersistence());

        HealthReportEntry entry = await CheckAsync(host);

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal(true, entry.Data["state_dir_exists"]);
        Assert.Equal(true, entry.Data["writable"]);
        Assert.True((long)entry.Data["disk_space"] > 0);
        Assert.Equal(0, entry.Data["backup_count"]);
        Assert.Equal(false, entry.Data["corruption_detected"]);
        Assert.Equal(StatePath, entry.Data["state_path"]);
        Assert.False(entry.Data.ContainsKey("last_error"));
    }

    [Fact]
    public async Task StoreDetails_AreDataUnderTheStoresOwnNames()
    {
        using IHost files = await StartAsync(b => b.AddStatePersistence());
        HealthReportEntry fileEntry = await CheckAsync(files);
        await files.StopAsync(Ct);

        using IHost memory = await StartAsync(b => b.AddStatePersistence(), store: b => b.UseInMemory());
        HealthReportEntry memoryEntry = await CheckAsync(memory);

        Assert.Equal(0L, fileEntry.Data["files_tasks"]);
        Assert.True((long)fileEntry.Data["bytes_journal"] >= 0);
        Assert.DoesNotContain(fileEntry.Data.Keys, k => k.StartsWith("files_files_", StringComparison.Ordinal));

        // Another store's figures are not file counts: no files_ prefix is put in front of them.
        Assert.True(memoryEntry.Data.ContainsKey("log_records"));
        Assert.DoesNotContain(memoryEntry.Data.Keys, k => k.StartsWith("files_", StringComparison.Ordinal));
    }

    /// <summary>
    /// The directory's fields (<c>state_dir_exists</c>, <c>backup_count</c>, <c>low_disk_space_bytes</c>) are reported where there is a state
    /// directory, and left out on another store: on PostgreSQL they read "true" and "0", which an operator took for a
    /// directory and a missing backup. A directory store keeps them after its shutdown too (false: not probed).
    /// </summary>
    [Fact]
    public async Task TheDirectoryFields_AreReportedOnlyForAStateDirectory()
    {
        using IHost memory = await StartAsync(b => b.AddStatePersistence(), store: b => b.UseInMemory());
        HealthReportEntry memoryEntry = await CheckAsync(memory);
        await memory.StopAsync(Ct);
        using IHost files = await StartAsync(b => b.AddStatePersistence());
        await CheckAsync(files);
        await files.StopAsync(Ct);
        HealthReportEntry stopped = await CheckAsync(files);

        Assert.False(memoryEntry.Data.ContainsKey("state_dir_exists"));
        Assert.False(memoryEntry.Data.ContainsKey("backup_count"));
        Assert.False(memoryEntry.Data.ContainsKey("low_disk_space_bytes"));
        Assert.Equal(true, memoryEntry.Data["writable"]);
        Assert.Equal(false, stopped.Data["state_dir_exists"]);
        Assert.Equal(0, stopped.Data["backup_count"]);
    }

    [Fact]
    public async Task StoreDetails_NamedLikeACoreField_DoNotReplaceIt()
    {
        var figures = new Dictionary<string, long>(StringComparer.Ordinal) { ["status"] = 7, ["revision"] = 99, ["queue_depth"] = 3 };
        using IHost host = await StartAsync(b => b.AddStatePersistence(), store: b => b.UseStore(_ => new FigureReportingStore(figures)));

        HealthReportEntry entry = await CheckAsync(host);

        Assert.Equal("Healthy", entry.Data["status"]);
        Assert.Equal(0L, entry.Data["revision"]);
        Assert.Equal(3L, entry.Data["queue_depth"]);
    }

    [Fact]
    public async Task LowSpace_IsDegraded_WithTheThresholdFromCode()
    {
        using IHost host = await StartAsync(b => b.AddStatePersistence(o => o.LowDiskSpaceBytes = long.MaxValue));

        HealthReportEntry entry = await CheckAsync(host);

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("threshold", entry.Description, StringComparison.Ordinal);
        Assert.Equal(long.MaxValue, entry.Data["low_disk_space_bytes"]);
    }

    [Fact]
    public async Task LowSpace_IsDegraded_WithTheThresholdFromConfiguration()
    {
        using IHost host = await StartAsync(b => b.AddStatePersistence(),
            ("StatePersistence:HealthCheck:LowDiskSpaceBytes", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        Assert.Equal(HealthStatus.Degraded, (await CheckAsync(host)).Status);
    }

    [Fact]
    public async Task Unhealthy_IsReportedAsTheRegistrationsFailureStatus()
    {
        using IHost strict = await StartAsync(b => b.AddStatePersistence());
        Directory.Delete(StatePath, recursive: true);

        HealthReportEntry entry = await CheckAsync(strict);

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Equal(false, entry.Data["state_dir_exists"]);
        await strict.StopAsync(Ct);
    }

    [Fact]
    public async Task Unhealthy_WithAMilderFailureStatus_IsReportedAsThat()
    {
        using IHost lenient = await StartAsync(b => b.AddStatePersistence(failureStatus: HealthStatus.Degraded));
        Directory.Delete(StatePath, recursive: true);

        Assert.Equal(HealthStatus.Degraded, (await CheckAsync(lenient)).Status);
        await lenient.StopAsync(Ct);
    }

    [Fact]
    public async Task NotStarted_IsTheFailureStatusAndSaysSo()
    {
        using IHost host = Build(b => b.AddStatePersistence());

        HealthReportEntry entry = await CheckAsync(host);

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("not running", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShutDown_IsTheFailureStatusAndSaysSo()
    {
        using IHost host = await StartAsync(b => b.AddStatePersistence());
        await host.StopAsync(Ct);

        HealthReportEntry entry = await CheckAsync(host);

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("shut down", entry.Description, StringComparison.Ordinal);
        Assert.Contains(StatePath, entry.Description, StringComparison.Ordinal);
        Assert.Equal("Unhealthy", entry.Data["status"]);
    }

    [Fact]
    public async Task NegativeThreshold_FailsStart()
    {
        using IHost host = Build(b => b.AddStatePersistence(o => o.LowDiskSpaceBytes = -1));

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Contains("LowDiskSpaceBytes must not be negative", error.Message, StringComparison.Ordinal);
    }

    private static async Task<HealthReportEntry> CheckAsync(IHost host)
    {
        HealthReport report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Ct);
        return report.Entries["state_persistence"];
    }

    private async Task<IHost> StartAsync(Action<IHealthChecksBuilder> addCheck, params (string Key, string? Value)[] settings) =>
        await StartAsync(addCheck, store: null, settings);

    private async Task<IHost> StartAsync(Action<IHealthChecksBuilder> addCheck, Action<StatePersistenceBuilder>? store,
        params (string Key, string? Value)[] settings)
    {
        IHost host = Build(addCheck, settings, store);
        await host.StartAsync(Ct);
        return host;
    }

    private IHost Build(Action<IHealthChecksBuilder> addCheck, params (string Key, string? Value)[] settings) =>
        Build(addCheck, settings, store: null);

    private IHost Build(Action<IHealthChecksBuilder> addCheck, (string Key, string? Value)[] settings, Action<StatePersistenceBuilder>? store)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(
            [new("StatePersistence:StatePath", StatePath), .. settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))]);
        builder.Services.AddLogging();
        StatePersistenceBuilder persistence = builder.Services.AddStatePersistence();
        store?.Invoke(persistence);
        addCheck(builder.Services.AddHealthChecks());
        return builder.Build();
    }
}
